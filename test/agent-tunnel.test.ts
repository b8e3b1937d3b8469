// The network-resident agent on loopback (docs/agent.md): the tunnel carries real PostgreSQL
// sessions (pg, psql, pgbench) and HTTP requests; join tokens are single-use, forged and replayed
// credentials are refused, a target off the signed list is refused by the agent itself, revocation
// ends live sessions, a killed agent ends its sessions with a FATAL and closed records, the agent
// comes back after a gateway restart, and several agents under one name share the load.

import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../src/config/load-config.js';
import { startGateway } from '../src/main.js';
import type { AgentLink } from '../src/tunnel/gateway/agent-link.js';
import { DialError } from '../src/tunnel/gateway/agent-link.js';
import { openGatewayConnection } from '../src/tunnel/agent/gateway-connection.js';
import {
  TUNNEL_PROTOCOL_VERSION,
  authMessage,
  encodeFrame,
  gatewayWelcomeSchema,
  readFrame,
} from '../src/tunnel/handshake.js';
import { hasCommand, run } from './testkit/commands.js';
import { freePort } from './testkit/free-port.js';
import {
  agentsSection,
  gatewayUrl,
  joinToken,
  spawnAgentProcess,
  startAgent,
  until,
  type TestAgent,
} from './testkit/agents.js';
import { memoryLogger, startTestGateway, type TestGateway } from './testkit/gateway.js';

const pgbench = hasCommand('pgbench');
const psql = hasCommand('psql');

function linksOf(gw: TestGateway): AgentLink[] {
  const hub = gw.gateway.agents!.hub as unknown as { links: Map<string, Set<AgentLink>> };
  return [...hub.links.values()].flatMap((s) => [...s]);
}

async function pgTarget(gw: TestGateway): Promise<{ host: string; port: number }> {
  const u = new URL(gw.directUrl);
  return { host: u.hostname, port: Number(u.port) };
}

describe('through one agent', () => {
  let gw: TestGateway;
  let agent: TestAgent;
  let token: string;
  let bulk: net.Server;
  let bulkPort: number;

  beforeAll(async () => {
    // An upstream that pours 64 MiB into any connection: the slow reader of the flow-control test.
    bulk = net.createServer((s) => {
      s.on('error', () => undefined);
      s.once('data', () => s.end(Buffer.alloc(64 * 1024 * 1024, 7)));
    });
    await new Promise<void>((r) => bulk.listen(0, '127.0.0.1', () => r()));
    bulkPort = (bulk.address() as net.AddressInfo).port;
    gw = await startTestGateway({
      superUrl: inject('pgUrl'),
      connectionExtra: { via: { agent: 'vpc' } },
      extra: { agents: agentsSection() },
      setupSql: `CREATE TABLE notes (id int PRIMARY KEY, body text); INSERT INTO notes VALUES (1, 'one');`,
    });
    // A second connection through the same agent, to the bulk upstream (never spoken to as PostgreSQL).
    const cfg = (await loadConfig(gw.configFile)).config;
    const app = cfg.connections.app!;
    expect(app.protocol === 'postgres' && app.via).toEqual({ agent: 'vpc' });
    gw.gateway.agents!.setTargets(
      new Map([['vpc', [await pgTarget(gw), { host: '127.0.0.1', port: bulkPort }]]]),
    );
    agent = await startAgent(gw.gateway.agents!, { joinToken: await joinToken(gw.gateway.agents!, 'vpc') });
    await agent.ready();
    await until(() => linksOf(gw).some((l) => l.accepted.size === 2), 10_000, 'the second target list');
    token = await gw.token();
  });
  afterAll(async () => {
    await agent?.stop();
    await gw?.stop();
    bulk?.close();
  });

  it('carries a PostgreSQL session: gateway → agent → upstream, recorded as usual', async () => {
    const c = gw.client(token);
    await c.connect();
    expect((await c.query('SELECT body FROM notes ORDER BY id LIMIT 1')).rows).toEqual([{ body: 'one' }]);
    const links = gw.gateway.agents!.hub.list();
    expect(links).toHaveLength(1);
    // The session's stream, and Gatehouse's catalog connection to the same target (the overloaded
    // names of class 125, the views' definitions of class 130): a second stream through the agent.
    expect(links[0]!.activeStreams).toBeGreaterThanOrEqual(1);
    expect(links[0]!.activeStreams).toBeLessThanOrEqual(2);
    expect(links[0]!.name).toBe('vpc');
    const open = links[0]!.activeStreams;
    await c.end();
    // The session's stream closes; the catalog connection, if one was opened, is kept for later reads.
    await until(
      () => gw.gateway.agents!.hub.list()[0]!.activeStreams === open - 1,
      5000,
      'the stream to close',
    );
  });

  it.skipIf(!psql)('psql works through the agent', async () => {
    const r = await run('psql', ['-X', '-At', '-c', 'SELECT count(*) FROM notes'], {
      env: {
        PGPASSWORD: token,
        PGHOST: '127.0.0.1',
        PGPORT: String(gw.port),
        PGUSER: 'tester',
        PGDATABASE: 'app',
        PGSSLMODE: 'disable',
      },
    });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('1');
  });

  it('a large transfer on one stream stalls neither the others nor memory', async () => {
    const stream = await gw.gateway.agents!.hub.dial({ host: '127.0.0.1', port: bulkPort }, 'vpc');
    stream.write('go');
    stream.pause();
    // 40 round trips on another stream while 64 MiB wait behind a reader that does not read.
    const c = gw.client(token);
    await c.connect();
    for (let i = 0; i < 40; i++) expect((await c.query('SELECT $1::int AS n', [i])).rows[0].n).toBe(i);
    await c.end();
    // Bounded by the HTTP/2 stream window (256 KiB) and the stream's own buffer, not by 64 MiB.
    expect(stream.readableLength).toBeLessThan(1024 * 1024);
    let got = 0;
    stream.on('data', (d: Buffer) => (got += d.length));
    stream.resume();
    await new Promise((r) => stream.once('end', r));
    expect(got).toBe(64 * 1024 * 1024);
  }, 60_000);

  it('refuses a target that no connection names, at the gateway', async () => {
    await expect(gw.gateway.agents!.hub.dial({ host: '127.0.0.1', port: 1 }, 'vpc')).rejects.toThrow(
      /127\.0\.0\.1:1 is not a target of agent "vpc"/,
    );
  });

  it('the agent itself refuses a target that is not on the list the gateway signed', async () => {
    // As a compromised gateway session would: straight onto the link, past the hub's own check.
    const link = linksOf(gw)[0]!;
    const err = await link
      .dial({ host: '127.0.0.1', port: 22 }, '127.0.0.1:22', { timeoutMs: 3000 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DialError);
    expect((err as DialError).failure.kind).toBe('refused');
    expect((err as DialError).message).toMatch(/not in the target list the gateway signed/);
    expect(agent.logs.join('')).toMatch(/dial refused/);
  });

  it("the agent's own --allow list holds even for a target the gateway signed", async () => {
    const narrow = await startAgent(gw.gateway.agents!, {
      joinToken: await joinToken(gw.gateway.agents!, 'vpc'),
      allow: ['db.internal:5432', '10.0.0.0/8:*'],
    });
    try {
      await narrow.ready();
      const link = linksOf(gw).find((l) => l.agent.id === narrow.runtime.agentId)!;
      const t = await pgTarget(gw);
      const err = await link.dial(t, `${t.host}:${t.port}`, { timeoutMs: 3000 }).catch((e: unknown) => e);
      expect((err as DialError).failure.kind).toBe('refused');
      expect((err as DialError).message).toMatch(/not allowed by this agent's --allow list/);
    } finally {
      await narrow.stop();
    }
  });

  it('refuses a join token that was already used', async () => {
    const tokenText = await joinToken(gw.gateway.agents!, 'vpc');
    const first = await startAgent(gw.gateway.agents!, { joinToken: tokenText });
    await first.ready();
    const second = await startAgent(gw.gateway.agents!, { joinToken: tokenText });
    const done = await second.runtime.done;
    expect(done.code).toBe(3);
    expect(done.reason).toMatch(/already used/);
    await first.stop();
    await second.stop();
  });

  it('refuses an expired join token and a made-up one', async () => {
    const expired = await startAgent(gw.gateway.agents!, {
      joinToken: await joinToken(gw.gateway.agents!, 'vpc', -1),
    });
    expect((await expired.runtime.done).reason).toMatch(/expired/);
    await expired.stop();
    const real = await joinToken(gw.gateway.agents!, 'vpc');
    const parts = real.split('.');
    parts[2] = createHash('sha256').update('guess').digest('base64url');
    const forged = await startAgent(gw.gateway.agents!, { joinToken: parts.join('.') });
    expect((await forged.runtime.done).reason).toMatch(/not valid/);
    await forged.stop();
    // Refusals before authentication (docs/operations.md): logged under listener agents with a closed
    // reason, rate-limited; never the token presented.
    const refused = gw.logs
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { msg?: string; listener?: string; reason?: string })
      .filter((l) => l.msg === 'refused before authentication' && l.listener === 'agents');
    expect(refused.some((l) => l.reason === 'credentials_expired')).toBe(true);
    expect(
      refused.some((l) => l.reason === 'credentials_malformed' || l.reason === 'credentials_unknown'),
    ).toBe(true);
    expect(gw.logs.join('')).not.toContain(parts[2]);
  });

  it('refuses a forged credential: the right agent id with another key', async () => {
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-forged-'));
    cpSync(agent.stateDir, stateDir, { recursive: true });
    const { privateKey } = generateKeyPairSync('ed25519');
    writeFileSync(path.join(stateDir, 'agent-key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const forged = await startAgent(gw.gateway.agents!, { stateDir });
    const done = await forged.runtime.done;
    expect(done.code).toBe(3);
    expect(done.reason).toMatch(/signature does not verify/);
    await forged.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('refuses a replayed signature: it is bound to the TLS session it was made on', async () => {
    const { readFileSync } = await import('node:fs');
    const { createPrivateKey } = await import('node:crypto');
    const state = JSON.parse(readFileSync(path.join(agent.stateDir, 'agent.json'), 'utf8'));
    const key = createPrivateKey(readFileSync(path.join(agent.stateDir, 'agent-key.pem'), 'utf8'));
    // The real key, signing keying material that is not this session's (as a captured hello would).
    const stolen = sign(null, authMessage('connect', state.agentId, Buffer.alloc(32, 9)), key).toString(
      'base64url',
    );
    const s = await openGatewayConnection(gatewayUrl(gw.gateway.agents!), {
      pin: state.pin,
      timeoutMs: 3000,
    });
    s.write(
      encodeFrame({
        v: TUNNEL_PROTOCOL_VERSION,
        type: 'connect',
        agentId: state.agentId,
        signature: stolen,
        version: 'x',
        hostname: 'x',
      }),
    );
    const answer = gatewayWelcomeSchema.parse(await readFrame(s, 3000));
    expect(answer).toMatchObject({ ok: false, code: 'bad-signature' });
    s.destroy();
  });

  it('refuses an agent id that was never registered', async () => {
    const s = await openGatewayConnection(gatewayUrl(gw.gateway.agents!), {
      pin: gw.gateway.agents!.pin,
      timeoutMs: 3000,
    });
    s.write(
      encodeFrame({
        v: TUNNEL_PROTOCOL_VERSION,
        type: 'connect',
        agentId: 'agt_nobody',
        signature: 'AAAA',
        version: 'x',
        hostname: 'x',
      }),
    );
    expect(gatewayWelcomeSchema.parse(await readFrame(s, 3000))).toMatchObject({
      ok: false,
      code: 'unknown-agent',
    });
    s.destroy();
  });

  it('an agent will not talk to a gateway whose certificate does not match the pin', async () => {
    await expect(
      openGatewayConnection(gatewayUrl(gw.gateway.agents!), { pin: 'A'.repeat(43), timeoutMs: 3000 }),
    ).rejects.toThrow(/does not match the pin/);
  });

  it('works through a WebSocket too (TLS inside it, end to end)', async () => {
    const wsAgent = await startAgent(gw.gateway.agents!, {
      joinToken: await joinToken(gw.gateway.agents!, 'vpc'),
      scheme: 'ws',
    });
    try {
      await wsAgent.ready();
      const link = linksOf(gw).find((l) => l.agent.id === wsAgent.runtime.agentId)!;
      const t = await pgTarget(gw);
      const sock = await link.dial(t, `${t.host}:${t.port}`, { timeoutMs: 3000 });
      // An SSLRequest: PostgreSQL answers one byte ('N' or 'S') through the WebSocket tunnel.
      sock.write(Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]));
      const answer = await new Promise<Buffer>((r) => sock.once('data', r));
      expect(['N', 'S']).toContain(answer.toString('latin1'));
      sock.destroy();
    } finally {
      await wsAgent.stop();
    }
  });
});

describe('faults', () => {
  it('revoking the agent ends its sessions with a FATAL and refuses it from then on', async () => {
    const gw = await startTestGateway({
      superUrl: inject('pgUrl'),
      connectionExtra: { via: { agent: 'rv' } },
      extra: { agents: agentsSection() },
    });
    const agent = await startAgent(gw.gateway.agents!, {
      joinToken: await joinToken(gw.gateway.agents!, 'rv'),
    });
    try {
      await agent.ready();
      const c = gw.client(await gw.token());
      const errors: Error[] = [];
      c.on('error', (e) => errors.push(e));
      await c.connect();
      await c.query('SELECT 1');
      // What `gatehouse agent revoke rv` does: the store, then the gateway notices within a poll.
      expect(await gw.gateway.agents!.registry.revoke('rv')).toEqual({ agents: 1, tokens: 0 });
      await until(() => errors.length > 0, 5000, 'the client to be told');
      expect(errors[0]!.message).toMatch(/lost the upstream connection: the agent "rv" was revoked/);
      const done = await agent.runtime.done;
      expect(done.code).toBe(3);
      expect(done.reason).toMatch(/revoked/);
      // A new session cannot go anywhere: no agent.
      const c2 = gw.client(await gw.token());
      await expect(c2.connect()).rejects.toThrow(/agent "rv" is not connected/);
    } finally {
      await agent.stop();
      await gw.stop();
    }
  });

  it.skipIf(!pgbench)(
    'killing the agent mid-pgbench ends every session with a FATAL and closes the records',
    async () => {
      const gw = await startTestGateway({
        superUrl: inject('pgUrl'),
        connectionExtra: { via: { agent: 'kb' } },
        extra: { agents: agentsSection() },
      });
      const agent = await startAgent(gw.gateway.agents!, {
        joinToken: await joinToken(gw.gateway.agents!, 'kb'),
      });
      try {
        await agent.ready();
        const init = await run('pgbench', ['-i', '-q', '-s', '1', gw.directUrl], { timeoutMs: 120_000 });
        expect(init.code).toBe(0);
        const token = await gw.token();
        const env = { PGPASSWORD: token, PGSSLMODE: 'disable' };
        const bench = run(
          'pgbench',
          [
            '-n',
            '-c',
            '4',
            '-j',
            '2',
            '-T',
            '60',
            '-h',
            '127.0.0.1',
            '-p',
            String(gw.port),
            '-U',
            'tester',
            'app',
          ],
          {
            env,
            timeoutMs: 90_000,
          },
        );
        await until(
          async () => (await gw.gateway.connectionStats()).sessions === 4,
          20_000,
          'pgbench sessions',
        );
        await until(() => gw.gateway.agents!.hub.list()[0]!.totalStreams >= 4, 5000, 'streams');
        await new Promise((r) => setTimeout(r, 500));
        agent.runtime.kill();
        const r = await bench;
        expect(r.code).not.toBe(0);
        // Which the gateway notices first is a race: the agent's control link going down, or a
        // session's stream through it being reset.
        expect(r.stderr).toMatch(
          /lost the upstream connection: (the agent "kb" (disconnected|missed its heartbeats)|the connection through agent "kb" was reset)/,
        );
        // Every session of the run is closed in the record, with the reason.
        await until(
          async () => (await gw.gateway.connectionStats()).sessions === 0,
          10_000,
          'sessions to end',
        );
        const sessions = await gw.gateway.store.listSessions({ limit: 20 });
        // pgbench's four clients (its first, short connection ends normally before the run).
        const mine = sessions.filter((s) => s.connection === 'app' && s.endReason !== 'client terminated');
        expect(mine.length).toBe(4);
        for (const s of mine) {
          expect(s.endedAt).toBeDefined();
          expect(s.endReason).toMatch(/lost the upstream connection/);
        }
      } finally {
        await agent.stop();
        await gw.stop();
      }
    },
    120_000,
  );

  it('the agent comes back after the gateway restarts', async () => {
    const port = await freePort();
    const gw = await startTestGateway({
      superUrl: inject('pgUrl'),
      connectionExtra: { via: { agent: 'rs' } },
      extra: { agents: agentsSection(port) },
    });
    const agent = await startAgent(gw.gateway.agents!, {
      joinToken: await joinToken(gw.gateway.agents!, 'rs'),
    });
    let second: Awaited<ReturnType<typeof startGateway>> | undefined;
    try {
      await agent.ready();
      await gw.gateway.stop();
      await until(() => agent.runtime.connectedLinks === 0, 5000, 'the agent to notice');
      const logs: string[] = [];
      second = await startGateway(await loadConfig(gw.configFile), { logger: memoryLogger(logs) });
      await until(
        () => second!.agents!.hub.list().some((l) => l.name === 'rs'),
        15_000,
        'the agent to reconnect',
      );
      const issued = await second.identity.issuer!.issue({
        subject: 'tester',
        groups: ['testers'],
        agent: false,
        ttlMs: 60_000,
      });
      const c = new pg.Client({
        host: '127.0.0.1',
        port: second.postgres!.port,
        user: 'tester',
        password: issued.token,
        database: 'app',
      });
      await until(
        () => second!.agents!.hub.list().some((l) => l.name === 'rs' && l.version === 'test'),
        5000,
        'link',
      );
      await c.connect();
      expect((await c.query('SELECT 41 + 1 AS n')).rows[0].n).toBe(42);
      await c.end();
      expect(agent.logs.join('')).toMatch(/reconnecting/);
    } finally {
      await agent.stop();
      await second?.stop();
      await gw.stop().catch(() => undefined);
    }
  });
});

describe('several agents under one name', () => {
  it('spreads connections, and stops using one that misses its heartbeats', async () => {
    const gw = await startTestGateway({
      superUrl: inject('pgUrl'),
      connectionExtra: { via: { agent: 'ha' } },
      extra: { agents: agentsSection() },
    });
    const a = await startAgent(gw.gateway.agents!, { joinToken: await joinToken(gw.gateway.agents!, 'ha') });
    const stateDir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-agent-proc-'));
    // The second one is a real `gatehouse agent run` process, configured by environment variables.
    const proc = spawnAgentProcess([], {
      GATEHOUSE_AGENT_GATEWAY: gatewayUrl(gw.gateway.agents!).href,
      GATEHOUSE_AGENT_JOIN_TOKEN: await joinToken(gw.gateway.agents!, 'ha'),
      GATEHOUSE_AGENT_STATE_DIR: stateDir,
      GATEHOUSE_AGENT_LOG_LEVEL: 'debug',
    });
    const clients: pg.Client[] = [];
    try {
      await a.ready();
      await until(() => linksOf(gw).filter((l) => l.accepted.size > 0).length === 2, 30_000, 'both agents');
      const token = await gw.token();
      for (let i = 0; i < 6; i++) {
        const c = gw.client(token);
        c.on('error', () => undefined);
        await c.connect();
        clients.push(c);
      }
      const counts = gw.gateway.agents!.hub.list().map((l) => l.activeStreams);
      expect(counts).toEqual([3, 3]);
      // Its logs are JSON lines, like the gateway's.
      const lines = proc.stderr().trim().split('\n');
      expect(lines.length).toBeGreaterThan(0);
      for (const line of lines) expect(JSON.parse(line)).toMatchObject({ service: 'gatehouse-agent' });
      // Freeze the process: it stops answering heartbeats, and the gateway stops using it.
      proc.child.kill('SIGSTOP');
      await until(() => gw.gateway.agents!.hub.list().length === 1, 10_000, 'the silent agent to be dropped');
      for (let i = 0; i < 4; i++) {
        const c = gw.client(token);
        await c.connect();
        expect((await c.query('SELECT 1 AS one')).rows[0].one).toBe(1);
        await c.end();
      }
      expect(gw.gateway.agents!.hub.list()[0]!.agentId).toBe(a.runtime.agentId);
    } finally {
      for (const c of clients) await c.end().catch(() => undefined);
      proc.child.kill('SIGKILL');
      await a.stop();
      await gw.stop();
      rmSync(stateDir, { recursive: true, force: true });
    }
  }, 90_000);
});
