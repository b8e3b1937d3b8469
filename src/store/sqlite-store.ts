// The embedded store: one SQLite file (WAL) in the data dir, written through group commit.
// It must not resolve a write before its transaction committed, nor join a transaction it did not open.
//
// Durability: WAL with `synchronous = NORMAL` (default) survives a gateway crash or kill -9: a commit
// is in the WAL file, handed to the OS, before the write resolves. It does not survive power loss or
// an OS crash, which may lose the last commits; `synchronous: 'full'` fsyncs the WAL at every commit
// (one fsync per group commit, not per statement) and survives those too.

import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { ERROR_CODES, GatewayError } from '../core/errors.js';
import type { SessionStore, TokenStore } from '../core/ports.js';
import type {
  PromptContext,
  ServiceTokenRecord,
  SessionEvent,
  SessionFilter,
  SessionRecord,
  StatementRecord,
  StatementResult,
  StoredStatement,
} from '../core/records.js';
import {
  isEmptyPlan,
  planBatch,
  planOutcomes,
  repeatedResults,
  resultWrite,
  type BatchPlan,
  type WriteOp,
} from './batch-plan.js';
import { EventChain, type EventPlan, type EventSealer, type LoadedTail } from './event-chain.js';
import * as events from './event-queries.js';
import {
  mergeOutcomes,
  tailFromRow,
  type CommittedEventListener,
  type StoredEvent,
  type StoredSeal,
  type TailRow,
} from './event-queries.js';
import { DEFAULT_MAX_DEFER_MS, GroupCommitQueue, type GroupCommitStats } from './group-commit.js';
import {
  BACKSTOP_AUTOCHECKPOINT_PAGES,
  SqliteCheckpointer,
  type CheckpointerStats,
} from './sqlite-checkpointer.js';
import { migrateStore, type MigrationOutcome } from './migrate.js';
import * as sessions from './session-queries.js';
import {
  RecordJournal,
  RecordTables,
  StatementProbe,
  type JournalLimits,
  type JournalStats,
} from './record-journal.js';
import { LegacyStaging } from './sqlite-staging.js';
import { EVENT_TYPES } from '../recording/event-data.js';
import type { StatementCounts } from './session-queries.js';
import type { StoreTables } from './tables.js';
import * as tokens from './token-queries.js';

export interface SqliteStoreOptions {
  /** File path; its parent directory is created (mode 0700) when missing. `:memory:` for throwaway use. */
  readonly path: string;
  /** `normal` (default): durable against process crash. `full`: also against power loss. */
  readonly synchronous?: 'normal' | 'full';
  /** Ops per transaction at most (default 1000): bounds how long one commit holds the event loop. */
  readonly maxBatch?: number;
  /** Longest a deferred result waits for a commit to join (default 10 ms; group-commit.ts). */
  readonly maxDeferMs?: number;
  /** How long to wait for another process's write lock (default 5000 ms). Blocks the event loop. */
  readonly busyTimeoutMs?: number;
  /**
   * Who checkpoints the WAL: `thread` (default for a file) a worker thread with its own connection,
   * the writing connection only as a backstop (sqlite-checkpointer.ts); `inline` SQLite's default,
   * the writing connection every 1000 pages, on the event loop (benchmarks compare the two).
   */
  readonly walCheckpoint?: 'thread' | 'inline';
  /** Told when a background checkpoint fails (the writer's backstop still checkpoints). */
  readonly onCheckpointError?: (message: string) => void;
  /** With `walCheckpoint: 'thread'`: WAL pages at which the writer checkpoints itself (default 20,000). */
  readonly walBackstopPages?: number;
  /** With `walCheckpoint: 'thread'`: how often the thread checkpoints while commits happen (default 200 ms). */
  readonly checkpointIntervalMs?: number;
  /**
   * How often the store looks whether the record journal is due to be folded into the record's tables
   * (default 50 ms): when `journal.foldRows` rows wait, or the oldest has waited `journal.foldDelayMs`.
   */
  readonly foldIntervalMs?: number;
  /**
   * Who folds the record journal: `inline` (default) the writing connection, on the event loop;
   * `thread` a worker thread with its own connection (journal-folder.ts), for a host with a core to
   * spare (on the bench's two cores shared with PostgreSQL and pgbench it cost more CPU than it moved:
   * docs/performance.md, "The fold on a thread of its own").
   */
  readonly fold?: 'thread' | 'inline';
  /** The record journal's fold threshold, bound of pending rows and file size (record-journal.ts). */
  readonly journal?: JournalLimits;
  /** Told when a fold fails (the rows stay in the journal, durable; reads fail until a fold succeeds). */
  readonly onStagingError?: (message: string) => void;
}

const INSERT_SESSION = `insert into sessions (id, started_at, ended_at, subject, groups, token_kind, agent, issuer,
  client_address, client_user, application, connection, protocol, end_reason)
  values (@id, @started_at, @ended_at, @subject, @groups, @token_kind, @agent, @issuer,
  @client_address, @client_user, @application, @connection, @protocol, @end_reason)`;
const INSERT_SEAL = `insert into session_seals (session_id, seq, hash, signature, key_id, at)
  values (@session_id, @seq, @hash, @signature, @key_id, @at)`;
// Read after a fold (the staged events are in session_events then).
// With the session's last seal: an ended session is sealed again only over the tail that seal covers.
const LOAD_TAIL = `select s.id as id, s.ended_at as ended_at, e.seq as seq, e.hash as hash,
    l.seq as seal_seq, l.hash as seal_hash, l.signature as seal_signature, l.key_id as seal_key, l.at as seal_at
  from sessions s
  left join session_events e on e.session_id = s.id
    and e.seq = (select max(seq) from session_events where session_id = s.id)
  left join session_seals l on l.session_id = s.id
    and l.seq = (select max(seq) from session_seals where session_id = s.id)
  where s.id = ?`;
const END_SESSION = `update sessions set ended_at = @ended_at, end_reason = @end_reason where id = @id`;

/** SQLite error codes caused by one row's data, not by the database (see GroupCommitOptions.isDataError). */
function isSqliteDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG|RANGE)/.test(code);
}

export class SqliteStore implements SessionStore, TokenStore {
  readonly kind = 'sqlite' as const;
  readonly #db: Database.Database;
  readonly #kysely: Kysely<StoreTables>;
  readonly #queue: GroupCommitQueue<WriteOp>;
  readonly #applyPlan: (
    plan: BatchPlan,
    events: EventPlan,
  ) => { sessions: Set<string>; statements: Set<string> };
  /** Rows an older version left in the staging tables (schema 6), folded at open and before reads. */
  readonly #staging: LegacyStaging;
  /** The hot path's writes (record-journal.ts); undefined for an in-memory store, which writes directly. */
  readonly #journal: RecordJournal | undefined;
  #recoveryPending = false;
  /** Rows an older version may have left in the staging tables: looked for until a fold succeeds. */
  #legacyPending = true;
  readonly #onStagingError: ((message: string) => void) | undefined;
  readonly #foldTimer: NodeJS.Timeout;
  #foldFailing = false;
  readonly #loadTail: Database.Statement<[string], TailRow>;
  readonly #probe: StatementProbe;
  /** The retention purge's transaction (purgeSessions): chooses and deletes, on this thread. */
  readonly #purge: (cutoff: number, limit: number, live: ReadonlySet<string>, unended: boolean) => string[];
  readonly #chain = new EventChain();
  readonly #busyTimeoutMs: number;
  /** How long a result waits for company (GroupCommitOptions.maxDeferMs). */
  readonly #maxDeferMs: number;
  readonly #checkpointer: SqliteCheckpointer | undefined;
  readonly migration: MigrationOutcome;
  #closed = false;
  /**
   * The batch being written, settled (the queue writes one at a time): a purge waits for it, since it
   * may have read its sessions' tails before an await and would chain to events the purge deletes.
   */
  #writing: Promise<void> | undefined;

  private constructor(
    db: Database.Database,
    kysely: Kysely<StoreTables>,
    migration: MigrationOutcome,
    opts: SqliteStoreOptions,
    checkpointer: SqliteCheckpointer | undefined,
  ) {
    this.#checkpointer = checkpointer;
    this.#db = db;
    this.#kysely = kysely;
    this.migration = migration;
    this.#busyTimeoutMs = opts.busyTimeoutMs ?? 5000;
    // Prepared once: the batch write runs these directly (kysely would re-prepare per query), inside
    // one better-sqlite3 transaction per batch.
    const insertSession = db.prepare(INSERT_SESSION);
    const endSession = db.prepare(END_SESSION);
    const insertSeal = db.prepare(INSERT_SEAL);
    this.#loadTail = db.prepare<[string], TailRow>(LOAD_TAIL);
    const candidates = (unended: boolean) =>
      db
        .prepare<[number, number, number, number, number], string>(
          events.purgeCandidatesSql(() => '?', unended),
        )
        .pluck();
    const withUnended = candidates(true);
    const endedOnly = candidates(false);
    const deletes = [
      db.prepare('delete from session_events where session_id = ?'),
      db.prepare('delete from session_seals where session_id = ?'),
      db.prepare('delete from statements where session_id = ?'),
      db.prepare('delete from sessions where id = ?'),
    ];
    const purge = db.transaction(
      (cutoff: number, limit: number, live: ReadonlySet<string>, unended: boolean) => {
        const found = (unended ? withUnended : endedOnly).all(
          cutoff,
          cutoff,
          cutoff,
          cutoff,
          events.purgeFetchLimit(limit, live),
        );
        const ids = events.purgeChoice(found, live, limit);
        for (const id of ids) for (const d of deletes) d.run(id);
        return ids;
      },
    );
    this.#purge = (cutoff, limit, live, unended) => purge.immediate(cutoff, limit, live, unended);
    this.#staging = new LegacyStaging(db);
    const tables = new RecordTables(db);
    const journal =
      opts.path === ':memory:'
        ? undefined
        : new RecordJournal(db, tables, path.resolve(opts.path), {
            ...opts.journal,
            ...(opts.synchronous ? { synchronous: opts.synchronous } : {}),
            ...(opts.fold !== 'thread'
              ? {}
              : {
                  folder: {
                    dbFile: path.resolve(opts.path),
                    synchronous: opts.synchronous === 'full' ? 'FULL' : 'NORMAL',
                    busyTimeoutMs: Math.max(0, Math.floor(this.#busyTimeoutMs)),
                    // The writing connection's setting (open() sets the backstop when a thread checkpoints).
                    autocheckpoint:
                      opts.walCheckpoint === 'inline'
                        ? 1000
                        : Math.max(1, Math.floor(opts.walBackstopPages ?? BACKSTOP_AUTOCHECKPOINT_PAGES)),
                  },
                }),
          });
    this.#journal = journal;
    this.#onStagingError = opts.onStagingError;
    // A batch that starts or ends a session (or seals one) is written here, directly into the record's
    // tables, after the journal was folded: their keys refuse what they must.
    // A statement and its result are recorded as their events (migration 0008), here as in the
    // journal: their keys are checked as the `statements` table's keys checked them, and a result is
    // taken when its statement is recorded (in this batch or before).
    const probe = new StatementProbe(db);
    this.#probe = probe;
    const apply = db.transaction((plan: BatchPlan, events: EventPlan) => {
      const found = { sessions: new Set<string>(), statements: new Set<string>() };
      for (const row of plan.sessionInserts) insertSession.run(row);
      if (journal) journal.checkStatements(plan.statementKeys);
      else {
        const taken = new Set<string>();
        for (const r of plan.statementKeys) probe.claim(r, taken);
      }
      tables.insertEvents(events.events);
      for (const row of events.seals) insertSeal.run(row);
      for (const row of plan.sessionEnds) if (endSession.run(row).changes > 0) found.sessions.add(row.id);
      for (const r of plan.statementCompletes)
        if (journal ? journal.hasStatement(r.id) : probe.recorded(r.id)) found.statements.add(r.id);
      return found;
    });
    // IMMEDIATE: take the write lock at BEGIN, so a reader in another process (the CLI) cannot turn
    // this into a lock-upgrade deadlock.
    this.#applyPlan = (plan, events) => apply.immediate(plan, events);
    this.#foldTimer = setInterval(() => this.#foldQuietly(true), opts.foldIntervalMs ?? 50);
    this.#foldTimer.unref();
    this.#maxDeferMs = opts.maxDeferMs ?? DEFAULT_MAX_DEFER_MS;
    this.#queue = new GroupCommitQueue<WriteOp>({
      maxBatch: opts.maxBatch ?? 1000,
      maxDeferMs: this.#maxDeferMs,
      isDataError: isSqliteDataError,
      write: (ops) => {
        const write = this.#write(ops);
        const settled = write.then(
          () => undefined,
          () => undefined,
        );
        this.#writing = settled;
        void settled.then(() => {
          if (this.#writing === settled) this.#writing = undefined;
        });
        return write;
      },
    });
  }

  static async open(opts: SqliteStoreOptions): Promise<SqliteStore> {
    const memory = opts.path === ':memory:';
    const file = memory ? opts.path : path.resolve(opts.path);
    const created = !memory && !existsSync(file);
    if (!memory) mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const db = new Database(file, { timeout: opts.busyTimeoutMs ?? 5000 });
    try {
      // The store holds who ran what: readable by the gateway's user only. SQLite gives the -wal and
      // -shm files the database file's permissions.
      if (created) chmodSync(file, 0o600);
      if (!memory) {
        const mode = db.pragma('journal_mode = WAL', { simple: true });
        if (String(mode).toLowerCase() !== 'wal')
          throw new Error(`SQLite refused WAL mode (got ${String(mode)})`);
      }
      db.pragma(`synchronous = ${opts.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      db.function('gatehouse_lower', { deterministic: true }, (s: unknown) =>
        typeof s === 'string' ? s.toLowerCase() : s,
      );
      const kysely = new Kysely<StoreTables>({ dialect: new SqliteDialect({ database: db }) });
      const busyMs = opts.busyTimeoutMs ?? 5000;
      db.pragma('busy_timeout = 0'); // migrateStore waits for the lock without blocking the event loop
      const migration = await migrateStore(kysely as Kysely<unknown>, 'sqlite', undefined, busyMs);
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyMs))}`);
      let checkpointer: SqliteCheckpointer | undefined;
      if (!memory && opts.walCheckpoint !== 'inline') {
        checkpointer = new SqliteCheckpointer({
          file,
          synchronous: opts.synchronous === 'full' ? 'FULL' : 'NORMAL',
          busyTimeoutMs: Math.max(0, Math.floor(busyMs)),
          ...(opts.checkpointIntervalMs !== undefined ? { intervalMs: opts.checkpointIntervalMs } : {}),
          ...(opts.onCheckpointError ? { onError: opts.onCheckpointError } : {}),
        });
        const backstop = Math.max(1, Math.floor(opts.walBackstopPages ?? BACKSTOP_AUTOCHECKPOINT_PAGES));
        db.pragma(`wal_autocheckpoint = ${backstop}`);
      }
      const store = new SqliteStore(db, kysely, migration, opts, checkpointer);
      // What a crash left (journals of ended processes, an older version's staged rows) is folded now;
      // a fold that fails is told and retried by reads.
      store.#recoveryPending = store.#journal !== undefined;
      try {
        store.#foldOpening();
      } catch {
        // Told by #foldOpening; retried before every read and write that needs it.
      }
      return store;
    } catch (e) {
      db.close();
      throw e;
    }
  }

  async #write(ops: readonly WriteOp[]): Promise<readonly (Error | undefined)[]> {
    // Statements are written as their events (migration 0008): only their keys are checked here.
    let plan = planBatch(ops, { statementRows: false });
    // Queries through kysely share this connection. If one ever holds a transaction open across an
    // await, wait for it rather than have better-sqlite3 nest this batch inside it as a savepoint
    // (which its rollback would undo after this batch's callers were told it was durable).
    if (this.#db.open && this.#db.inTransaction) await this.#outsideTransaction();
    // The fold thread fell behind the writes: wait for it (statements slow down; memory stays bounded).
    // A fold that fails here is no reason to refuse the write: the journal's own bound decides (a lock
    // held elsewhere lets writes go on, journaled, up to maxPendingRows; any other failure refuses).
    const journal0 = this.#journal;
    if (journal0 !== undefined && journal0.backlogged && journal0.folding)
      await this.#foldAll().catch(() => undefined);
    const loaded = new Map<string, LoadedTail>();
    const missing = this.#chain.missingTails(ops);
    // A tail is read from session_events: journaled events must be there first.
    if (missing.length > 0) await this.#foldAll();
    for (const s of missing) loaded.set(s, tailFromRow(this.#loadTail.get(s)));
    // An op lands with its event or not at all. Refused before anything is chained: an op of a session
    // the store does not have, a result whose statement is not recorded in the session its event would
    // join (the record reads a result only there), and a second result of a statement. Nothing of a
    // refused op is written, and no event of it is chained, so the next event links to one that is in
    // the record.
    const refused = this.#chain.refusals(ops, plan.invalid, loaded);
    if (refused !== undefined) plan = planBatch(ops, { statementRows: false, refused });
    const results = this.#resultRefusals(ops, plan);
    if (results !== undefined) plan = planBatch(ops, { statementRows: false, refused: results });
    const events = this.#chain.plan(ops, plan.invalid, loaded);
    let found: { sessions: Set<string>; statements: Set<string> };
    const journal = this.#journal;
    try {
      if (isEmptyPlan(plan) && events.events.length === 0) {
        found = { sessions: new Set(), statements: new Set() };
      } else if (
        journal !== undefined &&
        plan.sessionInserts.length === 0 &&
        plan.sessionEnds.length === 0 &&
        events.seals.length === 0
      ) {
        const written = journal.write(plan, events.events);
        // After this batch's callers are told (a fold on the event loop would delay them).
        if (written.foldDue) setImmediate(() => this.#foldQuietly());
        found = { sessions: new Set(), statements: written.completed };
      } else {
        // Rows the journal holds go first, so this transaction's keys and updates see them; and no fold
        // runs on the fold thread while it commits (it would wait for SQLite's lock, blocking the loop).
        // Nothing is written to the journal meanwhile: the queue runs one batch at a time.
        if (journal !== undefined && (journal.pending > 0 || journal.folding)) await this.#foldAll();
        found = this.#applyPlan(plan, events);
        this.#checkpointer?.noteCommit();
        journal?.committedDirectly(plan, found.sessions, events.events);
      }
    } catch (e) {
      this.#chain.forget(ops);
      throw e;
    }
    this.#chain.commit(events, ops);
    return mergeOutcomes(planOutcomes(plan, found), events.invalid);
  }

  /**
   * `plan.invalid` with the results refused: a second result of a statement in the batch, and one whose
   * statement is not in the batch and either not recorded (in the journal or the tables) in the session
   * its event would join, or with its result already; undefined when none is.
   */
  #resultRefusals(ops: readonly WriteOp[], plan: BatchPlan): (Error | undefined)[] | undefined {
    let out = repeatedResults(ops, plan.invalid);
    const journal = this.#journal;
    for (const [i, op] of ops.entries()) {
      if (op.kind !== 'complete-statement' || (out ?? plan.invalid)[i] || plan.mustFind[i] === undefined)
        continue;
      const session = op.sessionId;
      if (session === undefined) continue; // refused by the chain (EventChain.refusals)
      let refusal: string | undefined;
      if (!(journal ? journal.hasStatementIn(session, op.id) : this.#probe.recordedIn(session, op.id)))
        refusal = `no recorded statement with id ${op.id} in session ${session}`;
      else if (journal ? journal.hasResultIn(session, op.id) : this.#probe.resultIn(session, op.id))
        refusal = `the statement ${op.id} already has its result`;
      if (refusal !== undefined)
        (out ??= [...plan.invalid])[i] = new GatewayError(ERROR_CODES.RECORD_FAILED, refusal);
    }
    return out;
  }

  // --- folding the journal (record-journal.ts) ---

  /**
   * The timer's (`timed`: only once it is timely, RecordJournal.foldTimely) and a full journal's
   * fold: started unless one runs; its failure is told once.
   */
  #foldQuietly(timed = false): void {
    const journal = this.#journal;
    // Not while a transaction is open on the connection (a read's or a write's fold waits for its end).
    if (
      this.#closed ||
      !this.#db.open ||
      this.#db.inTransaction ||
      journal === undefined ||
      journal.folding ||
      !(timed ? journal.foldTimely() : journal.foldWanted)
    )
      return;
    this.#foldAll().catch(() => {
      // Told by #foldAll; the rows stay in the journal and the next fold tries again.
    });
  }

  /** What an older version or a crashed process left: folded on this thread (at open, then until done). */
  #foldLeftovers(): void {
    if (this.#legacyPending) {
      this.#staging.foldIfStaged();
      this.#legacyPending = false;
    }
    if (this.#recoveryPending) {
      const ignored = this.#journal?.stats().ignoredBytes ?? 0;
      this.#journal?.recover();
      this.#recoveryPending = false;
      const cut = (this.#journal?.stats().ignoredBytes ?? 0) - ignored;
      if (cut > 0)
        this.#onStagingError?.(
          `a record journal left by an ended process had ${cut} bytes after its last whole frame ` +
            '(a write cut off by the crash, never acknowledged; or damage): they were not folded',
        );
    }
  }

  /** At open: the leftovers, on this thread (nothing of this process is in the journal yet). */
  #foldOpening(): void {
    try {
      this.#foldLeftovers();
      this.#foldFailing = false;
    } catch (e) {
      this.#tellFoldFailure(e);
      throw e;
    }
  }

  /**
   * Folds everything written so far (on the fold thread) and resolves when it is in the record's
   * tables and no fold runs; rejects, after telling it once per streak of failures, when a fold fails.
   */
  async #foldAll(): Promise<void> {
    try {
      // A fold on this connection inside a transaction someone holds open across an await would be a
      // savepoint of it: its rollback would undo rows the journal then no longer holds.
      if (this.#db.open && this.#db.inTransaction) await this.#outsideTransaction();
      this.#foldLeftovers();
      // Resolves with no fold in flight: a direct write may follow at once.
      if (((await this.#journal?.foldAll()) ?? 0) > 0) this.#checkpointer?.noteCommit();
      this.#foldFailing = false;
    } catch (e) {
      this.#tellFoldFailure(e);
      throw e;
    }
  }

  #tellFoldFailure(e: unknown): void {
    if (!this.#foldFailing)
      this.#onStagingError?.(
        `folding the staged record failed: ${e instanceof Error ? e.message : String(e)}`,
      );
    this.#foldFailing = true;
  }

  /** Before a read of statements or events: fold what is staged (here or by another process). */
  async #readable(): Promise<void> {
    if (this.#db.open) await this.#foldAll();
  }

  /** Resolves once no transaction is open on the shared connection (or rejects after the busy timeout). */
  async #outsideTransaction(): Promise<void> {
    const deadline = Date.now() + this.#busyTimeoutMs;
    while (this.#db.open && this.#db.inTransaction) {
      if (Date.now() > deadline) throw new Error('SQLite connection stayed inside another transaction');
      await new Promise<void>((r) => setImmediate(r));
    }
  }

  /** Folds the journal now and resolves when it is folded (tests, benchmarks; reads fold by themselves). */
  foldStaged(): Promise<void> {
    return this.#foldAll();
  }

  /** The record journal's folds and pending rows (undefined for an in-memory store, which has none). */
  journalStats(): JournalStats | undefined {
    return this.#journal?.stats();
  }

  // --- SessionStore: hot-path writes go through group commit ---

  startSession(record: SessionRecord): Promise<void> {
    // Live from now on (a purge leaves it alone) until its end settles, or its start fails.
    const opened = this.#chain.sessionOpened(record.id);
    const write = this.#queue.submit({ kind: 'start-session', record });
    if (!opened) return write;
    return write.catch((e: unknown) => {
      this.#chain.sessionClosed(record.id);
      throw e;
    });
  }

  endSession(id: string, endedAt: Date, reason: string): Promise<void> {
    return this.#queue
      .submit({ kind: 'end-session', id, endedAt, reason })
      .finally(() => this.#chain.sessionClosed(id));
  }

  /** Resolves once the statement's row is committed; rejects with GatewayError(RECORD_FAILED) otherwise. */
  recordStatement(record: StatementRecord): Promise<void> {
    this.#chain.noteStatement(record);
    return this.#queue.submit({ kind: 'record-statement', record });
  }

  completeStatement(id: string, result: StatementResult): Promise<void> {
    // A result joins the next commit while other statements recorded within maxDeferMs await theirs:
    // one of them brings that commit soon. With none (one statement after another), the next commit
    // would be this session's next statement, and the result's event would be written on that
    // statement's path; it is committed now instead, while the client reads the answer (an append
    // costs a write(), not a SQLite commit; docs/performance.md, "A result with no company").
    const deferrable = this.#chain.resultSubmitted(id, this.#maxDeferMs) > 0;
    const { op, options } = resultWrite(id, result, this.#chain.sessionOfStatement(id), deferrable);
    return this.#queue.submit(op, options);
  }

  commitDeferred(): void {
    this.#queue.commitDeferred();
  }

  /** Appends an event to the session's hash chain; resolves once committed. */
  appendEvent(sessionId: string, event: SessionEvent): Promise<void> {
    // A statement is read from its events (migration 0008): only recordStatement and
    // completeStatement write those, after checking the statement's keys.
    if (event.type === EVENT_TYPES.statement || event.type === EVENT_TYPES.result)
      return Promise.reject(
        new Error(`a "${event.type}" event is written by recordStatement or completeStatement only`),
      );
    return this.#queue.submit({ kind: 'append-event', sessionId, event });
  }

  // --- the event record (docs/recording.md) ---

  /**
   * Benchmarks only: stop writing events, to measure what the record costs. Never used by the gateway.
   * A statement is written only as its events (migration 0008), so nothing of it is recorded then.
   */
  disableEventsForBenchmark(): void {
    this.#chain.disableForBenchmark();
  }

  /** Signs each session's final hash from now on (sessions that end without one stay unsigned). */
  setSealer(sealer: EventSealer | undefined): void {
    this.#chain.setSealer(sealer);
  }

  /** Called after each commit with the events it made durable. Listeners must not block or throw. */
  onCommitted(listener: CommittedEventListener): () => void {
    return this.#chain.onCommitted(listener);
  }

  async getEvents(sessionId: string, afterSeq = 0, limit?: number): Promise<StoredEvent[]> {
    await this.#readable();
    return events.getEvents(this.#kysely, sessionId, afterSeq, limit);
  }

  getSeals(sessionId: string): Promise<StoredSeal[]> {
    return events.getSeals(this.#kysely, sessionId);
  }

  /**
   * Deletes up to `limit` (default 500) sessions the retention rule lets go at cutoff `before`
   * (event-queries.ts purgeCandidatesSql: ended before it, or never ended, not live in this process and
   * last active before it), with their statements, events and seals; returns their ids (the caller
   * deletes their blobs). The journal is folded first and the choice and deletes run in one
   * transaction with nothing of the record pending, so no event of a purged session is folded after
   * it (nor chained to one: what the chain knew of them is forgotten). While another process writes
   * to this file (it holds a journal lock: a running gateway, when this is the CLI), no session
   * without an end is purged: one open there is not live here, and may be idle yet in use.
   */
  async purgeSessions(before: Date, limit = 500): Promise<string[]> {
    const cutoff = before.getTime();
    if (!Number.isFinite(cutoff)) throw new TypeError('purge cutoff must be a valid date');
    for (;;) {
      await this.#readable();
      // A batch that read its sessions' tails and has not written its events yet: after it, not beside.
      if (this.#writing !== undefined) {
        await this.#writing;
        continue;
      }
      const journal = this.#journal;
      // Another transaction or a fold on the fold thread began meanwhile: wait for it again.
      if (this.#db.inTransaction || journal?.folding === true) continue;
      // Rows written since the fold above: folded here, synchronously (a fold takes a bounded number).
      while (journal !== undefined && journal.pending > 0) journal.fold();
      const unended = journal === undefined || !journal.otherWritersLive();
      const ids = this.#purge(cutoff, limit, this.#chain.liveSessions, unended);
      this.#chain.forgetSessions(ids);
      journal?.forgetSessions(ids);
      return ids;
    }
  }

  saveContext(principal: string, context: PromptContext): Promise<void> {
    return events.saveContext(this.#kysely, 'sqlite', principal, context);
  }

  loadContexts(since: Date): Promise<{ principal: string; context: PromptContext }[]> {
    return events.loadContexts(this.#kysely, since);
  }

  async listSessions(filter: SessionFilter): Promise<SessionRecord[]> {
    await this.#readable();
    return sessions.listSessions(this.#kysely, 'sqlite', filter);
  }

  async getSession(
    id: string,
  ): Promise<{ session: SessionRecord; statements: StoredStatement[] } | undefined> {
    await this.#readable();
    return sessions.getSession(this.#kysely, id);
  }

  async countStatements(sessionId: string): Promise<StatementCounts> {
    await this.#readable();
    return sessions.countStatements(this.#kysely, sessionId, 'sqlite');
  }

  // --- TokenStore ---

  saveServiceToken(record: ServiceTokenRecord): Promise<void> {
    return tokens.saveServiceToken(this.#kysely, record);
  }

  getServiceToken(id: string): Promise<ServiceTokenRecord | undefined> {
    return tokens.getServiceToken(this.#kysely, id);
  }

  listServiceTokens(): Promise<ServiceTokenRecord[]> {
    return tokens.listServiceTokens(this.#kysely);
  }

  revokeServiceToken(id: string, at: Date): Promise<boolean> {
    return tokens.revokeServiceToken(this.#kysely, id, at);
  }

  isRevoked(id: string): Promise<boolean> {
    return tokens.isRevoked(this.#kysely, id);
  }

  // --- for later issues, tests and benchmarks ---

  /**
   * The query builder over this store's connection, for modules that add tables through a migration
   * (see migrations/index.ts). Do not hold a transaction open across unrelated awaits on it: the
   * SQLite connection is shared with the group-commit writer, which waits for it.
   */
  getKysely(): Kysely<StoreTables> {
    return this.#kysely;
  }

  /** The raw better-sqlite3 handle (tests use it to break the store on purpose). */
  getDatabase(): Database.Database {
    return this.#db;
  }

  stats(): GroupCommitStats {
    return this.#queue.stats();
  }

  /** The background checkpointer's counters (undefined with `walCheckpoint: 'inline'` or in memory). */
  checkpointStats(): CheckpointerStats | undefined {
    return this.#checkpointer?.stats();
  }

  /** Runs a background checkpoint now and waits for it (tests). */
  checkpointNow(): Promise<void> {
    return this.#checkpointer?.checkpointNow() ?? Promise.resolve();
  }

  /** Waits for queued writes to settle, then closes the file. Later writes reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue.close();
    clearInterval(this.#foldTimer);
    // Leave nothing in the journal at rest (an older gateway version would not read it).
    if (this.#db.open && !this.#db.inTransaction) {
      try {
        this.#foldLeftovers();
      } catch (e) {
        this.#tellFoldFailure(e);
      }
      try {
        await this.#journal?.close();
      } catch (e) {
        // The journal stays (its rows are durable there) and the next open folds it.
        this.#onStagingError?.(
          `closing the record journal failed: ${e instanceof Error ? e.message : String(e)}`,
        );
      }
    }
    await this.#checkpointer?.close();
    if (this.#db.open) {
      // Fold the WAL back into the main file so the .db is self-contained at rest.
      try {
        this.#db.pragma('wal_checkpoint(TRUNCATE)');
      } catch {
        // Another process may hold the file; the next opener checkpoints instead.
      }
    }
    await this.#kysely.destroy();
  }
}
