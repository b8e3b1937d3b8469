// Schema version 11: `statement_records` has the reviewed body of a statement (HTTP, AWS, Kubernetes:
// a request body read whole for review, what its approval was bound to) as two more columns,
// `body_sha256` (hex) and `body_bytes`, null for a statement without one. So the API, the CLI's JSON
// and everything else that reads statements through the view names the body an approval covered.
//
// No column is written for it: the digest and size are read from the statement's `statement` event
// (`data.body`, docs/recording.md), which both stores write anyway. The statement's write path, the
// gateway's hot path, writes nothing more, and the event stays the one place the body is recorded.
//
// SQLite: a statement recorded since version 8 is its events only, and the view already reads its
// columns from its `statement` event: two more `json_extract`s. The rows `statements` still holds
// there were written by versions before reviewed bodies were recorded (version 8 stopped writing
// them; bodies came later), so their columns are null.
//
// PostgreSQL: the view is `statements` joined to the statement's `statement` event, and only to one
// whose data has a `body` member (a `like` on the data text before any JSON is parsed: canonical JSON
// escapes every `"` inside a string, so `"body":{` is found only as a member name). A read of one
// session's statements (the store reads them so) reads that session's events: PostgreSQL carries the
// session filter across the join to the events' key. `countStatements` counts `statements` itself.
//
// Only adds (two columns at the end of the view): an older replica reading the view with `select *`
// ignores them. The other columns are copied from 0009, not imported (a migration is a snapshot).

import { sql, type Kysely } from 'kysely';
import type { StoreMigration } from './migration.js';

const COLUMNS = `id, session_id, seq, at, via, "text", kind, categories, effect, rule_id, message, params,
  duration_ms, row_count, error_code, error_message, masked, lineage`;

/** As in 0009, with the reviewed body's digest and size from the `statement` event. */
const FROM_EVENTS = `select e.statement_id as id, e.session_id as session_id,
    json_extract(e.data, '$.seq') as seq, e.at as at, json_extract(e.data, '$.via') as via,
    json_extract(e.data, '$.text') as "text", json_extract(e.data, '$.kind') as kind,
    json_extract(e.data, '$.categories') as categories, json_extract(e.data, '$.effect') as effect,
    json_extract(e.data, '$.ruleId') as rule_id, json_extract(e.data, '$.message') as message,
    json_extract(e.data, '$.params') as params, json_extract(r.data, '$.durationMs') as duration_ms,
    json_extract(r.data, '$.rows') as row_count, json_extract(r.data, '$.error.code') as error_code,
    json_extract(r.data, '$.error.message') as error_message, json_extract(r.data, '$.masked') as masked,
    json_extract(e.data, '$.lineage') as lineage, json_extract(e.data, '$.body.sha256') as body_sha256,
    json_extract(e.data, '$.body.bytes') as body_bytes
  from (select session_id, seq, type, at, statement_id, data,
          min(case when type = 'result' then seq end) over (
            partition by session_id, statement_id order by seq
            rows between 1 following and unbounded following) as result_seq
        from session_events
        where statement_id is not null and type in ('statement', 'result')) e
  left join session_events r on r.session_id = e.session_id and r.seq = e.result_seq
  where e.type = 'statement'
    and not exists (select 1 from statements s where s.id = e.statement_id)`;

const PG_VIEW = `create or replace view statement_records as
  select s.id, s.session_id, s.seq, s.at, s.via, s."text", s.kind, s.categories, s.effect, s.rule_id,
    s.message, s.params, s.duration_ms, s.row_count, s.error_code, s.error_message, s.masked, s.lineage,
    b.data::jsonb #>> '{body,sha256}' as body_sha256, (b.data::jsonb #>> '{body,bytes}')::int8 as body_bytes
  from statements s
  left join session_events b on b.session_id = s.session_id and b.statement_id = s.id
    and b.type = 'statement' and b.data like '%"body":{%'`;

async function up(db: Kysely<unknown>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  if (dialect === 'postgres') {
    await sql.raw(PG_VIEW).execute(db);
    return;
  }
  await sql.raw('drop view statement_records').execute(db);
  await sql
    .raw(
      `create view statement_records as select ${COLUMNS}, null as body_sha256, null as body_bytes
       from statements union all ${FROM_EVENTS}`,
    )
    .execute(db);
}

export const statementBodies: StoreMigration = { version: 11, name: 'statement-bodies', up };
