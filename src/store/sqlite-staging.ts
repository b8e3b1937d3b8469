// The SQLite store's staging tables: the group commit appends statements and events to
// `statements_recent` and `session_events_recent` (no index, no key), and `fold()` moves them into
// `statements` and `session_events` in one transaction a few times a second and before every read.
//
// Why: `statements` (id; session_id, seq) and `session_events` (session_id, seq) are keyed by session,
// so with N sessions writing, each commit changed a page per session in each of those three indexes,
// and SQLite writes every changed page to the WAL with two pwrite calls (plus six fcntl per commit):
// at pgbench -S -c 8 that was 13.5 pwrite calls per statement and most of a commit's cost. An append
// to an unindexed table changes one or two pages whatever the number of sessions; a fold changes each
// session's index pages once for hundreds of statements (docs/performance.md, "Staging").
//
// What must not change, and how it does not:
// - Durability: a staged row is committed in the same WAL transaction as before; a crash leaves it in
//   the staging table, and the next open folds it (SqliteStore.open).
// - Reads: every read of the record folds first, in this process or in the CLI's (another process
//   may fold rows this one staged; a completion then finds its row in `statements`, below).
// - Keys: a statement whose id or (session, seq) is already recorded is refused at its write, as the
//   keys refused it before (checked here against the staged rows and probed in `statements`).
//   Events take their seq from the session's chain tail, which never repeats one; the fold still
//   inserts them under `session_events`' key, so anything else that could repeat one fails the fold
//   loudly rather than forking a chain. A fold that fails leaves the rows staged (they stay durable
//   and are retried); reads fail until it succeeds, and past `maxUnfolded` staged rows writes fail
//   too (fail closed: nothing more is forwarded than the record can show).

import type Database from 'better-sqlite3';
import type { StatementCompleteRow } from './batch-plan.js';
import type { SessionEventsTable, StatementsTable } from './tables.js';

const STATEMENT_COLUMNS = `id, session_id, seq, at, via, "text", kind, categories, effect, rule_id, message,
  params, duration_ms, row_count, error_code, error_message, masked, lineage`;
const EVENT_COLUMNS = 'session_id, seq, type, at, statement_id, data, prev_hash, hash';

const INSERT_STATEMENT = `insert into statements_recent (${STATEMENT_COLUMNS})
  values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
const INSERT_EVENT = `insert into session_events_recent (${EVENT_COLUMNS}) values (?, ?, ?, ?, ?, ?, ?, ?)`;
const RESULT_COLUMNS = 'duration_ms = ?, row_count = ?, error_code = ?, error_message = ?, masked = ?';
const COMPLETE_STAGED = `update statements_recent set ${RESULT_COLUMNS} where rowid = ? and id = ?`;
const COMPLETE_STAGED_BY_ID = `update statements_recent set ${RESULT_COLUMNS} where id = ?`;
const COMPLETE_RECORDED = `update statements set ${RESULT_COLUMNS} where id = ?`;
const PROBE_ID = 'select 1 from statements where id = ?';
const PROBE_SEQ = 'select 1 from statements where session_id = ? and seq = ?';
const ANY_STAGED =
  'select exists(select 1 from statements_recent) or exists(select 1 from session_events_recent) as n';
// Sorted by session so the fold walks each session's index pages once.
const FOLD = `insert into statements (${STATEMENT_COLUMNS})
    select ${STATEMENT_COLUMNS} from statements_recent order by session_id, seq;
  insert into session_events (${EVENT_COLUMNS})
    select ${EVENT_COLUMNS} from session_events_recent order by session_id, seq;
  delete from statements_recent;
  delete from session_events_recent;`;

export interface StagingOptions {
  /** Staged rows past which a commit is followed by a fold at once (default 512: about 2–3 ms of fold). */
  readonly foldRows?: number;
  /** Staged rows past which writes are refused while folds fail (default 200,000). */
  readonly maxUnfolded?: number;
}

export interface StagingStats {
  readonly folds: number;
  /** Rows this process staged that its folds moved (a fold also moves another process's, uncounted). */
  readonly rowsFolded: number;
  readonly failedFolds: number;
  /** Rows staged by this process and not folded yet. */
  readonly staged: number;
  readonly longestFoldMs: number;
  /** Time spent folding, summed. */
  readonly foldMs: number;
  readonly lastError?: string;
}

/** What one transaction staged: kept apart until it commits (a rolled-back batch leaves no trace). */
export class StagedBatch {
  readonly ids = new Map<string, number | bigint>();
  readonly keys = new Set<string>();
  rows = 0;
}

function constraint(message: string): Error {
  return Object.assign(new Error(message), { code: 'SQLITE_CONSTRAINT_UNIQUE' });
}

export class RecordStaging {
  readonly #insertStatement: Database.Statement;
  readonly #insertEvent: Database.Statement;
  readonly #completeStaged: Database.Statement;
  readonly #completeStagedById: Database.Statement;
  readonly #completeRecorded: Database.Statement;
  readonly #probeId: Database.Statement;
  readonly #probeSeq: Database.Statement;
  readonly #anyStaged: Database.Statement<[], { n: number }>;
  readonly #fold: () => void;
  readonly #foldRows: number;
  readonly #maxUnfolded: number;
  /** Staged statement id → its rowid in statements_recent (this process's, until the next fold). */
  readonly #rowids = new Map<string, number | bigint>();
  /** `<session>\0<seq>` of the staged statements. */
  readonly #keys = new Set<string>();
  #staged = 0;
  #stats = { folds: 0, rowsFolded: 0, failedFolds: 0, longestFoldMs: 0, foldMs: 0 };
  #lastError: string | undefined;

  constructor(db: Database.Database, opts: StagingOptions = {}) {
    this.#insertStatement = db.prepare(INSERT_STATEMENT);
    this.#insertEvent = db.prepare(INSERT_EVENT);
    this.#completeStaged = db.prepare(COMPLETE_STAGED);
    this.#completeStagedById = db.prepare(COMPLETE_STAGED_BY_ID);
    this.#completeRecorded = db.prepare(COMPLETE_RECORDED);
    this.#probeId = db.prepare(PROBE_ID).pluck();
    this.#probeSeq = db.prepare(PROBE_SEQ).pluck();
    this.#anyStaged = db.prepare<[], { n: number }>(ANY_STAGED);
    this.#foldRows = opts.foldRows ?? 512;
    this.#maxUnfolded = opts.maxUnfolded ?? 200_000;
    const fold = db.transaction(() => db.exec(FOLD));
    this.#fold = () => fold.immediate();
  }

  // --- inside the batch transaction ---

  /** Refuses the write when folds have been failing and the staged rows reached maxUnfolded. */
  assertRoom(): void {
    if (this.#staged >= this.#maxUnfolded)
      throw new Error(
        `the record's staged rows could not be folded (${this.#lastError ?? 'fold not run'}); ` +
          `${this.#staged} rows wait`,
      );
  }

  insertStatement(b: StagedBatch, r: StatementsTable): void {
    const key = `${r.session_id}\u0000${r.seq}`;
    if (this.#rowids.has(r.id) || b.ids.has(r.id) || this.#probeId.get(r.id) !== undefined)
      throw constraint('UNIQUE constraint failed: statements.id');
    if (this.#keys.has(key) || b.keys.has(key) || this.#probeSeq.get(r.session_id, r.seq) !== undefined)
      throw constraint('UNIQUE constraint failed: statements.session_id, statements.seq');
    const { lastInsertRowid } = this.#insertStatement.run(
      r.id,
      r.session_id,
      r.seq,
      r.at,
      r.via,
      r.text,
      r.kind,
      r.categories,
      r.effect,
      r.rule_id,
      r.message,
      r.params,
      r.duration_ms,
      r.row_count,
      r.error_code,
      r.error_message,
      r.masked,
      r.lineage,
    );
    b.ids.set(r.id, lastInsertRowid);
    b.keys.add(key);
    b.rows++;
  }

  insertEvent(b: StagedBatch, e: SessionEventsTable): void {
    this.#insertEvent.run(e.session_id, e.seq, e.type, e.at, e.statement_id, e.data, e.prev_hash, e.hash);
    b.rows++;
  }

  /** Writes a statement's result wherever its row is now; false when there is no such statement. */
  complete(b: StagedBatch, r: StatementCompleteRow): boolean {
    const args = [r.duration_ms, r.row_count, r.error_code, r.error_message, r.masked] as const;
    const rowid = b.ids.get(r.id) ?? this.#rowids.get(r.id);
    if (rowid !== undefined && this.#completeStaged.run(...args, rowid, r.id).changes > 0) return true;
    if (this.#completeRecorded.run(...args, r.id).changes > 0) return true;
    // Staged by another process (a second gateway on this file): rare, so a scan of the staged rows.
    return rowid === undefined && this.#completeStagedById.run(...args, r.id).changes > 0;
  }

  // --- after the batch transaction ---

  /** The batch committed: its rows are staged until the next fold. True when it is time to fold. */
  committed(b: StagedBatch): boolean {
    for (const [id, rowid] of b.ids) this.#rowids.set(id, rowid);
    for (const k of b.keys) this.#keys.add(k);
    this.#staged += b.rows;
    return this.#staged >= this.#foldRows && this.#lastError === undefined;
  }

  get staged(): number {
    return this.#staged;
  }

  // --- folding ---

  /** Moves every staged row (this process's and any other's) into the record's tables. Throws when it fails. */
  #foldAll(): void {
    const started = performance.now();
    try {
      this.#fold();
    } catch (e) {
      this.#stats.failedFolds++;
      this.#lastError = e instanceof Error ? e.message : String(e);
      throw e;
    }
    const ms = performance.now() - started;
    this.#stats.folds++;
    this.#stats.rowsFolded += this.#staged;
    this.#stats.longestFoldMs = Math.max(this.#stats.longestFoldMs, ms);
    this.#stats.foldMs += ms;
    this.#lastError = undefined;
    this.#rowids.clear();
    this.#keys.clear();
    this.#staged = 0;
  }

  /** Folds when anything is staged, by this process or another (a read, an open, a tail to load). */
  foldIfStaged(): void {
    if (this.#staged > 0 || this.#anyStaged.get()?.n === 1) this.#foldAll();
  }

  stats(): StagingStats {
    return {
      ...this.#stats,
      staged: this.#staged,
      ...(this.#lastError !== undefined ? { lastError: this.#lastError } : {}),
    };
  }
}
