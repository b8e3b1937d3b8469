// SSH public keys registered to a principal (`gatehouse ssh add-key`), in the gateway's store next to
// the service tokens (SQLite or PostgreSQL, same queries, store migration 0005), so the CLI and every
// replica see the same keys. A key is bound to a service token's record: logging in with the key is
// logging in as that token's principal, and the token's own token (same id, subject, groups and
// expiry) is what the gate authenticates — revoking the token revokes its keys, and the record of a
// key login names the principal like any other. Removing a key ends its sessions too (ssh-engine.ts).

import type { Kysely } from 'kysely';
import type { ServiceTokenRecord } from '../../core/records.js';
import { fingerprint, parsePublicKeyLine } from './ssh-keys.js';

/** Row shape of `ssh_keys` (store column conventions: epoch-ms bigints). */
interface SshKeysTable {
  fingerprint: string;
  token_id: string;
  key_type: string;
  public_key: string;
  comment: string;
  added_at: number;
  removed_at: number | null;
}

interface SshKeyTables {
  ssh_keys: SshKeysTable;
}

export interface RegisteredSshKey {
  readonly fingerprint: string;
  readonly tokenId: string;
  readonly type: string;
  /** The OpenSSH public key line (`ssh-ed25519 AAAA… comment`). */
  readonly line: string;
  readonly comment: string;
  readonly addedAt: Date;
  readonly removedAt?: Date;
}

export class SshKeyRequestError extends Error {}

const MAX_COMMENT = 200;

function toKey(r: SshKeysTable): RegisteredSshKey {
  return {
    fingerprint: r.fingerprint,
    tokenId: r.token_id,
    type: r.key_type,
    line: `${r.key_type} ${r.public_key}${r.comment ? ` ${r.comment}` : ''}`,
    comment: r.comment,
    addedAt: new Date(Number(r.added_at)),
    ...(r.removed_at !== null ? { removedAt: new Date(Number(r.removed_at)) } : {}),
  };
}

export class SshKeyRegistry {
  private readonly db: Kysely<SshKeyTables>;

  /** `db`: the store's kysely connection (`store.getKysely()`), whatever its table types. */
  constructor(db: unknown) {
    this.db = db as Kysely<SshKeyTables>;
  }

  /**
   * Registers an OpenSSH public key line to the principal of a service token. Refused when the line
   * is not a public key, or the key is already registered (to this or another token) and not removed.
   */
  async add(line: string, token: ServiceTokenRecord, now = new Date()): Promise<RegisteredSshKey> {
    const parsed = parsePublicKeyLine(line.trim());
    if (!parsed)
      throw new SshKeyRequestError(
        'not an OpenSSH public key line (`ssh-ed25519 AAAA… comment`, as in a .pub file); a private key is never registered',
      );
    const fp = fingerprint(parsed.blob);
    const row: SshKeysTable = {
      fingerprint: fp,
      token_id: token.id,
      key_type: parsed.type,
      public_key: parsed.blob.toString('base64'),
      comment: parsed.comment.replace(/[^\x20-\x7e]/g, '?').slice(0, MAX_COMMENT),
      added_at: now.getTime(),
      removed_at: null,
    };
    const existing = await this.db
      .selectFrom('ssh_keys')
      .selectAll()
      .where('fingerprint', '=', fp)
      .executeTakeFirst();
    if (existing && existing.removed_at === null)
      throw new SshKeyRequestError(
        `key ${fp} is already registered (to token ${existing.token_id}); remove it first to move it`,
      );
    if (existing) {
      // A removed key registered again: the row is reused (its fingerprint is the key).
      const r = await this.db
        .updateTable('ssh_keys')
        .set(row)
        .where('fingerprint', '=', fp)
        .where('removed_at', 'is not', null)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1)
        throw new SshKeyRequestError(`key ${fp} was registered again meanwhile`);
    } else {
      await this.db.insertInto('ssh_keys').values(row).execute();
    }
    return toKey(row);
  }

  /** Every key, newest first; removed ones only with `all`. */
  async list(options: { all?: boolean } = {}): Promise<RegisteredSshKey[]> {
    let q = this.db.selectFrom('ssh_keys').selectAll();
    if (options.all !== true) q = q.where('removed_at', 'is', null);
    const rows = await q.orderBy('added_at', 'desc').orderBy('fingerprint').execute();
    return rows.map(toKey);
  }

  /** Removes a key (by fingerprint); false when no registered key has it. */
  async remove(fp: string, now = new Date()): Promise<boolean> {
    const r = await this.db
      .updateTable('ssh_keys')
      .set({ removed_at: now.getTime() })
      .where('fingerprint', '=', fp)
      .where('removed_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** The registered (not removed) key with this blob, or undefined. */
  async find(blob: Buffer): Promise<RegisteredSshKey | undefined> {
    const row = await this.db
      .selectFrom('ssh_keys')
      .selectAll()
      .where('fingerprint', '=', fingerprint(blob))
      .where('removed_at', 'is', null)
      .executeTakeFirst();
    // The fingerprint is a hash: the blob itself must match too.
    if (!row || !Buffer.from(row.public_key, 'base64').equals(blob)) return undefined;
    return toKey(row);
  }

  /** Whether a key is still registered (for live sessions that logged in with it). */
  async isActive(fp: string): Promise<boolean> {
    const row = await this.db
      .selectFrom('ssh_keys')
      .select('removed_at')
      .where('fingerprint', '=', fp)
      .executeTakeFirst();
    return row !== undefined && row.removed_at === null;
  }
}

/** What the SSH listener needs to log a client in with a registered key. */
export interface SshKeyLogin {
  /**
   * The registered key with this blob, if it may log in now (not removed, its token neither revoked
   * nor expired); with `tokenFor`, also the token of its principal — asked for only once the client
   * has proved it holds the private key.
   */
  resolve(
    blob: Buffer,
    options?: { readonly tokenFor?: boolean },
  ): Promise<{ fingerprint: string; token?: string } | undefined>;
  /** Whether a key that logged in is still registered. */
  isActive(fingerprint: string): Promise<boolean>;
}

export interface SshKeyLoginDeps {
  readonly registry: SshKeyRegistry;
  readonly tokens: { listServiceTokens(): Promise<ServiceTokenRecord[]> };
  readonly signFor: (record: ServiceTokenRecord) => Promise<string>;
  readonly now?: () => Date;
}

export function sshKeyLogin(deps: SshKeyLoginDeps): SshKeyLogin {
  return {
    async resolve(blob, options = {}) {
      const key = await deps.registry.find(blob);
      if (!key) return undefined;
      const record = (await deps.tokens.listServiceTokens()).find((t) => t.id === key.tokenId);
      const now = (deps.now?.() ?? new Date()).getTime();
      if (!record || record.revokedAt !== undefined || record.expiresAt.getTime() <= now) return undefined;
      if (options.tokenFor !== true) return { fingerprint: key.fingerprint };
      return { fingerprint: key.fingerprint, token: await deps.signFor(record) };
    },
    isActive: (fp) => deps.registry.isActive(fp),
  };
}
