// What an approval request is, as the service, the API, the page, the CLI and the notifiers see it,
// and the narrow ports the service depends on (impact preview, session events). No I/O here.

import type { Identity } from '../core/identity.js';
import type { SqlStatement } from '../core/sql-statement.js';

export type ApprovalStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'withdrawn';
export type ApprovalKind = 'statement' | 'access';
/** hold/defer for statements; `access` for time-bound access grants. */
export type ApprovalMode = 'hold' | 'defer' | 'access';
export type ApprovalVia = 'api' | 'page' | 'cli' | 'slack' | 'console';

/** A principal as an approval request names it: subject + issuer is the identity. */
export interface ApprovalPrincipal {
  readonly subject: string;
  readonly issuer: string;
  readonly groups: readonly string[];
  readonly agent: boolean;
  /** The person behind the identity (Identity.person): identities of one person are one approver. */
  readonly person?: string;
}

export interface ApprovalVote {
  readonly approver: ApprovalPrincipal;
  readonly vote: 'approve' | 'deny';
  readonly comment?: string;
  readonly via: ApprovalVia;
  readonly at: Date;
}

export type ApprovalEventType =
  | 'approval.requested'
  | 'approval.notified'
  | 'approval.approved'
  | 'approval.denied'
  | 'approval.executed'
  | 'approval.expired'
  | 'approval.withdrawn';

/** One step in a request's history; also what goes to the session record through the sink. */
export interface ApprovalHistoryEvent {
  readonly id: string;
  readonly requestId: string;
  readonly at: Date;
  readonly type: ApprovalEventType | 'approval.vote';
  /** `subject (issuer)` of whoever caused it, when a person did. */
  readonly actor?: string;
  readonly data: Readonly<Record<string, unknown>>;
}

export interface ApprovalRequest {
  readonly id: string;
  readonly kind: ApprovalKind;
  readonly mode: ApprovalMode;
  readonly status: ApprovalStatus;
  /** Approval rule (gatehouse.yaml approvals.rules) that says who may approve. */
  readonly ruleName: string;
  /** The policy rule whose `review` effect asked for approval. */
  readonly policyRuleId?: string;
  readonly connection: string;
  readonly requester: ApprovalPrincipal;
  readonly sessionId?: string;
  readonly statementId?: string;
  readonly statement?: {
    readonly text: string;
    readonly kind: string;
    readonly categories: readonly string[];
    readonly params?: readonly (string | null)[];
    /** SHA-256 (hex) over the canonical action: see statement-hash.ts. */
    readonly hash: string;
  };
  /** The reason or prompt the requester gave, when known. */
  readonly reason?: string;
  /** The policy's message to the client. */
  readonly message?: string;
  readonly preview?: ImpactPreview;
  /** Access grants: which grant and for how long. */
  readonly grantName?: string;
  readonly requestedDurationMs?: number;
  readonly createdAt: Date;
  /** A pending request expires then. */
  readonly expiresAt: Date;
  readonly decidedAt?: Date;
  readonly decidedBy?: string;
  readonly decisionComment?: string;
  /** Approved defer requests: how many runs the approval allows (undefined: unlimited until validUntil). */
  readonly usesAllowed?: number;
  readonly uses: number;
  /** Approved defer requests and access grants: usable until then. */
  readonly validUntil?: Date;
}

export interface ApprovalDetails {
  readonly request: ApprovalRequest;
  readonly votes: readonly ApprovalVote[];
  readonly history: readonly ApprovalHistoryEvent[];
}

// ---- impact preview port -------------------------------------------------------------------

/** What the statement would do, found without running it (engines/postgres/impact-preview.ts). */
export interface ImpactPreview {
  /** `plan`: EXPLAIN (+ count); `objects`: DDL objects and sizes; `none`: nothing to preview. */
  readonly kind: 'plan' | 'objects' | 'none';
  /** EXPLAIN output lines (never ANALYZE). */
  readonly plan?: readonly string[];
  /** Rows the statement's own FROM/WHERE selects, when that count could be built safely. */
  readonly rowCount?: number;
  readonly objects?: readonly ImpactObject[];
  /** Why a part is missing (count skipped, EXPLAIN failed, …). */
  readonly notes: readonly string[];
  readonly tookMs: number;
  /**
   * What the approval is bound to besides the text and parameters, by name: the settings place of
   * the statement hash's document (statement-hash.ts). For SQL, the requesting session's settings
   * that change what the statement means (DateStyle, TimeZone, search_path, role…; the preview ran
   * under them) and `gatehouse:param_formats`/`gatehouse:param_types`; for HTTP and Kubernetes the
   * operation and body digest; for SSH the terminal. Set whatever the preview's outcome, and shown on
   * every approver surface (boundSettings below).
   */
  readonly settings?: Readonly<Record<string, string>>;
}

/**
 * The `[name, value]` pairs a request's approval is bound to besides its text and parameters (see
 * ImpactPreview.settings), sorted by name; empty when there are none or the viewer may not see them.
 */
export function boundSettings(r: {
  readonly preview?: { readonly settings?: Readonly<Record<string, unknown>> } | undefined;
}): [string, string][] {
  const s = r.preview?.settings;
  if (!s || typeof s !== 'object') return [];
  return Object.keys(s)
    .sort()
    .map((k) => [k, String(s[k])]);
}

/** `runs under session settings (bound to this approval): datestyle = ISO, DMY; …`, or undefined. */
export function boundText(r: Parameters<typeof boundSettings>[0]): string | undefined {
  const pairs = boundSettings(r);
  if (pairs.length === 0) return undefined;
  return `runs under session settings (bound to this approval): ${pairs.map(([k, v]) => `${k} = ${v}`).join('; ')}`;
}

export interface ImpactObject {
  readonly name: string;
  readonly type: string;
  readonly exists: boolean;
  readonly bytes?: number;
  readonly estimatedRows?: number;
}

export interface ImpactPreviewRequest {
  readonly connection: string;
  readonly statement: SqlStatement;
  readonly params?: readonly (string | null)[];
  /**
   * The Bind's parameter format codes (none, one for all, or one each; 1 = binary, whose value in
   * `params` is `\x` and its bytes in hex) and the Parse's declared parameter types: the preview binds
   * the values as the client did, so that they mean there what they will mean when the statement runs.
   */
  readonly paramFormats?: readonly number[];
  readonly paramTypes?: readonly number[];
  /** The session settings to preview under (already limited to the meaning-changing ones). */
  readonly settings?: Readonly<Record<string, string>>;
  /** The requester: the preview logs in upstream as the role this principal's sessions get. */
  readonly identity?: Identity;
}

/** Runs the preview through the gateway's own upstream connection, read-only. Never throws. */
export interface ImpactPreviewer {
  preview(req: ImpactPreviewRequest): Promise<ImpactPreview>;
}

export const noImpactPreview: ImpactPreviewer = {
  preview: () => Promise.resolve({ kind: 'none', notes: ['no impact preview is available'], tookMs: 0 }),
};

// ---- session event port --------------------------------------------------------------------

export interface ApprovalSessionEvent {
  readonly type: ApprovalEventType;
  readonly at: Date;
  readonly requestId: string;
  readonly statementId?: string;
  readonly data: Record<string, unknown>;
}

/** Where approval steps go in the session's record (the recorder); the approvals tables keep them too. */
export interface ApprovalEventSink {
  record(sessionId: string, event: ApprovalSessionEvent): Promise<void>;
}

export const discardApprovalEvents: ApprovalEventSink = { record: () => Promise.resolve() };
