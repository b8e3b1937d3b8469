// Refusals an engine makes itself once the client is known (a channel past its limit, a message it
// will not read), recorded as `refusal` events (docs/recording.md §Refusals) without letting a flood
// grow the record: a client can repeat a refused request thousands of times at once, so per
// connection the first few under each rule are recorded one by one and the rest only counted, and
// the count is recorded as one event per rule before the session ends (docs/security.md, class 12).

import type { GateSession } from '../gate/gate.js';

/** Refusals under one rule recorded one by one per connection; the rest are counted. */
export const RECORDED_REFUSALS_PER_RULE = 8;

export interface Refusal {
  /** What was asked (a channel kind, a protocol message), never statement text. */
  readonly request: string;
  readonly ruleId: string;
  /** The message the client got. */
  readonly message: string;
  /** The protocol's error code, when it has one (PostgreSQL's SQLSTATE). */
  readonly code?: string;
}

/** One connection's refusals, per rule. */
export class CappedRefusals {
  private readonly byRule = new Map<string, { n: number; code: string | undefined }>();

  /** Records `refusal` in `session` if it is among the first of its rule; counts it in any case. */
  record(session: GateSession, refusal: Refusal): void {
    const seen = this.byRule.get(refusal.ruleId);
    const n = (seen?.n ?? 0) + 1;
    this.byRule.set(refusal.ruleId, { n, code: seen?.code ?? refusal.code });
    if (n <= RECORDED_REFUSALS_PER_RULE) void session.refused(refusal);
  }

  /**
   * Records the refusals not recorded one by one, as one event per rule, and forgets them: call it
   * before the session's end and close the session once it settles (undefined: nothing to record).
   */
  recordCounts(session: GateSession): Promise<unknown> | undefined {
    const repeated = [...this.byRule].filter(([, r]) => r.n > RECORDED_REFUSALS_PER_RULE);
    this.byRule.clear();
    if (repeated.length === 0) return undefined;
    return Promise.all(
      repeated.map(([ruleId, { n, code }]) =>
        session.refused({
          request: 'repeated',
          ruleId,
          message: `${n - RECORDED_REFUSALS_PER_RULE} more refusals under this rule on this connection (the first ${RECORDED_REFUSALS_PER_RULE} are recorded one by one)`,
          ...(code !== undefined ? { code } : {}),
          count: n - RECORDED_REFUSALS_PER_RULE,
        }),
      ),
    );
  }

  /** Ends `session` after recording the counts (session.close never throws). */
  closeSession(session: GateSession, reason: string): Promise<void> {
    const counted = this.recordCounts(session);
    return counted ? counted.then(() => session.close(reason)) : session.close(reason);
  }
}
