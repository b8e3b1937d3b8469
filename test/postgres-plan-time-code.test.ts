// EXPLAIN without ANALYZE plans its statement and does not run it, so Gatehouse once decided it as a
// read whatever the statement called. But PostgreSQL's planner runs code while it plans: it folds a
// call of an IMMUTABLE function whose arguments are constants into the constant it returns, and
// evaluates a STABLE call compared with a column to estimate how many rows match. So
// `EXPLAIN SELECT app_touch(1)` ran a user-defined function that `SELECT app_touch(1)` (procedural)
// would have had reviewed or refused (docs/security.md, class 62). Real PostgreSQL, real `pg`.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

// Functions someone else created, as an agent finds them: each takes a session-level advisory lock
// (allowed in a read-only transaction and in a non-volatile function), so the server shows it ran.
const SETUP_SQL = `
  CREATE TABLE docs (id int PRIMARY KEY, body text);
  INSERT INTO docs VALUES (1, 'one'), (2, 'two');
  CREATE FUNCTION app_touch(k int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
    BEGIN PERFORM pg_advisory_lock(k); RETURN k; END $$;
  CREATE FUNCTION app_pick() RETURNS int LANGUAGE plpgsql STABLE AS $$
    BEGIN PERFORM pg_advisory_lock(7002); RETURN 1; END $$;
`;

// The default agent policy's shape, with procedural code refused rather than held (nothing waits).
const POLICIES: PolicyConfig[] = [
  {
    id: 'agents',
    subjects: { agent: true },
    connections: ['*'],
    rules: [
      { id: 'agents-no-procedural', effect: 'deny', match: { categories: ['procedural'] } },
      { id: 'agents-allow-read', effect: 'allow', match: { categories: ['read', 'transaction', 'session'] } },
    ],
  },
];

let gw: TestGateway;
let direct: pg.Client;
let agent: string;

beforeAll(async () => {
  gw = await startTestGateway({ superUrl: inject('pgUrl'), policies: POLICIES, setupSql: SETUP_SQL });
  direct = new pg.Client({ connectionString: gw.directUrl });
  await direct.connect();
  agent = await gw.token({ subject: 'claude', agent: true });
});
afterAll(async () => {
  await direct?.end();
  await gw?.stop();
});

/** Advisory locks on `key` held by any session: the function that takes it ran. */
async function locksOn(key: number): Promise<number> {
  const r = await direct.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objid = $1",
    [key],
  );
  return r.rows[0]!.n;
}

describe('EXPLAIN runs the functions the planner evaluates (class 62)', () => {
  it('the server runs an IMMUTABLE or STABLE function while it only plans the statement', async () => {
    // The differential half: directly, EXPLAIN alone takes the locks.
    const c = new pg.Client({ connectionString: gw.directUrl });
    await c.connect();
    try {
      await c.query('EXPLAIN SELECT app_touch(7101)');
      await c.query('EXPLAIN SELECT * FROM docs WHERE id = app_pick()');
      expect(await locksOn(7101)).toBe(1);
      expect(await locksOn(7002)).toBe(1);
    } finally {
      await c.end();
    }
    expect(await locksOn(7101)).toBe(0);
    expect(await locksOn(7002)).toBe(0);
  });

  it.each([
    ['an IMMUTABLE call with constant arguments (folded)', 'EXPLAIN SELECT app_touch(7001)', 7001],
    [
      'a STABLE call compared with a column (estimated)',
      'EXPLAIN SELECT * FROM docs WHERE id = app_pick()',
      7002,
    ],
    ['through the extended protocol', 'EXPLAIN (VERBOSE) SELECT app_touch(7003) WHERE $1::int = 1', 7003],
  ])('%s: decided as the call it is, refused with procedural code', async (_label, text, key) => {
    const c = gw.client(agent);
    c.on('error', () => undefined);
    await c.connect();
    try {
      // The same call without EXPLAIN is procedural, and so refused.
      const plain = (await c.query(text.replace(/^EXPLAIN (\(VERBOSE\) )?/, '')).catch((e: unknown) => e)) as
        pg.DatabaseError | undefined;
      expect(plain).toBeInstanceOf(Error);
      const e = (await c
        .query(text, text.includes('$1') ? [1] : undefined)
        .catch((x: unknown) => x)) as pg.DatabaseError;
      expect(e).toBeInstanceOf(Error);
      expect(e.code).toBe('42501');
      expect(e.detail).toMatch(/agents-no-procedural/);
      expect(await locksOn(key)).toBe(0);
      // A plan of built-in code only is still a read.
      expect((await c.query('EXPLAIN SELECT * FROM docs WHERE id = abs(-1)')).rows.length).toBeGreaterThan(0);
    } finally {
      await c.end();
    }
  });
});
