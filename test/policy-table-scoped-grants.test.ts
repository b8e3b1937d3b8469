// An allow rule restricted to tables grants only what a statement does to tables it can see
// (docs/security.md, class 101), through the real wire against a real PostgreSQL: an agent allowed to
// write the table `staging` only must not reach, through a statement that names no table or names
// `staging` as well, a sequence of another table, every table (VACUUM without a name), or other
// sessions (NOTIFY).

import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const SEED = readFileSync(new URL('../src/demo/seed.sql', import.meta.url), 'utf8');

const POLICY: PolicyConfig[] = [
  {
    id: 'scratch-writer',
    subjects: [{ agent: true }],
    connections: ['app'],
    rules: [
      { id: 'read', effect: 'allow', match: { categories: ['read', 'transaction', 'session'] } },
      { id: 'write-staging', effect: 'allow', match: { categories: ['write'], tables: ['public.staging'] } },
    ],
  },
];

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: POLICY,
    setupSql: SEED + 'CREATE TABLE staging (id bigint);',
  });
});
afterAll(async () => gw?.stop());

async function sequenceState(): Promise<string> {
  const d = new pg.Client({ connectionString: gw.directUrl });
  await d.connect();
  try {
    const r = await d.query<{ v: string }>('SELECT last_value::text AS v FROM customers_id_seq');
    return r.rows[0]!.v;
  } finally {
    await d.end();
  }
}

describe('class 101: a table-scoped allow grants only writes to the tables it names', () => {
  it('writes Gatehouse cannot place in a named table are refused; writes to staging run', async () => {
    const before = await sequenceState();
    const c = gw.client(await gw.token({ subject: 'claude', groups: [], agent: true }));
    c.on('notice', () => undefined);
    await c.connect();
    try {
      for (const sql of [
        "SELECT setval('customers_id_seq', 1)",
        "SELECT nextval('public.customers_id_seq')",
        "INSERT INTO staging SELECT setval('customers_id_seq', 1)",
        'INSERT INTO staging VALUES (nextval($$customers_id_seq$$))',
        'VACUUM',
        'ANALYZE',
        "NOTIFY jobs, 'refund order 42'",
      ]) {
        const e = (await c.query(sql).then(
          () => undefined,
          (x: unknown) => x,
        )) as pg.DatabaseError | undefined;
        expect(e?.code, sql).toBe('42501');
      }
      expect(await sequenceState()).toBe(before);
      // What the rule is for still runs.
      await c.query('INSERT INTO staging VALUES (1)');
      await c.query('UPDATE staging SET id = 2 WHERE id = 1');
      await c.query('VACUUM staging');
      expect((await c.query('SELECT count(*)::int AS n FROM staging')).rows).toEqual([{ n: 1 }]);
    } finally {
      await c.end();
    }
  });
});
