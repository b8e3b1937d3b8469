// Reads of the hash-chained event record, retention purge and prompt contexts, shared by the SQLite
// and PostgreSQL stores (kysely). Event writes go through the group commit (event-chain.ts), never here.

import { CompiledQuery, type Kysely } from 'kysely';
import { GENESIS_PREV } from '../recording/record-format.js';
import type { PromptContext } from '../core/records.js';
import type { CommittedEvent, LoadedTail } from './event-chain.js';
import type { StoreDialect } from './migrations/migration.js';
import type { PromptContextsTable, SessionEventsTable, StoreTables } from './tables.js';

/** An event as stored: the chained event with its hash (docs/recording.md §Events). */
export type StoredEvent = CommittedEvent;

export interface StoredSeal {
  readonly session: string;
  readonly seq: number;
  readonly hash: string;
  readonly signature: string;
  readonly keyId: string;
  readonly at: Date;
}

export type { CommittedEventListener } from './event-chain.js';

/** Reading the event record: what replay, export and verify need from a store. */
export interface EventReader {
  /** Events after `afterSeq` (default 0) in chain order, at most `limit` of them. */
  getEvents(sessionId: string, afterSeq?: number, limit?: number): Promise<StoredEvent[]>;
  getSeals(sessionId: string): Promise<StoredSeal[]>;
}

export interface TailRow {
  id: string;
  ended_at: number | string | null;
  seq: number | string | null;
  hash: string | null;
  /** The session's last seal (the one with the highest seq), if any. */
  seal_seq?: number | string | null;
  seal_hash?: string | null;
  seal_signature?: string | null;
  seal_key?: string | null;
  seal_at?: number | string | null;
}

/** A session recorded before schema version 2 (or with no event yet) starts its chain at genesis. */
export function tailFromRow(row: TailRow | undefined): LoadedTail {
  if (!row) return 'no-session';
  const ended = row.ended_at !== null;
  const seal =
    row.seal_seq !== null &&
    row.seal_seq !== undefined &&
    typeof row.seal_hash === 'string' &&
    typeof row.seal_signature === 'string' &&
    typeof row.seal_key === 'string' &&
    row.seal_at !== null &&
    row.seal_at !== undefined
      ? {
          seq: Number(row.seal_seq),
          hash: row.seal_hash,
          signature: row.seal_signature,
          keyId: row.seal_key,
          at: new Date(Number(row.seal_at)).toISOString(),
        }
      : undefined;
  return row.seq === null || row.hash === null
    ? { seq: 0, hash: GENESIS_PREV, ended, ...(seal ? { seal } : {}) }
    : { seq: Number(row.seq), hash: row.hash, ended, ...(seal ? { seal } : {}) };
}

/** Per-op outcome: the row outcome, else the event outcome. */
export function mergeOutcomes(
  rows: readonly (Error | undefined)[],
  events: readonly (Error | undefined)[],
): (Error | undefined)[] {
  return rows.map((r, i) => r ?? events[i]);
}

export function rowToEvent(row: SessionEventsTable): StoredEvent {
  return {
    session: row.session_id,
    seq: Number(row.seq),
    type: row.type,
    at: new Date(Number(row.at)),
    ...(row.statement_id !== null ? { statement: row.statement_id } : {}),
    data: JSON.parse(row.data) as Record<string, unknown>,
    prev: row.prev_hash,
    hash: row.hash,
  };
}

export async function getEvents(
  db: Kysely<StoreTables>,
  sessionId: string,
  afterSeq = 0,
  limit?: number,
): Promise<StoredEvent[]> {
  let q = db
    .selectFrom('session_events')
    .selectAll()
    .where('session_id', '=', sessionId)
    .where('seq', '>', afterSeq)
    .orderBy('seq', 'asc');
  if (limit !== undefined) q = q.limit(limit);
  const rows = await q.execute();
  return rows.map(rowToEvent);
}

export async function getSeals(db: Kysely<StoreTables>, sessionId: string): Promise<StoredSeal[]> {
  const rows = await db
    .selectFrom('session_seals')
    .selectAll()
    .where('session_id', '=', sessionId)
    .orderBy('seq', 'asc')
    .execute();
  return rows.map((r) => ({
    session: r.session_id,
    seq: Number(r.seq),
    hash: r.hash,
    signature: r.signature,
    keyId: r.key_id,
    at: new Date(Number(r.at)),
  }));
}

/**
 * The retention rule (docs/recording.md, "Retention"): which sessions a purge with cutoff `before` may
 * delete. A session that ended is purged once its end is before the cutoff (its start does not
 * matter). A session with no end is purged only when it is not live in the purging process (`live`,
 * which the caller leaves out) and its last activity is before the cutoff: it is taken as ended at
 * its last event (the one of the highest seq), or its last `statements` row (recorded before events
 * existed), or its start when it has neither. That is what a gateway that crashed leaves behind.
 *
 * `unended: false` leaves every session with no end alone (the SQLite store, while another process
 * writes to it: a session open there is not live here, and could be idle yet in use).
 *
 * The SQL takes four parameters, all the cutoff (epoch ms), then the row limit; `param(i)` writes the
 * i-th (1-based) placeholder of the dialect.
 */
export function purgeCandidatesSql(param: (i: number) => string, unended = true): string {
  return `select s.id as id from sessions s
  where (s.ended_at is not null and s.ended_at < ${param(1)})
     or (${unended ? 'true' : 'false'} and s.ended_at is null and s.started_at < ${param(2)}
       and coalesce((select e.at from session_events e where e.session_id = s.id
                     order by e.seq desc limit 1), s.started_at) < ${param(3)}
       and coalesce((select t.at from statements t where t.session_id = s.id
                     order by t.seq desc limit 1), s.started_at) < ${param(4)})
  order by coalesce(s.ended_at, s.started_at), s.id
  limit ${param(5)}`;
}

/**
 * The rows of purgeCandidatesSql to fetch for `limit` sessions when `live` ones are left out: at most
 * `live.size` of them can be among the candidates, so a page still holds `limit` others when there are.
 */
export function purgeFetchLimit(limit: number, live: ReadonlySet<string>): number {
  return limit + live.size;
}

/** The candidates a purge deletes: those not live in this process, at most `limit`. */
export function purgeChoice(
  candidates: readonly string[],
  live: ReadonlySet<string>,
  limit: number,
): string[] {
  return candidates.filter((id) => !live.has(id)).slice(0, limit);
}

/**
 * PostgreSQL: deletes up to `limit` sessions the retention rule lets go (purgeCandidatesSql; never one
 * in `live`), with their statements, events and seals, in one transaction; returns their ids (the
 * caller deletes their blobs). A whole session goes, or nothing of it: every session left keeps its
 * whole chain, from its first event, so `recordings verify` checks it as before.
 */
export async function purgeSessions(
  db: Kysely<StoreTables>,
  before: Date,
  live: ReadonlySet<string>,
  limit = 500,
): Promise<string[]> {
  const cutoff = before.getTime();
  if (!Number.isFinite(cutoff)) throw new TypeError('purge cutoff must be a valid date');
  return db.transaction().execute(async (tx) => {
    const params = [cutoff, cutoff, cutoff, cutoff, purgeFetchLimit(limit, live)];
    const found = await tx.executeQuery<{ id: string }>(
      CompiledQuery.raw(
        purgeCandidatesSql((i) => `$${i}`),
        params,
      ),
    );
    const ids = purgeChoice(
      found.rows.map((r) => r.id),
      live,
      limit,
    );
    if (ids.length === 0) return [];
    await tx.deleteFrom('session_events').where('session_id', 'in', ids).execute();
    await tx.deleteFrom('session_seals').where('session_id', 'in', ids).execute();
    await tx.deleteFrom('statements').where('session_id', 'in', ids).execute();
    await tx.deleteFrom('sessions').where('id', 'in', ids).execute();
    return ids;
  });
}

function contextRow(principal: string, c: PromptContext): PromptContextsTable {
  return {
    principal,
    prompt_id: c.promptId,
    prompt: c.prompt ?? null,
    tool_use_id: c.toolUseId ?? null,
    tool: c.tool ?? null,
    agent_session_id: c.agentSessionId ?? null,
    at: c.at.getTime(),
  };
}

export async function saveContext(
  db: Kysely<StoreTables>,
  _dialect: StoreDialect,
  principal: string,
  context: PromptContext,
): Promise<void> {
  const row = contextRow(principal, context);
  const { principal: _p, ...update } = row;
  await db
    .insertInto('prompt_contexts')
    .values(row)
    .onConflict((oc) => oc.column('principal').doUpdateSet(update))
    .execute();
}

export async function loadContexts(
  db: Kysely<StoreTables>,
  since: Date,
): Promise<{ principal: string; context: PromptContext }[]> {
  const rows = await db
    .selectFrom('prompt_contexts')
    .selectAll()
    .where('at', '>=', since.getTime())
    .execute();
  return rows.map((r) => ({
    principal: r.principal,
    context: {
      promptId: r.prompt_id,
      ...(r.prompt !== null ? { prompt: r.prompt } : {}),
      ...(r.tool_use_id !== null ? { toolUseId: r.tool_use_id } : {}),
      ...(r.tool !== null ? { tool: r.tool } : {}),
      ...(r.agent_session_id !== null ? { agentSessionId: r.agent_session_id } : {}),
      at: new Date(Number(r.at)),
    },
  }));
}
