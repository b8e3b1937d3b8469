// A built-in function written as a field of a value, `(expr).f`, is the call f(expr) to PostgreSQL
// (functional notation, docs 8.16.5, for any value, not only a row). The classifier saw a field:
// `SELECT (4242::bigint).pg_advisory_lock` held a session lock, `SELECT
// ('app.jwt_secret'::text).current_setting` returned the stored secret, `SELECT
// (pid).pg_terminate_backend` ended another session, `('/etc/hostname'::text).pg_read_file` read a
// server file, and `(s).pg_stat_get_backend_activity` another session's statement text, each as an
// allowed read under the default agent policy (docs/security.md, class 172). Real PostgreSQL, real pg.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultAgentPolicies } from '../src/policy/default-agent-policy.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const JWT_SECRET = 'jwtFieldNotation7Q';
const TEXT_SECRET = 'otterFieldSecret5151';
const LOCK_KEY = 917_243;

let gw: TestGateway;
let direct: pg.Client;
let victim: pg.Client;
let victimPid: number;
let agent: string;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: defaultAgentPolicies(['app'], { mask: true }),
    setupSql: `
      CREATE TABLE api_keys (id int PRIMARY KEY, secret text);
      INSERT INTO api_keys VALUES (1, 'wJaFieldKey9090');
      CREATE SEQUENCE s;
      DO $$ BEGIN
        EXECUTE format('ALTER DATABASE %I SET app.jwt_secret = %L', current_database(), '${JWT_SECRET}');
      END $$;`,
    extra: {
      masking: {
        style: 'redact',
        columns: [{ column: 'public.api_keys.secret', style: 'redact', tag: 'api_secret' }],
      },
    },
  });
  direct = new pg.Client({ connectionString: gw.directUrl });
  await direct.connect();
  victim = new pg.Client({ connectionString: gw.directUrl });
  victim.on('error', () => undefined);
  await victim.connect();
  victimPid = (await victim.query<{ p: number }>('SELECT pg_backend_pid() AS p')).rows[0]!.p;
  await victim.query(`SELECT '${TEXT_SECRET}' AS w`);
  agent = await gw.token({ subject: 'claude', agent: true });
}, 120_000);

afterAll(async () => {
  await victim?.end().catch(() => undefined);
  await direct?.end();
  await gw?.stop();
});

async function asAgent(text: string, extended: boolean): Promise<pg.QueryResult | pg.DatabaseError> {
  const c = gw.client(agent);
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await (extended ? c.query({ text, values: [] }) : c.query(text)).catch(
      (e: unknown) => e as pg.DatabaseError,
    );
  } finally {
    await c.end().catch(() => undefined);
  }
}

describe('built-in functions called as a field (class 172)', () => {
  it('the server calls them', async () => {
    const r = await direct.query<{ v: string }>(`SELECT ('app.jwt_secret'::text).current_setting AS v`);
    expect(r.rows[0]!.v).toBe(JWT_SECRET);
  });

  const CASES: readonly [string, string][] = [
    [`SELECT (${LOCK_KEY}::bigint).pg_advisory_lock`, '42501'],
    [`SELECT ((${LOCK_KEY}::bigint)).pg_try_advisory_lock`, '42501'],
    [`SELECT ('app.jwt_secret'::text).current_setting`, '42501'],
    [`SELECT 1 WHERE ('app.jwt_secret'::text).current_setting LIKE 'j%'`, '42501'],
    [`SELECT ('/etc/hostname'::text).pg_read_file`, '42501'],
    [`SELECT ('.'::text).pg_ls_dir`, '42501'],
    [`SELECT ('select to_tsvector(secret) from api_keys'::text).ts_stat`, '42501'],
    [`SELECT ('s'::regclass).nextval`, '42501'],
    [`SELECT (s).pg_stat_get_backend_activity FROM pg_stat_get_backend_idset() s`, '42501'],
    [`EXPLAIN SELECT 1 LIMIT length(('app.jwt_secret'::text).current_setting)`, '42501'],
  ];

  for (const extended of [false, true])
    it.each(CASES)(`%s is refused (${extended ? 'extended' : 'simple'} protocol)`, async (text, code) => {
      const r = await asAgent(text, extended);
      expect(r).toBeInstanceOf(Error);
      expect((r as pg.DatabaseError).code).toBe(code);
      const said = JSON.stringify(r) + String((r as Error).message);
      expect(said).not.toContain(JWT_SECRET);
      expect(said).not.toContain(TEXT_SECRET);
      expect(said).not.toContain('wJaFieldKey9090');
    });

  it('ran nothing upstream: no advisory lock held, no sequence value taken', async () => {
    const locks = await direct.query(
      `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = ${LOCK_KEY}`,
    );
    expect(locks.rowCount).toBe(0);
    const seq = await direct.query<{ c: boolean }>('SELECT is_called AS c FROM s');
    expect(seq.rows[0]!.c).toBe(false);
  });

  it.each([[false], [true]])('another session is not ended (extended: %s)', async (extended) => {
    const r = await asAgent(`SELECT (${victimPid}).pg_terminate_backend`, extended);
    expect((r as pg.DatabaseError).code).toBe('42501');
    expect((await victim.query<{ n: number }>('SELECT 1 AS n')).rows[0]!.n).toBe(1);
  });

  it('fields of values and rows that name no such function still read', async () => {
    const r = await asAgent(`SELECT (k).id, k.id AS i, ('x'::text).length AS n FROM api_keys k`, false);
    expect(r).not.toBeInstanceOf(Error);
    expect((r as pg.QueryResult).rows).toEqual([{ id: 1, i: 1, n: 1 }]);
  });
});
