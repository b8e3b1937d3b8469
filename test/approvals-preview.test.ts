// The impact preview against a real PostgreSQL: EXPLAIN and count(*) on the gateway's own upstream
// connection, read-only and time-limited; it must never run the statement or a side effect.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ImpactPreviewer } from '../src/engines/postgres/impact-preview.js';
import { createPostgresClassifier } from '../src/sql/postgres/index.js';
import type { SqlClassifier } from '../src/core/sql-statement.js';
import type { Json } from './approvals-kit.js';
import { createTestDatabase } from './testkit/databases.js';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let previewer: ImpactPreviewer;
let classifier: SqlClassifier;

async function q<T = Json>(sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  db = await createTestDatabase(inject('pgUrl'), 'preview');
  await q(`CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items SELECT g, 'i' || g FROM generate_series(1, 100) g;
           CREATE SEQUENCE s; CREATE SCHEMA doomed; CREATE TABLE doomed.t AS SELECT g FROM generate_series(1, 1000) g; ANALYZE items;`);
  const u = new URL(db.url);
  previewer = new ImpactPreviewer({
    resolveConnection: (name) =>
      name === 'app'
        ? {
            host: u.hostname,
            port: Number(u.port),
            database: u.pathname.slice(1),
            user: decodeURIComponent(u.username),
            password: () => decodeURIComponent(u.password),
            tls: { mode: 'disable' },
            connectTimeoutMs: 5000,
          }
        : undefined,
  });
  classifier = await createPostgresClassifier();
});
afterAll(async () => db?.drop());

const preview = (text: string, params?: (string | null)[]) =>
  previewer.preview({
    connection: 'app',
    statement: classifier.classify(text).statements[0]!,
    ...(params ? { params } : {}),
  });

describe('impact preview', () => {
  it('explains and counts an UPDATE without running it', async () => {
    const p = await preview(`UPDATE items SET name = 'x' WHERE id <= 40`);
    expect(p.kind).toBe('plan');
    expect(p.plan!.join('\n')).toMatch(/Update on items/);
    expect(p.plan!.join('\n')).not.toMatch(/actual time/);
    expect(p.rowCount).toBe(40);
    expect((await q(`SELECT count(*)::int AS n FROM items WHERE name = 'x'`))[0].n).toBe(0);
  });

  it("binds the statement's parameters, including ones only the SET list uses", async () => {
    const p = await preview('UPDATE items SET name = $1 WHERE id > $2', ['y', '90']);
    expect(p.rowCount).toBe(10);
  });

  it('binds parameters as the client did: binary values as their bytes, under the declared types', async () => {
    const statement = classifier.classify('UPDATE items SET name = $1 WHERE id > $2').statements[0]!;
    const int4 = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeInt32BE(n);
      return `\\x${b.toString('hex')}`;
    };
    const int8 = (n: number) => {
      const b = Buffer.alloc(8);
      b.writeBigInt64BE(BigInt(n));
      return `\\x${b.toString('hex')}`;
    };
    // $2 binary int4 95: the count is of id > 95, not of the text "\x0000005f" (which int4 refuses).
    const binary = await previewer.preview({
      connection: 'app',
      statement,
      params: ['y', int4(95)],
      paramFormats: [0, 1],
    });
    expect(binary.notes.join(' ')).not.toMatch(/failed/);
    expect(binary.rowCount).toBe(5);
    // Declared int8 ($2 :: 20): the server reads 8 bytes, as it will when the statement runs.
    const declared = await previewer.preview({
      connection: 'app',
      statement,
      params: ['y', int8(97)],
      paramFormats: [0, 1],
      paramTypes: [0, 20],
    });
    expect(declared.rowCount).toBe(3);
    // One format code for all: both binary (text's binary form is its bytes).
    const all = await previewer.preview({
      connection: 'app',
      statement,
      params: [`\\x${Buffer.from('z').toString('hex')}`, int8(98)],
      paramFormats: [1],
      paramTypes: [25, 20],
    });
    expect(all.rowCount).toBe(2);
    // A binary value that was not kept whole is not guessed at.
    const clipped = await previewer.preview({
      connection: 'app',
      statement,
      params: ['y', `${int4(95)}…`],
      paramFormats: [0, 1],
    });
    expect(clipped.kind).toBe('none');
    expect(clipped.notes.join(' ')).toMatch(/not kept whole/);
  });

  it('runs no side effect of the WHERE: functions outside the safe list are not counted', async () => {
    const p = await preview(`DELETE FROM items WHERE id = 1 AND nextval('s') > 0`);
    expect(p.kind).toBe('plan');
    expect(p.rowCount).toBeUndefined();
    expect(p.notes.join(' ')).toMatch(/count\(\*\) skipped: the statement calls nextval/);
    expect((await q(`SELECT last_value, is_called FROM s`))[0]).toEqual({
      last_value: '1',
      is_called: false,
    });
    expect((await q(`SELECT count(*)::int AS n FROM items`))[0].n).toBe(100);
  });

  it('plans nothing that calls code PostgreSQL does not ship: the planner would run it before the approval', async () => {
    // Class 51: EXPLAIN folds an IMMUTABLE call with constant arguments and evaluates a STABLE one
    // compared with a column, so the preview's own EXPLAIN ran the held statement's function.
    await q(`CREATE FUNCTION app_boom(k int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
               BEGIN RAISE EXCEPTION 'app_boom ran for %', k; END $$;
             CREATE FUNCTION app_boom_stable() RETURNS int LANGUAGE plpgsql STABLE AS $$
               BEGIN RAISE EXCEPTION 'app_boom_stable ran'; END $$;`);
    // Directly, EXPLAIN alone runs both.
    await expect(q('EXPLAIN SELECT app_boom(0)')).rejects.toThrow(/app_boom ran for 0/);
    await expect(q('EXPLAIN SELECT * FROM items WHERE id = app_boom_stable()')).rejects.toThrow(
      /app_boom_stable ran/,
    );
    for (const text of [
      'SELECT app_boom(1)',
      `UPDATE items SET name = 'x' WHERE id = app_boom(2)`,
      'DELETE FROM items WHERE id = app_boom_stable()',
      'INSERT INTO items VALUES (app_boom(3), $1)',
    ]) {
      const p = await preview(text, text.includes('$1') ? ['n'] : undefined);
      expect(p.kind, text).toBe('none');
      expect(p.notes.join(' '), text).not.toMatch(/ran/);
      expect(p.notes.join(' '), text).toMatch(/EXPLAIN skipped: the statement calls app_boom/);
    }
    // Built-in code only is still planned.
    expect((await preview(`UPDATE items SET name = 'x' WHERE id = abs(-3)`)).kind).toBe('plan');
  });

  it('sizes the objects DDL would touch', async () => {
    const t = await preview('TRUNCATE items');
    expect(t.kind).toBe('objects');
    expect(t.objects![0]).toMatchObject({ name: 'items', type: 'table', exists: true, estimatedRows: 100 });
    const s = await preview('DROP SCHEMA doomed CASCADE');
    expect(s.objects!.find((o) => o.type === 'schema')).toMatchObject({ name: 'doomed', exists: true });
    expect(s.objects!.find((o) => o.type === 'schema')!.bytes).toBeGreaterThan(0);
    const n = await preview('DROP TABLE nope');
    expect(n.objects![0]).toMatchObject({ name: 'nope', exists: false });
  });

  it('gives up within its time limits when the table is locked', async () => {
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    try {
      await locker.query('BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE');
      const t0 = Date.now();
      const p = await preview('DELETE FROM items WHERE id = 5');
      expect(Date.now() - t0).toBeLessThan(4000);
      expect(p.kind).toBe('none');
      expect(p.notes.join(' ')).toMatch(/timeout|canceling/i);
    } finally {
      await locker.query('ROLLBACK');
      await locker.end();
    }
  });

  it('says that a COPY FROM STDIN approval is bound to the rows the client sent before it', async () => {
    const p = await preview('COPY items (id, name) FROM STDIN WITH (FORMAT csv)');
    expect(p.kind).toBe('none');
    expect(p.notes.join(' ')).toMatch(/bound to their digest.*exactly those rows into items/);
    const toClient = await preview('COPY items TO STDOUT');
    expect(toClient.notes.join(' ')).not.toMatch(/digest/);
  });

  it('previews nothing for statements it has no preview for, and unknown connections', async () => {
    expect((await preview('SET work_mem = 1')).kind).toBe('none');
    const p = await previewer.preview({
      connection: 'other',
      statement: classifier.classify('DELETE FROM items').statements[0]!,
    });
    expect(p.notes[0]).toMatch(/not configured/);
  });
});
