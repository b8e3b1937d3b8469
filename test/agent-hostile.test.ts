// A hostile review of the agent tunnel (docs/security.md, classes 14-18): the real gateway agents
// listener over TCP/TLS, real agents (AgentRuntime) and real PostgreSQL sessions through them.
// - nobody without a token can hold the listener's handshake slots (a trickling client is cut at one
//   deadline; one source address cannot take every slot and lock the agents out);
// - one agent key cannot open connections without end;
// - an agent given several gateway URLs joins once instead of racing its single-use token;
// - an agent verifying the gateway by --ca checks the certificate against the gateway URL's host,
//   so a certificate of the same CA for another name never receives the join token;
// - a PostgreSQL password is never sent in clear through an agent without verified TLS;
// - an agent behind a proxy reaches the gateway through CONNECT, and sends nothing (its proxy
//   password above all) to a proxy URL of another scheme than http://.

import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { AgentRuntime } from '../src/tunnel/agent/agent-runtime.js';
import { TUNNEL_ALPN } from '../src/tunnel/handshake.js';
import { makeTestCa } from './testkit/kube-api.js';
import { agentsSection, gatewayUrl, joinToken, startAgent, until, type TestAgent } from './testkit/agents.js';
import { memoryLogger, startTestGateway, type TestGateway } from './testkit/gateway.js';

function onLoopback(localAddress: string, port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, localAddress });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

async function query(gw: TestGateway, sql: string): Promise<unknown[]> {
  const c = gw.client(await gw.token());
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

describe('the agents listener before authentication', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway({
      superUrl: inject('pgUrl'),
      connectionExtra: { via: { agent: 'pre' } },
      // A long deadline: what is shown below must not depend on it.
      extra: { agents: agentsSection(0, { handshakeTimeout: '60s' }) },
    });
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('cuts a client that trickles an HTTP upgrade at the handshake deadline, however slowly it sends', async () => {
    const short = await startTestGateway({
      superUrl: inject('pgUrl'),
      connectionExtra: { via: { agent: 'slow' } },
      extra: { agents: agentsSection(0, { handshakeTimeout: '1s' }) },
    });
    const s = await onLoopback('127.0.0.1', short.gateway.agents!.address.port);
    s.on('error', () => undefined);
    // A header line more often than any idle timeout would notice, never finishing the request.
    s.write('GET /agent/v1/tunnel HTTP/1.1\r\nhost: gw\r\n');
    const drip = setInterval(() => s.write('x-slow: 1\r\n'), 100);
    try {
      await new Promise<void>((resolve) => s.once('close', () => resolve()));
      expect(s.destroyed).toBe(true);
    } finally {
      clearInterval(drip);
      s.destroy();
      await short.stop();
    }
  }, 30_000);

  it('one source address cannot take every handshake slot: an agent elsewhere still gets in and carries PostgreSQL', async () => {
    const port = gw.gateway.agents!.address.port;
    // As many silent connections as the listener has handshake slots in all (128), from 127.0.0.2.
    const flood = await Promise.all(Array.from({ length: 128 }, () => onLoopback('127.0.0.2', port)));
    for (const s of flood) s.on('error', () => undefined);
    let agent: TestAgent | undefined;
    try {
      // The agent connects from 127.0.0.1 while those are still open (the deadline is a minute).
      agent = await startAgent(gw.gateway.agents!, { joinToken: await joinToken(gw.gateway.agents!, 'pre') });
      await agent.ready();
      expect(await query(gw, 'SELECT 7 AS n')).toEqual([{ n: 7 }]);
      // The listener kept 8 of them (maxPendingHandshakesPerAddress) and closed the rest at once.
      await until(() => flood.filter((s) => s.destroyed).length === 120, 10_000, 'the surplus to be closed');
    } finally {
      for (const s of flood) s.destroy();
      await agent?.stop();
    }
  }, 60_000);
});

describe('one agent key', () => {
  it('holds at most maxConnectionsPerAgent connections; copies of its state past that are refused and retry', async () => {
    const gw = await startTestGateway({
      superUrl: inject('pgUrl'),
      connectionExtra: { via: { agent: 'cap' } },
      extra: { agents: agentsSection(0, { maxConnectionsPerAgent: 2 }) },
    });
    const dirs: string[] = [];
    const agents: TestAgent[] = [];
    try {
      const first = await startAgent(gw.gateway.agents!, {
        joinToken: await joinToken(gw.gateway.agents!, 'cap'),
      });
      agents.push(first);
      await first.ready();
      const id = first.runtime.agentId!;
      // A compromised agent: its key and id, run as many times as it likes.
      const copy = async () => {
        const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-agent-copy-'));
        dirs.push(dir);
        cpSync(first.stateDir, dir, { recursive: true });
        const a = await startAgent(gw.gateway.agents!, { stateDir: dir });
        agents.push(a);
        return a;
      };
      const second = await copy();
      await second.ready();
      expect(gw.gateway.agents!.hub.linkCount(id)).toBe(2);
      const third = await copy();
      await until(
        () => /already holds 2 connections to this gateway/.test(third.logs.join('')),
        15_000,
        'the third copy to be refused',
      );
      expect(third.runtime.connectedLinks).toBe(0);
      expect(gw.gateway.agents!.hub.linkCount(id)).toBe(2);
      // The refusal is one to retry (not the end of the agent), and sessions still run meanwhile.
      expect(/agent refused by the gateway; stopping/.test(third.logs.join(''))).toBe(false);
      expect(await query(gw, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
      // Once a connection ends, the waiting copy gets its place.
      await first.stop();
      await third.ready();
      expect(gw.gateway.agents!.hub.linkCount(id)).toBe(2);
    } finally {
      for (const a of agents) await a.stop();
      await gw.stop();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('an agent with several gateway URLs', () => {
  it('joins once and then connects on every URL (the single-use token is not raced)', async () => {
    const gw = await startTestGateway({
      superUrl: inject('pgUrl'),
      connectionExtra: { via: { agent: 'multi' } },
      extra: { agents: agentsSection() },
    });
    const agents = gw.gateway.agents!;
    // Two gateway URLs (replicas' names; here both reach the one replica of the test), opened at the
    // same moment: both links are ready to say hello before either has an answer.
    const agent = await startAgent(agents, {
      joinToken: await joinToken(agents, 'multi'),
      gateways: [gatewayUrl(agents, 'tls'), gatewayUrl(agents, 'tls')],
    });
    let done: { code: number } | undefined;
    void agent.runtime.done.then((d) => (done = d));
    try {
      await until(() => agent.runtime.connectedLinks === 2 || done !== undefined, 15_000, 'both links');
      expect(agent.logs.join('')).not.toMatch(/already used/);
      expect(done).toBeUndefined();
      expect(agents.hub.linkCount(agent.runtime.agentId!)).toBe(2);
      expect(await query(gw, 'SELECT 2 AS two')).toEqual([{ two: 2 }]);
    } finally {
      await agent.stop();
      await gw.stop();
    }
  }, 30_000);
});

describe('an agent that verifies the gateway by --ca', () => {
  let ca: Awaited<ReturnType<typeof makeTestCa>>;
  let server: http.Server;
  let port: number;
  /** Plaintext the impostor received inside its TLS sessions. */
  const received: Buffer[] = [];

  beforeAll(async () => {
    ca = await makeTestCa();
    // A certificate the agent's CA really issued, for another name (here "localhost" only).
    const leaf = await generate([{ name: 'commonName', value: 'other.internal' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      ca: { key: ca.private, cert: ca.cert },
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }] }],
    });
    const context = tls.createSecureContext({ cert: leaf.cert, key: leaf.private, minVersion: 'TLSv1.3' });
    // An impostor of the agents listener at 127.0.0.1: WebSocket upgrade, TLS inside, ALPN agreed.
    const wss = new WebSocketServer({ noServer: true });
    server = http.createServer();
    server.on('upgrade', (req, socket, head) =>
      wss.handleUpgrade(req, socket, head, (ws) => {
        const carrier = createWebSocketStream(ws);
        carrier.on('error', () => undefined);
        const t = new tls.TLSSocket(carrier, {
          isServer: true,
          secureContext: context,
          ALPNProtocols: [TUNNEL_ALPN],
        });
        t.on('error', () => undefined);
        t.on('data', (d: Buffer) => received.push(d));
      }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(() => {
    server?.closeAllConnections();
    server?.close();
  });

  it('refuses a certificate of that CA for another name, for a gateway URL that is an IP address, and sends nothing', async () => {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-agent-ca-'));
    const token = `ghj1.${'A'.repeat(16)}.${'S'.repeat(43)}.${'P'.repeat(43)}`;
    const logs: string[] = [];
    const runtime = new AgentRuntime({
      gateways: [new URL(`ws://127.0.0.1:${port}`)],
      stateDir,
      joinToken: token,
      ca: Buffer.from(ca.cert),
      logger: memoryLogger(logs),
      version: 'test',
      backoff: { initialMs: 50, maxMs: 200 },
      connectTimeoutMs: 3000,
    });
    try {
      await runtime.start();
      await until(() => /gateway connection failed/.test(logs.join('')), 10_000, 'the agent to give up');
      // The impostor never saw the join token (nor any byte of a hello).
      expect(Buffer.concat(received).toString('latin1')).not.toContain('S'.repeat(43));
      expect(received).toHaveLength(0);
      expect(logs.join('')).toMatch(/IP: 127\.0\.0\.1 is not in the cert's list/);
    } finally {
      await runtime.stop();
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});

describe('a PostgreSQL upstream through an agent without verified TLS', () => {
  it('is never sent the password in clear: what answers at the far end of the tunnel could read it', async () => {
    // What answers the tunnel at the target's address: a compromised agent would do the same. It asks
    // for the password in clear (AuthenticationCleartextPassword) and keeps whatever comes.
    const heard: Buffer[] = [];
    const impostor = net.createServer((s) => {
      s.on('error', () => undefined);
      s.once('data', () => s.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3])));
      s.on('data', (d: Buffer) => heard.push(d));
    });
    await new Promise<void>((r) => impostor.listen(0, '127.0.0.1', () => r()));
    const gw = await startTestGateway({
      superUrl: inject('pgUrl'),
      connectionExtra: { via: { agent: 'clear' } },
      upstreamAddress: { host: '127.0.0.1', port: (impostor.address() as net.AddressInfo).port },
      extra: { agents: agentsSection() },
    });
    const agent = await startAgent(gw.gateway.agents!, {
      joinToken: await joinToken(gw.gateway.agents!, 'clear'),
    });
    try {
      await agent.ready();
      const c = gw.client(await gw.token());
      c.on('error', () => undefined);
      await expect(c.connect()).rejects.toThrow(/asked for the password in clear through agent "clear"/);
      expect(heard.length).toBeGreaterThan(0);
      expect(Buffer.concat(heard).toString('latin1')).not.toContain(gw.upstreamPassword);
    } finally {
      await agent.stop();
      await gw.stop();
      impostor.close();
    }
  }, 30_000);
});

describe('an agent behind an HTTP proxy', () => {
  let gw: TestGateway;
  let proxy: http.Server;
  const seen: { authority: string; auth: string | undefined }[] = [];

  beforeAll(async () => {
    gw = await startTestGateway({
      superUrl: inject('pgUrl'),
      connectionExtra: { via: { agent: 'proxied' } },
      extra: { agents: agentsSection(0) },
    });
    // A CONNECT proxy (RFC 9110 §9.3.6) that wants Basic ann:s3cret and tunnels bytes as they are.
    proxy = http.createServer((_req, res) => res.writeHead(405).end());
    proxy.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
      seen.push({ authority: req.url ?? '', auth: req.headers['proxy-authorization'] });
      if (req.headers['proxy-authorization'] !== `Basic ${Buffer.from('ann:s3cret').toString('base64')}`) {
        client.end('HTTP/1.1 407 Proxy Authentication Required\r\n\r\n');
        return;
      }
      const [host, port] = (req.url ?? '').split(':');
      const up = net.connect(Number(port), host, () => {
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length > 0) up.write(head);
        up.pipe(client);
        client.pipe(up);
      });
      up.on('error', () => client.destroy());
      client.on('error', () => up.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    proxy?.closeAllConnections();
    await new Promise((r) => proxy?.close(r));
    await gw?.stop();
  });

  it('reaches the gateway through CONNECT with its credentials, and carries PostgreSQL', async () => {
    const port = (proxy.address() as net.AddressInfo).port;
    const agent = await startAgent(gw.gateway.agents!, {
      joinToken: await joinToken(gw.gateway.agents!, 'proxied'),
      proxy: new URL(`http://ann:s3cret@127.0.0.1:${port}`),
    });
    try {
      await agent.ready();
      expect(await query(gw, 'SELECT 9 AS n')).toEqual([{ n: 9 }]);
      expect(seen.length).toBeGreaterThan(0);
      expect(seen[0]!.authority).toBe(`127.0.0.1:${gw.gateway.agents!.address.port}`);
      expect(agent.logs.join('\n')).not.toContain('s3cret');
    } finally {
      await agent.stop();
    }
  }, 30_000);

  it('sends nothing to a proxy named by another scheme: an https:// proxy would get its password in clear', async () => {
    // A TLS port (what an https:// proxy is) that records every byte it is sent.
    const received: Buffer[] = [];
    const tlsPort = net.createServer((s) => s.on('data', (d: Buffer) => received.push(d)));
    await new Promise<void>((r) => tlsPort.listen(0, '127.0.0.1', r));
    const port = (tlsPort.address() as net.AddressInfo).port;
    const agent = await startAgent(gw.gateway.agents!, {
      joinToken: await joinToken(gw.gateway.agents!, 'proxied'),
      proxy: new URL(`https://ann:s3cret@127.0.0.1:${port}`),
    });
    try {
      await until(() => agent.logs.some((l) => l.includes('must be an http:// URL')), 10_000, 'the refusal');
      expect(Buffer.concat(received).length).toBe(0);
      expect(agent.logs.join('\n')).not.toContain('s3cret');
    } finally {
      await agent.stop();
      await new Promise((r) => tlsPort.close(r));
    }
  }, 30_000);
});
