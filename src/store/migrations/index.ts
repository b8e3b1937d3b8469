// The ordered list of store schema migrations. To add tables (approvals, hash chain, revocations):
// write `NNNN-what.ts` next to this file exporting a StoreMigration with the next version, append it
// here, and add its row types to ../tables.ts.

import type { StoreMigration } from './migration.js';
import { sessionsStatementsTokens } from './0001-sessions-statements-tokens.js';
import { sessionEvents } from './0002-session-events.js';
import { approvals } from './0003-approvals.js';
import { agents } from './0004-agents.js';
import { sshKeys } from './0005-ssh-keys.js';
import { recordStaging } from './0006-record-staging.js';
import { recordJournals } from './0007-record-journals.js';
import { statementRecords } from './0008-statement-records.js';
import { resultsByWindow } from './0009-results-by-window.js';
import { approvalPersons } from './0010-approval-persons.js';
import { statementBodies } from './0011-statement-bodies.js';
import { serviceTokenPersons } from './0012-service-token-persons.js';

export const STORE_MIGRATIONS: readonly StoreMigration[] = [
  sessionsStatementsTokens,
  sessionEvents,
  approvals,
  agents,
  sshKeys,
  recordStaging,
  recordJournals,
  statementRecords,
  resultsByWindow,
  approvalPersons,
  statementBodies,
  serviceTokenPersons,
];

export type { StoreDialect, StoreMigration } from './migration.js';
