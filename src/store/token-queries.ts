// Service-token metadata reads and writes, shared by both stores (kysely, autocommit: each resolves
// once durable). Token values are never stored here: only ids (jti) and what was issued to whom.

import type { Kysely } from 'kysely';
import type { ServiceTokenRecord } from '../core/records.js';
import { rowToToken, tokenToRow } from './row-mapping.js';
import type { StoreTables } from './tables.js';

/** Inserts a token's metadata; rejects if a token with this id is already stored. */
export async function saveServiceToken(db: Kysely<StoreTables>, record: ServiceTokenRecord): Promise<void> {
  await db.insertInto('service_tokens').values(tokenToRow(record)).execute();
}

export async function getServiceToken(
  db: Kysely<StoreTables>,
  id: string,
): Promise<ServiceTokenRecord | undefined> {
  const row = await db.selectFrom('service_tokens').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? rowToToken(row) : undefined;
}

/** Newest first. */
export async function listServiceTokens(db: Kysely<StoreTables>): Promise<ServiceTokenRecord[]> {
  const rows = await db
    .selectFrom('service_tokens')
    .selectAll()
    .orderBy('issued_at', 'desc')
    .orderBy('id')
    .execute();
  return rows.map(rowToToken);
}

/**
 * Marks a token revoked. True when the token is known (a second revocation keeps the first time);
 * false when no token has this id.
 */
export async function revokeServiceToken(db: Kysely<StoreTables>, id: string, at: Date): Promise<boolean> {
  const t = at.getTime();
  if (!Number.isFinite(t)) throw new TypeError('invalid revocation time');
  const r = await db
    .updateTable('service_tokens')
    .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.val(t)) }))
    .where('id', '=', id)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** True only for a known token that has been revoked; an unknown id is not "revoked" (see getServiceToken). */
export async function isRevoked(db: Kysely<StoreTables>, id: string): Promise<boolean> {
  const row = await db
    .selectFrom('service_tokens')
    .select('revoked_at')
    .where('id', '=', id)
    .executeTakeFirst();
  return row !== undefined && row.revoked_at !== null;
}
