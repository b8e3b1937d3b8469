// A resource a request reaches without naming it the way a rule does (docs/security.md, class 110).
// KMS takes a key by its id, its ARN, an alias or an alias ARN, and an alias can point at any key and
// be moved (UpdateAlias): a deny of a key by id was walked around with `alias/prod`, and a Decrypt
// without `KeyId` (KMS reads the key from the ciphertext) was never seen by it at all. Lambda bodies
// other than a function's configuration were not read: CreateEventSourceMapping's `EventSourceArn`
// (the stream of a denied table, delivered to a function the agent writes) passed a deny of the table.
// Through the gateway against moto's server (skipped without it), with the real AWS SDK for Lambda.

import { randomBytes } from 'node:crypto';
import { CreateEventSourceMappingCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  PutBucketLoggingCommand,
  PutBucketReplicationCommand,
  PutBucketTaggingCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';
import { hasMoto, startMoto, type Moto } from './testkit/moto.js';

type Key = { accessKeyId: string; secretAccessKey: string };
type Reply = { status: number; text: string };
type Seeded = { KeyMetadata: { KeyId: string }; CiphertextBlob: string };

const J11 = 'application/x-amz-json-1.1';
const J10 = 'application/x-amz-json-1.0';
const STREAM = 'arn:aws:dynamodb:us-east-1:123456789012:table/secrets/stream/2026-01-01T00:00:00.000';

function denied(r: Reply, rule: string): void {
  expect([400, 403], r.text).toContain(r.status);
  expect(r.text).toContain('AccessDenied');
  expect(r.text).toContain(rule);
}

describe.skipIf(!hasMoto())('a KMS key or a table reached without its name', { timeout: 60_000 }, () => {
  let moto: Moto;
  let gw: HttpTestGateway;
  let agent: Key;
  let prodKey: string;
  let devKey: string;
  let prodCiphertext: string;

  /** A call straight to moto (seeding), with any signature. */
  async function seed(service: string, target: string, type: string, body: unknown): Promise<Seeded> {
    const res = await request(`${moto.url}/`, {
      method: 'POST',
      headers: {
        'content-type': type,
        'x-amz-target': target,
        authorization: `AWS4-HMAC-SHA256 Credential=AKIDSEED/20260101/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=00`,
      },
      body: JSON.stringify(body),
    });
    const text = await res.body.text();
    expect(res.statusCode, text).toBe(200);
    return (text === '' ? {} : JSON.parse(text)) as Seeded;
  }

  async function kms(op: string, body: unknown): Promise<Reply> {
    const u = new URL(gw.endpoint('aws'));
    const text = JSON.stringify(body);
    const signer = new SignatureV4({
      credentials: agent,
      region: 'us-east-1',
      service: 'kms',
      sha256: Sha256,
    });
    const req = await signer.sign(
      new HttpRequest({
        method: 'POST',
        hostname: u.hostname,
        port: Number(u.port),
        path: '/',
        headers: { host: u.host, 'content-type': J11, 'x-amz-target': `TrentService.${op}` },
        body: text,
      }),
    );
    const res = await request(`${gw.endpoint('aws')}/`, { method: 'POST', headers: req.headers, body: text });
    return { status: res.statusCode, text: await res.body.text() };
  }

  async function mapping(EventSourceArn: string): Promise<Reply> {
    const client = new LambdaClient({
      region: 'us-east-1',
      endpoint: gw.endpoint('aws'),
      credentials: agent,
      maxAttempts: 1,
    });
    try {
      const out = await client.send(
        new CreateEventSourceMappingCommand({
          FunctionName: 'sink',
          EventSourceArn,
          StartingPosition: 'LATEST',
        }),
      );
      return { status: 200, text: JSON.stringify(out) };
    } catch (e) {
      const err = e as { $metadata?: { httpStatusCode?: number }; name?: string; message?: string };
      return { status: err.$metadata?.httpStatusCode ?? 0, text: `${err.name}: ${err.message}` };
    } finally {
      client.destroy();
    }
  }

  beforeAll(async () => {
    moto = await startMoto();
    prodKey = (await seed('kms', 'TrentService.CreateKey', J11, { Description: 'prod' })).KeyMetadata.KeyId;
    devKey = (await seed('kms', 'TrentService.CreateKey', J11, { Description: 'dev' })).KeyMetadata.KeyId;
    await seed('kms', 'TrentService.CreateAlias', J11, { AliasName: 'alias/prod', TargetKeyId: prodKey });
    await seed('kms', 'TrentService.CreateAlias', J11, { AliasName: 'alias/dev', TargetKeyId: devKey });
    prodCiphertext = (
      await seed('kms', 'TrentService.Encrypt', J11, {
        KeyId: prodKey,
        Plaintext: Buffer.from('prod-plaintext-4711').toString('base64'),
      })
    ).CiphertextBlob;
    for (const bucket of ['scratch', 'vault']) {
      const res = await request(`${moto.url}/${bucket}`, {
        method: 'PUT',
        headers: {
          authorization:
            'AWS4-HMAC-SHA256 Credential=AKIDSEED/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00',
        },
      });
      expect(res.statusCode, await res.body.text()).toBe(200);
      // Versioned, as replication needs: forwarded, the configurations below are accepted.
      const versioning = await request(`${moto.url}/${bucket}?versioning`, {
        method: 'PUT',
        headers: {
          authorization:
            'AWS4-HMAC-SHA256 Credential=AKIDSEED/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00',
        },
        body: '<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>',
      });
      expect(versioning.statusCode, await versioning.body.text()).toBe(200);
    }
    await seed('dynamodb', 'DynamoDB_20120810.CreateTable', J10, {
      TableName: 'secrets',
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    });
    gw = await startHttpTestGateway({
      env: { ...process.env, GW_REAL_SECRET_94: `RealSecret${randomBytes(15).toString('hex')}` },
      connections: {
        aws: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          auth: {
            type: 'aws-sigv4',
            region: 'us-east-1',
            credentials: {
              accessKeyId: 'AKIAGATEWAYREAL00094',
              secretAccessKey: { env: 'GW_REAL_SECRET_94' },
            },
            endpoints: { kms: moto.url, dynamodb: moto.url, lambda: moto.url, s3: moto.url },
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
            { id: 'no-secrets-table', effect: 'deny' as const, match: { awsResources: ['secrets'] } },
            { id: 'no-vault', effect: 'deny' as const, match: { awsResources: ['vault', 'vault/*'] } },
            { id: 'no-passing-roles', effect: 'deny' as const, match: { operations: ['iam:PassRole'] } },
            {
              id: 'scratch-config',
              effect: 'allow' as const,
              match: { operations: ['s3:PutBucket*'], awsResources: ['scratch'] },
            },
            {
              id: 'crypto-and-mappings',
              effect: 'allow' as const,
              match: { operations: ['kms:Encrypt', 'kms:Decrypt', 'lambda:CreateEventSourceMapping'] },
            },
          ],
        },
      ],
    });
    agent = await gw.awsKey({ subject: 'claude', agent: true });
  }, 30_000);

  afterAll(async () => {
    await gw?.stop();
    await moto?.stop();
  });

  it('a member named twice in different case is refused, not decided on one of the two', async () => {
    // Which of `KeyId` and `keyId` a service reads is not documented; Gatehouse read `KeyId` only.
    const r = await kms('Encrypt', { KeyId: devKey, keyId: prodKey, Plaintext: 'AAAA' });
    expect(r.status, r.text).not.toBe(200);
    expect(r.text).toMatch(/twice in one object/);
    // A caller's own map below the top level keeps case: two tag keys `env` and `Env` are two.
    const tagged = await kms('Encrypt', {
      KeyId: devKey,
      Plaintext: 'AAAA',
      EncryptionContext: { env: 'a', Env: 'b' },
    });
    expect(tagged.status, tagged.text).toBe(200);
  });

  it('a key named by id: the denied one is refused, another is used', async () => {
    denied(await kms('Encrypt', { KeyId: prodKey, Plaintext: 'AAAA' }), 'no-prod-key');
    const dev = await kms('Encrypt', { KeyId: devKey, Plaintext: 'AAAA' });
    expect(dev.status, dev.text).toBe(200);
    expect(dev.text).toContain('CiphertextBlob');
  });

  it('a key named by an alias may be the denied key: refused, and the refusal says why', async () => {
    const r = await kms('Encrypt', { KeyId: 'alias/prod', Plaintext: 'AAAA' });
    denied(r, 'no-prod-key');
    // Which key an alias names is the service's to say, and it can be moved: every alias may be it.
    const other = await kms('Encrypt', {
      KeyId: 'arn:aws:kms:us-east-1:123456789012:alias/dev',
      Plaintext: 'AAAA',
    });
    denied(other, 'no-prod-key');
    expect(other.text).toContain('alias');
  });

  it('a Decrypt without KeyId may use the denied key (KMS reads it from the ciphertext): refused', async () => {
    const r = await kms('Decrypt', { CiphertextBlob: prodCiphertext });
    expect(Buffer.from('prod-plaintext-4711').toString('base64'), 'decrypted under the denied key').not.toBe(
      JSON.parse(r.status === 200 ? r.text : '{}').Plaintext,
    );
    denied(r, 'no-prod-key');
    expect(r.text).toContain('ciphertext');
  });

  it('a Lambda event source mapping reading the stream of a denied table is refused; of another, not', async () => {
    const r = await mapping(STREAM);
    expect(r.text).toContain('AccessDenied');
    expect(r.text).toContain('no-secrets-table');
    const other = await mapping(STREAM.replace('table/secrets/', 'table/app-orders/'));
    expect(other.text).not.toContain('no-secrets-table');
  });

  async function s3(send: (client: S3Client) => Promise<unknown>): Promise<Reply> {
    const client = new S3Client({
      region: 'us-east-1',
      endpoint: gw.endpoint('aws'),
      credentials: agent,
      forcePathStyle: true,
      maxAttempts: 1,
    });
    try {
      const out = await send(client);
      return { status: 200, text: JSON.stringify(out) };
    } catch (e) {
      const err = e as { $metadata?: { httpStatusCode?: number }; name?: string; message?: string };
      return { status: err.$metadata?.httpStatusCode ?? 0, text: `${err.name}: ${err.message}` };
    } finally {
      client.destroy();
    }
  }

  it('a bucket configuration that writes into a denied bucket is refused', async () => {
    const replication = await s3((c) =>
      c.send(
        new PutBucketReplicationCommand({
          Bucket: 'scratch',
          ReplicationConfiguration: {
            Role: 'arn:aws:iam::123456789012:role/replicator',
            Rules: [{ Status: 'Enabled', Priority: 1, Destination: { Bucket: 'arn:aws:s3:::vault' } }],
          },
        }),
      ),
    );
    expect(replication.text).toContain('AccessDenied');
    const logging = await s3((c) =>
      c.send(
        new PutBucketLoggingCommand({
          Bucket: 'scratch',
          BucketLoggingStatus: { LoggingEnabled: { TargetBucket: 'vault', TargetPrefix: 'logs/' } },
        }),
      ),
    );
    expect(logging.text).toContain('AccessDenied');
    expect(logging.text).toContain('no-vault');
  });

  it('the role a replication configuration hands to S3 is decided as iam:PassRole', async () => {
    const r = await s3((c) =>
      c.send(
        new PutBucketReplicationCommand({
          Bucket: 'scratch',
          ReplicationConfiguration: {
            Role: 'arn:aws:iam::123456789012:role/admin',
            Rules: [{ Status: 'Enabled', Priority: 1, Destination: { Bucket: 'arn:aws:s3:::scratch2' } }],
          },
        }),
      ),
    );
    expect(r.text).toContain('AccessDenied');
    expect(r.text).toContain('no-passing-roles');
  });

  it('a tag value is data, not a name: the bucket is tagged', async () => {
    const r = await s3((c) =>
      c.send(
        new PutBucketTaggingCommand({
          Bucket: 'scratch',
          Tagging: { TagSet: [{ Key: 'copy-of', Value: 'vault' }] },
        }),
      ),
    );
    expect(r.status, r.text).toBe(200);
  });
});
