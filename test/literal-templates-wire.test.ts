// Literal templates (src/sql/postgres/literal-template.ts) through the real wire: statements that
// reuse a classification because they differ only in integer constants are decided as their own
// parse would decide them, reach PostgreSQL (or not) accordingly, and are recorded with the text that
// was sent — never with the text the template was made from.

import pg from 'pg';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const POLICIES: PolicyConfig[] = [
  {
    id: 'readers',
    subjects: { groups: ['testers'] },
    connections: ['*'],
    rules: [{ id: 'read', effect: 'allow', match: { categories: ['read', 'transaction', 'session'] } }],
  },
];

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: POLICIES,
    setupSql: 'CREATE TABLE t (x int); INSERT INTO t SELECT generate_series(1, 50)',
  });
});
afterAll(async () => gw?.stop().catch(() => undefined));

it('decides and records each statement as sent, whichever statement the template came from', async () => {
  const token = await gw.token({ subject: 'templated' });
  const c = gw.client(token);
  await c.connect();
  const sent: string[] = [];
  const run = async (sql: string) => {
    sent.push(sql);
    return c.query(sql).then(
      (r) => ({ ok: true as const, rows: r.rows as { x: number }[] }),
      (e: unknown) => ({ ok: false as const, message: String(e) }),
    );
  };
  try {
    // A read, then the same shape with other constants: allowed, each its own rows.
    for (const n of [1, 22, 7, 40]) {
      const r = await run(`SELECT x FROM t WHERE x = ${n} LIMIT ${n}`);
      expect(r).toEqual({ ok: true, rows: [{ x: n }] });
    }
    // A write of one shape, then of the same shape again: refused both times, nothing deleted.
    for (const n of [3, 4]) {
      const r = await run(`DELETE FROM t WHERE x = ${n}`);
      expect(r.ok).toBe(false);
    }
    // Texts one character away from the read's template, each parsed on its own: a second statement,
    // a float, a negation, a comment, a quoted constant. The writes among them are refused.
    expect((await run('SELECT x FROM t WHERE x = 5 LIMIT 5; DELETE FROM t WHERE x = 5')).ok).toBe(false);
    expect((await run('SELECT x FROM t WHERE x = 5.0 LIMIT 5')).ok).toBe(true);
    expect((await run('SELECT x FROM t WHERE x = -5 LIMIT 5')).ok).toBe(true);
    expect((await run("SELECT x FROM t WHERE x = '5' LIMIT 5")).ok).toBe(true);
    expect((await run('SELECT x FROM t WHERE x = 5 LIMIT 5 --; DELETE FROM t')).ok).toBe(true);
  } finally {
    await c.end();
  }
  const d = new pg.Client({ connectionString: gw.directUrl });
  await d.connect();
  const left = await d.query('SELECT count(*)::int AS n FROM t');
  await d.end();
  expect(left.rows[0]).toEqual({ n: 50 });

  // The record holds every statement exactly as it was sent, in order, with its own decision (the
  // two-statement text as its two statements).
  const [session] = await gw.gateway.store.listSessions({ subject: 'templated', limit: 1 });
  const got = await gw.gateway.store.getSession(session!.id);
  expect(got!.statements.map((s) => [s.text, s.effect])).toEqual([
    ['SELECT x FROM t WHERE x = 1 LIMIT 1', 'allow'],
    ['SELECT x FROM t WHERE x = 22 LIMIT 22', 'allow'],
    ['SELECT x FROM t WHERE x = 7 LIMIT 7', 'allow'],
    ['SELECT x FROM t WHERE x = 40 LIMIT 40', 'allow'],
    ['DELETE FROM t WHERE x = 3', 'deny'],
    ['DELETE FROM t WHERE x = 4', 'deny'],
    ['SELECT x FROM t WHERE x = 5 LIMIT 5', 'allow'],
    ['DELETE FROM t WHERE x = 5', 'deny'],
    ['SELECT x FROM t WHERE x = 5.0 LIMIT 5', 'allow'],
    ['SELECT x FROM t WHERE x = -5 LIMIT 5', 'allow'],
    ["SELECT x FROM t WHERE x = '5' LIMIT 5", 'allow'],
    ['SELECT x FROM t WHERE x = 5 LIMIT 5 --; DELETE FROM t', 'allow'],
  ]);
  expect(sent).toHaveLength(11);
});
