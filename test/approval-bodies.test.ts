// A request held for approval is bound to its body, through the real listeners and the real approvals
// service: the body is read whole before the approval is asked for, its digest is part of what is
// approved, and exactly those bytes are forwarded. A deferred approval given for one body (an IAM
// policy, a DynamoDB item, an S3 object, a generic POST, a Kubernetes object) does not run the same
// request line with another body; the approved body runs, once. The approver sees the body masked
// with the connection's field names (a password the requester sent is not shown).

import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { AttachUserPolicyCommand, CreateLoginProfileCommand, IAMClient } from '@aws-sdk/client-iam';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Json } from './approvals-kit.js';
import {
  startCheckingUpstream,
  startDynalite,
  startS3rver,
  type CheckingUpstream,
  type RunningFake,
} from './testkit/aws-upstreams.js';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';
import { startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** The approvals API of a gateway's HTTP listener. */
function approvalsApi(port: () => number) {
  const call = async (token: string, method: string, p: string, body?: unknown): Promise<Json> => {
    const res = await fetch(`http://127.0.0.1:${port()}${p}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: await res.json() };
  };
  return {
    call,
    async all(token: string): Promise<Json[]> {
      return ((await call(token, 'GET', '/api/approvals?status=all')).body as { requests: Json[] }).requests;
    },
    async approve(token: string, id: string): Promise<void> {
      const r = await call(token, 'POST', `/api/approvals/${id}/approve`, { comment: 'ok' });
      expect(r.status, JSON.stringify(r.body)).toBe(200);
    },
    async get(token: string, id: string): Promise<Json> {
      const r = await call(token, 'GET', `/api/approvals/${id}`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return r.body.request;
    },
  };
}

/** The body as the approver is shown it: the last of the request's shown parameters. */
function shownBody(request: Json): string {
  const params = request.statement.params as string[];
  const last = params[params.length - 1]!;
  expect(last).toMatch(/^body \(\d+ bytes, sha256 [0-9a-f]{64}\): /);
  return last;
}

const requestId = (message: string): string => {
  const m = /request ([0-9a-f-]{36}) (was created|is still pending)/.exec(message);
  expect(m, message).not.toBeNull();
  return m![1]!;
};

describe('AWS: a deferred approval is bound to the request body', { timeout: 60_000 }, () => {
  const REAL = {
    accessKeyId: 'AKIAGATEWAYREAL00003',
    secretAccessKey: `Real${randomBytes(15).toString('hex')}`,
  };
  let ddb: RunningFake;
  let s3rver: RunningFake;
  let ddbUp: CheckingUpstream;
  let s3Up: CheckingUpstream;
  let iamUp: CheckingUpstream;
  let gw: HttpTestGateway;
  let olga: string;
  let agentKey: { accessKeyId: string; secretAccessKey: string };
  let opsKey: { accessKeyId: string; secretAccessKey: string };
  const api = approvalsApi(() => gw.gateway.http!.port);

  beforeAll(async () => {
    ddb = await startDynalite();
    s3rver = await startS3rver(['data'], [REAL]);
    ddbUp = await startCheckingUpstream({ credentials: [REAL], forwardTo: ddb.url });
    s3Up = await startCheckingUpstream({ credentials: [REAL], forwardTo: s3rver.url });
    iamUp = await startCheckingUpstream({
      credentials: [REAL],
      respond: (_req, body) => {
        const action = new URLSearchParams(body.toString('utf8')).get('Action') ?? '';
        return {
          status: 200,
          headers: { 'content-type': 'text/xml' },
          body:
            `<${action}Response xmlns="https://iam.amazonaws.com/doc/2010-05-08/">` +
            (action === 'CreateLoginProfile'
              ? '<CreateLoginProfileResult><LoginProfile><UserName>bob</UserName><CreateDate>2026-01-01T00:00:00Z</CreateDate></LoginProfile></CreateLoginProfileResult>'
              : '') +
            `<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></${action}Response>`,
        };
      },
    });
    gw = await startHttpTestGateway({
      env: { ...process.env, GW_BODY_SECRET: REAL.secretAccessKey },
      realApprovals: true,
      connections: {
        aws: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          auth: {
            type: 'aws-sigv4',
            region: 'us-east-1',
            credentials: { accessKeyId: REAL.accessKeyId, secretAccessKey: { env: 'GW_BODY_SECRET' } },
            endpoints: { dynamodb: ddbUp.url, s3: s3Up.url, iam: iamUp.url },
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
              id: 'writes-deferred',
              effect: 'review',
              mode: 'defer',
              approval: 'ops',
              match: {
                operations: [
                  'iam:AttachUserPolicy',
                  'iam:CreateLoginProfile',
                  'dynamodb:PutItem',
                  's3:PutObject',
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
    olga = await gw.token({ subject: 'olga', groups: ['ops'] });
    // Both keys before the first request: the gateway re-reads the key list at most once a second.
    agentKey = await gw.awsKey({ subject: 'claude', agent: true });
    opsKey = await gw.awsKey({ subject: 'olga', groups: ['ops'] });
    const { CreateTableCommand } = await import('@aws-sdk/client-dynamodb');
    await ddbClient(opsKey).send(
      new CreateTableCommand({
        TableName: 'orders',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  });

  afterAll(async () => {
    await gw?.stop();
    await ddbUp?.stop();
    await s3Up?.stop();
    await iamUp?.stop();
    await ddb?.stop();
    await s3rver?.stop();
  });

  const creds = (key: { accessKeyId: string; secretAccessKey: string }) => ({
    endpoint: gw.endpoint('aws'),
    region: 'us-east-1',
    credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
    maxAttempts: 1,
  });
  const ddbClient = (key: { accessKeyId: string; secretAccessKey: string }) => new DynamoDBClient(creds(key));
  const failure = async (p: Promise<unknown>): Promise<string> => {
    const e = (await p.then(
      () => undefined,
      (err: unknown) => err,
    )) as Error | undefined;
    expect(e, 'the request ran without an approval').toBeInstanceOf(Error);
    return e!.message;
  };

  it('an approved IAM policy attachment does not attach another policy (query protocol)', async () => {
    const iam = new IAMClient(creds(agentKey));
    const attach = (policy: string) =>
      iam.send(
        new AttachUserPolicyCommand({ UserName: 'bob', PolicyArn: `arn:aws:iam::aws:policy/${policy}` }),
      );
    const id = requestId(await failure(attach('ReadOnlyAccess')));
    await api.approve(olga, id);

    const swapped = await failure(attach('AdministratorAccess'));
    expect(requestId(swapped), 'the approval of one body was taken for another').not.toBe(id);
    expect(iamUp.seen.filter((s) => s.body.toString().includes('AdministratorAccess'))).toEqual([]);

    await attach('ReadOnlyAccess');
    const sent = iamUp.seen.filter((s) => s.body.toString().includes('AttachUserPolicy'));
    expect(sent).toHaveLength(1);
    expect(sent[0]!.body.toString()).toContain('ReadOnlyAccess');
    expect((await api.get(olga, id)).uses).toBe(1);
    // The approver saw what would be attached.
    expect(shownBody(await api.get(olga, id))).toContain('PolicyArn=arn:aws:iam::aws:policy/ReadOnlyAccess');
  });

  it("the approver does not see a password the requester sent (the connection's masking field names)", async () => {
    const password = `Pw-${randomBytes(8).toString('hex')}`;
    const iam = new IAMClient(creds(agentKey));
    const message = await failure(
      iam.send(new CreateLoginProfileCommand({ UserName: 'bob', Password: password })),
    );
    const asked = await api.get(olga, requestId(message));
    const shown = shownBody(asked);
    expect(shown).toContain('UserName=bob');
    expect(shown).toMatch(/Password=\[REDACTED/);
    expect(JSON.stringify(asked)).not.toContain(password);
    expect(JSON.stringify(await api.all(olga))).not.toContain(password);
  });

  it('an approved DynamoDB PutItem does not write another item (JSON protocol)', async () => {
    const agent = ddbClient(agentKey);
    const put = (note: string) =>
      agent.send(
        new PutItemCommand({
          TableName: 'orders',
          Item: { id: { S: 'o-1' }, note: { S: note }, password: { S: 'item-secret-value' } },
        }),
      );
    const id = requestId(await failure(put('approved')));
    await api.approve(olga, id);

    const swapped = await failure(put('swapped'));
    expect(requestId(swapped)).not.toBe(id);
    const read = () =>
      ddbClient(opsKey).send(new GetItemCommand({ TableName: 'orders', Key: { id: { S: 'o-1' } } }));
    expect((await read()).Item, 'another item was written on the approval').toBeUndefined();

    await put('approved');
    expect((await read()).Item?.note?.S).toBe('approved');
    const shown = shownBody(await api.get(olga, id));
    expect(shown).toContain('"note":{"S":"approved"}');
    expect(shown).not.toContain('item-secret-value');
  });

  it('an approved S3 object upload does not upload another body (a streamed body)', async () => {
    const s3 = (key: { accessKeyId: string; secretAccessKey: string }) =>
      new S3Client({ ...creds(key), forcePathStyle: true });
    const upload = (text: string) =>
      s3(agentKey).send(new PutObjectCommand({ Bucket: 'data', Key: 'report.txt', Body: text }));
    const id = requestId(await failure(upload('approved contents')));
    await api.approve(olga, id);

    expect(requestId(await failure(upload('other contents')))).not.toBe(id);
    const read = () => s3(opsKey).send(new GetObjectCommand({ Bucket: 'data', Key: 'report.txt' }));
    expect(await failure(read())).toMatch(/key does not exist/i);

    await upload('approved contents');
    expect(await (await read()).Body!.transformToString()).toBe('approved contents');
    // Text that no field name marks could hold anything: only its digest is shown.
    expect(shownBody(await api.get(olga, id))).toContain(
      `sha256 ${sha256('approved contents')}): (not shown`,
    );
  });

  it('an approved S3 upload does not run with other metadata or another redirect (class 205)', async () => {
    const s3 = (key: { accessKeyId: string; secretAccessKey: string }) =>
      new S3Client({ ...creds(key), forcePathStyle: true });
    const upload = (owner: string, redirect: string) =>
      s3(agentKey).send(
        new PutObjectCommand({
          Bucket: 'data',
          Key: 'meta.txt',
          Body: 'same contents',
          Metadata: { owner },
          WebsiteRedirectLocation: redirect,
        }),
      );
    const id = requestId(await failure(upload('ops', '/docs/')));
    const shown = (await api.get(olga, id)).statement.params as string[];
    expect(shown).toContain('header x-amz-meta-owner: ops');
    expect(shown).toContain('header x-amz-website-redirect-location: /docs/');
    await api.approve(olga, id);

    expect(requestId(await failure(upload('mallory', '/docs/')))).not.toBe(id);
    expect(requestId(await failure(upload('ops', 'https://evil.example/')))).not.toBe(id);
    const read = () => s3(opsKey).send(new GetObjectCommand({ Bucket: 'data', Key: 'meta.txt' }));
    expect(await failure(read())).toMatch(/key does not exist/i);

    await upload('ops', '/docs/');
    expect((await read()).Metadata).toEqual({ owner: 'ops' });
  });

  it('an aws-chunked upload is bound to its decoded body', async () => {
    const s3 = (key: { accessKeyId: string; secretAccessKey: string }) =>
      new S3Client({ ...creds(key), forcePathStyle: true });
    const seenModes: string[] = [];
    const upload = (text: string) => {
      const client = s3(agentKey);
      client.middlewareStack.add(
        (next) => async (args) => {
          const h = (args.request as { headers: Record<string, string> }).headers;
          seenModes.push(h['x-amz-content-sha256'] ?? '');
          return next(args);
        },
        { step: 'finalizeRequest', priority: 'low' },
      );
      // A stream of known length: the SDK sends it aws-chunked with a trailing checksum.
      return client.send(
        new PutObjectCommand({
          Bucket: 'data',
          Key: 'chunked.txt',
          Body: Readable.from([Buffer.from(text)]),
          ContentLength: Buffer.byteLength(text),
        }),
      );
    };
    const id = requestId(await failure(upload('approved chunked')));
    expect(seenModes[0]).toMatch(/^STREAMING-/);
    await api.approve(olga, id);
    expect(requestId(await failure(upload('swapped chunked')))).not.toBe(id);
    const read = () => s3(opsKey).send(new GetObjectCommand({ Bucket: 'data', Key: 'chunked.txt' }));
    expect(await failure(read())).toMatch(/key does not exist/i);
    await upload('approved chunked');
    expect(await (await read()).Body!.transformToString()).toBe('approved chunked');
    expect(shownBody(await api.get(olga, id))).toContain(`sha256 ${sha256('approved chunked')}`);
  });
});

describe('generic HTTP: a request held for approval is bound to its body', { timeout: 60_000 }, () => {
  let upstream: http.Server;
  let upstreamUrl: string;
  const received: { method: string; url: string; body: Buffer }[] = [];
  let gw: HttpTestGateway;
  let agent: string;
  let olga: string;
  const api = approvalsApi(() => gw.gateway.http!.port);

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        const body = Buffer.concat(parts);
        received.push({ method: req.method ?? '', url: req.url ?? '', body });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ sha256: sha256(body) }));
      });
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    gw = await startHttpTestGateway({
      env: { ...process.env, API_TOKEN: 'upstream-token' },
      realApprovals: true,
      connections: {
        api: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          upstream: upstreamUrl,
          auth: { type: 'bearer', token: { env: 'API_TOKEN' } },
          maxRequestBodyBytes: 4096,
        },
      },
      policies: [
        {
          id: 'agents',
          subjects: { agent: true },
          connections: ['api'],
          rules: [
            {
              id: 'deploys-deferred',
              effect: 'review',
              mode: 'defer',
              approval: 'ops',
              match: { methods: ['POST'], paths: ['/v1/deploys'] },
            },
            {
              id: 'rollbacks-held',
              effect: 'review',
              mode: 'hold',
              approval: 'ops',
              match: { methods: ['POST'], paths: ['/v1/rollbacks'] },
            },
            { id: 'the-rest', effect: 'allow', match: { methods: ['*'] } },
          ],
        },
      ],
      extra: {
        listeners: { http: { address: '127.0.0.1:0' } },
        approvals: { rules: { ops: { approverGroups: ['ops'] } } },
      },
    });
    agent = await gw.token({ subject: 'claude', agent: true });
    olga = await gw.token({ subject: 'olga', groups: ['ops'] });
  });

  afterAll(async () => {
    await gw?.stop();
    await new Promise((r) => upstream?.close(r));
  });

  const post = async (p: string, body: string | Buffer | Buffer[], headers = {}) => {
    const r = await request(`${gw.endpoint('api')}${p}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agent}`, 'content-type': 'application/json', ...headers },
      // Pieces go as a chunked body (no Content-Length).
      body: typeof body === 'string' || Buffer.isBuffer(body) ? body : Readable.from([...body]),
    });
    return { status: r.statusCode, headers: r.headers, text: await r.body.text() };
  };

  it('a deferred POST approved for one body does not run with another; the approved body runs once', async () => {
    const approved = JSON.stringify({ image: 'app:1.4.2', replicas: 2, api_key: 'deploy-key-secret-1' });
    const other = JSON.stringify({ image: 'app:evil', replicas: 2, api_key: 'deploy-key-secret-1' });
    const first = await post('/v1/deploys', approved);
    expect(first.status, first.text).toBe(403);
    const id = first.headers['gatehouse-approval-request'] as string;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await api.approve(olga, id);

    const swapped = await post('/v1/deploys', other);
    expect(swapped.status, 'the approval of one body ran another').toBe(403);
    expect(swapped.headers['gatehouse-approval-request']).not.toBe(id);
    expect(received.filter((r) => r.url === '/v1/deploys')).toEqual([]);

    // The same bytes, sent chunked in two pieces: the body is what was approved, not its framing.
    const half = approved.length >> 1;
    const ok = await post('/v1/deploys', [
      Buffer.from(approved.slice(0, half)),
      Buffer.from(approved.slice(half)),
    ]);
    expect(ok.status, ok.text).toBe(200);
    const forwarded = received.filter((r) => r.url === '/v1/deploys');
    expect(forwarded).toHaveLength(1);
    expect(forwarded[0]!.body.toString()).toBe(approved);

    const again = await post('/v1/deploys', approved);
    expect(again.status, 'one approval ran twice').toBe(403);
    expect(received.filter((r) => r.url === '/v1/deploys')).toHaveLength(1);
    const shown = shownBody(await api.get(olga, id));
    expect(shown).toContain('"image":"app:1.4.2"');
    expect(shown).toContain(`sha256 ${sha256(approved)}`);
    expect(shown, 'the approver was shown a key the requester sent').not.toContain('deploy-key-secret-1');
  });

  it('a deferred POST approved with one header does not run with another (class 205)', async () => {
    const body = JSON.stringify({ image: 'app:2.0.0' });
    const send = (env: string, trace: string) =>
      post('/v1/deploys', body, {
        'x-environment': env,
        'x-api-key': 'client-key-secret-9',
        traceparent: trace,
      });
    const first = await send('staging', '00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-bbbbbbbbbbbbbbbb-01');
    expect(first.status, first.text).toBe(403);
    const id = first.headers['gatehouse-approval-request'] as string;
    const asked = await api.get(olga, id);
    // The approver is shown the headers that go up with it, a secret one masked, and not the trace.
    expect(asked.statement.params).toContain('header x-environment: staging');
    expect(asked.statement.params).toContain('header x-api-key: [REDACTED]');
    expect(asked.statement.params).toContain('header content-type: application/json');
    expect(JSON.stringify(asked)).not.toContain('client-key-secret-9');
    expect(JSON.stringify(asked)).not.toContain('traceparent');
    await api.approve(olga, id);

    const deploys = () => received.filter((r) => r.url === '/v1/deploys' && r.body.toString() === body);
    const other = await send('production', '00-cccccccccccccccccccccccccccccccc-dddddddddddddddd-01');
    expect(other.status, 'the approval for staging ran against production').toBe(403);
    expect(other.headers['gatehouse-approval-request']).not.toBe(id);
    const typed = await post('/v1/deploys', body, {
      'x-environment': 'staging',
      'x-api-key': 'client-key-secret-9',
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(typed.status, 'the approval of a JSON body ran as a form').toBe(403);
    expect(deploys()).toEqual([]);

    // The same request, on another trace: the one approved.
    const ok = await send('staging', '00-eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-ffffffffffffffff-01');
    expect(ok.status, ok.text).toBe(200);
    expect(deploys()).toHaveLength(1);
  });

  it('a gzip-coded body is shown to the approver as the upstream reads it, and bound as sent (class 211)', async () => {
    const json = JSON.stringify({ image: 'app:coded', replicas: 500, api_key: 'coded-key-secret-3' });
    const coded = gzipSync(json);
    const first = await post('/v1/deploys', coded, { 'content-encoding': 'gzip' });
    expect(first.status, first.text).toBe(403);
    const id = first.headers['gatehouse-approval-request'] as string;
    const shown = shownBody(await api.get(olga, id));
    expect(shown).toContain('"image":"app:coded","replicas":500');
    expect(shown).toContain(`sha256 ${sha256(coded)}`);
    expect(shown).not.toContain('coded-key-secret-3');
  });

  it('a held POST is shown to the approver with its body before it is approved, and that body is forwarded', async () => {
    const body = JSON.stringify({ to: 'v41', password: 'held-secret-pw' });
    const held = post('/v1/rollbacks', body);
    let asked: Json;
    for (let i = 0; i < 200 && !asked; i++) {
      asked = (await api.all(olga)).find(
        (r) => r.status === 'pending' && String(r.statement?.text).includes('/v1/rollbacks'),
      );
      if (!asked) await new Promise((r) => setTimeout(r, 25));
    }
    expect(asked, 'no approval request for the held POST').toBeDefined();
    const shown = shownBody(asked);
    expect(shown).toContain('"to":"v41"');
    expect(shown).not.toContain('held-secret-pw');
    expect(received.filter((r) => r.url === '/v1/rollbacks')).toEqual([]);
    await api.approve(olga, asked.id as string);
    const r = await held;
    expect(r.status, r.text).toBe(200);
    expect(JSON.parse(r.text)).toEqual({ sha256: sha256(body) });
  });

  it('a body that needs approval is refused past maxRequestBodyBytes (413); an allowed one streams (not a form or JSON POST)', async () => {
    const big = JSON.stringify({ blob: 'x'.repeat(6000) });
    const before = (await api.all(olga)).length;
    const refused = await post('/v1/deploys', big);
    expect(refused.status, refused.text).toBe(413);
    expect(refused.text).toMatch(/needs approval/);
    // Chunked, so the length is known only once read.
    const chunked = await post('/v1/deploys', [
      Buffer.from(big.slice(0, 3000)),
      Buffer.from(big.slice(3000)),
    ]);
    expect(chunked.status, chunked.text).toBe(413);
    expect((await api.all(olga)).length, 'an approval request was made for a body never read').toBe(before);

    const allowed = await post('/v1/uploads', big, { 'content-type': 'application/octet-stream' });
    expect(allowed.status, allowed.text).toBe(200);
    expect(JSON.parse(allowed.text)).toEqual({ sha256: sha256(big) });
    // An allowed JSON POST is read whole too, for a `_method` in it (class 204): past the limit, 413.
    const json = await post('/v1/uploads', big);
    expect(json.status, json.text).toBe(413);
    expect(json.text).toMatch(/method override/);
  });
});

describe('Kubernetes: a deferred approval is bound to the object sent', { timeout: 60_000 }, () => {
  let kube: FakeKubeApi;
  let gw: KubeTestGateway;
  let ca: string;
  let agent: string;
  let olga: string;
  const api = approvalsApi(() => gw.gateway.http!.port);

  beforeAll(async () => {
    kube = await startFakeKubeApi();
    gw = await startKubeTestGateway({
      api: kube,
      realApprovals: true,
      connectionExtra: { maxRequestBodyBytes: 4096 },
      policies: [
        {
          id: 'agents',
          subjects: { agent: true },
          connections: ['prod-k8s'],
          rules: [
            {
              id: 'configmaps-deferred',
              effect: 'review',
              mode: 'defer',
              approval: 'ops',
              match: { verbs: ['create', 'patch'], resources: ['configmaps'] },
            },
            { id: 'the-rest', effect: 'allow', match: { verbs: ['*'] } },
          ],
        },
      ],
      extra: {
        listeners: { http: { address: '127.0.0.1:0' } },
        approvals: { rules: { ops: { approverGroups: ['ops'] } } },
      },
    });
    ca = readFileSync(path.join(gw.dir, 'listener-ca.crt'), 'utf8');
    agent = await gw.token({ subject: 'claude', agent: true });
    olga = await gw.token({ subject: 'olga', groups: ['ops'], agent: false });
  });

  afterAll(async () => {
    await gw?.stop();
    await kube?.close();
  });

  const create = (body: string): Promise<{ status: number; text: string }> =>
    new Promise((resolve, reject) => {
      const req = https.request(`${gw.server}/api/v1/namespaces/prod/configmaps`, {
        method: 'POST',
        ca,
        agent: false,
        headers: { authorization: `Bearer ${agent}`, 'content-type': 'application/json' },
      });
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', reject);
      req.end(body);
    });
  const configMap = (level: string) =>
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'app', namespace: 'prod' },
      data: { level, token: 'cm-token-secret' },
    });

  it('a create approved for one object does not create another; the approved one is forwarded as sent', async () => {
    const approved = configMap('info');
    const first = await create(approved);
    expect(first.status, first.text).toBe(403);
    const id = requestId(first.text);
    await api.approve(olga, id);

    const posts = () => kube.seen.filter((s) => s.method === 'POST').length;
    const swapped = await create(configMap('debug'));
    expect(swapped.status, 'the approval of one object created another').toBe(403);
    expect(requestId(swapped.text)).not.toBe(id);
    expect(posts()).toBe(0);

    const ok = await create(approved);
    expect(ok.status, ok.text).toBe(201);
    expect(JSON.parse(ok.text).data.receivedSha256).toBe(sha256(approved));
    expect(posts()).toBe(1);
    const shown = shownBody(await api.get(olga, id));
    expect(shown).toContain('"level":"info"');
    expect(shown).not.toContain('cm-token-secret');
  });

  it('a patch approved as one patch type does not run as another (its Content-Type is bound: class 205)', async () => {
    const patch = (type: string): Promise<{ status: number; text: string }> =>
      new Promise((resolve, reject) => {
        const req = https.request(`${gw.server}/api/v1/namespaces/prod/configmaps/app`, {
          method: 'PATCH',
          ca,
          agent: false,
          headers: { authorization: `Bearer ${agent}`, 'content-type': type },
        });
        req.on('response', (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on('error', reject);
        req.end(JSON.stringify({ data: { level: 'warn' } }));
      });
    const first = await patch('application/merge-patch+json');
    expect(first.status, first.text).toBe(403);
    const id = requestId(first.text);
    const asked = await api.get(olga, id);
    expect(asked.statement.params).toContain('header content-type: application/merge-patch+json');
    await api.approve(olga, id);

    const patches = () => kube.seen.filter((r) => r.method === 'PATCH').length;
    const other = await patch('application/strategic-merge-patch+json');
    expect(other.status, 'the approval of a merge patch ran a strategic merge patch').toBe(403);
    expect(requestId(other.text)).not.toBe(id);
    expect(patches()).toBe(0);
    await patch('application/merge-patch+json');
    expect(patches()).toBe(1);
  });

  it('a body that needs approval is refused past maxRequestBodyBytes (413), with no approval request', async () => {
    const before = (await api.all(olga)).length;
    const posts = () => kube.seen.filter((r) => r.method === 'POST').length;
    const sent = posts();
    const big = await create(configMap('x'.repeat(6000)));
    expect(big.status, big.text).toBe(413);
    expect(big.text).toMatch(/needs approval/);
    expect((await api.all(olga)).length, 'an approval request was made for a body never read').toBe(before);
    expect(posts()).toBe(sent);
  });
});
