// Requests that name a second resource, through the real gateway: an S3 copy reads its
// x-amz-copy-source, which is decided as its own s3:GetObject (both must be allowed, both are on
// record), and AWS query protocol requests that give a parameter twice (query string and body, or
// repeated) are not classified. The S3 upstream is s3rver behind a SigV4-checking proxy; IAM is canned.

import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import { request } from 'undici';
import {
  CopyObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { IAMClient, ListUsersCommand } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredStatement } from '../src/core/records.js';
import {
  startCheckingUpstream,
  startS3rver,
  type CheckingUpstream,
  type RealCredentials,
  type RunningFake,
} from './testkit/aws-upstreams.js';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';

const REAL: RealCredentials = {
  accessKeyId: 'AKIAGATEWAYREAL00002',
  secretAccessKey: `RealSecret${randomBytes(15).toString('hex')}`,
};

type Key = { accessKeyId: string; secretAccessKey: string };

/** A SigV4-signed request as a client would send it, query and body exactly as given. */
async function signed(
  url: string,
  key: Key,
  opts: {
    method?: string;
    service?: string;
    path: string;
    query?: Record<string, string | string[]>;
    rawQuery?: string;
    headers?: Record<string, string>;
    body?: string;
  },
) {
  const u = new URL(url);
  const service = opts.service ?? 's3';
  const signer = new SignatureV4({
    credentials: key,
    region: 'us-east-1',
    service,
    sha256: Sha256,
    uriEscapePath: service !== 's3',
  });
  const req = await signer.sign(
    new HttpRequest({
      method: opts.method ?? 'GET',
      hostname: u.hostname,
      port: Number(u.port),
      path: opts.path,
      query: opts.query ?? {},
      headers: { host: u.host, ...opts.headers },
      ...(opts.body !== undefined ? { body: opts.body } : {}),
    }),
  );
  const target = `${url}${opts.path}${opts.rawQuery ? `?${opts.rawQuery}` : ''}`;
  const res = await request(target, {
    method: (opts.method ?? 'GET') as 'GET',
    headers: req.headers,
    ...(opts.body !== undefined ? { body: opts.body } : {}),
  });
  return { status: res.statusCode, text: await res.body.text() };
}

function cannedIam(_req: IncomingMessage, body: Buffer) {
  const form = new URLSearchParams(body.toString('utf8'));
  if (form.get('Action') === 'ListUsers')
    return {
      status: 200,
      headers: { 'content-type': 'text/xml' },
      body:
        '<ListUsersResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListUsersResult><IsTruncated>false</IsTruncated>' +
        '<Users/></ListUsersResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></ListUsersResponse>',
    };
  return {
    status: 200,
    headers: { 'content-type': 'text/xml' },
    body: `<${form.get('Action')}Response><ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata></${form.get('Action')}Response>`,
  };
}

describe('requests that name a second resource', () => {
  let s3rver: RunningFake;
  let s3Up: CheckingUpstream;
  let iamUp: CheckingUpstream;
  let gw: HttpTestGateway;
  let endpoint: string;
  let agent: Key;
  let ops: Key;

  const s3 = (key: Key) =>
    new S3Client({
      endpoint,
      region: 'us-east-1',
      credentials: key,
      forcePathStyle: true,
      maxAttempts: 1,
    });

  /** The agent's statements on record, newest last. */
  async function recorded(): Promise<StoredStatement[]> {
    const sessions = await gw.gateway.store.listSessions({ limit: 1000 });
    const out: StoredStatement[] = [];
    for (const s of sessions) {
      if (s.subject !== 'copier') continue;
      out.push(...((await gw.gateway.store.getSession(s.id))?.statements ?? []));
    }
    return out.sort((a, b) => a.at.getTime() - b.at.getTime() || a.seq - b.seq);
  }

  beforeAll(async () => {
    s3rver = await startS3rver(['pub', 'secret', 'dst'], [REAL]);
    s3Up = await startCheckingUpstream({ credentials: [REAL], forwardTo: s3rver.url });
    iamUp = await startCheckingUpstream({ credentials: [REAL], respond: cannedIam });
    gw = await startHttpTestGateway({
      env: { ...process.env, GW_REAL_SECRET_2: REAL.secretAccessKey },
      connections: {
        aws: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          auth: {
            type: 'aws-sigv4',
            region: 'us-east-1',
            credentials: { accessKeyId: REAL.accessKeyId, secretAccessKey: { env: 'GW_REAL_SECRET_2' } },
            endpoints: { s3: s3Up.url, iam: iamUp.url, secretsmanager: iamUp.url },
          },
        },
      },
      policies: [
        {
          id: 'copier',
          subjects: { subjects: ['copier'] },
          connections: ['aws'],
          rules: [
            // Writes to dst, reads of pub; nothing of secret (default deny).
            {
              id: 'copier-write-dst',
              effect: 'allow',
              match: {
                operations: [
                  's3:PutObject',
                  's3:CopyObject',
                  's3:CreateMultipartUpload',
                  's3:UploadPartCopy',
                ],
                paths: ['/dst/**'],
              },
            },
            {
              id: 'copier-read-pub',
              effect: 'allow',
              // A copy reads the source's tags too (x-amz-tagging-directive COPY, the default).
              match: { operations: ['s3:GetObject', 's3:GetObjectTagging'], paths: ['/pub/**'] },
            },
            // DeleteObjects on dst, but only keys under tmp/ may be deleted.
            {
              id: 'copier-delete-batch',
              effect: 'allow',
              match: { operations: ['s3:DeleteObjects'], paths: ['/dst'] },
            },
            {
              id: 'copier-delete-tmp',
              effect: 'allow',
              match: { operations: ['s3:DeleteObject'], paths: ['/dst/tmp/**'] },
            },
            { id: 'copier-iam-read', effect: 'allow', match: { operations: ['iam:List*', 'iam:Get*'] } },
            { id: 'copier-iam-no-delete', effect: 'deny', match: { operations: ['iam:Delete*'] } },
            {
              id: 'copier-describe-secrets',
              effect: 'allow',
              match: { operations: ['secretsmanager:DescribeSecret'] },
            },
          ],
        },
        {
          id: 'ops',
          subjects: { subjects: ['olga'] },
          connections: ['aws'],
          rules: [{ id: 'ops-all', effect: 'allow', match: { operations: ['*'] } }],
        },
      ],
    });
    endpoint = gw.endpoint('aws');
    agent = await gw.awsKey({ subject: 'copier', agent: true });
    ops = await gw.awsKey({ subject: 'olga' });
    const seed = s3(ops);
    await seed.send(new PutObjectCommand({ Bucket: 'pub', Key: 'report.txt', Body: 'public numbers' }));
    await seed.send(new PutObjectCommand({ Bucket: 'secret', Key: 'keys.txt', Body: 'the crown jewels' }));
    // tmp/stays.txt keeps the tmp/ folder of s3rver's file store from emptying: s3rver deletes a
    // DeleteObjects' keys concurrently, and two deletions that each empty a folder both remove it
    // (the second fails with ENOENT and s3rver answers 500 InternalError).
    for (const Key of ['tmp/a.txt', 'tmp/b.txt', 'tmp/stays.txt', 'keep/ledger.txt'])
      await seed.send(new PutObjectCommand({ Bucket: 'dst', Key, Body: Key }));
  });

  afterAll(async () => {
    await gw?.stop();
    await s3Up?.stop();
    await iamUp?.stop();
    await s3rver?.stop();
  });

  it('copies with the SDK when the write and the source read are both allowed, and records both', async () => {
    const out = await s3(agent).send(
      new CopyObjectCommand({ Bucket: 'dst', Key: 'copy.txt', CopySource: 'pub/report.txt' }),
    );
    expect(out.CopyObjectResult?.ETag).toBeTruthy();
    const got = await s3(ops).send(new GetObjectCommand({ Bucket: 'dst', Key: 'copy.txt' }));
    expect(await got.Body?.transformToString()).toBe('public numbers');
    const st = (await recorded()).findLast((s) => s.kind === 's3:CopyObject')!;
    expect(st).toMatchObject({
      effect: 'allow',
      ruleId: 'copier-write-dst',
      text: 'PUT /dst/copy.txt?x-id=CopyObject + s3:GetObject GET /pub/report.txt + s3:GetObjectTagging GET /pub/report.txt?tagging=',
    });
  });

  it('refuses a copy from a bucket the principal may not read, and records the source', async () => {
    const seenBefore = s3Up.seen.length;
    const err = (await s3(agent)
      .send(new CopyObjectCommand({ Bucket: 'dst', Key: 'leak.txt', CopySource: 'secret/keys.txt' }))
      .catch((e: unknown) => e)) as Error & { $metadata: { httpStatusCode?: number } };
    expect(err.name).toBe('AccessDenied');
    expect(err.$metadata.httpStatusCode).toBe(403);
    expect(err.message).toContain('s3:GetObject (GET /secret/keys.txt)');
    expect(err.message).toContain('default-deny');
    expect(s3Up.seen.length).toBe(seenBefore); // nothing reached S3
    const leaked = await s3(ops)
      .send(new GetObjectCommand({ Bucket: 'dst', Key: 'leak.txt' }))
      .catch((e: unknown) => e);
    expect((leaked as Error).name).toBe('NoSuchKey');
    const st = (await recorded()).findLast((s) => s.text.includes('/dst/leak.txt'))!;
    expect(st).toMatchObject({
      kind: 's3:CopyObject',
      effect: 'deny',
      ruleId: 'default-deny',
      text: 'PUT /dst/leak.txt?x-id=CopyObject + s3:GetObject GET /secret/keys.txt + s3:GetObjectTagging GET /secret/keys.txt?tagging=',
    });
    // Reading it directly is refused by the same rule: the copy is no way around it.
    const direct = await s3(agent)
      .send(new GetObjectCommand({ Bucket: 'secret', Key: 'keys.txt' }))
      .catch((e: unknown) => e);
    expect((direct as Error).name).toBe('AccessDenied');
  });

  it('refuses an UploadPartCopy from a source it may not read', async () => {
    const seenBefore = s3Up.seen.length;
    const err = (await s3(agent)
      .send(
        new UploadPartCopyCommand({
          Bucket: 'dst',
          Key: 'big.bin',
          UploadId: 'u-1',
          PartNumber: 1,
          CopySource: 'secret/keys.txt',
          CopySourceRange: 'bytes=0-3',
        }),
      )
      .catch((e: unknown) => e)) as Error;
    expect(err.name).toBe('AccessDenied');
    expect(err.message).toContain('s3:GetObject (GET /secret/keys.txt)');
    expect(s3Up.seen.length).toBe(seenBefore);
  });

  it('decides the source S3 reads, whatever its spelling, and forwards it as decided', async () => {
    const before = s3Up.seen.length;
    // %73 is "s": the source is secret/keys.txt, however it is written.
    for (const value of ['%73ecret/keys.txt', '/secret/keys.txt', 'secret%2Fkeys.txt']) {
      const r = await signed(endpoint, agent, {
        method: 'PUT',
        path: '/dst/sneaky.txt',
        headers: { 'x-amz-copy-source': value, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
      });
      expect(r.status, value).toBe(403);
      expect(r.text, value).toContain('GET /secret/keys.txt');
    }
    // Spellings S3 could read otherwise, or that name what Gatehouse cannot resolve, are not forwarded.
    for (const value of [
      'pub/../secret/keys.txt',
      'pub/report.txt?versionId=1&x=2',
      'pub/a+b.txt',
      'arn:aws:s3:us-east-1:123456789012:accesspoint/ap/object/keys.txt',
    ]) {
      const r = await signed(endpoint, agent, {
        method: 'PUT',
        path: '/dst/sneaky.txt',
        headers: { 'x-amz-copy-source': value, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
      });
      expect(r.status, value).toBe(403);
      expect(r.text, value).toContain('aws-unknown-operation');
    }
    expect(s3Up.seen.length).toBe(before);
    // An allowed copy goes upstream with the source spelled as decided.
    const ok = await signed(endpoint, agent, {
      method: 'PUT',
      path: '/dst/copy2.txt',
      headers: { 'x-amz-copy-source': '/%70ub/report%2Etxt', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    });
    expect(ok.status).toBe(200);
    const up = s3Up.seen.findLast((r) => r.url === '/dst/copy2.txt')!;
    expect(up.verified).toBe(true);
    expect(up.headers['x-amz-copy-source']).toBe('pub/report.txt');
  });

  it('decides every key of a DeleteObjects as its own s3:DeleteObject', async () => {
    const keys = async () =>
      (await s3(ops).send(new ListObjectsV2Command({ Bucket: 'dst' }))).Contents?.map((o) => o.Key) ?? [];
    const before = s3Up.seen.length;
    const err = (await s3(agent)
      .send(
        new DeleteObjectsCommand({
          Bucket: 'dst',
          Delete: { Objects: [{ Key: 'tmp/a.txt' }, { Key: 'keep/ledger.txt' }] },
        }),
      )
      .catch((e: unknown) => e)) as Error;
    expect(err.name).toBe('AccessDenied');
    expect(err.message).toContain('s3:DeleteObject (DELETE /dst/keep/ledger.txt)');
    expect(s3Up.seen.length).toBe(before);
    expect(await keys()).toEqual(expect.arrayContaining(['tmp/a.txt', 'keep/ledger.txt']));
    const refused = (await recorded()).findLast((s) => s.kind === 's3:DeleteObjects')!;
    expect(refused).toMatchObject({
      effect: 'deny',
      ruleId: 'default-deny',
      text: 'POST /dst/?delete= + s3:DeleteObject DELETE /dst/tmp/a.txt + s3:DeleteObject DELETE /dst/keep/ledger.txt',
    });

    const out = await s3(agent).send(
      new DeleteObjectsCommand({
        Bucket: 'dst',
        Delete: { Objects: [{ Key: 'tmp/a.txt' }, { Key: 'tmp/b.txt' }] },
      }),
    );
    expect(out.Deleted?.map((d) => d.Key).sort()).toEqual(['tmp/a.txt', 'tmp/b.txt']);
    expect(await keys()).not.toContain('tmp/a.txt');
    expect(await keys()).toContain('keep/ledger.txt');
    expect(await keys()).toContain('tmp/stays.txt');
  });

  it('refuses a copy-source header on a request that copies nothing', async () => {
    const r = await signed(endpoint, agent, {
      method: 'PUT',
      path: '/dst/t.txt',
      query: { tagging: '' },
      rawQuery: 'tagging=',
      headers: { 'x-amz-copy-source': 'secret/keys.txt', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
      body: '<Tagging><TagSet/></Tagging>',
    });
    expect(r.status).toBe(403);
    expect(r.text).toContain('aws-unknown-operation');
  });

  describe('query protocol', () => {
    const iam = (query: Record<string, string | string[]>, rawQuery: string, body: string) =>
      signed(endpoint, agent, {
        method: 'POST',
        service: 'iam',
        path: '/',
        query,
        rawQuery,
        headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
        body,
      });

    it('passes the SDK, with every parameter once', async () => {
      const client = new IAMClient({ endpoint, region: 'us-east-1', credentials: agent, maxAttempts: 1 });
      const out = await client.send(new ListUsersCommand({}));
      expect(out.Users).toEqual([]);
    });

    it.each([
      [
        'Action in both places',
        { Action: 'DeleteUser' },
        'Action=DeleteUser',
        'Action=DeleteUser&UserName=bob',
      ],
      ['a resource in both places', { UserName: 'admin' }, 'UserName=admin', 'Action=GetUser&UserName=bob'],
      ['a resource repeated in the body', {}, '', 'Action=GetUser&UserName=bob&UserName=admin'],
      [
        'Action twice in the query string',
        { Action: ['ListUsers', 'DeleteUser'] },
        'Action=ListUsers&Action=DeleteUser',
        '',
      ],
      ['Action and action', {}, '', 'Action=ListUsers&action=DeleteUser'],
      ['a raw + in the query string', { UserName: 'a+b' }, 'UserName=a+b', 'Action=GetUser'],
    ])('refuses %s, recorded, and forwards nothing', async (_what, query, rawQuery, body) => {
      const before = iamUp.seen.length;
      const r = await iam(query, rawQuery, body);
      expect(r.status).toBe(403);
      expect(r.text).toContain('aws-unknown-operation');
      expect(iamUp.seen.length).toBe(before);
      const id = /<RequestId>([^<]+)<\/RequestId>/.exec(r.text)?.[1];
      const st = (await recorded()).find((s) => s.id === id);
      expect(st).toMatchObject({ effect: 'deny', ruleId: 'aws-unknown-operation', kind: 'post' });
    });
  });

  it('refuses a JSON protocol body that gives a key twice (JSON.parse keeps the last, a service may keep the first)', async () => {
    const before = iamUp.seen.length;
    const r = await signed(endpoint, agent, {
      method: 'POST',
      service: 'secretsmanager',
      path: '/',
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'secretsmanager.DescribeSecret',
      },
      body: '{"SecretId":"prod/db","SecretId":"public"}',
    });
    expect(r.status).toBe(400);
    expect(r.text).toContain('aws-unknown-operation');
    expect(iamUp.seen.length).toBe(before);
  });
});
