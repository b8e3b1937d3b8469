// Values a statement computes that the server stores, outside the columns lineage saw it write: a
// partition's bounds (computed by CREATE TABLE … PARTITION OF or ATTACH PARTITION, kept in the
// catalog as constants and shown by pg_get_expr), and EXECUTE's arguments, which a prepared INSERT
// stores. Both can be computed by what Gatehouse cannot trace (`query_to_xml('SELECT token …')`), and a
// masked person read the masked column back in clear (docs/security.md, class 249). Through the real
// listener, the `pg` client and a real server.

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const SECRET = 'zebraQuokkaToken77xx';
const LEAK = `query_to_xml('SELECT token AS note FROM vault', true, false, '')::text`;

const POLICIES: PolicyConfig[] = [
  {
    id: 'masked-people',
    subjects: { groups: ['analysts'] },
    connections: ['app'],
    rules: [{ id: 'analysts-all-masked', effect: 'allow', match: {}, mask: true }],
  },
  {
    id: 'dba',
    subjects: { groups: ['dba'] },
    connections: ['app'],
    rules: [{ id: 'dba-all', effect: 'allow', match: {} }],
  },
];

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: POLICIES,
    setupSql: `
      CREATE TABLE vault (id int PRIMARY KEY, token text NOT NULL);
      INSERT INTO vault VALUES (1, '${SECRET}');`,
    extra: {
      masking: { columns: [{ column: 'public.vault.token', style: 'redact', tag: 'vault_token' }] },
    },
  });
});
afterAll(async () => gw?.stop());

async function as<T>(groups: string[], subject: string, f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = gw.client(await gw.token({ subject, groups }));
  c.on('notice', () => undefined);
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end();
  }
}

async function refusal(c: pg.Client, sql: string): Promise<{ code?: string; message: string }> {
  try {
    await c.query(sql);
  } catch (e) {
    const err = e as { code?: string; message: string };
    return { ...(err.code !== undefined ? { code: err.code } : {}), message: err.message };
  }
  throw new Error(`expected ${sql} to be refused`);
}

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
