// The KMS key S3 decrypts an object with on a read (docs/security.md, class 126). No request names
// it: with a deny of a key and s3:GetObject allowed on the bucket, GetObject of an object written
// under that key returned its plaintext. The answer's head names the key, and Gatehouse decides it
// there, before any body byte; a copy or select, whose answer does not, is refused while a rule may
// name the key. Through the gateway against moto's server (skipped without it), with the AWS SDK.

import {
  CopyObjectCommand,
  GetObjectAttributesCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';
import { hasMoto, startMoto, type Moto } from './testkit/moto.js';

type Reply = { status: number; text: string };
const BUCKET = 'kms-reads';
/** A bucket whose default encryption is the prod key, with an S3 Bucket Key. */
const DEFAULTED = 'kms-defaulted';
const SEED_AUTH = (service: string): string =>
  `AWS4-HMAC-SHA256 Credential=AKIDSEED/20260101/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=00`;

describe.skipIf(!hasMoto())('the KMS key an S3 read decrypts with', { timeout: 60_000 }, () => {
  let moto: Moto;
  let gw: HttpTestGateway;
  let client: S3Client;
  let prodKey: string;
  let devKey: string;
  let openKey: string;

  async function createKey(): Promise<string> {
    const res = await request(`${moto.url}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'TrentService.CreateKey',
        authorization: SEED_AUTH('kms'),
      },
      body: '{}',
    });
    return ((await res.body.json()) as { KeyMetadata: { KeyId: string } }).KeyMetadata.KeyId;
  }

  async function put(key: string, body: string, kmsKey?: string): Promise<void> {
    const res = await request(`${moto.url}/${BUCKET}/${key}`, {
      method: 'PUT',
      headers: {
        authorization: SEED_AUTH('s3'),
        ...(kmsKey !== undefined
          ? {
              'x-amz-server-side-encryption': 'aws:kms',
              'x-amz-server-side-encryption-aws-kms-key-id': kmsKey,
            }
          : {}),
      },
      body,
    });
    expect(res.statusCode, await res.body.text()).toBe(200);
  }

  async function exists(key: string): Promise<boolean> {
    const res = await request(`${moto.url}/${BUCKET}/${key}`, {
      method: 'HEAD',
      headers: { authorization: SEED_AUTH('s3') },
    });
    await res.body.dump();
    return res.statusCode === 200;
  }

  async function send(run: () => Promise<unknown>): Promise<Reply> {
    try {
      const out = (await run()) as { Body?: { transformToString(): Promise<string> } };
      const text = out.Body ? await out.Body.transformToString() : JSON.stringify(out);
      return { status: 200, text };
    } catch (e) {
      const err = e as { $metadata?: { httpStatusCode?: number }; name?: string; message?: string };
      return { status: err.$metadata?.httpStatusCode ?? 0, text: `${err.name}: ${err.message}` };
    }
  }

  const get = (Key: string, extra: { Range?: string; PartNumber?: number } = {}): Promise<Reply> =>
    send(() => client.send(new GetObjectCommand({ Bucket: BUCKET, Key, ...extra })));

  beforeAll(async () => {
    moto = await startMoto();
    prodKey = await createKey();
    devKey = await createKey();
    openKey = await createKey();
    const mk = await request(`${moto.url}/${BUCKET}`, {
      method: 'PUT',
      headers: { authorization: SEED_AUTH('s3') },
    });
    expect(mk.statusCode, await mk.body.text()).toBe(200);
    await put('prod-secret', 'prod-plaintext-4711', prodKey);
    await put('dev-secret', 'dev-plaintext-4712', devKey);
    await put('open', 'open-plaintext-4713', openKey);
    await put('plain', 'plain-text-4714');
    // Written with a checksum of its plaintext, which S3 answers with (decrypted) on request.
    const seed = new S3Client({
      region: 'us-east-1',
      endpoint: moto.url,
      credentials: { accessKeyId: 'AKIDSEED', secretAccessKey: 'seed' },
      forcePathStyle: true,
    });
    await seed.send(
      new PutObjectCommand({
        Bucket: BUCKET,
        Key: 'prod-summed',
        Body: 'prod-plaintext-4716',
        ChecksumAlgorithm: 'SHA256',
        ServerSideEncryption: 'aws:kms',
        SSEKMSKeyId: prodKey,
      }),
    );
    seed.destroy();
    const mk2 = await request(`${moto.url}/${DEFAULTED}`, {
      method: 'PUT',
      headers: { authorization: SEED_AUTH('s3') },
    });
    expect(mk2.statusCode, await mk2.body.text()).toBe(200);
    const encryption =
      '<ServerSideEncryptionConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule>' +
      `<ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm><KMSMasterKeyID>${prodKey}</KMSMasterKeyID>` +
      '</ApplyServerSideEncryptionByDefault><BucketKeyEnabled>true</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>';
    const enc = await request(`${moto.url}/${DEFAULTED}?encryption`, {
      method: 'PUT',
      headers: {
        authorization: SEED_AUTH('s3'),
        'content-type': 'application/xml',
        'content-md5': createHash('md5').update(encryption).digest('base64'),
      },
      body: encryption,
    });
    expect(enc.statusCode, await enc.body.text()).toBe(200);
    // Written without naming a key: the bucket's default (and its Bucket Key) encrypts it.
    const defaulted = await request(`${moto.url}/${DEFAULTED}/report`, {
      method: 'PUT',
      headers: { authorization: SEED_AUTH('s3') },
      body: 'defaulted-plaintext-4715',
    });
    expect(defaulted.statusCode, await defaulted.body.text()).toBe(200);
    gw = await startHttpTestGateway({
      env: { ...process.env, GW_REAL_SECRET_260: 'RealSecret260x0000000000000000000000' },
      connections: {
        aws: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          auth: {
            type: 'aws-sigv4',
            region: 'us-east-1',
            credentials: {
              accessKeyId: 'AKIAGATEWAYREAL00260',
              secretAccessKey: { env: 'GW_REAL_SECRET_260' },
            },
            endpoints: { kms: moto.url, s3: moto.url },
          },
        },
      },
      policies: [
        {
          id: 'agents',
          subjects: { agent: true },
          connections: ['aws'],
          rules: [
            { id: 'no-prod-key', effect: 'deny' as const, match: { awsResources: [prodKey] } },
            {
              id: 'review-dev-key',
              effect: 'review' as const,
              match: { operations: ['kms:Decrypt'], awsResources: [devKey] },
            },
            // Reviews every decrypt by operation: not a rule on the key, so S3 reads are not refused by it.
            { id: 'review-decrypts', effect: 'review' as const, match: { operations: ['kms:Decrypt'] } },
            {
              id: 'bucket',
              effect: 'allow' as const,
              match: {
                operations: ['s3:*'],
                awsResources: [`${BUCKET}/*`, `${DEFAULTED}/*`],
              },
            },
          ],
        },
      ],
    });
    const agent = await gw.awsKey({ subject: 'claude', agent: true });
    const config: S3ClientConfig = {
      region: 'us-east-1',
      endpoint: gw.endpoint('aws'),
      credentials: agent,
      forcePathStyle: true,
      maxAttempts: 1,
    };
    client = new S3Client(config);
  }, 30_000);

  afterAll(async () => {
    client?.destroy();
    await gw?.stop();
    await moto?.stop();
  });

  it('moto names the key in the head of a GetObject and of a part read', async () => {
    for (const q of ['', '?partNumber=1']) {
      const res = await request(`${moto.url}/${BUCKET}/prod-secret${q}`, {
        headers: { authorization: SEED_AUTH('s3') },
      });
      await res.body.dump();
      expect(res.headers['x-amz-server-side-encryption']).toBe('aws:kms');
      expect(res.headers['x-amz-server-side-encryption-aws-kms-key-id']).toBe(prodKey);
    }
  });

  it('a GetObject of an object under a denied key is refused, none of it relayed', async () => {
    const r = await get('prod-secret');
    expect(r.status, r.text).toBe(403);
    expect(r.text).toContain('no-prod-key');
    expect(r.text).not.toContain('prod-plaintext');
    // Refused and recorded: the request's record carries the refusal.
    const statements = [];
    for (const session of await gw.gateway.store.listSessions({ limit: 100 }))
      statements.push(...((await gw.gateway.store.getSession(session.id))?.statements ?? []));
    const refusal = statements.find((st) => st.result?.error?.code === 'kms_key_refused');
    expect(refusal?.result?.error?.message).toContain('no-prod-key');
  });

  it('a part read of it too', async () => {
    const r = await get('prod-secret', { PartNumber: 1 });
    expect(r.status, r.text).toBe(403);
    expect(r.text).toContain('no-prod-key');
    expect(r.text).not.toContain('prod-plaintext');
  });

  it("an object under the bucket's default key, with a Bucket Key, is refused too", async () => {
    const r = await send(() => client.send(new GetObjectCommand({ Bucket: DEFAULTED, Key: 'report' })));
    expect(r.status, r.text).toBe(403);
    expect(r.text).toContain('no-prod-key');
    expect(r.text).not.toContain('defaulted-plaintext');
  });

  it('a key a rule reviews refuses the read: a review cannot be held on an answer', async () => {
    const r = await get('dev-secret');
    expect(r.status, r.text).toBe(403);
    expect(r.text).toContain('review-dev-key');
    expect(r.text).not.toContain('dev-plaintext');
  });

  it('an object under another key, or not under KMS, is read', async () => {
    expect(await get('open')).toEqual({ status: 200, text: 'open-plaintext-4713' });
    expect(await get('plain')).toEqual({ status: 200, text: 'plain-text-4714' });
    // A HEAD decrypts nothing.
    const head = await send(() => client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'prod-secret' })));
    expect(head.status, head.text).toBe(200);
  });

  // Class 143: the plaintext's checksums are what S3 decrypts for, and hands out, on these reads.
  const SUM = createHash('sha256').update('prod-plaintext-4716').digest('base64');

  it('a HEAD asking for checksums is decided on the key its head names', async () => {
    const direct = await request(`${moto.url}/${BUCKET}/prod-summed`, {
      method: 'HEAD',
      headers: { authorization: SEED_AUTH('s3'), 'x-amz-checksum-mode': 'ENABLED' },
    });
    await direct.body.dump();
    expect(direct.headers['x-amz-checksum-sha256']).toBe(SUM);
    const r = await send(() =>
      client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'prod-summed', ChecksumMode: 'ENABLED' })),
    );
    expect(r.status, r.text).toBe(403);
    expect(r.text).not.toContain(SUM);
    const statements = [];
    for (const session of await gw.gateway.store.listSessions({ limit: 100 }))
      statements.push(...((await gw.gateway.store.getSession(session.id))?.statements ?? []));
    const refusal = statements.find(
      (st) => st.kind === 's3:HeadObject' && st.result?.error?.code === 'kms_key_refused',
    );
    expect(refusal?.result?.error?.message).toContain('no-prod-key');
    // Without the checksums, a HEAD decrypts nothing and is answered.
    const plain = await send(() =>
      client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'prod-summed' })),
    );
    expect(plain.status, plain.text).toBe(200);
  });

  it("GetObjectAttributes asking for checksums is refused while a rule may name the object's key", async () => {
    const r = await send(() =>
      client.send(
        new GetObjectAttributesCommand({
          Bucket: BUCKET,
          Key: 'prod-summed',
          ObjectAttributes: ['Checksum'],
        }),
      ),
    );
    expect(r.status, r.text).toBe(403);
    expect(r.text).toContain('no-prod-key');
    expect(r.text).not.toContain(SUM);
    const size = await send(() =>
      client.send(
        new GetObjectAttributesCommand({
          Bucket: BUCKET,
          Key: 'prod-summed',
          ObjectAttributes: ['ObjectSize'],
        }),
      ),
    );
    // moto answers with an ISO Last-Modified the SDK cannot parse: reaching that parse means a 200.
    expect(size.text).not.toContain('no-prod-key');
    expect(size.text).toMatch(/"ObjectSize":19|Invalid RFC7231 date-time/);
  });

  it('a copy decrypts a source whose key no answer names: refused while a rule may name the key', async () => {
    const r = await send(() =>
      client.send(
        new CopyObjectCommand({ Bucket: BUCKET, Key: 'prod-copy', CopySource: `${BUCKET}/prod-secret` }),
      ),
    );
    expect(r.status, r.text).toBe(403);
    expect(r.text).toContain('no-prod-key');
    expect(await exists('prod-copy')).toBe(false);
  });
});
