// A statement still running upstream when its Gatehouse session ended (the client's Terminate, a
// dropped connection, a revoked token) kept running: Gatehouse sent Terminate, which the backend
// reads only once the statement ends, and no CancelRequest. It held its locks and its connection
// slot, a write committed after the session had ended, and the record said "not run"
// (docs/security.md, class 168). Now the statement is cancelled, the backend's connection check
// notices the closed socket, the session (and its slot) ends only once the backend has gone, and the
// record says the outcome is unknown. Raw protocol and `pg`, pg_stat_activity read directly.

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Command, CommanderError } from 'commander';
import { sessionsCommand } from '../src/cli/sessions-command.js';
import type { StoredEvent } from '../src/store/event-queries.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { RawPgClient, msg, typed } from './testkit/raw-pg-client.js';

let gw: TestGateway;
let direct: pg.Client;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    setupSql: "CREATE TABLE orders (id int PRIMARY KEY, status text); INSERT INTO orders VALUES (1, 'paid')",
  });
  direct = new pg.Client({ connectionString: gw.directUrl });
  await direct.connect();
});
afterAll(async () => {
  await direct?.end();
  await gw?.stop();
});

const tagged = () => `orphan_${randomBytes(4).toString('hex')}`;

/** Upstream backends running a statement that holds `tag` (other than this one). */
async function backends(tag: string): Promise<{ pid: number; state: string }[]> {
  const r = await direct.query<{ pid: number; state: string }>(
    'SELECT pid, state FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()',
    [`%${tag}%`],
  );
  return r.rows;
}

async function until(what: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (await what()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function sessionOf(subject: string) {
  const [s] = await gw.gateway.store.listSessions({ subject, limit: 1 });
  return s!;
}

/**
 * Watches the session end: its `session.end` is never in the record while its backend still runs
 * the statement (the principal's slot is released with it), and it does come, after the backend.
 */
async function endsAfterBackend(subject: string, tag: string): Promise<StoredEvent[]> {
  const id = (await sessionOf(subject)).id;
  let events: StoredEvent[] = [];
  const ended = await until(async () => {
    events = await gw.gateway.store.getEvents(id);
    if (!events.some((e) => e.type === 'session.end')) return false;
    expect(await backends(tag), 'the session ended while its backend still ran').toEqual([]);
    return true;
  }, 8_000);
  expect(ended).toBe(true);
  return events;
}

/** The result the record holds for the statement whose text holds `tag`. */
async function resultOf(subject: string, tag: string) {
  const got = await gw.gateway.store.getSession((await sessionOf(subject)).id);
  return got!.statements.find((s) => s.text.includes(tag))?.result;
}

/** `gatehouse sessions replay` of the principal's last session, as text. */
async function replay(subject: string): Promise<string> {
  let out = '';
  const cmd = sessionsCommand({
    io: {
      stdout: { write: (t: string) => (out += t) },
      stderr: { write: () => undefined },
      stdin: (async function* () {})(),
      env: {},
    },
    openStore: async () => ({ ...gw.gateway.store, close: async () => undefined }) as never,
    openReplay: async () => ({
      store: gw.gateway.store,
      blobs: gw.gateway.recording.blobs,
      close: async () => undefined,
    }),
  });
  const program = new Command('gatehouse').exitOverride();
  for (const c of [cmd, ...cmd.commands])
    c.exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  program.addCommand(cmd);
  try {
    await program.parseAsync(['sessions', 'replay', (await sessionOf(subject)).id], { from: 'user' });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
  }
  return out;
}

async function cleanUp(tag: string): Promise<void> {
  await direct.query(
    'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()',
    [`%${tag}%`],
  );
}

describe('a statement in flight when its session ends', () => {
  it('the client sends Terminate: the statement is cancelled, and the record says its outcome is unknown', async () => {
    const subject = 'orphan-terminate';
    const tag = tagged();
    const c = await RawPgClient.open(gw.port, gw.connection, await gw.token({ subject, agent: true }));
    try {
      c.send(msg.query(`SELECT count(*) FROM orders, pg_sleep(60) AS s /* ${tag} */`));
      expect(await until(async () => (await backends(tag)).length === 1, 5_000)).toBe(true);
      c.send(typed('X'));
      const events = await endsAfterBackend(subject, tag);
      expect(await backends(tag)).toEqual([]);
      expect((await resultOf(subject, tag))?.error).toMatchObject({ code: 'outcome-unknown' });
      expect(events.find((e) => e.type === 'transaction')?.data).toMatchObject({
        outcome: 'unknown',
        ended: 'session closed',
      });
    } finally {
      c.close();
      await cleanUp(tag);
    }
  });

  it('the client goes away without a word: the same', async () => {
    const subject = 'orphan-dropped';
    const tag = tagged();
    const c = await RawPgClient.open(gw.port, gw.connection, await gw.token({ subject, agent: true }));
    try {
      c.send(msg.query(`SELECT pg_sleep(60) /* ${tag} */`));
      expect(await until(async () => (await backends(tag)).length === 1, 5_000)).toBe(true);
      c.close();
      await endsAfterBackend(subject, tag);
      expect((await resultOf(subject, tag))?.error).toMatchObject({ code: 'outcome-unknown' });
    } finally {
      await cleanUp(tag);
    }
  });

  it('its token is revoked: the session ends and so does the statement', async () => {
    const subject = 'orphan-revoked';
    const tag = tagged();
    const token = await gw.token({ subject, agent: true });
    const jti = (
      JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { jti: string }
    ).jti;
    const c = await RawPgClient.open(gw.port, gw.connection, token);
    try {
      c.send(msg.query(`SELECT pg_sleep(60) /* ${tag} */`));
      expect(await until(async () => (await backends(tag)).length === 1, 5_000)).toBe(true);
      await gw.gateway.store.revokeServiceToken(jti, new Date());
      await endsAfterBackend(subject, tag);
      expect(c.closed).toBe(true);
    } finally {
      c.close();
      await cleanUp(tag);
    }
  });

  it('a write waiting on a lock does not commit after its session ended', async () => {
    const subject = 'orphan-write';
    const tag = tagged();
    const holder = new pg.Client({ connectionString: gw.directUrl });
    await holder.connect();
    const c = await RawPgClient.open(gw.port, gw.connection, await gw.token({ subject, agent: true }));
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT * FROM orders WHERE id = 1 FOR UPDATE');
      c.send(msg.query(`UPDATE orders SET status = 'shipped' WHERE id = 1 /* ${tag} */`));
      expect(await until(async () => (await backends(tag)).length === 1, 5_000)).toBe(true);
      c.close();
      await endsAfterBackend(subject, tag);
      await holder.query('COMMIT');
      const status = await direct.query<{ status: string }>('SELECT status FROM orders WHERE id = 1');
      expect(status.rows[0]!.status).toBe('paid');
      expect((await resultOf(subject, tag))?.error).toMatchObject({ code: 'outcome-unknown' });
      // Not "not run": the CLI says nobody knows.
      const text = await replay(subject);
      expect(text).toContain(
        '→ outcome unknown: the session ended while it ran upstream (cancel sent; the server may have run it)',
      );
      expect(text).not.toContain('not run');
    } finally {
      c.close();
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
      await cleanUp(tag);
    }
  });

  it('the upstream checks for a lost client while it runs a statement, and the setting is pinned', async () => {
    const c = gw.client(await gw.token({ subject: 'orphan-setting', agent: true }));
    await c.connect();
    try {
      const shown = await c.query<{ v: string }>(
        "SELECT current_setting('client_connection_check_interval') AS v",
      );
      expect(shown.rows[0]!.v).toBe('1s');
      await expect(c.query('SET client_connection_check_interval = 0')).rejects.toMatchObject({
        code: '42501',
        message: expect.stringMatching(/client_connection_check_interval is pinned/) as unknown,
      });
      await expect(
        c.query("SELECT set_config('client_connection_check_interval', '0', false)"),
      ).rejects.toMatchObject({ code: '42501' });
      await c.query('RESET client_connection_check_interval');
      expect(
        (await c.query<{ v: string }>("SELECT current_setting('client_connection_check_interval') AS v"))
          .rows[0]!.v,
      ).toBe('1s');
    } finally {
      await c.end();
    }
  });
});
