// The SSH engine (docs/ssh.md): one listener for every `ssh` connection, with a host key Gatehouse keeps
// in its data dir. A client picks the connection with its user name (`ssh prod-bastion@gatehouse`),
// authenticates with its Gatehouse token (or a public key registered to its principal), and Gatehouse
// logs in to the host with the key it holds.
// ssh2 speaks the protocol on both sides; each client connection is served by client-connection.ts.

import type { AddressInfo, Server, Socket } from 'node:net';
import ssh2 from 'ssh2';
import type { Logger, UpstreamDialer } from '../../core/ports.js';
import { noPreauthSignals, type PreauthSignals } from '../../core/preauth.js';
import type { ShellLineClassifier } from '../../core/shell-command.js';
import type { Gate } from '../../gate/gate.js';
import { ConnectionGuard } from '../connection-guard.js';
import type { Engine, ListeningAddress } from '../engine.js';
import { SshClientConnection } from './client-connection.js';
import type { SshKeyLogin } from './key-registry.js';
import type { SshConnectionSettings } from './ssh-settings.js';

export interface SshEngineOptions {
  readonly host: string;
  readonly port: number;
  readonly gate: Gate;
  readonly dialer: UpstreamDialer;
  readonly logger: Logger;
  /** The listener's host private key (OpenSSH or PEM). */
  readonly hostKey: string;
  /** Read at every login, so a reload applies to new connections; undefined: no such connection. */
  readonly settings: (connection: string) => SshConnectionSettings | undefined;
  /** The shell-command classifier (src/shell) for exec commands and reconstructed lines. */
  readonly classify: ShellLineClassifier;
  readonly authTimeoutMs: number;
  /** A client that reads none of the output waiting for it this long is closed (write-stall.ts). */
  readonly writeStallTimeoutMs: number;
  readonly maxConnections: number;
  /**
   * Connections one source address may hold before they authenticate; default 64. An authenticated
   * connection stops counting: the gate bounds its principal's sessions.
   */
  readonly unauthenticatedPerAddress?: number;
  readonly maxChannels: number;
  /** Public keys registered to principals (`gatehouse ssh add-key`); absent: token logins only. */
  readonly keys?: SshKeyLogin;
  /** Where refusals before authentication go (counted and logged, rate-limited: core/preauth.ts). */
  readonly preauth?: PreauthSignals;
}

export class SshEngine implements Engine {
  readonly protocol = 'ssh';
  private readonly server: ssh2.Server;
  private readonly clients = new Set<SshClientConnection>();
  private readonly guard: ConnectionGuard;

  constructor(private readonly options: SshEngineOptions) {
    this.guard = new ConnectionGuard(
      options.unauthenticatedPerAddress ?? DEFAULT_UNAUTHENTICATED_PER_ADDRESS,
    );
    this.server = new ssh2.Server(
      { hostKeys: [options.hostKey], ident: 'Gatehouse' },
      (conn: ssh2.Connection, info: ssh2.ClientInfo) => {
        // Authenticated: it no longer counts against its address (ssh2 keeps the socket as `_sock`).
        const socket = (conn as unknown as { _sock?: Socket })._sock;
        if (socket) conn.once('ready', () => this.guard.authenticated(socket));
        const client = new SshClientConnection(
          {
            gate: options.gate,
            dialer: options.dialer,
            logger: options.logger,
            settings: options.settings,
            classify: options.classify,
            authTimeoutMs: options.authTimeoutMs,
            writeStallTimeoutMs: options.writeStallTimeoutMs,
            maxChannels: options.maxChannels,
            ...(options.keys ? { keys: options.keys } : {}),
            ...(options.preauth ? { preauth: options.preauth } : {}),
          },
          conn,
          info,
          () => this.clients.delete(client),
        );
        this.clients.add(client);
      },
    );
    // Hostile clients (garbage, oversized packets) end their own connection, never the listener.
    this.server.on('error', (err: Error) => options.logger.error({ err: err.message }, 'ssh listener error'));
    // ssh2 closes connections beyond this at once (its own counter of open client connections).
    const counted = this.server as unknown as {
      maxConnections: number;
      _connections: number;
      _srv: Server;
    };
    counted.maxConnections = options.maxConnections;
    // Said before ssh2's own handler destroys the socket (same check as ssh2's, on its counter).
    const preauth = options.preauth ?? noPreauthSignals;
    counted._srv.prependListener('connection', (socket: Socket) => {
      if (counted._connections >= counted.maxConnections) {
        preauth.refused('ssh', 'connection_limit', socket.remoteAddress);
        return;
      }
      // One source address cannot hold the listener's slots with connections that never
      // authenticate (each lasts authTimeout, and is opened again). Destroyed before ssh2 reads a
      // byte of it: ssh2's own handler then serves a closed socket, which ends at once.
      if (!this.guard.admit(socket)) {
        preauth.refused('ssh', 'address_limit', socket.remoteAddress);
        socket.destroy();
      }
    });
  }

  get liveSessions(): number {
    let n = 0;
    for (const c of this.clients) if (c.gateSession) n++;
    return n;
  }

  start(): Promise<ListeningAddress> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        const addr = this.server.address() as AddressInfo;
        resolve({ host: addr.address, port: addr.port });
      });
    });
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const c of [...this.clients]) c.close('gateway shutting down');
    await closed;
  }
}

/** The default of listeners.ssh.unauthenticatedPerAddress (src/config/schema.ts). */
const DEFAULT_UNAUTHENTICATED_PER_ADDRESS = 64;
