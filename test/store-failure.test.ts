// Fail closed on the record: when the store cannot write, the statement is not forwarded and the
// client gets a clear error instead.

import pg from 'pg';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import type { SqliteStore } from '../src/store/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({ superUrl: inject('pgUrl'), setupSql: 'CREATE TABLE t (x int)' });
});
afterAll(async () => gw?.stop().catch(() => undefined));

it('does not forward a statement it could not record', async () => {
  const c = gw.client(await gw.token());
  await c.connect();
  await c.query('INSERT INTO t VALUES (1)');
  // Break the store under the running gateway: the table of its events disappears. A statement written
  // to the record journal before anything noticed is durable there (and forwarded); the fold that would
  // move it into the table fails, and from then on nothing more is taken, so nothing more is forwarded.
  const store = gw.gateway.store as SqliteStore;
  store.getDatabase().exec('DROP TABLE session_events');
  await c.query('INSERT INTO t VALUES (2)');
  await expect(store.foldStaged()).rejects.toThrow(/no such table/);
  const err = (await c.query('INSERT INTO t VALUES (3)').catch((e: unknown) => e)) as pg.DatabaseError;
  expect(err.code).toBe('XX000');
  expect(err.message).toMatch(/could not be recorded, so it was not sent/);
  await c.end();
  const direct = new pg.Client({ connectionString: gw.directUrl });
  await direct.connect();
  const rows = (await direct.query('SELECT x FROM t ORDER BY x')).rows;
  await direct.end();
  expect(rows).toEqual([{ x: 1 }, { x: 2 }]);
});
