// Row shapes of the store's tables, as both SQLite and PostgreSQL hold them (the kysely schema).
// Only the store's own modules read and write rows; everyone else sees core records (src/core/records.ts).
//
// Column type conventions, identical in both databases so one set of queries serves both:
// - timestamps: epoch milliseconds in `bigint` (SQLite INTEGER affinity, 64-bit; PostgreSQL int8,
//   parsed to a JS number by the store's own pg type parser). Integers compare and sort the same way
//   everywhere, carry millisecond precision (what a JS Date holds) and need no time-zone handling.
// - booleans: `integer` 0/1 (SQLite has no boolean type; better-sqlite3 cannot bind JS booleans).
// - arrays and maps (groups, categories, params, masked counts): JSON text.
// - durations: `double precision` milliseconds (SQLite REAL affinity; PostgreSQL float8).
// - row counts: `bigint`.

/** `sessions`: one row per client session, written before anything in it is forwarded. */
export interface SessionsTable {
  id: string;
  /** Epoch ms. */
  started_at: number;
  /** Epoch ms; null while the session is open (or when the gateway died before ending it). */
  ended_at: number | null;
  subject: string;
  /** JSON array of strings. */
  groups: string;
  token_kind: string;
  /** 0 or 1. */
  agent: number;
  issuer: string;
  client_address: string;
  client_user: string | null;
  application: string | null;
  connection: string;
  protocol: string;
  end_reason: string | null;
}

/** `statements`: one row per statement, inserted before it is forwarded and completed with its result. */
export interface StatementsTable {
  id: string;
  session_id: string;
  /** 1-based order within the session; unique per session. */
  seq: number;
  /** Epoch ms. */
  at: number;
  via: string;
  text: string;
  kind: string;
  /** JSON array of strings. */
  categories: string;
  /** 'allow' | 'deny' | 'review'. */
  effect: string;
  rule_id: string;
  message: string | null;
  /** JSON array of (string | null), or null when the statement had no parameters. */
  params: string | null;
  /** Null until the statement completed; its presence marks a statement that has a result. */
  duration_ms: number | null;
  row_count: number | null;
  error_code: string | null;
  error_message: string | null;
  /** JSON object of detector → count, or null. */
  masked: string | null;
  /** JSON StatementLineage (prompt id, tool use id, source), or null. Schema version 2. */
  lineage: string | null;
}

/**
 * `statement_records`, the view statements are read through (migration 8): the columns of
 * `statements`, and since version 11 the reviewed body of the statement from its `statement` event.
 */
export interface StatementRecordsView extends StatementsTable {
  /** Hex SHA-256 of the request body read whole for review; null when the statement had none. */
  body_sha256: string | null;
  /** Its size in bytes; null when the statement had none. */
  body_bytes: number | null;
}

/** `session_events`: the hash-chained record of a session (docs/recording.md). Schema version 2. */
export interface SessionEventsTable {
  session_id: string;
  /** 1-based chain position within the session. */
  seq: number;
  type: string;
  /** Epoch ms. */
  at: number;
  statement_id: string | null;
  /** Canonical JSON of the event's data. */
  data: string;
  /** Hex SHA-256 of the previous event's canonical JSON. */
  prev_hash: string;
  /** Hex SHA-256 of this event's canonical JSON. */
  hash: string;
}

/** `session_seals`: Ed25519 signatures over the hash of a session's event `seq`. Schema version 2. */
export interface SessionSealsTable {
  session_id: string;
  seq: number;
  hash: string;
  /** base64url. */
  signature: string;
  /** `sha256:<hex>` fingerprint of the signing key's SPKI. */
  key_id: string;
  at: number;
}

/** `prompt_contexts`: the latest prompt context per principal (`issuer` + NUL + `subject`). */
export interface PromptContextsTable {
  principal: string;
  prompt_id: string;
  prompt: string | null;
  tool_use_id: string | null;
  tool: string | null;
  agent_session_id: string | null;
  at: number;
}

/** `service_tokens`: metadata of gateway-issued tokens (the token itself is never stored). */
export interface ServiceTokensTable {
  id: string;
  subject: string;
  /** JSON array of strings. */
  groups: string;
  /** 0 or 1. */
  agent: number;
  /** Epoch ms. */
  issued_at: number;
  expires_at: number;
  revoked_at: number | null;
  description: string | null;
  /** The person the token acts for (schema version 12); null for none. */
  person?: string | null;
}

/** `store_migrations`: which schema versions have been applied (see migrations.ts). */
export interface StoreMigrationsTable {
  version: number;
  name: string;
  applied_at: number;
}

/** The kysely database type of the store. Later migrations add their tables here. */
export interface StoreTables {
  sessions: SessionsTable;
  statements: StatementsTable;
  /**
   * A view (migration 8): `statements`' rows, and on SQLite the statements recorded only as events;
   * with each statement's reviewed body from its event (migration 11).
   */
  statement_records: StatementRecordsView;
  session_events: SessionEventsTable;
  session_seals: SessionSealsTable;
  prompt_contexts: PromptContextsTable;
  service_tokens: ServiceTokensTable;
  store_migrations: StoreMigrationsTable;
}
