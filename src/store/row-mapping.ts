// Converts core records to table rows and back (see tables.ts for the column conventions).
// Pure: no I/O. It must not drop fields silently: every record field has a column, but for a
// reviewed body (`body`), which is recorded in the statement's `statement` event only and read back
// through the view `statement_records` (migration 11).

import type {
  RecordedEffect,
  ServiceTokenRecord,
  SessionRecord,
  StatementLineage,
  StatementRecord,
  StatementResult,
  StoredStatement,
} from '../core/records.js';
import type { TokenKind } from '../core/identity.js';
import type { ServiceTokensTable, SessionsTable, StatementRecordsView, StatementsTable } from './tables.js';

/** Result columns of a statement row. */
export type StatementResultColumns = Pick<
  StatementsTable,
  'duration_ms' | 'row_count' | 'error_code' | 'error_message' | 'masked'
>;

export const NO_RESULT: StatementResultColumns = {
  duration_ms: null,
  row_count: null,
  error_code: null,
  error_message: null,
  masked: null,
};

export function ms(d: Date): number {
  const t = d.getTime();
  // An invalid Date would be stored as NULL/NaN and break ordering; refuse it at the boundary.
  if (!Number.isFinite(t)) throw new TypeError('invalid Date in store record');
  return t;
}

function num(v: number | string | bigint | null | undefined): number | undefined {
  return v === null || v === undefined ? undefined : Number(v);
}

function jsonArray(text: string): string[] {
  const v: unknown = JSON.parse(text);
  return Array.isArray(v) ? v.map((x) => String(x)) : [];
}

export function sessionToRow(r: SessionRecord): SessionsTable {
  return {
    id: r.id,
    started_at: ms(r.startedAt),
    ended_at: r.endedAt ? ms(r.endedAt) : null,
    subject: r.subject,
    groups: JSON.stringify(r.groups),
    token_kind: r.tokenKind,
    agent: r.agent ? 1 : 0,
    issuer: r.issuer,
    client_address: r.clientAddress,
    client_user: r.clientUser ?? null,
    application: r.application ?? null,
    connection: r.connection,
    protocol: r.protocol,
    end_reason: r.endReason ?? null,
  };
}

export function rowToSession(row: SessionsTable): SessionRecord {
  const endedAt = num(row.ended_at);
  return {
    id: row.id,
    startedAt: new Date(Number(row.started_at)),
    ...(endedAt !== undefined ? { endedAt: new Date(endedAt) } : {}),
    subject: row.subject,
    groups: jsonArray(row.groups),
    tokenKind: row.token_kind as TokenKind,
    agent: Number(row.agent) === 1,
    issuer: row.issuer,
    clientAddress: row.client_address,
    ...(row.client_user !== null ? { clientUser: row.client_user } : {}),
    ...(row.application !== null ? { application: row.application } : {}),
    connection: row.connection,
    protocol: row.protocol,
    ...(row.end_reason !== null ? { endReason: row.end_reason } : {}),
  };
}

export function resultToColumns(r: StatementResult): StatementResultColumns {
  if (!Number.isFinite(r.durationMs)) throw new TypeError('statement durationMs must be a finite number');
  return {
    duration_ms: r.durationMs,
    row_count: r.rows ?? null,
    error_code: r.error?.code ?? null,
    error_message: r.error?.message ?? null,
    masked: r.masked ? JSON.stringify(r.masked) : null,
  };
}

export function statementToRow(
  r: StatementRecord,
  result: StatementResultColumns = NO_RESULT,
): StatementsTable {
  return {
    id: r.id,
    session_id: r.sessionId,
    seq: r.seq,
    at: ms(r.at),
    via: r.via,
    text: r.text,
    kind: r.kind,
    categories: JSON.stringify(r.categories),
    effect: r.effect,
    rule_id: r.ruleId,
    message: r.message ?? null,
    params: r.params ? JSON.stringify(r.params) : null,
    lineage: r.lineage ? JSON.stringify(r.lineage) : null,
    ...result,
  };
}

/**
 * A row of `statement_records` (or of `statements`, which has no body columns: read as without a
 * reviewed body) as the stored statement.
 */
export function rowToStatement(row: StatementsTable | StatementRecordsView): StoredStatement {
  const duration = num(row.duration_ms);
  const rows = num(row.row_count);
  const bodyBytes = 'body_bytes' in row ? num(row.body_bytes) : undefined;
  const bodySha256 = 'body_sha256' in row ? row.body_sha256 : null;
  let result: StatementResult | undefined;
  if (duration !== undefined) {
    result = {
      durationMs: duration,
      ...(rows !== undefined ? { rows } : {}),
      ...(row.error_code !== null
        ? { error: { code: row.error_code, message: row.error_message ?? '' } }
        : {}),
      ...(row.masked !== null ? { masked: JSON.parse(row.masked) as Record<string, number> } : {}),
    };
  }
  return {
    id: row.id,
    sessionId: row.session_id,
    seq: Number(row.seq),
    at: new Date(Number(row.at)),
    via: row.via,
    text: row.text,
    kind: row.kind,
    categories: jsonArray(row.categories),
    effect: row.effect as RecordedEffect,
    ruleId: row.rule_id,
    ...(row.message !== null ? { message: row.message } : {}),
    ...(row.params !== null ? { params: JSON.parse(row.params) as (string | null)[] } : {}),
    ...(typeof bodySha256 === 'string' && bodyBytes !== undefined
      ? { body: { sha256: bodySha256, bytes: bodyBytes } }
      : {}),
    ...(row.lineage !== null && row.lineage !== undefined
      ? { lineage: JSON.parse(row.lineage) as StatementLineage }
      : {}),
    ...(result ? { result } : {}),
  };
}

export function tokenToRow(r: ServiceTokenRecord): ServiceTokensTable {
  return {
    id: r.id,
    subject: r.subject,
    groups: JSON.stringify(r.groups),
    agent: r.agent ? 1 : 0,
    issued_at: ms(r.issuedAt),
    expires_at: ms(r.expiresAt),
    revoked_at: r.revokedAt ? ms(r.revokedAt) : null,
    description: r.description ?? null,
    ...(r.person !== undefined ? { person: r.person } : {}),
  };
}

export function rowToToken(row: ServiceTokensTable): ServiceTokenRecord {
  const revoked = num(row.revoked_at);
  return {
    id: row.id,
    subject: row.subject,
    groups: jsonArray(row.groups),
    agent: Number(row.agent) === 1,
    issuedAt: new Date(Number(row.issued_at)),
    expiresAt: new Date(Number(row.expires_at)),
    ...(revoked !== undefined ? { revokedAt: new Date(revoked) } : {}),
    ...(row.description !== null ? { description: row.description } : {}),
    ...(typeof row.person === 'string' ? { person: row.person } : {}),
  };
}
