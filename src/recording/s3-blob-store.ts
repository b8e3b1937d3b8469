// Blob store on S3-compatible object storage (AWS S3, MinIO, s3rver…) through the AWS SDK v3.
// It must never log credentials; keys are checked before use and prefixed with the configured prefix.

import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { assertBlobKey, type BlobStore } from './blob-store.js';

export interface S3BlobStoreOptions {
  readonly bucket: string;
  /** Prepended to every key (e.g. `gatehouse/`). */
  readonly prefix?: string;
  readonly region?: string;
  /** For S3-compatible services (MinIO, s3rver): their URL. */
  readonly endpoint?: string;
  readonly forcePathStyle?: boolean;
  /** Static credentials; without them the SDK's default chain (env, profile, IMDS) is used. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

export class S3BlobStore implements BlobStore {
  readonly kind = 's3' as const;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(opts: S3BlobStoreOptions) {
    this.#bucket = opts.bucket;
    this.#prefix = opts.prefix ?? '';
    this.#client = new S3Client({
      region: opts.region ?? 'us-east-1',
      ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
      ...(opts.forcePathStyle !== undefined ? { forcePathStyle: opts.forcePathStyle } : {}),
      ...(opts.credentials ? { credentials: { ...opts.credentials } } : {}),
    });
  }

  #key(key: string): string {
    assertBlobKey(key);
    return `${this.#prefix}${key}`;
  }

  async put(key: string, body: Buffer): Promise<void> {
    await this.#client.send(
      new PutObjectCommand({
        Bucket: this.#bucket,
        Key: this.#key(key),
        Body: body,
        ContentType: 'application/json',
      }),
    );
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      const r = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key(key) }));
      if (!r.Body) return undefined;
      return Buffer.from(await r.Body.transformToByteArray());
    } catch (e) {
      if (e instanceof NoSuchKey || (e as { name?: string }).name === 'NoSuchKey') return undefined;
      throw e;
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    assertBlobKey(prefix.replace(/\/+$/, ''));
    const full = `${this.#prefix}${prefix}`;
    let deleted = 0;
    let token: string | undefined;
    do {
      const page = await this.#client.send(
        new ListObjectsV2Command({
          Bucket: this.#bucket,
          Prefix: full,
          ...(token ? { ContinuationToken: token } : {}),
        }),
      );
      const keys = (page.Contents ?? []).flatMap((o) => (o.Key ? [{ Key: o.Key }] : []));
      if (keys.length > 0) {
        await this.#client.send(
          new DeleteObjectsCommand({ Bucket: this.#bucket, Delete: { Objects: keys, Quiet: true } }),
        );
        deleted += keys.length;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return deleted;
  }

  close(): Promise<void> {
    this.#client.destroy();
    return Promise.resolve();
  }
}
