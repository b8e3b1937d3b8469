// Headers S3 does not have are not forwarded to an S3 endpoint (docs/security.md, class 57): an
// S3-compatible store acts on its own. MinIO deletes every object under the key of a DeleteObject that
// says `x-minio-force-delete: true`; MinIO, RustFS and AWS Snowball Edge unpack a PutObject whose
// metadata says `snowball-auto-extract: true` into objects at the keys its archive names. Gatehouse
// decided each as the one operation on the one key in the path, and forwarded the header. Through the
// gateway with the real AWS SDK to s3rver behind a SigV4-checking proxy that records what reached it.

import { randomBytes } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCheckingUpstream,
  startS3rver,
  type CheckingUpstream,
  type RealCredentials,
  type RunningFake,
} from './testkit/aws-upstreams.js';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';

const REAL: RealCredentials = {
  accessKeyId: 'AKIAGATEWAYREAL00074',
  secretAccessKey: `RealSecret${randomBytes(15).toString('hex')}`,
};

describe('S3 headers an S3-compatible store acts on', { timeout: 60_000 }, () => {
  let s3rver: RunningFake;
  let up: CheckingUpstream;
  let gw: HttpTestGateway;
  let s3: S3Client;

  /** The agent's client, with these extra headers on every request it sends. */
  const withHeaders = (headers: Record<string, string>): S3Client => {
    const client = new S3Client({
      endpoint: gw.endpoint('aws'),
      region: 'us-east-1',
      credentials: key,
      forcePathStyle: true,
      maxAttempts: 1,
    });
    client.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { headers: Record<string, string> };
        Object.assign(request.headers, headers);
        return next(args);
      },
      { step: 'build', name: 'extraHeaders' },
    );
    return client;
  };
  let key: { accessKeyId: string; secretAccessKey: string };

  beforeAll(async () => {
    s3rver = await startS3rver(['data'], [REAL]);
    up = await startCheckingUpstream({ credentials: [REAL], forwardTo: s3rver.url });
    gw = await startHttpTestGateway({
      env: { ...process.env, GW_REAL_SECRET_74: REAL.secretAccessKey },
      connections: {
        aws: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          auth: {
            type: 'aws-sigv4',
            region: 'us-east-1',
            credentials: { accessKeyId: REAL.accessKeyId, secretAccessKey: { env: 'GW_REAL_SECRET_74' } },
            endpoints: { s3: up.url },
          },
        },
      },
      policies: [
        {
          id: 'agents',
          subjects: { agent: true },
          connections: ['aws'],
          rules: [
            {
              id: 'scratch',
              effect: 'allow',
              match: {
                operations: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject'],
                paths: ['/data/scratch/*'],
              },
            },
          ],
        },
      ],
    });
    key = await gw.awsKey({ subject: 'claude', agent: true });
    s3 = withHeaders({});
  }, 30_000);

  afterAll(async () => {
    s3?.destroy();
    await gw?.stop();
    await up?.stop();
    await s3rver?.stop();
  });

  it('S3 user metadata and the SDK’s own headers still pass', async () => {
    await s3.send(
      new PutObjectCommand({ Bucket: 'data', Key: 'scratch/a.txt', Body: 'hello', Metadata: { note: 'x' } }),
    );
    const got = await s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'scratch/a.txt' }));
    expect(await got.Body?.transformToString()).toBe('hello');
    expect(got.Metadata?.['note']).toBe('x');
  });

  it.each([
    [
      'a PutObject whose metadata asks the store to unpack it',
      { 'x-amz-meta-snowball-auto-extract': 'true' },
      'put',
    ],
    ['an unpacking prefix', { 'x-amz-meta-minio-snowball-prefix': 'prod/' }, 'put'],
    [
      'a DeleteObject that asks the store to delete everything under the key',
      { 'x-minio-force-delete': 'true' },
      'delete',
    ],
    ['a GetObject that reads inside an archive', { 'x-minio-extract': 'true' }, 'get'],
    ['a vendor header of another store', { 'x-rgw-anything': '1' }, 'get'],
    // Ceph RGW names headers CGI's way (HTTP_X_AMZ_COPY_SOURCE): this PutObject is a copy there.
    ['a copy source spelt with "_"', { x_amz_copy_source: 'data/secret.txt' }, 'put'],
    ['an ACL spelt with "_"', { 'x-amz_acl': 'public-read' }, 'put'],
  ] as const)('%s is refused and reaches nothing', async (_what, headers, op) => {
    const before = up.seen.length;
    const client = withHeaders(headers);
    const send =
      op === 'put'
        ? client.send(new PutObjectCommand({ Bucket: 'data', Key: 'scratch/b.tar', Body: 'tar' }))
        : op === 'delete'
          ? client.send(new DeleteObjectCommand({ Bucket: 'data', Key: 'scratch/a.txt' }))
          : client.send(new GetObjectCommand({ Bucket: 'data', Key: 'scratch/a.txt' }));
    const err = await send.then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    client.destroy();
    const forwarded = up.seen
      .slice(before)
      .map((s) => Object.keys(s.headers).filter((h) => h.startsWith('x-')));
    expect(forwarded, 'the header was forwarded to the S3 endpoint').toEqual([]);
    expect(err?.name).toBe('AccessDenied');
    expect(err?.message).toContain('aws-unknown-operation');
  });
});
