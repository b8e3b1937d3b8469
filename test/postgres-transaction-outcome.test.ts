// The record says how each transaction ended (docs/recording.md, `transaction`), through the real wire
// against a real PostgreSQL, from the server's own answers: `BEGIN; INSERT …; SELECT 1/0; COMMIT`
// is answered ROLLBACK to its COMMIT, and the record must not read as an insert that stayed.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    setupSql: 'CREATE TABLE t (id int); CREATE TABLE d (id int UNIQUE DEFERRABLE INITIALLY DEFERRED);',
  });
});
afterAll(async () => gw?.stop());

interface Recorded {
  readonly statements: Map<string, string>;
  readonly transactions: { outcome: string; implicit: boolean; texts: string[] }[];
}

async function recorded(subject: string): Promise<Recorded> {
  const [s] = await gw.gateway.store.listSessions({ subject, limit: 1 });
  const events = await gw.gateway.store.getEvents(s!.id);
  const statements = new Map<string, string>();
  for (const e of events)
    if (e.type === 'statement' && e.statement) statements.set(e.statement, String(e.data.text));
  const transactions = events
    .filter((e) => e.type === 'transaction')
    .map((e) => ({
      outcome: String(e.data.outcome),
      implicit: e.data.implicit === true,
      texts: (e.data.statements as string[]).map((id) => statements.get(id) ?? id),
    }));
  return { statements, transactions };
}

async function attempt(c: pg.Client, sql: string, values?: unknown[]): Promise<void> {
  await c.query(sql, values).catch(() => undefined);
}

describe('the record carries each transaction outcome', () => {
  it('committed, rolled back by the server, rolled back by the client, implicit, extended', async () => {
    const subject = 'tx-outcomes';
    const c = gw.client(await gw.token({ subject }));
    await c.connect();
    // An explicit block whose COMMIT the server turns into ROLLBACK.
    await attempt(c, 'BEGIN');
    await attempt(c, 'INSERT INTO t VALUES (1)');
    await attempt(c, 'SELECT 1/0');
    await attempt(c, 'COMMIT');
    // A block that commits.
    await attempt(c, 'BEGIN; INSERT INTO t VALUES (2); COMMIT');
    // A block the client rolls back.
    await attempt(c, 'BEGIN');
    await attempt(c, 'INSERT INTO t VALUES (3)');
    await attempt(c, 'ROLLBACK');
    // An implicit transaction (one query string) that an error rolls back.
    await attempt(c, 'INSERT INTO t VALUES (4); SELECT 1/0');
    // An autocommit statement whose commit fails (a deferred constraint): in a simple Query the server
    // reports it as the statement's own error (its result says so, no event); in the extended
    // protocol the INSERT completes and the commit at Sync fails after it.
    await attempt(c, 'INSERT INTO d VALUES (1), (1)');
    await attempt(c, 'INSERT INTO d VALUES ($1), ($1)', [3]);
    // Extended protocol: a block whose COMMIT fails at commit time.
    await attempt(c, 'BEGIN');
    await attempt(c, 'INSERT INTO d VALUES ($1)', [2]);
    await attempt(c, 'INSERT INTO d VALUES ($1)', [2]);
    await attempt(c, 'COMMIT');
    // A lone autocommit write needs no event: its result says it.
    await attempt(c, 'INSERT INTO t VALUES ($1)', [5]);
    // A block still open when the session ends: the server rolls it back.
    await attempt(c, 'BEGIN');
    await attempt(c, 'INSERT INTO t VALUES (6)');
    await c.end();

    const d = new pg.Client({ connectionString: gw.directUrl });
    await d.connect();
    const kept = (await d.query<{ id: number }>('SELECT id FROM t ORDER BY id')).rows.map((r) => r.id);
    await d.end();
    expect(kept).toEqual([2, 5]);

    let r: Recorded | undefined;
    for (let i = 0; i < 50; i++) {
      r = await recorded(subject);
      if (r.transactions.length >= 7) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    expect(r!.transactions).toEqual([
      {
        outcome: 'rolled back',
        implicit: false,
        texts: ['BEGIN', 'INSERT INTO t VALUES (1)', 'SELECT 1/0', 'COMMIT'],
      },
      {
        outcome: 'committed',
        implicit: false,
        texts: ['BEGIN', 'INSERT INTO t VALUES (2)', 'COMMIT'],
      },
      { outcome: 'rolled back', implicit: false, texts: ['BEGIN', 'INSERT INTO t VALUES (3)', 'ROLLBACK'] },
      { outcome: 'rolled back', implicit: true, texts: ['INSERT INTO t VALUES (4)', 'SELECT 1/0'] },
      { outcome: 'rolled back', implicit: true, texts: ['INSERT INTO d VALUES ($1), ($1)'] },
      {
        outcome: 'rolled back',
        implicit: false,
        texts: ['BEGIN', 'INSERT INTO d VALUES ($1)', 'INSERT INTO d VALUES ($1)', 'COMMIT'],
      },
      { outcome: 'rolled back', implicit: false, texts: ['BEGIN', 'INSERT INTO t VALUES (6)'] },
    ]);
    expect(r!.transactions.length).toBe(7);
  });
});
