// Runs one SQL statement for a tool through the gateway's own listener and turns what came back
// (rows, a refusal, a database error) into a tool result. It decides nothing: the gate does, and
// the policy decision passed in is only used to explain (masking note, what to do instead).

import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { type SqlAction, sqlAction } from '../core/action.js';
import type { Decision } from '../core/decision.js';
import type { SqlStatement } from '../core/sql-statement.js';
import { mostSevere } from '../policy/policy-messages.js';
import { MAX_RESULT_CHARS, pgErrorFields, type CappedResult, type PgErrorFields } from './capped-query.js';
import { LoopbackUnavailableError, type LoopbackNotice } from './loopback-sessions.js';
import type { Caller, McpToolDeps } from './tool-deps.js';
import {
  databaseErrorResult,
  gatehouseRule,
  refusalResult,
  sessionRefusalResult,
  textResult,
  textTable,
  toolError,
} from './tool-text.js';

/** The policy decision for a statement, as the gate will take it; a failure is treated as unknown. */
export function foresee(
  deps: McpToolDeps,
  caller: Caller,
  connection: string,
  statement: SqlStatement,
): Decision | undefined {
  const action: SqlAction = sqlAction({ connection, via: 'parse', statement });
  try {
    return deps.policy().decide(caller.identity, action);
  } catch {
    return undefined;
  }
}

/** SQLSTATEs of a refused session start (token, connection access, unknown connection). */
const SESSION_REFUSALS = new Set(['28000', '28P01', '3D000']);

export interface RunStatement {
  readonly caller: Caller;
  readonly connection: string;
  /** Exactly the text to send (with its sqlcommenter comment). */
  readonly text: string;
  readonly statement: SqlStatement;
  readonly params?: readonly (string | null)[];
  /** The policy's decision as the tool foresaw it; only used to explain the result. */
  readonly decision?: Decision;
  readonly maxRows: number;
  readonly signal?: AbortSignal;
  /** A line put before the result (e.g. who approved it). */
  readonly preface?: string;
  /** Run on a session of its own (a statement the gate may hold for a person's decision). */
  readonly dedicated?: boolean;
  /** Told of every notice the session receives while the statement runs (hints only). */
  readonly onNotice?: (notice: LoopbackNotice) => void;
}

/** Outcome of one run, before it is turned into a tool result. */
export type RunOutcome =
  | { readonly kind: 'rows'; readonly result: CappedResult }
  | { readonly kind: 'refused'; readonly error: PgErrorFields }
  | { readonly kind: 'session-refused'; readonly error: PgErrorFields }
  | { readonly kind: 'db-error'; readonly error: PgErrorFields }
  | { readonly kind: 'unavailable'; readonly message: string };

export async function runStatement(deps: McpToolDeps, run: RunStatement): Promise<RunOutcome> {
  // A session is reused only after a plain read: a read may still leave state behind (DECLARE …
  // WITH HOLD outlives its transaction; set_config and PREPARE are reads too), and the next call must
  // start clean.
  const st = run.statement;
  const reusable =
    st.categories.length > 0 &&
    st.categories.every((c) => c === 'read') &&
    (st.sessionObjects?.length ?? 0) === 0 &&
    (st.settings?.length ?? 0) === 0;
  try {
    const req = {
      token: run.caller.token,
      ...(run.caller.identity.expiresAt ? { expiresAt: run.caller.identity.expiresAt } : {}),
      connection: run.connection,
      sql: run.text,
      ...(run.params ? { params: run.params } : {}),
      maxRows: run.maxRows,
      reusable,
      ...(run.signal ? { signal: run.signal } : {}),
      ...(run.onNotice ? { onNotice: run.onNotice } : {}),
    };
    const result = run.dedicated ? await deps.loopback.runDedicated(req) : await deps.loopback.run(req);
    return { kind: 'rows', result };
  } catch (e) {
    if (e instanceof LoopbackUnavailableError) return { kind: 'unavailable', message: e.message };
    const fields = pgErrorFields(e);
    if (fields.code === undefined) {
      deps.logger.warn({ err: fields.message, connection: run.connection }, 'mcp loopback session failed');
      return {
        kind: 'unavailable',
        message: 'the gateway could not run the statement (its PostgreSQL listener did not answer)',
      };
    }
    if (gatehouseRule(fields) !== undefined) return { kind: 'refused', error: fields };
    if (SESSION_REFUSALS.has(fields.code)) return { kind: 'session-refused', error: fields };
    return { kind: 'db-error', error: fields };
  }
}

/** Cells that show a redaction marker (the `redact` style); other styles are not countable from text. */
function countRedacted(rows: readonly (readonly (string | null)[])[]): number {
  let n = 0;
  for (const row of rows) for (const cell of row) if (cell !== null && cell.includes('[REDACTED')) n += 1;
  return n;
}

/** Masking applies to this result when the decision carries a mask obligation. */
function maskObligation(decision: Decision | undefined): boolean {
  return decision !== undefined && decision.effect !== 'deny' && Boolean(decision.obligations.mask);
}

export function outcomeResult(deps: McpToolDeps, run: RunStatement, outcome: RunOutcome): CallToolResult {
  switch (outcome.kind) {
    case 'unavailable':
      return toolError(`Gatehouse could not run the statement: ${outcome.message}.`, {
        status: 'unavailable',
      });
    case 'session-refused':
      return sessionRefusalResult(outcome.error, run.connection);
    case 'db-error':
      return databaseErrorResult(outcome.error);
    case 'refused': {
      const category = mostSevere(run.statement.categories);
      return refusalResult(outcome.error, {
        statementKind: run.statement.kind,
        ...(category ? { category } : {}),
        approvals: deps.approvals?.() !== undefined,
      });
    }
    case 'rows':
      return rowsResult(run, outcome.result);
  }
}

function rowsResult(run: RunStatement, r: CappedResult): CallToolResult {
  const lines: string[] = [];
  if (run.preface) lines.push(run.preface);
  const hasTable = r.columns.length > 0;
  if (hasTable) lines.push(textTable(r.columns, r.rows));
  const count = r.sizeCapped
    ? `more rows than one result holds (${MAX_RESULT_CHARS} characters); showing the first ${r.rows.length} (rows capped). Narrow the query (WHERE, LIMIT, fewer or shorter columns) to see the rest.`
    : r.capped
      ? `more than ${r.rows.length} rows; showing the first ${r.rows.length} (rows capped). Narrow the query (WHERE, LIMIT, fewer columns) to see the rest.`
      : hasTable
        ? `${r.rows.length} row${r.rows.length === 1 ? '' : 's'}`
        : (r.command ?? 'done');
  lines.push(`(${count})`);
  if (r.cutCells > 0)
    lines.push(
      `Note: ${r.cutCells} value${r.cutCells === 1 ? ' was' : 's were'} longer than one result shows and ${r.cutCells === 1 ? 'is' : 'are'} cut ("… (cut: N characters)"); select a substring to see another part.`,
    );
  if (hasTable && r.command && !/^SELECT\b/.test(r.command)) lines.push(`Command: ${r.command}`);
  const masked = maskObligation(run.decision);
  const redacted = masked ? countRedacted(r.rows) : 0;
  if (masked) {
    lines.push(
      `Note: masking policy applied to this result (rule ${run.decision?.ruleId}): sensitive values are replaced` +
        (redacted > 0 ? ` (${redacted} value${redacted === 1 ? '' : 's'} shown as [REDACTED:…])` : '') +
        '. The masked values are not available through Gatehouse; do not try to recover them.',
    );
  }
  return textResult(lines.join('\n'), {
    status: 'ok',
    columns: r.columns,
    rows: r.rows,
    rowCount: r.rows.length,
    capped: r.capped,
    ...(r.cutCells > 0 ? { cutValues: r.cutCells } : {}),
    ...(r.command !== undefined ? { command: r.command } : {}),
    masked,
    ...(masked ? { redactedValues: redacted } : {}),
  });
}
