// A policy's `rowCap` obligation says "at most this many rows" (docs/policy.md). The gate computed it
// and carried it on every admission, and no engine read it: an agent allowed to read with rowCap 5
// got every row of every table (docs/security.md, class 65). Real PostgreSQL, real `pg` and a raw
// protocol client: a simple Query, the extended protocol, a portal executed a few rows at a time, a
// cursor and COPY TO STDOUT each return at most the cap, and say so.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { BackendCode, decodeErrorFields } from '../src/wire/postgres/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { RawPgClient, errorsIn, msg } from './testkit/raw-pg-client.js';
import type { Frame } from '../src/wire/postgres/index.js';

const CAP = 5;

const POLICIES: PolicyConfig[] = [
  {
    id: 'agents',
    subjects: { agent: true },
    connections: ['*'],
    rules: [
      {
        id: 'agents-read-capped',
        effect: 'allow',
        match: { categories: ['read', 'transaction', 'session'] },
        rowCap: CAP,
      },
    ],
  },
];

let gw: TestGateway;
let agent: string;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: POLICIES,
    setupSql: `CREATE TABLE customers (id int PRIMARY KEY, email text);
      INSERT INTO customers SELECT g, 'c' || g || '@example.com' FROM generate_series(1, 20) g;`,
  });
  agent = await gw.token({ subject: 'claude', agent: true });
});
afterAll(async () => gw?.stop());

const rows = (frames: readonly Frame[]) => frames.filter((f) => f.type === BackendCode.DataRow).length;
const tags = (frames: readonly Frame[]) =>
  frames
    .filter((f) => f.type === BackendCode.CommandComplete)
    .map((f) => f.body.toString('latin1', 0, f.body.length - 1));
const notices = (frames: readonly Frame[]) =>
  frames.filter((f) => f.type === BackendCode.NoticeResponse).map((f) => decodeErrorFields(f.body).M ?? '');

describe('rowCap: at most this many rows (class 65)', () => {
  it('a simple Query and the extended protocol through pg', async () => {
    const c = gw.client(agent);
    const seen: string[] = [];
    c.on('notice', (n) => seen.push(n.message ?? ''));
    await c.connect();
    try {
      const simple = await c.query('SELECT * FROM customers ORDER BY id');
      expect(simple.rows).toHaveLength(CAP);
      expect(simple.rows.map((r: { id: number }) => r.id)).toEqual([1, 2, 3, 4, 5]);
      expect(simple.rowCount).toBe(CAP);
      const extended = await c.query('SELECT * FROM customers WHERE id > $1 ORDER BY id', [2]);
      expect(extended.rows).toHaveLength(CAP);
      expect(seen.join('\n')).toMatch(/at most 5 rows.*rowCap/);
      // A result within the cap is untouched, and says nothing.
      seen.length = 0;
      const small = await c.query('SELECT * FROM customers WHERE id <= 3');
      expect(small.rows).toHaveLength(3);
      expect(small.rowCount).toBe(3);
      expect(seen).toEqual([]);
    } finally {
      await c.end();
    }
  });

  it('a portal executed a few rows at a time, a cursor, and COPY TO STDOUT', async () => {
    const raw = await RawPgClient.open(gw.port, gw.connection, agent);
    try {
      // Execute with a row limit, again and again: the cap is on the portal's whole result.
      raw.send(
        msg.query('BEGIN'),
        msg.parse('', 'SELECT * FROM customers ORDER BY id'),
        msg.bind('p', ''),
        msg.execute('p', 2),
        msg.execute('p', 2),
        msg.execute('p', 2),
        msg.execute('p', 2),
        msg.execute('p', 0),
        msg.sync(),
      );
      await raw.ready();
      let frames = await raw.ready();
      expect(errorsIn(frames)).toEqual([]);
      expect(rows(frames)).toBe(CAP);
      // The last Execute's count is of the rows it relayed: none (the server's says 12).
      expect(tags(frames)).toEqual(['SELECT 0']);
      expect(notices(frames)).toHaveLength(1);
      expect(notices(frames)[0]).toMatch(/at most 5 rows/);

      raw.send(msg.query('DECLARE c CURSOR FOR SELECT * FROM customers; FETCH 100 FROM c; COMMIT'));
      frames = await raw.ready();
      expect(errorsIn(frames)).toEqual([]);
      expect(rows(frames)).toBe(CAP);
      expect(tags(frames)).toContain('FETCH 5');

      raw.send(msg.query('COPY (SELECT * FROM customers) TO STDOUT'));
      frames = await raw.ready();
      expect(errorsIn(frames)).toEqual([]);
      expect(frames.filter((f) => f.type === BackendCode.CopyData)).toHaveLength(CAP);
      expect(tags(frames)).toEqual(['COPY 5']);
      expect(notices(frames).join('\n')).toMatch(/at most 5 rows/);
    } finally {
      raw.close();
    }
  });

  it('the record says how many rows the client got; nothing is written', async () => {
    const c = gw.client(agent);
    c.on('notice', () => undefined);
    await c.connect();
    try {
      await c.query('SELECT id FROM customers /* recorded */');
    } finally {
      await c.end();
    }
    await new Promise((r) => setTimeout(r, 300));
    let found = false;
    for (const s of await gw.gateway.store.listSessions({ subject: 'claude', limit: 100 })) {
      const st = (await gw.gateway.store.getSession(s.id))?.statements ?? [];
      const sel = st.find((x) => x.text === 'SELECT id FROM customers /* recorded */');
      if (!sel) continue;
      found = true;
      expect(sel.result?.rows).toBe(CAP);
    }
    expect(found).toBe(true);
    const direct = new pg.Client({ connectionString: gw.directUrl });
    await direct.connect();
    try {
      expect((await direct.query('SELECT count(*)::int AS n FROM customers')).rows[0].n).toBe(20);
    } finally {
      await direct.end();
    }
  });
});
