// Values a statement computes that the server stores, outside the columns lineage saw it write: a
// partition's bounds (computed by CREATE TABLE … PARTITION OF or ATTACH PARTITION, kept in the
// catalog as constants and shown by pg_get_expr), and EXECUTE's arguments, which a prepared INSERT
// stores. Both can be computed by what Gatehouse cannot trace (`query_to_xml('SELECT token …')`), and a
// masked person read the masked column back in clear (docs/security.md, class 249). Through the real
// listener, the `pg` client and a real server.

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestGateway } from './testkit/gateway.js';
import {
  VAULT_LEAK as LEAK,
  VAULT_SECRET as SECRET,
  asPrincipal,
  refusal,
  startVaultGateway,
} from './testkit/masked-vault.js';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startVaultGateway();
});
afterAll(async () => gw?.stop());

const as = <T>(groups: string[], subject: string, f: (c: pg.Client) => Promise<T>): Promise<T> =>
  asPrincipal(gw, groups, subject, f);

describe(
  'values stored outside the columns a statement writes, by a masked principal',
  { timeout: 60_000 },
  () => {
    it('a partition bound computed from what Gatehouse cannot trace is refused', async () => {
      await as(['analysts'], 'ann', async (c) => {
        await c.query('CREATE TABLE events (k text) PARTITION BY LIST (k)');
        const e = await refusal(c, `CREATE TABLE events_x PARTITION OF events FOR VALUES IN ((${LEAK}))`);
        expect(e.code).toBe('42501');
        expect(e.message).toMatch(/into a partition bound/);
        await c.query('CREATE TABLE events_y (k text)');
        expect(
          (await refusal(c, `ALTER TABLE events ATTACH PARTITION events_y FOR VALUES IN ((${LEAK}))`)).code,
        ).toBe('42501');
        const r = await c.query<{ b: string }>(
          "SELECT pg_get_expr(c.relpartbound, c.oid) AS b FROM pg_class c WHERE c.relname IN ('events_x', 'events_y')",
        );
        expect(r.rows.every((x) => x.b === null)).toBe(true);
        // Bounds of constants, MINVALUE and MAXVALUE are set as before.
        await c.query("CREATE TABLE events_a PARTITION OF events FOR VALUES IN ('a', 'b')");
        await c.query('CREATE TABLE spans (n int) PARTITION BY RANGE (n)');
        await c.query('CREATE TABLE spans_low PARTITION OF spans FOR VALUES FROM (MINVALUE) TO (10)');
      });
    });

    it('an EXECUTE argument computed from what Gatehouse cannot trace is refused', async () => {
      await as(['analysts'], 'ann2', async (c) => {
        await c.query('CREATE TABLE box (v text)');
        await c.query('PREPARE keep(text) AS INSERT INTO box VALUES ($1)');
        const e = await refusal(c, `EXECUTE keep(${LEAK})`);
        expect(e.code).toBe('42501');
        expect(e.message).toMatch(/a parameter of EXECUTE/);
        // Inside EXPLAIN ANALYZE, which runs the prepared INSERT, too.
        expect((await refusal(c, `EXPLAIN ANALYZE EXECUTE keep(${LEAK})`)).code).toBe('42501');
        await c.query("EXECUTE keep('typed by hand')");
        await c.query('PREPARE plus(int) AS SELECT $1 + 1 AS n');
        expect((await c.query("EXECUTE plus(length('abc'))")).rows).toEqual([{ n: 4 }]);
        expect((await c.query('SELECT v FROM box')).rows).toEqual([{ v: 'typed by hand' }]);
      });
    });

    it('a principal without a mask obligation stores them as before', async () => {
      await as(['dba'], 'olga', async (c) => {
        await c.query('CREATE TABLE logs (k text) PARTITION BY LIST (k)');
        await c.query(`CREATE TABLE logs_x PARTITION OF logs FOR VALUES IN ((${LEAK}))`);
        const r = await c.query<{ b: string }>(
          "SELECT pg_get_expr(c.relpartbound, c.oid) AS b FROM pg_class c WHERE c.relname = 'logs_x'",
        );
        expect(r.rows[0]!.b).toContain(SECRET);
      });
    });
  },
);
