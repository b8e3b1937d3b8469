// The record journal: the SQLite store's hot-path writes (statements, their results, and the events
// they chain) are appended to a file this process owns, one write() per group commit, and folded into
// `statements` and `session_events` in one SQLite transaction a few times a second and before every
// read.
//
// Why: a SQLite commit costs eight system calls even when it touches one page (two pwrite per WAL
// frame, six fcntl on the shared-memory locks) and about 30–40 µs of CPU on this project's machine;
// an append is one write() of about 5 µs. At one statement after another that commit was the largest
// single cost of a statement (docs/performance.md, "Record journal").
//
// What the record promised stays true, and how:
// - Durability: a frame is handed to the OS by write() before its batch resolves, as a WAL commit
//   with `synchronous = NORMAL` is (it survives the process, not the machine); with `full`, the
//   journal is fdatasync'd before the batch resolves, as the WAL was.
// - Nothing acknowledged is lost: a fold moves rows and advances `record_journals.folded_to` in one
//   transaction, so a journal left by a crash is folded from exactly where its last fold stopped, by
//   whichever process opens the store next (a frame is length- and CRC-framed: a torn last frame,
//   never acknowledged, is ignored). A journal belongs to a live process while that process holds an
//   exclusive lock on its `.lock` file (a SQLite file in exclusive locking mode: the kernel drops the
//   lock when the process dies); only journals whose lock can be taken are recovered.
// - Reads: every read of the record in this process folds first. Another process (the CLI) sees a
//   live gateway's rows once that gateway has folded them: once `foldRows` (512) rows wait, or the
//   oldest has waited `foldDelayMs` (250 ms; the store looks every `foldIntervalMs`, 50 ms).
// - Keys: a statement whose id or (session, seq) is already recorded is refused at its write. For a
//   session this store started (its row was inserted here, so no other row can name it) with ids as
//   the gate makes them (`<session>:<seq, 8 digits>`), the check is in memory (one bit per seq);
//   anything else is probed in `statements`, as before.
// - Fail closed: a frame that could not be written whole is cut off again (or, if that fails too,
//   the journal refuses every later write); a fold that fails keeps the rows pending (durable in the
//   journal), fails reads until one succeeds, and past `maxPendingRows` writes fail too.

import {
  closeSync,
  existsSync,
  fdatasyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import Database from 'better-sqlite3';
import { isStatementId, parseStatementId } from '../gate/ids.js';
import { jsonNumber, jsonString } from '../recording/canonical-json.js';
import type { BatchPlan, StatementCompleteRow, StatementKey } from './batch-plan.js';
import {
  JournalFolder,
  type FoldSegment,
  type FoldSql,
  type JournalFolderOptions,
} from './journal-folder.js';
import type { SessionEventsTable, StatementsTable } from './tables.js';

/** The columns of `statements` and `session_events` a fold writes, in the order of its insert's values. */
const STATEMENT_FIELDS = [
  'id',
  'session_id',
  'seq',
  'at',
  'via',
  'text',
  'kind',
  'categories',
  'effect',
  'rule_id',
  'message',
  'params',
  'duration_ms',
  'row_count',
  'error_code',
  'error_message',
  'masked',
  'lineage',
] as const satisfies readonly (keyof StatementsTable)[];
// The order of the insert's parameters: RecordTables.insertEvents binds a row's values in it.
const EVENT_FIELDS = [
  'session_id',
  'seq',
  'type',
  'at',
  'statement_id',
  'data',
  'prev_hash',
  'hash',
] as const satisfies readonly (keyof SessionEventsTable)[];
/** The columns a result sets, then the statement's id (the update's `where`). */
const COMPLETE_FIELDS = [
  'duration_ms',
  'row_count',
  'error_code',
  'error_message',
  'masked',
  'id',
] as const satisfies readonly (keyof StatementCompleteRow)[];
export const STATEMENT_COLUMNS = STATEMENT_FIELDS.map((c) => (c === 'text' ? '"text"' : c)).join(', ');
export const EVENT_COLUMNS = EVENT_FIELDS.join(', ');
const INSERT_STATEMENT = `insert into statements (${STATEMENT_COLUMNS})
  values (${STATEMENT_FIELDS.map(() => '?').join(', ')})`;
const EVENT_VALUES = `(${EVENT_FIELDS.map(() => '?').join(', ')})`;
const INSERT_EVENT = `insert into session_events (${EVENT_COLUMNS}) values ${EVENT_VALUES}`;
/**
 * Event rows one insert of a fold writes: a fold binds hundreds of rows, and one statement per row
 * spends as much on each call into SQLite (and its statement's reset) as on binding the row.
 */
const EVENTS_PER_INSERT = 32;
const INSERT_EVENTS = `insert into session_events (${EVENT_COLUMNS}) values ${Array.from(
  { length: EVENTS_PER_INSERT },
  () => EVENT_VALUES,
).join(', ')}`;
const COMPLETE = `update statements set ${COMPLETE_FIELDS.slice(0, -1)
  .map((c) => `${c} = ?`)
  .join(', ')} where id = ?`;

/** A row's values in the order of `fields` (the order of its statement's parameters). */
function fieldValues<R>(row: R, fields: readonly (keyof R)[]): unknown[] {
  const values = new Array<unknown>(fields.length);
  for (let i = 0; i < fields.length; i++) values[i] = row[fields[i]!];
  return values;
}
// A statement is recorded as a `statements` row (before schema 8, or folded from an older version's
// journal) or as its `statement` event (migration 0008). These probe both, for statements of sessions
// not checked in memory (StatementProbe): an id in the session it names, then in every session (a scan
// of the events: no index is kept for this path, which the gateway's own statements never take).
const PROBE_ID_ROW = 'select 1 from statements where id = ?';
const PROBE_ID_IN_SESSION =
  "select 1 from session_events where session_id = ? and type = 'statement' and statement_id = ? limit 1";
const PROBE_ID_ANYWHERE =
  "select 1 from session_events where type = 'statement' and statement_id = ? limit 1";
const PROBE_ID_ROW_IN_SESSION = 'select 1 from statements where id = ? and session_id = ?';
// A statement's result: its `result` event in the session (a scan of the session's events, for
// statements the in-memory bits do not answer for), or the result columns of its `statements` row.
const PROBE_RESULT_EVENT =
  "select 1 from session_events where session_id = ? and type = 'result' and statement_id = ? limit 1";
const PROBE_RESULT_ROW =
  'select 1 from statements where id = ? and session_id = ? and duration_ms is not null';
const PROBE_SEQ_ROW = 'select 1 from statements where session_id = ? and seq = ?';
const PROBE_SEQ_EVENT =
  "select 1 from session_events where session_id = ? and type = 'statement' and json_extract(data, '$.seq') = ? limit 1";
const GET_MARK = 'select folded_to, done from record_journals where name = ?';
const SET_MARK = `insert into record_journals (name, folded_to, done) values (?, ?, ?)
  on conflict (name) do update set folded_to = excluded.folded_to, done = excluded.done`;
/** What the fold thread runs (journal-folder.ts): the same statements as RecordTables. */
const FOLD_SQL: FoldSql = {
  insertStatement: INSERT_STATEMENT,
  statementColumns: STATEMENT_FIELDS,
  insertEvent: INSERT_EVENT,
  eventColumns: EVENT_FIELDS,
  complete: COMPLETE,
  completeColumns: COMPLETE_FIELDS,
  setMark: SET_MARK,
};

/** Bytes of a frame's header: payload length and CRC-32 of the payload, both u32 big-endian. */
const HEADER = 8;
/** The largest frame buffer a journal keeps for the next frames. */
const MAX_SCRATCH_BYTES = 1024 * 1024;
/**
 * Seqs a session's in-memory check covers whatever it holds (2 MiB of bits). Past them it covers up to
 * twice the statements the session recorded, so the gate's seqs (one after another) stay covered while
 * a seq far beyond them (chosen, not counted) takes the probing path and allocates nothing.
 */
const BITMAP_SEQS = 1 << 24;

export interface JournalOptions {
  /** `full`: fdatasync the journal before a batch resolves. */
  readonly synchronous?: 'normal' | 'full';
  /** Pending rows past which a write is followed by a fold at once (default 512). */
  readonly foldRows?: number;
  /**
   * How long the oldest unfolded frame waits at most for `foldRows` to be reached before the store's
   * timer folds it anyway (default 250 ms): a fold's cost is mostly per page it touches, and a small
   * fold touches nearly as many index pages as a large one (docs/performance.md, "Fewer, larger folds").
   */
  readonly foldDelayMs?: number;
  /** Pending rows past which writes are refused while folds fail (default 200,000). */
  readonly maxPendingRows?: number;
  /** Seqs a session's in-memory key check covers before it grows with the session (default 2^24; tests). */
  readonly bitmapSeqs?: number;
  /** A journal file is replaced by a new one after a fold once it is this large (default 8 MiB). */
  readonly rotateBytes?: number;
  /** Fold on a thread of its own with these connection settings (else folds run on the main thread). */
  readonly folder?: Omit<JournalFolderOptions, 'sql'>;
}

/** The journal's limits a store's options may change (the store passes its own `synchronous`). */
export type JournalLimits = Pick<
  JournalOptions,
  'foldRows' | 'foldDelayMs' | 'maxPendingRows' | 'rotateBytes' | 'bitmapSeqs'
>;

export interface JournalStats {
  readonly folds: number;
  readonly rowsFolded: number;
  readonly failedFolds: number;
  /** Rows written to the journal and not folded yet. */
  readonly pending: number;
  readonly longestFoldMs: number;
  readonly foldMs: number;
  /** Journals of ended processes folded by this one (at open). */
  readonly recovered: number;
  /** Statements whose keys were probed in the record's tables (not checked in memory). */
  readonly keyProbes: number;
  /**
   * Bytes of recovered journals after their last whole frame: a frame cut off by a crash mid-write
   * (never acknowledged), or damage to what follows it.
   */
  readonly ignoredBytes: number;
  readonly lastError?: string;
}

/** What one batch writes to the journal. */
export interface JournalBatch {
  readonly s: readonly StatementsTable[];
  readonly e: readonly SessionEventsTable[];
  readonly c: readonly StatementCompleteRow[];
}

// A frame's payload, in one of two layouts (the fold thread's reader, journal-folder.ts, reads both):
// - version 2, written now: a JSON line holding each event row as an array, its data text replaced
//   by that text's length (UTF-16 code units), then the rows' data texts back to back, as they are:
//     {"v":2,"e":[[session_id,seq,type,at,statement_id,data length,prev_hash,hash],...]}\n<data><data>…
//   A data text is canonical JSON already: encoded once more as a JSON string, it was escaped again
//   (every quote), which cost about as much as the rest of the frame (docs/performance.md, "A
//   cheaper record write"). JSON text never holds a raw line feed, so the first one ends the header;
//   and a data text comes from JSON.stringify or jsonString, which leave no lone surrogate in it, so
//   the texts come back from UTF-8 exactly.
// - version 1, written before: the batch as one JSON object, `{"s":[…],"e":[…],"c":[…]}`, which an
//   older version's journal may still hold (its `statements` rows and result updates are folded as
//   they were).

/** The version-2 payload of a batch of event rows. */
export function framePayload(events: readonly SessionEventsTable[]): string {
  let head = '{"v":2,"e":[';
  let data = '';
  for (let i = 0; i < events.length; i++) {
    const r = events[i]!;
    head +=
      `${i === 0 ? '[' : ',['}${jsonString(r.session_id)},${jsonNumber(r.seq)},${jsonString(r.type)},` +
      `${jsonNumber(r.at)},${r.statement_id === null ? 'null' : jsonString(r.statement_id)},` +
      `${r.data.length},${jsonString(r.prev_hash)},${jsonString(r.hash)}]`;
    data += r.data;
  }
  return `${head}]}\n${data}`;
}

type FrameRow = [string, number, string, number, string | null, number, string, string];

/** A frame's payload (either version) as the batch it holds. Throws when it is neither. */
export function readPayload(payload: Buffer): JournalBatch {
  const nl = payload.indexOf(0x0a);
  if (nl < 0) return JSON.parse(payload.toString('utf8')) as JournalBatch;
  const head = JSON.parse(payload.toString('utf8', 0, nl)) as { v?: unknown; e?: unknown };
  if (head.v !== 2 || !Array.isArray(head.e)) throw new Error('a journal frame of an unknown version');
  const data = payload.toString('utf8', nl + 1);
  let at = 0;
  const e = (head.e as FrameRow[]).map((row): SessionEventsTable => {
    const n = row[5];
    if (!Number.isSafeInteger(n) || n < 0 || at + n > data.length)
      throw new Error('a journal frame whose data texts do not match its rows');
    const text = data.slice(at, at + n);
    at += n;
    return {
      session_id: row[0],
      seq: row[1],
      type: row[2],
      at: row[3],
      statement_id: row[4],
      data: text,
      prev_hash: row[6],
      hash: row[7],
    };
  });
  if (at !== data.length) throw new Error('a journal frame whose data texts do not match its rows');
  return { s: [], e, c: [] };
}

function constraint(message: string): Error {
  return Object.assign(new Error(message), { code: 'SQLITE_CONSTRAINT_UNIQUE' });
}

/** A session this store started: what its in-memory key check knows (RecordJournal.#fresh). */
interface FreshSession {
  /** The seqs of its recorded statements that are in the bits. */
  readonly seqs: SeqBits;
  /** The seqs whose gate id (`<session>:<seq>`) a recorded statement has, whichever seq it is of. */
  readonly gateIds: SeqBits;
  /**
   * The seqs of the gate ids (as in `gateIds`) whose statement has its result: a statement has one.
   * A result is noted here exactly when its statement's gate id is in `gateIds` (noted there at its
   * record, and the bits only ever cover more), so for such an id these bits answer alone.
   */
  readonly results: SeqBits;
  /** Seqs set in `seqs` (how far the bits may grow). */
  recorded: number;
  /** The largest seq noted outside the bits (as a seq, or in a gate id): seqs up to it are probed. */
  beyond: number;
}

/** One bit per seq of a session this store started. */
class SeqBits {
  #bits = new Uint8Array(64);

  has(seq: number): boolean {
    const i = seq >>> 3;
    return i < this.#bits.length && (this.#bits[i]! & (1 << (seq & 7))) !== 0;
  }

  add(seq: number): void {
    const i = seq >>> 3;
    if (i >= this.#bits.length) {
      const grown = new Uint8Array(Math.max(i + 1, this.#bits.length * 2));
      grown.set(this.#bits);
      this.#bits = grown;
    }
    this.#bits[i]! |= 1 << (seq & 7);
  }
}

/** Holds `file`'s lock (see the header), or undefined when a live process holds it. */
function tryLock(file: string): Database.Database | undefined {
  const db = new Database(file, { timeout: 0 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('COMMIT');
    return db;
  } catch (e) {
    db.close();
    if ((e as { code?: unknown }).code === 'SQLITE_BUSY') return undefined;
    throw e;
  }
}

/**
 * The frames of a journal file from `offset`, up to the first incomplete or damaged one, and where
 * they end (short of the file's end by a frame cut off mid-write, or by damage). The fold thread
 * reads frames with its own copy of this (journal-folder.ts, plain JavaScript evaluated in the
 * worker): a change to the frame format changes both.
 */
function readFrames(buf: Buffer, offset: number): { frames: JournalBatch[]; end: number } {
  const out: JournalBatch[] = [];
  let pos = offset;
  while (pos + HEADER <= buf.length) {
    const len = buf.readUInt32BE(pos);
    const sum = buf.readUInt32BE(pos + 4);
    if (pos + HEADER + len > buf.length) break;
    const payload = buf.subarray(pos + HEADER, pos + HEADER + len);
    if (crc32(payload) !== sum) break;
    out.push(readPayload(payload));
    pos += HEADER + len;
  }
  return { frames: out, end: pos };
}

const JOURNAL_FILE = /^(.+)-(\d+)\.log$/;

/**
 * Whether the record's tables hold a statement: as a `statements` row (written before schema 8, or
 * folded from an older version's journal or staging) or as its `statement` event (migration 0008).
 */
export class StatementProbe {
  readonly #idRow: Database.Statement;
  readonly #idRowInSession: Database.Statement;
  readonly #resultEvent: Database.Statement;
  readonly #resultRow: Database.Statement;
  readonly #idInSession: Database.Statement;
  readonly #idAnywhere: Database.Statement;
  readonly #seqRow: Database.Statement;
  readonly #seqEvent: Database.Statement;

  constructor(db: Database.Database) {
    this.#idRow = db.prepare(PROBE_ID_ROW).pluck();
    this.#idRowInSession = db.prepare(PROBE_ID_ROW_IN_SESSION).pluck();
    this.#resultEvent = db.prepare(PROBE_RESULT_EVENT).pluck();
    this.#resultRow = db.prepare(PROBE_RESULT_ROW).pluck();
    this.#idInSession = db.prepare(PROBE_ID_IN_SESSION).pluck();
    this.#idAnywhere = db.prepare(PROBE_ID_ANYWHERE).pluck();
    this.#seqRow = db.prepare(PROBE_SEQ_ROW).pluck();
    this.#seqEvent = db.prepare(PROBE_SEQ_EVENT).pluck();
  }

  recorded(id: string): boolean {
    if (this.#idRow.get(id) !== undefined) return true;
    // An id of the gate's shape is looked for in the session it names first (found by key), then, like
    // any other id, in every session: a scan of the events (no index is kept for this path, which the
    // gateway's own statements never take: they are checked in memory).
    const parsed = parseStatementId(id);
    if (parsed !== undefined && this.#idInSession.get(parsed.session, id) !== undefined) return true;
    return this.#idAnywhere.get(id) !== undefined;
  }

  /** Whether session `session` holds a statement with this id (a result joins that session's chain). */
  recordedIn(session: string, id: string): boolean {
    return (
      this.#idRowInSession.get(id, session) !== undefined || this.#idInSession.get(session, id) !== undefined
    );
  }

  /** Whether the statement `id` of session `session` has its result recorded. */
  resultIn(session: string, id: string): boolean {
    return this.#resultEvent.get(session, id) !== undefined || this.#resultRow.get(id, session) !== undefined;
  }

  seqTaken(session: string, seq: number): boolean {
    return this.#seqRow.get(session, seq) !== undefined || this.#seqEvent.get(session, seq) !== undefined;
  }

  /**
   * Takes a statement's id and `(session, seq)` for a batch, or throws the constraint error the
   * `statements` table's keys threw when one is taken: earlier in the batch (`taken`, which it adds
   * to), by what the caller knows (`idKnown`, `seqKnown`: rows it has not folded yet), or in the tables.
   */
  claim(
    r: Pick<StatementsTable, 'id' | 'session_id' | 'seq'>,
    taken: Set<string>,
    idKnown = false,
    seqKnown = false,
  ): void {
    const id = `id\u0000${r.id}`;
    const key = `${r.session_id}\u0000${r.seq}`;
    if (idKnown || taken.has(id) || this.recorded(r.id))
      throw constraint('UNIQUE constraint failed: statements.id');
    if (seqKnown || taken.has(key) || this.seqTaken(r.session_id, r.seq))
      throw constraint('UNIQUE constraint failed: statements.session_id, statements.seq');
    taken.add(key);
    taken.add(id);
  }
}

/** Writes statements, events and results into the record's tables (`statements`, `session_events`). */
export class RecordTables {
  readonly #insertStatement: Database.Statement;
  readonly #insertEvent: Database.Statement;
  readonly #insertEvents: Database.Statement;
  /** The parameters of #insertEvents, reused (the statement copies them when it runs). */
  readonly #eventValues = new Array<unknown>(EVENTS_PER_INSERT * EVENT_FIELDS.length);
  readonly #complete: Database.Statement;

  constructor(db: Database.Database) {
    this.#insertStatement = db.prepare(INSERT_STATEMENT);
    this.#insertEvent = db.prepare(INSERT_EVENT);
    this.#insertEvents = db.prepare(INSERT_EVENTS);
    this.#complete = db.prepare(COMPLETE);
  }

  insertStatements(rows: readonly StatementsTable[]): void {
    for (const r of rows) this.#insertStatement.run(fieldValues(r, STATEMENT_FIELDS));
  }

  insertEvents(rows: readonly SessionEventsTable[]): void {
    // In EVENT_FIELDS' order: EVENTS_PER_INSERT rows a statement, the rest one by one.
    const values = this.#eventValues;
    let i = 0;
    for (; i + EVENTS_PER_INSERT <= rows.length; i += EVENTS_PER_INSERT) {
      for (let k = 0, v = 0; k < EVENTS_PER_INSERT; k++) {
        const e = rows[i + k]!;
        values[v++] = e.session_id;
        values[v++] = e.seq;
        values[v++] = e.type;
        values[v++] = e.at;
        values[v++] = e.statement_id;
        values[v++] = e.data;
        values[v++] = e.prev_hash;
        values[v++] = e.hash;
      }
      this.#insertEvents.run(values);
    }
    const insert = this.#insertEvent;
    for (; i < rows.length; i++) {
      const e = rows[i]!;
      insert.run(e.session_id, e.seq, e.type, e.at, e.statement_id, e.data, e.prev_hash, e.hash);
    }
  }

  /** Writes a batch: its statements, then its events, then its results. */
  apply(batch: JournalBatch): void {
    this.insertStatements(batch.s);
    this.insertEvents(batch.e);
    for (const c of batch.c) this.complete(c);
  }

  /** Writes a result onto its statement's row; false when there is no such row. */
  complete(r: StatementCompleteRow): boolean {
    return this.#complete.run(fieldValues(r, COMPLETE_FIELDS)).changes > 0;
  }
}

export class RecordJournal {
  readonly #db: Database.Database;
  readonly #dir: string;
  readonly #instance = `${process.pid}-${randomUUID()}`;
  readonly #sync: boolean;
  readonly #foldRows: number;
  readonly #bitmapSeqs: number;
  readonly #foldDelayMs: number;
  readonly #maxPending: number;
  readonly #rotateBytes: number;
  readonly #tables: RecordTables;
  readonly #probe: StatementProbe;
  readonly #getMark: Database.Statement<[string], { folded_to: number; done: number }>;
  readonly #setMark: Database.Statement;
  #lock: Database.Database | undefined;
  #fd: number | undefined;
  #fileNo = 0;
  #name = '';
  #size = 0;
  /** Where frames are encoded (grown as needed; a frame's bytes are written before the next is built). */
  #scratch = Buffer.allocUnsafe(16 * 1024);
  /** Where the current file's last fold ended. */
  #foldedTo = 0;
  /** Files closed for writes (rotated) and not yet folded whole; deleted once they are. */
  #retired: { name: string; size: number; foldedTo: number }[] = [];
  /**
   * The frames written and not folded, oldest first: their file, where each ends, its event rows, and
   * the statements it recorded (as events; kept here for the key checks until they are folded).
   */
  #frames: { name: string; end: number; e: number; k: number; at: number }[] = [];
  /** Rows one fold takes at most (a fold holds SQLite's write lock while it runs). */
  readonly #maxFoldRows: number;
  /** Pending rows past which a write first waits for the folds to catch up (see backlogged). */
  readonly #backlogRows: number;
  /** The fold thread (undefined: folds run on the main thread). */
  readonly #folder: JournalFolder | undefined;
  /** The fold running on the fold thread. */
  #inFlight: Promise<void> | undefined;
  /** Rows ever written to the journal, and ever folded (their difference is what is pending). */
  #writtenRows = 0;
  #foldedRows = 0;
  /** Set when a frame could be neither written whole nor cut off: every later write is refused. */
  #broken: string | undefined;
  /**
   * The event rows written and not folded, and the statements they record that the in-memory check
   * does not cover (`k`, with #pendingIds and #pendingKeys: for key checks until they are folded).
   */
  #pending: { e: SessionEventsTable[]; k: StatementKey[] } = { e: [], k: [] };
  /** Pending statements' ids, each with its session. */
  readonly #pendingIds = new Map<string, string>();
  readonly #pendingKeys = new Set<string>();
  /** `<session>\0<statement id>` of the results pending here that the bits do not answer for. */
  readonly #pendingResults = new Set<string>();
  /**
   * Sessions this store started and has not seen end: the seqs recorded for each (`seqs`), and the
   * seqs whose gate's id (`<session>:<seq>`) a recorded statement has, whichever seq that statement is
   * of (`gateIds`: what a result's id, and a statement's gate id, are checked against).
   */
  readonly #fresh = new Map<string, FreshSession>();
  #stats = {
    folds: 0,
    rowsFolded: 0,
    failedFolds: 0,
    longestFoldMs: 0,
    foldMs: 0,
    recovered: 0,
    keyProbes: 0,
    ignoredBytes: 0,
  };
  #lastError: string | undefined;
  #lastFailureTransient = false;

  constructor(db: Database.Database, tables: RecordTables, dbFile: string, opts: JournalOptions = {}) {
    this.#db = db;
    this.#tables = tables;
    this.#dir = `${dbFile}-journals`;
    this.#sync = opts.synchronous === 'full';
    this.#foldRows = opts.foldRows ?? 512;
    this.#bitmapSeqs = opts.bitmapSeqs ?? BITMAP_SEQS;
    this.#foldDelayMs = opts.foldDelayMs ?? 250;
    this.#maxPending = opts.maxPendingRows ?? 200_000;
    this.#rotateBytes = opts.rotateBytes ?? 8 * 1024 * 1024;
    this.#maxFoldRows = this.#foldRows * 4;
    this.#backlogRows = this.#foldRows * 16;
    this.#probe = new StatementProbe(db);
    this.#getMark = db.prepare<[string], { folded_to: number; done: number }>(GET_MARK);
    this.#setMark = db.prepare(SET_MARK);
    this.#folder =
      opts.folder === undefined ? undefined : new JournalFolder({ ...opts.folder, sql: FOLD_SQL });
  }

  // --- the write path ---

  /** Refuses the write when folds have been failing and the pending rows reached their bound. */
  assertRoom(): void {
    if (this.#broken !== undefined) throw new Error(`the record journal is unusable: ${this.#broken}`);
    // A fold that failed for a reason other than a lock held elsewhere will fail again: what is
    // written now could not reach the record's tables either.
    if (this.#lastError !== undefined && !this.#lastFailureTransient)
      throw new Error(`the record journal cannot be folded (${this.#lastError})`);
    if (this.pending >= this.#maxPending)
      throw new Error(
        `the record journal could not be folded (${this.#lastError ?? 'fold not run'}); ` +
          `${this.pending} rows wait`,
      );
  }

  /**
   * Checks a statement's keys against everything recorded (throws a constraint error, as the table's
   * keys would, when one is taken). `batch` holds the keys earlier statements of the same batch took.
   */
  #checkStatement(r: StatementKey, batch: Set<string>): void {
    const key = `${r.session_id}\u0000${r.seq}`;
    const fresh = this.#fresh.get(r.session_id);
    const inBits = fresh !== undefined && this.#covers(fresh, r.seq) && r.seq > fresh.beyond;
    if (inBits && isStatementId(r.id, r.session_id, r.seq)) {
      // Only this store writes this session's rows, and an id of this shape names it: the id is
      // taken iff a statement of its seq has it, or another statement of the session took it (gateIds).
      if (fresh.seqs.has(r.seq) || batch.has(key))
        throw constraint('UNIQUE constraint failed: statements.session_id, statements.seq');
      if (fresh.gateIds.has(r.seq) || batch.has(`id\u0000${r.id}`))
        throw constraint('UNIQUE constraint failed: statements.id');
      batch.add(key);
      batch.add(`id\u0000${r.id}`);
      return;
    }
    this.#stats.keyProbes++;
    this.checkForeignId(r);
    this.#probe.claim(
      r,
      batch,
      this.#pendingIds.has(r.id) || this.#freshIdTaken(r.id),
      this.#pendingKeys.has(key) ||
        (fresh !== undefined && this.#covers(fresh, r.seq) && fresh.seqs.has(r.seq)),
    );
  }

  /**
   * Refuses an id of the gate's shape that names another session this store started (that session's
   * own statement of that seq would otherwise be let through by the in-memory check).
   */
  checkForeignId(r: StatementKey): void {
    const parsed = parseStatementId(r.id);
    if (parsed !== undefined && parsed.session !== r.session_id && this.#fresh.has(parsed.session))
      throw constraint('UNIQUE constraint failed: statements.id');
  }

  /** Whether a statement with this id is recorded (pending here, or in `statements`). */
  #hasStatement(id: string): boolean {
    if (this.#pendingIds.has(id) || this.#freshIdTaken(id)) return true;
    return this.#probe.recorded(id);
  }

  /** Whether a statement with this id is recorded (pending here, or in the record's tables). */
  hasStatement(id: string): boolean {
    return this.#hasStatement(id);
  }

  /**
   * Whether session `session` holds a statement with this id, pending here or in the record's tables:
   * a result of it is written as an event of that session, which the record reads as its result only
   * there (the view `statement_records`), so a result is taken only then.
   */
  hasStatementIn(session: string, id: string): boolean {
    const pending = this.#pendingIds.get(id);
    if (pending !== undefined) return pending === session;
    const parsed = parseStatementId(id);
    const f = this.#fresh.get(session);
    if (parsed !== undefined && parsed.session === session && f !== undefined) {
      // The gate's id of a statement of a session this store started: its bit answers, as it does for
      // the statement's own key check (#checkStatement), where the bits cover its seq.
      if (f.gateIds.has(parsed.seq)) return true;
      if (this.#covers(f, parsed.seq) && parsed.seq > f.beyond) return false;
    }
    return this.#probe.recordedIn(session, id);
  }

  /**
   * Checks the keys of statements a batch writes to SQLite directly (one that starts, ends or seals
   * sessions, after the journal was folded): a constraint error when one is taken.
   */
  checkStatements(rows: readonly StatementKey[]): void {
    const taken = new Set<string>();
    for (const r of rows) this.#checkStatement(r, taken);
  }

  /**
   * Writes a batch of statements, results and events (no session started, ended or sealed) as one
   * frame, after checking its statements' keys (a constraint error, as the tables' keys would throw,
   * when one is taken). Returns the statements whose results it took (a result for a statement not
   * recorded is left out) and whether it is time to fold.
   */
  write(
    plan: BatchPlan,
    events: readonly SessionEventsTable[],
  ): { completed: Set<string>; foldDue: boolean } {
    this.assertRoom();
    const taken = new Set<string>();
    for (const r of plan.statementKeys) this.#checkStatement(r, taken);
    const completes = plan.statementCompletes.filter((c) => this.#hasStatement(c.id));
    // A statement and its result are written once, as their events (migration 0008): no `statements`
    // row beside them and no update of it (an older version's journal holds them, and is folded as
    // it was).
    const foldDue = this.#append(events, plan.statementKeys);
    return { completed: new Set(completes.map((c) => c.id)), foldDue };
  }

  /**
   * A batch that started, ended or sealed sessions committed through SQLite directly: the sessions it
   * started (and did not end) are checked in memory from now on, those it ended no longer.
   */
  committedDirectly(
    plan: BatchPlan,
    ended: Iterable<string>,
    events: readonly SessionEventsTable[] = [],
  ): void {
    for (const r of plan.sessionInserts)
      if (r.ended_at === null)
        this.#fresh.set(r.id, {
          seqs: new SeqBits(),
          gateIds: new SeqBits(),
          results: new SeqBits(),
          recorded: 0,
          beyond: 0,
        });
    for (const r of plan.statementKeys) this.#noteFresh(r);
    // In the tables already: only the bits need them.
    for (const e of events) if (e.type === 'result') this.#noteResult(e);
    for (const id of ended) this.#fresh.delete(id);
  }

  /**
   * Whether another process may be writing to this store: it holds its journal lock (a gateway that
   * has recorded a statement), or took one within the last minute (a lock is probed only once it is
   * that old, so a process taking its own lock never finds it held by this probe). A lock left by an
   * ended process is not held: its journal is recovered at the next open.
   */
  otherWritersLive(): boolean {
    if (!existsSync(this.#dir)) return false;
    for (const name of readdirSync(this.#dir)) {
      if (!name.endsWith('.lock') || name === `${this.#instance}.lock`) continue;
      const file = path.join(this.#dir, name);
      const mtime = statSync(file, { throwIfNoEntry: false })?.mtimeMs;
      if (mtime === undefined) continue;
      if (Date.now() - mtime < 60_000) return true;
      const lock = tryLock(file);
      if (lock === undefined) return true;
      lock.close();
    }
    return false;
  }

  /** Sessions a purge deleted: the in-memory key checks of any of them started here go. */
  forgetSessions(ids: Iterable<string>): void {
    for (const id of ids) this.#fresh.delete(id);
  }

  /**
   * Appends a batch as one frame; returns once it is written (and synced with `full`). Throws when it
   * could not be: nothing of it is then in the journal. `statements` are those its events record (kept
   * for the key checks until folded). True when it is time to fold.
   */
  #append(events: readonly SessionEventsTable[], statements: readonly StatementKey[]): boolean {
    this.assertRoom();
    const fd = this.#fd ?? this.#openFile();
    // The payload is encoded straight into a buffer kept for it (writeSync is done with it before
    // this returns), in one pass: UTF-8 takes at most 3 bytes per UTF-16 code unit.
    const text = framePayload(events);
    const most = HEADER + text.length * 3;
    let buf = this.#scratch;
    if (buf.length < most) {
      buf = Buffer.allocUnsafe(most);
      // A rare large frame (a long statement) gets a buffer of its own, not kept.
      if (most <= MAX_SCRATCH_BYTES) this.#scratch = buf;
    }
    const length = buf.write(text, HEADER, 'utf8');
    const frame = buf.subarray(0, HEADER + length);
    frame.writeUInt32BE(length, 0);
    frame.writeUInt32BE(crc32(frame.subarray(HEADER)), 4);
    const before = this.#size;
    try {
      let done = 0;
      while (done < frame.length) done += writeSync(fd, frame, done, frame.length - done, before + done);
      if (this.#sync) fdatasyncSync(fd);
    } catch (e) {
      try {
        ftruncateSync(fd, before);
      } catch (cut) {
        this.#broken = `a frame was partly written and could not be cut off (${String(cut)})`;
      }
      throw e;
    }
    this.#size = before + frame.length;
    // A statement the in-memory check covers from now on (#noteFresh) is not kept in the pending sets:
    // its seq bit answers for its key and for its id until its session ends, and a session's end is
    // written only after the journal is folded.
    let kept = 0;
    for (const r of statements) {
      if (this.#noteFresh(r)) continue;
      this.#pending.k.push(r);
      this.#pendingIds.set(r.id, r.session_id);
      this.#pendingKeys.add(`${r.session_id}\u0000${r.seq}`);
      kept++;
    }
    for (const e of events)
      if (e.type === 'result' && !this.#noteResult(e))
        this.#pendingResults.add(`${e.session_id}\u0000${e.statement_id ?? ''}`);
    this.#frames.push({
      name: this.#name,
      end: this.#size,
      e: events.length,
      k: kept,
      at: performance.now(),
    });
    for (const e of events) this.#pending.e.push(e);
    this.#writtenRows += events.length;
    return this.pending >= this.#foldRows && this.#lastError === undefined;
  }

  /**
   * Notes a result in its session's bits when its statement's gate id is there (FreshSession.results).
   * True when noted.
   */
  #noteResult(e: Pick<SessionEventsTable, 'session_id' | 'statement_id'>): boolean {
    const parsed = e.statement_id === null ? undefined : parseStatementId(e.statement_id);
    if (parsed === undefined || parsed.session !== e.session_id) return false;
    const f = this.#fresh.get(e.session_id);
    if (f === undefined || !f.gateIds.has(parsed.seq)) return false;
    f.results.add(parsed.seq);
    return true;
  }

  /**
   * Whether the statement `id` of session `session` has its result, pending here or in the record's
   * tables (a statement has one: a second is refused).
   */
  hasResultIn(session: string, id: string): boolean {
    // The set is empty unless a result's statement was outside the bits: no key is built for it then.
    const pending = this.#pendingResults.size > 0 && this.#pendingResults.has(`${session}\u0000${id}`);
    if (pending) return true;
    const parsed = parseStatementId(id);
    const f = this.#fresh.get(session);
    if (parsed !== undefined && parsed.session === session && f?.gateIds.has(parsed.seq) === true)
      return f.results.has(parsed.seq);
    return this.#probe.resultIn(session, id);
  }

  /**
   * Notes a recorded statement of a session this store started in its seq bits. True when those bits
   * now answer for both its keys: its seq, and its id, which is the gate's id for that seq.
   */
  #noteFresh(r: StatementKey): boolean {
    // An id of the gate's shape naming a session this store started is noted taken there whatever
    // seq took it: that session's statement of the id's seq is checked by these bits alone.
    const parsed = parseStatementId(r.id);
    const named = parsed === undefined ? undefined : this.#fresh.get(parsed.session);
    let idNoted = false;
    if (named !== undefined) {
      if (this.#covers(named, parsed!.seq)) {
        named.gateIds.add(parsed!.seq);
        idNoted = true;
      } else named.beyond = Math.max(named.beyond, parsed!.seq);
    }
    const f = this.#fresh.get(r.session_id);
    if (f === undefined) return false;
    if (!this.#covers(f, r.seq)) {
      if (Number.isFinite(r.seq)) f.beyond = Math.max(f.beyond, r.seq);
      return false;
    }
    if (!f.seqs.has(r.seq)) f.recorded++;
    f.seqs.add(r.seq);
    return idNoted;
  }

  /**
   * Whether a session's bits may hold `seq`: a whole number from 1 to bitmapSeqs, or to twice the
   * statements it recorded (only ever more: a seq covered once stays covered). A seq past that is noted
   * in `beyond` instead, and a statement of a seq up to `beyond` is probed (one may be pending there).
   */
  #covers(f: FreshSession, seq: number): boolean {
    return Number.isInteger(seq) && seq >= 1 && seq <= Math.max(this.#bitmapSeqs, 2 * f.recorded);
  }

  /** Whether `id` is the gate's id of a statement recorded in a session this store started. */
  #freshIdTaken(id: string): boolean {
    const parsed = parseStatementId(id);
    return parsed !== undefined && this.#fresh.get(parsed.session)?.gateIds.has(parsed.seq) === true;
  }

  /** Rows written and not yet folded. */
  get pending(): number {
    return this.#writtenRows - this.#foldedRows;
  }

  #openFile(): number {
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    // The lock first: a journal file exists only while its lock is held (or its owner is gone).
    this.#lock ??= this.#takeOwnLock();
    this.#name = `${this.#instance}-${++this.#fileNo}.log`;
    const fd = openSync(path.join(this.#dir, this.#name), 'wx', 0o600);
    this.#fd = fd;
    this.#size = 0;
    this.#foldedTo = 0;
    return fd;
  }

  #takeOwnLock(): Database.Database {
    const file = path.join(this.#dir, `${this.#instance}.lock`);
    const lock = tryLock(file);
    if (lock === undefined) throw new Error(`the record journal lock ${file} is held by another process`);
    return lock;
  }

  // --- folding ---

  /** Whether a fold has anything to do: pending rows, or a file to rotate or retire. */
  get foldWanted(): boolean {
    return this.#frames.length > 0 || this.#fileDue;
  }

  /**
   * Whether the timer should fold now: `foldRows` reached, the oldest frame has waited `foldDelayMs`,
   * or a file is due to rotate or be retired. Folding every frame as soon as the timer sees it made a
   * fold of a few dozen rows, which writes nearly as many index pages as one of hundreds.
   */
  foldTimely(now = performance.now()): boolean {
    const oldest = this.#frames[0];
    return (
      (oldest !== undefined && (this.pending >= this.#foldRows || now - oldest.at >= this.#foldDelayMs)) ||
      this.#fileDue
    );
  }

  /** A rotated file waits to be folded whole, or the current one is due to rotate. */
  get #fileDue(): boolean {
    return this.#retired.length > 0 || (this.#fd !== undefined && this.#size >= this.#rotateBytes);
  }

  /**
   * More rows wait than the folds keep up with (the fold thread is slower than the writes): a write
   * then waits for them first, so the journal's memory stays bounded and statements slow down instead
   * of failing at maxPendingRows.
   */
  get backlogged(): boolean {
    return this.pending >= this.#backlogRows;
  }

  /** True while a fold runs on the fold thread (a fold on the main thread must not start then). */
  get folding(): boolean {
    return this.#inFlight !== undefined;
  }

  /**
   * Resolves once every row written before the call is in the record's tables, and no fold is running
   * (a write that must follow them can then go to SQLite directly without waiting for its lock).
   * Rejects when a fold it waited for failed. Resolves with the rows folded meanwhile (by it or by a
   * fold already running).
   */
  async foldAll(): Promise<number> {
    const target = this.#writtenRows;
    const before = this.#foldedRows;
    for (;;) {
      if (this.#inFlight !== undefined) {
        await this.#inFlight;
        continue;
      }
      if (this.#foldedRows >= target && this.#retired.length === 0) return this.#foldedRows - before;
      await this.#startFold();
    }
  }

  /**
   * Folds on the main thread, now (at close, and where no fold thread runs). Throws when it fails, or
   * when a fold is running on the fold thread.
   */
  fold(): void {
    if (this.#inFlight !== undefined) throw new Error('a fold of the record journal is running');
    if (!this.foldWanted) return;
    // Nested in a transaction left open on the connection, the fold would be a savepoint of it, and
    // that transaction's rollback would undo rows this journal no longer holds once the fold settles.
    if (this.#db.inTransaction)
      throw new Error('the record journal is not folded inside another transaction on its connection');
    const started = performance.now();
    const { segments, counts, frames } = this.#beginFold();
    const p = this.#pending;
    try {
      this.#db
        .transaction(() => {
          // Sorted by session so the fold walks each session's index pages once.
          this.#tables.insertEvents(inSessionOrder(p.e, counts.e));
          for (const seg of segments) this.#setMark.run(seg.name, seg.to, seg.done ? 1 : 0);
        })
        .immediate();
    } catch (e) {
      this.#settleFailure(e);
      throw e;
    }
    this.#settle(segments, counts, frames, performance.now() - started);
  }

  /**
   * What a fold covers: the oldest frames, up to maxFoldRows rows (at least one frame), as a part of
   * each file they are in; a rotated file is marked done once its last frame is folded.
   */
  #beginFold(): {
    segments: FoldSegment[];
    counts: { e: number; k: number };
    frames: number;
  } {
    if (this.#fd !== undefined && this.#size >= this.#rotateBytes) {
      // Rotate now: later writes go to a new file, this one is folded and then deleted.
      closeSync(this.#fd);
      this.#fd = undefined;
      this.#retired.push({ name: this.#name, size: this.#size, foldedTo: this.#foldedTo });
    }
    const counts = { e: 0, k: 0 };
    const ends = new Map<string, number>();
    let frames = 0;
    for (const f of this.#frames) {
      if (frames > 0 && counts.e + f.e > this.#maxFoldRows) break;
      counts.e += f.e;
      counts.k += f.k;
      ends.set(f.name, f.end);
      frames++;
    }
    const segments: FoldSegment[] = [];
    for (const r of this.#retired) {
      const to = ends.get(r.name) ?? r.foldedTo;
      // A rotated file whose frames are all folded (or that had none left) is marked done.
      if (to === r.foldedTo && to !== r.size) continue;
      segments.push({
        name: r.name,
        file: path.join(this.#dir, r.name),
        from: r.foldedTo,
        to,
        done: to === r.size,
      });
    }
    const to = ends.get(this.#name);
    if (this.#fd !== undefined && to !== undefined)
      segments.push({
        name: this.#name,
        file: path.join(this.#dir, this.#name),
        from: this.#foldedTo,
        to,
        done: false,
      });
    return { segments, counts, frames };
  }

  #startFold(): Promise<void> {
    const folder = this.#folder;
    if (folder === undefined || folder.dead !== undefined) {
      try {
        this.fold();
        return Promise.resolve();
      } catch (e) {
        return Promise.reject(e instanceof Error ? e : new Error(String(e)));
      }
    }
    const { segments, counts, frames } = this.#beginFold();
    const run = folder.fold(segments).then(
      (done) => {
        this.#inFlight = undefined;
        this.#settle(segments, counts, frames, done.ms);
      },
      (e: unknown) => {
        this.#inFlight = undefined;
        if (folder.dead !== undefined) {
          // The thread is gone. Its transaction either committed (the marks, written in it, say so)
          // or died with it; either way, fold here from now on.
          if (
            segments.length > 0 &&
            segments.every((seg) => this.#getMark.get(seg.name)?.folded_to === seg.to)
          )
            this.#settle(segments, counts, frames, 0);
          else this.fold();
          return;
        }
        this.#settleFailure(e);
        throw e;
      },
    );
    this.#inFlight = run;
    return run;
  }

  /** A fold committed: its rows leave memory, its marks advance, the files it finished are deleted. */
  #settle(
    segments: readonly FoldSegment[],
    counts: { e: number; k: number },
    frames: number,
    ms: number,
  ): void {
    this.#frames.splice(0, frames);
    const p = this.#pending;
    for (const r of p.k.splice(0, counts.k)) {
      this.#pendingIds.delete(r.id);
      this.#pendingKeys.delete(`${r.session_id}\u0000${r.seq}`);
    }
    const folded = p.e.splice(0, counts.e);
    if (this.#pendingResults.size > 0)
      for (const e of folded)
        if (e.type === 'result') this.#pendingResults.delete(`${e.session_id}\u0000${e.statement_id ?? ''}`);
    const rows = counts.e;
    this.#foldedRows += rows;
    for (const seg of segments) {
      if (seg.done) {
        rmSync(seg.file, { force: true });
        this.#retired = this.#retired.filter((f) => f.name !== seg.name);
        continue;
      }
      // A rotated file first: until the next write opens a new file, #name still names the rotated
      // one, whose mark is its #retired entry's (#foldedTo is the open file's).
      const retired = this.#retired.find((r) => r.name === seg.name);
      if (retired !== undefined) retired.foldedTo = seg.to;
      else if (seg.name === this.#name) this.#foldedTo = seg.to;
    }
    this.#stats.folds++;
    this.#stats.rowsFolded += rows;
    this.#stats.longestFoldMs = Math.max(this.#stats.longestFoldMs, ms);
    this.#stats.foldMs += ms;
    this.#lastError = undefined;
  }

  #settleFailure(e: unknown): void {
    this.#stats.failedFolds++;
    this.#lastError = e instanceof Error ? e.message : String(e);
    const code = (e as { code?: unknown } | null)?.code;
    this.#lastFailureTransient = code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
  }

  // --- recovery and close ---

  /**
   * Folds the journals of processes that ended without folding them (their lock can be taken), then
   * deletes what is folded. Throws when a fold fails (the journal is left for the next attempt).
   */
  recover(): void {
    if (!existsSync(this.#dir)) return;
    const byOwner = new Map<string, { n: number; name: string }[]>();
    const names = readdirSync(this.#dir);
    for (const name of names) {
      const m = JOURNAL_FILE.exec(name);
      if (m === null || m[1] === this.#instance) continue;
      const list = byOwner.get(m[1]!) ?? [];
      list.push({ n: Number(m[2]), name });
      byOwner.set(m[1]!, list);
    }
    for (const name of names) {
      // A lock left without a journal (its owner died before writing one, or after the last was folded).
      // Only an old one: a process takes its lock just before it creates its first journal.
      if (!name.endsWith('.lock')) continue;
      const owner = name.slice(0, -'.lock'.length);
      if (owner === this.#instance || byOwner.has(owner)) continue;
      const age =
        Date.now() - (statSync(path.join(this.#dir, name), { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > 60_000) byOwner.set(owner, []);
    }
    for (const [owner, files] of byOwner) {
      const lockFile = path.join(this.#dir, `${owner}.lock`);
      const lock = tryLock(lockFile);
      if (lock === undefined) continue; // a live process's journal: it folds its own
      try {
        for (const f of files.sort((a, b) => a.n - b.n)) this.#recoverFile(f.name);
      } finally {
        lock.close();
      }
      rmSync(lockFile, { force: true });
      rmSync(`${lockFile}-journal`, { force: true });
    }
    // Marks of journals deleted after their last fold.
    const left = new Set(readdirSync(this.#dir));
    const done = this.#db
      .prepare<[], { name: string }>('select name from record_journals where done = 1')
      .all();
    const drop = this.#db.prepare('delete from record_journals where name = ? and done = 1');
    for (const { name } of done) if (!left.has(name)) drop.run(name);
  }

  #recoverFile(name: string): void {
    const file = path.join(this.#dir, name);
    const mark = this.#getMark.get(name);
    if (mark?.done !== 1) {
      const buf = readFileSync(file);
      const { frames, end } = readFrames(buf, mark?.folded_to ?? 0);
      this.#db
        .transaction(() => {
          for (const f of frames) this.#tables.apply(f);
          this.#setMark.run(name, buf.length, 1);
        })
        .immediate();
      this.#stats.recovered++;
      // A frame cut off mid-write was never acknowledged; anything else there is damage: told, either way.
      this.#stats.ignoredBytes += buf.length - end;
    }
    rmSync(file, { force: true });
  }

  /**
   * Folds what is pending, stops the fold thread, and deletes this process's journal and lock (the
   * store is closing). A journal that could not be folded stays for the next opener to recover.
   */
  async close(): Promise<void> {
    try {
      await this.foldAll();
    } catch {
      // Tried once more below, on this thread; what still fails stays in the journal, durable.
    }
    await this.#folder?.close();
    let folded = false;
    try {
      while (this.foldWanted) this.fold();
      if (this.#fd !== undefined) {
        this.#db.transaction(() => this.#setMark.run(this.#name, this.#size, 1)).immediate();
        closeSync(this.#fd);
        this.#fd = undefined;
        rmSync(path.join(this.#dir, this.#name), { force: true });
      }
      folded = this.#retired.length === 0;
    } finally {
      // The lock goes either way (so this or another process can recover a journal left behind); its
      // file only when no journal of this process is left.
      if (this.#fd !== undefined) {
        closeSync(this.#fd);
        this.#fd = undefined;
      }
      if (this.#lock !== undefined) {
        this.#lock.close();
        this.#lock = undefined;
        if (folded) {
          const lockFile = path.join(this.#dir, `${this.#instance}.lock`);
          rmSync(lockFile, { force: true });
          rmSync(`${lockFile}-journal`, { force: true });
        }
      }
    }
  }

  stats(): JournalStats {
    return {
      ...this.#stats,
      pending: this.pending,
      ...(this.#lastError !== undefined ? { lastError: this.#lastError } : {}),
    };
  }
}

/**
 * The first `n` rows ordered by session, then seq. A session's rows are pending in the order they were
 * chained, so grouping them by session (sessions sorted, a few per fold) is enough; a sort (a string
 * comparison per step over hundreds of rows) only when a session's rows are found out of order.
 */
export function inSessionOrder(rows: readonly SessionEventsTable[], n: number): SessionEventsTable[] {
  const groups = new Map<string, SessionEventsTable[]>();
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    const g = groups.get(r.session_id);
    if (g === undefined) groups.set(r.session_id, [r]);
    else if (g[g.length - 1]!.seq < r.seq) g.push(r);
    else return rows.slice(0, n).sort(bySessionSeq);
  }
  const out: SessionEventsTable[] = [];
  for (const id of [...groups.keys()].sort()) for (const r of groups.get(id)!) out.push(r);
  return out;
}

function bySessionSeq(
  a: { session_id: string; seq: number },
  b: { session_id: string; seq: number },
): number {
  return a.session_id < b.session_id ? -1 : a.session_id > b.session_id ? 1 : a.seq - b.seq;
}
