// Schema version 1: sessions, statements and service-token metadata.
// Column types follow the conventions in ../tables.ts; this DDL must run unchanged on SQLite and PostgreSQL.

import type { Kysely } from 'kysely';
import type { StoreMigration } from './migration.js';

async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('sessions')
    .addColumn('id', 'text', (c) => c.primaryKey().notNull())
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('ended_at', 'bigint')
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('groups', 'text', (c) => c.notNull())
    .addColumn('token_kind', 'text', (c) => c.notNull())
    .addColumn('agent', 'integer', (c) => c.notNull())
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('client_address', 'text', (c) => c.notNull())
    .addColumn('client_user', 'text')
    .addColumn('application', 'text')
    .addColumn('connection', 'text', (c) => c.notNull())
    .addColumn('protocol', 'text', (c) => c.notNull())
    .addColumn('end_reason', 'text')
    .execute();
  // listSessions reads newest first, optionally narrowed by subject or connection.
  await db.schema
    .createIndex('sessions_started_at_idx')
    .on('sessions')
    .columns(['started_at', 'id'])
    .execute();
  await db.schema
    .createIndex('sessions_subject_idx')
    .on('sessions')
    .columns(['subject', 'started_at'])
    .execute();
  await db.schema
    .createIndex('sessions_connection_idx')
    .on('sessions')
    .columns(['connection', 'started_at'])
    .execute();

  // No foreign key to sessions: it would cost an index probe per insert on the hot path, and the
  // gate never records a statement before its session's startSession has resolved.
  await db.schema
    .createTable('statements')
    .addColumn('id', 'text', (c) => c.primaryKey().notNull())
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('via', 'text', (c) => c.notNull())
    .addColumn('text', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('categories', 'text', (c) => c.notNull())
    .addColumn('effect', 'text', (c) => c.notNull())
    .addColumn('rule_id', 'text', (c) => c.notNull())
    .addColumn('message', 'text')
    .addColumn('params', 'text')
    .addColumn('duration_ms', 'double precision')
    .addColumn('row_count', 'bigint')
    .addColumn('error_code', 'text')
    .addColumn('error_message', 'text')
    .addColumn('masked', 'text')
    .execute();
  // Statements of a session in order; also the lookup for the effect/category/text session filters.
  await db.schema
    .createIndex('statements_session_seq_key')
    .on('statements')
    .columns(['session_id', 'seq'])
    .unique()
    .execute();

  await db.schema
    .createTable('service_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey().notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('groups', 'text', (c) => c.notNull())
    .addColumn('agent', 'integer', (c) => c.notNull())
    .addColumn('issued_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .addColumn('description', 'text')
    .execute();
}

export const sessionsStatementsTokens: StoreMigration = {
  version: 1,
  name: 'sessions-statements-tokens',
  up,
};
