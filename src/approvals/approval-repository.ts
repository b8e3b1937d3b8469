// Reads and writes of approval requests, votes and history through the store's kysely connection
// (SQLite or PostgreSQL, same queries). State changes are conditional updates, so two replicas
// deciding the same request at once cannot both win.

import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type {
  ApprovalHistoryEvent,
  ApprovalKind,
  ApprovalMode,
  ApprovalPrincipal,
  ApprovalRequest,
  ApprovalStatus,
  ApprovalVia,
  ApprovalVote,
  ImpactPreview,
} from './approval-types.js';
import type { ApprovalRequestsTable, ApprovalTables } from './approval-tables.js';

export interface RequestFilter {
  readonly status?: ApprovalStatus;
  readonly kind?: ApprovalKind;
  readonly requester?: { readonly subject: string; readonly issuer: string };
  readonly limit?: number;
}

function json<T>(text: string | null, fallback: T): T {
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

function opt<K extends string, V>(key: K, v: V | null | undefined): { [P in K]?: V } {
  return (v === null || v === undefined ? {} : { [key]: v }) as { [P in K]?: V };
}

export function rowToRequest(r: ApprovalRequestsTable): ApprovalRequest {
  return {
    id: r.id,
    kind: r.kind as ApprovalKind,
    mode: r.mode as ApprovalMode,
    status: r.status as ApprovalStatus,
    ruleName: r.rule_name,
    ...opt('policyRuleId', r.policy_rule_id),
    connection: r.connection,
    requester: {
      subject: r.subject,
      issuer: r.issuer,
      groups: json<string[]>(r.groups, []),
      agent: Number(r.agent) === 1,
      ...opt('person', r.requester_person),
    },
    ...opt('sessionId', r.session_id),
    ...opt('statementId', r.statement_id),
    ...(r.statement_text !== null
      ? {
          statement: {
            text: r.statement_text,
            kind: r.statement_kind ?? 'unknown',
            categories: json<string[]>(r.categories, []),
            ...opt('params', json<(string | null)[] | null>(r.params, null)),
            hash: r.statement_hash ?? '',
          },
        }
      : {}),
    ...opt('reason', r.reason),
    ...opt('message', r.message),
    ...opt('preview', json<ImpactPreview | null>(r.preview, null)),
    ...opt('grantName', r.grant_name),
    ...opt('requestedDurationMs', r.requested_duration_ms === null ? null : Number(r.requested_duration_ms)),
    createdAt: new Date(Number(r.created_at)),
    expiresAt: new Date(Number(r.expires_at)),
    ...opt('decidedAt', r.decided_at === null ? null : new Date(Number(r.decided_at))),
    ...opt('decidedBy', r.decided_by),
    ...opt('decisionComment', r.decision_comment),
    ...opt('usesAllowed', r.uses_allowed === null ? null : Number(r.uses_allowed)),
    uses: Number(r.uses),
    ...opt('validUntil', r.valid_until === null ? null : new Date(Number(r.valid_until))),
  };
}

function requestToRow(q: ApprovalRequest): ApprovalRequestsTable {
  return {
    id: q.id,
    kind: q.kind,
    mode: q.mode,
    status: q.status,
    rule_name: q.ruleName,
    policy_rule_id: q.policyRuleId ?? null,
    connection: q.connection,
    subject: q.requester.subject,
    issuer: q.requester.issuer,
    groups: JSON.stringify(q.requester.groups),
    agent: q.requester.agent ? 1 : 0,
    requester_person: q.requester.person ?? null,
    session_id: q.sessionId ?? null,
    statement_id: q.statementId ?? null,
    statement_text: q.statement?.text ?? null,
    statement_kind: q.statement?.kind ?? null,
    categories: q.statement ? JSON.stringify(q.statement.categories) : null,
    params: q.statement?.params ? JSON.stringify(q.statement.params) : null,
    statement_hash: q.statement?.hash ?? null,
    reason: q.reason ?? null,
    message: q.message ?? null,
    preview: q.preview ? JSON.stringify(q.preview) : null,
    grant_name: q.grantName ?? null,
    requested_duration_ms: q.requestedDurationMs ?? null,
    created_at: q.createdAt.getTime(),
    expires_at: q.expiresAt.getTime(),
    decided_at: q.decidedAt?.getTime() ?? null,
    decided_by: q.decidedBy ?? null,
    decision_comment: q.decisionComment ?? null,
    uses_allowed: q.usesAllowed ?? null,
    uses: q.uses,
    valid_until: q.validUntil?.getTime() ?? null,
  };
}

function isUniqueViolation(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

export class ApprovalRepository {
  constructor(private readonly db: Kysely<ApprovalTables>) {}

  async insertRequest(q: ApprovalRequest): Promise<void> {
    await this.db.insertInto('approval_requests').values(requestToRow(q)).execute();
  }

  async getRequest(id: string): Promise<ApprovalRequest | undefined> {
    const row = await this.db
      .selectFrom('approval_requests')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? rowToRequest(row) : undefined;
  }

  /** Newest first. */
  async listRequests(f: RequestFilter): Promise<ApprovalRequest[]> {
    let q = this.db.selectFrom('approval_requests').selectAll();
    if (f.status) q = q.where('status', '=', f.status);
    if (f.kind) q = q.where('kind', '=', f.kind);
    if (f.requester)
      q = q.where('subject', '=', f.requester.subject).where('issuer', '=', f.requester.issuer);
    const rows = await q
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(Math.min(Math.max(f.limit ?? 100, 1), 1000))
      .execute();
    return rows.map(rowToRequest);
  }

  /**
   * A pending request for this exact statement hash, of a requester that is an agent or not as
   * `agent` says, that has not expired yet (under this approval rule, when one is named). The hash
   * binds the issuer and subject, not the agent flag: a token an MCP client holds names the person,
   * and the person's request is not the agent's (docs/security.md, class 258).
   */
  async findPending(
    hash: string,
    mode: ApprovalMode,
    now: Date,
    agent: boolean,
    ruleName?: string,
  ): Promise<ApprovalRequest | undefined> {
    let q = this.db
      .selectFrom('approval_requests')
      .selectAll()
      .where('statement_hash', '=', hash)
      .where('status', '=', 'pending')
      .where('mode', '=', mode)
      .where('agent', '=', agent ? 1 : 0)
      .where('expires_at', '>', now.getTime());
    if (ruleName !== undefined) q = q.where('rule_name', '=', ruleName);
    const row = await q.orderBy('created_at', 'desc').executeTakeFirst();
    return row ? rowToRequest(row) : undefined;
  }

  /**
   * Takes one use of an approved defer request for this exact hash and principal (agent or not), given under this
   * approval rule, atomically: the update only succeeds while uses remain and the approval is still
   * valid. Returns the request used.
   */
  async consumeDeferApproval(
    hash: string,
    principal: { subject: string; issuer: string; agent: boolean; connection: string },
    ruleName: string,
    now: Date,
  ): Promise<ApprovalRequest | undefined> {
    const t = now.getTime();
    const candidates = await this.db
      .selectFrom('approval_requests')
      .selectAll()
      .where('statement_hash', '=', hash)
      .where('status', '=', 'approved')
      .where('mode', '=', 'defer')
      .where('rule_name', '=', ruleName)
      .where('subject', '=', principal.subject)
      .where('issuer', '=', principal.issuer)
      // An approval given to a person is not used by an agent of the same name, nor the reverse.
      .where('agent', '=', principal.agent ? 1 : 0)
      .where('connection', '=', principal.connection)
      .where('valid_until', '>', t)
      .orderBy('decided_at', 'asc')
      .execute();
    for (const c of candidates) {
      const r = await this.db
        .updateTable('approval_requests')
        .set((eb) => ({ uses: eb('uses', '+', 1) }))
        .where('id', '=', c.id)
        .where('status', '=', 'approved')
        .where('valid_until', '>', t)
        .where((eb) => eb.or([eb('uses_allowed', 'is', null), eb('uses', '<', eb.ref('uses_allowed'))]))
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 1) return rowToRequest({ ...c, uses: Number(c.uses) + 1 });
    }
    return undefined;
  }

  /** Moves a pending request to a final status; false when it was no longer pending. */
  async settle(
    id: string,
    status: Exclude<ApprovalStatus, 'pending'>,
    fields: {
      decidedAt: Date;
      decidedBy?: string;
      comment?: string;
      usesAllowed?: number;
      validUntil?: Date;
    },
  ): Promise<boolean> {
    const r = await this.db
      .updateTable('approval_requests')
      .set({
        status,
        decided_at: fields.decidedAt.getTime(),
        decided_by: fields.decidedBy ?? null,
        decision_comment: fields.comment ?? null,
        uses_allowed: fields.usesAllowed ?? null,
        valid_until: fields.validUntil?.getTime() ?? null,
      })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Records a vote; false when this approver already voted on this request. */
  async insertVote(requestId: string, v: ApprovalVote): Promise<boolean> {
    try {
      await this.db
        .insertInto('approval_votes')
        .values({
          request_id: requestId,
          approver_subject: v.approver.subject,
          approver_issuer: v.approver.issuer,
          approver_groups: JSON.stringify(v.approver.groups),
          approver_person: v.approver.person ?? null,
          vote: v.vote,
          comment: v.comment ?? null,
          via: v.via,
          at: v.at.getTime(),
        })
        .execute();
      return true;
    } catch (e) {
      if (isUniqueViolation(e)) return false;
      throw e;
    }
  }

  async listVotes(requestId: string): Promise<ApprovalVote[]> {
    const rows = await this.db
      .selectFrom('approval_votes')
      .selectAll()
      .where('request_id', '=', requestId)
      .orderBy('at')
      .execute();
    return rows.map((r) => ({
      approver: {
        subject: r.approver_subject,
        issuer: r.approver_issuer,
        groups: json<string[]>(r.approver_groups, []),
        agent: false,
        ...opt('person', r.approver_person),
      } satisfies ApprovalPrincipal,
      vote: r.vote === 'deny' ? 'deny' : 'approve',
      ...opt('comment', r.comment),
      via: r.via as ApprovalVia,
      at: new Date(Number(r.at)),
    }));
  }

  async appendEvent(e: Omit<ApprovalHistoryEvent, 'id'>): Promise<ApprovalHistoryEvent> {
    const event = { ...e, id: randomUUID() };
    await this.db
      .insertInto('approval_events')
      .values({
        id: event.id,
        request_id: e.requestId,
        at: e.at.getTime(),
        type: e.type,
        actor: e.actor ?? null,
        data: JSON.stringify(e.data),
      })
      .execute();
    return event;
  }

  async listEvents(requestId: string): Promise<ApprovalHistoryEvent[]> {
    const rows = await this.db
      .selectFrom('approval_events')
      .selectAll()
      .where('request_id', '=', requestId)
      .orderBy('at')
      .orderBy('id')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      requestId: r.request_id,
      at: new Date(Number(r.at)),
      type: r.type as ApprovalHistoryEvent['type'],
      ...opt('actor', r.actor),
      data: json<Record<string, unknown>>(r.data, {}),
    }));
  }

  /** How many unexpired pending requests this principal has (at most `cap`: counting stops there). */
  async countPending(
    principal: { subject: string; issuer: string; agent: boolean },
    now: Date,
    cap: number,
  ): Promise<number> {
    const rows = await this.db
      .selectFrom('approval_requests')
      .select('id')
      .where('status', '=', 'pending')
      .where('subject', '=', principal.subject)
      .where('issuer', '=', principal.issuer)
      .where('agent', '=', principal.agent ? 1 : 0)
      .where('expires_at', '>', now.getTime())
      .limit(cap)
      .execute();
    return rows.length;
  }

  /**
   * Requests this principal opened since `since`, whatever became of them (at most `cap` are
   * counted): a client that withdraws each request it opens is not bounded by its pending ones.
   */
  async countOpenedSince(
    principal: { subject: string; issuer: string; agent: boolean },
    since: Date,
    cap: number,
  ): Promise<number> {
    const rows = await this.db
      .selectFrom('approval_requests')
      .select('id')
      .where('subject', '=', principal.subject)
      .where('issuer', '=', principal.issuer)
      .where('agent', '=', principal.agent ? 1 : 0)
      .where('created_at', '>', since.getTime())
      .limit(cap)
      .execute();
    return rows.length;
  }

  /** Ids of pending requests whose time is up. */
  async overdue(now: Date, limit = 200): Promise<string[]> {
    const rows = await this.db
      .selectFrom('approval_requests')
      .select('id')
      .where('status', '=', 'pending')
      .where('expires_at', '<=', now.getTime())
      .limit(limit)
      .execute();
    return rows.map((r) => r.id);
  }

  /** Approved access grants still in force. */
  async activeAccessGrants(now: Date): Promise<ApprovalRequest[]> {
    const rows = await this.db
      .selectFrom('approval_requests')
      .selectAll()
      .where('kind', '=', 'access')
      .where('status', '=', 'approved')
      .where('valid_until', '>', now.getTime())
      .execute();
    return rows.map(rowToRequest);
  }
}
