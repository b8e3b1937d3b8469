// An agent's transaction holds its locks against every other session for as long as it stays open
// (docs/security.md, class 100), through the real wire against a real PostgreSQL: a plain read in
// `BEGIN` (or in an extended-protocol batch left without its Sync) takes ACCESS SHARE on the table, a
// migration's ALTER TABLE waits behind it, and every later statement on the table queues behind the
// ALTER. Gatehouse bounds how long an agent's transaction may stay open
// (`connections.<name>.agentTransactionTimeout`).

import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { RawPgClient, errorsIn, msg } from './testkit/raw-pg-client.js';

const SEED = readFileSync(new URL('../src/demo/seed.sql', import.meta.url), 'utf8');
const BOUND_MS = 1500;

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: defaultAgentPolicies(['app'], { mask: true }),
    setupSql: SEED,
    connectionExtra: { agentTransactionTimeout: `${BOUND_MS}ms` },
  });
});
afterAll(async () => gw?.stop());

async function connect(agent: boolean): Promise<{ client: pg.Client; ended: Promise<Error> }> {
  const client = gw.client(
    await gw.token(
      agent
        ? { subject: 'claude', groups: ['ai-agents'], agent: true }
        : { subject: 'dana', groups: ['dba'] },
    ),
  );
  client.on('notice', () => undefined);
  const ended = new Promise<Error>((resolve) => client.on('error', resolve));
  await client.connect();
  return { client, ended };
}

/** A migration, run directly: ALTER TABLE, waiting at most `waitMs` for its lock. */
async function migrate(waitMs: number): Promise<string> {
  const dba = new pg.Client({ connectionString: gw.directUrl });
  await dba.connect();
  try {
    await dba.query(`SET lock_timeout = '${waitMs}ms'`);
    await dba.query('ALTER TABLE orders ADD COLUMN IF NOT EXISTS note text');
    await dba.query('ALTER TABLE orders DROP COLUMN note');
    return 'done';
  } catch (e) {
    return (e as pg.DatabaseError).code ?? String(e);
  } finally {
    await dba.end();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('class 100: an agent cannot hold a transaction open against other sessions', () => {
  it('a read in a block holds its lock only until the bound; statements sent meanwhile do not extend it', async () => {
    const { client, ended } = await connect(true);
    await client.query('BEGIN');
    await client.query('SELECT count(*) FROM orders');
    // The lock is held: the migration cannot get its own.
    expect(await migrate(200)).toBe('55P03');
    // Busy, not idle: a statement every 300 ms keeps the block open as long as the agent likes.
    const busy = (async (): Promise<Error | undefined> => {
      for (let i = 0; i < 20; i++) {
        const failed = await client.query('SELECT 1').then(
          () => undefined,
          (err: Error) => err,
        );
        if (failed) return failed;
        await sleep(300);
      }
      return undefined;
    })();
    // node-postgres hands the session's FATAL to the query in flight when there is one (the client's
    // own error is then "Connection terminated unexpectedly"), else to the client: either way, once.
    const fatal = [await ended, await busy].find(
      (x) => (x as pg.DatabaseError | undefined)?.code === '25P04',
    );
    expect(fatal, 'the session ended with 25P04').toBeDefined();
    expect(fatal!.message).toMatch(/agentTransactionTimeout/);
    // The session is gone upstream, and its lock with it.
    expect(await migrate(5000)).toBe('done');
  });

  it('an extended-protocol batch left without its Sync is a transaction too', async () => {
    const token = await gw.token({ subject: 'claude-raw', groups: ['ai-agents'], agent: true });
    const c = await RawPgClient.open(gw.port, 'app', token);
    try {
      // No BEGIN, no Sync: the implicit transaction stays open, and its lock with it.
      c.send(msg.parse('', 'SELECT count(*) FROM orders'), msg.bind('', ''), msg.execute('', 0), msg.flush());
      await c.until((f) => f.type === 0x43); // CommandComplete
      expect(await migrate(200)).toBe('55P03');
      const frames = await c.until(() => false); // until the gateway closes the connection
      const fatal = errorsIn(frames)[0];
      expect(fatal?.C).toBe('25P04');
      expect(await migrate(5000)).toBe('done');
    } finally {
      c.close();
    }
  });

  it('a block that ends within the bound, and autocommit statements, are not affected', async () => {
    const { client } = await connect(true);
    try {
      for (let i = 0; i < 3; i++) {
        await client.query('BEGIN');
        await client.query('SELECT count(*) FROM orders');
        await client.query('COMMIT');
        await sleep(BOUND_MS / 2);
      }
      await sleep(BOUND_MS);
      expect((await client.query('SELECT 1 AS x')).rows).toEqual([{ x: 1 }]);
    } finally {
      await client.end();
    }
  });

  it('a person is not bounded', async () => {
    const { client } = await connect(false);
    try {
      await client.query('BEGIN');
      await client.query('SELECT count(*) FROM orders');
      await sleep(BOUND_MS + 1000);
      expect((await client.query('SELECT 1 AS x')).rows).toEqual([{ x: 1 }]);
      await client.query('COMMIT');
    } finally {
      await client.end();
    }
  });
});
