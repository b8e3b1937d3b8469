// Row shapes of the approvals tables (store migration 0003), in the store's column conventions:
// epoch-ms bigints, 0/1 integers, JSON text. Only approval-repository.ts reads and writes them.

export interface ApprovalRequestsTable {
  id: string;
  kind: string;
  mode: string;
  status: string;
  rule_name: string;
  policy_rule_id: string | null;
  connection: string;
  subject: string;
  issuer: string;
  /** JSON array. */
  groups: string;
  agent: number;
  /** The requester's person (schema 10); null when the identity names none. */
  requester_person: string | null;
  session_id: string | null;
  statement_id: string | null;
  statement_text: string | null;
  statement_kind: string | null;
  /** JSON array. */
  categories: string | null;
  /** JSON array of (string | null). */
  params: string | null;
  statement_hash: string | null;
  reason: string | null;
  message: string | null;
  /** JSON ImpactPreview. */
  preview: string | null;
  grant_name: string | null;
  requested_duration_ms: number | null;
  created_at: number;
  expires_at: number;
  decided_at: number | null;
  decided_by: string | null;
  decision_comment: string | null;
  uses_allowed: number | null;
  uses: number;
  valid_until: number | null;
}

export interface ApprovalVotesTable {
  request_id: string;
  approver_subject: string;
  approver_issuer: string;
  /** JSON array. */
  approver_groups: string;
  /** The approver's person (schema 10); null when the identity names none. */
  approver_person: string | null;
  vote: string;
  comment: string | null;
  via: string;
  at: number;
}

export interface ApprovalEventsTable {
  id: string;
  request_id: string;
  at: number;
  type: string;
  actor: string | null;
  /** JSON object. */
  data: string;
}

/** The kysely database type of the approvals tables (the store's connection, cast to it). */
export interface ApprovalTables {
  approval_requests: ApprovalRequestsTable;
  approval_votes: ApprovalVotesTable;
  approval_events: ApprovalEventsTable;
}
