// Read queries over sessions and statements, shared by the SQLite and PostgreSQL stores (kysely).
// Reads only: every write goes through the group-commit path of the store that owns the connection.

import { sql, type Kysely } from 'kysely';
import type { SessionFilter, SessionRecord, StoredStatement } from '../core/records.js';
import type { StoreDialect } from './migrations/migration.js';
import { rowToSession, rowToStatement } from './row-mapping.js';
import type { StoreTables } from './tables.js';

export const DEFAULT_SESSION_LIMIT = 50;
export const MAX_SESSION_LIMIT = 10_000;

/** Name of the lower-case function: SQLite's built-in lower() folds ASCII only, so the SQLite store
 *  registers a Unicode-aware one under this name; PostgreSQL's lower() already is. */
export function lowerFunction(dialect: StoreDialect): string {
  return dialect === 'sqlite' ? 'gatehouse_lower' : 'lower';
}

/** Escapes LIKE wildcards so user text matches literally (used with `escape '\'`). */
export function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export interface StatementCounts {
  readonly total: number;
  readonly denied: number;
  readonly review: number;
}

/**
 * Sessions newest first. `effect`, `category` and `text` select sessions having at least one
 * statement matching all of them together; `since`/`until` bound the session's start time
 * (since inclusive, until exclusive).
 */
export async function listSessions(
  db: Kysely<StoreTables>,
  dialect: StoreDialect,
  filter: SessionFilter,
): Promise<SessionRecord[]> {
  const requested = filter.limit ?? DEFAULT_SESSION_LIMIT;
  if (!Number.isFinite(requested) || requested < 1) throw new RangeError('limit must be a positive number');
  const limit = Math.min(Math.floor(requested), MAX_SESSION_LIMIT);

  let q = db.selectFrom('sessions').selectAll('sessions');
  if (filter.subject !== undefined) q = q.where('sessions.subject', '=', filter.subject);
  if (filter.issuer !== undefined) q = q.where('sessions.issuer', '=', filter.issuer);
  if (filter.agent !== undefined) q = q.where('sessions.agent', '=', filter.agent ? 1 : 0);
  if (filter.protocol !== undefined) q = q.where('sessions.protocol', '=', filter.protocol);
  if (filter.connection !== undefined) q = q.where('sessions.connection', '=', filter.connection);
  if (filter.since !== undefined) q = q.where('sessions.started_at', '>=', filter.since.getTime());
  if (filter.until !== undefined) q = q.where('sessions.started_at', '<', filter.until.getTime());

  const { effect, category, text } = filter;
  if (effect !== undefined || category !== undefined || text !== undefined) {
    const lower = sql.raw(lowerFunction(dialect));
    // categories is a JSON array of strings: match the quoted element, not a substring of one.
    const categoryNeedle = category === undefined ? '' : `%${escapeLike(JSON.stringify(category))}%`;
    const textNeedle = text === undefined ? '' : `%${escapeLike(text.toLowerCase())}%`;
    q = q.where((eb) => {
      // Correlated to the outer row: built from the outer expression builder so 'sessions.id' resolves.
      let sub = eb
        .selectFrom('statements as st')
        .select(sql`1`.as('one'))
        .whereRef('st.session_id', '=', 'sessions.id');
      if (effect !== undefined) sub = sub.where('st.effect', '=', effect);
      if (category !== undefined)
        sub = sub.where(sql<boolean>`${sql.ref('st.categories')} like ${categoryNeedle} escape '\\'`);
      if (text !== undefined)
        sub = sub.where(sql<boolean>`${lower}(${sql.ref('st.text')}) like ${textNeedle} escape '\\'`);
      if (dialect !== 'sqlite') return eb.exists(sub);
      // On SQLite a statement recorded since schema 8 is only its `statement` event (migration 0008):
      // looked for among the session's events (by key), not through the view, which SQLite would
      // build whole for a correlated filter.
      let ev = eb
        .selectFrom('session_events as ev')
        .select(sql`1`.as('one'))
        .whereRef('ev.session_id', '=', 'sessions.id')
        .where('ev.type', '=', 'statement');
      const field = (path: string) => sql`json_extract(${sql.ref('ev.data')}, ${path})`;
      if (effect !== undefined) ev = ev.where(sql<boolean>`${field('$.effect')} = ${effect}`);
      if (category !== undefined)
        ev = ev.where(sql<boolean>`${field('$.categories')} like ${categoryNeedle} escape '\\'`);
      if (text !== undefined)
        ev = ev.where(sql<boolean>`${lower}(${field('$.text')}) like ${textNeedle} escape '\\'`);
      return eb.or([eb.exists(sub), eb.exists(ev)]);
    });
  }
  const rows = await q
    .orderBy('sessions.started_at', 'desc')
    .orderBy('sessions.id', 'desc')
    .limit(limit)
    .execute();
  return rows.map(rowToSession);
}

export async function getSession(
  db: Kysely<StoreTables>,
  id: string,
): Promise<{ session: SessionRecord; statements: StoredStatement[] } | undefined> {
  const row = await db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) return undefined;
  const statements = await db
    .selectFrom('statement_records')
    .selectAll()
    .where('session_id', '=', id)
    .orderBy('seq', 'asc')
    .execute();
  return { session: rowToSession(row), statements: statements.map(rowToStatement) };
}

export async function countStatements(
  db: Kysely<StoreTables>,
  sessionId: string,
  dialect: StoreDialect,
): Promise<StatementCounts> {
  const counted = sql<number | string>`count(*)`.as('total');
  const denied = sql<number | string | null>`sum(case when effect = 'deny' then 1 else 0 end)`.as('denied');
  const review = sql<number | string | null>`sum(case when effect = 'review' then 1 else 0 end)`.as('review');
  // On SQLite the view finds each statement's result with a window over the session's events
  // (migration 0009), which a count does not need: the same rows are counted from their effects
  // alone, those `statements` still holds and the `statement` events without such a row.
  const row =
    dialect === 'sqlite'
      ? await db
          .selectFrom(
            db
              .selectFrom('statements')
              .select('effect')
              .where('session_id', '=', sessionId)
              .unionAll(
                db
                  .selectFrom('session_events as e')
                  .select(sql<string>`json_extract(e.data, '$.effect')`.as('effect'))
                  .where('e.session_id', '=', sessionId)
                  .where('e.type', '=', 'statement')
                  .where('e.statement_id', 'is not', null)
                  .where((eb) =>
                    eb.not(
                      eb.exists(
                        eb
                          .selectFrom('statements as s')
                          .select(sql`1`.as('one'))
                          .whereRef('s.id', '=', 'e.statement_id'),
                      ),
                    ),
                  ),
              )
              .as('r'),
          )
          .select([counted, denied, review])
          .executeTakeFirst()
      : // On PostgreSQL the view is `statements` joined to the events that hold reviewed bodies
        // (migration 0011), which a count does not need either: the table itself.
        await db
          .selectFrom('statements')
          .select([counted, denied, review])
          .where('session_id', '=', sessionId)
          .executeTakeFirst();
  return {
    total: Number(row?.total ?? 0),
    denied: Number(row?.denied ?? 0),
    review: Number(row?.review ?? 0),
  };
}
