// Stored settings read through code the statement does not show (docs/security.md, class 130),
// through the real wire against a real PostgreSQL: an application's view or materialized view that
// calls current_setting() or reads pg_settings or the role catalogs, a view over such a view, and a
// function's own SET clause (pg_proc.proconfig, pg_get_functiondef). Under the default agent policy
// an agent reads none of them; a view that calls an application's function is held as such code.

import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultAgentPolicies } from '../src/policy/default-agent-policy.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const SEED = readFileSync(new URL('../src/demo/seed.sql', import.meta.url), 'utf8');
const JWT_SECRET = 'zebraJwtSecretQ7x9';
const FN_SECRET = 'otterFnSecretK3v8';
const SECRETS = [JWT_SECRET, FN_SECRET];

const SETUP = `
DO $$ BEGIN
  EXECUTE format('ALTER DATABASE %I SET app.jwt_secret = %L', current_database(), '${JWT_SECRET}');
END $$;
SET app.jwt_secret = '${JWT_SECRET}';
CREATE VIEW jwt_v AS SELECT current_setting('app.jwt_secret') AS s;
CREATE VIEW jwt_vv AS SELECT upper(s) AS s FROM jwt_v;
CREATE VIEW settings_v AS SELECT name, setting FROM pg_settings;
CREATE VIEW role_cfg_v AS SELECT rolname, rolconfig FROM pg_roles;
CREATE MATERIALIZED VIEW jwt_m AS SELECT current_setting('app.jwt_secret') AS s;
CREATE FUNCTION cfg_fn() RETURNS text LANGUAGE sql SET app.fn_key = '${FN_SECRET}'
  AS $f$ SELECT current_setting('app.fn_key') $f$;
CREATE VIEW fn_v AS SELECT cfg_fn() AS s;
CREATE VIEW plain_v AS SELECT id, name FROM customers;
`;

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: defaultAgentPolicies(['app'], { mask: true }),
    setupSql: SEED + SETUP,
  });
});
afterAll(async () => gw?.stop());

function leaks(text: string): boolean {
  return SECRETS.some((s) => text.includes(s));
}

async function outcome(c: pg.Client, sql: string): Promise<string> {
  try {
    const r = await c.query(sql);
    return `rows ${JSON.stringify(r.rows)}`;
  } catch (e) {
    const x = e as pg.DatabaseError;
    return `error ${x.code} ${x.message}`;
  }
}

describe('class 130: stored settings read through a view or a function definition', () => {
  it('an agent reads none of them; an ordinary view still reads', async () => {
    const c = gw.client(await gw.token({ subject: 'claude', groups: [], agent: true }));
    c.on('notice', () => undefined);
    await c.connect();
    try {
      for (const sql of [
        'SELECT s FROM jwt_v',
        'SELECT * FROM public.jwt_vv',
        "SELECT setting FROM settings_v WHERE name = 'app.jwt_secret'",
        'SELECT rolconfig FROM role_cfg_v',
        'SELECT s FROM jwt_m',
        "SELECT proconfig FROM pg_proc WHERE proname = 'cfg_fn'",
        "SELECT * FROM pg_catalog.pg_proc WHERE proname = 'cfg_fn'",
        "SELECT pg_get_functiondef('cfg_fn'::regproc)",
        'TABLE jwt_v',
        'SELECT to_json(j) FROM jwt_v j',
        'COPY (SELECT * FROM jwt_m) TO STDOUT',
        'PREPARE p AS SELECT s FROM jwt_vv',
      ]) {
        const got = await outcome(c, sql);
        expect(leaks(got), `${sql}: ${got}`).toBe(false);
        expect(got, sql).toMatch(/^error 42501 .*agents-no-stored-settings/);
      }
      // A view that runs an application's function is that function's code: held, as a call is.
      const held = await outcome(c, 'SELECT s FROM fn_v');
      expect(leaks(held), held).toBe(false);
      expect(held).toMatch(/^error/);

      expect((await c.query('SELECT id, name FROM plain_v ORDER BY id LIMIT 1')).rows.length).toBe(1);
      expect((await c.query("SELECT proname FROM pg_proc WHERE proname = 'cfg_fn'")).rows).toEqual([
        { proname: 'cfg_fn' },
      ]);
    } finally {
      await c.end();
    }
  });
});
