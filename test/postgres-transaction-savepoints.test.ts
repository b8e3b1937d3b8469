// The record says what PostgreSQL kept of a transaction (docs/recording.md, `transaction`), through
// the real wire against a real PostgreSQL: a statement a ROLLBACK TO SAVEPOINT undid is not listed
// with the statements a COMMIT kept, a COMMIT/ROLLBACK AND CHAIN ends one transaction and starts
// another, a COMMIT or ROLLBACK inside a query string ends its transaction there, and a savepoint
// Gatehouse cannot follow makes the outcome `unknown`, never `committed`.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { RawPgClient, msg } from './testkit/raw-pg-client.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    setupSql:
      'CREATE TABLE t (id int); CREATE PROCEDURE p(a int) LANGUAGE plpgsql AS $$ BEGIN ' +
      "INSERT INTO t VALUES (a); COMMIT; INSERT INTO t VALUES (a + 1); RAISE EXCEPTION 'boom'; END $$;",
  });
});
afterAll(async () => gw?.stop());

interface Transaction {
  outcome: string;
  implicit: boolean;
  texts: string[];
  undone?: string[];
}

async function transactions(subject: string, count: number): Promise<Transaction[]> {
  let out: Transaction[] = [];
  for (let i = 0; i < 50; i++) {
    const [s] = await gw.gateway.store.listSessions({ subject, limit: 1 });
    const events = s ? await gw.gateway.store.getEvents(s.id) : [];
    const text = new Map<string, string>();
    for (const e of events)
      if (e.type === 'statement' && e.statement) text.set(e.statement, String(e.data.text));
    const texts = (ids: unknown) => (ids as string[]).map((id) => text.get(id) ?? id);
    out = events
      .filter((e) => e.type === 'transaction')
      .map((e) => ({
        outcome: String(e.data.outcome),
        implicit: e.data.implicit === true,
        texts: texts(e.data.statements),
        ...(e.data.undone === undefined ? {} : { undone: texts(e.data.undone) }),
      }));
    if (out.length >= count) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  return out;
}

async function attempt(c: pg.Client, sql: string | pg.QueryConfig, values?: unknown[]): Promise<void> {
  await c.query(sql as string, values).catch(() => undefined);
}

async function kept(): Promise<number[]> {
  const d = new pg.Client({ connectionString: gw.directUrl });
  await d.connect();
  try {
    return (await d.query<{ id: number }>('SELECT id FROM t ORDER BY id')).rows.map((r) => r.id);
  } finally {
    await d.end();
  }
}

describe('the record follows savepoints and chained transactions', () => {
  it('lists what ROLLBACK TO SAVEPOINT undid apart from what the COMMIT kept (simple and extended)', async () => {
    await (async () => {
      const d = new pg.Client({ connectionString: gw.directUrl });
      await d.connect();
      await d.query('TRUNCATE t');
      await d.end();
    })();
    const subject = 'tx-savepoints';
    const c = gw.client(await gw.token({ subject }));
    await c.connect();
    // A statement undone by ROLLBACK TO, then a write that stays.
    for (const sql of ['BEGIN', 'INSERT INTO t VALUES (1)', 'SAVEPOINT a', 'INSERT INTO t VALUES (2)'])
      await attempt(c, sql);
    for (const sql of ['ROLLBACK TO a', 'INSERT INTO t VALUES (3)', 'COMMIT']) await attempt(c, sql);
    // An error inside a subtransaction, rolled back to its savepoint, then RELEASE and COMMIT.
    for (const sql of ['BEGIN', 'SAVEPOINT s', 'INSERT INTO t VALUES (4)', 'SELECT 1/0'])
      await attempt(c, sql);
    for (const sql of ['ROLLBACK TO SAVEPOINT s', 'RELEASE s', 'COMMIT']) await attempt(c, sql);
    // Nested savepoints: RELEASE of the inner one, then ROLLBACK TO the outer undoes both.
    await attempt(
      c,
      'BEGIN; SAVEPOINT a; INSERT INTO t VALUES (5); SAVEPOINT b; INSERT INTO t VALUES (6); RELEASE b; ' +
        'ROLLBACK TO a; RELEASE a; INSERT INTO t VALUES (7); COMMIT',
    );
    // The extended protocol.
    await attempt(c, { name: 'rt-b', text: 'BEGIN' });
    await attempt(c, { name: 'rt-s', text: 'SAVEPOINT "X y"' });
    await attempt(c, 'INSERT INTO t VALUES ($1)', [8]);
    await attempt(c, { name: 'rt-r', text: 'ROLLBACK TO SAVEPOINT "X y"' });
    await attempt(c, 'INSERT INTO t VALUES ($1)', [9]);
    await attempt(c, { name: 'rt-c', text: 'COMMIT' });
    await c.end();

    expect(await kept()).toEqual([1, 3, 7, 9]);
    const r = await transactions(subject, 4);
    expect(r).toEqual([
      {
        outcome: 'committed',
        implicit: false,
        texts: [
          'BEGIN',
          'INSERT INTO t VALUES (1)',
          'SAVEPOINT a',
          'ROLLBACK TO a',
          'INSERT INTO t VALUES (3)',
          'COMMIT',
        ],
        undone: ['INSERT INTO t VALUES (2)'],
      },
      {
        outcome: 'committed',
        implicit: false,
        texts: ['BEGIN', 'SAVEPOINT s', 'ROLLBACK TO SAVEPOINT s', 'RELEASE s', 'COMMIT'],
        undone: ['INSERT INTO t VALUES (4)', 'SELECT 1/0'],
      },
      {
        outcome: 'committed',
        implicit: false,
        texts: ['BEGIN', 'SAVEPOINT a', 'ROLLBACK TO a', 'RELEASE a', 'INSERT INTO t VALUES (7)', 'COMMIT'],
        undone: ['INSERT INTO t VALUES (5)', 'SAVEPOINT b', 'INSERT INTO t VALUES (6)', 'RELEASE b'],
      },
      {
        outcome: 'committed',
        implicit: false,
        texts: [
          'BEGIN',
          'SAVEPOINT "X y"',
          'ROLLBACK TO SAVEPOINT "X y"',
          'INSERT INTO t VALUES ($1)',
          'COMMIT',
        ],
        undone: ['INSERT INTO t VALUES ($1)'],
      },
    ]);
  });

  it('ends a transaction where AND CHAIN, COMMIT or ROLLBACK ended it, and says unknown where it cannot follow', async () => {
    const d = new pg.Client({ connectionString: gw.directUrl });
    await d.connect();
    await d.query('TRUNCATE t');
    await d.end();
    const subject = 'tx-chains';
    const c = gw.client(await gw.token({ subject }));
    await c.connect();
    for (const sql of [
      'BEGIN',
      'INSERT INTO t VALUES (10)',
      'ROLLBACK AND CHAIN',
      'INSERT INTO t VALUES (11)',
      'COMMIT',
    ])
      await attempt(c, sql);
    for (const sql of [
      'BEGIN',
      'INSERT INTO t VALUES (12)',
      'COMMIT AND CHAIN',
      'INSERT INTO t VALUES (13)',
      'ROLLBACK',
    ])
      await attempt(c, sql);
    await attempt(c, 'BEGIN; INSERT INTO t VALUES (14); COMMIT; INSERT INTO t VALUES (15); SELECT 1/0');
    await attempt(c, 'BEGIN; INSERT INTO t VALUES (16); ROLLBACK; INSERT INTO t VALUES (17)');
    await attempt(c, 'INSERT INTO t VALUES (18); ROLLBACK');
    // A savepoint name PostgreSQL truncates (63 bytes and more): Gatehouse does not guess.
    const long = 'p'.repeat(70);
    await attempt(c, `BEGIN; SAVEPOINT ${long}; INSERT INTO t VALUES (19); ROLLBACK TO ${long}; COMMIT`);
    await c.end();

    expect(await kept()).toEqual([11, 12, 14, 17]);
    const r = await transactions(subject, 9);
    expect(r).toEqual([
      {
        outcome: 'rolled back',
        implicit: false,
        texts: ['BEGIN', 'INSERT INTO t VALUES (10)', 'ROLLBACK AND CHAIN'],
      },
      { outcome: 'committed', implicit: false, texts: ['INSERT INTO t VALUES (11)', 'COMMIT'] },
      {
        outcome: 'committed',
        implicit: false,
        texts: ['BEGIN', 'INSERT INTO t VALUES (12)', 'COMMIT AND CHAIN'],
      },
      { outcome: 'rolled back', implicit: false, texts: ['INSERT INTO t VALUES (13)', 'ROLLBACK'] },
      { outcome: 'committed', implicit: false, texts: ['BEGIN', 'INSERT INTO t VALUES (14)', 'COMMIT'] },
      { outcome: 'rolled back', implicit: true, texts: ['INSERT INTO t VALUES (15)', 'SELECT 1/0'] },
      { outcome: 'rolled back', implicit: false, texts: ['BEGIN', 'INSERT INTO t VALUES (16)', 'ROLLBACK'] },
      { outcome: 'rolled back', implicit: true, texts: ['INSERT INTO t VALUES (18)', 'ROLLBACK'] },
      {
        outcome: 'unknown',
        implicit: false,
        texts: ['BEGIN', `SAVEPOINT ${long}`, 'INSERT INTO t VALUES (19)', `ROLLBACK TO ${long}`, 'COMMIT'],
      },
    ]);
  });

  it('says unknown for a procedure that failed after it may have committed (CALL, DO outside a block)', async () => {
    const d = new pg.Client({ connectionString: gw.directUrl });
    await d.connect();
    await d.query('TRUNCATE t');
    await d.end();
    const subject = 'tx-procedures';
    const c = gw.client(await gw.token({ subject }));
    await c.connect();
    await attempt(c, 'CALL p(20)');
    await attempt(c, "DO $$ BEGIN INSERT INTO t VALUES (30); COMMIT; RAISE EXCEPTION 'boom'; END $$");
    // Inside a block, or a query string of several statements, a procedure cannot commit.
    await attempt(c, 'BEGIN');
    await attempt(c, 'CALL p(40)');
    await attempt(c, 'ROLLBACK');
    await attempt(c, 'INSERT INTO t VALUES (50); CALL p(60)');
    await c.end();

    expect(await kept()).toEqual([20, 30]);
    const r = await transactions(subject, 4);
    expect(r).toEqual([
      { outcome: 'unknown', implicit: true, texts: ['CALL p(20)'] },
      {
        outcome: 'unknown',
        implicit: true,
        texts: ["DO $$ BEGIN INSERT INTO t VALUES (30); COMMIT; RAISE EXCEPTION 'boom'; END $$"],
      },
      { outcome: 'rolled back', implicit: false, texts: ['BEGIN', 'CALL p(40)', 'ROLLBACK'] },
      { outcome: 'rolled back', implicit: true, texts: ['INSERT INTO t VALUES (50)', 'CALL p(60)'] },
    ]);
  });

  it('follows a pipelined extended batch, one Sync for all, each Execute recorded by its own answer', async () => {
    const d = new pg.Client({ connectionString: gw.directUrl });
    await d.connect();
    await d.query('TRUNCATE t');
    await d.end();
    const subject = 'tx-pipelined';
    const raw = await RawPgClient.open(gw.port, gw.connection, await gw.token({ subject }));
    const run = (sql: string) => [msg.parse('', sql), msg.bind('', ''), msg.execute('')];
    try {
      raw.send(
        ...[
          'BEGIN',
          'INSERT INTO t VALUES (70)',
          'COMMIT',
          'INSERT INTO t VALUES (71)',
          'SELECT 1/0',
        ].flatMap(run),
        msg.sync(),
      );
      await raw.ready();
      raw.send(
        ...[
          'BEGIN',
          'SAVEPOINT a',
          'INSERT INTO t VALUES (72)',
          'ROLLBACK TO a',
          'INSERT INTO t VALUES (73)',
          'COMMIT AND CHAIN',
          'INSERT INTO t VALUES (74)',
        ].flatMap(run),
        msg.sync(),
      );
      await raw.ready();
      raw.send(...run('ROLLBACK'), msg.sync());
      await raw.ready();
    } finally {
      raw.close();
    }
    expect(await kept()).toEqual([70, 73]);
    const r = await transactions(subject, 4);
    // Each Execute's result is the server's answer to it, though the next Bind replaced its portal
    // before that answer came (the unnamed portal, pipelined).
    const [session] = await gw.gateway.store.listSessions({ subject, limit: 1 });
    const events = await gw.gateway.store.getEvents(session!.id);
    const text = new Map<string, string>();
    for (const e of events)
      if (e.type === 'statement' && e.statement) text.set(e.statement, String(e.data.text));
    const results = events
      .filter((e) => e.type === 'result' && e.statement)
      .map((e) => [
        text.get(e.statement!),
        (e.data.error as { code?: string } | undefined)?.code ?? e.data.rows,
      ]);
    expect(results).toEqual([
      ['BEGIN', 0],
      ['INSERT INTO t VALUES (70)', 1],
      ['COMMIT', 0],
      ['INSERT INTO t VALUES (71)', 1],
      ['SELECT 1/0', 'not-executed'],
      ['BEGIN', 0],
      ['SAVEPOINT a', 0],
      ['INSERT INTO t VALUES (72)', 1],
      ['ROLLBACK TO a', 0],
      ['INSERT INTO t VALUES (73)', 1],
      ['COMMIT AND CHAIN', 0],
      ['INSERT INTO t VALUES (74)', 1],
      ['ROLLBACK', 0],
    ]);
    expect(r).toEqual([
      { outcome: 'committed', implicit: false, texts: ['BEGIN', 'INSERT INTO t VALUES (70)', 'COMMIT'] },
      // SELECT 1/0 fails at its Bind (the planner folds it): its Execute is skipped, not run.
      { outcome: 'rolled back', implicit: true, texts: ['INSERT INTO t VALUES (71)'] },
      {
        outcome: 'committed',
        implicit: false,
        texts: ['BEGIN', 'SAVEPOINT a', 'ROLLBACK TO a', 'INSERT INTO t VALUES (73)', 'COMMIT AND CHAIN'],
        undone: ['INSERT INTO t VALUES (72)'],
      },
      { outcome: 'rolled back', implicit: false, texts: ['INSERT INTO t VALUES (74)', 'ROLLBACK'] },
    ]);
  });
});
