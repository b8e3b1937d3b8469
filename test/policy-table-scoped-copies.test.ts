// A rule restricted to a table saw only the relations a statement names, and PostgreSQL keeps copies
// of a table's column values elsewhere: the planner's statistics (pg_stats, pg_statistic, extended
// statistics' MCV lists) and the table's TOAST table. Under `deny tables: [public.vault]`, `SELECT
// most_common_vals FROM pg_stats WHERE tablename = 'vault'` and `SELECT chunk_data FROM
// pg_toast.pg_toast_<oid>` returned vault's secrets as allowed reads (docs/security.md, class 174).
// Real PostgreSQL, real pg.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const SECRET = 'vaultCopySecret';

const SETUP = `
CREATE TABLE vault (id int, secret text);
INSERT INTO vault SELECT g, '${SECRET}' || (g % 3) FROM generate_series(1, 300) g;
CREATE STATISTICS vault_st (mcv) ON id, secret FROM vault;
ALTER TABLE vault ALTER secret SET STORAGE EXTERNAL;
INSERT INTO vault VALUES (999, '${SECRET}Long' || repeat('x', 4000));
ANALYZE vault;
CREATE TABLE notes (id int, body text);
INSERT INTO notes VALUES (1, 'hello');
ANALYZE notes;
`;

const POLICY: PolicyConfig[] = [
  {
    id: 'guarded',
    subjects: [{ agent: true }],
    connections: ['app'],
    rules: [
      { id: 'no-vault', effect: 'deny', match: { tables: ['public.vault'] } },
      { id: 'reads', effect: 'allow', match: { categories: ['read', 'transaction', 'session'] } },
    ],
  },
];

let gw: TestGateway;
let direct: pg.Client;
let toast: string;
let agent: string;

beforeAll(async () => {
  gw = await startTestGateway({ superUrl: inject('pgUrl'), policies: POLICY, setupSql: SETUP });
  direct = new pg.Client({ connectionString: gw.directUrl });
  await direct.connect();
  toast = (
    await direct.query<{ t: string }>(
      "SELECT reltoastrelid::regclass::text AS t FROM pg_class WHERE oid = 'vault'::regclass",
    )
  ).rows[0]!.t;
  agent = await gw.token({ subject: 'claude', agent: true });
}, 120_000);

afterAll(async () => {
  await direct?.end();
  await gw?.stop();
});

const READS = (toastName: string): string[] => [
  "SELECT most_common_vals FROM pg_stats WHERE tablename = 'vault'",
  "SELECT most_common_vals::text FROM pg_catalog.pg_stats WHERE attname = 'secret'",
  "SELECT stavalues1::text FROM pg_statistic WHERE starelid = 'vault'::regclass",
  "SELECT most_common_vals::text FROM pg_stats_ext WHERE tablename = 'vault'",
  'SELECT m.values::text FROM pg_statistic_ext_data d, pg_mcv_list_items(d.stxdmcv) m',
  `SELECT convert_from(chunk_data, 'UTF8') FROM ${toastName}`,
];

describe('copies of a denied table kept elsewhere (class 174)', () => {
  it('the server keeps them, and returns them to its role', async () => {
    for (const text of READS(toast)) {
      const r = await direct.query(text);
      expect(JSON.stringify(r.rows), text).toContain(SECRET);
    }
  });

  for (const extended of [false, true])
    it(`are refused by the rule on the table (${extended ? 'extended' : 'simple'} protocol)`, async () => {
      const c = gw.client(agent);
      c.on('error', () => undefined);
      await c.connect();
      try {
        for (const text of READS(toast)) {
          const e = (await (extended ? c.query({ text, values: [] }) : c.query(text)).catch(
            (x: unknown) => x,
          )) as pg.DatabaseError;
          expect(e, text).toBeInstanceOf(Error);
          expect(e.code, text).toBe('42501');
          expect(e.detail, text).toMatch(/no-vault/);
          expect(JSON.stringify(e) + e.message).not.toContain(SECRET);
        }
      } finally {
        await c.end();
      }
    });

  it('reads that reach no copy still run', async () => {
    const c = gw.client(agent);
    c.on('error', () => undefined);
    await c.connect();
    try {
      expect((await c.query('SELECT body FROM notes')).rows).toEqual([{ body: 'hello' }]);
      expect((await c.query("SELECT relname FROM pg_class WHERE relname = 'notes'")).rowCount).toBe(1);
    } finally {
      await c.end();
    }
  });
});
