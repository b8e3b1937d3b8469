// Schema version 7 (SQLite only): how far each record journal (record-journal.ts) has been folded
// into `statements` and `session_events`. A fold moves a journal's rows and sets `folded_to` in the
// same transaction, so a journal left by a crash is folded from exactly where its last fold stopped;
// `done` marks a journal whose every row is folded (its file is then deleted, and its row after that).
// On PostgreSQL it adds nothing (its store writes the tables directly), but records the version.

import type { Kysely } from 'kysely';
import type { StoreMigration } from './migration.js';

async function up(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  if (dialect !== 'sqlite') return;
  await db.schema
    .createTable('record_journals')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('folded_to', 'bigint', (c) => c.notNull())
    .addColumn('done', 'integer', (c) => c.notNull())
    .execute();
}

export const recordJournals: StoreMigration = { version: 7, name: 'record-journals', up };
