// Schema version 8: `statement_records`, the view the record's statements are read through (the
// API, the CLI, the console), with the columns of `statements`.
//
// On SQLite a statement recorded from now on is written once: as its `statement` event, and its
// result as its `result` event (session_events); those events hold every column `statements` has
// (docs/recording.md §Event types). Writing a `statements` row beside them and updating it with the
// result was about a tenth of a statement's CPU at `pgbench -c 8` (docs/performance.md, "One write of
// a statement"). The view reads the rows `statements` still holds (written before this version, or
// folded from an older version's journals and staging) and, for every `statement` event without such
// a row, the columns from the event and from the first `result` event of that statement after it.
//
// On PostgreSQL the store still writes `statements` (one commit per batch there; the rows cost no
// extra commit), and the view is that table as it is. Only adds: an older version keeps writing and
// reading `statements` (on SQLite its reads then miss the statements written as events only).

import { sql, type Kysely } from 'kysely';
import type { StoreMigration } from './migration.js';

const COLUMNS = `id, session_id, seq, at, via, "text", kind, categories, effect, rule_id, message, params,
  duration_ms, row_count, error_code, error_message, masked, lineage`;

/** The statements recorded only as events (SQLite), in the columns of `statements`. */
const FROM_EVENTS = `select e.statement_id as id, e.session_id as session_id,
    json_extract(e.data, '$.seq') as seq, e.at as at, json_extract(e.data, '$.via') as via,
    json_extract(e.data, '$.text') as "text", json_extract(e.data, '$.kind') as kind,
    json_extract(e.data, '$.categories') as categories, json_extract(e.data, '$.effect') as effect,
    json_extract(e.data, '$.ruleId') as rule_id, json_extract(e.data, '$.message') as message,
    json_extract(e.data, '$.params') as params, json_extract(r.data, '$.durationMs') as duration_ms,
    json_extract(r.data, '$.rows') as row_count, json_extract(r.data, '$.error.code') as error_code,
    json_extract(r.data, '$.error.message') as error_message, json_extract(r.data, '$.masked') as masked,
    json_extract(e.data, '$.lineage') as lineage
  from session_events e
  left join session_events r on r.rowid = (
    select r2.rowid from session_events r2 indexed by session_events_result_key
    where r2.session_id = e.session_id and r2.seq > e.seq and r2.type = 'result'
      and r2.statement_id = e.statement_id
    order by r2.seq limit 1)
  where e.type = 'statement' and e.statement_id is not null
    and not exists (select 1 from statements s where s.id = e.statement_id)`;

async function up(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  if (dialect === 'postgres') {
    await sql.raw(`create view statement_records as select ${COLUMNS} from statements`).execute(db);
    return;
  }
  // A statement's result is found by key: a statement never answered (a refusal, say) would otherwise
  // be looked for to the end of its session, for every such statement of it. One entry per result.
  await sql
    .raw(
      "create index session_events_result_key on session_events (session_id, statement_id) where type = 'result'",
    )
    .execute(db);
  await sql
    .raw(`create view statement_records as select ${COLUMNS} from statements union all ${FROM_EVENTS}`)
    .execute(db);
}

export const statementRecords: StoreMigration = { version: 8, name: 'statement-records', up };
