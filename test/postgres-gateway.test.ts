// The gateway behaves like PostgreSQL through real clients (the `pg` package), and every statement
// goes through the gate: decided, recorded before it is forwarded, refused in PostgreSQL's terms.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const POLICIES = [
  {
    id: 'testers',
    subjects: { groups: ['testers'] },
    connections: ['app'],
    rules: [
      {
        id: 'no-drop-table',
        effect: 'deny' as const,
        match: { kinds: ['drop table'] },
        message: 'Dropping tables is not allowed here.',
      },
      { id: 'allow-rest', effect: 'allow' as const, match: {} },
    ],
  },
];

let gw: TestGateway;
let token: string;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: POLICIES,
    setupSql: `CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);
               INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 50) g;`,
  });
  token = await gw.token();
});
afterAll(async () => gw?.stop());

async function connect(): Promise<pg.Client> {
  const c = gw.client(token);
  await c.connect();
  return c;
}

async function direct<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: gw.directUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

describe('relay', () => {
  it('answers simple and multi-statement queries', async () => {
    const c = await connect();
    try {
      const r = await c.query('SELECT count(*)::int AS n FROM items');
      expect(r.rows[0].n).toBe(50);
      const multi = (await c.query('SELECT 1 AS a; SELECT 2 AS b')) as unknown as pg.QueryResult[];
      expect(multi.map((x) => x.rows[0])).toEqual([{ a: 1 }, { b: 2 }]);
    } finally {
      await c.end();
    }
  });

  it('runs the extended protocol with parameters and named prepared statements', async () => {
    const c = await connect();
    try {
      const r = await c.query('SELECT name FROM items WHERE id = $1', [7]);
      expect(r.rows).toEqual([{ name: 'item 7' }]);
      for (const id of [3, 4, 5]) {
        const p = await c.query({
          name: 'by-id',
          text: 'SELECT name FROM items WHERE id = $1',
          values: [id],
        });
        expect(p.rows[0].name).toBe(`item ${id}`);
      }
    } finally {
      await c.end();
    }
  });

  it('relays ErrorResponse fields (SQLSTATE, constraint, detail) and keeps the session usable', async () => {
    const c = await connect();
    try {
      const err = (await c
        .query('INSERT INTO items VALUES (1, $1)', ['dup'])
        .catch((e: unknown) => e)) as pg.DatabaseError;
      expect(err.code).toBe('23505');
      expect(err.constraint).toBe('items_pkey');
      expect(err.detail).toContain('(id)=(1)');
      const z = (await c.query('SELECT 1/0').catch((e: unknown) => e)) as pg.DatabaseError;
      expect(z.code).toBe('22012');
      expect((await c.query('SELECT 1 AS ok')).rows[0].ok).toBe(1);
    } finally {
      await c.end();
    }
  });

  it('relays NoticeResponse and LISTEN/NOTIFY', async () => {
    const a = await connect();
    const b = await connect();
    try {
      const notices: { message?: string; hint?: string; code?: string }[] = [];
      a.on('notice', (n) => notices.push(n));
      await a.query(`DO $$ BEGIN RAISE NOTICE 'hello from %', 'plpgsql' USING HINT = 'a hint'; END $$`);
      expect(notices[0]?.message).toBe('hello from plpgsql');
      expect(notices[0]?.hint).toBe('a hint');
      expect(notices[0]?.code).toBe('00000');

      const got = new Promise<pg.Notification>((resolve) => a.on('notification', resolve));
      await a.query('LISTEN gh_channel');
      await b.query(`NOTIFY gh_channel, 'payload 42'`);
      const n = await got;
      expect(n.channel).toBe('gh_channel');
      expect(n.payload).toBe('payload 42');
    } finally {
      await a.end();
      await b.end();
    }
  });

  it('keeps transaction semantics', async () => {
    const c = await connect();
    try {
      await c.query('BEGIN');
      await c.query(`INSERT INTO items VALUES (1001, 'tx')`);
      await c.query('ROLLBACK');
      const r = await c.query('SELECT count(*)::int AS n FROM items WHERE id = 1001');
      expect(r.rows[0].n).toBe(0);
    } finally {
      await c.end();
    }
  });
});

describe('refusals', () => {
  it('refuses a denied statement with 42501 naming the rule, and the session stays usable', async () => {
    const c = await connect();
    try {
      const err = (await c.query('DROP TABLE items').catch((e: unknown) => e)) as pg.DatabaseError;
      expect(err.code).toBe('42501');
      expect(err.message).toContain('Dropping tables is not allowed here.');
      expect(`${err.message} ${err.detail ?? ''}`).toContain('no-drop-table');
      expect((await c.query('SELECT count(*)::int AS n FROM items')).rows[0].n).toBeGreaterThan(0);
    } finally {
      await c.end();
    }
    expect(
      await direct(
        async (d) => (await d.query(`SELECT to_regclass('items') IS NOT NULL AS present`)).rows[0].present,
      ),
    ).toBe(true);
  });

  it('refuses the whole string when one statement of a multi-statement query is denied', async () => {
    const c = await connect();
    try {
      const err = (await c
        .query(`INSERT INTO items VALUES (2001, 'sneaky'); DROP TABLE items`)
        .catch((e: unknown) => e)) as pg.DatabaseError;
      expect(err.code).toBe('42501');
    } finally {
      await c.end();
    }
    const n = await direct(
      async (d) => (await d.query('SELECT count(*)::int AS n FROM items WHERE id = 2001')).rows[0].n,
    );
    expect(n).toBe(0);
  });

  it('refuses in the extended protocol at Parse and skips to Sync like PostgreSQL', async () => {
    const c = await connect();
    try {
      const err = (await c
        .query({ text: 'DROP TABLE items', values: [] })
        .catch((e: unknown) => e)) as pg.DatabaseError;
      expect(err.code).toBe('42501');
      const again = (await c
        .query({ name: 'drop-it', text: 'DROP TABLE items' })
        .catch((e: unknown) => e)) as pg.DatabaseError;
      expect(again.code).toBe('42501');
      expect((await c.query('SELECT $1::int AS v', [5])).rows[0].v).toBe(5);
    } finally {
      await c.end();
    }
  });

  it('a refusal inside a transaction aborts it, as any PostgreSQL error would', async () => {
    const c = await connect();
    try {
      await c.query('BEGIN');
      await c.query(`INSERT INTO items VALUES (3001, 'in tx')`);
      const err = (await c.query('DROP TABLE items').catch((e: unknown) => e)) as pg.DatabaseError;
      expect(err.code).toBe('42501');
      const next = (await c.query('SELECT 1').catch((e: unknown) => e)) as pg.DatabaseError;
      expect(next.code).toBe('25P02');
      await c.query('COMMIT');
    } finally {
      await c.end();
    }
    expect(
      await direct(
        async (d) => (await d.query('SELECT count(*)::int AS n FROM items WHERE id = 3001')).rows[0].n,
      ),
    ).toBe(0);
  });

  it("refuses text that does not parse with PostgreSQL's own 42601, message and position", async () => {
    const c = await connect();
    try {
      const err = (await c.query('SELEC 1 FROM').catch((e: unknown) => e)) as pg.DatabaseError;
      expect(err.code).toBe('42601');
      expect(err.message).toBe('syntax error at or near "SELEC"');
      expect(err.position).toBe('1');
      expect(err.detail).toBe('Gatehouse rule: unparseable');
      // The same error as PostgreSQL gives directly, position included.
      const direct = (await c.query('SELECT 1 FROM WHERE').catch((e: unknown) => e)) as pg.DatabaseError;
      expect([direct.code, direct.message, direct.position]).toEqual([
        '42601',
        'syntax error at or near "WHERE"',
        '15',
      ]);
      // A Parse with two statements gets PostgreSQL's own error too.
      const two = (await c
        .query({ name: 'two', text: 'SELECT 1; SELECT 2' })
        .catch((e: unknown) => e)) as pg.DatabaseError;
      expect([two.code, two.message]).toEqual([
        '42601',
        'cannot insert multiple commands into a prepared statement',
      ]);
    } finally {
      await c.end();
    }
  });
});

describe('records', () => {
  it('records the session and each statement with decision, rule, rows and errors', async () => {
    const c = await connect();
    await c.query('SELECT id FROM items WHERE id < 4');
    await c.query('DROP TABLE items').catch(() => undefined);
    await c.query('SELECT 1/0').catch(() => undefined);
    await c.end();
    await new Promise((r) => setTimeout(r, 300));
    const sessions = await gw.gateway.store.listSessions({ subject: 'tester', limit: 100 });
    expect(sessions.length).toBeGreaterThan(0);
    let found = false;
    for (const s of sessions) {
      const full = await gw.gateway.store.getSession(s.id);
      const st = full?.statements ?? [];
      const sel = st.find((x) => x.text === 'SELECT id FROM items WHERE id < 4');
      if (!sel) continue;
      found = true;
      expect(full?.session.clientUser).toBe('tester');
      expect(full?.session.connection).toBe('app');
      expect(sel.effect).toBe('allow');
      expect(sel.kind).toBe('select');
      expect(sel.result?.rows).toBe(3);
      const drop = st.find((x) => x.text === 'DROP TABLE items');
      expect(drop?.effect).toBe('deny');
      expect(drop?.ruleId).toBe('no-drop-table');
      const div = st.find((x) => x.text === 'SELECT 1/0');
      expect(div?.result?.error?.code).toBe('22012');
      expect(full?.session.endedAt).toBeInstanceOf(Date);
    }
    expect(found).toBe(true);
  });
});
