// Reads of stored settings' values are `secrets` (docs/security.md, class 112), through the real wire
// against a real PostgreSQL: a PostgREST-style deployment keeps its JWT secret as
// `ALTER DATABASE … SET app.jwt_secret = '…'`, and a masked agent under the default policy must not
// read it by any of the ways the server offers (SHOW, current_setting, pg_settings, the role
// settings catalog and views…), simple or extended protocol, while the built-in settings drivers and
// psql read keep working, and a DBA still reads it.

import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultAgentPolicies } from '../src/policy/default-agent-policy.js';
import { hasCommand, run } from './testkit/commands.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const SEED = readFileSync(new URL('../src/demo/seed.sql', import.meta.url), 'utf8');
const JWT_SECRET = 'zebraJwtSecretQ7x9';
const ROLE_SECRET = 'yakRoleSecretP4m2';
const SECRETS = [JWT_SECRET, ROLE_SECRET];

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: defaultAgentPolicies(['app'], { mask: true }),
    setupSql:
      SEED +
      `DO $$ BEGIN
         EXECUTE format('ALTER DATABASE %I SET app.jwt_secret = %L', current_database(), '${JWT_SECRET}');
         EXECUTE format('ALTER ROLE ALL IN DATABASE %I SET app.role_secret = %L', current_database(), '${ROLE_SECRET}');
       END $$;`,
  });
});
afterAll(async () => gw?.stop());

/** Statements that return a stored setting's value (the first is sent with a bind parameter too). */
const PROBES = [
  'SHOW app.jwt_secret',
  'SHOW app.role_secret',
  'SHOW ALL',
  "SELECT current_setting('app.jwt_secret')",
  "SELECT 'k=' || upper(current_setting('APP.JWT_SECRET', true)) AS k",
  "SELECT s FROM (VALUES (current_setting('app.role_secret'))) v(s)",
  "SELECT current_setting('app.' || 'jwt_secret')",
  "SELECT setting FROM pg_settings WHERE name = 'app.jwt_secret'",
  'SELECT * FROM pg_catalog.pg_settings',
  'SELECT * FROM pg_show_all_settings()',
  'SELECT setconfig FROM pg_db_role_setting',
  'SELECT o.* FROM pg_db_role_setting, pg_options_to_table(setconfig) o',
  'SELECT * FROM pg_file_settings',
  'SELECT rolname, rolconfig FROM pg_roles',
  'SELECT * FROM pg_roles',
  'SELECT to_json(r) FROM pg_user r',
  'SELECT (r).rolconfig FROM pg_roles r',
];

function leaks(text: string): boolean {
  return SECRETS.some((s) => text.includes(s));
}

async function outcome(c: pg.Client, sql: string, values?: unknown[]): Promise<string> {
  try {
    // queryMode 'extended' (pg ≥ 8.13) sends Parse/Bind/Execute even without parameters.
    const config = { text: sql, values, queryMode: 'extended' } as pg.QueryConfig;
    const r = await c.query(values === undefined ? sql : config);
    return `rows ${JSON.stringify(r.rows)}`;
  } catch (e) {
    const x = e as pg.DatabaseError;
    return `error ${x.code} ${x.message}`;
  }
}

describe('class 112: stored settings are secrets', () => {
  it('an agent reads none of them, in either protocol; built-in settings still read', async () => {
    const c = gw.client(await gw.token({ subject: 'claude', groups: [], agent: true }));
    c.on('notice', () => undefined);
    await c.connect();
    try {
      for (const sql of PROBES) {
        const got = await outcome(c, sql);
        expect(leaks(got), `${sql}: ${got}`).toBe(false);
        expect(got, sql).toMatch(/^error 42501 .*agents-no-stored-settings/);
        // Extended protocol (Parse/Bind/Execute).
        const ext = await outcome(c, sql, []);
        expect(leaks(ext), `${sql} (extended): ${ext}`).toBe(false);
        expect(ext, `${sql} (extended)`).toMatch(/^error 42501 .*agents-no-stored-settings/);
      }
      const byParam = await outcome(c, 'SELECT current_setting($1)', ['app.jwt_secret']);
      expect(leaks(byParam), byParam).toBe(false);
      expect(byParam).toMatch(/^error 42501/);

      // What drivers, ORMs and psql read at connect or to describe objects keeps working.
      expect((await c.query('SHOW transaction_isolation')).rows).toEqual([
        { transaction_isolation: 'read committed' },
      ]);
      expect((await c.query('SHOW server_version')).rows.length).toBe(1);
      expect((await c.query("SELECT current_setting('server_version_num')::int > 0 AS ok")).rows).toEqual([
        { ok: true },
      ]);
      expect(
        (await c.query({ text: "SELECT current_setting('DateStyle') AS p", values: [] })).rows.length,
      ).toBe(1);
      // A free-text built-in (search_path, application_name) code may have set from a masked column:
      // untraceable under the profile's column rules, refused for a masked agent (class 268).
      expect(await outcome(c, "SELECT current_setting('search_path') AS p")).toMatch(
        /^error 42501 Gatehouse: Gatehouse cannot tell which columns/,
      );
      expect((await c.query("SELECT rolname FROM pg_roles WHERE rolname = 'pg_monitor'")).rows).toEqual([
        { rolname: 'pg_monitor' },
      ]);
    } finally {
      await c.end();
    }
  });

  it('a DBA still reads them', async () => {
    const c = gw.client(await gw.token({ subject: 'dana', groups: ['dba'] }));
    await c.connect();
    try {
      expect((await c.query('SHOW app.jwt_secret')).rows).toEqual([{ 'app.jwt_secret': JWT_SECRET }]);
    } finally {
      await c.end();
    }
  });

  it.skipIf(!hasCommand('psql'))(
    'psql: \\du, \\d and \\dt run for an agent; SHOW of the secret does not',
    async () => {
      const token = await gw.token({ subject: 'claude-psql', groups: [], agent: true });
      const env = {
        PGPASSWORD: token,
        PGHOST: '127.0.0.1',
        PGPORT: String(gw.port),
        PGUSER: 'claude',
        PGDATABASE: gw.connection,
        PGCONNECT_TIMEOUT: '5',
        PGSSLMODE: 'disable',
      };
      for (const meta of ['\\du', '\\dt', '\\d customers']) {
        const r = await run('psql', ['-X', '-v', 'ON_ERROR_STOP=1', '-c', meta], { env });
        expect(r.code, `${meta}: ${r.stderr}`).toBe(0);
        expect(leaks(r.stdout + r.stderr)).toBe(false);
      }
      for (const sql of ['SHOW app.jwt_secret', '\\drds', '\\dconfig app.*']) {
        const r = await run('psql', ['-X', '-v', 'ON_ERROR_STOP=1', '-c', sql], { env });
        expect(r.code, sql).not.toBe(0);
        expect(r.stderr, sql).toMatch(/agents-no-stored-settings/);
        expect(leaks(r.stdout + r.stderr), sql).toBe(false);
      }
    },
  );
});
