// S3 request headers that make a request do more than its operation, through the real gateway with
// the real AWS SDK: an ACL, tags, Object Lock settings, a governance bypass, a copy of the source's
// tags, a new bucket's ACL, Object Lock or ownership. Each is decided as the action IAM asks for
// (s3:PutObjectAcl, s3:PutObjectTagging, …), so a rule that denies that action cannot be got round
// through PutObject, CopyObject, CreateMultipartUpload, DeleteObject(s) or CreateBucket; each is on
// record, and an approval is bound to the headers it was given for. The S3 upstream is s3rver behind
// a SigV4-checking proxy.

import { randomBytes } from 'node:crypto';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import { request } from 'undici';
import {
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  PutObjectCommand,
  PutObjectRetentionCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredStatement } from '../src/core/records.js';
import type { Json } from './approvals-kit.js';
import {
  startCheckingUpstream,
  startS3rver,
  type CheckingUpstream,
  type RealCredentials,
  type RunningFake,
} from './testkit/aws-upstreams.js';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';

const REAL: RealCredentials = {
  accessKeyId: 'AKIAGATEWAYREAL00009',
  secretAccessKey: `RealSecret${randomBytes(15).toString('hex')}`,
};

type Key = { accessKeyId: string; secretAccessKey: string };
type SdkError = Error & { $metadata: { httpStatusCode?: number } };

const PUBLIC_READ = 'uri=http://acs.amazonaws.com/groups/global/AllUsers';

describe('S3 headers decided as the actions they imply', { timeout: 60_000 }, () => {
  let s3rver: RunningFake;
  let s3Up: CheckingUpstream;
  let gw: HttpTestGateway;
  let endpoint: string;
  let agent: Key;
  let ops: Key;
  let olga: string;

  // One client per key: each client's sockets are sessions of the principal (at most 20 at once).
  const clients = new Map<Key, S3Client>();
  const s3 = (key: Key): S3Client => {
    let c = clients.get(key);
    if (c === undefined)
      clients.set(
        key,
        (c = new S3Client({
          endpoint,
          region: 'us-east-1',
          credentials: key,
          forcePathStyle: true,
          maxAttempts: 1,
        })),
      );
    return c;
  };

  /** The agent's statements on record, oldest first. */
  async function recorded(): Promise<StoredStatement[]> {
    const out: StoredStatement[] = [];
    for (const s of await gw.gateway.store.listSessions({ limit: 1000 })) {
      if (s.subject !== 'claude') continue;
      out.push(...((await gw.gateway.store.getSession(s.id))?.statements ?? []));
    }
    return out.sort((a, b) => a.at.getTime() - b.at.getTime() || a.seq - b.seq);
  }

  /** Runs `p`, expects the gateway to refuse it (403) without sending anything upstream. */
  async function refused(p: () => Promise<unknown>): Promise<SdkError> {
    const before = s3Up.seen.length;
    const err = (await p().then(
      () => undefined,
      (e: unknown) => e,
    )) as SdkError | undefined;
    expect(err, 'the request was forwarded').toBeInstanceOf(Error);
    expect(err!.name).toBe('AccessDenied');
    expect(err!.$metadata.httpStatusCode).toBe(403);
    expect(s3Up.seen.length, 'something reached S3').toBe(before);
    return err!;
  }

  const api = async (method: string, p: string, body?: unknown): Promise<Json> => {
    const res = await fetch(`http://127.0.0.1:${gw.gateway.http!.port}${p}`, {
      method,
      headers: {
        authorization: `Bearer ${olga}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: await res.json() };
  };

  beforeAll(async () => {
    s3rver = await startS3rver(['pub', 'dst'], [REAL]);
    s3Up = await startCheckingUpstream({ credentials: [REAL], forwardTo: s3rver.url });
    gw = await startHttpTestGateway({
      env: { ...process.env, GW_REAL_SECRET_9: REAL.secretAccessKey },
      realApprovals: true,
      connections: {
        aws: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          auth: {
            type: 'aws-sigv4',
            region: 'us-east-1',
            credentials: { accessKeyId: REAL.accessKeyId, secretAccessKey: { env: 'GW_REAL_SECRET_9' } },
            endpoints: { s3: s3Up.url },
          },
        },
      },
      policies: [
        {
          id: 'agents',
          subjects: { agent: true },
          connections: ['aws'],
          rules: [
            // What the agent may not do, whichever operation it comes through.
            {
              id: 'no-acl',
              effect: 'deny',
              match: { operations: ['s3:PutObjectAcl'], paths: ['/dst/**', '/pub/**'] },
            },
            { id: 'no-tagging', effect: 'deny', match: { operations: ['s3:PutObjectTagging'] } },
            {
              id: 'no-lock',
              effect: 'deny',
              match: {
                operations: ['s3:PutObjectRetention', 's3:PutObjectLegalHold'],
                paths: ['/dst/l.txt', '/dst/l.bin'],
              },
            },
            { id: 'no-bypass', effect: 'deny', match: { operations: ['s3:BypassGovernanceRetention'] } },
            // The agent may not choose the key its writes are encrypted under.
            { id: 'no-kms-keys', effect: 'deny', match: { operations: ['kms:GenerateDataKey*'] } },
            // Versions are history: the agent may delete objects (a delete marker) but not versions.
            { id: 'no-version-delete', effect: 'deny', match: { operations: ['s3:DeleteObjectVersion'] } },
            {
              id: 'no-old-secrets',
              effect: 'deny',
              match: { operations: ['s3:GetObjectVersion'], paths: ['/pub/secret/**'] },
            },
            {
              id: 'no-bucket-settings',
              effect: 'deny',
              match: {
                operations: [
                  's3:PutBucketAcl',
                  's3:PutObjectLockConfiguration',
                  's3:PutBucketVersioning',
                  's3:PutBucketOwnershipControls',
                ],
              },
            },
            {
              id: 'no-secret-tags',
              effect: 'deny',
              match: { operations: ['s3:GetObjectTagging'], paths: ['/pub/secret/**'] },
            },
            // ACLs under held/ are for a human to approve.
            {
              id: 'acl-held',
              effect: 'review',
              mode: 'defer',
              approval: 'ops',
              match: { operations: ['s3:PutObjectAcl'], paths: ['/held/**'] },
            },
            {
              id: 'agent-s3',
              effect: 'allow',
              match: {
                operations: [
                  's3:PutObject',
                  's3:CopyObject',
                  's3:CreateMultipartUpload',
                  's3:GetObject',
                  's3:GetObjectVersion',
                  's3:GetObjectTagging',
                  's3:DeleteObject',
                  's3:DeleteObjects',
                  's3:PutObjectRetention',
                  's3:CreateBucket',
                ],
              },
            },
          ],
        },
        {
          id: 'ops',
          subjects: { groups: ['ops'], agent: false },
          connections: ['aws'],
          rules: [{ id: 'ops-all', effect: 'allow', match: { operations: ['*'] } }],
        },
      ],
      extra: {
        listeners: { http: { address: '127.0.0.1:0' } },
        approvals: { rules: { ops: { approverGroups: ['ops'] } } },
      },
    });
    endpoint = gw.endpoint('aws');
    olga = await gw.token({ subject: 'olga', groups: ['ops'] });
    agent = await gw.awsKey({ subject: 'claude', agent: true });
    ops = await gw.awsKey({ subject: 'olga', groups: ['ops'] });
    await s3(ops).send(new CreateBucketCommand({ Bucket: 'held' }));
    for (const Key of ['report.txt', 'secret/plan.txt'])
      await s3(ops).send(new PutObjectCommand({ Bucket: 'pub', Key, Body: Key }));
  });

  afterAll(async () => {
    for (const c of clients.values()) c.destroy();
    await gw?.stop();
    await s3Up?.stop();
    await s3rver?.stop();
  });

  describe('an ACL', () => {
    it.each([
      ['a canned ACL', { ACL: 'public-read' as const }],
      ['a grant to everyone', { GrantRead: PUBLIC_READ }],
      ['full control to another account', { GrantFullControl: 'id="0123456789abcdef"' }],
    ])('is refused on PutObject when s3:PutObjectAcl is denied: %s', async (_what, acl) => {
      const err = await refused(() =>
        s3(agent).send(new PutObjectCommand({ Bucket: 'dst', Key: 'public.txt', Body: 'x', ...acl })),
      );
      expect(err.message).toContain('s3:PutObjectAcl (PUT /dst/public.txt?acl=');
      expect(err.message).toContain('no-acl');
      const st = (await recorded()).findLast((s) => s.text.includes('/dst/public.txt'))!;
      expect(st).toMatchObject({ kind: 's3:PutObject', effect: 'deny', ruleId: 'no-acl' });
      expect(st.text).toMatch(
        /^PUT \/dst\/public\.txt\?x-id=PutObject \+ s3:PutObjectAcl PUT \/dst\/public\.txt\?acl= \[x-amz-/,
      );
    });

    it('is refused on CopyObject and CreateMultipartUpload too; the same writes without it pass', async () => {
      await refused(() =>
        s3(agent).send(
          new CopyObjectCommand({
            Bucket: 'dst',
            Key: 'c.txt',
            CopySource: 'pub/report.txt',
            ACL: 'public-read',
          }),
        ),
      );
      await refused(() =>
        s3(agent).send(
          new CreateMultipartUploadCommand({ Bucket: 'dst', Key: 'm.bin', GrantRead: PUBLIC_READ }),
        ),
      );
      await s3(agent).send(new PutObjectCommand({ Bucket: 'dst', Key: 'plain.txt', Body: 'plain' }));
      await s3(agent).send(
        new CopyObjectCommand({ Bucket: 'dst', Key: 'c.txt', CopySource: 'pub/report.txt' }),
      );
      const got = await s3(ops).send(new GetObjectCommand({ Bucket: 'dst', Key: 'plain.txt' }));
      expect(await got.Body!.transformToString()).toBe('plain');
    });
  });

  it('refuses tags set through x-amz-tagging when s3:PutObjectTagging is denied', async () => {
    const err = await refused(() =>
      s3(agent).send(
        new PutObjectCommand({ Bucket: 'dst', Key: 't.txt', Body: 'x', Tagging: 'owner=agent' }),
      ),
    );
    expect(err.message).toContain('s3:PutObjectTagging (PUT /dst/t.txt?tagging=');
    await refused(() =>
      s3(agent).send(
        new CopyObjectCommand({
          Bucket: 'dst',
          Key: 't.txt',
          CopySource: 'pub/report.txt',
          TaggingDirective: 'REPLACE',
          Tagging: 'owner=agent',
        }),
      ),
    );
  });

  it("decides a copy's read of its source's tags (the default directive) as s3:GetObjectTagging", async () => {
    const err = await refused(() =>
      s3(agent).send(
        new CopyObjectCommand({ Bucket: 'dst', Key: 's.txt', CopySource: 'pub/secret/plan.txt' }),
      ),
    );
    expect(err.message).toContain('s3:GetObjectTagging (GET /pub/secret/plan.txt?tagging=)');
    const st = (await recorded()).findLast((s) => s.text.includes('/dst/s.txt'))!;
    expect(st.text).toBe(
      'PUT /dst/s.txt?x-id=CopyObject + s3:GetObject GET /pub/secret/plan.txt + s3:GetObjectTagging GET /pub/secret/plan.txt?tagging=',
    );
    // Not copying the tags reads none: allowed.
    await s3(agent).send(
      new CopyObjectCommand({
        Bucket: 'dst',
        Key: 's.txt',
        CopySource: 'pub/secret/plan.txt',
        TaggingDirective: 'REPLACE',
      }),
    );
  });

  it('refuses Object Lock settings on a write when s3:PutObjectRetention / s3:PutObjectLegalHold are denied', async () => {
    const until = new Date(Date.UTC(2031, 0, 1));
    let err = await refused(() =>
      s3(agent).send(
        new PutObjectCommand({
          Bucket: 'dst',
          Key: 'l.txt',
          Body: 'x',
          ObjectLockMode: 'COMPLIANCE',
          ObjectLockRetainUntilDate: until,
        }),
      ),
    );
    expect(err.message).toContain('s3:PutObjectRetention (PUT /dst/l.txt?retention=');
    err = await refused(() =>
      s3(agent).send(
        new CreateMultipartUploadCommand({ Bucket: 'dst', Key: 'l.bin', ObjectLockLegalHoldStatus: 'ON' }),
      ),
    );
    expect(err.message).toContain('s3:PutObjectLegalHold (PUT /dst/l.bin?legal-hold=');
  });

  it('refuses a governance bypass when s3:BypassGovernanceRetention is denied, on every operation that takes it', async () => {
    await s3(ops).send(new PutObjectCommand({ Bucket: 'dst', Key: 'locked.txt', Body: 'x' }));
    let err = await refused(() =>
      s3(agent).send(
        new DeleteObjectCommand({ Bucket: 'dst', Key: 'locked.txt', BypassGovernanceRetention: true }),
      ),
    );
    expect(err.message).toContain('s3:BypassGovernanceRetention (DELETE /dst/locked.txt)');
    err = await refused(() =>
      s3(agent).send(
        new DeleteObjectsCommand({
          Bucket: 'dst',
          BypassGovernanceRetention: true,
          Delete: { Objects: [{ Key: 'locked.txt' }] },
        }),
      ),
    );
    expect(err.message).toContain('s3:BypassGovernanceRetention (DELETE /dst/locked.txt)');
    err = await refused(() =>
      s3(agent).send(
        new PutObjectRetentionCommand({
          Bucket: 'dst',
          Key: 'locked.txt',
          BypassGovernanceRetention: true,
          Retention: { Mode: 'GOVERNANCE', RetainUntilDate: new Date(Date.UTC(2030, 0, 1)) },
        }),
      ),
    );
    expect(err.message).toContain('s3:BypassGovernanceRetention (PUT /dst/locked.txt?retention=)');
    // Without the bypass, the delete is the agent's to make.
    await s3(agent).send(new DeleteObjectCommand({ Bucket: 'dst', Key: 'locked.txt' }));
  });

  it('decides a request naming a version as IAM’s version action too: s3:DeleteObjectVersion, s3:GetObjectVersion', async () => {
    // One client (one connection, one session): every client is a session of the agent's, and the
    // agent has at most 20 at once.
    const a = s3(agent);
    try {
      // A DELETE of a version destroys it for good; the same DELETE without one adds a delete marker.
      const err = await refused(() =>
        a.send(new DeleteObjectCommand({ Bucket: 'dst', Key: 'plain.txt', VersionId: 'v1' })),
      );
      expect(err.message).toContain('s3:DeleteObjectVersion (DELETE /dst/plain.txt?versionId=v1');
      expect(err.message).toContain('no-version-delete');
      const st = (await recorded()).findLast((s) => s.text.includes('?versionId=v1'))!;
      expect(st).toMatchObject({ kind: 's3:DeleteObject', effect: 'deny', ruleId: 'no-version-delete' });
      expect(st.text).toBe(
        'DELETE /dst/plain.txt?versionId=v1&x-id=DeleteObject + s3:DeleteObjectVersion DELETE /dst/plain.txt?versionId=v1',
      );
      // Through DeleteObjects too, key by key.
      await refused(() =>
        a.send(
          new DeleteObjectsCommand({
            Bucket: 'dst',
            Delete: { Objects: [{ Key: 'gone.txt' }, { Key: 'plain.txt', VersionId: 'v1' }] },
          }),
        ),
      );
      // And a copy from an old version of a secret is the read of that version.
      await refused(() =>
        a.send(
          new CopyObjectCommand({
            Bucket: 'dst',
            Key: 'old.txt',
            CopySource: 'pub/secret/plan.txt?versionId=v0',
            TaggingDirective: 'REPLACE',
          }),
        ),
      );
      await refused(() =>
        a.send(new GetObjectCommand({ Bucket: 'pub', Key: 'secret/plan.txt', VersionId: 'v0' })),
      );
      // Without a version: allowed, as before.
      await a.send(new PutObjectCommand({ Bucket: 'dst', Key: 'gone.txt', Body: 'x' }));
      await a.send(new DeleteObjectCommand({ Bucket: 'dst', Key: 'gone.txt' }));
      const got = await a.send(new GetObjectCommand({ Bucket: 'pub', Key: 'secret/plan.txt' }));
      expect(await got.Body!.transformToString()).toBe('secret/plan.txt');
    } finally {
      a.destroy();
    }
  });

  it('decides the KMS key a write names as kms:GenerateDataKey on that key', async () => {
    const key = 'arn:aws:kms:us-east-1:999999999999:key/1234abcd-12ab-34cd-56ef-1234567890ab';
    const a = s3(agent);
    try {
      const err = await refused(() =>
        a.send(
          new PutObjectCommand({
            Bucket: 'dst',
            Key: 'locked.txt',
            Body: 'x',
            ServerSideEncryption: 'aws:kms',
            SSEKMSKeyId: key,
          }),
        ),
      );
      expect(err.message).toContain('kms:GenerateDataKey');
      expect(err.message).toContain('no-kms-keys');
      const st = (await recorded()).findLast((s) => s.text.includes('/dst/locked.txt'))!;
      expect(st).toMatchObject({ kind: 's3:PutObject', effect: 'deny', ruleId: 'no-kms-keys' });
      expect(st.text).toBe(
        'PUT /dst/locked.txt?x-id=PutObject + kms:GenerateDataKey POST / ' +
          `[x-amz-server-side-encryption: aws:kms; x-amz-server-side-encryption-aws-kms-key-id: ${key}]`,
      );
      await refused(() =>
        a.send(
          new CopyObjectCommand({
            Bucket: 'dst',
            Key: 'locked.txt',
            CopySource: 'pub/report.txt',
            ServerSideEncryption: 'aws:kms',
            SSEKMSKeyId: key,
          }),
        ),
      );
      // The bucket's own key (no key id) and S3-managed keys are the bucket owner's choice: allowed.
      await a.send(
        new PutObjectCommand({ Bucket: 'dst', Key: 'sse.txt', Body: 'x', ServerSideEncryption: 'AES256' }),
      );
    } finally {
      a.destroy();
    }
  });

  describe('CreateBucket', () => {
    it.each([
      ['a public ACL', { ACL: 'public-read' as const }, 's3:PutBucketAcl (PUT /nb1?acl=)'],
      [
        'Object Lock',
        { ObjectLockEnabledForBucket: true },
        's3:PutObjectLockConfiguration (PUT /nb1?object-lock=)',
      ],
      [
        'an ownership setting',
        { ObjectOwnership: 'ObjectWriter' as const },
        's3:PutBucketOwnershipControls (PUT /nb1?ownershipControls=)',
      ],
    ])('with %s is refused when that setting is denied', async (_what, settings, named) => {
      const err = await refused(() =>
        s3(agent).send(new CreateBucketCommand({ Bucket: 'nb1', ...settings })),
      );
      expect(err.message).toContain(named);
    });

    it('without them (or with the private ACL) is allowed', async () => {
      await s3(agent).send(new CreateBucketCommand({ Bucket: 'nb2', ACL: 'private' }));
      await s3(agent).send(new PutObjectCommand({ Bucket: 'nb2', Key: 'k', Body: 'v' }));
      const up = s3Up.seen.findLast((r) => r.method === 'PUT' && r.url.startsWith('/nb2'));
      expect(up?.verified).toBe(true);
    });
  });

  it('refuses a permission header given twice, even when the joined value reads as one list', async () => {
    const u = new URL(endpoint);
    const signer = new SignatureV4({
      credentials: agent,
      region: 'us-east-1',
      service: 's3',
      sha256: Sha256,
    });
    // Signed as the gateway reads repeated headers (joined with ", "), sent as two header lines.
    const signedReq = await signer.sign(
      new HttpRequest({
        method: 'PUT',
        hostname: u.hostname,
        port: Number(u.port),
        path: '/held/twice.txt',
        headers: {
          host: u.host,
          'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
          'x-amz-grant-read': 'id=a, id=b',
        },
      }),
    );
    const headers: string[] = [];
    for (const [k, v] of Object.entries(signedReq.headers)) {
      if (k === 'x-amz-grant-read') headers.push(k, 'id=a', k, 'id=b');
      else headers.push(k, v);
    }
    const before = s3Up.seen.length;
    const res = await request(`${endpoint}/held/twice.txt`, { method: 'PUT', headers, body: '' });
    const text = await res.body.text();
    expect(res.statusCode).toBe(403);
    expect(text).toContain('aws-unknown-operation');
    expect(text).toContain('x-amz-grant-read is given more than once');
    expect(s3Up.seen.length).toBe(before);
  });

  it('binds an approval to the ACL it was given for: another ACL is another request', async () => {
    const put = (acl: 'private' | 'public-read') =>
      s3(agent).send(new PutObjectCommand({ Bucket: 'held', Key: 'doc.txt', Body: 'doc', ACL: acl }));
    const id = (message: string): string => {
      const m = /request ([0-9a-f-]{36}) (was created|is still pending)/.exec(message);
      expect(m, message).not.toBeNull();
      return m![1]!;
    };
    const first = id((await refusedOrHeld(() => put('private'))).message);
    const asked = (await api('GET', `/api/approvals/${first}`)).body.request;
    expect(asked.statement.text).toBe(
      'PUT /held/doc.txt?x-id=PutObject + s3:PutObjectAcl PUT /held/doc.txt?acl= [x-amz-acl: private]',
    );
    expect((await api('POST', `/api/approvals/${first}/approve`, { comment: 'ok' })).status).toBe(200);

    // The approval of a private ACL is not one of a public ACL.
    const swapped = id((await refusedOrHeld(() => put('public-read'))).message);
    expect(swapped).not.toBe(first);
    expect(s3Up.seen.filter((r) => r.url.startsWith('/held/doc.txt'))).toEqual([]);

    await put('private');
    const sent = s3Up.seen.filter((r) => r.url.startsWith('/held/doc.txt'));
    expect(sent).toHaveLength(1);
    expect(sent[0]!.headers['x-amz-acl']).toBe('private');
    expect((await api('GET', `/api/approvals/${first}`)).body.request.uses).toBe(1);
  });

  /** A request held for a deferred approval: refused now, naming the approval request. */
  async function refusedOrHeld(p: () => Promise<unknown>): Promise<SdkError> {
    const err = (await p().then(
      () => undefined,
      (e: unknown) => e,
    )) as SdkError | undefined;
    expect(err, 'the request ran without an approval').toBeInstanceOf(Error);
    return err!;
  }
});
