// Token lifecycle and fairness at the gate, through the real wire: a revoked or expired token ends
// the sessions already open with it (PostgreSQL FATAL), and session limits per principal and per
// connection keep one agent from locking everyone else out (issue 11, classes 6 and 7).

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

function jtiOf(token: string): string {
  const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as {
    jti: string;
  };
  return payload.jti;
}

/**
 * Runs `SELECT 1` every 100 ms until it fails; resolves with the error the server sent (an idle
 * session's FATAL arrives as the client's 'error' event) and how long it took.
 */
async function untilRefused(client: pg.Client, withinMs: number): Promise<{ error: Error; afterMs: number }> {
  const started = Date.now();
  let fatal: Error | undefined;
  client.on('error', (e) => (fatal ??= e));
  for (;;) {
    try {
      await client.query('SELECT 1');
    } catch (error) {
      return { error: fatal ?? (error as Error), afterMs: Date.now() - started };
    }
    if (Date.now() - started > withinMs) throw new Error(`still working after ${withinMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('token lifecycle on open sessions', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ superUrl: inject('pgUrl') });
  });
  afterAll(async () => gw?.stop());

  it('a token revoked from another process ends its open session within 5 s', async () => {
    const token = await gw.token({ subject: 'revokee' });
    const client = gw.client(token);
    client.on('error', () => undefined);
    await client.connect();
    await client.query('SELECT 1');
    // Revoked in the store directly (as the CLI or another replica does), not through this process.
    await gw.gateway.store.revokeServiceToken(jtiOf(token), new Date());
    const { error, afterMs } = await untilRefused(client, 7_000);
    expect(error.message).toMatch(/revoked/);
    expect(afterMs).toBeLessThanOrEqual(6_000);
    // A new connection with the same token is refused at once.
    const again = gw.client(token);
    await expect(again.connect()).rejects.toThrow(/revoked/);
    await client.end().catch(() => undefined);
  });

  it('an expired token ends its open session at exp', async () => {
    const token = await gw.token({ subject: 'short-lived', ttlMs: 2_000 });
    const client = gw.client(token);
    client.on('error', () => undefined);
    await client.connect();
    await client.query('SELECT 1');
    const { error } = await untilRefused(client, 6_000);
    expect(error.message).toMatch(/expired/);
    await client.end().catch(() => undefined);
  });
});

describe('session limits', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({
      superUrl: inject('pgUrl'),
      policies: [
        {
          id: 'all',
          subjects: [{ groups: ['testers'] }, { agent: true }],
          connections: ['*'],
          rules: [{ id: 'allow-everything', effect: 'allow', match: {} }],
        },
      ],
      extra: { limits: { sessionsPerPrincipal: 3 } },
    });
    // The per-connection limit is part of the connection; set it through a reload.
    const { readFileSync, writeFileSync } = await import('node:fs');
    const text = readFileSync(gw.configFile, 'utf8').replace(
      /protocol: postgres\n/,
      'protocol: postgres\n    limits: { maxSessions: 6, reservedForPeople: 2 }\n',
    );
    writeFileSync(gw.configFile, text);
    const reloaded = await gw.gateway.reload();
    expect(reloaded).toEqual({ ok: true });
  });
  afterAll(async () => gw?.stop());

  it('refuses a principal past its concurrent session limit (53300), and frees the slot on close', async () => {
    const token = await gw.token({ subject: 'greedy' });
    const clients = [gw.client(token), gw.client(token), gw.client(token)];
    for (const c of clients) await c.connect();
    const fourth = gw.client(token);
    const err = (await fourth.connect().catch((e: unknown) => e)) as pg.DatabaseError;
    expect(err.code).toBe('53300');
    expect(err.message).toMatch(/too many sessions: greedy/);
    await clients[0]!.end();
    const fifth = gw.client(token);
    await fifth.connect();
    await fifth.end();
    for (const c of clients.slice(1)) await c.end();
  });

  it('keeps capacity for people: agents cannot take the reserved slots', async () => {
    const agents: pg.Client[] = [];
    let refused: pg.DatabaseError | undefined;
    for (let i = 0; i < 10 && !refused; i++) {
      const c = gw.client(await gw.token({ subject: `agent-${i}`, agent: true, groups: [] }));
      try {
        await c.connect();
        agents.push(c);
      } catch (e) {
        refused = e as pg.DatabaseError;
      }
    }
    expect(agents).toHaveLength(4);
    expect(refused?.code).toBe('53300');
    expect(refused?.message).toMatch(/kept for people/);
    const dba = gw.client(await gw.token({ subject: 'dba-person' }));
    await dba.connect();
    expect((await dba.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await dba.end();
    for (const c of agents) await c.end();
  });

  // A token an MCP client holds names the person who signed in for it (class 289): the agent's
  // sessions are not the person's, and do not use up hers.
  it('keeps a person her sessions when an agent holds a token in her name', async () => {
    const agentToken = await gw.token({ subject: 'dana', agent: true, groups: [] });
    const agents = [gw.client(agentToken), gw.client(agentToken), gw.client(agentToken)];
    for (const c of agents) await c.connect();
    const fourth = gw.client(agentToken);
    expect(((await fourth.connect().catch((e: unknown) => e)) as pg.DatabaseError).code).toBe('53300');
    const dana = gw.client(await gw.token({ subject: 'dana' }));
    await dana.connect();
    expect((await dana.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    await dana.end();
    for (const c of agents) await c.end();
  });
});
