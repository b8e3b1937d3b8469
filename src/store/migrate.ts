// Applies pending schema migrations, one transaction for the lot, serialised across processes.
// It must not run a migration twice nor leave a half-applied one: all of it commits, or none.

import { sql, type Kysely } from 'kysely';
import type { StoreDialect, StoreMigration } from './migrations/migration.js';
import { STORE_MIGRATIONS } from './migrations/index.js';

/** Arbitrary constant naming the PostgreSQL advisory lock that serialises migrating replicas. */
const PG_MIGRATION_LOCK = 0x6761_7465_686f;

export interface MigrationOutcome {
  /** Versions applied by this call (empty when the schema was already current). */
  readonly applied: readonly number[];
  /** Highest version recorded in the database after this call. */
  readonly version: number;
}

async function ensureMigrationsTable(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('store_migrations')
    .ifNotExists()
    .addColumn('version', 'integer', (c) => c.primaryKey().notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('applied_at', 'bigint', (c) => c.notNull())
    .execute();
}

async function applyPending(
  db: Kysely<unknown>,
  dialect: StoreDialect,
  migrations: readonly StoreMigration[],
): Promise<MigrationOutcome> {
  await ensureMigrationsTable(db);
  const done = await sql<{ version: number | string }>`select version from store_migrations`.execute(db);
  const have = new Set(done.rows.map((r) => Number(r.version)));
  const applied: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (have.has(m.version)) continue;
    await m.up(db, dialect);
    await sql`insert into store_migrations (version, name, applied_at) values (${m.version}, ${m.name}, ${Date.now()})`.execute(
      db,
    );
    applied.push(m.version);
    have.add(m.version);
  }
  // A newer gateway may have applied versions this one does not know: migrations only add, so the
  // tables this version uses are still there and it keeps working.
  return { applied, version: Math.max(0, ...have) };
}

export async function migrateStore(
  db: Kysely<unknown>,
  dialect: StoreDialect,
  migrations: readonly StoreMigration[] = STORE_MIGRATIONS,
  sqliteBusyWaitMs = 5000,
): Promise<MigrationOutcome> {
  if (dialect === 'postgres') {
    return db.transaction().execute(async (trx) => {
      // Transaction-scoped: released by COMMIT/ROLLBACK even if this process dies mid-way.
      await sql`select pg_advisory_xact_lock(${PG_MIGRATION_LOCK})`.execute(trx);
      return applyPending(trx, dialect, migrations);
    });
  }
  // SQLite: DDL is transactional; BEGIN IMMEDIATE takes the write lock up front so two processes
  // opening the same file do not both decide to apply the same version. The caller sets the
  // connection's busy_timeout to 0 for this: a lock held by another connection in this same process
  // can only be released if the event loop keeps turning, so wait for it here, asynchronously.
  const deadline = Date.now() + sqliteBusyWaitMs;
  for (let delay = 5; ; delay = Math.min(delay * 2, 100)) {
    try {
      return await migrateSqliteOnce(db, migrations);
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'SQLITE_BUSY' || Date.now() + delay > deadline) throw e;
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

function migrateSqliteOnce(
  db: Kysely<unknown>,
  migrations: readonly StoreMigration[],
): Promise<MigrationOutcome> {
  return db.connection().execute(async (conn) => {
    await sql`begin immediate`.execute(conn);
    try {
      const outcome = await applyPending(conn, 'sqlite', migrations);
      await sql`commit`.execute(conn);
      return outcome;
    } catch (e) {
      await sql`rollback`.execute(conn).catch(() => undefined);
      throw e;
    }
  });
}
