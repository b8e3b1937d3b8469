// Schema version 2: the hash-chained session events, their Ed25519 seals, the principals' prompt
// contexts, and statement lineage (docs/recording.md). Only adds; runs unchanged on SQLite and PostgreSQL.

import type { Kysely } from 'kysely';
import type { StoreMigration } from './migration.js';

async function up(db: Kysely<unknown>): Promise<void> {
  // One row per event. (session_id, seq) is the chain position: the key also stops two writers
  // (two replicas) from forking a session's chain — the second insert fails and reloads the tail.
  // A plain rowid table with the key as an index: measured faster on SQLite than WITHOUT ROWID for
  // rows this size (a few hundred bytes; docs/performance.md, "Recording overhead").
  await db.schema
    .createTable('session_events')
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('statement_id', 'text')
    // canonical JSON of the event's data (docs/recording.md §Canonical JSON)
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('session_events_pkey', ['session_id', 'seq'])
    .execute();

  await db.schema
    .createTable('session_seals')
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .addColumn('signature', 'text', (c) => c.notNull())
    .addColumn('key_id', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('session_seals_pkey', ['session_id', 'seq'])
    .execute();

  // The latest context each principal declared through POST /api/context (shared by replicas).
  await db.schema
    .createTable('prompt_contexts')
    .addColumn('principal', 'text', (c) => c.primaryKey().notNull())
    .addColumn('prompt_id', 'text', (c) => c.notNull())
    .addColumn('prompt', 'text')
    .addColumn('tool_use_id', 'text')
    .addColumn('tool', 'text')
    .addColumn('agent_session_id', 'text')
    .addColumn('at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('prompt_contexts_at_idx').on('prompt_contexts').column('at').execute();

  await db.schema.alterTable('statements').addColumn('lineage', 'text').execute();
}

export const sessionEvents: StoreMigration = {
  version: 2,
  name: 'session-events',
  up,
};
