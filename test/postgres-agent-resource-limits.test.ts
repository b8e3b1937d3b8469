// An agent cannot raise what its session may take beyond the memory bounds of class 176 (docs/security.md
// class 213), through the real wire against a real PostgreSQL (the test kit's, and PostgreSQL 15 on
// 127.0.0.1:5432 when it is there): temp_buffers, logical_decoding_work_mem and
// vacuum_buffer_usage_limit; parallel workers and the leader's part in their work; and the planner's
// exhaustive search (geqo off and the collapse limits raised made a 13-way join take 2 GB and 20 s to
// plan with work_mem at 4 MB), the genetic optimizer's pool and ANALYZE's sample. Each is the login
// value's to bound: an agent may lower it, never raise it.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultAgentPolicies } from '../src/policy/default-agent-policy.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const PG15 = 'postgres://postgres@127.0.0.1:5432/postgres';

async function reachable(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

const DATABASE_SETTINGS: Record<string, string> = {
  temp_buffers: '2MB',
  logical_decoding_work_mem: '1MB',
  max_parallel_workers_per_gather: '1',
  max_parallel_maintenance_workers: '1',
  parallel_leader_participation: 'off',
  join_collapse_limit: '8',
  from_collapse_limit: '8',
  geqo_threshold: '12',
  geqo_effort: '5',
  default_statistics_target: '50',
};

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

const RAISES = [
  "SET temp_buffers = '1GB'",
  'SET temp_buffers = 100000',
  "SELECT set_config('temp_buffers', '64MB', false)",
  "SET logical_decoding_work_mem = '4GB'",
  'SET max_parallel_workers_per_gather = 8',
  "SELECT set_config('max_parallel_maintenance_workers', '8', false)",
  "SET max_parallel_workers_per_gather = '0x10'",
  'SET parallel_leader_participation = on',
  'SET geqo = off',
  'SET geqo TO false',
  "SELECT set_config('geqo', '0', false)",
  'SET join_collapse_limit = 100',
  'SET from_collapse_limit = 100',
  'SET geqo_threshold = 100',
  'SET geqo_effort = 10',
  'SET geqo_pool_size = 10000000',
  'SET geqo_generations = 1000000',
  'SET default_statistics_target = 10000',
  "ALTER ROLE CURRENT_USER SET geqo = 'off'",
];

for (const target of [
  { name: 'the test kit’s PostgreSQL', url: () => inject('pgUrl') },
  { name: 'PostgreSQL 15', url: () => PG15 },
]) {
  describe(
    `class 213 on ${target.name}: an agent cannot raise what its session may take`,
    { timeout: 120_000 },
    () => {
      let gw: TestGateway | undefined;
      let major = 0;
      beforeAll(async () => {
        if (target.url() === PG15 && !(await reachable(PG15))) return;
        const alters = Object.entries(DATABASE_SETTINGS)
          .map(([k, v]) => `EXECUTE format('ALTER DATABASE %I SET ${k} = %L', current_database(), '${v}');`)
          .join('\n');
        gw = await startTestGateway({
          superUrl: target.url(),
          policies: defaultAgentPolicies(['app']),
          setupSql: `DO $$ BEGIN ${alters}
          IF current_setting('server_version_num')::int >= 160000 THEN
            EXECUTE format('ALTER DATABASE %I SET vacuum_buffer_usage_limit = %L', current_database(), '512kB');
          END IF; END $$;`,
        });
      });
      afterAll(async () => gw?.stop());

      it('raises are refused, and the values stay', async (ctx) => {
        if (!gw) return ctx.skip();
        const c = gw.client(await gw.token({ subject: 'claude', groups: [], agent: true }));
        await c.connect();
        try {
          major = Math.floor(Number(await show(c, 'server_version_num')) / 10000);
          const raises = [...RAISES];
          if (major >= 16)
            raises.push("SET vacuum_buffer_usage_limit = '16GB'", 'SET vacuum_buffer_usage_limit = 0');
          for (const sql of raises)
            expect(await outcome(c, sql), sql).toMatch(/^error 42501 .*session-limit/);
          await c.query('BEGIN');
          expect(await outcome(c, 'SET LOCAL geqo = off')).toMatch(/^error 42501/);
          await c.query('ROLLBACK');
          for (const [k, v] of Object.entries(DATABASE_SETTINGS)) expect(await show(c, k), k).toBe(v);
          expect(await show(c, 'geqo')).toBe('on');
          if (major >= 16) expect(await show(c, 'vacuum_buffer_usage_limit')).toBe('512kB');
        } finally {
          await c.end();
        }
      });

      it('lowering and resetting run', async (ctx) => {
        if (!gw) return ctx.skip();
        const c = gw.client(await gw.token({ subject: 'claude', groups: [], agent: true }));
        await c.connect();
        try {
          for (const sql of [
            "SET temp_buffers = '1MB'",
            'SET max_parallel_workers_per_gather = 0',
            "SELECT set_config('max_parallel_maintenance_workers', '0', false)",
            'SET parallel_leader_participation = off',
            'SET geqo = on',
            'SET join_collapse_limit = 4',
            'SET geqo_threshold = 2',
            'SET default_statistics_target = 10',
          ])
            expect(await outcome(c, sql), sql).toMatch(/^ok/);
          expect(await show(c, 'temp_buffers')).toBe('1MB');
          expect(await show(c, 'join_collapse_limit')).toBe('4');
          await c.query('RESET join_collapse_limit');
          await c.query('SET max_parallel_workers_per_gather TO DEFAULT');
          expect(await show(c, 'join_collapse_limit')).toBe('8');
          expect(await show(c, 'max_parallel_workers_per_gather')).toBe('1');
        } finally {
          await c.end();
        }
      });

      it('at startup: options above the login value end the session, within it they apply', async (ctx) => {
        if (!gw) return ctx.skip();
        const token = await gw.token({ subject: 'claude', groups: [], agent: true });
        const high = gw.client(token, { options: '-c geqo=off' });
        high.on('error', () => undefined);
        const e = (await high.connect().catch((x: unknown) => x)) as Error;
        expect(e).toBeInstanceOf(Error);
        expect(e.message).toMatch(/session-limit/);
        await high.end().catch(() => undefined);
        const low = gw.client(token, { options: '-c max_parallel_workers_per_gather=0 -c temp_buffers=1MB' });
        await low.connect();
        try {
          expect(await show(low, 'max_parallel_workers_per_gather')).toBe('0');
          expect(await show(low, 'temp_buffers')).toBe('1MB');
        } finally {
          await low.end();
        }
      });

      it('a person may still raise them', async (ctx) => {
        if (!gw) return ctx.skip();
        const c = gw.client(await gw.token({ subject: 'pat', groups: ['dba'] }));
        await c.connect();
        try {
          await c.query('SET geqo = off');
          await c.query('SET max_parallel_workers_per_gather = 4');
          expect(await show(c, 'geqo')).toBe('off');
          expect(await show(c, 'max_parallel_workers_per_gather')).toBe('4');
        } finally {
          await c.end();
        }
      });
    },
  );
}
