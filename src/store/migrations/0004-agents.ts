// Schema version 4: network-resident agents (docs/agent.md): registered agents and their public
// keys, one-time join tokens (only a hash of the secret), and live agent connections per gateway
// replica (written by heartbeats; read by `gatehouse agent list` and by the other replicas).

import type { Kysely } from 'kysely';
import type { StoreMigration } from './migration.js';

async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('agents')
    .addColumn('id', 'text', (c) => c.primaryKey().notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    // Ed25519 SubjectPublicKeyInfo, DER, base64url: the credential the agent proves it holds.
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('hostname', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('join_token_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .addColumn('last_seen_at', 'bigint')
    .execute();
  await db.schema.createIndex('agents_name_idx').on('agents').columns(['name']).execute();
  await db.schema
    .createTable('agent_join_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey().notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('secret_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('used_at', 'bigint')
    .addColumn('agent_id', 'text')
    .addColumn('revoked_at', 'bigint')
    .execute();
  await db.schema
    .createIndex('agent_join_tokens_name_idx')
    .on('agent_join_tokens')
    .columns(['name'])
    .execute();
  await db.schema
    .createTable('agent_connections')
    .addColumn('id', 'text', (c) => c.primaryKey().notNull())
    .addColumn('agent_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('replica', 'text', (c) => c.notNull())
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('version', 'text', (c) => c.notNull())
    .addColumn('connected_at', 'bigint', (c) => c.notNull())
    .addColumn('heartbeat_at', 'bigint', (c) => c.notNull())
    .addColumn('active_streams', 'integer', (c) => c.notNull())
    .addColumn('total_streams', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex('agent_connections_agent_idx')
    .on('agent_connections')
    .columns(['agent_id'])
    .execute();
}

export const agents: StoreMigration = { version: 4, name: 'agents', up };
