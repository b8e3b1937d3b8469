// What the record says of a portal the client executes a few rows at a time (Execute with a row
// limit, PortalSuspended between). The record kept the count of the last Execute's CommandComplete,
// and for a portal let go before it completed, the rows sent so far: a SELECT of 20 rows read in
// chunks of 2 and 18 was recorded as 18 rows, and `UPDATE t SET v = 'x' WHERE id > 0 RETURNING id`
// executed for one row, then Sync, as 1 row — it had changed 20 (docs/security.md, class 68).
// Real PostgreSQL, a raw protocol client, the session store.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { RawPgClient, errorsIn, msg } from './testkit/raw-pg-client.js';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    setupSql: 'CREATE TABLE t (id int, v text); INSERT INTO t SELECT g, NULL FROM generate_series(1, 20) g;',
  });
});
afterAll(async () => gw?.stop());

async function recorded(text: string): Promise<{ rows?: number } | undefined> {
  await new Promise((r) => setTimeout(r, 300));
  for (const s of await gw.gateway.store.listSessions({ subject: 'tester', limit: 100 })) {
    const st = ((await gw.gateway.store.getSession(s.id))?.statements ?? []).find((x) => x.text === text);
    if (st) return st.result ?? {};
  }
  return undefined;
}

describe('the record of a portal executed in parts (class 68)', () => {
  it('a read: every row sent; a write let go before it completed: no count that reads as the rows it changed', async () => {
    const token = await gw.token({ subject: 'tester', groups: ['testers'] });
    const raw = await RawPgClient.open(gw.port, gw.connection, token);
    const read = 'SELECT * FROM t /* chunked */';
    const write = "UPDATE t SET v = 'x' WHERE id > 0 RETURNING id /* let go */";
    try {
      raw.send(msg.parse('', read), msg.bind('p', ''), msg.execute('p', 2), msg.execute('p', 0), msg.sync());
      expect(errorsIn(await raw.ready())).toEqual([]);
      raw.send(msg.parse('', write), msg.bind('', ''), msg.execute('', 1), msg.sync());
      expect(errorsIn(await raw.ready())).toEqual([]);
    } finally {
      raw.close();
    }
    const direct = new pg.Client({ connectionString: gw.directUrl });
    await direct.connect();
    try {
      // The UPDATE ran whole at its first Execute.
      expect((await direct.query("SELECT count(*)::int AS n FROM t WHERE v = 'x'")).rows[0].n).toBe(20);
    } finally {
      await direct.end();
    }
    expect((await recorded(read))?.rows).toBe(20);
    const w = await recorded(write);
    expect(w).toBeDefined();
    expect(w?.rows).toBeUndefined();
  });
});
