// Schema version 6's staging tables, `statements_recent` and `session_events_recent`: version 6 of
// the SQLite store appended statements and events there and folded them into `statements` and
// `session_events` a few times a second. This version writes the record journal instead
// (record-journal.ts) and never writes these tables; what an older version left in them (a crash,
// or an older gateway still running on the same file) is folded at open and before every read, so no
// acknowledged row of it is ever out of the record's tables when they are read.

import type Database from 'better-sqlite3';
import { EVENT_COLUMNS, STATEMENT_COLUMNS } from './record-journal.js';

const ANY_STAGED =
  'select exists(select 1 from statements_recent) or exists(select 1 from session_events_recent) as n';
const FOLD = `insert into statements (${STATEMENT_COLUMNS})
    select ${STATEMENT_COLUMNS} from statements_recent order by session_id, seq;
  insert into session_events (${EVENT_COLUMNS})
    select ${EVENT_COLUMNS} from session_events_recent order by session_id, seq;
  delete from statements_recent;
  delete from session_events_recent;`;

export class LegacyStaging {
  readonly #anyStaged: Database.Statement<[], { n: number }>;
  readonly #fold: () => void;

  constructor(db: Database.Database) {
    this.#anyStaged = db.prepare<[], { n: number }>(ANY_STAGED);
    const fold = db.transaction(() => db.exec(FOLD));
    this.#fold = () => fold.immediate();
  }

  /** Folds the staging tables' rows into the record's tables when there are any. Throws when it fails. */
  foldIfStaged(): void {
    if (this.#anyStaged.get()?.n === 1) this.#fold();
  }
}
