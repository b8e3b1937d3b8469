// A column's default is computed by every later INSERT that leaves the column out, a statement whose
// text does not show it. A default cannot name a column, but it can call what Gatehouse cannot trace:
// `query_to_xml('SELECT token …')` runs a query given as text. A masked person who set such a default
// stored the masked column's values in clear with a plain INSERT, and read them back with a plain
// SELECT (docs/security.md, class 248). Through the real listener, the `pg` client and a real server.

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
  'a default that computes what Gatehouse cannot trace, set by a masked principal',
  { timeout: 60_000 },
  () => {
    it('CREATE TABLE with such a default is refused as an untraceable write', async () => {
      await as(['analysts'], 'ann', async (c) => {
        const e = await refusal(c, `CREATE TABLE notes (id int, v text DEFAULT ${LEAK})`);
        expect(e.code).toBe('42501');
        expect(e.message).toMatch(/into the default of column v/);
      });
    });

    it('SET DEFAULT, ADD COLUMN … DEFAULT and a domain default are refused; the table keeps no value', async () => {
      await as(['analysts'], 'ann2', async (c) => {
        await c.query('CREATE TABLE drafts (id int, v text)');
        for (const sql of [
          `ALTER TABLE drafts ALTER COLUMN v SET DEFAULT ${LEAK}`,
          `ALTER TABLE drafts ADD COLUMN w text DEFAULT ${LEAK}`,
          `CREATE DOMAIN leaky AS text DEFAULT ${LEAK}`,
        ])
          expect((await refusal(c, sql)).code, sql).toBe('42501');
        await c.query('INSERT INTO drafts (id) VALUES (1)');
        const r = await c.query('SELECT * FROM drafts');
        expect(r.rows).toEqual([{ id: 1, v: null }]);
      });
    });

    it('ordinary defaults are set as before, and an unmasked principal sets any', async () => {
      await as(['analysts'], 'ann3', async (c) => {
        await c.query(
          "CREATE TABLE jobs (id serial, at timestamptz DEFAULT now(), u uuid DEFAULT gen_random_uuid(), s text DEFAULT 'new')",
        );
        await c.query("ALTER TABLE jobs ALTER COLUMN s SET DEFAULT 'queued'");
        await c.query('INSERT INTO jobs DEFAULT VALUES');
        expect((await c.query('SELECT s FROM jobs')).rows).toEqual([{ s: 'queued' }]);
      });
      await as(['dba'], 'olga', async (c) => {
        await c.query(`CREATE TABLE audit (id int, v text DEFAULT ${LEAK})`);
        await c.query('INSERT INTO audit (id) VALUES (1)');
        const r = await c.query<{ v: string }>('SELECT v FROM audit');
        expect(r.rows[0]!.v).toContain(SECRET);
      });
    });
  },
);
