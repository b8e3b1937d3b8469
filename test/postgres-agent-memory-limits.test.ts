// An agent cannot lift the memory bounds its session starts with (docs/security.md, class 176), through
// the real wire against a real PostgreSQL. Nothing on the server caps what a session sets work_mem,
// maintenance_work_mem or hash_mem_multiplier to: with the database's work_mem at 1MB, an agent under
// the default policy ran `SET work_mem = '1GB'` and `set_config('work_mem', '64GB', false)` and sorted
// in memory past the bound (a large hash or sort then takes the server's memory, and the OOM killer
// restarts every backend). Kept small here: a 300,000-row sort.

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultAgentPolicies } from '../src/policy/default-agent-policy.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: defaultAgentPolicies(['app']),
    setupSql: `DO $$ BEGIN
       EXECUTE format('ALTER DATABASE %I SET work_mem = %L', current_database(), '1MB');
       EXECUTE format('ALTER DATABASE %I SET maintenance_work_mem = %L', current_database(), '16MB');
       EXECUTE format('ALTER DATABASE %I SET hash_mem_multiplier = %L', current_database(), '1.5');
     END $$;`,
  });
}, 120_000);
afterAll(async () => gw?.stop());

async function outcome(c: pg.Client, sql: string): Promise<string> {
  try {
    const r = await c.query(sql);
    return `ok ${JSON.stringify(r.rows ?? [])}`;
  } catch (e) {
    const x = e as pg.DatabaseError;
    return `error ${x.code} ${x.message}`;
  }
}

async function show(c: pg.Client, name: string): Promise<string> {
  const r = await c.query(`SHOW ${name}`);
  return String((r.rows[0] as Record<string, unknown>)[name]);
}

/** How the server sorted 300,000 rows: in memory, or spilled to disk. */
async function sortMethod(c: pg.Client): Promise<string> {
  const r = await c.query(
    'EXPLAIN (ANALYZE, COSTS off, TIMING off) SELECT g FROM generate_series(1, 300000) g ORDER BY g DESC',
  );
  const line = r.rows
    .map((x) => String((x as Record<string, unknown>)['QUERY PLAN']))
    .find((l) => /Sort Method/.test(l));
  return line ?? '';
}

describe('class 176: the memory bounds an agent session starts with are the gateway’s', () => {
  it('an agent lowers them but cannot lift them', async () => {
    const c = gw.client(await gw.token({ subject: 'claude', groups: [], agent: true }));
    await c.connect();
    try {
      expect(await show(c, 'work_mem')).toBe('1MB');
      expect(await sortMethod(c)).toMatch(/external merge/);
      for (const sql of [
        "SET work_mem = '1GB'",
        'SET work_mem = 1048576',
        "SET SESSION work_mem TO '2MB'",
        "SELECT set_config('work_mem', '64GB', false)",
        "SELECT set_config('work_mem', '1TB', true)",
        "SET work_mem = '1e6'",
        "SET maintenance_work_mem = '8GB'",
        'SET hash_mem_multiplier = 1000',
        "SET hash_mem_multiplier = '2'",
        "ALTER ROLE CURRENT_USER SET work_mem = '1GB'",
      ]) {
        expect(await outcome(c, sql), sql).toMatch(/^error 42501 .*session-limit/);
      }
      await c.query('BEGIN');
      expect(await outcome(c, "SET LOCAL work_mem = '1GB'")).toMatch(/^error 42501/);
      await c.query('ROLLBACK');
      expect(await show(c, 'work_mem')).toBe('1MB');
      expect(await show(c, 'maintenance_work_mem')).toBe('16MB');
      expect(await show(c, 'hash_mem_multiplier')).toBe('1.5');
      expect(await sortMethod(c)).toMatch(/external merge/);

      // Lowering, and going back, run.
      await c.query("SET work_mem = '512kB'");
      expect(await show(c, 'work_mem')).toBe('512kB');
      await c.query("SELECT set_config('hash_mem_multiplier', '1', false)");
      expect(await show(c, 'hash_mem_multiplier')).toBe('1');
      await c.query('RESET work_mem');
      await c.query('SET hash_mem_multiplier TO DEFAULT');
      expect(await show(c, 'work_mem')).toBe('1MB');
      expect(await show(c, 'hash_mem_multiplier')).toBe('1.5');
    } finally {
      await c.end();
    }
  });

  it('at startup too: options above the bound end the session, within it they apply', async () => {
    const token = await gw.token({ subject: 'claude', groups: [], agent: true });
    const high = gw.client(token, { options: '-c work_mem=1GB' });
    high.on('error', () => undefined);
    const e = (await high.connect().catch((x: unknown) => x)) as pg.DatabaseError;
    expect(e).toBeInstanceOf(Error);
    expect(e.message).toMatch(/session-limit/);
    await high.end().catch(() => undefined);
    const low = gw.client(token, { options: '-c work_mem=256kB' });
    await low.connect();
    try {
      expect(await show(low, 'work_mem')).toBe('256kB');
    } finally {
      await low.end();
    }
  });

  it('a person may still raise them', async () => {
    const c = gw.client(await gw.token({ subject: 'pat', groups: ['dba'] }));
    await c.connect();
    try {
      await c.query("SET work_mem = '64MB'");
      expect(await show(c, 'work_mem')).toBe('64MB');
      expect(await sortMethod(c)).toMatch(/quicksort/);
    } finally {
      await c.end();
    }
  });
});
