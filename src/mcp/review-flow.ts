// A statement the policy sends to review, as an MCP tool sees it. The statement is sent through the
// gateway's listener like any other, so the gate's own approver opens the request (hold or defer, with
// its impact preview and notifications); the tool only declines to block on it. It never approves.
//
//   hold:  the gate holds the statement on a session of its own; the tool returns a pending result
//          once the request exists, and `wait_for_approval` collects the outcome (it runs if approved).
//   defer: the gate refuses it with a request; once approved, `wait_for_approval` sends the same text
//          again and the gate lets exactly that statement through (one use).

import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { statementHash } from '../approvals/statement-hash.js';
import type { ApprovalRequest } from '../approvals/approval-types.js';
import type { ApprovalDesk } from './approval-desk.js';
import {
  decidedResult,
  MAX_WAIT_MS,
  pendingResult,
  PROGRESS_EVERY_MS,
  waitWithProgress,
  type ProgressSink,
} from './approval-wait.js';
import { MAX_HELD_PER_PRINCIPAL, type HeldRun } from './held-statements.js';
import type { LoopbackNotice } from './loopback-sessions.js';
import {
  foresee,
  outcomeResult,
  runStatement,
  type RunOutcome,
  type RunStatement,
} from './statement-runner.js';
import type { Caller, McpToolDeps } from './tool-deps.js';
import { toolError } from './tool-text.js';
import { principalKey } from '../core/identity.js';
import { keptExactly } from '../approvals/statement-hash.js';

/** How long the tool waits for the gate to open the request (the impact preview comes first, ≤ 5 s). */
export const REQUEST_APPEARS_WITHIN_MS = 10_000;
const LOOKUP_EVERY_MS = 100;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref());

function hashOf(run: RunStatement): string {
  return statementHash({
    connection: run.connection,
    subject: run.caller.identity.subject,
    issuer: run.caller.identity.issuer,
    text: run.statement.text,
    ...(run.params ? { params: run.params } : {}),
  });
}

/** Sends a statement the policy will review and returns its result, or a pending request. */
export async function reviewFlow(
  deps: McpToolDeps,
  desk: ApprovalDesk,
  run: RunStatement,
  waitMs: number,
  sink: ProgressSink,
): Promise<CallToolResult> {
  const hash = hashOf(run);
  // The same statement is already waiting for a person: do not send it again (it would open another).
  const existing = await desk.findPending(hash, run.caller.identity.agent);
  if (existing) return afterRequest(deps, desk, run, existing, waitMs, sink);
  // The place is taken before the statement is sent: calls at once cannot all pass the bound.
  const place = deps.held.reserve(run);
  if (typeof place === 'string') {
    return toolError(
      place === 'gateway'
        ? 'Too many statements are waiting for approval on this gateway right now; nothing was sent. Try again later.'
        : `You have ${MAX_HELD_PER_PRINCIPAL} statements held or with results not yet collected; nothing was sent. Collect them with wait_for_approval (or let them expire) and try again.`,
    );
  }

  try {
    const controller = new AbortController();
    const outcome = runStatement(deps, { ...run, signal: controller.signal, dedicated: true });
    let settled: RunOutcome | undefined;
    void outcome.then((o) => (settled = o));
    const deadline = Date.now() + REQUEST_APPEARS_WITHIN_MS;
    let request: ApprovalRequest | undefined;
    while (!settled && Date.now() < deadline) {
      request = await desk.findPending(hash, run.caller.identity.agent);
      if (request || settled) break;
      await Promise.race([outcome, sleep(LOOKUP_EVERY_MS)]);
    }
    if (settled) return settledEarly(deps, desk, run, hash, request, settled, waitMs, sink);
    if (!request) {
      controller.abort();
      return toolError(
        'Gatehouse did not open an approval request for this statement in time, so it was withdrawn; nothing ran. Try again later.',
      );
    }
    if (request.mode === 'defer') {
      // The request is stored just before the gate answers with its refusal: nothing is held.
      await outcome;
      return afterRequest(deps, desk, run, request, waitMs, sink);
    }
    deps.held.add(request.id, run, outcome, controller, place);
    return afterRequest(deps, desk, run, request, waitMs, sink);
  } finally {
    // Every way out but holding it gives the place back (add kept it; releasing again does nothing).
    place.release();
  }
}

/** Lookups one run makes on the gate's notices (an upstream can send notices too; each costs a read). */
const MAX_HOLD_LOOKUPS = 8;

/** The gate's own notice that it holds a statement (client-connection.ts: `request <id>: <url>`). */
function looksHeld(n: LoopbackNotice): boolean {
  return n.message.startsWith('Gatehouse: ') && /^request \S+: /.test(n.detail ?? '');
}

/**
 * Runs a statement the policy alone would not send to review, following what the gate does with it:
 * the gate decides with more than the policy (column lineage sends an agent's predicate on a masked
 * column to review, for one), so a statement the tool foresaw as allowed may still be held. When the
 * gate says it holds the statement, the tool does not block on it: it returns the pending request
 * and the statement stays held, exactly as for a statement the policy sends to review. The notice
 * only prompts the check; what counts is a pending request of this caller for exactly this text.
 */
export async function runFollowingHolds(
  deps: McpToolDeps,
  desk: ApprovalDesk,
  run: RunStatement,
  waitMs: number,
  sink: ProgressSink,
): Promise<CallToolResult> {
  // The run outlives the call once held, so it has a signal of its own; until then the call's
  // cancellation still stops it.
  const controller = new AbortController();
  const follow = () => controller.abort();
  sink.signal.addEventListener('abort', follow, { once: true });
  if (sink.signal.aborted) controller.abort();
  let notices = 0;
  let noticed: (() => void) | undefined;
  const onNotice = (n: LoopbackNotice) => {
    if (!looksHeld(n)) return;
    notices += 1;
    noticed?.();
  };
  const outcome = runStatement(deps, { ...run, signal: controller.signal, onNotice });
  try {
    let checked = 0;
    for (;;) {
      const next = await Promise.race([
        outcome.then((o) => ({ o })),
        new Promise<undefined>((resolve) => {
          noticed = () => resolve(undefined);
          if (notices > checked) resolve(undefined);
        }),
      ]);
      noticed = undefined;
      if (next) return outcomeResult(deps, run, next.o);
      checked = notices;
      if (checked > MAX_HOLD_LOOKUPS) return outcomeResult(deps, run, await outcome);
      const request = await desk.findPending(hashOf(run), run.caller.identity.agent);
      if (!request || request.mode !== 'hold') continue;
      sink.signal.removeEventListener('abort', follow);
      if (deps.held.fullFor(run) !== undefined) {
        controller.abort();
        return toolError(
          `The gate holds this statement for approval, but you have ${MAX_HELD_PER_PRINCIPAL} statements held or with results not yet collected (or the gateway is full), so it was withdrawn; nothing ran. Collect them with wait_for_approval and try again.`,
        );
      }
      deps.held.add(request.id, run, outcome, controller);
      return afterRequest(deps, desk, run, request, waitMs, sink);
    }
  } finally {
    sink.signal.removeEventListener('abort', follow);
  }
}

/**
 * The statement finished before the tool returned: it ran (a grant, or a very quick approval), was
 * refused with a deferred request, or was refused outright (denied, no approval rule…).
 */
async function settledEarly(
  deps: McpToolDeps,
  desk: ApprovalDesk,
  run: RunStatement,
  hash: string,
  seen: ApprovalRequest | undefined,
  outcome: RunOutcome,
  waitMs: number,
  sink: ProgressSink,
): Promise<CallToolResult> {
  if (outcome.kind !== 'refused') return outcomeResult(deps, run, outcome);
  const request = seen
    ? ((await desk.get(seen.id)) ?? seen)
    : await desk.findPending(hash, run.caller.identity.agent);
  if (!request) return outcomeResult(deps, run, outcome);
  if (request.mode === 'defer') return afterRequest(deps, desk, run, request, waitMs, sink);
  // A held statement refused already: its request was decided (or expired, or withdrawn).
  return request.status === 'pending' ? outcomeResult(deps, run, outcome) : decidedResult(desk, request);
}

async function afterRequest(
  deps: McpToolDeps,
  desk: ApprovalDesk,
  run: RunStatement,
  request: ApprovalRequest,
  waitMs: number,
  sink: ProgressSink,
): Promise<CallToolResult> {
  if (waitMs <= 0) return pendingResult(desk, request);
  const held = deps.held.get(request.id);
  if (held)
    return (
      (await collectHeld(deps, desk, held, waitMs, sink)) ??
      pendingResult(desk, (await desk.get(request.id)) ?? request)
    );
  const decided = await waitWithProgress(desk, request, waitMs, sink);
  return decided.status === 'approved'
    ? runApprovedDefer(deps, desk, run.caller, decided, run.maxRows, sink)
    : decidedResult(desk, decided);
}

/**
 * Waits (with progress) for a held statement to finish: it runs once approved, or is refused when
 * denied, expired or withdrawn. Undefined when it is still held when time runs out.
 */
export async function collectHeld(
  deps: McpToolDeps,
  desk: ApprovalDesk,
  held: HeldRun,
  waitMs: number,
  sink: ProgressSink,
): Promise<CallToolResult | undefined> {
  const total = Math.min(waitMs, MAX_WAIT_MS);
  const started = Date.now();
  while (!held.settled() && !sink.signal.aborted) {
    const elapsed = Date.now() - started;
    if (elapsed >= total) break;
    await sink
      .progress(
        Math.floor(elapsed / 1000),
        Math.ceil(total / 1000),
        `waiting for approval of request ${held.requestId}`,
      )
      .catch(() => undefined);
    await Promise.race([held.outcome, sleep(Math.min(PROGRESS_EVERY_MS, total - elapsed))]);
  }
  const outcome = held.settled();
  if (!outcome) return undefined;
  deps.held.delete(held.requestId);
  const request = await desk.get(held.requestId);
  if (
    outcome.kind === 'refused' &&
    request &&
    request.status !== 'approved' &&
    request.status !== 'pending'
  ) {
    return decidedResult(desk, request);
  }
  const preface =
    request?.status === 'approved'
      ? `Approved by ${request.decidedBy ?? 'an approver'} (request ${held.requestId}); the statement ran:`
      : undefined;
  return outcomeResult(deps, { ...held.run, ...(preface ? { preface } : {}) }, outcome);
}

/** Sends an approved deferred statement again, exactly as approved; the gate takes one use of the approval. */
export async function runApprovedDefer(
  deps: McpToolDeps,
  desk: ApprovalDesk,
  caller: Caller,
  request: ApprovalRequest,
  maxRows: number,
  sink: ProgressSink,
): Promise<CallToolResult> {
  if (request.kind !== 'statement' || !request.statement) return decidedResult(desk, request);
  if (request.mode !== 'defer') {
    return decidedResult(
      desk,
      request,
      'The statement was held while it waited and ran in that session once approved.',
    );
  }
  if (request.usesAllowed !== undefined && request.uses >= request.usesAllowed) {
    return decidedResult(
      desk,
      request,
      `The approval has been used (${request.uses} run(s)); send the statement again with query to ask anew.`,
    );
  }
  // The request keeps the text with its secrets redacted and long parameters clipped: sent again, that
  // would be another statement (class 290). The client still has the exact one; sent with `query`, it
  // finds this approval by its hash and takes one use of it.
  if (!keptExactly(request)) {
    return decidedResult(
      desk,
      request,
      'Gatehouse keeps this statement with secrets redacted or long parameters clipped, so it cannot send it again for you. ' +
        'To run it, send the exact statement again with query (same connection and parameters): that takes one use of this approval.',
    );
  }
  const sent = (await deps.classifier.classifyBounded(request.statement.text, principalKey(caller.identity)))
    .statements;
  if (sent.length !== 1)
    return toolError(`Request ${request.id} does not hold exactly one statement; it cannot be run here.`);
  const connection = request.connection;
  const params =
    request.statement.params && request.statement.params.length > 0 ? request.statement.params : undefined;
  const decision = foresee(deps, caller, connection, sent[0]!);
  const run: RunStatement = {
    caller,
    connection,
    text: request.statement.text,
    statement: sent[0]!,
    ...(params ? { params } : {}),
    ...(decision ? { decision } : {}),
    maxRows,
    signal: sink.signal,
    preface: `Approved by ${request.decidedBy ?? 'an approver'} (request ${request.id}); the statement ran:`,
  };
  return outcomeResult(deps, run, await runStatement(deps, run));
}
