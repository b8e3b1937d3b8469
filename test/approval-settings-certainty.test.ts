// An approval binds the session settings that change a statement's meaning, and its preview runs
// under them (docs/security.md, classes 4 and 27). Gatehouse learns most of them from the
// statements it forwards; PostgreSQL reports only a few back (DateStyle, TimeZone, IntervalStyle).
// A change it could not read, or one the server undid without a word (a ROLLBACK, a failed
// implicit transaction, a ROLLBACK TO SAVEPOINT), left the approver looking at one setting while
// the statement ran under another (class 31). default_text_search_config decides what
// to_tsquery('running') matches: 'running' only (simple), or every form of 'run' (english).

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { TestGateway } from './testkit/gateway.js';
import { api, flaggedRows, startDbaHoldGateway, type Json, waitForRequest } from './approvals-kit.js';
import { RawPgClient, errorsIn, msg } from './testkit/raw-pg-client.js';

let gw: TestGateway;
let agent: string;
let alice: string;

const SETUP_SQL = `CREATE TABLE docs (id int PRIMARY KEY, body text, flag text);
      INSERT INTO docs VALUES (1, 'running late', NULL), (2, 'run fast', NULL), (3, 'runs daily', NULL);`;

beforeAll(async () => {
  ({ gw, agent, alice } = await startDbaHoldGateway(inject('pgUrl'), SETUP_SQL));
});
afterAll(async () => gw?.stop());

const flagged = (flag: string): Promise<number> => flaggedRows(gw, 'docs', flag);

async function connect(): Promise<pg.Client> {
  const c = gw.client(agent);
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

let n = 0;
const update = (flag: string) =>
  `UPDATE docs SET flag = '${flag}' WHERE to_tsvector(body) @@ to_tsquery('running')`;

/** Sends `text`, approves it as alice, and returns what the approver saw and how many rows it changed. */
async function approveAndRun(
  c: pg.Client,
  text: string,
  flag: string,
): Promise<{ settings: Record<string, string> | undefined; rows: number }> {
  const held = c.query(text).catch((e: unknown) => e);
  const r = await waitForRequest(
    gw,
    alice,
    (x: Json) => typeof x.statement?.text === 'string' && x.statement.text.includes(`'${flag}'`),
  );
  expect((await api(gw, alice, 'POST', `/api/approvals/${r.id}/approve`, {})).status).toBe(200);
  const result = await held;
  expect(result).not.toBeInstanceOf(Error);
  return { settings: r.preview.settings, rows: await flagged(flag) };
}

const SIMPLE = { default_text_search_config: 'pg_catalog.simple' };

describe('the settings an approval binds are the ones the statement runs under', () => {
  const undone: Record<string, string[]> = {
    'a ROLLBACK': ['BEGIN', "SET default_text_search_config = 'pg_catalog.simple'", 'ROLLBACK'],
    'a COMMIT of a failed block': [
      'BEGIN',
      "SET default_text_search_config = 'pg_catalog.simple'",
      'SELECT 1/0',
      'COMMIT',
    ],
    'a failed query string': ["SET default_text_search_config = 'pg_catalog.simple'; SELECT 1/0"],
    'a ROLLBACK TO SAVEPOINT': [
      'BEGIN',
      'SAVEPOINT a',
      "SET default_text_search_config = 'pg_catalog.simple'",
      'ROLLBACK TO a',
      'COMMIT',
    ],
    'set_config with a computed value': [
      "SELECT set_config('default_text_search_config', 'pg_catalog.' || 'simple', false)",
    ],
  };
  for (const [label, setup] of Object.entries(undone)) {
    it(`refuses a statement needing approval after a setting change undone or unreadable: ${label}`, async () => {
      const c = await connect();
      try {
        for (const s of setup) await c.query(s).catch(() => undefined);
        const flag = `u${++n}`;
        const e = (await c.query(update(flag)).catch((x: unknown) => x)) as pg.DatabaseError;
        expect(e).toBeInstanceOf(Error);
        expect(e.code).toBe('42501');
        expect(e.message).toMatch(/cannot tell the value of default_text_search_config/);
        expect(e.detail).toMatch(/unknown-setting/);
        expect(await flagged(flag)).toBe(0);
        // Set again to a value Gatehouse reads, the statement is held, shown and run under it.
        await c.query("SET default_text_search_config = 'pg_catalog.english'");
        const ran = await approveAndRun(c, update(`k${n}`), `k${n}`);
        expect(ran.settings).toMatchObject({ default_text_search_config: 'pg_catalog.english' });
        expect(ran.rows).toBe(3);
      } finally {
        await c.end();
      }
    });
  }

  it('refuses a statement needing approval after code Gatehouse cannot see into, until RESET ALL', async () => {
    const c = await connect();
    try {
      await c.query(
        "DO $$ BEGIN PERFORM set_config('default_text_search_config', 'pg_catalog.simple', false); END $$",
      );
      const flag = `d${++n}`;
      const e = (await c.query(update(flag)).catch((x: unknown) => x)) as pg.DatabaseError;
      expect(e.code).toBe('42501');
      expect(e.message).toMatch(/cannot tell the value of .*default_text_search_config.*RESET ALL/);
      expect(e.detail).toMatch(/unknown-setting/);
      expect(await flagged(flag)).toBe(0);
      await c.query('RESET ALL');
      const ran = await approveAndRun(c, update(`r${n}`), `r${n}`);
      expect(ran.rows).toBe(3);
    } finally {
      await c.end();
    }
  });

  it('binds a setting changed earlier in the same query string', async () => {
    const c = await connect();
    try {
      const flag = `s${++n}`;
      const ran = await approveAndRun(
        c,
        `SET default_text_search_config = 'pg_catalog.simple'; ${update(flag)}`,
        flag,
      );
      expect(ran.settings).toMatchObject(SIMPLE);
      expect(ran.rows).toBe(1);
    } finally {
      await c.end();
    }
  });

  it('binds a setting changed through the extended protocol, and one committed in a block', async () => {
    const c = await connect();
    try {
      await c.query({ name: 'set_simple', text: "SET default_text_search_config = 'pg_catalog.simple'" });
      let flag = `x${++n}`;
      let ran = await approveAndRun(c, update(flag), flag);
      expect(ran.settings).toMatchObject(SIMPLE);
      expect(ran.rows).toBe(1);

      await c.query('RESET default_text_search_config');
      await c.query('BEGIN');
      await c.query("SET default_text_search_config = 'pg_catalog.simple'");
      await c.query('COMMIT');
      flag = `b${++n}`;
      ran = await approveAndRun(c, update(flag), flag);
      expect(ran.settings).toMatchObject(SIMPLE);
      expect(ran.rows).toBe(1);
    } finally {
      await c.end();
    }
  });

  it('waits for a setting change sent just before, and refuses one still unanswered in the same pipeline', async () => {
    const raw = await RawPgClient.open(gw.port, gw.connection, agent);
    try {
      // Two Queries at once: the UPDATE is read while the SET is still running upstream.
      let flag = `p${++n}`;
      raw.send(
        msg.query("SET default_text_search_config = 'pg_catalog.simple'; SELECT pg_sleep(0.3)"),
        msg.query(update(flag)),
      );
      const r = await waitForRequest(gw, alice, (x: Json) => x.statement?.text === update(flag));
      expect(r.preview.settings).toMatchObject(SIMPLE);
      expect((await api(gw, alice, 'POST', `/api/approvals/${r.id}/approve`, {})).status).toBe(200);
      await raw.ready();
      expect(errorsIn(await raw.ready())).toEqual([]);
      expect(await flagged(flag)).toBe(1);

      // Parse/Bind/Execute of a SET, then of the UPDATE, before any Sync: refused, not bound blind.
      flag = `q${++n}`;
      raw.send(
        msg.parse('', "SET default_text_search_config = 'pg_catalog.english'"),
        msg.bind('', ''),
        msg.execute(''),
        msg.parse('', update(flag)),
        msg.bind('', ''),
        msg.execute(''),
        msg.sync(),
      );
      const errors = errorsIn(await raw.ready());
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ C: '42501' });
      expect(errors[0]!['D']).toMatch(/unknown-setting/);
      expect(await flagged(flag)).toBe(0);
    } finally {
      raw.close();
    }
  });
});
