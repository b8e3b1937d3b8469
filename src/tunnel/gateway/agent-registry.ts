// Registered agents, their join tokens and their live connections, in the gateway's store (SQLite or
// PostgreSQL, same queries), so the CLI and every replica see the same agents. Redeeming a join token
// is a conditional update: of two agents presenting the same token, exactly one wins.

import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { hashSecret, secretMatches, type JoinToken } from '../join-token.js';
import type { RefusalCode } from '../handshake.js';
import type { AgentConnectionsTable, AgentTables } from './agent-tables.js';

export interface RegisteredAgent {
  readonly id: string;
  readonly name: string;
  readonly publicKey: string;
  readonly hostname: string;
  readonly version: string;
  readonly createdAt: Date;
  readonly revokedAt?: Date;
  readonly lastSeenAt?: Date;
}

export interface AgentConnectionRow {
  readonly id: string;
  readonly agentId: string;
  readonly name: string;
  readonly replica: string;
  readonly address: string;
  readonly version: string;
  readonly connectedAt: Date;
  readonly heartbeatAt: Date;
  readonly activeStreams: number;
  readonly totalStreams: number;
}

export interface PendingJoinToken {
  readonly id: string;
  readonly name: string;
  readonly createdAt: Date;
  readonly expiresAt: Date;
}

export type RedeemResult =
  | { readonly ok: true; readonly agent: RegisteredAgent }
  | { readonly ok: false; readonly code: RefusalCode; readonly message: string };

export const AGENT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

function toAgent(r: AgentTables['agents']): RegisteredAgent {
  return {
    id: r.id,
    name: r.name,
    publicKey: r.public_key,
    hostname: r.hostname,
    version: r.version,
    createdAt: new Date(Number(r.created_at)),
    ...(r.revoked_at !== null ? { revokedAt: new Date(Number(r.revoked_at)) } : {}),
    ...(r.last_seen_at !== null ? { lastSeenAt: new Date(Number(r.last_seen_at)) } : {}),
  };
}

function toConnection(r: AgentConnectionsTable): AgentConnectionRow {
  return {
    id: r.id,
    agentId: r.agent_id,
    name: r.name,
    replica: r.replica,
    address: r.address,
    version: r.version,
    connectedAt: new Date(Number(r.connected_at)),
    heartbeatAt: new Date(Number(r.heartbeat_at)),
    activeStreams: Number(r.active_streams),
    totalStreams: Number(r.total_streams),
  };
}

export class AgentRegistry {
  private readonly db: Kysely<AgentTables>;

  /** `db`: the store's kysely connection (`store.getKysely()`), whatever its table types. */
  constructor(db: unknown) {
    this.db = db as Kysely<AgentTables>;
  }

  /** Stores a new join token for NAME (the secret only as a hash). */
  async createJoinToken(
    name: string,
    token: JoinToken,
    ttlMs: number,
    now = new Date(),
  ): Promise<PendingJoinToken> {
    if (!AGENT_NAME_PATTERN.test(name))
      throw new Error('an agent name is 1-63 letters, digits, _ . - (starting with a letter or digit)');
    const row = {
      id: token.id,
      name,
      secret_hash: hashSecret(token.secret),
      created_at: now.getTime(),
      expires_at: now.getTime() + ttlMs,
      used_at: null,
      agent_id: null,
      revoked_at: null,
    };
    await this.db.insertInto('agent_join_tokens').values(row).execute();
    return { id: row.id, name, createdAt: now, expiresAt: new Date(row.expires_at) };
  }

  /**
   * Redeems a join token for a new agent with this public key. Single use: the token is marked used
   * by a conditional update before the agent is created, so a second presenter always loses.
   */
  async redeemJoinToken(
    token: { id: string; secret: string },
    agent: { publicKey: string; hostname: string; version: string },
    now = new Date(),
  ): Promise<RedeemResult> {
    const row = await this.db
      .selectFrom('agent_join_tokens')
      .selectAll()
      .where('id', '=', token.id)
      .executeTakeFirst();
    // One message for "no such token" and "wrong secret": a guesser learns nothing.
    if (!row || !secretMatches(token.secret, row.secret_hash))
      return { ok: false, code: 'token-invalid', message: 'the join token is not valid' };
    if (row.revoked_at !== null)
      return { ok: false, code: 'token-invalid', message: 'the join token was revoked' };
    if (row.used_at !== null)
      return {
        ok: false,
        code: 'token-used',
        message: 'the join token was already used; run `gatehouse agent register` for a new one',
      };
    if (Number(row.expires_at) <= now.getTime())
      return {
        ok: false,
        code: 'token-expired',
        message: 'the join token has expired; run `gatehouse agent register` for a new one',
      };
    const id = `agt_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
    const claimed = await this.db
      .updateTable('agent_join_tokens')
      .set({ used_at: now.getTime(), agent_id: id })
      .where('id', '=', token.id)
      .where('used_at', 'is', null)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) !== 1)
      return { ok: false, code: 'token-used', message: 'the join token was already used' };
    const created = {
      id,
      name: row.name,
      public_key: agent.publicKey,
      hostname: agent.hostname,
      version: agent.version,
      join_token_id: row.id,
      created_at: now.getTime(),
      revoked_at: null,
      last_seen_at: now.getTime(),
    };
    await this.db.insertInto('agents').values(created).execute();
    return { ok: true, agent: toAgent(created) };
  }

  async findAgent(id: string): Promise<RegisteredAgent | undefined> {
    const r = await this.db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toAgent(r) : undefined;
  }

  async listAgents(): Promise<RegisteredAgent[]> {
    const rows = await this.db
      .selectFrom('agents')
      .selectAll()
      .orderBy('name')
      .orderBy('created_at')
      .execute();
    return rows.map(toAgent);
  }

  async listPendingJoinTokens(now = new Date()): Promise<PendingJoinToken[]> {
    const rows = await this.db
      .selectFrom('agent_join_tokens')
      .selectAll()
      .where('used_at', 'is', null)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', now.getTime())
      .orderBy('created_at')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      createdAt: new Date(Number(r.created_at)),
      expiresAt: new Date(Number(r.expires_at)),
    }));
  }

  /**
   * Revokes every agent registered under NAME (or the one with this id) and every unused join token
   * for it. Returns how many agents were revoked and how many tokens cancelled.
   */
  async revoke(nameOrId: string, now = new Date()): Promise<{ agents: number; tokens: number }> {
    const byId = nameOrId.startsWith('agt_');
    const agents = await this.db
      .updateTable('agents')
      .set({ revoked_at: now.getTime() })
      .where(byId ? 'id' : 'name', '=', nameOrId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    const tokens = byId
      ? { numUpdatedRows: 0n }
      : await this.db
          .updateTable('agent_join_tokens')
          .set({ revoked_at: now.getTime() })
          .where('name', '=', nameOrId)
          .where('used_at', 'is', null)
          .where('revoked_at', 'is', null)
          .executeTakeFirst();
    return { agents: Number(agents.numUpdatedRows), tokens: Number(tokens.numUpdatedRows) };
  }

  /** Which of these agents are revoked (polled by the hub so a revocation ends live links). */
  async revokedAmong(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.db
      .selectFrom('agents')
      .select('id')
      .where('id', 'in', [...ids])
      .where('revoked_at', 'is not', null)
      .execute();
    return new Set(rows.map((r) => r.id));
  }

  async noteSeen(id: string, version: string, hostname: string, now = new Date()): Promise<void> {
    await this.db
      .updateTable('agents')
      .set({ last_seen_at: now.getTime(), version, hostname })
      .where('id', '=', id)
      .execute();
  }

  // ---- live connections (one row per agent connection, per replica) ----------------------------

  async saveConnection(c: AgentConnectionRow): Promise<void> {
    const row: AgentConnectionsTable = {
      id: c.id,
      agent_id: c.agentId,
      name: c.name,
      replica: c.replica,
      address: c.address,
      version: c.version,
      connected_at: c.connectedAt.getTime(),
      heartbeat_at: c.heartbeatAt.getTime(),
      active_streams: c.activeStreams,
      total_streams: c.totalStreams,
    };
    await this.db
      .insertInto('agent_connections')
      .values(row)
      .onConflict((oc) =>
        oc.column('id').doUpdateSet({
          heartbeat_at: row.heartbeat_at,
          active_streams: row.active_streams,
          total_streams: row.total_streams,
        }),
      )
      .execute();
  }

  async removeConnection(id: string): Promise<void> {
    await this.db.deleteFrom('agent_connections').where('id', '=', id).execute();
  }

  /** Connections whose last heartbeat is newer than `since` (older ones belong to a dead replica). */
  async liveConnections(since: Date): Promise<AgentConnectionRow[]> {
    const rows = await this.db
      .selectFrom('agent_connections')
      .selectAll()
      .where('heartbeat_at', '>=', since.getTime())
      .orderBy('name')
      .orderBy('connected_at')
      .execute();
    return rows.map(toConnection);
  }

  /** Forgets connection rows left by replicas that stopped without cleaning up. */
  async purgeStaleConnections(before: Date): Promise<void> {
    await this.db.deleteFrom('agent_connections').where('heartbeat_at', '<', before.getTime()).execute();
  }
}
