// Schema version 9 (SQLite): `statement_records` finds a statement's result among its session's
// events by a window over them, not through the index `session_events_result_key`, which this
// version drops.
//
// That index (migration 0008) held one entry per `result` event, keyed by session and statement id
// (about 80 bytes): it was about a fifth of what a fold of the record journal cost per row and a
// third of the WAL pages it wrote (bench/fold-batch.bench.ts; docs/performance.md, "A result found
// without an index"). The view reads statements one session at a time (the store's reads filter on
// `session_id`); SQLite pushes that filter into the window's subquery, whose partition starts with
// `session_id`, so a read sorts the session's own events by key and nothing grows with the rest of
// the record (tested by plan in record-journal.test.ts). The result of a statement is still the first
// `result` event of that statement after it in its session: the smallest seq of a later `result` row
// in the same (session, statement id) partition.
//
// Dropping the index changes nothing an older version reads or writes: a version-8 gateway on this
// database reads the view as this version defines it, with the same results, and never names the
// index. PostgreSQL has neither the index nor these events (its view is `statements`): nothing to do
// there. The view's columns are copied from 0008, not imported: a migration is a snapshot of the
// schema it makes, and must not change when a later one is written.

import { sql, type Kysely } from 'kysely';
import type { StoreMigration } from './migration.js';

const COLUMNS = `id, session_id, seq, at, via, "text", kind, categories, effect, rule_id, message, params,
  duration_ms, row_count, error_code, error_message, masked, lineage`;

/** The statements recorded only as events, in the columns of `statements` (as in 0008). */
const FROM_EVENTS = `select e.statement_id as id, e.session_id as session_id,
    json_extract(e.data, '$.seq') as seq, e.at as at, json_extract(e.data, '$.via') as via,
    json_extract(e.data, '$.text') as "text", json_extract(e.data, '$.kind') as kind,
    json_extract(e.data, '$.categories') as categories, json_extract(e.data, '$.effect') as effect,
    json_extract(e.data, '$.ruleId') as rule_id, json_extract(e.data, '$.message') as message,
    json_extract(e.data, '$.params') as params, json_extract(r.data, '$.durationMs') as duration_ms,
    json_extract(r.data, '$.rows') as row_count, json_extract(r.data, '$.error.code') as error_code,
    json_extract(r.data, '$.error.message') as error_message, json_extract(r.data, '$.masked') as masked,
    json_extract(e.data, '$.lineage') as lineage
  from (select session_id, seq, type, at, statement_id, data,
          min(case when type = 'result' then seq end) over (
            partition by session_id, statement_id order by seq
            rows between 1 following and unbounded following) as result_seq
        from session_events
        where statement_id is not null and type in ('statement', 'result')) e
  left join session_events r on r.session_id = e.session_id and r.seq = e.result_seq
  where e.type = 'statement'
    and not exists (select 1 from statements s where s.id = e.statement_id)`;

async function up(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  if (dialect === 'postgres') return;
  await sql.raw('drop view statement_records').execute(db);
  await sql
    .raw(`create view statement_records as select ${COLUMNS} from statements union all ${FROM_EVENTS}`)
    .execute(db);
  await sql.raw('drop index if exists session_events_result_key').execute(db);
}

export const resultsByWindow: StoreMigration = { version: 9, name: 'results-by-window', up };
