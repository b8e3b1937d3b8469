// The Kubernetes engine: one TLS listener per `kubernetes` connection (kubectl sends no bearer token
// over plain HTTP), so the kubeconfig from `gatehouse kubeconfig` changes only the server. Every request
// is classified as the API server would, decided, recorded and forwarded with the gateway's own
// credential; exec/attach/port-forward upgrades are relayed by exec-relay.ts. Plain node:https.

import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../core/ports.js';
import { noPreauthSignals, type PreauthSignals } from '../../core/preauth.js';
import type { Gate } from '../../gate/gate.js';
import { failureStatus } from '../../wire/kubernetes/status.js';
import { ConnectionGuard } from '../connection-guard.js';
import type { Engine, ListeningAddress } from '../engine.js';
import { stallMessage, watchWriteStall } from '../write-stall.js';
import {
  answerClientError,
  DEFAULT_CLIENT_LIMITS,
  PrincipalRequests,
  reportListenerRefusals,
  serverTimeouts,
} from '../http/client-limits.js';
import type { CommandClassifier } from './classify-request.js';
import { KubeClientSessions } from './client-sessions.js';
import { handleKubeUpgrade } from './exec-relay.js';
import { handleKubeRequest, type KubeRequestDeps } from './kube-request.js';
import { rawStatus, sendStatus } from './kube-responses.js';
import type { KubeConnectionSettings } from './kube-settings.js';

export interface KubernetesEngineOptions {
  readonly connection: string;
  readonly host: string;
  readonly port: number;
  readonly gate: Gate;
  readonly logger: Logger;
  /** Read on every request, so a reload applies at once; undefined once the connection is removed. */
  readonly settings: () => KubeConnectionSettings | undefined;
  /** The listener's certificate and key (PEM). */
  readonly tls: { readonly cert: Buffer; readonly key: Buffer };
  /** The shell-command classifier for exec commands (src/shell); without it every command is `unknown`. */
  readonly classifyCommand?: CommandClassifier;
  /** Where refusals before authentication go (counted and logged, rate-limited: core/preauth.ts). */
  readonly preauth?: PreauthSignals;
}

export class KubernetesEngine implements Engine {
  readonly protocol = 'kubernetes';
  private readonly server: https.Server;
  private readonly sessions: KubeClientSessions;
  private readonly sockets = new Set<Socket>();
  private readonly deps: KubeRequestDeps;
  private readonly guard: ConnectionGuard;

  constructor(private readonly options: KubernetesEngineOptions) {
    // The listener's own limits are read once, here (a restart applies them); the rest per request.
    const limits = options.settings()?.clientLimits ?? DEFAULT_CLIENT_LIMITS;
    const preauth = options.preauth ?? noPreauthSignals;
    this.guard = new ConnectionGuard(limits.unauthenticatedPerAddress);
    this.sessions = new KubeClientSessions(options.gate, options.connection, (socket) =>
      this.guard.authenticated(socket),
    );
    this.deps = {
      connection: options.connection,
      sessions: this.sessions,
      logger: options.logger,
      ...(options.classifyCommand ? { classifyCommand: options.classifyCommand } : {}),
      requests: new PrincipalRequests(),
      preauth,
    };
    this.server = https.createServer({
      cert: options.tls.cert,
      key: options.tls.key,
      minVersion: 'TLSv1.2',
      maxHeaderSize: 64 * 1024,
      ...serverTimeouts(limits),
      // A TLS handshake is part of sending the head.
      handshakeTimeout: limits.headersTimeoutMs,
    });
    this.server.maxConnections = limits.maxConnections;
    reportListenerRefusals(this.server, 'kubernetes', preauth);
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => this.handle(req, res));
    // Without this listener Node answers 100 Continue before the gate has decided.
    this.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res);
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.upgrade(req, socket, head),
    );
    this.server.on('secureConnection', (socket: Socket) => {
      if (!this.guard.admit(socket)) {
        preauth.refused('kubernetes', 'address_limit', socket.remoteAddress);
        socket.destroy();
        return;
      }
      socket.setNoDelay(true);
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      this.watchStall(socket);
    });
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) =>
      answerClientError(err, socket, () =>
        rawStatus(
          failureStatus(
            'RequestTimeout',
            'Gatehouse stopped waiting for the request head: it did not arrive within headersTimeout.',
          ),
        ),
      ),
    );
    this.server.on('tlsClientError', () => undefined);
    this.server.on('error', (err) =>
      options.logger.error({ err: err.message, connection: options.connection }, 'kubernetes listener error'),
    );
  }

  /**
   * A client that reads none of the output waiting for it for writeStallTimeout is closed; the
   * response it stalled ends with client_stalled, its upstream request or stream aborted with it.
   */
  private watchStall(socket: Socket): void {
    const limits = this.options.settings()?.clientLimits ?? DEFAULT_CLIENT_LIMITS;
    const timeoutMs = limits.writeStallTimeoutMs;
    watchWriteStall(socket, timeoutMs, () =>
      this.options.logger.warn(
        {
          connection: this.options.connection,
          client: `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`,
        },
        stallMessage(timeoutMs),
      ),
    );
  }

  get liveSessions(): number {
    return this.sessions.count;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const settings = this.options.settings();
    if (!settings) {
      sendStatus(
        res,
        failureStatus('ServiceUnavailable', `connection ${this.options.connection} is no longer configured`),
        true,
      );
      return;
    }
    handleKubeRequest(this.deps, settings, req, res).catch((err: unknown) => {
      this.options.logger.error(
        { err: String(err), connection: this.options.connection },
        'kubernetes request failed',
      );
      if (!res.headersSent && !res.destroyed)
        sendStatus(res, failureStatus('InternalError', 'Gatehouse internal error'), true);
      else res.destroy();
    });
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const settings = this.options.settings();
    if (!settings) {
      socket.destroy();
      return;
    }
    handleKubeUpgrade(this.deps, settings, req, socket, head).catch((err: unknown) => {
      this.options.logger.error(
        { err: String(err), connection: this.options.connection },
        'kubernetes upgrade failed',
      );
      socket.destroy();
    });
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
    this.server.closeIdleConnections();
    for (const s of this.sockets) s.destroy();
    await closed;
    await this.sessions.closeAll('gateway shutting down');
  }
}
