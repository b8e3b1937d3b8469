// The record journal's folds on a thread of their own. A fold moves the journal's rows into
// `statements` and `session_events` in one SQLite transaction: at pgbench -S -c 8 it was 12 % of the
// gateway's event loop (the inserts, their index pages, and the commit's WAL writes), work no
// statement waits for. Here a worker thread with its own connection to the same database does it: it
// reads the frames from the journal files themselves (written whole by the main thread before it asks),
// checks their CRCs, and applies them and the journals' marks in one transaction, as the main thread's
// fold and the recovery do (record-journal.ts). The main thread keeps the rows in memory until the
// worker says they committed, so its key checks see them throughout.
//
// One fold at a time, and only when the main thread asks: it knows when none is running, so its own
// writes that must follow the folded rows (a session's end, a read) wait for the fold in flight
// instead of blocking on SQLite's lock.

import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** A part of a journal file to fold: its frames in [from, to), then its mark set to `to` (and done). */
export interface FoldSegment {
  readonly name: string;
  readonly file: string;
  readonly from: number;
  readonly to: number;
  /** The file is folded whole: mark it done (the main thread then deletes it). */
  readonly done: boolean;
}

export interface FoldSql {
  readonly insertStatement: string;
  readonly statementColumns: readonly string[];
  readonly insertEvent: string;
  readonly eventColumns: readonly string[];
  readonly complete: string;
  readonly completeColumns: readonly string[];
  readonly setMark: string;
}

export interface FoldOutcome {
  readonly rows: number;
  readonly ms: number;
}

/** A fold that failed in the worker, with SQLite's code (SQLITE_BUSY …) when it had one. */
export class FoldError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

// Plain JavaScript, evaluated in the worker (no TypeScript loader there; as sqlite-checkpointer.ts).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { openSync, readSync, closeSync } = require('node:fs');
const { crc32 } = require('node:zlib');
const Database = require(workerData.sqlite);
const sql = workerData.sql;
const db = new Database(workerData.file, { timeout: workerData.busyTimeoutMs, fileMustExist: true });
db.pragma('synchronous = ' + workerData.synchronous);
db.pragma('wal_autocheckpoint = ' + workerData.autocheckpoint);
// Prepared at the first fold, inside its try (a failure is that fold's, with SQLite's code), and again
// after any failure (the schema may have changed under it).
let prepared;
function statements() {
  prepared ??= {
    insertStatement: db.prepare(sql.insertStatement),
    insertEvent: db.prepare(sql.insertEvent),
    complete: db.prepare(sql.complete),
    setMark: db.prepare(sql.setMark),
  };
  return prepared;
}
const args = (row, cols) => { const a = new Array(cols.length); for (let i = 0; i < cols.length; i++) { const v = row[cols[i]]; a[i] = v === undefined ? null : v; } return a; };
const bySessionSeq = (a, b) => (a.session_id < b.session_id ? -1 : a.session_id > b.session_id ? 1 : a.seq - b.seq);
// A frame's payload in either version, as record-journal.ts's readPayload reads it: version 2 is a JSON
// line whose rows hold their data text's length, then those texts back to back; version 1 is JSON.
function readPayload(payload) {
  const nl = payload.indexOf(10);
  if (nl < 0) return JSON.parse(payload.toString('utf8'));
  const head = JSON.parse(payload.toString('utf8', 0, nl));
  if (head.v !== 2 || !Array.isArray(head.e)) throw new Error('a journal frame of an unknown version');
  const data = payload.toString('utf8', nl + 1);
  let at = 0;
  const e = head.e.map((row) => {
    const n = row[5];
    if (!Number.isSafeInteger(n) || n < 0 || at + n > data.length) throw new Error('a journal frame whose data texts do not match its rows');
    const text = data.slice(at, at + n);
    at += n;
    return { session_id: row[0], seq: row[1], type: row[2], at: row[3], statement_id: row[4], data: text, prev_hash: row[6], hash: row[7] };
  });
  if (at !== data.length) throw new Error('a journal frame whose data texts do not match its rows');
  return { s: [], e, c: [] };
}
// Frames as record-journal.ts's readFrames reads them (u32 length, u32 CRC-32, payload), but a frame
// that is cut or fails its CRC is an error here: the main thread wrote every frame in range whole.
function readSegment(seg, out) {
  const len = seg.to - seg.from;
  if (len === 0) return;
  const buf = Buffer.allocUnsafe(len);
  const fd = openSync(seg.file, 'r');
  try {
    let got = 0;
    while (got < len) {
      const n = readSync(fd, buf, got, len - got, seg.from + got);
      if (n === 0) throw new Error('journal ' + seg.name + ' ends at ' + (seg.from + got) + ', before ' + seg.to);
      got += n;
    }
  } finally { closeSync(fd); }
  let pos = 0;
  while (pos < len) {
    if (pos + 8 > len) throw new Error('journal ' + seg.name + ': a frame header is cut at ' + (seg.from + pos));
    const n = buf.readUInt32BE(pos);
    const sum = buf.readUInt32BE(pos + 4);
    if (pos + 8 + n > len) throw new Error('journal ' + seg.name + ': a frame is cut at ' + (seg.from + pos));
    const payload = buf.subarray(pos + 8, pos + 8 + n);
    if (crc32(payload) !== sum) throw new Error('journal ' + seg.name + ': a frame fails its checksum at ' + (seg.from + pos));
    const b = readPayload(payload);
    for (const r of b.s) out.s.push(r);
    for (const e of b.e) out.e.push(e);
    for (const c of b.c) out.c.push(c);
    pos += 8 + n;
  }
}
const apply = db.transaction((segments, rows) => {
  const { insertStatement, insertEvent, complete, setMark } = statements();
  rows.s.sort(bySessionSeq);
  rows.e.sort(bySessionSeq);
  for (const r of rows.s) insertStatement.run(args(r, sql.statementColumns));
  for (const e of rows.e) insertEvent.run(args(e, sql.eventColumns));
  for (const c of rows.c) complete.run(args(c, sql.completeColumns));
  for (const seg of segments) setMark.run(seg.name, seg.to, seg.done ? 1 : 0);
});
parentPort.on('message', (m) => {
  if (m === 'close') { db.close(); parentPort.close(); return; }
  const started = performance.now();
  try {
    const rows = { s: [], e: [], c: [] };
    for (const seg of m.segments) readSegment(seg, rows);
    apply.immediate(m.segments, rows);
    parentPort.postMessage({ id: m.id, ok: true, rows: rows.s.length + rows.e.length + rows.c.length, ms: performance.now() - started });
  } catch (e) {
    prepared = undefined;
    parentPort.postMessage({ id: m.id, ok: false, error: String((e && e.message) || e), code: e && typeof e.code === 'string' ? e.code : undefined });
  }
});
`;

interface Reply {
  readonly id: number;
  readonly ok: boolean;
  readonly rows?: number;
  readonly ms?: number;
  readonly error?: string;
  readonly code?: string;
}

export interface JournalFolderOptions {
  readonly dbFile: string;
  readonly synchronous: 'NORMAL' | 'FULL';
  readonly busyTimeoutMs: number;
  /** The worker connection's wal_autocheckpoint (the writing connection's backstop, or SQLite's default). */
  readonly autocheckpoint: number;
  readonly sql: FoldSql;
}

/** The fold thread: one request at a time (the journal never sends a second before the first settles). */
export class JournalFolder {
  readonly #opts: JournalFolderOptions;
  #worker: Worker | undefined;
  #next = 0;
  #waiting: { id: number; resolve: (o: FoldOutcome) => void; reject: (e: Error) => void } | undefined;
  #dead: string | undefined;
  #exited: Promise<void> = Promise.resolve();

  constructor(opts: JournalFolderOptions) {
    this.#opts = opts;
  }

  /** Why the thread is gone (its folds then run on the main thread), or undefined while it runs. */
  get dead(): string | undefined {
    return this.#dead;
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const o = this.#opts;
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        sqlite: createRequire(import.meta.url).resolve('better-sqlite3'),
        file: o.dbFile,
        synchronous: o.synchronous,
        busyTimeoutMs: o.busyTimeoutMs,
        autocheckpoint: o.autocheckpoint,
        sql: o.sql,
      },
    });
    // An idle fold thread never keeps the process alive; a fold in flight does (see fold()).
    worker.unref();
    this.#exited = new Promise((resolve) =>
      worker.once('exit', (code) => {
        this.#gone(`the record's fold thread exited (code ${code})`);
        resolve();
      }),
    );
    worker.on('error', (e: unknown) =>
      this.#gone(`the record's fold thread failed: ${String((e as Error | undefined)?.message ?? e)}`),
    );
    worker.on('message', (m: Reply) => {
      const w = this.#waiting;
      if (w === undefined || w.id !== m.id) return;
      this.#waiting = undefined;
      worker.unref();
      if (m.ok) w.resolve({ rows: m.rows ?? 0, ms: m.ms ?? 0 });
      else w.reject(new FoldError(m.error ?? 'the fold failed', m.code));
    });
    this.#worker = worker;
    return worker;
  }

  #gone(why: string): void {
    this.#dead ??= why;
    const w = this.#waiting;
    this.#waiting = undefined;
    w?.reject(new FoldError(why, undefined));
  }

  /** Folds the segments' frames in one transaction; rejects with a FoldError when it did not commit. */
  fold(segments: readonly FoldSegment[]): Promise<FoldOutcome> {
    if (this.#dead !== undefined) return Promise.reject(new FoldError(this.#dead, undefined));
    if (this.#waiting !== undefined) return Promise.reject(new Error('a fold is already running'));
    const worker = this.#start();
    const id = ++this.#next;
    return new Promise<FoldOutcome>((resolve, reject) => {
      this.#waiting = { id, resolve, reject };
      worker.ref();
      worker.postMessage({ id, segments });
    });
  }

  /** Stops the thread (after the fold in flight, which the journal waits for first). */
  async close(): Promise<void> {
    if (this.#worker === undefined || this.#dead !== undefined) return;
    this.#worker.ref();
    this.#worker.postMessage('close');
    await this.#exited;
  }
}
