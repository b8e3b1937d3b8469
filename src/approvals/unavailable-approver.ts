// The approve step's do-nothing implementation: with no approval service configured, an action
// that needs review is refused (fail closed) with a message saying so.

import type { ApprovalContext, ApprovalOutcome, Approver } from '../core/ports.js';

export const unavailableApprover: Approver = {
  request(ctx: ApprovalContext): Promise<ApprovalOutcome> {
    return Promise.resolve({
      approved: false,
      message: `${ctx.decision.message} No approval service is configured on this gateway, so the statement was refused.`,
    });
  },
};
