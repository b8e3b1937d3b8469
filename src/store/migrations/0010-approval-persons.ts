// Schema version 10: the person behind an approval's requester and behind each vote (Identity.person:
// a verified e-mail address or the configured person claim), so that two identities of one person are
// one approver (docs/approvals.md, "One person, one vote"): the unique index refuses a second vote of
// the same person on a request whichever identity casts it, also when two replicas take the two votes
// at once. Both columns are nullable: identities that name no person (service tokens, providers that
// assert no verified address) vote as before, and an older replica writing rows without them keeps
// working.

import type { Kysely } from 'kysely';
import { sql } from 'kysely';
import type { StoreMigration } from './migration.js';

async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('approval_requests').addColumn('requester_person', 'text').execute();
  await db.schema.alterTable('approval_votes').addColumn('approver_person', 'text').execute();
  await db.schema
    .createIndex('approval_votes_person_key')
    .on('approval_votes')
    .columns(['request_id', 'approver_person'])
    .unique()
    .where(sql.ref('approver_person'), 'is not', null)
    .execute();
}

export const approvalPersons: StoreMigration = { version: 10, name: 'approval-persons', up };
