// A deny rule restricted to tables applies to every write that reaches them, named or not
// (docs/security.md, class 113), through the real wire against a real PostgreSQL: the sequence a
// table owns, an auto-updatable view over it, a partition of it or its partitioned parent, an
// inheritance child, a table a foreign key cascades to, and what Gatehouse cannot place (a trigger
// of the written table, a sequence given as a parameter). Writes that reach none of them still run.

import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const SEED = readFileSync(new URL('../src/demo/seed.sql', import.meta.url), 'utf8');

const SETUP = `
CREATE VIEW customers_v AS SELECT id, name, email FROM customers;
CREATE TABLE events (id int, kind text) PARTITION BY LIST (kind);
CREATE TABLE events_billing PARTITION OF events FOR VALUES IN ('billing');
CREATE TABLE events_other PARTITION OF events DEFAULT;
INSERT INTO events VALUES (1, 'billing'), (2, 'other');
CREATE TABLE ledger (id int, year int) PARTITION BY RANGE (year);
CREATE TABLE ledger_2026 PARTITION OF ledger FOR VALUES FROM (2026) TO (2027);
CREATE TABLE base_parent (id int);
CREATE TABLE base_child () INHERITS (base_parent);
INSERT INTO base_child VALUES (1);
CREATE TABLE accounts (id int PRIMARY KEY);
CREATE TABLE vault (account_id int REFERENCES accounts ON DELETE CASCADE, secret text);
INSERT INTO accounts VALUES (1); INSERT INTO vault VALUES (1, 'v');
CREATE TABLE audit_src (id int);
CREATE FUNCTION audit_src_fn() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN UPDATE customers SET name = 'by trigger' WHERE id = 1; RETURN NEW; END $$;
CREATE TRIGGER audit_src_t AFTER INSERT ON audit_src FOR EACH ROW EXECUTE FUNCTION audit_src_fn();
CREATE TABLE staging (id serial, v int);
CREATE TABLE borrow (id int DEFAULT nextval('customers_id_seq'), v int);
`;

const POLICY: PolicyConfig[] = [
  {
    id: 'guarded',
    subjects: [{ agent: true }],
    connections: ['app'],
    rules: [
      {
        id: 'no-protected-writes',
        effect: 'deny',
        match: {
          categories: ['write', 'write-unbounded', 'truncate', 'ddl-alter'],
          tables: [
            'public.customers',
            'public.events_billing',
            'public.ledger',
            'public.base_child',
            'public.vault',
          ],
        },
      },
      { id: 'all', effect: 'allow', match: {} },
    ],
  },
];

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({ superUrl: inject('pgUrl'), policies: POLICY, setupSql: SEED + SETUP });
});
afterAll(async () => gw?.stop());

async function state(): Promise<unknown> {
  const d = new pg.Client({ connectionString: gw.directUrl });
  await d.connect();
  try {
    const q = async (sql: string) => (await d.query(sql)).rows;
    return {
      seq: await q('SELECT last_value::text AS v FROM customers_id_seq'),
      customers: await q('SELECT id, name, email FROM customers ORDER BY id'),
      events: await q('SELECT * FROM events_billing ORDER BY id'),
      ledger: await q('SELECT * FROM ledger ORDER BY id'),
      child: await q('SELECT * FROM base_child ORDER BY id'),
      vault: await q('SELECT * FROM vault ORDER BY account_id'),
    };
  } finally {
    await d.end();
  }
}

async function refusal(c: pg.Client, sql: string, values?: unknown[]): Promise<string | undefined> {
  try {
    await c.query(sql, values);
    return undefined;
  } catch (e) {
    return (e as pg.DatabaseError).code;
  }
}

describe('class 113: a table-scoped deny applies to writes that reach its tables unnamed', () => {
  it('refuses each write reaching a protected table; others run', async () => {
    const before = await state();
    const c = gw.client(await gw.token({ subject: 'claude', groups: [], agent: true }));
    c.on('notice', () => undefined);
    await c.connect();
    try {
      for (const sql of [
        "SELECT setval('customers_id_seq', 1)",
        'SELECT setval(\'"public".customers_id_seq\'::regclass, 1)',
        "SELECT nextval('public.customers_id_seq')",
        'ALTER SEQUENCE customers_id_seq RESTART WITH 1',
        "INSERT INTO customers_v (name, email) VALUES ('v', 'v@example.com')",
        "UPDATE customers_v SET name = 'via view' WHERE id = 1",
        'UPDATE events SET id = id + 10 WHERE id = 1',
        'INSERT INTO ledger_2026 VALUES (1, 2026)',
        'UPDATE base_parent SET id = 5 WHERE id = 1',
        'DELETE FROM accounts WHERE id = 1',
        'TRUNCATE accounts CASCADE',
        'INSERT INTO audit_src VALUES (1)',
        'INSERT INTO borrow (v) VALUES (1)',
        "SELECT setval(s, 1) FROM (VALUES ('customers_id_seq')) v(s)",
      ]) {
        expect(await refusal(c, sql), sql).toBe('42501');
      }
      // A relation given as a bind parameter cannot be placed (extended protocol).
      expect(await refusal(c, 'SELECT setval($1, 1)', ['customers_id_seq'])).toBe('42501');
      expect(await state()).toEqual(before);

      // Writes that reach no protected table run.
      await c.query('INSERT INTO staging (v) VALUES (1)');
      await c.query("SELECT nextval('staging_id_seq')");
      await c.query("INSERT INTO events_other VALUES (3, 'other')");
      await c.query('INSERT INTO base_parent VALUES (9)');
      await c.query('SELECT id, name FROM customers_v ORDER BY id LIMIT 1');
    } finally {
      await c.end();
    }
  });
});
