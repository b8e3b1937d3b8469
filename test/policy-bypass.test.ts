// Bypass resistance through the real wire path: every trick an agent might use against substring or
// regex guardrails, sent by the `pg` client through Gatehouse (default agent policy) to a real
// PostgreSQL, and checked both for the decision and for what actually happened upstream.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

let gw: TestGateway;
let agent: pg.Client;

const SETUP = `
  CREATE TABLE t (id int PRIMARY KEY, v text);
  INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 10) g;
  CREATE TABLE "tëst" (id int);
  CREATE SCHEMA evil;
  CREATE TABLE evil.t (id int);
  CREATE PROCEDURE p() LANGUAGE sql AS $$ DELETE FROM t $$;
`;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: [
      ...defaultAgentPolicies(['app']),
      // An operator's table rule, to check renames cannot get around it.
      {
        id: 'protect-t',
        subjects: { agent: true },
        connections: ['app'],
        rules: [{ id: 'agents-no-evil-schema', effect: 'deny', match: { tables: ['evil.*'] } }],
      },
    ],
    setupSql: SETUP,
  });
  agent = gw.client(await gw.token({ subject: 'claude', groups: ['ai-agents'], agent: true }));
  await agent.connect();
});
afterAll(async () => {
  await agent?.end();
  await gw?.stop();
});

async function direct<T>(sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: gw.directUrl });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

/** A refusal: 42501 for policy, 42601 (PostgreSQL's own syntax error) for text that does not parse. */
async function refused(sql: string, values?: unknown[], code = '42501'): Promise<pg.DatabaseError> {
  const err = (await agent.query(sql, values).then(
    () => undefined,
    (e: unknown) => e,
  )) as pg.DatabaseError | undefined;
  expect(err, `expected "${sql}" to be refused`).toBeDefined();
  expect(err!.code).toBe(code);
  return err!;
}

const rule = (e: pg.DatabaseError) => /Gatehouse rule: (\S+)/.exec(e.detail ?? '')?.[1];
const rowsOfT = async () => (await direct<{ n: number }>('SELECT count(*)::int AS n FROM t'))[0]!.n;

describe('the default agent policy cannot be talked around', () => {
  it('a second statement in the same string', async () => {
    expect(rule(await refused('SELECT 1; DROP TABLE t'))).toBe('agents-no-drop');
    expect(rule(await refused('SELECT 1;DROP TABLE t;'))).toBe('agents-no-drop');
    expect(await rowsOfT()).toBe(10);
  });

  it('comments between keywords, odd case, whitespace and Unicode', async () => {
    expect(rule(await refused('DROP/**/TABLE t'))).toBe('agents-no-drop');
    expect(rule(await refused('dRoP \n\t  TaBlE -- comment\n t'))).toBe('agents-no-drop');
    expect(rule(await refused('/* x */ DROP /* y */ TABLE /* z */ "t"'))).toBe('agents-no-drop');
    expect(rule(await refused('DROP TABLE "tëst"'))).toBe('agents-no-drop');
    // Full-width letters are not SQL keywords: this is an identifier, so it fails to parse.
    expect(rule(await refused('ＤＲＯＰ TABLE t', undefined, '42601'))).toBe('unparseable');
  });

  it('SQL inside dollar-quoted and E strings is data, not a statement', async () => {
    expect((await agent.query('SELECT $$DROP TABLE t$$ AS s')).rows[0].s).toBe('DROP TABLE t');
    expect((await agent.query(`SELECT E'\\'; DROP TABLE t; --' AS s`)).rows[0].s).toBe(`'; DROP TABLE t; --`);
    expect((await agent.query(`SELECT $tag$ $$ ; DELETE FROM t; $tag$ AS s`)).rows[0].s).toContain('DELETE');
    expect(await rowsOfT()).toBe(10);
  });

  it('the extended protocol: refused at Parse; a named statement reuses its decision', async () => {
    expect(rule(await refused('DELETE FROM t', []))).toBe('agents-no-unbounded-writes');
    const e = (await agent
      .query({ name: 'wipe', text: 'TRUNCATE t' })
      .catch((x: unknown) => x)) as pg.DatabaseError;
    expect(e.code).toBe('42501');
    // The refused name was never prepared upstream: executing it again is refused again.
    const again = (await agent
      .query({ name: 'wipe', text: 'TRUNCATE t' })
      .catch((x: unknown) => x)) as pg.DatabaseError;
    expect(again.code).toBe('42501');
    for (let i = 1; i <= 3; i++) {
      const r = await agent.query({ name: 'read-one', text: 'SELECT v FROM t WHERE id = $1', values: [i] });
      expect(r.rows[0].v).toBe(`v${i}`);
    }
    expect(await rowsOfT()).toBe(10);
  });

  it('PREPARE/EXECUTE: PREPARE is decided on its body; EXECUTE of an unseen name is refused', async () => {
    expect(rule(await refused('PREPARE del AS DELETE FROM t'))).toBe('agents-no-unbounded-writes');
    expect(rule(await refused('EXECUTE del'))).toBe('unknown-prepared-statement');
    await agent.query('PREPARE sel(int) AS SELECT v FROM t WHERE id = $1');
    expect((await agent.query('EXECUTE sel(4)')).rows[0].v).toBe('v4');
    await agent.query('DEALLOCATE sel');
    expect(rule(await refused('EXECUTE sel(4)'))).toBe('unknown-prepared-statement');
    expect(await rowsOfT()).toBe(10);
  });

  it('side-effect functions called from a SELECT', async () => {
    expect(rule(await refused('SELECT pg_terminate_backend(pg_backend_pid())'))).toBe('agents-no-admin');
    expect(rule(await refused('SELECT pg_reload_conf()'))).toBe('agents-no-admin');
    expect(rule(await refused(`SELECT dblink_exec('dbname=postgres', 'DROP TABLE t')`))).toBe(
      'agents-no-files-or-programs',
    );
    expect(rule(await refused(`SELECT pg_read_file('/etc/passwd')`))).toBe('agents-no-files-or-programs');
    // lo_unlink destroys a large object: a write, which needs review (refused: no approval service here).
    expect(rule(await refused('SELECT lo_unlink(1234)'))).toBe('agents-review-writes');
  });

  it('writable CTEs, EXPLAIN ANALYZE and COPY of a write', async () => {
    expect(rule(await refused('WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d'))).toBe(
      'agents-no-unbounded-writes',
    );
    expect(rule(await refused('WITH d AS (DELETE FROM t WHERE id = 1 RETURNING *) SELECT * FROM d'))).toBe(
      'agents-review-writes',
    );
    expect(rule(await refused('EXPLAIN ANALYZE DELETE FROM t WHERE id = 2'))).toBe('agents-review-writes');
    expect(rule(await refused('COPY (DELETE FROM t WHERE id = 3 RETURNING *) TO STDOUT'))).toBe(
      'agents-review-writes',
    );
    // EXPLAIN without ANALYZE only plans: a read.
    expect((await agent.query('EXPLAIN DELETE FROM t')).rows.length).toBeGreaterThan(0);
    expect(await rowsOfT()).toBe(10);
  });

  it('unbounded writes in disguise', async () => {
    expect(rule(await refused('DELETE FROM t WHERE true'))).toBe('agents-no-unbounded-writes');
    expect(rule(await refused('DELETE FROM t WHERE 1 = 1'))).toBe('agents-no-unbounded-writes');
    expect(rule(await refused(`UPDATE t SET v = 'x' WHERE 'a' = 'a'`))).toBe('agents-no-unbounded-writes');
    expect(rule(await refused(`UPDATE t SET v = 'x' WHERE NOT false`))).toBe('agents-no-unbounded-writes');
    expect(await rowsOfT()).toBe(10);
  });

  it('rules, triggers, CALL and DO hide code that runs later', async () => {
    // Both are procedural and ddl-create: either review rule may be the one named.
    expect(rule(await refused('CREATE RULE r AS ON SELECT TO t DO INSTEAD NOTHING'))).toMatch(
      /^agents-review-(procedural|ddl)$/,
    );
    expect(
      rule(await refused('CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()')),
    ).toMatch(/^agents-review-(procedural|ddl)$/);
    expect(rule(await refused('CALL p()'))).toBe('agents-review-procedural');
    expect(rule(await refused(`DO $$ BEGIN EXECUTE 'DROP TABLE t'; END $$`))).toBe(
      'agents-review-procedural',
    );
    expect(await rowsOfT()).toBe(10);
  });

  it('search_path cannot be pointed at a shadow schema', async () => {
    expect(rule(await refused('SET search_path TO evil, public'))).toBe('agents-no-search-path');
    expect(rule(await refused('SET LOCAL search_path = evil'))).toBe('agents-no-search-path');
    expect(rule(await refused(`SELECT set_config('search_path', 'evil', false)`))).toBe('agents-no-admin');
    // The startup packet cannot set it either: `options` is decided like SET, and refused at startup.
    const c = gw.client(await gw.token({ subject: 'claude2', groups: ['ai-agents'], agent: true }), {
      options: '-c search_path=evil',
    });
    const err = (await c.connect().catch((e: unknown) => e)) as pg.DatabaseError;
    expect(err.code).toBe('42501');
    expect(err.message).toMatch(/startup setting search_path refused.*agents-no-search-path/);
  });

  it('a rename cannot get around a table rule', async () => {
    expect(rule(await refused('SELECT * FROM evil.t'))).toBe('agents-no-evil-schema');
    expect(rule(await refused('ALTER TABLE evil.t RENAME TO harmless'))).toBe('agents-no-evil-schema');
    expect(rule(await refused('ALTER TABLE t RENAME TO u'))).toBe('agents-review-ddl');
    expect(
      (
        await direct<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_tables WHERE tablename IN ('t', 'harmless')`,
        )
      )[0]!.n,
    ).toBe(2);
  });

  it('credential catalogs and text that does not parse', async () => {
    expect(rule(await refused('SELECT rolpassword FROM pg_authid'))).toBe('agents-no-credential-catalogs');
    expect(rule(await refused('SELECT * FROM pg_catalog.pg_shadow'))).toBe('agents-no-credential-catalogs');
    expect(rule(await refused('SELEC * FROM t', undefined, '42601'))).toBe('unparseable');
    expect(rule(await refused('SELECT 1; DROP TABLE', undefined, '42601'))).toBe('unparseable');
  });

  it('the session stays usable after every refusal', async () => {
    expect((await agent.query('SELECT count(*)::int AS n FROM t')).rows[0].n).toBe(10);
  });
});
