// The approvals the MCP tools need, as one narrow port: find the request the gate opened for a
// statement, read a request, wait for its decision, ask for a time-bound access grant. main.ts
// adapts the approvals service to it; without approvals the tools say so instead. Nothing here
// approves: approvals come from people, through the approvals API, pages, CLI or Slack.

import { isRequesterOf } from '../approvals/approval-rules.js';
import type { ApprovalRequest } from '../approvals/approval-types.js';
import type { Identity } from '../core/identity.js';

export interface AccessRequestInput {
  readonly connection: string;
  /** Name of a configured access grant (`approvals.grants`); the first that covers the connection when absent. */
  readonly grant?: string;
  readonly reason: string;
  readonly durationMs: number;
}

export interface GrantInfo {
  readonly name: string;
  readonly description?: string;
  readonly maxDurationMs: number;
}

export interface ApprovalDesk {
  /**
   * The pending request (hold or defer) the gate opened for this exact statement hash, if any, of a
   * requester that is an agent or not as the caller (`agent`: docs/security.md, class 258).
   */
  findPending(statementHash: string, agent: boolean): Promise<ApprovalRequest | undefined>;
  get(id: string): Promise<ApprovalRequest | undefined>;
  /** Resolves with the request once it is no longer pending, or as it is when time runs out or the signal aborts. */
  waitForDecision(id: string, timeoutMs: number, signal: AbortSignal): Promise<ApprovalRequest | undefined>;
  requestAccess(
    identity: Identity,
    input: AccessRequestInput,
  ): Promise<{ ok: true; request: ApprovalRequest } | { ok: false; message: string }>;
  /** The page where an approver decides. */
  approvalUrl(id: string): string;
  /** The access grants that cover a connection. */
  grantsFor(connection: string): readonly GrantInfo[];
}

/**
 * True when the identity asked for this request: nobody else may read or wait on it through MCP. An
 * MCP client's token names the person who signed in for it, but it is an agent's: the person's own
 * requests are not its (docs/security.md, class 258).
 */
export function isRequester(request: ApprovalRequest, identity: Identity): boolean {
  return isRequesterOf(request, identity);
}
