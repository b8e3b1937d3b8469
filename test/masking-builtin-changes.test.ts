// Lineage trusts PostgreSQL's own functions to be what their catalog entries say: `setval` is
// volatile (a masked value handed to it is kept: refused), `query_to_xml` runs SQL (its result is
// untraceable), a pg_catalog function in SQL computes only from its arguments. A masked principal whose
// upstream login may change pg_catalog changed those premises with plain DDL, then read a ruled column
// through them (docs/security.md, class 349). Through the real listener, the `pg` client and a real
// server (the test kit's upstream login is a superuser, as a careless operator's would be).

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from './testkit/gateway.js';
import { VAULT_SECRET as SECRET, asPrincipal, refusal, startVaultGateway } from './testkit/masked-vault.js';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startVaultGateway(
    'CREATE SEQUENCE seq1; CREATE FUNCTION public.mine() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;',
  );
});
afterAll(async () => gw?.stop());

const as = <T>(groups: string[], subject: string, f: (c: pg.Client) => Promise<T>): Promise<T> =>
  asPrincipal(gw, groups, subject, f);

describe("changes of PostgreSQL's own functions by a masked principal", { timeout: 60_000 }, () => {
  it('ALTER FUNCTION of a built-in, qualified or not, is refused, and setval still keeps nothing masked', async () => {
    await as(['analysts'], 'ann', async (c) => {
      for (const sql of [
        'ALTER FUNCTION pg_catalog.setval(regclass, bigint) IMMUTABLE',
        'ALTER FUNCTION setval(regclass, bigint, boolean) IMMUTABLE',
        'ALTER ROUTINE upper(text) STABLE',
      ]) {
        const e = await refusal(c, sql);
        expect(e.code, sql).toBe('42501');
        expect(e.message, sql).toMatch(/PostgreSQL's own function/);
      }
      expect((await refusal(c, "SELECT setval('seq1', ascii(token)) FROM vault")).code).toBe('42501');
      expect((await c.query('SELECT last_value FROM seq1')).rows).toEqual([{ last_value: '1' }]);
    });
  });

  it('renaming or moving a built-in, creating a function in pg_catalog and writing pg_proc are refused', async () => {
    await as(['analysts'], 'ann2', async (c) => {
      for (const sql of [
        'ALTER FUNCTION query_to_xml(text, boolean, boolean, text) RENAME TO qx',
        'ALTER FUNCTION pg_catalog.query_to_xml(text, boolean, boolean, text) SET SCHEMA public',
        'ALTER FUNCTION public.mine() SET SCHEMA pg_catalog',
        'CREATE FUNCTION pg_catalog.leak() RETURNS text LANGUAGE sql AS $$ SELECT token FROM public.vault $$',
        "UPDATE pg_catalog.pg_proc SET provolatile = 'i' WHERE proname = 'setval'",
        "UPDATE pg_proc SET provolatile = 'i' WHERE proname = 'setval'",
      ])
        expect((await refusal(c, sql)).code, sql).toBe('42501');
      const r = await c.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_proc WHERE proname IN ('qx', 'leak') OR (proname = 'setval' AND provolatile <> 'v')",
      );
      expect(r.rows[0]!.n).toBe('0');
      const x = await c.query(
        `SELECT query_to_xml('SELECT token AS note FROM vault', true, false, '')::text AS x`,
      );
      expect(JSON.stringify(x.rows)).not.toContain(SECRET);
    });
  });

  it('a function created in pg_catalog through search_path is not taken for a built-in', async () => {
    await as(['analysts'], 'ann4', async (c) => {
      await c.query('SET search_path = pg_catalog, public');
      await c.query(
        'CREATE FUNCTION peek() RETURNS text LANGUAGE sql AS $$ SELECT token FROM public.vault $$',
      );
      const r = await c.query<{ v: string }>('SELECT peek() AS v');
      expect(r.rows[0]!.v).not.toContain(SECRET);
      expect(r.rows[0]!.v).toMatch(/^\[REDACTED/);
      const q = await c.query<{ v: string }>('SELECT pg_catalog.peek() AS v');
      expect(q.rows[0]!.v).toMatch(/^\[REDACTED/);
    });
  });

  it('its own functions are altered as before, and a principal without a mask obligation alters built-ins', async () => {
    await as(['analysts'], 'ann3', async (c) => {
      await c.query('ALTER FUNCTION public.mine() STABLE');
      await c.query('ALTER FUNCTION public.mine() RENAME TO mine2');
      await c.query('ALTER FUNCTION public.mine2() RENAME TO mine');
    });
    await as(['dba'], 'olga', async (c) => {
      await c.query('ALTER FUNCTION pg_catalog.to_hex(integer) STABLE');
      await c.query('ALTER FUNCTION pg_catalog.to_hex(integer) IMMUTABLE');
    });
  });
});
