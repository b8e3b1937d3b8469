// The record journal (record-journal.ts) must be invisible to everything but the cost of a commit:
// every read in the writing process sees every acknowledged write, results land wherever their
// statement's row is, keys refuse what they refused before, what a killed process journaled comes back
// at the next open (a torn last frame aside, which was never acknowledged), a live process's journal is
// left to it, and a fold that cannot run fails reads and, past its bound, writes — never silently.

import { spawn } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import type { SessionRecord, StatementRecord } from '../core/records.js';
import { statementId } from '../gate/ids.js';
import { eventHash, GENESIS_PREV } from '../recording/record-format.js';
import { framePayload, inSessionOrder, readPayload } from './record-journal.js';
import { eventToChained } from '../recording/recording-export.js';
import { SqliteStore } from './sqlite-store.js';
import { migrateStore } from './migrate.js';
import { STORE_MIGRATIONS } from './migrations/index.js';
import { Kysely, SqliteDialect } from 'kysely';

const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-journal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = () => path.join(dir, `j${++n}.db`);

const session = (id: string): SessionRecord => ({
  id,
  startedAt: new Date('2026-01-01T00:00:00.000Z'),
  subject: 'alice',
  groups: [],
  tokenKind: 'oidc',
  agent: false,
  issuer: 'https://idp',
  clientAddress: '127.0.0.1:1',
  connection: 'prod',
  protocol: 'postgres',
});
const stmt = (sessionId: string, seq: number, id = `${sessionId}:${seq}`): StatementRecord => ({
  id,
  sessionId,
  seq,
  at: new Date(1_767_225_600_000 + seq),
  via: 'simple',
  text: `select ${seq}`,
  kind: 'select',
  categories: ['read'],
  effect: 'allow',
  ruleId: 'r',
});

function count(db: Database.Database, table: string): number {
  return (db.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;
}

type OpenOptions = Parameters<typeof SqliteStore.open>[0] extends infer O ? Partial<O> : never;
/** A store whose timer never folds in the test's time: only reads, full journals and close do. */
const opener =
  (fold: 'thread' | 'inline') =>
  (f: string, extra: OpenOptions = {}) =>
    SqliteStore.open({ path: f, foldIntervalMs: 3_600_000, fold, ...extra });

const journalFiles = (f: string) => (existsSync(`${f}-journals`) ? readdirSync(`${f}-journals`).sort() : []);

// Every test runs with the folds on their own thread (the default) and on the writing connection.
describe.each(['thread', 'inline'] as const)('the record journal, folded %s', (fold) => {
  const open = opener(fold);

  test('every read sees every write acknowledged before it, while folds run beside the writes', async () => {
    const store = await open(file(), { journal: { foldRows: 8 } });
    try {
      const ids = ['c1', 'c2', 'c3'];
      for (const id of ids) await store.startSession(session(id));
      const acknowledged = new Map<string, number>(ids.map((id) => [id, 0]));
      // Each session writes one statement after another (many small batches, many folds) …
      const writes = ids.map(async (id) => {
        for (let seq = 1; seq <= 40; seq++) {
          await store.recordStatement(stmt(id, seq));
          acknowledged.set(id, seq);
        }
      });
      // … while reads run: each sees at least what was acknowledged when it was asked, in order, with
      // nothing twice.
      for (let i = 0; i < 30; i++) {
        await new Promise((r) => setImmediate(r));
        const id = ids[i % ids.length]!;
        const before = acknowledged.get(id)!;
        const seen = (await store.getSession(id))!.statements.map((x) => x.seq);
        expect(seen.length).toBeGreaterThanOrEqual(before);
        expect(seen).toEqual(seen.map((_, k) => k + 1));
      }
      await Promise.all(writes);
      await store.endSession('c2', new Date('2026-01-01T00:01:00.000Z'), 'client');
      for (const id of ids)
        expect((await store.getSession(id))!.statements.map((x) => x.seq)).toEqual(
          Array.from({ length: 40 }, (_, k) => k + 1),
        );
      expect((await store.getSession('c2'))!.session.endedAt).toBeInstanceOf(Date);
      expect(store.journalStats()).toMatchObject({ pending: 0, failedFolds: 0 });
      expect(store.journalStats()!.folds).toBeGreaterThan(1);
    } finally {
      await store.close();
    }
  });

  test('the timer folds a frame once it has waited foldDelayMs (or foldRows rows wait), not at every tick', async () => {
    const store = await open(file(), { foldIntervalMs: 5, journal: { foldRows: 1_000, foldDelayMs: 200 } });
    try {
      await store.startSession(session('t'));
      await store.foldStaged();
      const folds = store.journalStats()!.folds;
      const written = performance.now();
      await store.recordStatement(stmt('t', 1));
      await store.recordStatement(stmt('t', 2));
      // Many ticks pass; while the first frame is younger than 200 ms, none of them folds it.
      while (performance.now() - written < 120) {
        await new Promise((r) => setTimeout(r, 10));
        const stats = store.journalStats()!;
        if (performance.now() - written < 200) {
          expect(stats.folds).toBe(folds);
          expect(stats.pending).toBe(2);
        }
      }
      // Once it has waited that long, the next tick folds both frames in one fold.
      const deadline = performance.now() + 5_000;
      while (store.journalStats()!.pending > 0 && performance.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      expect(performance.now() - written).toBeGreaterThanOrEqual(200);
      expect(store.journalStats()).toMatchObject({ pending: 0, folds: folds + 1, failedFolds: 0 });
    } finally {
      await store.close();
    }
  });

  test('a fold takes at most 4 × foldRows rows of whole frames, and writes wait for folds that fall behind', async () => {
    const store = await open(file(), { journal: { foldRows: 2 } });
    try {
      await store.startSession(session('k'));
      let most = 0;
      // One statement after another: a frame of one row each (the statement's event; migration 0008).
      for (let seq = 1; seq <= 60; seq++) {
        await store.recordStatement(stmt('k', seq));
        most = Math.max(most, store.journalStats()!.pending);
      }
      const folds = store.journalStats()!.folds;
      await store.foldStaged();
      // 60 rows, at most 8 a fold (eight frames).
      expect(store.journalStats()!.rowsFolded).toBe(60);
      expect(store.journalStats()!.folds).toBeGreaterThanOrEqual(8);
      expect(folds).toBeGreaterThan(0);
      // Past 32 pending rows a write waits for the folds: what waits stays at that bound and a frame.
      expect(most).toBeLessThanOrEqual(33);
      for (let seq = 1; seq <= 60; seq++)
        await store.completeStatement(`k:${seq}`, { durationMs: 1, rows: seq });
      const got = (await store.getSession('k'))!.statements;
      expect(got.map((x) => x.seq)).toEqual(Array.from({ length: 60 }, (_, k) => k + 1));
      expect(got.every((x) => x.result?.rows === x.seq)).toBe(true);
      expect(store.journalStats()!.rowsFolded).toBe(120); // and the 60 results' events
    } finally {
      await store.close();
    }
  });

  test('a fold waits for a transaction held open on the writing connection: its rollback cannot undo folded rows', async () => {
    const store = await open(file());
    try {
      await store.startSession(session('t'));
      await store.recordStatement(stmt('t', 1));
      const db = store.getDatabase();
      db.exec('BEGIN'); // as a query through kysely holding its transaction across an await would
      const folded = store.foldStaged();
      await new Promise((r) => setTimeout(r, 100));
      expect(store.journalStats()!.pending).toBe(1); // not folded inside that transaction
      db.exec('ROLLBACK');
      await folded;
      expect(store.journalStats()!.pending).toBe(0);
      expect(count(db, 'statement_records')).toBe(1);
      expect((await store.getSession('t'))!.statements.map((x) => x.seq)).toEqual([1]);
    } finally {
      await store.close();
    }
  });

  test('takes statements, results and their events; every read folds them first', async () => {
    const store = await open(file());
    try {
      await store.startSession(session('a')); // a session's start is written to the tables directly
      await store.recordStatement(stmt('a', 1));
      const db = store.getDatabase();
      expect(count(db, 'statements')).toBe(0);
      expect(count(db, 'session_events')).toBe(1); // session.start
      expect(store.journalStats()).toMatchObject({ pending: 1, folds: 0 });

      const got = await store.getSession('a');
      expect(got?.statements.map((s) => s.id)).toEqual(['a:1']);
      expect(count(db, 'session_events')).toBe(2);
      expect(store.journalStats()).toMatchObject({ folds: 1, rowsFolded: 1, pending: 0, failedFolds: 0 });
      // The statement is written once, as its event: no `statements` row beside it (migration 0008).
      expect(count(db, 'statements')).toBe(0);

      // Each read folds: events, counts and listings see a write made after the last fold.
      await store.recordStatement(stmt('a', 2));
      expect((await store.getEvents('a')).map((e) => e.seq)).toEqual([1, 2, 3]);
      await store.recordStatement(stmt('a', 3));
      expect((await store.countStatements('a')).total).toBe(3);
    } finally {
      await store.close();
    }
  });

  test('a statement recorded as a row before schema 8 is read once, beside those recorded as events', async () => {
    const store = await open(file());
    try {
      await store.startSession(session('m'));
      await store.recordStatement(stmt('m', 2)); // written once, as its event
      await store.completeStatement('m:2', { durationMs: 1, rows: 4 });
      await store.foldStaged();
      const db = store.getDatabase();
      expect(count(db, 'statements')).toBe(0);
      // What an older version wrote for a statement: its row, with its result, and its event.
      db.prepare(
        `insert into statements (id, session_id, seq, at, via, "text", kind, categories, effect, rule_id,
           duration_ms, row_count) values ('m:1', 'm', 1, 0, 'simple', 'select 1', 'select', '["read"]', 'allow', 'r', 1, 3)`,
      ).run();
      db.prepare(
        `insert into session_events (session_id, seq, type, at, statement_id, data, prev_hash, hash)
         values ('m', 100, 'statement', 0, 'm:1', '{"seq":1,"text":"select 1"}', '', '')`,
      ).run();
      const got = await store.getSession('m');
      expect(got?.statements.map((x) => [x.id, x.text, x.result?.rows])).toEqual([
        ['m:1', 'select 1', 3],
        ['m:2', 'select 2', 4],
      ]);
      expect((await store.countStatements('m')).total).toBe(2);
      // Only recordStatement writes a statement's event (its keys checked): none can be appended.
      await expect(
        store.appendEvent('m', { type: 'statement', at: new Date(), data: { seq: 3, text: 'select 3' } }),
      ).rejects.toThrow(/recordStatement/);
      expect((await store.countStatements('m')).total).toBe(2);
    } finally {
      await store.close();
    }
  });

  test('the statements view reads one session by key (no scan grows with the record)', async () => {
    const store = await open(file());
    try {
      const plan = (q: string) =>
        (store.getDatabase().prepare(`explain query plan ${q}`).all() as { detail: string }[])
          .map((r) => r.detail)
          .join('\n');
      // The session's own events, by key, sorted for the window that finds each result (migration
      // 0009); the result row by key. Nothing reads another session's events.
      const read = plan("select * from statement_records where session_id = 'x' order by seq");
      expect(read).toMatch(
        /SEARCH session_events USING INDEX sqlite_autoindex_session_events_1 \(session_id=\?\)/,
      );
      expect(read).toMatch(
        /SEARCH r USING INDEX sqlite_autoindex_session_events_1 \(session_id=\? AND seq=\?\)/,
      );
      expect(read).toMatch(/SEARCH statements USING INDEX statements_session_seq_key \(session_id=\?\)/);
      expect(read).not.toMatch(/SCAN (r|s|statements|session_events)\b/);
      const counted = plan("select count(*) from statement_records where session_id = 'x'");
      expect(counted).not.toMatch(/SCAN (r|s|statements|session_events)\b/);
      // The index a result was found by until version 9 is gone: it was a fifth of a fold's cost.
      const indexes = store
        .getDatabase()
        .prepare("select name from sqlite_master where type = 'index' and tbl_name = 'session_events'")
        .all() as { name: string }[];
      expect(indexes.map((i) => i.name)).toEqual(['sqlite_autoindex_session_events_1']);
    } finally {
      await store.close();
    }
  });

  test('the statements view gives each statement the first result of its id after it in its session', async () => {
    // Any events: statements and results of a few ids in a few sessions, in any order, some ids
    // answered twice or never, some results before their statement or for none, other event types
    // naming the same ids. The view must agree with the rule read plainly.
    type Ev = { session: string; type: string; id: string | null; rows: number };
    const EFFECTS = ['allow', 'deny', 'review'] as const;
    const ev = fc.record({
      session: fc.constantFrom('s1', 's2', 's3'),
      type: fc.constantFrom('statement', 'statement', 'result', 'result', 'approval.requested'),
      id: fc.option(fc.constantFrom('q1', 'q2', 'q3', 'q4'), { freq: 8 }),
      rows: fc.nat(1000),
    });
    const store = await open(file());
    try {
      const db = store.getDatabase();
      const insert = db.prepare(
        `insert into session_events (session_id, seq, type, at, statement_id, data, prev_hash, hash)
         values (?, ?, ?, 0, ?, ?, '', '')`,
      );
      await fc.assert(
        fc.asyncProperty(fc.array(ev, { maxLength: 40 }), async (evs: Ev[]) => {
          db.prepare('delete from session_events').run();
          const seqs = new Map<string, number>();
          const placed = evs.map((e) => {
            const seq = (seqs.get(e.session) ?? 0) + 1;
            seqs.set(e.session, seq);
            const data =
              e.type === 'result'
                ? JSON.stringify({ durationMs: 1, rows: e.rows })
                : JSON.stringify({ seq, text: `select ${e.rows}`, effect: EFFECTS[e.rows % 3] });
            insert.run(e.session, seq, e.type, e.id, data);
            return { ...e, seq };
          });
          for (const sessionId of ['s1', 's2', 's3']) {
            const want = placed
              .filter((e) => e.session === sessionId && e.type === 'statement' && e.id !== null)
              .map((e) => {
                const r = placed.find(
                  (x) => x.session === sessionId && x.type === 'result' && x.id === e.id && x.seq > e.seq,
                );
                return [e.id, e.seq, `select ${e.rows}`, r?.rows ?? null];
              });
            const got = (
              db
                .prepare(
                  'select id, seq, "text", row_count from statement_records where session_id = ? order by seq',
                )
                .all(sessionId) as { id: string; seq: number; text: string; row_count: number | null }[]
            ).map((x) => [x.id, x.seq, x.text, x.row_count]);
            expect(got).toEqual(want);
            // Counted without the results (not through the view's window): the same statements.
            const effects = placed
              .filter((e) => e.session === sessionId && e.type === 'statement' && e.id !== null)
              .map((e) => EFFECTS[e.rows % 3]);
            expect(await store.countStatements(sessionId)).toEqual({
              total: want.length,
              denied: effects.filter((x) => x === 'deny').length,
              review: effects.filter((x) => x === 'review').length,
            });
          }
        }),
        { numRuns: 200 },
      );
    } finally {
      await store.close();
    }
  });

  test('a database of schema 8 is read the same after version 9 drops its result index (and 11 adds the reviewed bodies)', async () => {
    const f = file();
    const raw = new Database(f);
    raw.pragma('journal_mode = WAL');
    const kysely = new Kysely<unknown>({ dialect: new SqliteDialect({ database: raw }) });
    expect((await migrateStore(kysely, 'sqlite', STORE_MIGRATIONS.slice(0, 8))).version).toBe(8);
    const insert = raw.prepare(
      `insert into session_events (session_id, seq, type, at, statement_id, data, prev_hash, hash)
       values ('u', ?, ?, 0, ?, ?, '', '')`,
    );
    insert.run(1, 'statement', 'u:1', '{"body":{"bytes":5,"sha256":"ab"},"seq":1,"text":"select 1"}');
    insert.run(2, 'statement', 'u:2', '{"seq":2,"text":"select 2"}'); // never answered
    insert.run(3, 'result', 'u:1', '{"durationMs":1,"rows":5}');
    const before = raw
      .prepare("select * from statement_records where session_id = 'u' order by seq")
      .all() as Record<string, unknown>[];
    expect(before).toMatchObject([
      { id: 'u:1', row_count: 5 },
      { id: 'u:2', row_count: null },
    ]);
    await kysely.destroy(); // closes `raw`
    const store = await open(f);
    try {
      const db = store.getDatabase();
      // The same columns, and since version 11 the body the `statement` event names.
      expect(db.prepare("select * from statement_records where session_id = 'u' order by seq").all()).toEqual(
        [
          { ...before[0], body_sha256: 'ab', body_bytes: 5 },
          { ...before[1], body_sha256: null, body_bytes: null },
        ],
      );
      expect(
        db.prepare("select 1 from sqlite_master where name = 'session_events_result_key'").all(),
      ).toEqual([]);
    } finally {
      await store.close();
    }
  });

  test("a result reaches its statement's record, journaled or already folded, and the chain verifies", async () => {
    const store = await open(file());
    try {
      await store.startSession(session('b'));
      await store.recordStatement(stmt('b', 1));
      await store.recordStatement(stmt('b', 2));
      await store.completeStatement('b:1', { durationMs: 1.5, rows: 7 }); // its event is in the journal
      await store.foldStaged();
      await store.completeStatement('b:2', { durationMs: 2.5, rows: 9 }); // its event is folded
      const got = await store.getSession('b');
      expect(got?.statements.map((s) => [s.id, s.result?.rows])).toEqual([
        ['b:1', 7],
        ['b:2', 9],
      ]);
      const evs = await store.getEvents('b');
      expect(evs.map((e) => e.type)).toEqual(['session.start', 'statement', 'statement', 'result', 'result']);
      let prev = GENESIS_PREV;
      for (const e of evs) {
        expect(e.prev).toBe(prev);
        expect(e.hash).toBe(eventHash(eventToChained(e)));
        prev = e.hash;
      }
      // A result for no recorded statement is refused, journaled rows or not.
      await expect(store.completeStatement('b:404', { durationMs: 1 })).rejects.toMatchObject({
        code: 'ERR_RECORD_FAILED',
      });
    } finally {
      await store.close();
    }
  });

  test('a statement id or (session, seq) already recorded is refused at its write, journaled or folded', async () => {
    const store = await open(file());
    try {
      await store.startSession(session('c'));
      await store.recordStatement(stmt('c', 1));
      await expect(store.recordStatement(stmt('c', 2, 'c:1'))).rejects.toMatchObject({
        code: 'ERR_RECORD_FAILED',
      });
      await expect(store.recordStatement(stmt('c', 1, 'other'))).rejects.toMatchObject({
        code: 'ERR_RECORD_FAILED',
      });
      await store.foldStaged();
      await expect(store.recordStatement(stmt('c', 3, 'c:1'))).rejects.toMatchObject({
        code: 'ERR_RECORD_FAILED',
      });
      await expect(store.recordStatement(stmt('c', 1, 'again'))).rejects.toMatchObject({
        code: 'ERR_RECORD_FAILED',
      });
      // A refused write is alone in being refused: the batch around it commits.
      const ok = store.recordStatement(stmt('c', 2));
      const dup = store.recordStatement(stmt('c', 9, 'c:2'));
      await ok;
      await expect(dup).rejects.toMatchObject({ code: 'ERR_RECORD_FAILED' });
      expect((await store.getSession('c'))?.statements.map((s) => s.id)).toEqual(['c:1', 'c:2']);
    } finally {
      await store.close();
    }
  });

  test('a statement of a session the store does not have is refused: it would be recorded nowhere', async () => {
    const f = file();
    const store = await open(f);
    try {
      await expect(store.recordStatement(stmt('ghost', 1))).rejects.toMatchObject({
        code: 'ERR_RECORD_FAILED',
      });
      // In one batch with its result, and beside a statement of a session the store has.
      await store.startSession(session('real'));
      const ghost = store.recordStatement(stmt('ghost', 2));
      const result = store.completeStatement('ghost:2', { durationMs: 1 });
      const real = store.recordStatement(stmt('real', 1));
      await expect(ghost).rejects.toMatchObject({ code: 'ERR_RECORD_FAILED' });
      await expect(result).rejects.toMatchObject({ code: 'ERR_RECORD_FAILED' });
      await real;
      // Its keys were not taken by the refused write.
      await store.startSession(session('ghost'));
      await store.recordStatement(stmt('ghost', 1));
      expect((await store.getSession('ghost'))?.statements.map((s) => s.id)).toEqual(['ghost:1']);
      expect((await store.getSession('real'))?.statements.map((s) => s.id)).toEqual(['real:1']);
    } finally {
      await store.close();
    }
  });

  test("the gate's ids in a session this store started are checked in memory, as strictly", async () => {
    const store = await open(file());
    try {
      await store.startSession(session('g1'));
      await store.startSession(session('g2'));
      const id = (s: string, seq: number) => statementId(s, seq);
      await store.recordStatement(stmt('g1', 1, id('g1', 1)));
      // The same seq again, journaled and then folded; twice in one batch.
      await expect(store.recordStatement(stmt('g1', 1, id('g1', 1)))).rejects.toMatchObject({
        code: 'ERR_RECORD_FAILED',
      });
      await store.foldStaged();
      await expect(store.recordStatement(stmt('g1', 1, id('g1', 1)))).rejects.toMatchObject({
        code: 'ERR_RECORD_FAILED',
      });
      const first = store.recordStatement(stmt('g1', 2, id('g1', 2)));
      const twice = store.recordStatement(stmt('g1', 2, id('g1', 2)));
      await first;
      await expect(twice).rejects.toMatchObject({ code: 'ERR_RECORD_FAILED' });
      // An id of the gate's shape naming another session this store started is refused (it is that
      // session's), and so is the other way round: a seq whose id another row already took.
      await expect(store.recordStatement(stmt('g2', 7, id('g1', 3)))).rejects.toMatchObject({
        code: 'ERR_RECORD_FAILED',
      });
      // A result names the gate's id of a seq whose statement has another id: refused.
      await store.recordStatement(stmt('g1', 4, 'g1-four'));
      await expect(store.completeStatement(id('g1', 4), { durationMs: 1 })).rejects.toMatchObject({
        code: 'ERR_RECORD_FAILED',
      });
      await store.recordStatement(stmt('g1', 3, id('g1', 3)));
      await store.completeStatement(id('g1', 3), { durationMs: 1, rows: 1 });
      await store.foldStaged();
      await store.completeStatement(id('g1', 2), { durationMs: 1, rows: 2 });
      const got = await store.getSession('g1');
      expect(got?.statements.map((s) => [s.seq, s.result?.rows])).toEqual([
        [1, undefined],
        [2, 2],
        [3, 1],
        [4, undefined],
      ]);
    } finally {
      await store.close();
    }
  });

  test("an id of the gate's shape another seq of its own session took is refused for its own seq", async () => {
    const store = await open(file());
    try {
      await store.startSession(session('sh'));
      const id = (seq: number) => statementId('sh', seq);
      // Seq 1 recorded with the id the gate gives seq 9: that id is taken, for seq 9 too.
      await store.recordStatement(stmt('sh', 1, id(9)));
      await expect(store.recordStatement(stmt('sh', 9, id(9)))).rejects.toMatchObject({
        code: 'ERR_RECORD_FAILED',
      });
      await store.foldStaged();
      await expect(store.recordStatement(stmt('sh', 9, id(9)))).rejects.toMatchObject({
        code: 'ERR_RECORD_FAILED',
      });
      // Both in one batch.
      const first = store.recordStatement(stmt('sh', 2, id(8)));
      const second = store.recordStatement(stmt('sh', 8, id(8)));
      await first;
      await expect(second).rejects.toMatchObject({ code: 'ERR_RECORD_FAILED' });
      await store.recordStatement(stmt('sh', 3, id(3)));
      const ids = (await store.getSession('sh'))?.statements.map((s) => s.id) ?? [];
      expect(ids).toEqual([id(9), id(8), id(3)]);
    } finally {
      await store.close();
    }
  });

  test("the gate's seqs stay checked in memory past the bits' first bound; a seq chosen far past them is probed", async () => {
    // Probed, a statement scans the session's events and then every event (no index is kept for
    // statement ids): past seq 2^24 a session's every statement and result did, on the event loop.
    const store = await open(file(), { journal: { bitmapSeqs: 64 } });
    try {
      await store.startSession(session('long'));
      const id = (seq: number) => statementId('long', seq);
      for (let seq = 1; seq <= 300; seq++) {
        await store.recordStatement(stmt('long', seq, id(seq)));
        await store.completeStatement(id(seq), { durationMs: 1, rows: seq });
      }
      expect(store.journalStats()?.keyProbes).toBe(0);
      await expect(store.recordStatement(stmt('long', 250, id(250)))).rejects.toMatchObject({
        code: 'ERR_RECORD_FAILED',
      });
      await store.foldStaged();
      await expect(store.recordStatement(stmt('long', 300, id(300)))).rejects.toMatchObject({
        code: 'ERR_RECORD_FAILED',
      });
      // Far past what the session recorded: probed (and refused again, journaled or folded), and so
      // is every seq up to it; the bits do not grow for it.
      await store.recordStatement(stmt('long', 5000, id(5000)));
      await expect(store.recordStatement(stmt('long', 5000, id(5000)))).rejects.toMatchObject({
        code: 'ERR_RECORD_FAILED',
      });
      await store.recordStatement(stmt('long', 4000, id(6000)));
      await store.foldStaged();
      await expect(store.recordStatement(stmt('long', 5000, 'other'))).rejects.toMatchObject({
        code: 'ERR_RECORD_FAILED',
      });
      await expect(store.recordStatement(stmt('long', 6000, id(6000)))).rejects.toMatchObject({
        code: 'ERR_RECORD_FAILED',
      });
      await store.recordStatement(stmt('long', 301, id(301)));
      expect(store.journalStats()?.keyProbes).toBe(6);
      const got = await store.getSession('long');
      expect(got?.statements).toHaveLength(303);
      expect(got?.statements[299]?.result?.rows).toBe(300);
    } finally {
      await store.close();
    }
  });

  test('what a killed process journaled is folded by the next open; a torn last frame is not', async () => {
    const f = file();
    const script = path.join(dir, 'killed.mts');
    const storeModule = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sqlite-store.ts');
    writeFileSync(
      script,
      `import { SqliteStore } from ${JSON.stringify(storeModule)};
const store = await SqliteStore.open({ path: ${JSON.stringify(f)}, foldIntervalMs: 3_600_000 });
await store.startSession({ ...${JSON.stringify(session('k'))}, startedAt: new Date() });
// Frames of every size the journal encodes them in: small ones in its kept buffer, one larger than
// it at first (and non-ASCII), one larger than any buffer it keeps, then small ones again.
const texts = ['select 1', 'select ' + 'é'.repeat(30_000), 'select 3', 'select ' + 'x'.repeat(400_000), 'select 5'];
for (let seq = 1; seq <= 5; seq++)
  await store.recordStatement({ ...${JSON.stringify(stmt('k', 0))}, id: 'k:' + seq, seq, at: new Date(), text: texts[seq - 1] });
await store.completeStatement('k:5', { durationMs: 1, rows: 3 });
store.commitDeferred();
await new Promise((r) => setTimeout(r, 50));
process.stdout.write(JSON.stringify(store.journalStats()) + '\\n');
process.kill(process.pid, 'SIGKILL');
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const signal = await new Promise((r) => child.once('exit', (_code, sig) => r(sig)));
    expect(signal, err).toBe('SIGKILL');
    // The events of 5 statements and a result.
    expect(JSON.parse(out)).toMatchObject({ folds: 0, pending: 6 });
    const files = journalFiles(f);
    expect(files.filter((x) => x.endsWith('.log'))).toHaveLength(1);
    expect(files.filter((x) => x.endsWith('.lock'))).toHaveLength(1);
    // A frame cut off mid-write (never acknowledged): length says 1000 bytes, 10 follow.
    const log = path.join(
      `${f}-journals`,
      files.find((x) => x.endsWith('.log'))!,
    );
    appendFileSync(log, Buffer.concat([Buffer.from([0, 0, 3, 232, 1, 2, 3, 4]), Buffer.alloc(10, 0x7b)]));

    const told: string[] = [];
    const again = await open(f, { onStagingError: (m) => told.push(m) });
    try {
      expect(told).toEqual([expect.stringMatching(/18 bytes after its last whole frame/)]);
      const got = await again.getSession('k');
      expect(got?.statements.map((s) => [s.seq, s.result?.rows])).toEqual([
        [1, undefined],
        [2, undefined],
        [3, undefined],
        [4, undefined],
        [5, 3],
      ]);
      expect(got?.statements.map((s) => s.text)).toEqual([
        'select 1',
        'select ' + 'é'.repeat(30_000),
        'select 3',
        'select ' + 'x'.repeat(400_000),
        'select 5',
      ]);
      expect((await again.getEvents('k')).map((e) => e.type)).toEqual([
        'session.start',
        'statement',
        'statement',
        'statement',
        'statement',
        'statement',
        'result',
      ]);
      expect(again.journalStats()).toMatchObject({ recovered: 1, ignoredBytes: 18 });
      expect(journalFiles(f)).toEqual([]); // folded, then deleted with its lock
    } finally {
      await again.close();
    }
  }, 30_000);

  test("another process's journal is its own while it lives: visible once folded, never taken", async () => {
    const f = file();
    const writer = await open(f);
    const other = await open(f);
    try {
      await writer.startSession(session('e'));
      await writer.recordStatement(stmt('e', 1));
      // The other store (as the CLI would) sees the session, not yet the journaled statement, and does
      // not fold a journal whose owner holds its lock.
      expect((await other.getSession('e'))?.statements).toHaveLength(0);
      const third = await open(f);
      await third.close();
      expect(journalFiles(f).some((x) => x.endsWith('.log'))).toBe(true);
      await writer.foldStaged();
      expect((await other.getSession('e'))?.statements).toHaveLength(1);
      await writer.completeStatement('e:1', { durationMs: 3, rows: 4 });
      await writer.foldStaged();
      expect((await other.getSession('e'))?.statements[0]?.result?.rows).toBe(4);
    } finally {
      await other.close();
      await writer.close();
    }
  });

  test('a fold of many rows writes each of them once, in order, and the chain verifies', async () => {
    const store = await open(file());
    try {
      await store.startSession(session('many'));
      // 75 statements and results: whole inserts of 32 rows, and the rest one by one.
      for (let seq = 1; seq <= 75; seq++) {
        await store.recordStatement(stmt('many', seq));
        await store.completeStatement(`many:${seq}`, { durationMs: seq, rows: seq * 2 });
      }
      store.commitDeferred();
      const events = await store.getEvents('many');
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 151 }, (_, i) => i + 1));
      let prev = GENESIS_PREV;
      for (const e of events) {
        const chained = eventToChained(e);
        expect(chained.prev).toBe(prev);
        prev = eventHash(chained);
        expect(e.hash).toBe(prev);
      }
      const got = await store.getSession('many');
      expect(got?.statements.map((x) => [x.seq, x.result?.rows])).toEqual(
        Array.from({ length: 75 }, (_, i) => [i + 1, (i + 1) * 2]),
      );
    } finally {
      await store.close();
    }
  });

  test('a journal an older version left (frames of one JSON object) is folded at the next open', async () => {
    const f = file();
    const store = await open(f);
    await store.startSession(session('old'));
    await store.close();
    const data = JSON.stringify({ seq: 1, text: 'select \'"é" ✓\'', via: 'simple' });
    const payload = Buffer.from(
      JSON.stringify({
        s: [],
        e: [
          {
            session_id: 'old',
            seq: 2,
            type: 'statement',
            at: 5,
            statement_id: 'old:1',
            data,
            prev_hash: 'p',
            hash: 'h',
          },
        ],
        c: [],
      }),
    );
    const header = Buffer.alloc(8);
    header.writeUInt32BE(payload.length, 0);
    header.writeUInt32BE(crc32(payload), 4);
    mkdirSync(`${f}-journals`, { recursive: true });
    writeFileSync(path.join(`${f}-journals`, 'ended-1.log'), Buffer.concat([header, payload]));
    const again = await open(f);
    try {
      expect(again.journalStats()).toMatchObject({ recovered: 1, ignoredBytes: 0 });
      await again.foldStaged();
      expect(
        again
          .getDatabase()
          .prepare("select data, hash from session_events where session_id = 'old' and seq = 2")
          .get(),
      ).toEqual({ data, hash: 'h' });
    } finally {
      await again.close();
    }
  });

  test('close() folds everything and leaves no journal behind', async () => {
    const f = file();
    const store = await open(f);
    await store.startSession(session('f'));
    await store.recordStatement(stmt('f', 1));
    expect(journalFiles(f).filter((x) => x.endsWith('.log') || x.endsWith('.lock'))).toHaveLength(2);
    await store.close();
    expect(journalFiles(f)).toEqual([]);
    const raw = new Database(f, { readonly: true });
    expect(count(raw, 'statement_records')).toBe(1);
    expect(count(raw, 'session_events')).toBe(2);
    raw.close();
    // The next open drops the marks of journals that are gone.
    const again = await open(f);
    expect(count(again.getDatabase(), 'record_journals')).toBe(0);
    await again.close();
  });

  test('a full journal is replaced after a fold; rows an older version staged are folded at open', async () => {
    const f = file();
    const store = await open(f, { journal: { rotateBytes: 1 } });
    await store.startSession(session('r'));
    expect(journalFiles(f)).toEqual([]); // nothing journaled yet: no file, no lock
    await store.recordStatement(stmt('r', 1));
    const first = journalFiles(f).find((x) => x.endsWith('.log'));
    expect(first).toMatch(/-1\.log$/);
    // The fold finds the file past its size: marked done with its last fold, then deleted.
    await store.foldStaged();
    expect(journalFiles(f).filter((x) => x.endsWith('.log'))).toEqual([]);
    await store.completeStatement('r:1', { durationMs: 1, rows: 5 });
    store.commitDeferred();
    await new Promise((r) => setTimeout(r, 20));
    expect(journalFiles(f).find((x) => x.endsWith('.log'))).toMatch(/-2\.log$/);
    expect((await store.getSession('r'))?.statements[0]?.result?.rows).toBe(5);
    await store.close();
    // An older version's staged rows (schema 6): folded by the next open.
    const raw = new Database(f);
    raw
      .prepare(
        `insert into statements_recent (id, session_id, seq, at, via, "text", kind, categories, effect, rule_id)
         values ('r:2', 'r', 2, 0, 'simple', 'select 2', 'select', '["read"]', 'allow', 'r')`,
      )
      .run();
    raw.close();
    const again = await open(f);
    try {
      expect((await again.getSession('r'))?.statements.map((s) => s.id)).toEqual(['r:1', 'r:2']);
      expect(count(again.getDatabase(), 'statements_recent')).toBe(0);
    } finally {
      await again.close();
    }
  });

  test('a fold that fails is told, fails reads and refuses writes until one succeeds; nothing journaled is lost', async () => {
    const errors: string[] = [];
    const f = file();
    const store = await open(f, { onStagingError: (m) => errors.push(m) });
    try {
      await store.startSession(session('g'));
      await store.recordStatement(stmt('g', 1));
      // Something else put an event at the position the journaled one will fold into.
      const db = store.getDatabase();
      db.prepare(
        `insert into session_events (session_id, seq, type, at, statement_id, data, prev_hash, hash)
         values ('g', 2, 'x', 0, null, '{}', '', '')`,
      ).run();
      await expect(store.getSession('g')).rejects.toThrow(/UNIQUE|constraint/i);
      expect(store.journalStats()).toMatchObject({ failedFolds: 1, pending: 1 });
      // Not a lock held elsewhere: it would fail again, so nothing more is taken (or forwarded).
      await expect(store.recordStatement(stmt('g', 2))).rejects.toMatchObject({ code: 'ERR_RECORD_FAILED' });
      expect(store.journalStats()).toMatchObject({ pending: 1 });
      // Once the conflict is gone, the next fold succeeds and writes go on.
      db.prepare("delete from session_events where type = 'x'").run();
      await store.foldStaged();
      await store.recordStatement(stmt('g', 2));
    } finally {
      await store.close();
    }
    expect(errors.some((m) => /folding the staged record failed/.test(m))).toBe(true);
    const again = await open(f);
    try {
      expect((await again.getSession('g'))?.statements.map((s) => s.id)).toEqual(['g:1', 'g:2']);
    } finally {
      await again.close();
    }
  });

  test('a rotated file folded in several folds is folded from where each fold stopped, once', async () => {
    const f = file();
    // A fold takes at most 4 rows; the file is rotated once it holds a few frames.
    const store = await open(f, { journal: { foldRows: 1, rotateBytes: 2000 }, busyTimeoutMs: 0 });
    const other = new Database(f);
    try {
      await store.startSession(session('rot'));
      await store.recordStatement(stmt('rot', 1));
      other.exec('BEGIN IMMEDIATE'); // another process holds the write lock: folds fail, writes go on
      await store.recordStatement(stmt('rot', 2));
      await expect(store.foldStaged()).rejects.toThrow(/busy|locked/i);
      for (let seq = 3; seq <= 12; seq++) await store.recordStatement(stmt('rot', seq));
      other.exec('COMMIT');
      // The file is rotated by the next fold and needs three folds of 4 rows: none may fold a row twice.
      expect((await store.getSession('rot'))?.statements.map((s) => s.seq)).toEqual(
        Array.from({ length: 12 }, (_, i) => i + 1),
      );
      await store.recordStatement(stmt('rot', 13));
      expect((await store.getEvents('rot')).map((e) => e.seq)).toEqual(
        Array.from({ length: 14 }, (_, i) => i + 1),
      );
      expect(store.journalStats()).toMatchObject({ pending: 0 });
    } finally {
      other.close();
      await store.close();
    }
    expect(journalFiles(f).filter((x) => x.endsWith('.log'))).toEqual([]);
  });

  test('past its bound of pending rows a journal whose folds wait for a lock refuses writes', async () => {
    const f = file();
    const store = await open(f, { journal: { foldRows: 1_000_000, maxPendingRows: 2 }, busyTimeoutMs: 0 });
    const other = new Database(f);
    try {
      await store.startSession(session('h'));
      await store.recordStatement(stmt('h', 1));
      other.exec('BEGIN IMMEDIATE'); // another process holds the write lock
      await expect(store.foldStaged()).rejects.toThrow(/busy|locked/i);
      // A lock is let go of: writes go on, journaled and durable, up to the bound.
      await store.recordStatement(stmt('h', 2));
      await expect(store.recordStatement(stmt('h', 3))).rejects.toMatchObject({ code: 'ERR_RECORD_FAILED' });
      other.exec('COMMIT');
      expect((await store.getSession('h'))?.statements.map((s) => s.id)).toEqual(['h:1', 'h:2']);
    } finally {
      other.close();
      await store.close();
    }
  });
});

describe('a fold orders its rows', () => {
  const row = (session_id: string, seq: number) =>
    ({ session_id, seq, type: 't', at: 0, statement_id: null, data: '{}', prev_hash: '', hash: '' }) as const;
  test('by session, then seq: grouped when each session is in order, sorted when one is not', () => {
    const rows = [row('b', 1), row('a', 7), row('b', 2), row('c', 1), row('a', 8), row('b', 3)];
    const key = (r: { session_id: string; seq: number }) => `${r.session_id}${r.seq}`;
    expect(inSessionOrder(rows, 6).map(key)).toEqual(['a7', 'a8', 'b1', 'b2', 'b3', 'c1']);
    // Only the first n.
    expect(inSessionOrder(rows, 3).map(key)).toEqual(['a7', 'b1', 'b2']);
    const shuffled = [row('b', 2), row('a', 8), row('b', 1), row('a', 7)];
    expect(inSessionOrder(shuffled, 4).map(key)).toEqual(['a7', 'a8', 'b1', 'b2']);
    expect(shuffled.map(key)).toEqual(['b2', 'a8', 'b1', 'a7']);
  });
});

describe('a journal frame', () => {
  // Any UTF-16 for the header's fields (JSON escapes a lone surrogate there).
  const text = fc
    .array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 })
    .map((codes) => String.fromCharCode(...codes));
  const row = fc.record({
    session_id: text,
    seq: fc.integer({ min: 1, max: 2 ** 40 }),
    type: text,
    at: fc.integer({ min: 0, max: 2 ** 45 }),
    statement_id: fc.option(text, { nil: null }),
    // Data texts are JSON (canonical, from the event's writers); any well-formed text comes back too.
    data: fc.oneof(
      fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null'),
      fc.string({ unit: 'grapheme' }),
    ),
    prev_hash: text,
    hash: text,
  });

  test('holds its rows exactly: every field, data texts as they were (non-ASCII, line feeds, quotes)', () => {
    fc.assert(
      fc.property(fc.array(row, { maxLength: 12 }), (rows) => {
        const payload = Buffer.from(framePayload(rows), 'utf8');
        expect(readPayload(payload)).toEqual({ s: [], e: rows, c: [] });
      }),
    );
  });

  test("an older version's frame (one JSON object) is read as it was written", () => {
    const batch = {
      s: [],
      e: [
        {
          session_id: 's',
          seq: 1,
          type: 'statement',
          at: 1,
          statement_id: 's:1',
          data: '{"a":"\\n"}',
          prev_hash: 'p',
          hash: 'h',
        },
      ],
      c: [{ id: 's:1', duration_ms: 1, row_count: 2, error_code: null, error_message: null, masked: null }],
    };
    expect(readPayload(Buffer.from(JSON.stringify(batch)))).toEqual(batch);
  });

  test('a frame whose data texts do not add up to its rows, or of another version, is refused', () => {
    const good = framePayload([
      {
        session_id: 's',
        seq: 1,
        type: 't',
        at: 1,
        statement_id: null,
        data: '{"x":1}',
        prev_hash: 'p',
        hash: 'h',
      },
    ]);
    expect(() => readPayload(Buffer.from(`${good}!`))).toThrow(/do not match/);
    expect(() => readPayload(Buffer.from(good.slice(0, -1)))).toThrow(/do not match/);
    expect(() => readPayload(Buffer.from(good.replace('"v":2', '"v":3')))).toThrow(/unknown version/);
  });
});
