// Waiting on an approval inside a tool call (long-poll, at most 60 s per call) with MCP progress
// notifications, and the pending/decided results a model reads. It never approves anything itself.
//
// Progress: when the request carries `_meta.progressToken`, the server sends
// `notifications/progress` with that token while it waits (MCP 2025-03-26+ basic/utilities/progress),
// which also keeps clients that reset their timeout on progress from giving up.

import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ApprovalRequest } from '../approvals/approval-types.js';
import type { ApprovalDesk } from './approval-desk.js';
import { textResult, toolError } from './tool-text.js';

/** Longest a single tool call waits for a decision. */
export const MAX_WAIT_MS = 60_000;
/** How often a waiting call reports progress. */
export const PROGRESS_EVERY_MS = 5_000;

export interface ProgressSink {
  /** Aborted when the client cancels the call or goes away. */
  readonly signal: AbortSignal;
  /** Sends one progress notification; a no-op when the client asked for none. */
  progress(progress: number, total: number | undefined, message: string): Promise<void>;
}

/** Waits for the request to leave `pending`, for at most `timeoutMs` (capped at 60 s). */
export async function waitWithProgress(
  desk: ApprovalDesk,
  request: ApprovalRequest,
  timeoutMs: number,
  sink: ProgressSink,
): Promise<ApprovalRequest> {
  const total = Math.min(Math.max(timeoutMs, 0), MAX_WAIT_MS);
  const started = Date.now();
  let current = request;
  while (current.status === 'pending' && !sink.signal.aborted) {
    const elapsed = Date.now() - started;
    if (elapsed >= total) break;
    await sink
      .progress(
        Math.floor(elapsed / 1000),
        Math.ceil(total / 1000),
        `waiting for approval of request ${request.id}`,
      )
      .catch(() => undefined);
    const next = await desk.waitForDecision(
      request.id,
      Math.min(PROGRESS_EVERY_MS, total - elapsed),
      sink.signal,
    );
    if (next) current = next;
  }
  return current;
}

/**
 * The impact preview is for the approvers: it ran with the requester's rights, and its counts and
 * plan would answer the statement's own question before anyone approved it (src/approvals,
 * ApprovalService.mayPreview). The tools only say that there is one.
 */
function previewLines(r: ApprovalRequest): string[] {
  const p = r.preview;
  if (!p || p.kind === 'none') return [];
  return ['Impact preview: taken, and shown to the approvers on the approver page.'];
}

function requestFacts(desk: ApprovalDesk, r: ApprovalRequest): Record<string, unknown> {
  return {
    requestId: r.id,
    kind: r.kind,
    status: r.status,
    connection: r.connection,
    approvalUrl: desk.approvalUrl(r.id),
    expiresAt: r.expiresAt.toISOString(),
    ...(r.policyRuleId ? { rule: r.policyRuleId } : {}),
    ...(r.statement ? { statement: r.statement.text } : {}),
    ...(r.reason ? { reason: r.reason } : {}),
    ...(r.decidedBy ? { decidedBy: r.decidedBy } : {}),
    ...(r.decisionComment ? { comment: r.decisionComment } : {}),
    ...(r.validUntil ? { validUntil: r.validUntil.toISOString() } : {}),
  };
}

/** A request still waiting for a human: what it is, where to approve it, and what to do next. */
export function pendingResult(desk: ApprovalDesk, r: ApprovalRequest): CallToolResult {
  const what = r.kind === 'access' ? `Access to connection ${r.connection}` : 'This statement';
  const lines = [
    `${what} needs a human's approval${r.policyRuleId ? ` (rule ${r.policyRuleId})` : ''}. It has not run.`,
    ...(r.message ? [`Why: ${r.message}`] : []),
    `Request: ${r.id} (pending until ${r.expiresAt.toISOString()})`,
    `Approver page: ${desk.approvalUrl(r.id)}`,
    ...previewLines(r),
    r.kind === 'access'
      ? `Next: call wait_for_approval with request_id "${r.id}"; once approved, your statements on ${r.connection} are allowed under the grant until it ends.`
      : `Next: call wait_for_approval with request_id "${r.id}". It waits up to 60 s per call and runs the statement once it is approved. Do not send the statement again meanwhile.`,
  ];
  return textResult(lines.join('\n'), { ...requestFacts(desk, r), status: 'pending_approval' });
}

/** A request that is no longer pending and has nothing left to run. */
export function decidedResult(desk: ApprovalDesk, r: ApprovalRequest, note?: string): CallToolResult {
  const facts = { ...requestFacts(desk, r) };
  switch (r.status) {
    case 'approved':
      return textResult(
        [
          `Request ${r.id} was approved${r.decidedBy ? ` by ${r.decidedBy}` : ''}${r.validUntil ? `; valid until ${r.validUntil.toISOString()}` : ''}.`,
          ...(note ? [note] : []),
        ].join('\n'),
        facts,
      );
    case 'pending':
      return pendingResult(desk, r);
    case 'denied':
      return toolError(
        [
          `Request ${r.id} was denied${r.decidedBy ? ` by ${r.decidedBy}` : ''}${r.decisionComment ? `: ${r.decisionComment}` : ''}. The statement was not run.`,
          'Do not send it again. Ask the user how to proceed, or use a read (SELECT) to get what you need.',
        ].join('\n'),
        facts,
      );
    case 'expired':
    case 'withdrawn':
      return toolError(
        `Request ${r.id} ${r.status === 'expired' ? 'expired before anyone decided' : 'was withdrawn'}; nothing ran. ` +
          'If it is still needed, send the statement again to open a new request, and tell the user it is waiting.',
        facts,
      );
  }
}
