// CREATE TABLE … AS EXECUTE stores in a new table the rows a prepared statement returns. Lineage
// traced EXECUTE's arguments there (class 249) but not the prepared statement, so a masked principal
// copied a ruled column into a table of its own with two plain statements, and read it back in clear
// (docs/security.md, class 348). Through the real listener, the `pg` client and a real server.

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from './testkit/gateway.js';
import { VAULT_SECRET as SECRET, asPrincipal, refusal, startVaultGateway } from './testkit/masked-vault.js';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startVaultGateway();
});
afterAll(async () => gw?.stop());

const as = <T>(groups: string[], subject: string, f: (c: pg.Client) => Promise<T>): Promise<T> =>
  asPrincipal(gw, groups, subject, f);

const tables = async (c: pg.Client): Promise<string[]> =>
  (
    await c.query<{ relname: string }>(
      "SELECT relname FROM pg_class WHERE relname LIKE 'kept%' ORDER BY relname",
    )
  ).rows.map((r) => r.relname);

describe('CREATE TABLE AS EXECUTE for a masked principal', { timeout: 60_000 }, () => {
  it("storing a prepared statement's masked column in a new table is refused", async () => {
    await as(['analysts'], 'ann', async (c) => {
      await c.query('PREPARE leak AS SELECT token AS note FROM vault');
      const e = await refusal(c, 'CREATE TABLE kept AS EXECUTE leak');
      expect(e.code).toBe('42501');
      expect(e.message).toMatch(
        /writes a value derived from masked column public\.vault\.token .*CREATE TABLE AS EXECUTE/,
      );
      expect((await refusal(c, 'CREATE TEMP TABLE kept_temp AS EXECUTE leak')).code).toBe('42501');
      expect((await refusal(c, 'EXPLAIN ANALYZE CREATE TABLE kept_plan AS EXECUTE leak')).code).toBe('42501');
      await c.query('PREPARE derived(text) AS SELECT upper(token) || $1 AS x FROM vault');
      expect((await refusal(c, "CREATE TABLE kept_derived AS EXECUTE derived('!')")).code).toBe('42501');
      await c.query("PREPARE untraced AS SELECT query_to_xml('SELECT 1', true, false, '')::text AS x");
      expect((await refusal(c, 'CREATE TABLE kept_untraced AS EXECUTE untraced')).code).toBe('42501');
      expect(await tables(c)).toEqual([]);
    });
  });

  it('a prepared statement of other columns is stored as before', async () => {
    await as(['analysts'], 'ann2', async (c) => {
      await c.query('PREPARE ids(int) AS SELECT id, $1::int AS n FROM vault');
      await c.query('CREATE TABLE kept_ids AS EXECUTE ids(5)');
      expect((await c.query('SELECT id, n FROM kept_ids')).rows).toEqual([{ id: 1, n: 5 }]);
      await c.query('DROP TABLE kept_ids');
    });
  });

  it('a principal without a mask obligation stores the column', async () => {
    await as(['dba'], 'olga', async (c) => {
      await c.query('PREPARE leak AS SELECT token AS note FROM vault');
      await c.query('CREATE TEMP TABLE kept_dba AS EXECUTE leak');
      expect((await c.query('SELECT note FROM kept_dba')).rows).toEqual([{ note: SECRET }]);
    });
  });
});
