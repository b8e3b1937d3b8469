import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, test } from 'vitest';
import type { SessionRecord, StatementRecord } from '../core/records.js';
import { openStore } from './index.js';
import { SqliteStore } from './sqlite-store.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const session: SessionRecord = {
  id: 'sess-1',
  startedAt: new Date('2026-01-01T00:00:00.000Z'),
  subject: 'alice',
  groups: [],
  tokenKind: 'oidc',
  agent: false,
  issuer: 'https://idp',
  clientAddress: '127.0.0.1:1',
  connection: 'prod',
  protocol: 'postgres',
};
const stmt = (seq: number): StatementRecord => ({
  id: `st-${seq}`,
  sessionId: session.id,
  seq,
  at: new Date(session.startedAt.getTime() + seq),
  via: 'simple',
  text: `select ${seq}`,
  kind: 'select',
  categories: ['read'],
  effect: 'allow',
  ruleId: 'r',
});

/** Runs `body` in a child Node process (tsx) after opening the store on `file` and starting a session. */
function storeChild(name: string, file: string, body: string): ChildProcessByStdio<null, Readable, Readable> {
  const script = path.join(dir, name);
  const storeModule = path.join(path.dirname(fileURLToPath(import.meta.url)), 'sqlite-store.ts');
  writeFileSync(
    script,
    `import { SqliteStore } from ${JSON.stringify(storeModule)};
const store = await SqliteStore.open({ path: ${JSON.stringify(file)} });
await store.startSession({ ...${JSON.stringify(session)}, startedAt: new Date() });
${body}`,
  );
  return spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Rows of `table` (or view) in a copy of the database file without its WAL (0 when it is not there yet). */
function rowsInFileAlone(file: string, table: string): number {
  const copy = path.join(dir, `copy-${Math.random().toString(36).slice(2)}.db`);
  copyFileSync(file, copy);
  const db = new Database(copy, { readonly: true });
  try {
    const exists = db
      .prepare("select count(*) as n from sqlite_master where type in ('table', 'view') and name = ?")
      .get(table) as { n: number };
    if (exists.n === 0) return 0;
    return (db.prepare(`select count(*) as n from ${table}`).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

describe('SqliteStore', () => {
  test('creates its directory and a private file in WAL mode with synchronous=NORMAL by default', async () => {
    const file = path.join(dir, 'a', 'nested', 'gatehouse.db');
    const store = await SqliteStore.open({ path: file });
    try {
      const db = store.getDatabase();
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('synchronous', { simple: true })).toBe(1); // NORMAL
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    } finally {
      await store.close();
    }
  });

  test('synchronous: full', async () => {
    const store = await SqliteStore.open({ path: path.join(dir, 'full.db'), synchronous: 'full' });
    try {
      expect(store.getDatabase().pragma('synchronous', { simple: true })).toBe(2); // FULL
      await store.startSession(session);
      expect((await store.getSession(session.id))?.session.id).toBe(session.id);
    } finally {
      await store.close();
    }
  });

  test('works in memory', async () => {
    const store = await SqliteStore.open({ path: ':memory:' });
    await store.startSession(session);
    await store.recordStatement(stmt(1));
    expect((await store.getSession(session.id))?.statements).toHaveLength(1);
    // No journal here: the keys are checked against the tables (its statement's event) directly.
    await expect(store.recordStatement(stmt(1))).rejects.toMatchObject({ code: 'ERR_RECORD_FAILED' });
    await expect(store.recordStatement({ ...stmt(2), id: 'st-1' })).rejects.toMatchObject({
      code: 'ERR_RECORD_FAILED',
    });
    expect((await store.getSession(session.id))?.statements).toHaveLength(1);
    await store.close();
  });

  test('a batch never joins a transaction someone else opened on the shared connection', async () => {
    const store = await SqliteStore.open({ path: path.join(dir, 'shared.db') });
    try {
      await store.startSession(session);
      const db = store.getDatabase();
      db.exec('begin');
      let done = false;
      const write = store.recordStatement(stmt(1)).then(() => (done = true));
      await new Promise((r) => setTimeout(r, 30));
      expect(done).toBe(false);
      db.exec('rollback'); // would have undone the statement had the batch joined it
      await write;
      expect((await store.getSession(session.id))?.statements.map((s) => s.id)).toEqual(['st-1']);
    } finally {
      await store.close();
    }
  });

  test('a result commits at once when no other statement awaits its own, and joins a commit otherwise', async () => {
    // maxDeferMs of a minute: a result that waited for it would time the test out.
    const store = await SqliteStore.open({ path: path.join(dir, 'results.db'), maxDeferMs: 60_000 });
    try {
      await store.startSession(session);
      // One statement after another: nothing else would bring a commit, so the result starts its own.
      await store.recordStatement(stmt(1));
      const commits = store.stats().commits;
      await store.completeStatement('st-1', { durationMs: 1, rows: 1 });
      expect(store.stats().commits).toBe(commits + 1);

      // Two statements await their results: the first result waits for company...
      await store.recordStatement(stmt(2));
      await store.recordStatement(stmt(3));
      await new Promise((r) => setImmediate(r)); // that commit has ended (a write queued during one follows it)
      const before = store.stats().commits;
      let firstDone = false;
      const first = store
        .completeStatement('st-2', { durationMs: 2, rows: 2 })
        .then(() => (firstDone = true));
      await new Promise((r) => setTimeout(r, 30));
      expect(firstDone).toBe(false);
      expect(store.stats().commits).toBe(before);
      // ...and the last one, with none left to wait for, commits both at once.
      await store.completeStatement('st-3', { durationMs: 3, rows: 3 });
      await first;
      expect(store.stats().commits).toBe(before + 1);
      const got = await store.getSession(session.id);
      expect(got?.statements.map((s) => [s.id, s.result?.rows])).toEqual([
        ['st-1', 1],
        ['st-2', 2],
        ['st-3', 3],
      ]);
    } finally {
      await store.close();
    }
  });

  test('a transaction left open on the shared connection makes writes reject after the busy timeout', async () => {
    const store = await SqliteStore.open({ path: path.join(dir, 'stuck.db'), busyTimeoutMs: 50 });
    try {
      store.getDatabase().exec('begin');
      await expect(store.startSession(session)).rejects.toMatchObject({ code: 'ERR_RECORD_FAILED' });
      store.getDatabase().exec('rollback');
    } finally {
      await store.close();
    }
  });

  test('openStore puts the default file in the data dir', async () => {
    const dataDir = path.join(dir, 'data');
    const store = await openStore({ kind: 'sqlite' }, dataDir, () =>
      Promise.reject(new Error('no secrets needed')),
    );
    try {
      expect(store.kind).toBe('sqlite');
      expect(statSync(path.join(dataDir, 'gatehouse.db')).isFile()).toBe(true);
    } finally {
      await store.close();
    }
  });

  test('close() finishes in a process with nothing else to do (the checkpoint thread is waited for)', async () => {
    const child = storeChild(
      'close-then-exit.mts',
      path.join(dir, 'exit.db'),
      `await store.checkpointNow(); // starts the (unref'd) checkpoint thread
await store.close();
process.stdout.write('closed\\n');
`,
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => child.once('close', r));
    expect(code).toBe(0);
    expect(out).toBe('closed\n');
  }, 30_000);

  test('every acknowledged write survives kill -9 of the gateway process', async () => {
    const file = path.join(dir, 'crash.db');
    // The child writes statements as fast as it can and prints each seq once its write resolved.
    const child = storeChild(
      'crash-writer.mts',
      file,
      `for (let seq = 1; ; seq += 8) {
  const batch = [];
  for (let i = 0; i < 8; i++) {
    const n = seq + i;
    batch.push(store.recordStatement({ id: 'st-' + n, sessionId: 'sess-1', seq: n, at: new Date(), via: 'simple',
      text: 'select ' + n, kind: 'select', categories: ['read'], effect: 'allow', ruleId: 'r' }).then(() => n));
  }
  const done = await Promise.all(batch);
  process.stdout.write(done.join('\\n') + '\\n');
}
`,
    );
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const acked = await new Promise<number>((resolve, reject) => {
      child.on('exit', (code) => reject(new Error(`writer exited early (${code}): ${err}`)));
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const lines = out.split('\n').filter(Boolean);
        if (lines.length >= 2000) {
          child.kill('SIGKILL');
          resolve(Math.max(...lines.map(Number)));
        }
      });
    });
    await new Promise((r) => child.once('close', r));
    const ackedNow = Math.max(...out.split('\n').filter(Boolean).map(Number));
    expect(ackedNow).toBeGreaterThanOrEqual(acked);
    const store = await SqliteStore.open({ path: file });
    try {
      const got = await store.getSession(session.id);
      const seqs = new Set(got?.statements.map((s) => s.seq));
      for (let n = 1; n <= ackedNow; n++) expect(seqs.has(n)).toBe(true);
    } finally {
      await store.close();
    }
  }, 30_000);

  test("a purge from another process (the CLI) leaves a running gateway's open sessions alone, however idle; once that gateway is gone they go", async () => {
    const file = path.join(dir, 'purge-live.db');
    // The gateway: starts a session, records a statement (which takes its journal lock), then idles.
    const child = storeChild(
      'purge-live-gateway.mts',
      file,
      `await store.recordStatement({ id: 'st-1', sessionId: 'sess-1', seq: 1, at: new Date(), via: 'simple',
  text: 'select 1', kind: 'select', categories: ['read'], effect: 'allow', ruleId: 'r' });
await store.foldStaged();
process.stdout.write('ready\\n');
setInterval(() => undefined, 1000);
`,
    );
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    await new Promise<void>((resolve, reject) => {
      child.on('exit', (code) => reject(new Error(`gateway exited early (${code}): ${err}`)));
      child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    });
    // Its lock as if taken long ago: the probe asks the lock itself, not its age.
    const journals = `${file}-journals`;
    const locks = readdirSync(journals).filter((n) => n.endsWith('.lock'));
    expect(locks).toHaveLength(1);
    const old = new Date(Date.now() - 3_600_000);
    utimesSync(path.join(journals, locks[0]!), old, old);
    // A cutoff after everything: the session is idle past it, but open in the running gateway.
    const cutoff = new Date(Date.now() + 3_600_000);
    const cli = await SqliteStore.open({ path: file });
    try {
      expect(await cli.purgeSessions(cutoff)).toEqual([]);
      expect((await cli.getSession(session.id))?.statements).toHaveLength(1);
    } finally {
      await cli.close();
    }
    // The gateway dies without ending it (kill -9): the session is left open, and now goes.
    child.removeAllListeners('exit');
    child.kill('SIGKILL');
    await new Promise((r) => child.once('close', r));
    const after = await SqliteStore.open({ path: file });
    try {
      expect(await after.purgeSessions(cutoff)).toEqual([session.id]);
      expect(await after.getSession(session.id)).toBeUndefined();
    } finally {
      await after.close();
    }
  }, 30_000);

  test('checkpoints the WAL on a worker thread; the writing connection only as a backstop', async () => {
    const file = path.join(dir, 'checkpoint.db');
    const store = await SqliteStore.open({ path: file });
    try {
      const db = store.getDatabase();
      expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(20_000);
      await store.startSession(session);
      await Promise.all(Array.from({ length: 300 }, (_, i) => store.recordStatement(stmt(i + 1))));
      // Nothing checkpointed yet: the database file alone (without its WAL) holds no statement.
      expect(rowsInFileAlone(file, 'statement_records')).toBe(0);

      // Statements and events are staged first (sqlite-staging.ts); a read or the timer folds them.
      await store.foldStaged();
      await store.checkpointNow();
      const stats = store.checkpointStats();
      expect(stats?.checkpoints).toBeGreaterThanOrEqual(1);
      expect(stats?.framesCheckpointed).toBeGreaterThan(0);
      expect(stats?.failures).toBe(0);
      // The worker copied the committed pages into the database file itself.
      expect(rowsInFileAlone(file, 'statement_records')).toBe(300);
      expect(rowsInFileAlone(file, 'session_events')).toBe(301);
    } finally {
      await store.close();
    }
    // close() stopped the thread and folded the WAL back: the file is self-contained.
    expect(statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0).toBe(0);
  });

  test("walCheckpoint: 'inline' leaves checkpoints to the writing connection (SQLite's default)", async () => {
    const store = await SqliteStore.open({ path: path.join(dir, 'inline.db'), walCheckpoint: 'inline' });
    try {
      expect(store.getDatabase().pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
      expect(store.checkpointStats()).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  test('the WAL stays bounded under writes that never pause (the backstop rewinds it)', async () => {
    // A PASSIVE checkpoint on the thread never catches up with a writer that does not pause, and SQLite
    // rewinds the WAL only after one that did: without the writer's backstop the file would grow for
    // as long as the load lasts. A small backstop (100 pages) and a thread checkpointing every 2 ms.
    const file = path.join(dir, 'bounded.db');
    const store = await SqliteStore.open({ path: file, walBackstopPages: 100, checkpointIntervalMs: 2 });
    const pageSize = store.getDatabase().pragma('page_size', { simple: true }) as number;
    let largest = 0;
    try {
      await store.startSession(session);
      for (let i = 1; i <= 2000; i++) {
        await store.recordStatement({ ...stmt(i), text: `select '${'x'.repeat(200)}', ${i}` });
        if (i % 50 === 0) largest = Math.max(largest, statSync(`${file}-wal`).size);
      }
      expect(store.checkpointStats()?.checkpoints).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
    // 2,000 commits of about 4 WAL frames each (~8,000 frames, ~32 MB); the WAL file (which SQLite reuses from
    // its start after a rewind, so its size is the high-water mark) stayed under 1,000 frames: the
    // backstop, plus what was committed while the thread's checkpoint kept the backstop's busy. (6,000
    // commits took 19.5 s alone and 34 s in CI, 2,000 take 3.7 s: the later commits of a long run are
    // the slow ones.)
    expect(rowsInFileAlone(file, 'statement_records')).toBe(2000);
    expect(largest).toBeGreaterThan(0);
    expect(largest).toBeLessThan(1000 * (pageSize + 24));
  }, 90_000);
});
