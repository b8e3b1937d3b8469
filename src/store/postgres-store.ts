// The shared store for several gateway replicas: PostgreSQL through a small pg.Pool, group commit.
// It must not resolve a write before PostgreSQL acknowledged its commit, and must not log the URL.
//
// Each batch is ONE statement in autocommit (data-modifying CTEs over unnest()ed arrays), so a batch
// costs one round trip and one commit whatever its size, and the statement is prepared once per
// connection. Updates whose insert is in the same batch were folded into the insert (batch-plan.ts),
// because an UPDATE in a CTE cannot see rows inserted by the same statement.

import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
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
  writeOpKeys,
  type BatchPlan,
  type WriteOp,
} from './batch-plan.js';
import { EventChain, type EventPlan, type EventSealer, type LoadedTail } from './event-chain.js';
import * as eventQueries from './event-queries.js';
import {
  mergeOutcomes,
  tailFromRow,
  type CommittedEventListener,
  type StoredEvent,
  type StoredSeal,
  type TailRow,
} from './event-queries.js';
import { DEFAULT_MAX_DEFER_MS, GroupCommitQueue, type GroupCommitStats } from './group-commit.js';
import { migrateStore, type MigrationOutcome } from './migrate.js';
import * as sessions from './session-queries.js';
import type { StatementCounts } from './session-queries.js';
import type { StoreTables } from './tables.js';
import * as tokens from './token-queries.js';

export interface PostgresStoreOptions {
  /** libpq URL (holds a password: never logged). */
  readonly url: string;
  /** Connections in the pool (default 4): one for the group-commit writer, the rest for reads. */
  readonly poolSize?: number;
  /** Schema to keep the store's tables in (created when missing); default: the URL's search_path. */
  readonly schema?: string;
  /** Ops per statement at most (default 1000). */
  readonly maxBatch?: number;
  /**
   * Batches committing at once (default poolSize - 1, at least 1, leaving a connection for reads).
   * PostgreSQL flushes the WAL once for commits that arrive together, so this multiplies what one
   * fsync covers; an update still never runs before (or alongside) the insert of its row.
   */
  readonly maxConcurrentCommits?: number;
  /**
   * A write or query that takes longer is cancelled by the server and fails (default 10 000 ms):
   * the store must not hang the gate.
   */
  readonly queryTimeoutMs?: number;
  /** Waiting for a connection longer than this fails (default 10 000 ms). */
  readonly connectTimeoutMs?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * A result's event is chained into the batch before PostgreSQL says whether its statement is there
 * (recorded in the result's session, and without a result yet). When it is not, the batch's last select casts this text to an
 * integer, which fails the whole statement (22P02): nothing of the batch commits, and the store finds
 * which results to refuse and writes the batch again without them (PostgresStore.#resultRefusals).
 */
const RESULT_GUARD = `'gatehouse: a result of no statement recorded in its session: '`;
/**
 * An event chained to a tail this store kept in memory, of a session that is no longer there (a purge
 * by another replica or by the CLI deleted it): the batch's last select casts this text to a date,
 * which fails the whole statement (22007); the store forgets the tails and writes the batch once more,
 * when such a session is found gone and its ops are refused.
 */
const SESSION_GUARD = `'gatehouse: an event of a session that is not recorded: '`;

const BATCH_SQL = `with
ins_sessions as (
  insert into sessions (id, started_at, ended_at, subject, groups, token_kind, agent, issuer,
    client_address, client_user, application, connection, protocol, end_reason)
  select * from unnest($1::text[], $2::int8[], $3::int8[], $4::text[], $5::text[], $6::text[], $7::int4[],
    $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[])
),
ins_statements as (
  insert into statements (id, session_id, seq, at, via, "text", kind, categories, effect, rule_id, message,
    params, duration_ms, row_count, error_code, error_message, masked, lineage)
  select * from unnest($15::text[], $16::text[], $17::int4[], $18::int8[], $19::text[], $20::text[],
    $21::text[], $22::text[], $23::text[], $24::text[], $25::text[], $26::text[], $27::float8[],
    $28::int8[], $29::text[], $30::text[], $31::text[], $41::text[])
),
ins_events as (
  insert into session_events (session_id, seq, type, at, statement_id, data, prev_hash, hash)
  select * from unnest($42::text[], $43::int4[], $44::text[], $45::int8[], $46::text[], $47::text[],
    $48::text[], $49::text[])
),
ins_seals as (
  insert into session_seals (session_id, seq, hash, signature, key_id, at)
  select * from unnest($50::text[], $51::int4[], $52::text[], $53::text[], $54::text[], $55::int8[])
),
end_sessions as (
  update sessions s set ended_at = v.ended_at, end_reason = v.end_reason
  from unnest($32::text[], $33::int8[], $34::text[]) as v(id, ended_at, end_reason)
  where s.id = v.id
  returning s.id
),
complete_statements as (
  update statements s set duration_ms = v.duration_ms, row_count = v.row_count, error_code = v.error_code,
    error_message = v.error_message, masked = v.masked
  from unnest($35::text[], $56::text[], $36::float8[], $37::int8[], $38::text[], $39::text[], $40::text[])
    as v(id, session_id, duration_ms, row_count, error_code, error_message, masked)
  where s.id = v.id and s.session_id = v.session_id and s.duration_ms is null
  returning s.id
)
select 's' as t, id from end_sessions
union all
select 'c' as t, id from complete_statements
union all
select 'x' as t, (${RESULT_GUARD} || v.id)::int4::text as id
  from unnest($35::text[]) as v(id) where v.id not in (select id from complete_statements)
union all
select 'y' as t, (${SESSION_GUARD} || v.id)::date::text as id
  from (select distinct u.id from unnest($42::text[]) as u(id)) v
  where v.id <> all($1::text[]) and not exists (select 1 from sessions s where s.id = v.id)`;

// With each session's last seal: an ended session is sealed again only over the tail that seal covers.
const LOAD_TAILS = `select s.id as id, s.ended_at as ended_at, e.seq as seq, e.hash as hash,
    l.seq as seal_seq, l.hash as seal_hash, l.signature as seal_signature, l.key_id as seal_key, l.at as seal_at
  from sessions s
  left join lateral (select seq, hash from session_events where session_id = s.id order by seq desc limit 1) e on true
  left join lateral (select seq, hash, signature, key_id, at from session_seals where session_id = s.id
    order by seq desc limit 1) l on true
  where s.id = any($1::text[])`;

function column<R, K extends keyof R>(rows: readonly R[], key: K): R[K][] {
  return rows.map((r) => r[key]);
}

function batchParams(plan: BatchPlan, events: EventPlan, completeSessions: readonly string[]): unknown[] {
  const ev = events.events;
  const se = events.seals;
  const s = plan.sessionInserts;
  const st = plan.statementInserts;
  const e = plan.sessionEnds;
  const c = plan.statementCompletes;
  return [
    column(s, 'id'),
    column(s, 'started_at'),
    column(s, 'ended_at'),
    column(s, 'subject'),
    column(s, 'groups'),
    column(s, 'token_kind'),
    column(s, 'agent'),
    column(s, 'issuer'),
    column(s, 'client_address'),
    column(s, 'client_user'),
    column(s, 'application'),
    column(s, 'connection'),
    column(s, 'protocol'),
    column(s, 'end_reason'),
    column(st, 'id'),
    column(st, 'session_id'),
    column(st, 'seq'),
    column(st, 'at'),
    column(st, 'via'),
    column(st, 'text'),
    column(st, 'kind'),
    column(st, 'categories'),
    column(st, 'effect'),
    column(st, 'rule_id'),
    column(st, 'message'),
    column(st, 'params'),
    column(st, 'duration_ms'),
    column(st, 'row_count'),
    column(st, 'error_code'),
    column(st, 'error_message'),
    column(st, 'masked'),
    column(e, 'id'),
    column(e, 'ended_at'),
    column(e, 'end_reason'),
    column(c, 'id'),
    column(c, 'duration_ms'),
    column(c, 'row_count'),
    column(c, 'error_code'),
    column(c, 'error_message'),
    column(c, 'masked'),
    column(st, 'lineage'),
    column(ev, 'session_id'),
    column(ev, 'seq'),
    column(ev, 'type'),
    column(ev, 'at'),
    column(ev, 'statement_id'),
    column(ev, 'data'),
    column(ev, 'prev_hash'),
    column(ev, 'hash'),
    column(se, 'session_id'),
    column(se, 'seq'),
    column(se, 'hash'),
    column(se, 'signature'),
    column(se, 'key_id'),
    column(se, 'at'),
    completeSessions,
  ];
}

/**
 * The session of each of the plan's result updates (`statementCompletes`, one per statement id: the
 * last result of it in the batch): the session whose chain its event joins.
 */
function completeSessions(ops: readonly WriteOp[], plan: BatchPlan): string[] {
  const sessionOf = new Map<string, string | null>();
  for (const [i, op] of ops.entries())
    if (op.kind === 'complete-statement' && !plan.invalid[i] && plan.mustFind[i] !== undefined)
      sessionOf.set(op.id, op.sessionId ?? null);
  return plan.statementCompletes.map((c) => sessionOf.get(c.id) ?? null) as string[];
}

/** The batch chained an event to a session that is no longer recorded (SESSION_GUARD). */
function isSessionGone(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === '22007';
}

/** A unique violation on the event chain's key: another writer extended the chain first. */
function isChainConflict(err: unknown): boolean {
  const e = err as { code?: unknown; constraint?: unknown } | null;
  return e?.code === '23505' && e.constraint === 'session_events_pkey';
}

/** SQLSTATE classes 22 (data exception) and 23 (integrity constraint violation) come from one row. */
function isPgDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^2[23]/.test(code);
}

/** int8 (epoch ms, row counts, count(*)) as JS numbers, for this pool only (not pg's global parsers). */
const INT8_OID = 20;
function parseInt8(v: string): number {
  return Number(v);
}
const storeTypes = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary'): unknown =>
    oid === INT8_OID && format !== 'binary'
      ? parseInt8
      : (pg.types.getTypeParser(oid, format ?? 'text') as unknown)) as typeof pg.types.getTypeParser,
};

async function ensureSchema(url: string, schema: string, timeoutMs: number): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  await client.connect();
  try {
    await client.query(`create schema if not exists "${schema}"`);
  } catch (e) {
    // Two replicas creating it at once: one wins, the other sees a unique violation. Either way it exists.
    if ((e as { code?: string }).code !== '23505' && (e as { code?: string }).code !== '42P06') throw e;
  } finally {
    await client.end();
  }
}

export class PostgresStore implements SessionStore, TokenStore {
  readonly kind = 'postgres' as const;
  readonly #pool: pg.Pool;
  readonly #kysely: Kysely<StoreTables>;
  readonly #queue: GroupCommitQueue<WriteOp>;
  readonly #chain = new EventChain();
  readonly migration: MigrationOutcome;
  #closed = false;

  private constructor(
    pool: pg.Pool,
    kysely: Kysely<StoreTables>,
    migration: MigrationOutcome,
    batching: { maxBatch: number; maxInFlight: number },
  ) {
    this.#pool = pool;
    this.#kysely = kysely;
    this.migration = migration;
    this.#queue = new GroupCommitQueue<WriteOp>({
      ...batching,
      keys: writeOpKeys,
      isDataError: isPgDataError,
      write: (ops) => this.#write(ops),
    });
  }

  static async open(opts: PostgresStoreOptions): Promise<PostgresStore> {
    const timeout = opts.queryTimeoutMs ?? 10_000;
    const connectTimeout = opts.connectTimeoutMs ?? 10_000;
    if (opts.schema !== undefined) {
      if (!SCHEMA_NAME.test(opts.schema)) throw new Error('store schema must be a lower-case SQL identifier');
      await ensureSchema(opts.url, opts.schema, connectTimeout);
    }
    const pool = new pg.Pool({
      connectionString: opts.url,
      max: Math.max(1, opts.poolSize ?? 4),
      connectionTimeoutMillis: connectTimeout,
      // Server-side: PostgreSQL cancels the statement and rolls it back, so a write that timed out
      // is known not to have committed (a client-side timeout alone leaves it running, and it may
      // commit later, after its caller was told it failed).
      statement_timeout: timeout,
      // Client-side backstop for a dead network, where no cancel can arrive. The outcome of such a
      // write is unknown; its caller is told it failed, so the statement is not forwarded.
      query_timeout: timeout + 5_000,
      application_name: 'gatehouse-store',
      types: storeTypes,
      ...(opts.schema !== undefined ? { options: `-c search_path=${opts.schema}` } : {}),
    });
    // An idle connection dropped by the server emits 'error' on the pool; unhandled it would crash the
    // gateway. The pool discards that connection, and the next write that fails rejects its callers.
    pool.on('error', () => undefined);
    const kysely = new Kysely<StoreTables>({ dialect: new PostgresDialect({ pool }) });
    try {
      const migration = await migrateStore(kysely as Kysely<unknown>, 'postgres');
      const poolSize = opts.poolSize ?? 4;
      return new PostgresStore(pool, kysely, migration, {
        maxBatch: opts.maxBatch ?? 1000,
        maxInFlight: Math.max(1, opts.maxConcurrentCommits ?? poolSize - 1),
      });
    } catch (e) {
      await kysely.destroy().catch(() => undefined);
      throw e;
    }
  }

  async #write(ops: readonly WriteOp[]): Promise<readonly (Error | undefined)[]> {
    try {
      return await this.#writeOnce(ops);
    } catch (e) {
      // Another replica appended to one of these sessions' chains first (an approval decided
      // there): the tails were forgotten, so one retry chains after its event instead of failing.
      // Or a session whose tail was kept here is gone (purged elsewhere): the retry reads the tails
      // again, finds no such session, and refuses its ops.
      if (!isChainConflict(e) && !isSessionGone(e)) throw e;
      return this.#writeOnce(ops);
    }
  }

  async #writeOnce(ops: readonly WriteOp[]): Promise<readonly (Error | undefined)[]> {
    let plan = planBatch(ops);
    const found = { sessions: new Set<string>(), statements: new Set<string>() };
    let events: EventPlan;
    try {
      // Group-commit keys keep every other batch holding these sessions out of flight, so the tails
      // read here cannot move before this batch commits (except by another replica: then the
      // (session_id, seq) key refuses this batch, its tails are forgotten and re-read on retry).
      const missing = this.#chain.missingTails(ops);
      const loaded = new Map<string, LoadedTail>();
      if (missing.length > 0) {
        const r = await this.#pool.query<TailRow>({
          name: 'gatehouse_store_tails_v2',
          text: LOAD_TAILS,
          values: [missing],
        });
        const byId = new Map(r.rows.map((row) => [row.id, row]));
        for (const id of missing) loaded.set(id, tailFromRow(byId.get(id)));
      }
      // An op lands with its event or not at all: an op of a session the store does not have, and a
      // second result of a statement in the batch, are refused before anything is chained (and their
      // rows are left out of the batch).
      const refused = this.#chain.refusals(ops, plan.invalid, loaded);
      if (refused !== undefined) plan = planBatch(ops, { refused });
      const repeated = repeatedResults(ops, plan.invalid);
      if (repeated !== undefined) plan = planBatch(ops, { refused: repeated });
      for (;;) {
        events = this.#chain.plan(ops, plan.invalid, loaded);
        if (isEmptyPlan(plan) && events.events.length === 0) break;
        try {
          const r = await this.#pool.query<{ t: string; id: string }>({
            name: 'gatehouse_store_batch_v5',
            text: BATCH_SQL,
            values: batchParams(plan, events, completeSessions(ops, plan)),
          });
          for (const row of r.rows) (row.t === 's' ? found.sessions : found.statements).add(row.id);
          break;
        } catch (e) {
          // The result guard (RESULT_GUARD), or another data error: which results have no statement?
          if ((e as { code?: unknown } | null)?.code !== '22P02') throw e;
          const more = await this.#resultRefusals(ops, plan);
          if (more === undefined) throw e;
          // Planned again without them: their events are not chained, so no event links to theirs.
          plan = planBatch(ops, { refused: more });
        }
      }
    } catch (e) {
      this.#chain.forget(ops);
      throw e;
    }
    this.#chain.commit(events, ops);
    return mergeOutcomes(planOutcomes(plan, found), events.invalid);
  }

  /**
   * `plan.invalid` with the results refused whose statement is not recorded in the session their event
   * would join, or has its result already (statements not in the batch: a result of one in it is
   * folded into its insert); undefined when none is.
   */
  async #resultRefusals(
    ops: readonly WriteOp[],
    plan: BatchPlan,
  ): Promise<(Error | undefined)[] | undefined> {
    const ids = new Set<string>();
    for (const [i, op] of ops.entries())
      if (op.kind === 'complete-statement' && !plan.invalid[i] && plan.mustFind[i] !== undefined)
        ids.add(op.id);
    if (ids.size === 0) return undefined;
    const r = await this.#pool.query<{ id: string; session_id: string; done: boolean }>({
      text: 'select id, session_id, duration_ms is not null as done from statements where id = any($1::text[])',
      values: [[...ids]],
    });
    const byId = new Map(r.rows.map((row) => [row.id, row]));
    let out: (Error | undefined)[] | undefined;
    for (const [i, op] of ops.entries()) {
      if (op.kind !== 'complete-statement' || plan.invalid[i] || plan.mustFind[i] === undefined) continue;
      const row = byId.get(op.id);
      let refusal: string | undefined;
      if (op.sessionId === undefined || row?.session_id !== op.sessionId)
        refusal = `no recorded statement with id ${op.id} in session ${op.sessionId ?? '?'}`;
      else if (row.done) refusal = `the statement ${op.id} already has its result`;
      if (refusal !== undefined)
        (out ??= [...plan.invalid])[i] = new GatewayError(ERROR_CODES.RECORD_FAILED, refusal);
    }
    return out;
  }

  // --- SessionStore: hot-path writes go through group commit ---

  startSession(record: SessionRecord): Promise<void> {
    // Live from now on (a purge by this process leaves it alone) until its end settles, or its start fails.
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

  /** Resolves once PostgreSQL acknowledged the commit; rejects with GatewayError(RECORD_FAILED) otherwise. */
  recordStatement(record: StatementRecord): Promise<void> {
    this.#chain.noteStatement(record);
    return this.#queue.submit({ kind: 'record-statement', record });
  }

  completeStatement(id: string, result: StatementResult): Promise<void> {
    // Always deferred here: a commit waits for PostgreSQL's WAL flush, dear enough to share. (Told to
    // the chain all the same, which keeps its statements awaiting a result to the recent ones.)
    this.#chain.resultSubmitted(id, DEFAULT_MAX_DEFER_MS);
    const { op, options } = resultWrite(id, result, this.#chain.sessionOfStatement(id));
    return this.#queue.submit(op, options);
  }

  commitDeferred(): void {
    this.#queue.commitDeferred();
  }

  /** Appends an event to the session's hash chain; resolves once committed. */
  appendEvent(sessionId: string, event: SessionEvent): Promise<void> {
    return this.#queue.submit({ kind: 'append-event', sessionId, event });
  }

  // --- the event record (docs/recording.md) ---

  /** Benchmarks only: stop writing events, to measure what the record costs. Never used by the gateway. */
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

  getEvents(sessionId: string, afterSeq = 0, limit?: number): Promise<StoredEvent[]> {
    return eventQueries.getEvents(this.#kysely, sessionId, afterSeq, limit);
  }

  getSeals(sessionId: string): Promise<StoredSeal[]> {
    return eventQueries.getSeals(this.#kysely, sessionId);
  }

  /**
   * Deletes up to `limit` (default 500) sessions the retention rule lets go at cutoff `before`
   * (event-queries.ts: ended before it, or never ended, not live in this process and last active
   * before it), in one transaction; returns their ids (the caller deletes their blobs).
   */
  async purgeSessions(before: Date, limit?: number): Promise<string[]> {
    const ids = await eventQueries.purgeSessions(this.#kysely, before, this.#chain.liveSessions, limit);
    this.#chain.forgetSessions(ids);
    return ids;
  }

  saveContext(principal: string, context: PromptContext): Promise<void> {
    return eventQueries.saveContext(this.#kysely, 'postgres', principal, context);
  }

  loadContexts(since: Date): Promise<{ principal: string; context: PromptContext }[]> {
    return eventQueries.loadContexts(this.#kysely, since);
  }

  listSessions(filter: SessionFilter): Promise<SessionRecord[]> {
    return sessions.listSessions(this.#kysely, 'postgres', filter);
  }

  getSession(id: string): Promise<{ session: SessionRecord; statements: StoredStatement[] } | undefined> {
    return sessions.getSession(this.#kysely, id);
  }

  countStatements(sessionId: string): Promise<StatementCounts> {
    return sessions.countStatements(this.#kysely, sessionId, 'postgres');
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

  /** The query builder over this store's pool, for modules that add tables through a migration. */
  getKysely(): Kysely<StoreTables> {
    return this.#kysely;
  }

  /** The underlying pool (tests end it to break the store on purpose). */
  getPool(): pg.Pool {
    return this.#pool;
  }

  stats(): GroupCommitStats {
    return this.#queue.stats();
  }

  /** Waits for queued writes to settle, then closes the pool. Later writes reject. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#queue.close();
    await this.#kysely.destroy().catch(() => undefined);
  }
}
