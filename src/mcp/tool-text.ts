// What the MCP tools say back, written for a model: compact result tables, and refusals that name
// what was refused, the rule, why, and what to do instead, so an agent does not retry blindly.
// Formatting only: no decisions are taken here.

import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { SqlCategory } from '../core/sql-statement.js';
import type { PgErrorFields } from './capped-query.js';

/** Longest cell shown in a text table; the structured result keeps the full (already bounded) value. */
const MAX_CELL_CHARS = 200;

function cellText(v: string | null): string {
  if (v === null) return 'NULL';
  const flat = v
    .replace(/\r?\n/g, '\\n')
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is replaced
    .replace(/[\u0000-\u001f\u007f]/g, ' ')
    .replace(/\|/g, '\\|');
  return flat.length <= MAX_CELL_CHARS ? flat : `${flat.slice(0, MAX_CELL_CHARS - 1)}…`;
}

/** A pipe-separated table: header, rows. Compact on purpose (tokens cost the agent). */
export function textTable(columns: readonly string[], rows: readonly (readonly (string | null)[])[]): string {
  const lines = [columns.map((c) => cellText(c)).join(' | ')];
  for (const row of rows) lines.push(row.map(cellText).join(' | '));
  return lines.join('\n');
}

export function textResult(text: string, structured?: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text }], ...(structured ? { structuredContent: structured } : {}) };
}

export function toolError(text: string, structured?: Record<string, unknown>): CallToolResult {
  return {
    content: [{ type: 'text', text }],
    isError: true,
    ...(structured ? { structuredContent: structured } : {}),
  };
}

/** The rule id in a gateway refusal (its ErrorResponse DETAIL is `Gatehouse rule: <id>`). */
export function gatehouseRule(e: PgErrorFields): string | undefined {
  const m = /^Gatehouse rule: (\S+)/.exec(e.detail ?? '');
  return m?.[1];
}

/** What an agent may do instead, by the category that caused the refusal. */
function alternatives(category: SqlCategory | undefined, approvals: boolean): string[] {
  const ask = approvals
    ? 'If the change is really needed, call request_access with the connection and your reason to ask a human for a time-bound grant, or ask the user to run it.'
    : 'If the change is really needed, ask the user (a human) to run it or to change the policy.';
  switch (category) {
    case 'write-unbounded':
      return [
        'Narrow the statement: add a WHERE clause that names exactly the rows you mean.',
        'Use a SELECT with the same WHERE first to check which rows it would touch.',
      ];
    case 'read':
      return ['Call list_connections and describe_schema to see what you may read.', ask];
    case 'unknown':
      return [
        'Rewrite it as plain SELECT, INSERT, UPDATE or DELETE statements, one per call.',
        'Use a read (SELECT) to get what you need if you can.',
      ];
    case 'session':
    case 'transaction':
      return [
        'Each query call runs on its own: schema-qualify names instead of changing settings, and send one statement per call.',
      ];
    case 'write':
    case 'ddl-create':
    case 'ddl-alter':
    case 'procedural':
    case 'lock':
      return [ask, 'Use a read (SELECT) to inspect the data instead, or propose the change to the user.'];
    default:
      return [
        'Do not look for another way to do the same thing.',
        ask,
        'Use a read (SELECT) to inspect the data instead.',
      ];
  }
}

export interface RefusalContext {
  readonly statementKind?: string;
  /** The most severe category of the refused statement, when known from the classification. */
  readonly category?: SqlCategory;
  readonly approvals: boolean;
}

/** A gateway refusal (policy deny, approval refused or unavailable) as a tool error for a model. */
export function refusalResult(e: PgErrorFields, ctx: RefusalContext): CallToolResult {
  const rule = gatehouseRule(e) ?? 'unknown';
  const what = ctx.statementKind ? ctx.statementKind.toUpperCase() : 'the statement';
  const instead = alternatives(ctx.category, ctx.approvals);
  const text = [
    `Refused by Gatehouse: ${what} was not run.`,
    `Rule: ${rule}`,
    `Why: ${e.message}`,
    `What you can do instead:`,
    ...instead.map((s) => `- ${s}`),
    'Sending the same statement again will be refused again.',
  ].join('\n');
  return toolError(text, {
    status: 'refused',
    rule,
    message: e.message,
    ...(ctx.statementKind ? { kind: ctx.statementKind } : {}),
    instead,
  });
}

/** A refusal when opening the loopback session (token, connection access, unknown connection). */
export function sessionRefusalResult(e: PgErrorFields, connection: string): CallToolResult {
  const message = e.message.replace(/^Gatehouse: /, '');
  const text =
    e.code === '3D000'
      ? `Connection "${connection}" is not configured on this gateway. Call list_connections to see the connections you may use.`
      : `Gatehouse refused a session on connection "${connection}": ${message}\nCall list_connections to see the connections you may use; ask an administrator for access to others.`;
  return toolError(text, { status: 'refused', connection, message });
}

/** An error the upstream database returned (syntax, constraint, missing table): the statement ran and failed. */
export function databaseErrorResult(e: PgErrorFields): CallToolResult {
  const lines = [`PostgreSQL error${e.code ? ` ${e.code}` : ''}: ${e.message}`];
  if (e.detail) lines.push(`Detail: ${e.detail}`);
  if (e.hint) lines.push(`Hint: ${e.hint}`);
  return toolError(lines.join('\n'), { status: 'error', ...e });
}
