// A slow or greedy client against the HTTP engine (client-limits.ts), through a real gateway to a real
// upstream: a head or a body trickled byte by byte is cut off (408) within the configured limits, yet a
// request held for approval longer than the body limit still goes through once approved; one
// principal's requests in flight are bounded (429 with Retry-After) without touching another's, and
// every way a request ends gives its slot back; sockets nobody has authenticated on are bounded per
// source address.

import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import type { StoredStatement } from '../src/core/records.js';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';

const HEADERS_TIMEOUT_MS = 500;
const BODY_TIMEOUT_MS = 1500;
const PER_PRINCIPAL = 3;
/** Larger than the loopback socket buffers: the body is not all received until the gateway reads it. */
const BIG_BODY = Buffer.alloc(24 * 1024 * 1024, 0x61);

interface Upstream {
  url: string;
  server: http.Server;
  /** Requests to /base/v1/hang waiting for release(). */
  hanging: Set<http.ServerResponse>;
  release(): void;
  /** Resolves when `n` requests hang at once. */
  hangingAtLeast(n: number): Promise<void>;
  /** Resolves when no request hangs (the gateway aborted them). */
  noneHanging(): Promise<void>;
  /** Bodies received by /base/v1/echo, by length. */
  echoed: number[];
  /** Uploads to /base/v1/echo that the gateway aborted. */
  abortedUploads: number;
}

async function until(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function untilAsync(check: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

type Statement = StoredStatement;

/** Every statement recorded for a subject, with its result once settled. */
async function statementsOf(gw: HttpTestGateway, subject: string): Promise<Statement[]> {
  const sessions = await gw.gateway.store.listSessions({ subject, limit: 1000 });
  const details = await Promise.all(sessions.map((s) => gw.gateway.store.getSession(s.id)));
  return details.flatMap((d) => d?.statements ?? []);
}

async function startUpstream(): Promise<Upstream> {
  const hanging = new Set<http.ServerResponse>();
  const echoed: number[] = [];
  const up: Upstream = {
    url: '',
    server: undefined as unknown as http.Server,
    hanging,
    echoed,
    abortedUploads: 0,
    release() {
      for (const res of hanging) res.end('{"released":true}');
      hanging.clear();
    },
    hangingAtLeast: (n) => until(() => hanging.size >= n, `${n} hanging requests`),
    noneHanging: () => until(() => hanging.size === 0, 'no hanging requests'),
  };
  up.server = http.createServer((req, res) => {
    const url = req.url ?? '';
    if (url === '/base/v1/hang') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      hanging.add(res);
      res.once('close', () => hanging.delete(res));
      return;
    }
    if (url === '/base/v1/echo' || url === '/base/v1/upload') {
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      req.on('aborted', () => up.abortedUploads++);
      req.on('end', () => {
        echoed.push(n);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ received: n }));
      });
      return;
    }
    // Answers at once, without reading the body (as an upstream refusing an upload early does).
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  await new Promise<void>((r) => up.server.listen(0, '127.0.0.1', r));
  up.url = `http://127.0.0.1:${(up.server.address() as net.AddressInfo).port}/base`;
  return up;
}

interface RawResult {
  text: string;
  elapsedMs: number;
}

/** A raw socket: writes `head`, then calls `drip` every `everyMs` until the gateway closes it. */
function rawClient(
  endpoint: string,
  head: string,
  drip?: { everyMs: number; write: (i: number) => string },
): Promise<RawResult> {
  const { hostname, port } = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(Number(port), hostname);
    let text = '';
    let timer: NodeJS.Timeout | undefined;
    socket.on('connect', () => {
      socket.write(head);
      if (drip) {
        let i = 0;
        timer = setInterval(() => {
          if (socket.writable) socket.write(drip.write(i++));
        }, drip.everyMs);
      }
    });
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ text, elapsedMs: Date.now() - started });
    });
    setTimeout(() => {
      clearInterval(timer);
      socket.destroy();
      reject(new Error(`the gateway kept the socket open for 15 s; got: ${text.slice(0, 300)}`));
    }, 15_000).unref();
  });
}

/** A request on its own socket (agent: false), aborted by the caller at will. */
function openRequest(
  url: string,
  opts: { method?: string; token: string; headers?: Record<string, string> },
): {
  req: http.ClientRequest;
  response: Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>;
} {
  const req = http.request(url, {
    method: opts.method ?? 'GET',
    agent: false,
    headers: { authorization: `Bearer ${opts.token}`, ...opts.headers },
  });
  const response = new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>(
    (resolve, reject) => {
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('aborted')));
      });
      req.on('error', reject);
    },
  );
  response.catch(() => undefined);
  return { req, response };
}

describe('HTTP engine: time and concurrency one client may hold', () => {
  let up: Upstream;
  let gw: HttpTestGateway;
  let api: string;
  let tight: string;
  let ann: string;
  let bob: string;

  beforeAll(async () => {
    up = await startUpstream();
    gw = await startHttpTestGateway({
      connections: {
        api: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          upstream: up.url,
          holdTimeout: '20s',
          // A reviewed body is read whole before the hold (bound to the approval): room for BIG_BODY.
          maxRequestBodyBytes: 32 * 1024 * 1024,
          clientLimits: {
            requestsPerPrincipal: PER_PRINCIPAL,
            bodyTimeout: `${BODY_TIMEOUT_MS}ms`,
            headersTimeout: `${HEADERS_TIMEOUT_MS}ms`,
            keepAliveTimeout: '300ms',
          },
        },
        tight: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          upstream: up.url,
          clientLimits: { unauthenticatedPerAddress: 2, maxConnections: 3, headersTimeout: '10s' },
        },
      },
      policies: [
        {
          id: 'testers',
          subjects: { groups: ['testers'] },
          connections: ['api', 'tight'],
          rules: [
            { id: 'review-uploads', effect: 'review', match: { methods: ['POST'], paths: ['/v1/upload'] } },
            { id: 'review-deletes', effect: 'review', match: { methods: ['DELETE'] } },
            { id: 'allow-rest', effect: 'allow', match: {} },
          ],
        },
      ],
    });
    api = gw.endpoint('api');
    tight = gw.endpoint('tight');
    ann = await gw.token({ subject: 'ann', groups: ['testers'] });
    bob = await gw.token({ subject: 'bob', groups: ['testers'] });
  });
  afterAll(async () => {
    await gw?.stop();
    up?.server.closeAllConnections();
    await new Promise((r) => up?.server.close(r));
  });

  it('closes a socket whose head trickles in, with a 408, within headersTimeout', async () => {
    const r = await rawClient(api, `GET /v1/users HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ann}\r\n`, {
      everyMs: 50,
      write: (i) => `x-slow-${i}: y\r\n`,
    });
    expect(r.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(r.text).toContain('"status":408');
    expect(r.text).toContain('headersTimeout');
    expect(r.elapsedMs).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 50);
    expect(r.elapsedMs).toBeLessThan(HEADERS_TIMEOUT_MS + 2500);
    // A socket that never sends anything is closed the same way.
    const silent = await rawClient(api, '');
    expect(silent.elapsedMs).toBeLessThan(HEADERS_TIMEOUT_MS + 2500);
  });

  it('answers a body that trickles in with a 408 within bodyTimeout, and records the request so', async () => {
    const r = await rawClient(
      api,
      `POST /v1/echo HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ann}\r\ncontent-type: text/plain\r\ncontent-length: 1000\r\n\r\n`,
      { everyMs: 50, write: () => 'a' },
    );
    expect(r.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(r.text).toMatch(/connection: close/i);
    const body = JSON.parse(r.text.slice(r.text.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
    expect(body).toMatchObject({ type: 'https://gatehouse.dev/problems/timeout', status: 408 });
    expect(String(body['detail'])).toMatch(/did not arrive within 1500 ms/);
    expect(r.elapsedMs).toBeGreaterThanOrEqual(BODY_TIMEOUT_MS - 50);
    expect(r.elapsedMs).toBeLessThan(BODY_TIMEOUT_MS + 2500);

    // The admitted request is recorded with the timeout as its result; the upstream saw it cut off.
    await until(() => up.abortedUploads >= 1, 'the upstream to see the upload cut off');
    let echo: Statement | undefined;
    await untilAsync(async () => {
      echo = (await statementsOf(gw, 'ann')).find((s) => s.text === 'POST /v1/echo' && s.result);
      return echo !== undefined;
    }, 'the timed-out request to be recorded');
    expect(echo?.effect).toBe('allow');
    expect(echo?.result?.error).toMatchObject({ code: 'client_timeout' });
  });

  it('closes the socket of a body still trickling in after its response was sent', async () => {
    const r = await rawClient(
      api,
      // Typed, so that it streams: a POST without a type is read whole first, as a form (class 204).
      `POST /v1/early HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ann}\r\ncontent-type: application/octet-stream\r\ncontent-length: 100000\r\n\r\nab`,
      { everyMs: 50, write: () => 'a' },
    );
    // The upstream answered before the body was in. The socket still goes, within the body limit
    // (or sooner, as an idle keep-alive socket when nothing reads it any more).
    expect(r.text).toMatch(/^HTTP\/1\.1 200 /);
    expect(r.elapsedMs).toBeLessThan(BODY_TIMEOUT_MS + 2500);
  });

  it('closes an idle keep-alive socket after keepAliveTimeout', async () => {
    const r = await rawClient(
      api,
      `GET /v1/users HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ann}\r\n\r\n`,
    );
    expect(r.text).toMatch(/^HTTP\/1\.1 200 /);
    // keepAliveTimeout (300 ms) plus node's own 1 s allowance.
    expect(r.elapsedMs).toBeLessThan(300 + 1000 + 2500);
  });

  it('lets a request held for approval longer than bodyTimeout finish once approved', async () => {
    // A body larger than the socket buffers: the gateway reads it whole before the hold (the
    // approval is bound to it), then the hold outlasts bodyTimeout without counting against it.
    const held = openRequest(`${api}/v1/upload`, {
      method: 'POST',
      token: ann,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(BIG_BODY.length) },
    });
    held.req.end(BIG_BODY);
    const review = await gw.approver.next();
    await new Promise((r) => setTimeout(r, BODY_TIMEOUT_MS * 2));
    review.approve();
    const r = await held.response;
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ received: BIG_BODY.length });

    // The same with Expect: 100-continue: the clock starts only when the client is told to send.
    const asked = openRequest(`${api}/v1/upload`, {
      method: 'POST',
      token: ann,
      headers: { 'content-length': '5', expect: '100-continue' },
    });
    asked.req.on('continue', () => asked.req.end('hello'));
    asked.req.flushHeaders();
    const second = await gw.approver.next();
    await new Promise((r) => setTimeout(r, BODY_TIMEOUT_MS * 2));
    second.approve();
    const r2 = await asked.response;
    expect(r2.status).toBe(200);
    expect(JSON.parse(r2.body)).toEqual({ received: 5 });
  });

  it("refuses a principal's request past its in-flight limit with 429 and Retry-After, and not another's", async () => {
    const mine = [0, 1, 2].map(() => openRequest(`${api}/v1/hang`, { token: ann }));
    for (const m of mine) m.req.end();
    await up.hangingAtLeast(PER_PRINCIPAL);

    const extra = await request(`${api}/v1/hang`, { headers: { authorization: `Bearer ${ann}` } });
    expect(extra.statusCode).toBe(429);
    expect(extra.headers['retry-after']).toBe('1');
    const problem = (await extra.body.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({ status: 429, rule: 'http-request-limit' });
    expect(String(problem['detail'])).toContain('ann already has 3');
    expect(up.hanging.size).toBe(PER_PRINCIPAL);

    // Another principal is not affected.
    const other = await request(`${api}/v1/users`, { headers: { authorization: `Bearer ${bob}` } });
    expect(other.statusCode).toBe(200);
    await other.body.dump();

    up.release();
    for (const m of mine) expect((await m.response).status).toBe(200);
    const again = await request(`${api}/v1/users`, { headers: { authorization: `Bearer ${ann}` } });
    expect(again.statusCode).toBe(200);
    await again.body.dump();

    // The refusal is recorded under its own rule.
    expect((await statementsOf(gw, 'ann')).map((s) => `${s.effect} ${s.text} ${s.ruleId}`)).toContain(
      'deny GET /v1/hang http-request-limit',
    );
  });

  it('bounds requests pipelined on one socket the same way', async () => {
    const head = `GET /v1/hang HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${ann}\r\n\r\n`;
    const socket = net.connect(Number(new URL(api).port), '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise((r) => socket.once('connect', r));
    socket.write(head.repeat(6));
    await up.hangingAtLeast(PER_PRINCIPAL);
    await new Promise((r) => setTimeout(r, 200));
    expect(up.hanging.size).toBe(PER_PRINCIPAL);
    socket.destroy();
    await up.noneHanging();
  });

  it('gives every slot back however its request ended: aborted, held, mid-upload, refused', async () => {
    for (let round = 0; round < 3; round++) {
      // In flight upstream, then the client goes away.
      const hung = [0, 1, 2].map(() => openRequest(`${api}/v1/hang`, { token: ann }));
      for (const h of hung) h.req.end();
      await up.hangingAtLeast(PER_PRINCIPAL);
      // Refused past the limit while those hang.
      const refused = openRequest(`${api}/v1/hang`, { token: ann });
      refused.req.end();
      expect((await refused.response).status).toBe(429);
      for (const h of hung) h.req.destroy();
      await up.noneHanging();

      // Held for approval, then the client goes away.
      const held = openRequest(`${api}/v1/thing`, { method: 'DELETE', token: ann });
      held.req.end();
      const review = await gw.approver.next();
      held.req.destroy();
      await until(() => review.ctx.signal.aborted, 'the hold to be withdrawn');

      // Cut off mid-upload.
      const before = up.abortedUploads;
      const upload = openRequest(`${api}/v1/echo`, {
        method: 'POST',
        token: ann,
        headers: { 'content-type': 'application/octet-stream', 'content-length': '100000' },
      });
      upload.req.write(Buffer.alloc(1000));
      await new Promise((r) => setTimeout(r, 50));
      upload.req.destroy();
      await until(() => up.abortedUploads > before, 'the upload to be cut off upstream');

      // Denied by the approver.
      const denied = openRequest(`${api}/v1/thing`, { method: 'DELETE', token: ann });
      denied.req.end();
      (await gw.approver.next()).deny();
      expect((await denied.response).status).toBe(403);
    }

    // Exactly the limit is free again: three in flight at once, and the fourth refused.
    const fresh = [0, 1, 2].map(() => openRequest(`${api}/v1/hang`, { token: ann }));
    for (const f of fresh) f.req.end();
    await up.hangingAtLeast(PER_PRINCIPAL);
    const fourth = await request(`${api}/v1/users`, { headers: { authorization: `Bearer ${ann}` } });
    expect(fourth.statusCode).toBe(429);
    await fourth.body.dump();
    up.release();
    for (const f of fresh) expect((await f.response).status).toBe(200);
  });

  it('bounds the sockets one address holds before authenticating, and the listener as a whole', async () => {
    const { port } = new URL(tight);
    const open = async (): Promise<net.Socket> => {
      const s = net.connect(Number(port), '127.0.0.1');
      s.on('error', () => undefined);
      await new Promise((r) => s.once('connect', r));
      return s;
    };
    const closedSoon = (s: net.Socket) =>
      new Promise<boolean>((resolve) => {
        if (s.destroyed) return resolve(true);
        const t = setTimeout(() => resolve(false), 500);
        s.once('close', () => {
          clearTimeout(t);
          resolve(true);
        });
      });
    const get = (s: net.Socket, token: string) =>
      new Promise<string>((resolve) => {
        let text = '';
        const onData = (d: Buffer) => {
          text += d.toString('latin1');
          if (/\r\n\r\n[\s\S]*\}/.test(text)) {
            s.off('data', onData);
            resolve(text);
          }
        };
        s.on('data', onData);
        s.write(`GET /v1/users HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\n\r\n`);
      });

    const a = await open();
    const b = await open();
    // Two sockets nobody has authenticated on: a third from the same address is dropped.
    const c = await open();
    expect(await closedSoon(c)).toBe(true);
    expect(await closedSoon(a)).toBe(false);
    // Once a request on one of them authenticates, it no longer counts against the address.
    expect(await get(a, ann)).toMatch(/^HTTP\/1\.1 200 /);
    const d = await open();
    expect(await closedSoon(d)).toBe(false);
    expect(await get(d, bob)).toMatch(/^HTTP\/1\.1 200 /);
    // One socket unauthenticated, but three held (maxConnections 3): a fourth is dropped all the same.
    const e = await open();
    expect(await closedSoon(e)).toBe(true);
    for (const s of [a, b, d]) s.destroy();
  });
});

describe('AWS engine: a body it must read before authenticating', () => {
  let up: Upstream;
  let gw: HttpTestGateway;

  beforeAll(async () => {
    up = await startUpstream();
    gw = await startHttpTestGateway({
      env: { ...process.env, GW_AWS_SECRET: 'not-used-secret' },
      connections: {
        aws: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          auth: {
            type: 'aws-sigv4',
            region: 'us-east-1',
            credentials: { accessKeyId: 'AKIAGATEWAYLIMITS001', secretAccessKey: { env: 'GW_AWS_SECRET' } },
            endpoints: { dynamodb: up.url },
          },
          clientLimits: { bodyTimeout: `${BODY_TIMEOUT_MS}ms` },
        },
      },
      policies: [],
    });
  });
  afterAll(async () => {
    await gw?.stop();
    up?.server.closeAllConnections();
    await new Promise((r) => up?.server.close(r));
  });

  it('answers a trickled JSON-protocol body with a 408 in AWS terms', async () => {
    const key = await gw.awsKey({ subject: 'ann' });
    const authorization =
      `AWS4-HMAC-SHA256 Credential=${key.accessKeyId}/20260101/us-east-1/dynamodb/aws4_request, ` +
      `SignedHeaders=host;x-amz-date;x-amz-target, Signature=${'0'.repeat(64)}`;
    const r = await rawClient(
      gw.endpoint('aws'),
      `POST / HTTP/1.1\r\nhost: x\r\nx-amz-date: 20260101T000000Z\r\nx-amz-target: DynamoDB_20120810.ListTables\r\n` +
        `content-type: application/x-amz-json-1.0\r\nauthorization: ${authorization}\r\ncontent-length: 500\r\n\r\n`,
      { everyMs: 50, write: () => ' ' },
    );
    expect(r.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(r.text).toMatch(/x-amzn-errortype: RequestTimeoutException/i);
    expect(r.text).toContain('"__type":"RequestTimeoutException"');
    expect(r.elapsedMs).toBeLessThan(BODY_TIMEOUT_MS + 2500);
  });
});
