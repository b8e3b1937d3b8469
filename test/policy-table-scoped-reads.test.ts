// An allow rule restricted to tables grants reads of those tables, not of data a function reads from
// elsewhere (docs/security.md, class 103), through the real wire against a real PostgreSQL: an agent
// allowed to read `orders` only must not read a large object, another session's statement text or a
// sequence's state through a built-in function that names none of them as a table.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const SECRET = 'zebraLargeObjectSecret42';

const POLICY: PolicyConfig[] = [
  {
    id: 'orders-reader',
    subjects: [{ agent: true }],
    connections: ['app'],
    rules: [
      { id: 'session', effect: 'allow', match: { categories: ['transaction', 'session'] } },
      { id: 'read-orders', effect: 'allow', match: { categories: ['read'], tables: ['public.orders'] } },
    ],
  },
];

let gw: TestGateway;
let loid = 0;
beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: POLICY,
    setupSql: `CREATE TABLE orders (id int, amount int); INSERT INTO orders VALUES (1, 10);
               CREATE SEQUENCE invoice_no START 9000;
               SELECT nextval('invoice_no');`,
  });
  const d = new pg.Client({ connectionString: gw.directUrl });
  await d.connect();
  loid = (await d.query<{ o: number }>(`SELECT lo_from_bytea(0, convert_to('${SECRET}', 'UTF8')) AS o`))
    .rows[0]!.o;
  await d.end();
});
afterAll(async () => gw?.stop());

describe('class 103: a table-scoped read rule grants reads of its tables only', () => {
  it('data a function reads from outside the named tables is refused; the tables still read', async () => {
    const c = gw.client(await gw.token({ subject: 'claude', groups: [], agent: true }));
    c.on('notice', () => undefined);
    await c.connect();
    try {
      for (const sql of [
        `SELECT convert_from(lo_get(${loid}), 'UTF8') AS v`,
        `SELECT convert_from(lo_get(${loid}), 'UTF8') AS v, amount FROM orders`,
        `SELECT convert_from(loread(lo_open(${loid}, 262144), 100), 'UTF8') AS v`,
        'SELECT query AS v FROM pg_stat_get_activity(NULL)',
        `SELECT pg_stat_get_backend_activity(1) AS v`,
        `SELECT pg_sequence_last_value('invoice_no')::text AS v`,
      ]) {
        const e = (await c.query(sql).then(
          (r) => r.rows,
          (x: unknown) => x,
        )) as pg.DatabaseError | unknown[];
        expect((e as pg.DatabaseError).code, `${sql} => ${JSON.stringify(e)}`).toBe('42501');
      }
      expect((await c.query('SELECT amount FROM orders')).rows).toEqual([{ amount: 10 }]);
      expect((await c.query('SELECT 1 AS x')).rows).toEqual([{ x: 1 }]);
    } finally {
      await c.end();
    }
  });
});
