// The staging tables (sqlite-staging.ts) must be invisible to everything but the cost of a commit:
// every read sees every acknowledged write, results land wherever their statement's row is, keys
// refuse what they refused before, a crash's staged rows come back, and a fold that cannot run fails
// reads and, past its bound, writes — never silently.

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, test } from 'vitest';
import type { SessionRecord, StatementRecord } from '../core/records.js';
import { eventHash, GENESIS_PREV } from '../recording/record-format.js';
import { eventToChained } from '../recording/recording-export.js';
import { SqliteStore } from './sqlite-store.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-staging-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = () => path.join(dir, `s${++n}.db`);

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

/** A store whose timer never folds in the test's time: only reads, stages and close do. */
const open = (
  f: string,
  extra: Parameters<typeof SqliteStore.open>[0] extends infer O ? Partial<O> : never = {},
) => SqliteStore.open({ path: f, foldIntervalMs: 3_600_000, ...extra });

describe('staged statements and events', () => {
  test('are appended to the staging tables, and every read folds them first', async () => {
    const store = await open(file());
    try {
      await store.startSession(session('a'));
      await store.recordStatement(stmt('a', 1));
      const db = store.getDatabase();
      expect(count(db, 'statements_recent')).toBe(1);
      expect(count(db, 'statements')).toBe(0);
      expect(count(db, 'session_events_recent')).toBe(2); // session.start, statement

      const got = await store.getSession('a');
      expect(got?.statements.map((s) => s.id)).toEqual(['a:1']);
      expect(count(db, 'statements_recent')).toBe(0);
      expect(count(db, 'session_events_recent')).toBe(0);
      expect(count(db, 'session_events')).toBe(2);
      expect(store.stagingStats()).toMatchObject({ folds: 1, rowsFolded: 3, staged: 0, failedFolds: 0 });

      // Each read folds: events, counts and listings see a write made after the last fold.
      await store.recordStatement(stmt('a', 2));
      expect((await store.getEvents('a')).map((e) => e.seq)).toEqual([1, 2, 3]);
      await store.recordStatement(stmt('a', 3));
      expect((await store.countStatements('a')).total).toBe(3);
    } finally {
      await store.close();
    }
  });

  test("a result lands on its statement's row, staged or already folded, and the chain verifies", async () => {
    const store = await open(file());
    try {
      await store.startSession(session('b'));
      await store.recordStatement(stmt('b', 1));
      await store.recordStatement(stmt('b', 2));
      await store.completeStatement('b:1', { durationMs: 1.5, rows: 7 }); // its row is staged
      store.foldStaged();
      await store.completeStatement('b:2', { durationMs: 2.5, rows: 9 }); // its row is folded
      const got = await store.getSession('b');
      expect(got?.statements.map((s) => [s.id, s.result?.rows])).toEqual([
        ['b:1', 7],
        ['b:2', 9],
      ]);
      // The chain runs unbroken across the fold: each event hashes to what the next one names.
      const evs = await store.getEvents('b');
      expect(evs.map((e) => e.type)).toEqual(['session.start', 'statement', 'statement', 'result', 'result']);
      let prev = GENESIS_PREV;
      for (const e of evs) {
        expect(e.prev).toBe(prev);
        expect(e.hash).toBe(eventHash(eventToChained(e)));
        prev = e.hash;
      }
      // A result for no recorded statement is refused, staged rows or not.
      await expect(store.completeStatement('b:404', { durationMs: 1 })).rejects.toMatchObject({
        code: 'ERR_RECORD_FAILED',
      });
    } finally {
      await store.close();
    }
  });

  test('a statement id or (session, seq) already recorded is refused at its write, staged or folded', async () => {
    const store = await open(file());
    try {
      await store.startSession(session('c'));
      await store.recordStatement(stmt('c', 1));
      // Same id while staged, and a new id with a staged (session, seq).
      await expect(store.recordStatement(stmt('c', 2, 'c:1'))).rejects.toMatchObject({
        code: 'ERR_RECORD_FAILED',
      });
      await expect(store.recordStatement(stmt('c', 1, 'other'))).rejects.toMatchObject({
        code: 'ERR_RECORD_FAILED',
      });
      store.foldStaged();
      // The same once folded into statements.
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

  test('rows a crash left staged are folded by the next open', async () => {
    const f = file();
    const store = await open(f);
    await store.startSession(session('d'));
    await store.recordStatement(stmt('d', 1));
    // No close(): the connection goes away as in a crash, with both rows still staged.
    store.getDatabase().close();
    const raw = new Database(f, { readonly: true });
    expect(count(raw, 'statements_recent')).toBe(1);
    raw.close();

    const again = await open(f);
    try {
      const db = again.getDatabase();
      expect(count(db, 'statements_recent')).toBe(0);
      expect(count(db, 'statements')).toBe(1);
      expect((await again.getEvents('d')).map((e) => e.type)).toEqual(['session.start', 'statement']);
    } finally {
      await again.close();
    }
  });

  test('another process folding first does not lose a result (its row moved under this store)', async () => {
    const f = file();
    const writer = await open(f);
    const other = await open(f);
    try {
      await writer.startSession(session('e'));
      await writer.recordStatement(stmt('e', 1));
      expect((await other.getSession('e'))?.statements).toHaveLength(1); // the CLI's read folds
      await writer.completeStatement('e:1', { durationMs: 3, rows: 4 });
      expect((await other.getSession('e'))?.statements[0]?.result?.rows).toBe(4);
    } finally {
      await other.close();
      await writer.close();
    }
  });

  test('close() leaves nothing staged', async () => {
    const f = file();
    const store = await open(f);
    await store.startSession(session('f'));
    await store.recordStatement(stmt('f', 1));
    await store.close();
    const raw = new Database(f, { readonly: true });
    expect(count(raw, 'statements_recent') + count(raw, 'session_events_recent')).toBe(0);
    expect(count(raw, 'session_events')).toBe(2);
    raw.close();
  });

  test('a fold that fails is told, fails reads, and past its bound fails writes; nothing staged is lost', async () => {
    const errors: string[] = [];
    const store = await open(file(), {
      staging: { foldRows: 1_000_000, maxUnfolded: 5 },
      onStagingError: (m) => errors.push(m),
    });
    try {
      await store.startSession(session('g'));
      await store.recordStatement(stmt('g', 1));
      // Something else put an event at the position the staged one will fold into.
      store
        .getDatabase()
        .prepare(
          `insert into session_events (session_id, seq, type, at, statement_id, data, prev_hash, hash)
           values ('g', 2, 'x', 0, null, '{}', '', '')`,
        )
        .run();
      await expect(store.getSession('g')).rejects.toThrow(/UNIQUE|constraint/i);
      expect(store.stagingStats()).toMatchObject({ failedFolds: 1, staged: 3 });
      // Below the bound writes go on (staged, durable); at it they are refused.
      await store.recordStatement(stmt('g', 2));
      await expect(store.recordStatement(stmt('g', 3))).rejects.toMatchObject({ code: 'ERR_RECORD_FAILED' });
      expect(count(store.getDatabase(), 'statements_recent')).toBe(2);
    } finally {
      store.getDatabase().prepare("delete from session_events where type = 'x'").run();
      await store.close();
    }
    expect(errors.some((m) => /folding the staged record failed/.test(m))).toBe(true);
  });
});
