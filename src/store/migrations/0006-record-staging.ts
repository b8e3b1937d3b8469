// Schema version 6 (SQLite only): the staging tables the group commit appends statements and events
// to, folded into `statements` and `session_events` a few times a second and before every read
// (sqlite-store.ts, "Staging"). They have the same columns and no index or key: under concurrent
// sessions, every index keyed by session took a page per live session per commit (three such indexes,
// two pwrite calls per page in the WAL), which was most of what a commit cost; an append to an
// unindexed table takes one or two pages whatever the number of sessions. On PostgreSQL it adds
// nothing (its store writes the tables directly), but records the version so both stay in step.

import type { Kysely } from 'kysely';
import type { StoreMigration } from './migration.js';

async function up(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  if (dialect !== 'sqlite') return;
  await db.schema
    .createTable('statements_recent')
    .addColumn('id', 'text', (c) => c.notNull())
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
    .addColumn('lineage', 'text')
    .execute();
  await db.schema
    .createTable('session_events_recent')
    .addColumn('session_id', 'text', (c) => c.notNull())
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('at', 'bigint', (c) => c.notNull())
    .addColumn('statement_id', 'text')
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('prev_hash', 'text', (c) => c.notNull())
    .addColumn('hash', 'text', (c) => c.notNull())
    .execute();
}

export const recordStaging: StoreMigration = { version: 6, name: 'record-staging', up };
