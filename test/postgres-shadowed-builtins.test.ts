// A built-in name called unqualified runs user code when a user function or operator of that name
// wins PostgreSQL's overload resolution (other argument types, or the same ones with pg_catalog
// later in search_path): docs/security.md, class 125. Through the real wire against a real
// PostgreSQL: such calls are `procedural` (refused here), whatever the arguments, and names nobody
// overloads still run as built-ins.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const SETUP = `
CREATE TABLE vault (secret text);
INSERT INTO vault VALUES ('s3cr3t');
CREATE TABLE notes (id int, body text);
INSERT INTO notes VALUES (1, 'Hello');
-- An application's function that overloads a built-in name with other argument types.
CREATE FUNCTION public.lower(integer) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN RETURN (SELECT secret FROM vault LIMIT 1); END $$;
-- The same signature as a built-in: wins only where search_path names pg_catalog after public.
CREATE FUNCTION public.upper(text) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN RETURN (SELECT secret FROM vault LIMIT 1); END $$;
-- A function of a table's row type, which n.leak calls (field notation) without naming a call.
CREATE FUNCTION public.leak(notes) RETURNS text LANGUAGE sql AS $$ SELECT secret FROM vault $$;
-- An operator on built-in types that pg_catalog does not have.
CREATE FUNCTION public.text_plus(text, text) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN RETURN (SELECT secret FROM vault LIMIT 1); END $$;
CREATE OPERATOR public.+ (LEFTARG = text, RIGHTARG = text, FUNCTION = public.text_plus);
-- An equality that JOIN USING, IN, CASE and NULLIF look up by name.
CREATE FUNCTION public.text_eq_bigint(text, bigint) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN RAISE NOTICE 'leak: %', (SELECT secret FROM vault LIMIT 1); RETURN true; END $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = bigint, FUNCTION = public.text_eq_bigint);
-- Comparisons of a type pg_catalog has none for, which JOIN USING and BETWEEN look up by name.
CREATE FUNCTION public.xml_cmp(xml, xml) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN RAISE NOTICE 'leak: %', (SELECT secret FROM vault LIMIT 1); RETURN true; END $$;
CREATE OPERATOR public.= (LEFTARG = xml, RIGHTARG = xml, FUNCTION = public.xml_cmp);
CREATE OPERATOR public.<= (LEFTARG = xml, RIGHTARG = xml, FUNCTION = public.xml_cmp);
CREATE OPERATOR public.>= (LEFTARG = xml, RIGHTARG = xml, FUNCTION = public.xml_cmp);
-- For an operator another session adds later, over a statement prepared before it.
CREATE FUNCTION public.text_ne_varchar(text, varchar) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION 'leak: %', (SELECT secret FROM vault LIMIT 1); END $$;
-- An equality that keeps what it is given: a masked value handed to it outlives the masked result.
CREATE TABLE drop_box (v text);
CREATE FUNCTION public.text_eq_keep(text, numeric) RETURNS boolean LANGUAGE plpgsql AS
  $$ BEGIN INSERT INTO drop_box VALUES ($1); RETURN false; END $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = numeric, FUNCTION = public.text_eq_keep);
`;

/** A person whose results are masked and who may run anything (writes and user code included). */
const MASKED_PERSON: PolicyConfig = {
  id: 'masked-people',
  subjects: { groups: ['analysts'] },
  connections: ['app'],
  rules: [{ id: 'analysts-all-masked', effect: 'allow', match: {}, mask: true }],
};

const POLICY: PolicyConfig[] = [
  {
    id: 'guarded',
    subjects: [{ agent: true }],
    connections: ['app'],
    rules: [
      { id: 'no-vault', effect: 'deny', match: { tables: ['public.vault'] } },
      { id: 'no-user-code', effect: 'deny', match: { categories: ['procedural'] } },
      { id: 'all', effect: 'allow', match: {} },
    ],
  },
  MASKED_PERSON,
];

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: POLICY,
    setupSql: SETUP,
    extra: { masking: { style: 'redact', columns: [{ column: 'public.notes.body', style: 'redact' }] } },
  });
});
afterAll(async () => gw?.stop());

async function outcome(c: pg.Client, sql: string): Promise<string> {
  try {
    const r = await c.query(sql);
    return JSON.stringify(r.rows);
  } catch (e) {
    return `error ${(e as pg.DatabaseError).code}`;
  }
}

describe('class 125: a built-in name that a user function or operator overloads is user code', () => {
  it('refuses calls that user code of a built-in name can answer; built-ins nobody overloads run', async () => {
    const c = gw.client(await gw.token({ subject: 'claude', groups: [], agent: true }));
    const notices: string[] = [];
    c.on('notice', (n) => notices.push(n.message ?? ''));
    await c.connect();
    try {
      for (const sql of [
        'SELECT lower(1)',
        "SELECT lower('ABC')",
        "SELECT 'a' + 'b'",
        "SELECT 'a'::text + 'b'::text",
        "SELECT 'a' OPERATOR(public.+) 'b'",
        "SELECT 1 WHERE 'a'::text = 1::bigint",
        "SELECT 1 WHERE 'a'::text IN (1::bigint)",
        "SELECT CASE 'a'::text WHEN 1::bigint THEN 'hit' END",
        "SELECT NULLIF('a'::text, 1::bigint)",
        "SELECT * FROM (SELECT '<a/>'::xml AS k) x JOIN (SELECT '<b/>'::xml AS k) y USING (k)",
        "SELECT * FROM (SELECT '<a/>'::xml AS k) x NATURAL JOIN (SELECT '<b/>'::xml AS k) y",
        "SELECT 1 WHERE '<a/>'::xml BETWEEN '<b/>'::xml AND '<c/>'::xml",
        'SELECT n.leak FROM notes n',
        'SELECT (n).leak FROM notes n',
        'SELECT public.notes.leak FROM public.notes',
        "SELECT 1 WHERE 'a'::text = ANY (ARRAY[1::bigint])",
        "SELECT 1 WHERE 'a'::text IN (SELECT 1::bigint)",
        "SELECT 1 WHERE 'a'::text IS DISTINCT FROM 1::bigint",
      ]) {
        expect(await outcome(c, sql), sql).toBe('error 42501');
      }
      expect(notices.filter((n) => n.includes('s3cr3t'))).toEqual([]);
      // Names no user code overloads still run as the built-ins.
      expect(await outcome(c, "SELECT length('abc') AS n")).toBe('[{"n":3}]');
      expect(await outcome(c, 'SELECT id FROM notes WHERE id > 0 ORDER BY id')).toBe('[{"id":1}]');
      expect(await outcome(c, 'SELECT n.body FROM notes n')).toBe('[{"body":"Hello"}]');
      // Spelled pg_catalog's, a built-in name is the built-in whatever user code is called so.
      expect(await outcome(c, "SELECT pg_catalog.lower('ABC') AS l")).toBe('[{"l":"abc"}]');
    } finally {
      await c.end();
    }
  });

  it('refuses a same-signature overload where search_path puts pg_catalog after it', async () => {
    const c = gw.client(await gw.token({ subject: 'claude', groups: [], agent: true }));
    await c.connect();
    try {
      // The role default the operator could have set is what the server uses; here the session's own.
      await c.query('SET search_path = public, pg_catalog');
      expect(await outcome(c, "SELECT upper('a')")).toBe('error 42501');
    } finally {
      await c.end();
    }
  });

  it('takes every built-in name as overloaded after the session changed the catalog, until it commits', async () => {
    const c = gw.client(await gw.token({ subject: 'claude', groups: [], agent: true }));
    const notices: string[] = [];
    c.on('notice', (n) => notices.push(n.message ?? ''));
    await c.connect();
    try {
      const op = 'CREATE OPERATOR public.<<< (LEFTARG = xml, RIGHTARG = xml, FUNCTION = public.xml_cmp)';
      // Not yet committed: the catalog Gatehouse reads cannot show it.
      await c.query('BEGIN');
      expect(await outcome(c, op)).toBe('[]');
      expect(await outcome(c, "SELECT 1 WHERE '<a/>'::xml <<< '<b/>'::xml")).toBe('error 42501');
      await c.query('ROLLBACK');
      // In one query string.
      expect(await outcome(c, `${op}; SELECT 1 WHERE '<a/>'::xml <<< '<b/>'::xml`)).toBe('error 42501');
      expect(notices.filter((n) => n.includes('s3cr3t'))).toEqual([]);
    } finally {
      await c.end();
    }
  });

  it('refuses handing a masked column to user code under an implied operator', async () => {
    const c = gw.client(await gw.token({ subject: 'ann', groups: ['analysts'] }));
    await c.connect();
    try {
      expect(await outcome(c, 'SELECT body FROM notes')).not.toContain('Hello');
      for (const sql of [
        "SELECT CASE body WHEN 1::numeric THEN 'x' END FROM notes",
        'SELECT 1 FROM notes WHERE body IN (1::numeric)',
        'SELECT NULLIF(body, 1::numeric) FROM notes',
      ])
        expect(await outcome(c, sql), sql).toBe('error 42501');
      expect(await outcome(c, 'SELECT count(*)::int AS n FROM drop_box')).toBe('[{"n":0}]');
    } finally {
      await c.end();
    }
  });

  it('sees a function created after the names were read, in another session', async () => {
    const c = gw.client(await gw.token({ subject: 'claude', groups: [], agent: true }));
    await c.connect();
    try {
      expect(await outcome(c, "SELECT initcap('ab') AS v")).toBe('[{"v":"Ab"}]');
      // Prepared while only the built-in answers; PostgreSQL analyses it again after an operator changes.
      await c.query("PREPARE p AS SELECT 1 AS one WHERE 'a'::text <> 'b'::varchar");
      expect(await outcome(c, 'EXECUTE p')).toBe('[{"one":1}]');
      const d = new pg.Client({ connectionString: gw.directUrl });
      await d.connect();
      try {
        await d.query(
          'CREATE FUNCTION public.initcap(integer) RETURNS text LANGUAGE sql AS $$ SELECT secret FROM vault $$',
        );
        await d.query(
          'CREATE OPERATOR public.<> (LEFTARG = text, RIGHTARG = varchar, FUNCTION = public.text_ne_varchar)',
        );
      } finally {
        await d.end();
      }
      // Names are read again at most 2 s after they were (catalog-resolver.ts, overloadTtlMs).
      await new Promise((resolve) => setTimeout(resolve, 2_100));
      expect(await outcome(c, 'SELECT initcap(1)')).toBe('error 42501');
      expect(await outcome(c, 'EXECUTE p')).toBe('error 42501');
    } finally {
      await c.end();
    }
  });
});
