// Schema version 3: approval requests, approver votes and the approval history (docs/approvals.md).
// Column types follow ../tables.ts; the DDL runs unchanged on SQLite and PostgreSQL and only adds.

import type { Kysely } from 'kysely';
import type { StoreMigration } from './migration.js';

async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('approval_requests')
    .addColumn('id', 'text', (c) => c.primaryKey().notNull())
    // 'statement' (hold or defer) or 'access' (a time-bound access grant)
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('mode', 'text', (c) => c.notNull())
    // pending | approved | denied | expired | withdrawn
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('rule_name', 'text', (c) => c.notNull())
    .addColumn('policy_rule_id', 'text')
    .addColumn('connection', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('groups', 'text', (c) => c.notNull())
    .addColumn('agent', 'integer', (c) => c.notNull())
    .addColumn('session_id', 'text')
    .addColumn('statement_id', 'text')
    .addColumn('statement_text', 'text')
    .addColumn('statement_kind', 'text')
    .addColumn('categories', 'text')
    .addColumn('params', 'text')
    .addColumn('statement_hash', 'text')
    .addColumn('reason', 'text')
    .addColumn('message', 'text')
    .addColumn('preview', 'text')
    .addColumn('grant_name', 'text')
    .addColumn('requested_duration_ms', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('decided_at', 'bigint')
    .addColumn('decided_by', 'text')
    .addColumn('decision_comment', 'text')
    // After approval: defer grants (uses and/or time) and access grants (time).
    .addColumn('uses_allowed', 'integer')
    .addColumn('uses', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('valid_until', 'bigint')
    .execute();
  // Defer: "is there an approval for this exact statement for this principal?"
  await db.schema
    .createIndex('approval_requests_hash_idx')
    .on('approval_requests')
    .columns(['statement_hash', 'status'])
    .execute();
  await db.schema
    .createIndex('approval_requests_status_idx')
    .on('approval_requests')
    .columns(['status', 'created_at'])
    .execute();
  await db.schema
    .createIndex('approval_requests_principal_idx')
    .on('approval_requests')
    .columns(['subject', 'issuer', 'kind', 'status'])
    .execute();

  await db.schema
    .createTable('approval_votes')
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('approver_subject', 'text', (c) => c.notNull())
    .addColumn('approver_issuer', 'text', (c) => c.notNull())
    .addColumn('approver_groups', 'text', (c) => c.notNull())
    // approve | deny
    .addColumn('vote', 'text', (c) => c.notNull())
    .addColumn('comment', 'text')
    .addColumn('via', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute();
  // One vote per approver per request.
  await db.schema
    .createIndex('approval_votes_key')
    .on('approval_votes')
    .columns(['request_id', 'approver_subject', 'approver_issuer'])
    .unique()
    .execute();

  await db.schema
    .createTable('approval_events')
    .addColumn('id', 'text', (c) => c.primaryKey().notNull())
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('actor', 'text')
    .addColumn('data', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('approval_events_request_idx')
    .on('approval_events')
    .columns(['request_id', 'at', 'id'])
    .execute();
}

export const approvals: StoreMigration = {
  version: 3,
  name: 'approvals',
  up,
};
