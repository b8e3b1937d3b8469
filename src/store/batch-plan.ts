// Turns a group-commit batch of write operations into the rows one transaction applies.
// Pure. It must keep causality: a statement's completion is never applied before its insert.

import { ERROR_CODES, GatewayError } from '../core/errors.js';
import type { SessionEvent, SessionRecord, StatementRecord, StatementResult } from '../core/records.js';
import {
  ms,
  resultToColumns,
  sessionToRow,
  statementToRow,
  type StatementResultColumns,
} from './row-mapping.js';
import type { SessionsTable, StatementsTable } from './tables.js';

/** One write on the hot path, queued for the next group commit. */
export type WriteOp =
  | { readonly kind: 'start-session'; readonly record: SessionRecord }
  | { readonly kind: 'end-session'; readonly id: string; readonly endedAt: Date; readonly reason: string }
  | { readonly kind: 'record-statement'; readonly record: StatementRecord }
  | {
      readonly kind: 'complete-statement';
      readonly id: string;
      readonly result: StatementResult;
      /** When the result was recorded (the `at` of its `result` event). */
      readonly at?: Date;
      /** The statement's session, when the store knows it (its `result` event joins that chain). */
      readonly sessionId?: string;
    }
  | { readonly kind: 'append-event'; readonly sessionId: string; readonly event: SessionEvent };

/**
 * A statement's result, as both stores submit it. Deferrable by default (group-commit.ts): nothing
 * waits for it, so it joins the next commit instead of starting its own; a session's end commits it
 * at once (`commitDeferred`, called by the recorder before it waits for the session's last results).
 * The SQLite store defers it only while other statements await their results (sqlite-store.ts).
 */
export function resultWrite(
  id: string,
  result: StatementResult,
  sessionId: string | undefined,
  deferrable = true,
): { op: WriteOp; options: { deferrable: boolean } } {
  return {
    op: {
      kind: 'complete-statement',
      id,
      result,
      at: new Date(),
      ...(sessionId !== undefined ? { sessionId } : {}),
    },
    options: { deferrable },
  };
}

/**
 * Ordering keys for group commit with several transactions in flight: an update waits for the
 * transaction that inserts (or last updated) its row.
 */
export function writeOpKeys(op: WriteOp): { provides: string; dependsOn?: string } {
  // Every op of a session adds an event to its hash chain, so ops of one session never commit
  // concurrently: each depends on whatever of its session is in flight (event-chain.ts).
  const session = opSessionId(op);
  if (session !== undefined) return { provides: `session:${session}`, dependsOn: `session:${session}` };
  switch (op.kind) {
    case 'start-session':
      return { provides: `session:${op.record.id}` };
    case 'end-session':
      return { provides: `session:${op.id}`, dependsOn: `session:${op.id}` };
    case 'record-statement':
      return { provides: `statement:${op.record.id}` };
    case 'complete-statement':
      return { provides: `statement:${op.id}`, dependsOn: `statement:${op.id}` };
    case 'append-event':
      return { provides: `session:${op.sessionId}`, dependsOn: `session:${op.sessionId}` };
  }
}

/** The session an op belongs to; undefined for a completion whose session the store does not know. */
export function opSessionId(op: WriteOp): string | undefined {
  switch (op.kind) {
    case 'start-session':
      return op.record.id;
    case 'end-session':
      return op.id;
    case 'record-statement':
      return op.record.sessionId;
    case 'complete-statement':
      return op.sessionId;
    case 'append-event':
      return op.sessionId;
  }
}

export interface SessionEndRow {
  readonly id: string;
  readonly ended_at: number;
  readonly end_reason: string;
}

export type StatementCompleteRow = { readonly id: string } & StatementResultColumns;

/** What a statement's keys are: its id, and its place in its session. */
export type StatementKey = Pick<StatementsTable, 'id' | 'session_id' | 'seq'>;

export interface PlanOptions {
  /**
   * Build each recorded statement's `statements` row (`statementInserts`; default true). A store that
   * records statements as their events only (SQLite since schema 8) needs only their keys, which every
   * plan has (`statementKeys`).
   */
  readonly statementRows?: boolean;
  /**
   * Per op: a refusal decided before planning (a session the store does not have, a result whose event
   * could not be written). The op is left out of the plan, its error is its outcome.
   */
  readonly refused?: readonly (Error | undefined)[];
}

/**
 * What one transaction writes. Applying inserts first, then updates, keeps causality because an
 * update whose insert is in the same batch has been folded into that insert (so the updates touch
 * only rows committed by earlier batches; this also lets PostgreSQL apply the batch as a single
 * statement, where an UPDATE cannot see rows inserted by the same statement).
 */
export interface BatchPlan {
  readonly sessionInserts: SessionsTable[];
  /** The statements' rows, when asked for (PlanOptions.statementRows); else empty. */
  readonly statementInserts: StatementsTable[];
  /** Every statement the batch records, in order: its keys. */
  readonly statementKeys: StatementKey[];
  /** One row per session id (the last end in the batch wins). */
  readonly sessionEnds: SessionEndRow[];
  /** One row per statement id (the last completion in the batch wins). */
  readonly statementCompletes: StatementCompleteRow[];
  /** Per op: the row an update must find to succeed (undefined for inserts and folded updates). */
  readonly mustFind: readonly (
    { readonly table: 'sessions' | 'statements'; readonly id: string } | undefined
  )[];
  /** Per op: an error found while building its row (bad Date, non-finite duration); the op is left out. */
  readonly invalid: readonly (Error | undefined)[];
}

export function isEmptyPlan(p: BatchPlan): boolean {
  return (
    p.sessionInserts.length === 0 &&
    p.statementKeys.length === 0 &&
    p.sessionEnds.length === 0 &&
    p.statementCompletes.length === 0
  );
}

function invalidRecord(cause: unknown): GatewayError {
  return new GatewayError(
    ERROR_CODES.RECORD_FAILED,
    'the record could not be written: it holds an invalid value',
    {
      cause,
    },
  );
}

export function planBatch(ops: readonly WriteOp[], options: PlanOptions = {}): BatchPlan {
  const rows = options.statementRows ?? true;
  const sessionInserts: SessionsTable[] = [];
  const statementInserts: StatementsTable[] = [];
  const statementKeys: StatementKey[] = [];
  const sessionById = new Map<string, SessionsTable>();
  // The statements this batch records (their rows, or their keys: a completion of one is folded away).
  const statementById = new Map<string, StatementsTable | StatementKey>();
  const ends = new Map<string, SessionEndRow>();
  const completes = new Map<string, StatementCompleteRow>();
  const mustFind: ({ table: 'sessions' | 'statements'; id: string } | undefined)[] = [];
  const invalid: (Error | undefined)[] = [];

  for (const [i, op] of ops.entries()) {
    let find: { table: 'sessions' | 'statements'; id: string } | undefined;
    const refused = options.refused?.[i];
    if (refused !== undefined) {
      invalid.push(refused);
      mustFind.push(undefined);
      continue;
    }
    try {
      switch (op.kind) {
        case 'start-session': {
          const row = sessionToRow(op.record);
          sessionInserts.push(row);
          sessionById.set(row.id, row);
          break;
        }
        case 'record-statement': {
          const r = op.record;
          if (rows) {
            const row = statementToRow(r);
            statementInserts.push(row);
            statementKeys.push(row);
            statementById.set(row.id, row);
          } else {
            // The same refusal as the row's (its time is the one column checked while building it;
            // what its event holds is checked when the event is built).
            ms(r.at);
            const key: StatementKey = { id: r.id, session_id: r.sessionId, seq: r.seq };
            statementKeys.push(key);
            statementById.set(key.id, key);
          }
          break;
        }
        case 'end-session': {
          const endedAt = op.endedAt.getTime();
          if (!Number.isFinite(endedAt)) throw new TypeError('invalid endedAt');
          const inserted = sessionById.get(op.id);
          if (inserted) {
            inserted.ended_at = endedAt;
            inserted.end_reason = op.reason;
          } else {
            ends.set(op.id, { id: op.id, ended_at: endedAt, end_reason: op.reason });
            find = { table: 'sessions', id: op.id };
          }
          break;
        }
        case 'append-event':
          break; // an event only: event-chain.ts writes it
        case 'complete-statement': {
          const cols = resultToColumns(op.result);
          const inserted = statementById.get(op.id);
          if (inserted) {
            // Into the row it updates (a key alone has no columns for it: its result is its event).
            if (rows) Object.assign(inserted, cols);
          } else {
            completes.set(op.id, { id: op.id, ...cols });
            find = { table: 'statements', id: op.id };
          }
          break;
        }
      }
      invalid.push(undefined);
    } catch (e) {
      invalid.push(invalidRecord(e));
    }
    mustFind.push(find);
  }
  return {
    sessionInserts,
    statementInserts,
    statementKeys,
    sessionEnds: [...ends.values()],
    statementCompletes: [...completes.values()],
    mustFind,
    invalid,
  };
}

/**
 * `invalid` with every result of a statement after the first one in the batch refused (a statement has
 * one result: a second would be chained beside the first, which the record reads as its result);
 * undefined when there is none. The stores refuse a result of a statement that has one already too.
 */
export function repeatedResults(
  ops: readonly WriteOp[],
  invalid: readonly (Error | undefined)[],
): (Error | undefined)[] | undefined {
  let out: (Error | undefined)[] | undefined;
  const seen = new Set<string>();
  for (const [i, op] of ops.entries()) {
    if (op.kind !== 'complete-statement' || invalid[i]) continue;
    if (!seen.has(op.id)) {
      seen.add(op.id);
      continue;
    }
    (out ??= [...invalid])[i] = new GatewayError(
      ERROR_CODES.RECORD_FAILED,
      `the statement ${op.id} already has its result`,
    );
  }
  return out;
}

/** Per-op outcome once the plan's transaction committed, given which update targets were found. */
export function planOutcomes(
  plan: BatchPlan,
  found: { readonly sessions: ReadonlySet<string>; readonly statements: ReadonlySet<string> },
): (Error | undefined)[] {
  return plan.mustFind.map((target, i) => {
    const bad = plan.invalid[i];
    if (bad) return bad;
    if (!target) return undefined;
    const hit = target.table === 'sessions' ? found.sessions.has(target.id) : found.statements.has(target.id);
    if (hit) return undefined;
    const what = target.table === 'sessions' ? 'session' : 'statement';
    return new GatewayError(ERROR_CODES.RECORD_FAILED, `no recorded ${what} with id ${target.id}`);
  });
}
