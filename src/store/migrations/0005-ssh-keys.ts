// Schema version 5: SSH public keys registered to a principal (docs/ssh.md, `gatehouse ssh add-key`).
// Each key is bound to a service token's record — the principal it logs in as — by the token's id;
// the token itself is never stored. A removed key keeps its row (removed_at) for the audit trail.

import type { Kysely } from 'kysely';
import type { StoreMigration } from './migration.js';

async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('ssh_keys')
    // `SHA256:…` of the key blob, as `ssh-keygen -lf` prints it.
    .addColumn('fingerprint', 'text', (c) => c.primaryKey().notNull())
    .addColumn('token_id', 'text', (c) => c.notNull())
    .addColumn('key_type', 'text', (c) => c.notNull())
    // The wire-format key blob, base64 (the middle word of an authorized_keys line).
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('comment', 'text', (c) => c.notNull())
    .addColumn('added_at', 'bigint', (c) => c.notNull())
    .addColumn('removed_at', 'bigint')
    .execute();
  await db.schema.createIndex('ssh_keys_token_idx').on('ssh_keys').columns(['token_id']).execute();
}

export const sshKeys: StoreMigration = { version: 5, name: 'ssh-keys', up };
