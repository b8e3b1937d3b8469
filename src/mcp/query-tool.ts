// The `query` tool: one SQL statement on a connection, with the agent's reason recorded alongside.
// Every statement goes through the gateway's own listener and gate; this file never forwards SQL
// anywhere else and never softens a decision.
//
// A statement the policy sends to review does not hang the tool call: with approvals configured the
// gate opens the request and the tool returns it as a pending result (review-flow.ts);
// `wait_for_approval` collects the outcome. With `wait_seconds`, the tool itself waits that long
// first, sending progress notifications.

import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { SqlStatement } from '../core/sql-statement.js';
import type { ProgressSink } from './approval-wait.js';
import { normaliseReason, withPromptComment } from './prompt-comment.js';
import { reviewFlow, runFollowingHolds } from './review-flow.js';
import { foresee, outcomeResult, runStatement } from './statement-runner.js';
import type { Caller, McpToolDeps } from './tool-deps.js';
import { toolError } from './tool-text.js';
import { principalKey } from '../core/identity.js';

/** sqlcommenter keys the MCP server puts on its statements (docs/mcp.md, docs/recording.md). */
export const COMMENT_KEYS = { tool: 'gatehouse_tool', reason: 'reason' } as const;

export const queryInputShape = {
  connection: z.string().min(1).max(200).describe('connection name, from list_connections'),
  sql: z.string().min(1).max(1_000_000).describe('exactly one SQL statement'),
  reason: z
    .string()
    .min(3)
    .max(2000)
    .describe('why you run this statement, in a sentence: recorded with it and shown to approvers'),
  max_rows: z.number().int().min(1).max(10_000).optional().describe('show at most this many rows'),
  wait_seconds: z
    .number()
    .int()
    .min(0)
    .max(60)
    .optional()
    .describe(
      'if the statement needs a human approval, wait up to this long for it before returning a pending request (default 0)',
    ),
};

export interface QueryArgs {
  readonly connection: string;
  readonly sql: string;
  readonly reason: string;
  readonly max_rows?: number | undefined;
  readonly wait_seconds?: number | undefined;
}

/** Classifies the text and requires exactly one statement; otherwise a tool error for the model. */
async function oneStatement(
  deps: McpToolDeps,
  caller: Caller,
  text: string,
): Promise<{ statement: SqlStatement } | { error: CallToolResult }> {
  // A long text is parsed off the event loop, in turn with other principals' (classifyBounded).
  const c = await deps.classifier.classifyBounded(text, principalKey(caller.identity));
  if (c.statements.length === 0)
    return { error: toolError('The sql argument holds no statement. Send exactly one SQL statement.') };
  if (c.statements.length > 1) {
    return {
      error: toolError(
        `The sql argument holds ${c.statements.length} statements. Send exactly one statement per query call ` +
          '(each call runs on its own, so a transaction cannot span calls).',
      ),
    };
  }
  return { statement: c.statements[0]! };
}

/** query and describe_schema speak SQL: refuse other protocols' connections with a useful message. */
export function notSql(deps: McpToolDeps, connection: string): CallToolResult | undefined {
  const found = deps.connections().find((c) => c.name === connection);
  if (!found || found.protocol === 'postgres') return undefined;
  return toolError(
    `Connection ${connection} is a ${found.protocol} connection; the query and describe_schema tools work on PostgreSQL connections only.`,
  );
}

export async function queryTool(
  deps: McpToolDeps,
  caller: Caller,
  args: QueryArgs,
  progress: ProgressSink,
): Promise<CallToolResult> {
  const reason = normaliseReason(args.reason);
  if (reason.length < 3)
    return toolError('The reason argument is required: say in a sentence why you run this statement.');
  const wrong = notSql(deps, args.connection);
  if (wrong) return wrong;
  const first = await oneStatement(deps, caller, args.sql);
  if ('error' in first) return first.error;
  // The text sent is the statement as the classifier sliced it, plus the comment carrying the reason.
  // A statement that did not parse is sent as it is: the gate refuses and records it.
  const unparsed = first.statement.parseError !== undefined;
  const text = unparsed
    ? args.sql
    : withPromptComment(first.statement.text, {
        [COMMENT_KEYS.tool]: 'query',
        [COMMENT_KEYS.reason]: reason,
      });
  const again = unparsed ? first : await oneStatement(deps, caller, text);
  if ('error' in again) return again.error;
  const sent = again.statement;
  const decision = foresee(deps, caller, args.connection, sent);
  const maxRows = Math.min(args.max_rows ?? deps.maxRows(), deps.maxRows());
  const desk = deps.approvals?.();

  const run = {
    caller,
    connection: args.connection,
    text,
    statement: sent,
    ...(decision ? { decision } : {}),
    maxRows,
    signal: progress.signal,
  };
  // Review: the gate opens the request; the tool returns it as pending instead of blocking on it.
  if (decision?.effect === 'review' && desk)
    return reviewFlow(deps, desk, run, (args.wait_seconds ?? 0) * 1000, progress);
  // The gate may still hold it (it decides with more than the policy): follow what it does.
  if (desk) return runFollowingHolds(deps, desk, run, (args.wait_seconds ?? 0) * 1000, progress);
  return outcomeResult(deps, run, await runStatement(deps, run));
}
