// A slow or greedy client against the Kubernetes engine (src/engines/http/client-limits.ts), through a
// real gateway to the fake API server over TLS: a trickled head or body is cut off with a 408 Status,
// a request held for approval longer than the body limit still goes through once approved, and one
// principal's requests in flight (log streams here) are bounded with a 429 Status and Retry-After,
// without touching another principal's, and given back when the client goes away. A 15 MB list is
// masked in slices, another principal answered meanwhile.

import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';
import { cpuTimed, watchLoopHold } from './testkit/loop-hold.js';

const HEADERS_TIMEOUT_MS = 500;
const BODY_TIMEOUT_MS = 1500;
const PER_PRINCIPAL = 3;
/**
 * 4 MiB of a JSON ConfigMap (padded with whitespace): a reviewed body must be JSON to be shown, and it
 * is read whole before the hold, so it must arrive within BODY_TIMEOUT_MS (on a loaded 2-core machine
 * 16 MiB through TLS, both ends in this process, did not always: the request was answered 408, never held).
 */
const BIG_BODY = Buffer.alloc(4 * 1024 * 1024, 0x20);
Buffer.from('{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"}}').copy(BIG_BODY);

interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const POLICIES: PolicyConfig[] = [
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
  {
    id: 'masked',
    subjects: { subjects: ['masked'] },
    connections: ['prod-k8s'],
    rules: [{ id: 'masked-reads', effect: 'allow', match: { verbs: ['get', 'list'] }, mask: true }],
  },
];

/** Requests to a gateway, each on its own TLS socket; `started` resolves with the head, `done` with all. */
function opener(to: () => { server: string; ca: string }) {
  return function open(
    target: string,
    token: string,
    opts: { method?: string; headers?: Record<string, string>; body?: Buffer } = {},
  ): { req: ReturnType<typeof https.request>; started: Promise<Response>; done: Promise<Response> } {
    const { server, ca } = to();
    const req = https.request(`${server}${target}`, {
      method: opts.method ?? 'GET',
      ca,
      agent: false,
      headers: { authorization: `Bearer ${token}`, ...opts.headers },
    });
    let onStarted: (r: Response) => void = () => undefined;
    const started = new Promise<Response>((r) => (onStarted = r));
    const done = new Promise<Response>((resolve, reject) => {
      req.on('response', (res) => {
        let body = '';
        const r: Response = { status: res.statusCode ?? 0, headers: res.headers, body: '' };
        res.setEncoding('utf8');
        res.once('data', () => onStarted(r));
        res.on('data', (c: string) => (body += c));
        res.on('end', () => {
          onStarted(r);
          resolve({ ...r, body });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
    });
    done.catch(() => undefined);
    req.end(opts.body);
    return { req, started, done };
  };
}

describe('Kubernetes engine: time and concurrency one client may hold', { timeout: 60_000 }, () => {
  let api: FakeKubeApi;
  let gw: KubeTestGateway;
  let ca: string;
  let claude: string;
  let other: string;

  beforeAll(async () => {
    api = await startFakeKubeApi();
    gw = await startKubeTestGateway({
      api,
      policies: POLICIES,
      connectionExtra: {
        // The reviewed body below is read whole before the hold (past 3 MiB, the default, it is refused).
        maxRequestBodyBytes: 32 * 1024 * 1024,
        clientLimits: {
          requestsPerPrincipal: PER_PRINCIPAL,
          bodyTimeout: `${BODY_TIMEOUT_MS}ms`,
          headersTimeout: `${HEADERS_TIMEOUT_MS}ms`,
        },
      },
    });
    ca = readFileSync(path.join(gw.dir, 'listener-ca.crt'), 'utf8');
    claude = await gw.token({ subject: 'claude', agent: true });
    other = await gw.token({ subject: 'other-agent', agent: true });
  });
  afterAll(async () => {
    await gw?.stop();
    await api?.close();
  });

  const open = opener(() => ({ server: gw.server, ca }));

  /** Raw TLS: writes `head`, then `drip` every 50 ms until the gateway closes the socket. */
  function trickle(head: string, drip: (i: number) => string): Promise<{ text: string; elapsedMs: number }> {
    const { port } = new URL(gw.server);
    return new Promise((resolve) => {
      const started = Date.now();
      const socket = tls.connect({
        port: Number(port),
        host: '127.0.0.1',
        ca,
        checkServerIdentity: () => undefined,
      });
      let text = '';
      let timer: NodeJS.Timeout | undefined;
      socket.on('secureConnect', () => {
        socket.write(head);
        let i = 0;
        timer = setInterval(() => socket.writable && socket.write(drip(i++)), 50);
      });
      socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearInterval(timer);
        resolve({ text, elapsedMs: Date.now() - started });
      });
      setTimeout(() => socket.destroy(), 15_000).unref();
    });
  }

  it('closes a TLS socket whose head trickles in, with a 408 Status', async () => {
    const r = await trickle(
      `GET /api/v1/namespaces/default/pods HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${claude}\r\n`,
      (i) => `x-slow-${i}: y\r\n`,
    );
    expect(r.text).toMatch(/^HTTP\/1\.1 408 /);
    expect(r.text).toContain('"reason":"RequestTimeout"');
    expect(r.elapsedMs).toBeLessThan(HEADERS_TIMEOUT_MS + 2500);
  });

  it('answers a body that trickles in with a 408 Status within bodyTimeout', async () => {
    const r = await trickle(
      `POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${claude}\r\n` +
        'content-type: application/json\r\ncontent-length: 5000\r\n\r\n{',
      () => ' ',
    );
    expect(r.text).toMatch(/^HTTP\/1\.1 408 /);
    const status = JSON.parse(r.text.slice(r.text.indexOf('\r\n\r\n') + 4)) as Record<string, unknown>;
    expect(status).toMatchObject({ kind: 'Status', reason: 'RequestTimeout', code: 408 });
    expect(String(status['message'])).toContain('did not arrive within 1500 ms');
    expect(r.elapsedMs).toBeGreaterThanOrEqual(BODY_TIMEOUT_MS - 50);
    expect(r.elapsedMs).toBeLessThan(BODY_TIMEOUT_MS + 2500);
  });

  it('lets a request held for approval longer than bodyTimeout finish once approved', async () => {
    const held = open('/api/v1/namespaces/prod/configmaps', claude, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(BIG_BODY.length) },
      body: BIG_BODY,
    });
    // Answered before it was held (a 408 when the body took longer than BODY_TIMEOUT_MS): say so.
    const review = await Promise.race([
      gw.approver.next(),
      held.done.then((r) => {
        throw new Error(`answered ${r.status} before it was held: ${r.body.slice(0, 300)}`);
      }),
    ]);
    await new Promise((r) => setTimeout(r, BODY_TIMEOUT_MS * 2));
    review.approve();
    const r = await held.done;
    expect(r.status).toBe(201);
    expect(JSON.parse(r.body)).toMatchObject({ data: { receivedBytes: String(BIG_BODY.length) } });
  });

  it("refuses a principal's request past its in-flight limit with 429, not another's, and frees slots on abort", async () => {
    const follow = '/api/v1/namespaces/default/pods/web/log?follow=true';
    const streams = [0, 1, 2].map(() => open(follow, claude));
    for (const s of streams) expect((await s.started).status).toBe(200);

    const extra = await open(follow, claude).done;
    expect(extra.status).toBe(429);
    expect(extra.headers['retry-after']).toBe('1');
    expect(JSON.parse(extra.body)).toMatchObject({ kind: 'Status', reason: 'TooManyRequests', code: 429 });
    expect(extra.body).toContain('claude already has 3');

    // Another principal is not affected.
    expect((await open('/api/v1/namespaces/default/pods', other).done).status).toBe(200);

    // The client goes away: its slots come back, exactly as many as it had.
    for (const s of streams) s.req.destroy();
    let again: ReturnType<typeof open>[] = [];
    await until(async () => {
      again = [0, 1, 2].map(() => open(follow, claude));
      const heads = await Promise.all(again.map((s) => s.started));
      if (heads.every((h) => h.status === 200)) return true;
      for (const s of again) s.req.destroy();
      return false;
    }, 'three slots back');
    expect((await open(follow, claude).done).status).toBe(429);
    api.finishLogs();
    for (const s of again) expect((await s.done).status).toBe(200);
  });
});

// On a gateway of its own, with the default client limits: the 500 ms head and handshake times above
// are shorter than a starved machine can keep while 15 MB lists are parsed, and a probe cut off by a
// late TLS handshake timer would say nothing about the masking measured here.
describe('Kubernetes engine: a large masked list', { timeout: 60_000 }, () => {
  let api: FakeKubeApi;
  let gw: KubeTestGateway;
  let ca: string;
  let other: string;
  let masked: string;
  const open = opener(() => ({ server: gw.server, ca }));

  beforeAll(async () => {
    api = await startFakeKubeApi();
    gw = await startKubeTestGateway({ api, policies: POLICIES });
    ca = readFileSync(path.join(gw.dir, 'listener-ca.crt'), 'utf8');
    other = await gw.token({ subject: 'other-agent', agent: true });
    masked = await gw.token({ subject: 'masked', agent: false });
  });
  afterAll(async () => {
    await gw?.stop();
    await api?.close();
  });

  it('masks a 15 MB list in slices: the event loop is never held long while three are masked', async () => {
    const big = '/api/v1/namespaces/big/pods';
    // The fake API server makes its list once (in this process): not while we measure.
    expect((await open(big, other).done).status).toBe(200);
    // The longest the event loop (the gateway's, in this process) was held while the lists are masked,
    // in its own CPU time (testkit/loop-hold.ts): on a loaded machine the process can be off the CPU
    // for hundreds of milliseconds, which twice failed a bound on the wall-clock gap alone.
    const hold = watchLoopHold();
    let settled = false;
    const lists = Promise.all([0, 1, 2].map(() => open(big, masked).done)).finally(() => (settled = true));
    // Another principal is answered meanwhile.
    let probes = 0;
    while (!settled) {
      const probe = await open('/api/v1/namespaces/default/pods/web', other).done;
      // The body says why, should it ever not be 200 (seen twice as a 400 under heavy machine load).
      expect(probe.status, probe.body.slice(0, 500)).toBe(200);
      probes++;
    }
    const held = hold.stop();
    // How fast this machine is: the longest one synchronous JSON.parse of a whole list takes here.
    // Masked whole (not in slices), the loop was held for several such parses (over a second on the
    // machine the bound was set on, where a parse took a fraction of that).
    // Measured the same way.
    let parseMs = 0;
    for (const r of await lists) {
      expect(r.status).toBe(200);
      const { value: list, ms } = cpuTimed(
        () =>
          JSON.parse(r.body) as {
            items: { spec: { containers: { env: { value: string }[] }[] } }[];
          },
      );
      parseMs = Math.max(parseMs, ms);
      expect(list.items).toHaveLength(30_000);
      expect(list.items[29_999]!.spec.containers[0]!.env[0]!.value).toBe('[REDACTED:env]');
    }
    expect(probes).toBeGreaterThan(1);
    expect(
      held,
      `the longest the event loop was held (ms of CPU; one parse of a list took ${parseMs})`,
    ).toBeLessThan(Math.max(400, 2 * parseMs));
  });
});
