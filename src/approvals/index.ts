// Public surface of the approvals feature: the service (the gate's Approver), its factory for the
// composition root, the ports it needs (impact preview, session events) and the do-nothing approver.

export { createApprovals, type Approvals, type ApprovalsSetup } from './create-approvals.js';
export {
  ApprovalService,
  principalOf,
  describePrincipal,
  type DecideResult,
  type DecideOptions,
} from './approval-service.js';
export { AccessGrants } from './access-grants.js';
export { unavailableApprover } from './unavailable-approver.js';
export { statementHash } from './statement-hash.js';
export { signWebhook, verifyWebhook } from './webhook-channel.js';
export { verifySlackSignature } from './slack.js';
export {
  discardApprovalEvents,
  noImpactPreview,
  type ApprovalDetails,
  type ApprovalEventSink,
  type ApprovalRequest,
  type ApprovalSessionEvent,
  type ImpactPreview,
  type ImpactPreviewer,
} from './approval-types.js';
