// One simple Query may hold any number of statements, and Gatehouse decides, admits and records each
// one on its event loop before any is forwarded: 100,000 `SELECT 1;` in a 900 KB message cost the
// gateway tens of seconds of CPU, hundreds of MB of memory and ~110 MB of record while other sessions
// waited (docs/security.md, class 169). Past listeners.postgres.maxStatementsPerQuery the Query is
// refused whole (54000), nothing of it decided, forwarded or recorded but the refusal. Real `pg`,
// real PostgreSQL.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { configSchema } from '../src/config/schema.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const MOST = 50;

let gw: TestGateway;
let direct: pg.Client;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    listener: { maxStatementsPerQuery: MOST },
    setupSql: 'CREATE TABLE t (n int)',
  });
  direct = new pg.Client({ connectionString: gw.directUrl });
  await direct.connect();
});
afterAll(async () => {
  await direct?.end();
  await gw?.stop();
});

const inserts = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => `INSERT INTO t VALUES (${from + i})`).join('; ');
const rows = async () => (await direct.query<{ n: number }>('SELECT count(*)::int AS n FROM t')).rows[0]!.n;

async function events(subject: string) {
  const [s] = await gw.gateway.store.listSessions({ subject, limit: 1 });
  let out = await gw.gateway.store.getEvents(s!.id);
  const end = Date.now() + 10_000;
  while (!out.some((e) => e.type === 'session.end') && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 20));
    out = await gw.gateway.store.getEvents(s!.id);
  }
  return out;
}

describe('statements per simple Query', () => {
  it('defaults to 1000', () => {
    const config = configSchema.parse({ listeners: { postgres: {} }, connections: {}, policies: [] });
    expect(config.listeners.postgres?.maxStatementsPerQuery).toBe(1000);
  });

  it('a Query past the bound is refused whole with 54000: nothing forwarded, the refusal recorded', async () => {
    const subject = 'many-statements';
    const c = gw.client(await gw.token({ subject, agent: true }));
    await c.connect();
    try {
      const err = await c.query(inserts(MOST + 1)).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: '54000' });
      expect(String((err as Error).message)).toMatch(
        new RegExp(`holds (at least )?${MOST + 1} statements, more than the ${MOST} .*maxStatementsPerQuery`),
      );
      expect(await rows()).toBe(0);
      // The session goes on, and a Query within the bound runs whole.
      await c.query(inserts(MOST, 1000));
      expect(await rows()).toBe(MOST);
      // In a transaction block the refusal aborts it, as an error of the server's own would.
      await c.query('BEGIN');
      await c.query('INSERT INTO t VALUES (-1)');
      await expect(c.query(inserts(MOST + 1, 2000))).rejects.toMatchObject({ code: '54000' });
      await expect(c.query('SELECT 1')).rejects.toMatchObject({ code: '25P02' });
      await c.query('ROLLBACK');
      expect(await rows()).toBe(MOST);
    } finally {
      await c.end();
    }
    const recorded = await events(subject);
    const refusals = recorded.filter((e) => e.type === 'refusal');
    expect(refusals.map((e) => e.data)).toEqual([
      expect.objectContaining({ request: 'simple-query', ruleId: 'pg-too-many-statements', code: '54000' }),
      expect.objectContaining({ request: 'simple-query', ruleId: 'pg-too-many-statements', code: '54000' }),
    ]);
    // No statement of the refused Queries was decided or recorded: the MOST inserts, the block's.
    const statements = recorded.filter((e) => e.type === 'statement');
    expect(statements.filter((e) => e.data['kind'] === 'insert')).toHaveLength(MOST + 1);
  });

  it('counts what the server parses: semicolons in strings, comments and bodies are not statements', async () => {
    const c = gw.client(await gw.token({ subject: 'many-statements-2', agent: true }));
    await c.connect();
    try {
      const text = Array.from(
        { length: MOST },
        (_, i) => `SELECT ';;' AS a, $q$;;$q$ AS b /* ; */ -- ;\n, ${i} AS "c;"`,
      ).join(';\n');
      const r = (await c.query(text)) as unknown as pg.QueryResult[];
      expect(r).toHaveLength(MOST);
      // A word that stops the count before parsing (ATOMIC) leaves it to the count after.
      const atomic = Array.from({ length: MOST + 1 }, () => 'SELECT 1 AS atomic').join('; ');
      await expect(c.query(atomic)).rejects.toMatchObject({
        code: '54000',
        message: expect.stringMatching(new RegExp(`holds ${MOST + 1} statements`)) as unknown,
      });
      // 100,000 statements in 900 KB: refused before parsing, nothing recorded but the refusal.
      await expect(c.query('SELECT 1;'.repeat(100_000))).rejects.toMatchObject({
        code: '54000',
        message: expect.stringMatching(new RegExp(`holds at least ${MOST + 1} statements`)) as unknown,
      });
      expect((await c.query('SELECT 1 AS n')).rows).toEqual([{ n: 1 }]);
    } finally {
      await c.end();
    }
    const recorded = await events('many-statements-2');
    expect(recorded.filter((e) => e.type === 'statement')).toHaveLength(MOST + 1);
    expect(recorded.filter((e) => e.type === 'refusal')).toHaveLength(2);
  });
});
