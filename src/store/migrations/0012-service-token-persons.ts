// Schema version 12: the person a service token acts for (ServiceTokenRecord.person: an agent's
// owner), so that the token signed again from its record (a Gatehouse AWS access key) names the same
// person, and the owner never approves the agent's requests under another identity
// (docs/security.md, class 124). Nullable: tokens without one, and older replicas, work as before.

import type { Kysely } from 'kysely';
import type { StoreMigration } from './migration.js';

async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('service_tokens').addColumn('person', 'text').execute();
}

export const serviceTokenPersons: StoreMigration = { version: 12, name: 'service-token-persons', up };
