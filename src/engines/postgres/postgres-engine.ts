// The PostgreSQL engine: a listener that speaks the PostgreSQL wire protocol to clients and relays
// to the configured upstream through the gate. Connection limits and TLS live here; policy does not.

import net from 'node:net';
import type { Logger } from '../../core/ports.js';
import { noPreauthSignals, type PreauthSignals } from '../../core/preauth.js';
import type { SqlClassifier } from '../../core/sql-statement.js';
import type { Gate } from '../../gate/gate.js';
import { SqlState, encode } from '../../wire/postgres/index.js';
import { ConnectionGuard } from '../connection-guard.js';
import { PrincipalBytes } from '../principal-bytes.js';
import type { Engine, ListeningAddress } from '../engine.js';
import { CancelRegistry, ClientConnection, type ListenerSettings } from './client-connection.js';
import type { LineageDeps } from './statement-lineage.js';
import type { UpstreamTarget } from './upstream-connection.js';

export interface PostgresEngineOptions {
  readonly host: string;
  readonly port: number;
  readonly maxConnections: number;
  /**
   * Connections one source address may hold before they authenticate (class 182); default 64. An
   * authenticated session stops counting: the gate bounds its principal's sessions.
   */
  readonly unauthenticatedPerAddress?: number;
  readonly gate: Gate;
  readonly classifier: SqlClassifier;
  readonly logger: Logger;
  /** Read on every new connection, so a reload applies to new sessions. */
  readonly settings: () => ListenerSettings;
  readonly resolveConnection: (name: string) => UpstreamTarget | undefined;
  /** Column lineage for masking (docs/masking.md); without it masking follows RowDescription origins. */
  readonly lineage?: LineageDeps;
  /** Where refusals before authentication go (counted and logged, rate-limited: core/preauth.ts). */
  readonly preauth?: PreauthSignals;
}

export class PostgresEngine implements Engine {
  readonly protocol = 'postgres';
  private readonly server: net.Server;
  private readonly connections = new Set<ClientConnection>();
  private readonly cancels = new CancelRegistry();
  private readonly guard: ConnectionGuard;
  /** What each principal's sessions hold of their messages, counted together (class 215). */
  private readonly principalBytes = new PrincipalBytes();

  constructor(private readonly options: PostgresEngineOptions) {
    this.guard = new ConnectionGuard(
      options.unauthenticatedPerAddress ?? DEFAULT_UNAUTHENTICATED_PER_ADDRESS,
    );
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server.on('error', (err) => options.logger.error({ err: err.message }, 'postgres listener error'));
  }

  get liveSessions(): number {
    return this.connections.size;
  }

  /** Bytes the open connections hold on their way to clients (tests, inspection; write-stall.ts). */
  bufferedBytes(): number {
    let n = 0;
    for (const c of this.connections) n += c.bufferedBytes;
    return n;
  }

  /**
   * Bytes the open connections hold for answers the upstream has not given yet, and how many of
   * them read nothing from their client meanwhile (tests, inspection; client-connection.ts, pump).
   */
  awaited(): { bytes: number; readsHeld: number } {
    let bytes = 0;
    let readsHeld = 0;
    for (const c of this.connections) {
      const a = c.awaited;
      bytes += a.bytes;
      if (a.readsHeld) readsHeld++;
    }
    return { bytes, readsHeld };
  }

  /** Open TCP connections, including ones being refused (for health and tests). */
  openSockets(): Promise<number> {
    return new Promise((resolve) => this.server.getConnections((_e, n) => resolve(n ?? 0)));
  }

  private accept(socket: net.Socket): void {
    if (this.connections.size >= this.options.maxConnections)
      return refuse(socket, this.options.preauth, 'connection_limit', 'Gatehouse: too many connections');
    // One source address cannot hold the listener's slots with connections that never authenticate
    // (each lasts authTimeout, and is opened again): class 182.
    if (!this.guard.admit(socket))
      return refuse(
        socket,
        this.options.preauth,
        'address_limit',
        'Gatehouse: too many connections from this address that have not authenticated yet',
      );
    const conn = new ClientConnection(
      socket,
      {
        gate: this.options.gate,
        classifier: this.options.classifier,
        logger: this.options.logger,
        settings: this.options.settings,
        resolveConnection: this.options.resolveConnection,
        cancels: this.cancels,
        principalBytes: this.principalBytes,
        ...(this.options.lineage ? { lineage: this.options.lineage } : {}),
        ...(this.options.preauth ? { preauth: this.options.preauth } : {}),
        authenticated: () => this.guard.authenticated(socket),
      },
      (c) => {
        this.connections.delete(c);
        // Also when the guard's own 'close' listener was removed with the socket's others (the
        // socket handed to TLS after SSLRequest or a direct TLS handshake).
        this.guard.authenticated(socket);
      },
    );
    this.connections.add(conn);
  }

  start(): Promise<ListeningAddress> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        const addr = this.server.address() as net.AddressInfo;
        resolve({ host: addr.address, port: addr.port });
      });
    });
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    const ended: Promise<void>[] = [];
    for (const c of [...this.connections]) {
      c.fatal(SqlState.AdminShutdown, 'Gatehouse is shutting down');
      // A session with a statement in flight ends once its backend has (class 168): its record's
      // end is written before the store closes.
      ended.push(c.ending);
    }
    await closed;
    await Promise.all(ended);
  }
}

/** The default of listeners.postgres.unauthenticatedPerAddress (src/config/schema.ts). */
const DEFAULT_UNAUTHENTICATED_PER_ADDRESS = 64;

/**
 * Answers a connection refused before it is read like PostgreSQL does when max_connections is
 * reached (53300), then closes: whatever the client sends is read and dropped so its FIN is seen, and
 * the socket is destroyed in any case.
 */
function refuse(
  socket: net.Socket,
  preauth: PreauthSignals | undefined,
  reason: 'connection_limit' | 'address_limit',
  message: string,
): void {
  (preauth ?? noPreauthSignals).refused('postgres', reason, socket.remoteAddress);
  socket.on('error', () => undefined);
  socket.resume();
  socket.end(encode.errorResponse({ severity: 'FATAL', code: SqlState.TooManyConnections, message }));
  setTimeout(() => socket.destroy(), 1000).unref();
}
