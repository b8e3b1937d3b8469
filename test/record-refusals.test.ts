// The session record holds every decision and refusal made once the caller is known, on every
// HTTP-family listener, and what an approval of a request with a body covered: through a real gateway,
// with a raw HTTPS client against the fake Kubernetes API server, a raw HTTP client and the AWS SDK
// against real upstreams. A request refused by a limit (429 past the principal's in-flight requests,
// 408 for a body read for review that did not arrive in time), or because Gatehouse would not read or
// relay it (an unclassifiable target, impersonation, exec without an upgrade), is a `statement` event
// with its rule and message; a reviewed body's SHA-256 and size are in the request's `statement`
// event and equal those of the bytes sent, and every read surface of the stored statement (the
// store, the admin API, `gatehouse sessions show --json`) gives them; and the exported record still
// verifies.

import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../src/main.js';
import { exportRecording } from '../src/recording/recording-export.js';
import { verifyRecording } from '../src/recording/recording-verify.js';
import { Timeline } from '../src/recording/replay-timeline.js';
import { startS3rver, type RunningFake } from './testkit/aws-upstreams.js';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';
import { startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const exec = promisify(execFile);
const BIN = path.resolve('bin/gatehouse.js');
const BODY_TIMEOUT_MS = 1500;
const PER_PRINCIPAL = 2;

interface RecordedEvent {
  readonly session: string;
  readonly type: string;
  readonly statement?: string;
  readonly data: Record<string, unknown>;
}

/** Every event of every session of a subject, in chain order per session. */
async function eventsOf(gateway: Gateway, subject: string): Promise<RecordedEvent[]> {
  const sessions = await gateway.store.listSessions({ subject, limit: 1000 });
  const out: RecordedEvent[] = [];
  for (const s of sessions)
    for (const e of await gateway.store.getEvents(s.id))
      out.push({
        session: s.id,
        type: e.type,
        ...(e.statement !== undefined ? { statement: e.statement } : {}),
        data: e.data,
      });
  return out;
}

/** The `statement` events of a subject refused under `ruleId`, once written. */
async function refusalsUnder(gateway: Gateway, subject: string, ruleId: string): Promise<RecordedEvent[]> {
  let found: RecordedEvent[] = [];
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    found = (await eventsOf(gateway, subject)).filter(
      (e) => e.type === 'statement' && e.data['ruleId'] === ruleId,
    );
    if (found.length > 0) return found;
    await new Promise((r) => setTimeout(r, 20));
  }
  return found;
}

type Body = { sha256: string; bytes: number } | undefined;

/** The console's session page, as a person signed in with a token (the login form's CSRF and cookies). */
async function consolePage(base: string, token: string, pagePath: string): Promise<string> {
  const cookies = new Map<string, string>();
  const go = async (p: string, init: RequestInit = {}) => {
    const res = await fetch(`${base}${p}`, {
      ...init,
      redirect: 'manual',
      headers: {
        ...(init.headers as Record<string, string>),
        cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
      },
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      cookies.set(pair!.slice(0, i), pair!.slice(i + 1));
    }
    return res;
  };
  const login = await (await go('/login')).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(login)![1]!;
  const signedIn = await go('/login/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, csrf }).toString(),
  });
  expect(signedIn.status).toBe(200);
  const bind = /<meta name="gatehouse-bind" content="([^"]+)"/.exec(await signedIn.text())![1]!;
  const res = await go(pagePath, { headers: { 'x-gatehouse-bind': bind } });
  expect(res.status).toBe(200);
  return res.text();
}

/**
 * A statement's reviewed body as each read surface of the stored statements gives it: the gateway's
 * store, the admin API (GET /api/sessions/{id}, as an admin), the real CLI's
 * `gatehouse sessions show --json` (a process of its own, on the gateway's store) and the console's
 * session page.
 */
async function bodyOnEverySurface(
  gateway: Gateway,
  dir: string,
  adminToken: string,
  session: string,
  statement: string,
): Promise<{ store: Body; api: Body; cli: Body; console: Body }> {
  type Shown = { statements: { id: string; body?: Body }[] };
  const pick = (got: Shown | undefined): Body => {
    const st = got?.statements.find((x) => x.id === statement);
    if (!st) throw new Error(`statement ${statement} not read back`);
    return st.body;
  };
  // A read through the gateway's store folds its record journal: the CLI then finds the statement.
  const store = pick(await gateway.store.getSession(session));
  const res = await fetch(
    `http://127.0.0.1:${gateway.http!.port}/api/sessions/${encodeURIComponent(session)}`,
    {
      headers: { authorization: `Bearer ${adminToken}` },
    },
  );
  expect(res.status).toBe(200);
  const api = pick((await res.json()) as Shown);
  const shown = await exec(
    process.execPath,
    [BIN, '--config', path.join(dir, 'gatehouse.yaml'), 'sessions', 'show', session, '--json'],
    { cwd: dir },
  );
  const cli = pick(JSON.parse(shown.stdout) as Shown);
  const html = await consolePage(
    `http://127.0.0.1:${gateway.http!.port}`,
    adminToken,
    `/sessions/${encodeURIComponent(session)}`,
  );
  const m = /body: (\d+) bytes, sha256 <code>([0-9a-f]{64})<\/code>/.exec(html);
  const shownOnPage: Body = m ? { sha256: m[2]!, bytes: Number(m[1]) } : undefined;
  return { store, api, cli, console: shownOnPage };
}

/** Exports a session's record as JSON Lines and verifies its chain (and seals, if it ended). */
async function verifySession(
  gateway: Gateway,
  session: string,
): Promise<{ intact: boolean; events: number }> {
  const key = gateway.recording.key;
  const lines: string[] = [];
  for await (const l of exportRecording(gateway.store, session, {
    publicKey: { spki: key.spki, fingerprint: key.keyId },
  }))
    lines.push(l);
  const report = await verifyRecording(lines);
  return { intact: report.intact, events: report.events };
}

describe('Kubernetes listener: refusals and reviewed bodies in the record', { timeout: 60_000 }, () => {
  let api: FakeKubeApi;
  let gw: KubeTestGateway;
  let ca: string;
  let claude: string;
  let admin: string;

  beforeAll(async () => {
    api = await startFakeKubeApi();
    gw = await startKubeTestGateway({
      api,
      policies: [
        {
          id: 'agents',
          subjects: { agent: true },
          connections: ['prod-k8s'],
          rules: [
            {
              id: 'review-configmaps-in-prod',
              effect: 'review',
              match: { verbs: ['create'], resources: ['configmaps'], namespaces: ['prod'] },
            },
            { id: 'allow-the-rest', effect: 'allow', match: { verbs: ['*'] } },
          ],
        },
      ],
      connectionExtra: {
        clientLimits: { requestsPerPrincipal: PER_PRINCIPAL, bodyTimeout: `${BODY_TIMEOUT_MS}ms` },
      },
      extra: { listeners: { http: { address: '127.0.0.1:0' } } },
    });
    ca = readFileSync(path.join(gw.dir, 'listener-ca.crt'), 'utf8');
    claude = await gw.token({ subject: 'claude', agent: true });
    admin = await gw.token({ subject: 'auditor', groups: ['dba'], agent: false });
  });
  afterAll(async () => {
    await gw?.stop();
    await api?.close();
  });

  interface Answer {
    status: number;
    headers: http.IncomingHttpHeaders;
    body: string;
  }

  /** A request on its own TLS socket (its own session); `started` resolves with the head. */
  function send(
    target: string,
    token: string,
    opts: { method?: string; headers?: Record<string, string>; body?: Buffer } = {},
  ): { req: http.ClientRequest; started: Promise<Answer>; done: Promise<Answer> } {
    const req = https.request(`${gw.server}${target}`, {
      method: opts.method ?? 'GET',
      ca,
      agent: false,
      headers: { authorization: `Bearer ${token}`, ...opts.headers },
    });
    let onStarted: (a: Answer) => void = () => undefined;
    const started = new Promise<Answer>((r) => (onStarted = r));
    const done = new Promise<Answer>((resolve, reject) => {
      req.on('response', (res) => {
        const a: Answer = { status: res.statusCode ?? 0, headers: res.headers, body: '' };
        let body = '';
        res.setEncoding('utf8');
        res.once('data', () => onStarted(a));
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          onStarted(a);
          resolve({ ...a, body });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
    });
    done.catch(() => undefined);
    req.end(opts.body);
    return { req, started, done };
  }

  it('records a request refused with 429 past the principal’s in-flight limit, and the record verifies', async () => {
    const follow = '/api/v1/namespaces/default/pods/web/log?follow=true';
    const streams = Array.from({ length: PER_PRINCIPAL }, () => send(follow, claude));
    for (const s of streams) expect((await s.started).status).toBe(200);
    try {
      const extra = await send(follow, claude).done;
      expect(extra.status).toBe(429);
      expect(extra.headers['retry-after']).toBe('1');

      const [refused] = await refusalsUnder(gw.gateway, 'claude', 'http-request-limit');
      expect(refused, 'the 429 is in the record').toBeDefined();
      expect(refused!.data).toMatchObject({ effect: 'deny', via: 'kubernetes', kind: 'get' });
      expect(String(refused!.data['text'])).toBe(`GET ${follow}`);
      expect(String(refused!.data['message'])).toContain(`claude already has ${PER_PRINCIPAL}`);
      expect(await verifySession(gw.gateway, refused!.session)).toMatchObject({ intact: true });
    } finally {
      // The streams end either way, so a failure here leaves no slot taken for the next test.
      api.finishLogs();
    }
    for (const s of streams) expect((await s.done).status).toBe(200);
  });

  it('records the SHA-256 and size of a reviewed body in the request’s statement event', async () => {
    const body = Buffer.from(
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'feature-flags', namespace: 'prod' },
        data: { nonce: randomBytes(8).toString('hex') },
      }),
    );
    const held = send('/api/v1/namespaces/prod/configmaps', claude, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(body.length) },
      body,
    });
    const review = await gw.approver.next();
    // What the approval is bound to …
    expect((review.ctx.action as { body?: { sha256: string } }).body?.sha256).toBe(sha256(body));
    review.approve();
    const r = await held.done;
    expect(r.status).toBe(201);
    expect(JSON.parse(r.body).data.receivedSha256).toBe(sha256(body));

    // … is what the record names for the request.
    const statements = (await eventsOf(gw.gateway, 'claude')).filter(
      (e) => e.type === 'statement' && e.data['ruleId'] === 'review-configmaps-in-prod',
    );
    expect(statements).toHaveLength(1);
    expect(statements[0]!.data['body']).toEqual({ sha256: sha256(body), bytes: body.length });
    expect(statements[0]!.statement).toBe(review.ctx.statementId);
    expect(await verifySession(gw.gateway, statements[0]!.session)).toMatchObject({ intact: true });
    // `gatehouse sessions replay` shows it under the request.
    const timeline = new Timeline().render(await gw.gateway.store.getEvents(statements[0]!.session));
    expect(timeline).toContain(`body: ${body.length} bytes, sha256 ${sha256(body)}`);
    // The stored statement names it too: the store, the admin API and `sessions show --json`.
    const want = { sha256: sha256(body), bytes: body.length };
    expect(
      await bodyOnEverySurface(gw.gateway, gw.dir, admin, statements[0]!.session, statements[0]!.statement!),
    ).toEqual({ store: want, api: want, cli: want, console: want });
  });

  it('records a reviewed request whose body did not arrive in time (408)', async () => {
    const { port } = new URL(gw.server);
    const text = await new Promise<string>((resolve) => {
      const socket = tls.connect({
        port: Number(port),
        host: '127.0.0.1',
        ca,
        checkServerIdentity: () => undefined,
      });
      let got = '';
      let timer: NodeJS.Timeout | undefined;
      socket.on('secureConnect', () => {
        socket.write(
          `POST /api/v1/namespaces/prod/configmaps HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${claude}\r\n` +
            'content-type: application/json\r\ncontent-length: 5000\r\n\r\n{',
        );
        timer = setInterval(() => socket.writable && socket.write(' '), 50);
      });
      socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearInterval(timer);
        resolve(got);
      });
      setTimeout(() => socket.destroy(), 15_000).unref();
    });
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    const [refused] = await refusalsUnder(gw.gateway, 'claude', 'http-body-timeout');
    expect(refused, 'the 408 is in the record').toBeDefined();
    expect(refused!.data).toMatchObject({
      effect: 'deny',
      text: 'POST /api/v1/namespaces/prod/configmaps',
      kind: 'create configmaps',
    });
    expect(String(refused!.data['message'])).toContain('did not arrive within 1500 ms');
    // Nothing was asked of an approver for it.
    expect(gw.approver.seen.filter((c) => c.action.describe.text.includes('prod/configmaps'))).toHaveLength(
      1,
    );
  });

  it('records requests it will not read or relay: an unreadable target, impersonation, exec without an upgrade', async () => {
    const unreadable = await send('/api/v1/namespaces/default/pods/a%2Fb', claude).done;
    expect(unreadable.status).toBe(400);
    const [u] = await refusalsUnder(gw.gateway, 'claude', 'kubernetes-unclassifiable');
    expect(u!.data).toMatchObject({
      effect: 'deny',
      text: 'GET /api/v1/namespaces/default/pods/a%2Fb',
    });

    const asAdmin = await send('/api/v1/namespaces/default/pods', claude, {
      headers: { 'impersonate-user': 'admin' },
    }).done;
    expect(asAdmin.status).toBe(403);
    const [i] = await refusalsUnder(gw.gateway, 'claude', 'kubernetes-impersonation');
    expect(i!.data).toMatchObject({
      effect: 'deny',
      kind: 'list pods',
      text: 'GET /api/v1/namespaces/default/pods',
    });

    const exec = await send('/api/v1/namespaces/default/pods/web/exec?command=ls&stdout=true', claude, {
      method: 'POST',
    }).done;
    expect(exec.status).toBe(400);
    const [x] = await refusalsUnder(gw.gateway, 'claude', 'kubernetes-stream-refused');
    expect(x!.data).toMatchObject({ effect: 'deny', kind: 'create pods/exec' });
    expect(api.seen.some((r) => r.url.includes('/exec'))).toBe(false);
  });
});

describe('HTTP and AWS listeners: reviewed bodies and late bodies in the record', { timeout: 60_000 }, () => {
  const REAL = {
    accessKeyId: 'AKIAGATEWAYREAL00009',
    secretAccessKey: `Real${randomBytes(15).toString('hex')}`,
  };
  let upstream: http.Server;
  let upstreamUrl: string;
  let s3rver: RunningFake;
  let gw: HttpTestGateway;
  let ann: string;
  let admin: string;
  let agentKey: { accessKeyId: string; secretAccessKey: string };

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ sha256: sha256(Buffer.concat(parts)) }));
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    s3rver = await startS3rver(['data'], [REAL]);
    gw = await startHttpTestGateway({
      env: { ...process.env, GW_REC_SECRET: REAL.secretAccessKey },
      connections: {
        api: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          upstream: upstreamUrl,
          holdTimeout: '20s',
          clientLimits: { bodyTimeout: `${BODY_TIMEOUT_MS}ms` },
        },
        aws: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          holdTimeout: '20s',
          auth: {
            type: 'aws-sigv4',
            region: 'us-east-1',
            credentials: { accessKeyId: REAL.accessKeyId, secretAccessKey: { env: 'GW_REC_SECRET' } },
            endpoints: { s3: s3rver.url },
          },
        },
      },
      policies: [
        {
          id: 'testers',
          subjects: { groups: ['testers'] },
          connections: ['api', 'aws'],
          rules: [
            { id: 'review-posts', effect: 'review', match: { methods: ['POST'] } },
            { id: 'review-puts', effect: 'review', match: { operations: ['s3:PutObject'] } },
            { id: 'allow-rest', effect: 'allow', match: {} },
          ],
        },
      ],
      extra: { listeners: { http: { address: '127.0.0.1:0' } } },
    });
    ann = await gw.token({ subject: 'ann', groups: ['testers'] });
    admin = await gw.token({ subject: 'auditor', groups: ['dba'] });
    agentKey = await gw.awsKey({ subject: 'ann-aws', groups: ['testers'] });
  });
  afterAll(async () => {
    await gw?.stop();
    upstream?.closeAllConnections();
    await new Promise((r) => upstream?.close(r));
    await s3rver?.stop();
  });

  it('generic HTTP: the reviewed body’s digest in the record equals sha256 of the body sent', async () => {
    const body = Buffer.from(JSON.stringify({ name: 'job', n: randomBytes(4).toString('hex') }));
    const sent = fetch(`${gw.endpoint('api')}/v1/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ann}`, 'content-type': 'application/json' },
      body,
    });
    const review = await gw.approver.next();
    review.approve();
    const r = await sent;
    expect(r.status).toBe(200);
    expect(((await r.json()) as { sha256: string }).sha256).toBe(sha256(body));
    const statements = (await eventsOf(gw.gateway, 'ann')).filter(
      (e) => e.type === 'statement' && e.data['ruleId'] === 'review-posts',
    );
    expect(statements).toHaveLength(1);
    expect(statements[0]!.data['body']).toEqual({ sha256: sha256(body), bytes: body.length });
    expect(await verifySession(gw.gateway, statements[0]!.session)).toMatchObject({ intact: true });
    const want = { sha256: sha256(body), bytes: body.length };
    expect(
      await bodyOnEverySurface(gw.gateway, gw.dir, admin, statements[0]!.session, statements[0]!.statement!),
    ).toEqual({ store: want, api: want, cli: want, console: want });
  });

  it('generic HTTP: a reviewed body that does not arrive in time is refused (408) and recorded', async () => {
    const { hostname, port } = new URL(gw.endpoint('api'));
    const text = await new Promise<string>((resolve) => {
      const socket = net.connect(Number(port), hostname);
      let got = '';
      let timer: NodeJS.Timeout | undefined;
      socket.on('connect', () => {
        socket.write(
          `POST /v1/slow HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ann}\r\ncontent-type: text/plain\r\ncontent-length: 1000\r\n\r\n`,
        );
        timer = setInterval(() => socket.writable && socket.write('a'), 50);
      });
      socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearInterval(timer);
        resolve(got);
      });
      setTimeout(() => socket.destroy(), 15_000).unref();
    });
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    const [refused] = await refusalsUnder(gw.gateway, 'ann', 'http-body-timeout');
    expect(refused, 'the 408 is in the record').toBeDefined();
    expect(refused!.data).toMatchObject({ effect: 'deny', text: 'POST /v1/slow' });
    expect(await verifySession(gw.gateway, refused!.session)).toMatchObject({ intact: true });
  });

  it('AWS SDK: an S3 upload held for approval is recorded with the digest of the object sent', async () => {
    const object = Buffer.from(`contents ${randomBytes(8).toString('hex')}`);
    const s3 = new S3Client({
      region: 'us-east-1',
      endpoint: gw.endpoint('aws'),
      forcePathStyle: true,
      credentials: agentKey,
      maxAttempts: 1,
    });
    try {
      const put = s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'reviewed.txt', Body: object }));
      const review = await gw.approver.next();
      review.approve();
      await put;
    } finally {
      s3.destroy();
    }
    const statements = (await eventsOf(gw.gateway, 'ann-aws')).filter(
      (e) => e.type === 'statement' && e.data['ruleId'] === 'review-puts',
    );
    expect(statements).toHaveLength(1);
    expect(statements[0]!.data).toMatchObject({
      kind: 's3:PutObject',
      text: 'PUT /data/reviewed.txt?x-id=PutObject',
    });
    expect(statements[0]!.data['body']).toEqual({ sha256: sha256(object), bytes: object.length });
    expect(await verifySession(gw.gateway, statements[0]!.session)).toMatchObject({ intact: true });
    const want = { sha256: sha256(object), bytes: object.length };
    expect(
      await bodyOnEverySurface(gw.gateway, gw.dir, admin, statements[0]!.session, statements[0]!.statement!),
    ).toEqual({ store: want, api: want, cli: want, console: want });
  });
});
