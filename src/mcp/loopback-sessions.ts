// Runs the MCP tools' SQL through the gateway's own PostgreSQL listener, over loopback, with the
// caller's token as the password: the same engine and gate as any client. Never shares a session
// between tokens, and never talks to an upstream itself.
//
// Sessions are pooled per (token, connection) so repeated tool calls do not log in each time; an
// idle session closes after `idleTimeoutMs`. A session is reused only after a plain read: anything
// that may leave state behind (SET, BEGIN, PREPARE, LISTEN, temp tables…) closes it after the call.

import { createHash } from 'node:crypto';
import pg from 'pg';
import { CappedQuery, type CappedResult } from './capped-query.js';

export interface LoopbackAddress {
  readonly host: string;
  readonly port: number;
}

export interface LoopbackOptions {
  /** The gateway's PostgreSQL listener, or undefined when it is not running. */
  readonly address: () => LoopbackAddress | undefined;
  readonly idleTimeoutMs: number;
  /** Sessions per (token, connection); more concurrent calls wait for one. */
  readonly maxPerKey?: number;
  readonly connectTimeoutMs?: number;
}

export interface LoopbackRun {
  readonly token: string;
  /** When the token expires: its sessions are not kept past it. */
  readonly expiresAt?: Date;
  readonly connection: string;
  readonly sql: string;
  readonly params?: readonly (string | null)[];
  readonly maxRows: number;
  /** False when the statement may change session state: the session is closed after it. */
  readonly reusable: boolean;
  /** Aborting closes the session, which stops the statement. */
  readonly signal?: AbortSignal;
  /**
   * Every NoticeResponse the session receives while the statement runs (the gate's "held for
   * approval" notice among them). The upstream can send notices too: treat them as hints only.
   */
  readonly onNotice?: (notice: LoopbackNotice) => void;
}

/** A NoticeResponse as the loopback session received it. */
export interface LoopbackNotice {
  readonly message: string;
  readonly detail?: string;
}

function listenForNotices(client: pg.Client, req: LoopbackRun): () => void {
  const listener = req.onNotice;
  if (!listener) return () => undefined;
  const relay = (n: { message?: unknown; detail?: unknown }) =>
    listener({
      message: typeof n.message === 'string' ? n.message : '',
      ...(typeof n.detail === 'string' ? { detail: n.detail } : {}),
    });
  client.on('notice', relay);
  return () => client.removeListener('notice', relay);
}

/** application_name of every loopback session, so records show which sessions the MCP server opened. */
export const MCP_APPLICATION_NAME = 'gatehouse-mcp';
/** The (untrusted, recorded) PostgreSQL user name the loopback sessions present. */
const MCP_CLIENT_USER = 'mcp';

interface PoolEntry {
  readonly pool: pg.Pool;
  readonly expiresAt: number;
}

export class LoopbackUnavailableError extends Error {
  override readonly name = 'LoopbackUnavailableError';
}

/** Loopback host for a listener address: wildcard binds are reached on 127.0.0.1 / ::1. */
export function loopbackHost(host: string): string {
  if (host === '0.0.0.0' || host === '' || host === 'localhost') return '127.0.0.1';
  if (host === '::' || host === '[::]') return '::1';
  return host.replace(/^\[|\]$/g, '');
}

export class LoopbackSessions {
  readonly #pools = new Map<string, PoolEntry>();
  readonly #dedicated = new Set<pg.Client>();
  #closed = false;

  constructor(private readonly options: LoopbackOptions) {}

  /** Number of open pools (one per token and connection); for tests and metrics. */
  get poolCount(): number {
    return this.#pools.size;
  }

  async run(req: LoopbackRun): Promise<CappedResult> {
    if (this.#closed) throw new LoopbackUnavailableError('the MCP server is shutting down');
    this.#sweep();
    const pool = this.#poolFor(req);
    const client = await pool.connect();
    // pg-pool listens for errors only on idle clients: a checked-out client whose socket ends (the
    // abort below, the gateway ending the session) emits 'error', which unheard would end the process.
    // The pending query is rejected on its own, and the session is not reused.
    let destroy = !req.reusable;
    const onError = () => {
      destroy = true;
    };
    client.on('error', onError);
    const onAbort = () => {
      destroy = true;
      // Closing the socket makes the gateway end the session; pg rejects the pending query.
      (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    };
    req.signal?.addEventListener('abort', onAbort, { once: true });
    const stopNotices = listenForNotices(client, req);
    try {
      if (req.signal?.aborted) onAbort();
      const query = client.query(new CappedQuery(req.sql, req.params ?? [], req.maxRows));
      const result = await query.promise;
      // A transaction left open (or failed) must not leak into the next call.
      if (client.getTransactionStatus() !== 'I') destroy = true;
      return result;
    } catch (e) {
      // After a protocol-level failure the session's state is unknown; an SQL error is fine to reuse.
      if (!(typeof e === 'object' && e !== null && 'code' in e)) destroy = true;
      else if (client.getTransactionStatus() !== 'I') destroy = true;
      throw e;
    } finally {
      stopNotices();
      req.signal?.removeEventListener('abort', onAbort);
      client.release(destroy);
      // After release: an 'error' emitted later in this tick (a destroyed socket) is still heard.
      setImmediate(() => client.removeListener('error', onError));
    }
  }

  /**
   * Runs one statement on a session of its own, closed afterwards: for a statement the gate may hold
   * for minutes while a person decides, which must not tie up the caller's pooled sessions.
   */
  async runDedicated(req: LoopbackRun): Promise<CappedResult> {
    if (this.#closed) throw new LoopbackUnavailableError('the MCP server is shutting down');
    const client = new pg.Client(this.#clientConfig(req));
    client.on('error', () => undefined);
    this.#dedicated.add(client);
    const onAbort = () =>
      (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    req.signal?.addEventListener('abort', onAbort, { once: true });
    const stopNotices = listenForNotices(client, req);
    try {
      await client.connect();
      if (req.signal?.aborted) onAbort();
      return await client.query(new CappedQuery(req.sql, req.params ?? [], req.maxRows)).promise;
    } finally {
      stopNotices();
      req.signal?.removeEventListener('abort', onAbort);
      this.#dedicated.delete(client);
      await client.end().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const pools = [...this.#pools.values()];
    this.#pools.clear();
    const dedicated = [...this.#dedicated];
    this.#dedicated.clear();
    await Promise.all([
      ...pools.map((p) => p.pool.end().catch(() => undefined)),
      ...dedicated.map((c) => c.end().catch(() => undefined)),
    ]);
  }

  #clientConfig(req: LoopbackRun): pg.ClientConfig {
    const address = this.options.address();
    if (!address) {
      throw new LoopbackUnavailableError(
        'the gateway has no PostgreSQL listener, so the MCP server cannot run SQL (configure listeners.postgres)',
      );
    }
    return {
      host: loopbackHost(address.host),
      port: address.port,
      user: MCP_CLIENT_USER,
      password: req.token,
      database: req.connection,
      application_name: MCP_APPLICATION_NAME,
      ssl: false,
      connectionTimeoutMillis: this.options.connectTimeoutMs ?? 15_000,
    };
  }

  #poolFor(req: LoopbackRun): pg.Pool {
    // Keyed by a digest of the token itself: two tokens never share a session, even for one subject
    // (their groups or expiry may differ), and the token is not kept as a map key.
    const key = `${createHash('sha256').update(req.token).digest('base64url')}\u0000${req.connection}`;
    const found = this.#pools.get(key);
    if (found) return found.pool;
    const pool = new pg.Pool({
      ...this.#clientConfig(req),
      max: this.options.maxPerKey ?? 2,
      idleTimeoutMillis: this.options.idleTimeoutMs,
    });
    // An idle session the gateway closed (idle timeout, shutdown) surfaces here; the pool drops it.
    pool.on('error', () => undefined);
    pool.on('remove', () => {
      if (pool.totalCount === 0 && pool.waitingCount === 0 && this.#pools.get(key)?.pool === pool) {
        this.#pools.delete(key);
        void pool.end().catch(() => undefined);
      }
    });
    this.#pools.set(key, { pool, expiresAt: req.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY });
    return pool;
  }

  /** Ends the pools of tokens that have expired. */
  #sweep(): void {
    const now = Date.now();
    for (const [key, entry] of this.#pools) {
      if (entry.expiresAt <= now) {
        this.#pools.delete(key);
        void entry.pool.end().catch(() => undefined);
      }
    }
  }
}
