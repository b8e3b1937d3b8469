// The approval tools: `request_access` (a time-bound grant), `approval_status`, and
// `wait_for_approval` (long-poll up to 60 s; runs an approved statement once). A caller sees only
// its own requests; nothing here can approve, and an approved statement still goes through the gate.

import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { toMs } from '../config/schema.js';
import { isRequester, type ApprovalDesk } from './approval-desk.js';
import {
  decidedResult,
  MAX_WAIT_MS,
  pendingResult,
  waitWithProgress,
  type ProgressSink,
} from './approval-wait.js';
import { normaliseReason } from './prompt-comment.js';
import { collectHeld, runApprovedDefer } from './review-flow.js';
import type { Caller, McpToolDeps } from './tool-deps.js';
import { toolError } from './tool-text.js';

export const requestIdShape = {
  request_id: z.string().min(1).max(200).describe('the request id a pending result gave you'),
};

export const waitInputShape = {
  ...requestIdShape,
  timeout_seconds: z
    .number()
    .int()
    .min(1)
    .max(60)
    .optional()
    .describe('how long to wait for a decision (default and most: 60)'),
  max_rows: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .optional()
    .describe('when the approved statement runs, show at most this many rows'),
};

export const requestAccessShape = {
  connection: z.string().min(1).max(200).describe('connection name, from list_connections'),
  reason: z
    .string()
    .min(3)
    .max(2000)
    .describe('why you need the access, in a sentence: shown to the approvers and recorded'),
  duration: z
    .string()
    .regex(/^\d+(m|h)$/, 'a duration such as 30m or 2h')
    .optional()
    .describe('how long the grant should last, e.g. 30m or 2h (default 1h; the grant may allow less)'),
  grant: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('name of the access grant, when the connection has several'),
};

function noApprovals(): CallToolResult {
  return toolError(
    'Approvals are not configured on this gateway, so nothing can be approved through it. ' +
      'Ask the user (a human) to run what you need, or use statements the policy allows.',
  );
}

async function ownRequest(desk: ApprovalDesk, caller: Caller, id: string) {
  const r = await desk.get(id);
  // Someone else's request is reported exactly like a missing one: ids are not an oracle.
  return r && isRequester(r, caller.identity) ? r : undefined;
}

function notFound(id: string): CallToolResult {
  return toolError(`No approval request "${id}" of yours exists. Use the request_id from a pending result.`);
}

export async function approvalStatusTool(
  deps: McpToolDeps,
  caller: Caller,
  args: { request_id: string },
): Promise<CallToolResult> {
  const desk = deps.approvals?.();
  if (!desk) return noApprovals();
  const r = await ownRequest(desk, caller, args.request_id);
  if (!r) return notFound(args.request_id);
  if (r.status === 'approved' && r.kind === 'statement') {
    const held = deps.held.get(r.id);
    const note =
      r.mode === 'hold'
        ? held && !held.settled()
          ? 'It is running now in the session that held it; call wait_for_approval with this request_id for its result.'
          : held
            ? 'It ran in the session that held it; call wait_for_approval with this request_id for its result.'
            : 'It ran in the session that held it.'
        : r.uses === 0
          ? 'Call wait_for_approval with this request_id to run the statement.'
          : `It has run ${r.uses} time(s).`;
    return decidedResult(desk, r, note);
  }
  return decidedResult(desk, r);
}

export async function waitForApprovalTool(
  deps: McpToolDeps,
  caller: Caller,
  args: { request_id: string; timeout_seconds?: number | undefined; max_rows?: number | undefined },
  sink: ProgressSink,
): Promise<CallToolResult> {
  const desk = deps.approvals?.();
  if (!desk) return noApprovals();
  let r = await ownRequest(desk, caller, args.request_id);
  if (!r) return notFound(args.request_id);
  const waitMs = Math.min((args.timeout_seconds ?? 60) * 1000, MAX_WAIT_MS);
  // Held by the gate on this process's loopback session: its outcome is the answer.
  const held = deps.held.get(r.id);
  if (held)
    return (
      (await collectHeld(deps, desk, held, waitMs, sink)) ?? pendingResult(desk, (await desk.get(r.id)) ?? r)
    );
  if (r.status === 'pending') r = await waitWithProgress(desk, r, waitMs, sink);
  if (r.status === 'pending') return pendingResult(desk, r);
  if (r.status === 'approved' && r.kind === 'statement') {
    // Run an approved deferred statement once: a second wait must not repeat a write.
    if (r.uses > 0) {
      return decidedResult(
        desk,
        r,
        `The statement has already run (${r.uses} time(s)); it is not run again here. Send it with query only if it must run again.`,
      );
    }
    const maxRows = Math.min(args.max_rows ?? deps.maxRows(), deps.maxRows());
    return runApprovedDefer(deps, desk, caller, r, maxRows, sink);
  }
  return decidedResult(desk, r);
}

export async function requestAccessTool(
  deps: McpToolDeps,
  caller: Caller,
  args: { connection: string; reason: string; duration?: string | undefined; grant?: string | undefined },
): Promise<CallToolResult> {
  const desk = deps.approvals?.();
  if (!desk) return noApprovals();
  const grants = desk.grantsFor(args.connection);
  if (grants.length === 0) {
    return toolError(
      `No access grant is configured for connection ${args.connection}, so there is nothing to request. ` +
        'Statements that need review open their own approval request when you run them with query.',
    );
  }
  const grant = args.grant ?? (grants.length === 1 ? grants[0]!.name : undefined);
  if (grant === undefined || !grants.some((g) => g.name === grant)) {
    return toolError(
      `Say which grant you need with the grant argument. Grants for ${args.connection}:\n` +
        grants
          .map(
            (g) =>
              `- ${g.name}${g.description ? `: ${g.description}` : ''} (at most ${Math.round(g.maxDurationMs / 60_000)} min)`,
          )
          .join('\n'),
    );
  }
  const reason = normaliseReason(args.reason);
  if (reason.length < 3)
    return toolError('The reason argument is required: say in a sentence why you need the access.');
  const asked = await desk.requestAccess(caller.identity, {
    connection: args.connection,
    grant,
    reason,
    durationMs: toMs(args.duration ?? '1h'),
  });
  if (!asked.ok) return toolError(`The access request was not accepted: ${asked.message}.`);
  const r = asked.request;
  return r.status === 'pending' ? pendingResult(desk, r) : decidedResult(desk, r);
}
