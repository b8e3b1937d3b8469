// Reads of the hash-chained event record, retention purge and prompt contexts, shared by the SQLite
// and PostgreSQL stores (kysely). Event writes go through the group commit (event-chain.ts), never here.

import type { Kysely } from 'kysely';
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
}

/** A session recorded before schema version 2 (or with no event yet) starts its chain at genesis. */
export function tailFromRow(row: TailRow | undefined): LoadedTail {
  if (!row) return 'no-session';
  const ended = row.ended_at !== null;
  return row.seq === null || row.hash === null
    ? { seq: 0, hash: GENESIS_PREV, ended }
    : { seq: Number(row.seq), hash: row.hash, ended };
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
 * Deletes up to `limit` sessions that started before `startedBefore`, with their statements, events
 * and seals; returns their ids (the caller deletes their blobs). Rows go child-first, so a purge
 * interrupted half-way leaves the session row and a rerun finishes it.
 */
export async function purgeSessions(
  db: Kysely<StoreTables>,
  startedBefore: Date,
  limit = 500,
): Promise<string[]> {
  const ids = (
    await db
      .selectFrom('sessions')
      .select('id')
      .where('started_at', '<', startedBefore.getTime())
      .orderBy('started_at', 'asc')
      .limit(limit)
      .execute()
  ).map((r) => r.id);
  if (ids.length === 0) return [];
  await db.deleteFrom('session_events').where('session_id', 'in', ids).execute();
  await db.deleteFrom('session_seals').where('session_id', 'in', ids).execute();
  await db.deleteFrom('statements').where('session_id', 'in', ids).execute();
  await db.deleteFrom('sessions').where('id', 'in', ids).execute();
  return ids;
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
