// What a store schema migration is. Migrations only add (tables, columns, indexes): replicas running
// the previous gateway version keep working against a database a newer replica has migrated.

import type { Kysely } from 'kysely';

export type StoreDialect = 'sqlite' | 'postgres';

export interface StoreMigration {
  /** Strictly increasing; never reuse or renumber a version that has shipped. */
  readonly version: number;
  readonly name: string;
  /**
   * Runs inside the migration transaction (SQLite `BEGIN IMMEDIATE`; PostgreSQL with an advisory
   * lock held), so a failed migration leaves nothing behind and concurrent openers wait.
   * Prefer DDL that runs unchanged on both dialects; branch on `dialect` only when it cannot.
   */
  up(db: Kysely<unknown>, dialect: StoreDialect): Promise<void>;
}
