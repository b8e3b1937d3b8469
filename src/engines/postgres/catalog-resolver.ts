// Resolves RowDescription origins (table OID + column number) to schema.table.column names through
// the gateway's own upstream connection, so column masking rules follow a column through aliases and
// subqueries. Shared per connection target, bounded, refreshed after DDL. Never sends client text.

import type { ColumnRef } from '../../core/masking.js';
import type { ColumnSource, ResolvedColumnRef } from '../../masking/result-masker.js';
import { BackendCode, decodeDataRow, decodeErrorFields, encode } from '../../wire/postgres/index.js';
import { openUpstream, type UpstreamSession, type UpstreamTarget } from './upstream-connection.js';

export interface CatalogColumn {
  readonly name: string;
  readonly typeOid: number;
}

interface TableEntry {
  readonly at: number;
  readonly schema: string;
  readonly table: string;
  readonly columns: ReadonlyMap<number, CatalogColumn>;
  /** Live (not dropped) columns in attnum order: the fields of the table's row type. */
  readonly ordered: readonly CatalogColumn[];
}

export interface CatalogResolverOptions {
  /** Entries older than this are fetched again (another session's ALTER TABLE is seen within it). */
  readonly ttlMs?: number;
  /** Tables kept per connection target; the oldest are dropped beyond it. */
  readonly maxTables?: number;
  /** Longest wait for one catalog query. */
  readonly queryTimeoutMs?: number;
  /** The catalog connection is closed after this long without a query. */
  readonly idleMs?: number;
  readonly now?: () => number;
}

/** A minimal simple-query client over the gateway's own login (55.2.2), text results only. */
class CatalogConnection {
  private pending:
    | {
        rows: (string | null)[][];
        error?: string;
        resolve: (r: (string | null)[][]) => void;
        reject: (e: Error) => void;
      }
    | undefined;
  closed = false;

  constructor(private readonly up: UpstreamSession) {
    // Never keeps the process alive, and never outlives a dropped upstream quietly.
    up.socket.unref();
    up.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    up.socket.on('error', () => this.close());
    up.socket.on('close', () => this.close());
  }

  query(sql: string, timeoutMs: number): Promise<(string | null)[][]> {
    if (this.closed) return Promise.reject(new Error('catalog connection closed'));
    if (this.pending) return Promise.reject(new Error('catalog query already running'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.close();
      }, timeoutMs);
      timer.unref();
      this.pending = {
        rows: [],
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.up.socket.write(encode.query(sql));
    });
  }

  private onData(chunk: Buffer): void {
    try {
      this.up.reader.push(chunk);
      for (let f = this.up.reader.next(); f; f = this.up.reader.next()) {
        const p = this.pending;
        if (!p) continue;
        if (f.type === BackendCode.DataRow)
          p.rows.push(decodeDataRow(f.body).map((c) => (c === null ? null : c.toString('utf8'))));
        else if (f.type === BackendCode.ErrorResponse) p.error = decodeErrorFields(f.body).M ?? 'error';
        else if (f.type === BackendCode.ReadyForQuery) {
          this.pending = undefined;
          if (p.error !== undefined) p.reject(new Error(`catalog query failed: ${p.error}`));
          else p.resolve(p.rows);
        }
      }
    } catch {
      this.close();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const p = this.pending;
    this.pending = undefined;
    p?.reject(new Error('catalog connection closed'));
    if (!this.up.socket.destroyed) {
      this.up.socket.end(encode.terminate());
      this.up.socket.destroySoon?.();
    }
  }
}

const DEFAULTS = { ttlMs: 60_000, maxTables: 10_000, queryTimeoutMs: 5_000, idleMs: 30_000 };
/** OIDs asked for in one catalog query at most. */
const MAX_OIDS_PER_QUERY = 500;

export class CatalogResolver {
  private readonly cache = new Map<number, TableEntry>();
  private conn: CatalogConnection | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly opts: Required<Omit<CatalogResolverOptions, 'now'>>;
  private readonly now: () => number;

  constructor(
    private readonly open: () => Promise<UpstreamSession>,
    options: CatalogResolverOptions = {},
  ) {
    this.opts = { ...DEFAULTS, ...options };
    this.now = options.now ?? Date.now;
  }

  /** Table OIDs of these columns whose names are not cached (or are stale or lack that column). */
  missing(columns: readonly ColumnRef[]): number[] {
    const out = new Set<number>();
    const now = this.now();
    for (const c of columns) {
      if (c.tableOid === 0) continue;
      const e = this.cache.get(c.tableOid);
      if (!e || now - e.at > this.opts.ttlMs || (c.columnNumber > 0 && !e.columns.has(c.columnNumber)))
        out.add(c.tableOid);
    }
    return [...out];
  }

  /** Fetches these tables' columns. Never rejects: a failure leaves them unresolved (masked whole). */
  load(oids: readonly number[]): Promise<void> {
    const asked = this.now();
    // Sessions asking for the same new table at once share one query: what a queued load already
    // fetched after this request was made is not fetched again.
    const run = this.queue.then(() =>
      this.fetch(oids.filter((o) => (this.cache.get(o)?.at ?? -Infinity) < asked)),
    );
    this.queue = run.catch(() => undefined);
    return run.catch(() => undefined);
  }

  /** The columns with their sources; `'unresolved'` for a table OID the catalog did not give. */
  resolve(columns: readonly ColumnRef[]): ResolvedColumnRef[] {
    return columns.map((c) => {
      if (c.tableOid === 0) return c;
      const e = this.cache.get(c.tableOid);
      let source: ColumnSource | 'unresolved' = 'unresolved';
      if (e) {
        if (c.columnNumber === 0)
          source = { schema: e.schema, table: e.table, column: '', rowColumns: e.ordered };
        else {
          const col = e.columns.get(c.columnNumber);
          if (col) source = { schema: e.schema, table: e.table, column: col.name };
        }
      }
      return { ...c, source };
    });
  }

  /** Forget everything (after DDL in a session of this target). */
  invalidate(): void {
    this.cache.clear();
  }

  get size(): number {
    return this.cache.size;
  }

  close(): void {
    clearTimeout(this.idleTimer);
    this.conn?.close();
    this.conn = undefined;
  }

  private async connection(): Promise<CatalogConnection> {
    if (this.conn && !this.conn.closed) return this.conn;
    this.conn = new CatalogConnection(await this.open());
    return this.conn;
  }

  private async fetch(oids: readonly number[]): Promise<void> {
    if (oids.length === 0) return;
    const wanted = oids.filter((o) => Number.isInteger(o) && o > 0 && o <= 0xffffffff);
    for (let i = 0; i < wanted.length; i += MAX_OIDS_PER_QUERY) {
      const chunk = wanted.slice(i, i + MAX_OIDS_PER_QUERY);
      // OIDs are integers checked above, so they are written into the text directly.
      const sql =
        'SELECT c.oid, n.nspname, c.relname, a.attnum, a.attname, a.atttypid ' +
        'FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace ' +
        'LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ' +
        `WHERE c.oid IN (${chunk.join(',')}) ORDER BY c.oid, a.attnum`;
      const conn = await this.connection();
      const rows = await conn.query(sql, this.opts.queryTimeoutMs);
      const at = this.now();
      const tables = new Map<
        number,
        { schema: string; table: string; columns: Map<number, CatalogColumn>; ordered: CatalogColumn[] }
      >();
      for (const [oid, schema, table, attnum, attname, atttypid] of rows) {
        const key = Number(oid);
        let t = tables.get(key);
        if (!t) {
          t = { schema: schema ?? '', table: table ?? '', columns: new Map(), ordered: [] };
          tables.set(key, t);
        }
        if (attnum !== null && attnum !== undefined && attname !== null && attname !== undefined) {
          const col = { name: attname, typeOid: Number(atttypid) };
          t.columns.set(Number(attnum), col);
          t.ordered.push(col);
        }
      }
      for (const [oid, t] of tables) {
        this.cache.delete(oid);
        this.cache.set(oid, { at, ...t });
      }
      while (this.cache.size > this.opts.maxTables) {
        const oldest = this.cache.keys().next().value as number;
        this.cache.delete(oldest);
      }
    }
    this.armIdle();
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.conn?.close();
      this.conn = undefined;
    }, this.opts.idleMs);
    this.idleTimer.unref();
  }
}

const resolvers = new WeakMap<UpstreamTarget, CatalogResolver>();

/**
 * The resolver for a connection target, shared by its sessions. Targets are rebuilt on config reload,
 * so a changed upstream gets a fresh resolver (the old one closes its connection when idle).
 */
export function catalogResolverFor(target: UpstreamTarget, maxMessageBytes: number): CatalogResolver {
  let r = resolvers.get(target);
  if (!r) {
    r = new CatalogResolver(() =>
      openUpstream(target, { application_name: 'gatehouse-catalog' }, maxMessageBytes),
    );
    resolvers.set(target, r);
  }
  return r;
}
