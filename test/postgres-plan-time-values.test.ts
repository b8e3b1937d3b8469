// Through the real wire against a real PostgreSQL, as a masked agent under the default policy:
// - EXPLAIN without ANALYZE runs functions: the planner evaluates a STABLE call in LIMIT or OFFSET
//   (and folds IMMUTABLE ones), and the value comes back as the plan's row estimate or in the error a
//   cast of it raises. `EXPLAIN SELECT 1 LIMIT current_setting('app.jwt_secret')::int` quoted the
//   secret, `LIMIT ascii(substr(…table_to_xml('public.api_keys', …)…, n, 1))` gave an unmasked
//   secret one character per statement as `rows=`, and pg_stat_get_backend_activity another
//   session's statement text (docs/security.md, class 170).
// - A column alias list renames a catalog's columns by position, so `pg_roles AS r(c1, …, c12)`
//   returned rolconfig (a role's stored settings) where `SELECT rolconfig FROM pg_roles` is refused;
//   functional notation (`r.to_json`) handed the whole row to a function (class 171).

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultAgentPolicies } from '../src/policy/default-agent-policy.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const SEED = readFileSync(new URL('../src/demo/seed.sql', import.meta.url), 'utf8');
const JWT_SECRET = 'zebraJwtPlanQ7x9';
const ROLE_SECRET = 'yakRoleAliasP4m2';
const FN_SECRET = 'gnuFnAliasK8w3';
const TEXT_SECRET = 'yakWombatSecret4242';
const ROLE = `gh_cfg_${randomBytes(4).toString('hex')}`;

let gw: TestGateway;
let direct: pg.Client;
let other: pg.Client;
let apiSecret: string;
let backendId: number;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: defaultAgentPolicies(['app'], { mask: true }),
    setupSql:
      SEED +
      `DO $$ BEGIN
         EXECUTE format('ALTER DATABASE %I SET app.jwt_secret = %L', current_database(), '${JWT_SECRET}');
       END $$;
       CREATE ROLE ${ROLE} NOLOGIN;
       ALTER ROLE ${ROLE} SET app.role_secret = '${ROLE_SECRET}';
       CREATE FUNCTION public.cfg_fn() RETURNS int LANGUAGE sql SET app.fn_secret = '${FN_SECRET}' AS 'SELECT 1';`,
    extra: {
      masking: {
        style: 'redact',
        columns: [{ column: 'public.api_keys.secret', style: 'redact', tag: 'api_secret' }],
      },
    },
  });
  direct = new pg.Client({ connectionString: gw.directUrl });
  await direct.connect();
  apiSecret = (await direct.query<{ s: string }>('SELECT secret AS s FROM api_keys ORDER BY id LIMIT 1'))
    .rows[0]!.s;
  // Another session (a DBA, a job) whose last statement quotes a value; it stays idle.
  other = new pg.Client({ connectionString: gw.directUrl });
  await other.connect();
  await other.query(`SELECT '${TEXT_SECRET}' AS w`);
  const pid = (await other.query<{ p: number }>('SELECT pg_backend_pid() AS p')).rows[0]!.p;
  await other.query(`SELECT '${TEXT_SECRET}' AS w`);
  backendId = (
    await direct.query<{ id: number }>(
      'SELECT b AS id FROM pg_stat_get_backend_idset() b WHERE pg_stat_get_backend_pid(b) = $1',
      [pid],
    )
  ).rows[0]!.id;
});
afterAll(async () => {
  await other?.end();
  await direct?.query(`DROP ROLE IF EXISTS ${ROLE}`).catch(() => undefined);
  await direct?.end();
  await gw?.stop();
});

/** What the agent got back: rows, or the error with its detail (which names the rule). */
async function outcome(c: pg.Client, sql: string, values?: unknown[]): Promise<string> {
  try {
    const config = { text: sql, values, queryMode: 'extended' } as pg.QueryConfig;
    const r = await c.query(values === undefined ? sql : config);
    return `rows ${JSON.stringify(r.rows)}`;
  } catch (e) {
    const x = e as pg.DatabaseError;
    return `error ${x.code} ${x.message} ${x.detail ?? ''}`;
  }
}

function leaks(text: string): string | undefined {
  return [JWT_SECRET, ROLE_SECRET, FN_SECRET, TEXT_SECRET, apiSecret].find((s) => text.includes(s));
}

async function asAgent<T>(subject: string, run: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = gw.client(await gw.token({ subject, groups: [], agent: true }));
  c.on('notice', () => undefined);
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await run(c);
  } finally {
    await c.end();
  }
}

/** `rows=` of the plan's first line: what the planner made of the LIMIT expression. */
const rowsEstimate = (got: string): string | undefined => /Limit[^"]*rows=(\d+)/.exec(got)?.[1];

describe('class 170: EXPLAIN runs the functions the planner folds or estimates with', () => {
  it('the server evaluates them while it only plans (directly, as the upstream role)', async () => {
    const setting = await outcome(direct, "EXPLAIN SELECT 1 LIMIT current_setting('app.jwt_secret')::int");
    expect(setting).toContain(JWT_SECRET);
    const text = await outcome(
      direct,
      `EXPLAIN SELECT * FROM generate_series(1, 1000000) LIMIT ascii(pg_stat_get_backend_activity(${backendId}))`,
    );
    expect(rowsEstimate(text)).toBe(String('S'.charCodeAt(0)));
  });

  it('a masked agent gets no stored setting, masked column or statement text from a plan', async () => {
    const xml = (n: number) =>
      `ascii(substr((xpath('/api_keys/row[id=1]/secret/text()', table_to_xml('public.api_keys', true, false, '')))[1]::text, ${n}, 1))`;
    const activity = (n: number) => `ascii(substr(pg_stat_get_backend_activity(${backendId}), ${n}, 1))`;
    const probes: [string, RegExp][] = [];
    for (const explain of ['EXPLAIN', 'EXPLAIN (FORMAT JSON)', 'EXPLAIN VERBOSE']) {
      probes.push(
        [`${explain} SELECT 1 LIMIT current_setting('app.jwt_secret')::int`, /agents-no-stored-settings/],
        [
          `${explain} SELECT 1 OFFSET pg_get_functiondef('public.cfg_fn()'::regprocedure)::int`,
          /agents-no-stored-settings/,
        ],
        // procedural for the policy (held), and a plan lineage cannot trace (refused)
        [
          `${explain} SELECT * FROM generate_series(1, 1000000) LIMIT ${xml(1)}`,
          /agents-review-procedural|masking-lineage-unproven/,
        ],
        [
          `${explain} SELECT * FROM generate_series(1, 1000000) LIMIT ${activity(9)}`,
          /masking-lineage-unproven/,
        ],
      );
    }
    // The same oracle without EXPLAIN: how many rows come back is the value.
    probes.push(
      [
        `SELECT count(*) FROM (SELECT * FROM generate_series(1, 1000000) LIMIT ${activity(9)}) s`,
        /masking-predicate/,
      ],
      [`SELECT 1 AS one WHERE ${activity(9)} = ascii('y')`, /masking-predicate/],
    );
    await asAgent('claude-plan', async (c) => {
      for (const [sql, rule] of probes) {
        for (const values of [undefined, []]) {
          const got = await outcome(c, sql, values);
          expect(leaks(got), `${sql}: ${got}`).toBeUndefined();
          expect(got, sql).toMatch(/^error 42501 /);
          expect(got, sql).toMatch(rule);
        }
      }
      // A bound parameter naming the setting.
      const bound = await outcome(c, 'EXPLAIN SELECT 1 LIMIT current_setting($1)::int', ['app.jwt_secret']);
      expect(leaks(bound), bound).toBeUndefined();
      expect(bound).toMatch(/^error 42501 .*agents-no-stored-settings/);

      // Plans of traceable built-in code are still reads, masked columns included.
      for (const sql of [
        'EXPLAIN SELECT * FROM customers WHERE id = 1',
        "EXPLAIN (FORMAT JSON) SELECT secret FROM api_keys WHERE id = abs(-1) LIMIT ascii('x')",
        "EXPLAIN VERBOSE SELECT upper(name) FROM customers LIMIT length(current_setting('DateStyle'))",
      ]) {
        const got = await outcome(c, sql);
        expect(got, sql).toMatch(/^rows /);
        expect(leaks(got), sql).toBeUndefined();
      }
      expect(
        rowsEstimate(await outcome(c, "EXPLAIN SELECT * FROM generate_series(1, 1000) LIMIT ascii('x')")),
      ).toBe('120');
    });
  });
});

describe('class 171: a column alias list or a function of the row reaches a catalog settings column', () => {
  it('the server returns them under other names (directly)', async () => {
    const got = await outcome(
      direct,
      `SELECT c12 FROM pg_roles AS r(c1,c2,c3,c4,c5,c6,c7,c8,c9,c10,c11,c12) WHERE c1 = '${ROLE}'`,
    );
    expect(got).toContain(ROLE_SECRET);
  });

  it('a masked agent reads none of them', async () => {
    const k = Array.from({ length: 29 }, (_, i) => `k${i + 1}`).join(',');
    const probes = [
      'SELECT c1, c12 FROM pg_roles AS r(c1,c2,c3,c4,c5,c6,c7,c8,c9,c10,c11,c12) WHERE c12 IS NOT NULL',
      `SELECT k3, k29 FROM pg_proc AS p(${k}) WHERE k29 IS NOT NULL`,
      `SELECT c9 FROM pg_user AS u(c1,c2,c3,c4,c5,c6,c7,c8,c9) WHERE c1 = '${ROLE}'`,
      `SELECT j.c12 FROM (pg_roles r CROSS JOIN (SELECT 1) x) AS j(c1,c2,c3,c4,c5,c6,c7,c8,c9,c10,c11,c12) WHERE j.c1 = '${ROLE}'`,
      `SELECT r.to_json FROM pg_roles r WHERE rolname = '${ROLE}'`,
      `SELECT pg_catalog.pg_roles.row_to_json FROM pg_catalog.pg_roles WHERE rolname = '${ROLE}'`,
      `SELECT j.to_jsonb FROM (pg_roles r CROSS JOIN (SELECT 1) x) j WHERE j.rolname = '${ROLE}'`,
      `EXPLAIN SELECT 1 LIMIT (SELECT count(*) FROM pg_roles AS r(a,b,c,d,e,f,g,h,i,j,k,l) WHERE l IS NOT NULL)`,
    ];
    await asAgent('claude-alias', async (c) => {
      for (const sql of probes) {
        for (const values of [undefined, []]) {
          const got = await outcome(c, sql, values);
          expect(leaks(got), `${sql}: ${got}`).toBeUndefined();
          expect(got, sql).toMatch(/^error 42501 .*agents-no-stored-settings/);
        }
      }
      // What tools read without the settings column still runs.
      expect(
        await outcome(c, `SELECT r.rolname, r.oid > 0 AS ok FROM pg_roles r WHERE r.rolname = '${ROLE}'`),
      ).toBe(`rows [{"rolname":"${ROLE}","ok":true}]`);
      expect(
        await outcome(
          c,
          `SELECT c.relname, r.rolname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner WHERE c.relname = 'api_keys'`,
        ),
      ).toMatch(/^rows \[\{"relname":"api_keys"/);
    });
  });
});
