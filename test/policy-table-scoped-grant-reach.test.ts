// An allow rule restricted to tables grants a write only when it covers every table the write
// reaches (docs/security.md, class 129), through the real wire against a real PostgreSQL: a write
// through an auto-updatable view, a column default's sequence owned by another table, a delete that
// cascades through a foreign key. A partitioned or inheritance parent covers its partitions and
// children, a table its own sequence, and an INSERT cascades nothing, so ordinary writes still run.

import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const SEED = readFileSync(new URL('../src/demo/seed.sql', import.meta.url), 'utf8');

const SETUP = `
CREATE VIEW customers_v AS SELECT id, name, email FROM customers;
CREATE VIEW customers_vv AS SELECT id, name FROM customers_v;
CREATE TABLE events (id int, kind text) PARTITION BY LIST (kind);
CREATE TABLE events_billing PARTITION OF events FOR VALUES IN ('billing');
CREATE TABLE events_other PARTITION OF events DEFAULT;
INSERT INTO events VALUES (1, 'billing'), (2, 'other');
CREATE TABLE base_parent (id int);
CREATE TABLE base_child () INHERITS (base_parent);
INSERT INTO base_child VALUES (1);
CREATE TABLE accounts (id int PRIMARY KEY);
CREATE TABLE vault (account_id int REFERENCES accounts ON DELETE CASCADE, secret text);
INSERT INTO accounts VALUES (1), (2); INSERT INTO vault VALUES (1, 'v');
CREATE TABLE staging (id serial, v int);
CREATE TABLE borrow (id int DEFAULT nextval('customers_id_seq'), v int);
CREATE VIEW staging_v AS SELECT id, v FROM staging;
`;

const POLICY: PolicyConfig[] = [
  {
    id: 'scoped',
    subjects: [{ agent: true }],
    connections: ['app'],
    rules: [
      { id: 'reads', effect: 'allow', match: { categories: ['read', 'transaction', 'session'] } },
      {
        id: 'some-writes',
        effect: 'allow',
        match: {
          categories: ['write'],
          tables: [
            'public.customers_v',
            'public.customers_vv',
            'public.events',
            'public.base_parent',
            'public.accounts',
            'public.staging',
            'public.staging_v',
            'public.borrow',
          ],
        },
      },
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

describe('class 129: a table-scoped allow covers a write only with every table it reaches', () => {
  it('refuses writes reaching tables the rule does not name; ordinary writes run', async () => {
    const before = await state();
    const c = gw.client(await gw.token({ subject: 'claude', groups: [], agent: true }));
    c.on('notice', () => undefined);
    await c.connect();
    try {
      for (const sql of [
        "UPDATE customers_v SET name = 'via view' WHERE id = 1",
        "INSERT INTO customers_v (name, email) VALUES ('v', 'v@example.com')",
        'DELETE FROM customers_vv WHERE id = 1',
        'INSERT INTO borrow (v) VALUES (1)',
        'DELETE FROM accounts WHERE id = 1',
      ]) {
        expect(await refusal(c, sql), sql).toBe('42501');
      }
      expect(await refusal(c, 'DELETE FROM accounts WHERE id = $1', [1])).toBe('42501');
      expect(await state()).toEqual(before);

      // Writes whose reach the rule covers run.
      await c.query('INSERT INTO staging (v) VALUES (1)');
      await c.query('UPDATE staging_v SET v = 2 WHERE id = 1');
      await c.query("UPDATE events SET id = id + 10 WHERE kind = 'billing'");
      await c.query("INSERT INTO events VALUES (3, 'billing')");
      await c.query('UPDATE base_parent SET id = 5 WHERE id = 1');
      await c.query('INSERT INTO accounts VALUES (3)');
      await c.query('SELECT id, name FROM customers_v ORDER BY id LIMIT 1');
    } finally {
      await c.end();
    }
  });
});
