// Opens the store the config names: embedded SQLite (default) or shared PostgreSQL.
// Only the composition root (src/main.ts) and the CLI call this; everyone else takes the ports.

import path from 'node:path';
import type { GatehouseConfig, SecretRef } from '../config/schema.js';
import { PostgresStore } from './postgres-store.js';
import { SqliteStore } from './sqlite-store.js';

export type OpenedStore = SqliteStore | PostgresStore;

export const DEFAULT_SQLITE_FILE = 'gatehouse.db';

export async function openStore(
  config: GatehouseConfig['store'],
  dataDir: string,
  resolveSecret: (ref: SecretRef) => Promise<string>,
  report: {
    /** A background WAL checkpoint failed (the writer checkpoints instead). */
    readonly onCheckpointError?: (message: string) => void;
    /** Folding the record journal failed (record-journal.ts): rows stay in it, reads fail. */
    readonly onStagingError?: (message: string) => void;
  } = {},
): Promise<OpenedStore> {
  switch (config.kind) {
    case 'sqlite':
      return SqliteStore.open({
        path: config.path ?? path.join(dataDir, DEFAULT_SQLITE_FILE),
        ...(config.fold ? { fold: config.fold } : {}),
        ...(report.onCheckpointError ? { onCheckpointError: report.onCheckpointError } : {}),
        ...(report.onStagingError ? { onStagingError: report.onStagingError } : {}),
      });
    case 'postgres':
      return PostgresStore.open({ url: await resolveSecret(config.url) });
  }
}

export { SqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
export { PostgresStore, type PostgresStoreOptions } from './postgres-store.js';
export type { StatementCounts } from './session-queries.js';
export type { GroupCommitStats } from './group-commit.js';
export type { StoreTables } from './tables.js';
export { STORE_MIGRATIONS, type StoreMigration, type StoreDialect } from './migrations/index.js';
