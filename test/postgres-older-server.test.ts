// An upstream older than the parser's grammar (docs/security.md, class 115). Gatehouse parses with
// PostgreSQL 18's grammar; PostgreSQL 15 reads some of the same text otherwise, without an error:
// `JSON_ARRAY(1, 2)` is, to 15, a call of whatever `json_array` its search path finds (here a user's
// function that reads a table the agent may not), `SYSTEM_USER` a column so named, `uuidv7()` a user's function, and
// RETURNING's `old` a FROM item so named. Such a statement is refused on a connection whose upstream
// is older than the release it needs, and allowed where the upstream reads it as Gatehouse does.
//
// Against the machine's PostgreSQL 15 (127.0.0.1:5432, trust; `PG15_TEST_URL` for another) when it
// answers; the part that needs it is skipped, saying so, when it does not. The PostgreSQL 18 side runs
// against the test PostgreSQL.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const PG15_URL = process.env.PG15_TEST_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';

/** Everyone in `testers` may do anything but call code PostgreSQL does not ship. */
const POLICIES: PolicyConfig[] = [
  {
    id: 'testers',
    subjects: { groups: ['testers'] },
    connections: ['*'],
    rules: [
      { id: 'no-user-code', effect: 'deny', match: { categories: ['procedural'] } },
      { id: 'no-vault', effect: 'deny', match: { tables: ['vault'] } },
      { id: 'the-rest', effect: 'allow', match: {} },
    ],
  },
];

const SETUP = `
  CREATE TABLE canary (v text); INSERT INTO canary VALUES ('intact');
  CREATE TABLE vault (secret text); INSERT INTO vault VALUES ('the-vault-secret');
  CREATE TABLE staff (id int, system_user text, card text);
  INSERT INTO staff VALUES (1, 'ops-1', '4111111111111111');
  CREATE TABLE t (id int, note text); INSERT INTO t VALUES (1, 'a');
  CREATE FUNCTION public.json_array(a int, b int) RETURNS text LANGUAGE sql AS
    $$ SELECT secret FROM vault $$;
  CREATE FUNCTION public.json_value(a text, b text) RETURNS text LANGUAGE sql AS
    $$ SELECT secret FROM vault $$;
  CREATE FUNCTION public.uuidv7() RETURNS text LANGUAGE plpgsql AS
    $$ BEGIN UPDATE canary SET v = 'uuidv7 ran'; RETURN (SELECT secret FROM vault); END $$;
`;

/** The major version a server reports, or the reason it cannot be used. */
async function probe(url: string): Promise<number | string> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    const v = (await c.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v;
    return Math.floor(Number(v) / 10000);
  } catch (e) {
    return (e as Error).message;
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function canary(gw: TestGateway): Promise<string> {
  const c = new pg.Client({ connectionString: gw.directUrl });
  await c.connect();
  try {
    return (await c.query<{ v: string }>('SELECT v FROM canary')).rows[0]!.v;
  } finally {
    await c.end();
  }
}

async function run(
  gw: TestGateway,
  sql: string,
): Promise<{ rows?: unknown[]; error?: string; code?: string }> {
  const c = gw.client(await gw.token({ subject: 'claude', groups: ['testers'], agent: true }));
  await c.connect();
  try {
    return { rows: (await c.query(sql)).rows };
  } catch (e) {
    return { error: (e as Error).message, code: (e as { code?: string }).code };
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Statements PostgreSQL 15 reads otherwise than PostgreSQL 18's grammar, without an error. */
const DIVERGENT = [
  'SELECT json_array(1, 2)',
  "SELECT json_value('x', 'y')",
  'SELECT uuidv7()',
  'SELECT system_user FROM staff',
  "UPDATE t SET note = 'b' FROM staff AS old WHERE t.id = old.id RETURNING old.card",
];

const pg15 = await probe(PG15_URL);
const why =
  typeof pg15 === 'string'
    ? `no PostgreSQL at ${PG15_URL} (${pg15})`
    : pg15 >= 18
      ? `the server at ${PG15_URL} is PostgreSQL ${pg15}, not older than 18`
      : undefined;
if (why) console.warn(`skipped: class 115 against an older server: ${why}`);

describe.skipIf(why !== undefined)(
  'class 115: an upstream older than the parser reads the same text otherwise',
  () => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startTestGateway({ superUrl: PG15_URL, policies: POLICIES, setupSql: SETUP });
    });
    afterAll(async () => gw?.stop());

    it('PostgreSQL 15 itself runs the user functions and reads the column (directly)', async () => {
      const c = new pg.Client({ connectionString: gw.directUrl });
      await c.connect();
      try {
        expect((await c.query('SELECT json_array(1, 2) AS a')).rows).toEqual([{ a: 'the-vault-secret' }]);
        await c.query('SELECT uuidv7()');
        expect((await c.query('SELECT v FROM canary')).rows[0].v).toBe('uuidv7 ran');
        await c.query("UPDATE canary SET v = 'intact'");
        expect((await c.query('SELECT system_user FROM staff')).rows).toEqual([{ system_user: 'ops-1' }]);
        const r = await c.query(
          "UPDATE t SET note = 'b' FROM staff AS old WHERE t.id = old.id RETURNING old.card",
        );
        expect(r.rows).toEqual([{ card: '4111111111111111' }]);
        await c.query("UPDATE t SET note = 'a'");
      } finally {
        await c.end();
      }
    });

    it('refuses each such statement through the gateway; nothing runs', async () => {
      for (const sql of DIVERGENT) {
        const r = await run(gw, sql);
        expect(JSON.stringify(r.rows ?? []), sql).not.toContain('the-vault-secret');
        expect(r.error, sql).toMatch(/upstream is PostgreSQL 15, which reads this statement differently/);
        expect(await canary(gw), sql).toBe('intact');
      }
      const c = new pg.Client({ connectionString: gw.directUrl });
      await c.connect();
      try {
        expect((await c.query('SELECT note FROM t')).rows).toEqual([{ note: 'a' }]);
      } finally {
        await c.end();
      }
    });

    it('a call of the user function by its own name is decided as user code', async () => {
      const r = await run(gw, 'SELECT public.json_array(1, 2)');
      expect(r.error).toMatch(/no-user-code/);
      expect(await canary(gw)).toBe('intact');
    });

    it('ordinary statements still run', async () => {
      expect(
        (await run(gw, "SELECT json_build_array(1, 2) AS a, current_user = 'x' AS b")).rows,
      ).toHaveLength(1);
      expect((await run(gw, 'SELECT id, note FROM t')).rows).toEqual([{ id: 1, note: 'a' }]);
      expect((await run(gw, "UPDATE t SET note = 'a' WHERE id = 1 RETURNING t.note")).rows).toEqual([
        { note: 'a' },
      ]);
    });
  },
);

describe('class 115: the same statements against PostgreSQL 18, which reads them as Gatehouse does', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({
      superUrl: inject('pgUrl'),
      policies: POLICIES,
      setupSql: `CREATE TABLE canary (v text); INSERT INTO canary VALUES ('intact');
                 CREATE TABLE t (id int, note text); INSERT INTO t VALUES (1, 'a');`,
    });
  });
  afterAll(async () => gw?.stop());

  it('runs the SQL/JSON constructors, SYSTEM_USER and RETURNING old', async () => {
    expect((await run(gw, 'SELECT json_array(1, 2) AS a')).rows).toEqual([{ a: [1, 2] }]);
    expect((await run(gw, 'SELECT system_user IS NULL AS n')).rows).toHaveLength(1);
    expect((await run(gw, "UPDATE t SET note = 'b' WHERE id = 1 RETURNING old.note AS was")).rows).toEqual([
      { was: 'a' },
    ]);
  });
});
