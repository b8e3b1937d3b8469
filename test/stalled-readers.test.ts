// Clients that ask for a large response and then never read it (src/engines/write-stall.ts), on every
// listener: a big SELECT through the PostgreSQL listener, a large GET (streamed, and buffered for
// masking) through an HTTP connection, a Kubernetes logs follow that never stops. What the gateway
// holds for such a client stays bounded (bytes buffered in user space, read from the gateway itself,
// not RSS), and once no byte of the waiting output has been taken for writeStallTimeout the client
// is closed, its upstream query or stream with it, and the record says client_stalled, while other
// clients of the same listener are served throughout. Over SSH, a client that grants its channel a
// window of 4 GB and then reads nothing is held to the same bound. A quiet stream (a follow with nothing to say)
// is never cut: the clock runs only while output is waiting.

import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import pg from 'pg';
import ssh2 from 'ssh2';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { StoredStatement } from '../src/core/records.js';
import type { Gateway } from '../src/main.js';
import { websocketAccept } from '../src/engines/http/websocket-relay.js';
import { bufferedOutput } from '../src/engines/write-stall.js';
import { defaultSshPolicies } from '../src/policy/index.js';
import { encode } from '../src/wire/postgres/index.js';
import { ALLOW_ALL, startTestGateway, type TestGateway } from './testkit/gateway.js';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';
import { startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';
import { startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';

/** Tiny, so the tests are quick; the default is 60 s. */
const STALL = '400ms';
/** What a stalled client may make the gateway hold: socket buffers and a chunk or two in flight. */
const BOUND = 2 * 1024 * 1024;
const MASK_CAP = 32 * 1024 * 1024;

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Polls `done`, sampling `buffered` each time; resolves with the largest sample. */
async function largestWhile(
  done: () => Promise<boolean>,
  buffered: () => number | Promise<number>,
  what: string,
): Promise<number> {
  let largest = 0;
  await until(async () => {
    largest = Math.max(largest, await buffered());
    return done();
  }, what);
  return largest;
}

async function statementsOf(gateway: Gateway, subject: string): Promise<StoredStatement[]> {
  const sessions = await gateway.store.listSessions({ subject, limit: 100 });
  const details = await Promise.all(sessions.map((s) => gateway.store.getSession(s.id)));
  return details.flatMap((d) => d?.statements ?? []);
}

async function stalledStatement(gateway: Gateway, subject: string): Promise<StoredStatement | undefined> {
  return (await statementsOf(gateway, subject)).find((s) => s.result?.error?.code === 'client_stalled');
}

/** A socket that never reads: `write` is sent once connected, and nothing is ever taken from it. */
function neverReading(socket: net.Socket, write: () => void, event = 'connect'): net.Socket {
  socket.on('error', () => undefined);
  socket.pause();
  socket.once(event, write);
  return socket;
}

describe('PostgreSQL listener: a client that stops reading its results', { timeout: 60_000 }, () => {
  let gw: TestGateway;
  let token: string;
  let other: string;

  beforeAll(async () => {
    gw = await startTestGateway({
      superUrl: inject('pgUrl'),
      listener: { writeStallTimeout: STALL },
      policies: ALLOW_ALL,
    });
    token = await gw.token({ subject: 'stalled-pg' });
    other = await gw.token({ subject: 'reader-pg' });
  });
  afterAll(async () => gw?.stop());

  async function stillServes(): Promise<void> {
    const c = gw.client(other);
    await c.connect();
    expect((await c.query('SELECT 42 AS v')).rows[0].v).toBe(42);
    await c.end();
  }

  it('holds a bounded amount, closes it after writeStallTimeout with the backend, records client_stalled', async () => {
    const sql = `SELECT repeat('x', 1000) AS stalled_marker FROM generate_series(1, 200000)`; // ~200 MB
    const s = neverReading(net.connect(gw.port, '127.0.0.1'), () => {
      s.write(encode.startupMessage({ user: 'x', database: 'app' }));
      s.write(encode.passwordMessage(token));
      s.write(encode.query(sql));
    });
    // Another client of the same listener is served while this one stalls.
    await stillServes();
    const ended = async (): Promise<boolean> => {
      const sessions = await gw.gateway.store.listSessions({ subject: 'stalled-pg', limit: 10 });
      return sessions.some((x) => x.endedAt !== undefined && /client_stalled/.test(x.endReason ?? ''));
    };
    const largest = await largestWhile(
      ended,
      async () => Math.max((await gw.gateway.connectionStats()).buffered, bufferedOutput().now),
      'the stalled session to end',
    );
    expect(largest).toBeLessThan(BOUND);
    expect(bufferedOutput().peak).toBeLessThan(BOUND);
    const [session] = await gw.gateway.store.listSessions({ subject: 'stalled-pg', limit: 1 });
    expect(session!.endReason).toContain('writeStallTimeout');
    // The upstream backend running the query is released, not left blocked on a full socket.
    const direct = new pg.Client({ connectionString: gw.directUrl });
    await direct.connect();
    try {
      await until(async () => {
        const r = await direct.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%stalled_marker%' AND pid <> pg_backend_pid()`,
        );
        return r.rows[0].n === 0;
      }, 'the upstream backend to go');
    } finally {
      await direct.end();
    }
    s.destroy();
    await stillServes();
    expect((await gw.gateway.connectionStats()).buffered).toBeLessThan(BOUND);
  });
});

describe(
  'PostgreSQL listener: a client that sends without reading what Gatehouse answers itself',
  { timeout: 60_000 },
  () => {
    let gw: TestGateway;
    let token: string;

    beforeAll(async () => {
      gw = await startTestGateway({
        superUrl: inject('pgUrl'),
        // Long enough for a gateway that went on reading to gather far more than the bound.
        listener: { writeStallTimeout: '2s' },
        policies: ALLOW_ALL,
      });
      token = await gw.token({ subject: 'flooding-pg' });
    });
    afterAll(async () => gw?.stop());

    it('writes its own answers as they gather and stops reading while they cannot be written', async () => {
      // 3,000,000 Close messages for a statement that does not exist, and no Sync: each is answered
      // by Gatehouse alone (CloseComplete), nothing goes upstream to slow the client down.
      const close = encode.close('S', 'nope');
      const flood = Buffer.alloc(close.length * 3_000_000);
      for (let i = 0; i < flood.length; i += close.length) close.copy(flood, i);
      const s = neverReading(net.connect(gw.port, '127.0.0.1'), () => {
        s.write(encode.startupMessage({ user: 'x', database: 'app' }));
        s.write(encode.passwordMessage(token));
        s.write(flood);
      });
      const ended = async (): Promise<boolean> => {
        const sessions = await gw.gateway.store.listSessions({ subject: 'flooding-pg', limit: 10 });
        return sessions.some((x) => x.endedAt !== undefined);
      };
      const largest = await largestWhile(
        ended,
        async () => (await gw.gateway.connectionStats()).buffered,
        'the flooding session to end',
      );
      expect(largest).toBeLessThan(BOUND);
      const [session] = await gw.gateway.store.listSessions({ subject: 'flooding-pg', limit: 1 });
      expect(session!.endReason).toContain('client_stalled');
      s.destroy();
    });
  },
);

interface Upstream {
  url: string;
  server: http.Server;
  /** Bytes /base/v1/big wrote, and its responses that closed before they finished. */
  sent: number;
  cut: number;
}

async function startUpstream(): Promise<Upstream> {
  const up: Upstream = { url: '', server: undefined as unknown as http.Server, sent: 0, cut: 0 };
  const json = JSON.stringify({
    items: Array.from({ length: 200_000 }, (_, i) => ({ id: i, note: 'x'.repeat(80) })),
  });
  up.server = http.createServer((req, res) => {
    res.once('close', () => {
      if (!res.writableFinished) up.cut++;
    });
    if (req.url === '/base/v1/big') {
      // 1 GB of object data, as fast as the gateway takes it.
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(1 << 30) });
      const chunk = Buffer.alloc(64 * 1024, 0x62);
      let left = 1 << 30;
      const pump = (): void => {
        while (left > 0 && !res.destroyed) {
          left -= chunk.length;
          up.sent += chunk.length;
          if (!res.write(chunk)) return;
        }
        if (left <= 0) res.end();
      };
      res.on('drain', pump);
      pump();
      return;
    }
    if (req.url === '/base/v1/big.json') {
      // ~20 MB of JSON (more than the loopback socket buffers hold): buffered under the masking cap
      // and masked before it is sent whole.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(json);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
  // A WebSocket that floods: the 101, then bytes as fast as the gateway takes them.
  up.server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    socket.on('error', () => undefined);
    const accept = websocketAccept(String(req.headers['sec-websocket-key']));
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\n\r\n`,
    );
    const chunk = Buffer.alloc(64 * 1024, 0x77);
    const pump = (): void => {
      while (!socket.destroyed) {
        up.sent += chunk.length;
        if (!socket.write(chunk)) return;
      }
    };
    socket.on('drain', pump);
    socket.once('close', () => up.cut++);
    pump();
  });
  await new Promise<void>((r) => up.server.listen(0, '127.0.0.1', r));
  up.url = `http://127.0.0.1:${(up.server.address() as net.AddressInfo).port}/base`;
  return up;
}

describe('HTTP listener: a client that stops reading a large response', { timeout: 60_000 }, () => {
  let up: Upstream;
  let gw: HttpTestGateway;
  let api: string;

  beforeAll(async () => {
    up = await startUpstream();
    gw = await startHttpTestGateway({
      connections: {
        api: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          upstream: up.url,
          masking: { maxBodyBytes: MASK_CAP },
          clientLimits: { writeStallTimeout: STALL },
        },
        patient: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          upstream: up.url,
          clientLimits: { writeStallTimeout: '1s' },
        },
      },
      policies: [
        {
          id: 'testers',
          subjects: { groups: ['testers'] },
          connections: ['api', 'patient'],
          rules: [{ id: 'allow', effect: 'allow', match: {} }],
        },
      ],
    });
    api = gw.endpoint('api');
  });
  afterAll(async () => {
    await gw?.stop();
    up?.server.closeAllConnections();
    await new Promise((r) => up?.server.close(r));
  });

  async function stillServes(token: string): Promise<void> {
    const r = await request(`${api}/v1/small`, { headers: { authorization: `Bearer ${token}` } });
    expect(r.statusCode).toBe(200);
    expect(await r.body.json()).toEqual({ ok: true });
  }

  it.each([
    ['streamed (1 GB object)', '/v1/big', 'stalled-http'],
    ['buffered for masking (20 MB JSON)', '/v1/big.json', 'stalled-json'],
  ])(
    '%s: bounded, closed after writeStallTimeout, upstream aborted, recorded client_stalled',
    async (_, target, subject) => {
      const token = await gw.token({ subject, groups: ['testers'] });
      const reader = await gw.token({ subject: `${subject}-reader`, groups: ['testers'] });
      const cutBefore = up.cut;
      const { port } = new URL(api);
      const s = neverReading(net.connect(Number(port), '127.0.0.1'), () =>
        s.write(`GET ${target} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\n\r\n`),
      );
      await stillServes(reader);
      const largest = await largestWhile(
        async () => (await stalledStatement(gw.gateway, subject)) !== undefined,
        () => bufferedOutput().now,
        'the stalled request to be recorded',
      );
      // A masked body is sent whole once masked: bounded by the masking cap, not by the client.
      expect(largest).toBeLessThan(target === '/v1/big' ? BOUND : MASK_CAP);
      const st = await stalledStatement(gw.gateway, subject);
      expect(st!.result!.error!.message).toContain('writeStallTimeout');
      if (target === '/v1/big') {
        // The upstream was read only as fast as the client read (nothing), then aborted.
        await until(() => up.cut > cutBefore, 'the upstream response to be aborted');
        expect(up.sent).toBeLessThan(64 * 1024 * 1024);
      }
      s.destroy();
      await stillServes(reader);
    },
  );

  it('a WebSocket whose client stops reading: bounded, closed, the upstream socket too, recorded client_stalled', async () => {
    const subject = 'stalled-ws';
    const token = await gw.token({ subject, groups: ['testers'] });
    const cutBefore = up.cut;
    const { port } = new URL(api);
    const s = neverReading(net.connect(Number(port), '127.0.0.1'), () =>
      s.write(
        `GET /v1/socket HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\nupgrade: websocket\r\n` +
          `connection: Upgrade\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`,
      ),
    );
    const largest = await largestWhile(
      async () => (await stalledStatement(gw.gateway, subject)) !== undefined,
      () => bufferedOutput().now,
      'the stalled WebSocket to be recorded',
    );
    expect(largest).toBeLessThan(BOUND);
    await until(() => up.cut > cutBefore, 'the upstream WebSocket to close');
    s.destroy();
  });

  it('a client that reads slowly but steadily is not cut, however long the response takes', async () => {
    const subject = 'slow-http';
    const token = await gw.token({ subject, groups: ['testers'] });
    const { port } = new URL(gw.endpoint('patient'));
    const s = neverReading(net.connect(Number(port), '127.0.0.1'), () =>
      s.write(`GET /v1/big HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\n\r\n`),
    );
    let closed = false;
    s.once('close', () => (closed = true));
    // 64 KB every 10 ms for a few times the stall timeout (1 s): slow, but never stalled. (The
    // gateway sees progress when the client's TCP stack takes more, which it does in bursts of about
    // half its receive buffer: a few MB on loopback, so every few hundred ms at this rate.)
    let read = 0;
    for (let i = 0; i < 250 && !closed; i++) {
      await new Promise((r) => setTimeout(r, 10));
      for (let chunk = s.read(); chunk !== null && read < (i + 1) * 64 * 1024; chunk = s.read())
        read += (chunk as Buffer).length;
    }
    expect(closed).toBe(false);
    expect(read).toBeGreaterThan(4 * 1024 * 1024);
    expect(await stalledStatement(gw.gateway, subject)).toBeUndefined();
    s.destroy();
  });
});

describe('Kubernetes listener: a client that stops reading a logs follow', { timeout: 60_000 }, () => {
  let api: FakeKubeApi;
  let gw: KubeTestGateway;
  let ca: string;

  beforeAll(async () => {
    api = await startFakeKubeApi();
    gw = await startKubeTestGateway({
      api,
      policies: [
        {
          id: 'masked-agents',
          subjects: { groups: ['masked'] },
          connections: ['prod-k8s'],
          rules: [{ id: 'allow-masked', effect: 'allow', match: { verbs: ['*'] }, mask: true }],
        },
        {
          id: 'agents',
          subjects: { agent: true },
          connections: ['prod-k8s'],
          rules: [{ id: 'allow', effect: 'allow', match: { verbs: ['*'] } }],
        },
      ],
      connectionExtra: { clientLimits: { writeStallTimeout: STALL } },
    });
    ca = readFileSync(path.join(gw.dir, 'listener-ca.crt'), 'utf8');
  });
  afterAll(async () => {
    await gw?.stop();
    await api?.close();
  });

  /** A follow read to its end. */
  function follow(token: string, target: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = https.request(`${gw.server}${target}`, {
        ca,
        agent: false,
        headers: { authorization: `Bearer ${token}` },
      });
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(body));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  }

  it.each([
    ['relayed as it is', 'stalled-k8s', []],
    ['masked a line at a time', 'stalled-k8s-masked', ['masked']],
  ])(
    '%s: bounded, closed after writeStallTimeout, upstream closed; a quiet follow is not cut',
    async (_, subject, groups) => {
      const token = await gw.token({ subject, groups, agent: true });
      const reader = await gw.token({ subject: `${subject}-reader`, agent: true });
      // A quiet follow: nothing waits to be written, so however long it lasts it is not a stall.
      const quiet = follow(reader, '/api/v1/namespaces/default/pods/web/log?follow=true');
      const opened = api.floods().opened;
      const { port } = new URL(gw.server);
      const s = neverReading(
        tls.connect({ port: Number(port), host: '127.0.0.1', ca, checkServerIdentity: () => undefined }),
        () =>
          s.write(
            `GET /api/v1/namespaces/default/pods/web/log?follow=true&container=flood HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\n\r\n`,
          ),
        'secureConnect',
      );
      const largest = await largestWhile(
        async () => (await stalledStatement(gw.gateway, subject)) !== undefined,
        () => bufferedOutput().now,
        'the stalled follow to be recorded',
      );
      expect(largest).toBeLessThan(BOUND);
      expect(api.floods().opened).toBe(opened + 1);
      await until(() => api.floods().closed === api.floods().opened, 'the upstream log stream to close');
      // The API server was read only as fast as the client read (nothing).
      expect(api.floods().bytes).toBeLessThan(64 * 1024 * 1024);
      s.destroy();
      // The quiet follow outlived the stall and still gets its lines.
      api.finishLogs();
      expect(await quiet).toContain('log line 2: done');
    },
  );
});

describe.skipIf(!hasSshd())(
  "SSH listener: a client that stops reading an exec's output",
  { timeout: 60_000 },
  () => {
    let sshd: TestSshd;
    let gw: SshTestGateway;

    beforeAll(async () => {
      sshd = await startSshd();
      gw = await startSshTestGateway({
        sshd,
        policies: defaultSshPolicies(['prod-bastion']),
        listener: { writeStallTimeout: STALL },
      });
    });
    afterAll(async () => {
      await gw?.stop();
      await sshd?.stop();
    });

    /** An ssh2 client on a socket of our own, so that the test can stop reading it. */
    function connect(token: string): Promise<{ client: ssh2.Client; sock: net.Socket }> {
      const sock = net.connect(gw.port, '127.0.0.1');
      sock.on('error', () => undefined);
      const client = new ssh2.Client();
      return new Promise((resolve, reject) => {
        client.on('ready', () => resolve({ client, sock }));
        client.on('error', reject);
        client.on('keyboard-interactive', (_n, _i, _l, _p, finish) => finish([token]));
        client.connect({ sock, username: 'prod-bastion', tryKeyboard: true, hostVerifier: () => true });
      });
    }

    it('a 4 GB window and no reading: bounded, closed after writeStallTimeout, recorded client_stalled', async () => {
      const token = await gw.token({ subject: 'stalled-ssh', groups: ['ssh-admins'], agent: false });
      const { client, sock } = await connect(token);
      client.on('error', () => undefined);
      await new Promise<void>((resolve, reject) =>
        client.exec('head -c 4000000000 /dev/zero', (err, ch) => {
          if (err) return reject(err);
          // Grant the gateway (nearly) all the window SSH allows, then read nothing more at all.
          const internals = client as unknown as {
            _protocol: { channelWindowAdjust(id: number, amount: number): void };
          };
          internals._protocol.channelWindowAdjust(
            (ch as unknown as { outgoing: { id: number } }).outgoing.id,
            0xfffff000 - 2 * 1024 * 1024,
          );
          sock.pause();
          sock.removeAllListeners('data');
          resolve();
        }),
      );
      const ended = async (): Promise<boolean> => {
        const sessions = await gw.gateway.store.listSessions({ subject: 'stalled-ssh', limit: 10 });
        return sessions.some((x) => x.endedAt !== undefined && /client_stalled/.test(x.endReason ?? ''));
      };
      const largest = await largestWhile(ended, () => bufferedOutput().now, 'the stalled ssh session to end');
      expect(largest).toBeLessThan(BOUND);
      sock.destroy();
      // Another client is served.
      const admin = await gw.token({ subject: 'reader-ssh', groups: ['ssh-admins'], agent: false });
      const r = await gw.ssh(admin, ['echo', 'still-served']);
      expect(r.stdout).toBe('still-served\n');
    });
  },
);
