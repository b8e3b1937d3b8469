// The HTTP engine: one listener per `http` connection (its `listen` address), so a client changes only
// its endpoint. AWS connections (auth aws-sigv4) take SigV4-signed requests made with a Gatehouse key;
// generic ones take `Authorization: Bearer <token>`. Plain node:http for full control of streaming.

import { randomUUID } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../core/ports.js';
import { noPreauthSignals, type PreauthSignals } from '../../core/preauth.js';
import type { Gate } from '../../gate/gate.js';
import { ConnectionGuard } from '../connection-guard.js';
import type { Engine, ListeningAddress } from '../engine.js';
import { stallMessage, watchWriteStall } from '../write-stall.js';
import { handleAws } from './aws-exchange.js';
import {
  answerClientError,
  DEFAULT_CLIENT_LIMITS,
  PrincipalRequests,
  reportListenerRefusals,
  serverTimeouts,
} from './client-limits.js';
import { ClientSessions } from './client-sessions.js';
import { awsErrorResponse, problemResponse } from './error-responses.js';
import { answer, newExchange, startUploadClock, type ExchangeDeps } from './exchange-context.js';
import { handleGeneric } from './generic-exchange.js';
import type { AwsKeyResolver, HttpConnectionSettings } from './http-settings.js';
import { splitTarget } from './request-target.js';
import { parseQuery } from './sigv4/canonical-query.js';
import { handleUpgrade } from './websocket-relay.js';

export interface HttpEngineOptions {
  /** The connection this listener serves. */
  readonly connection: string;
  readonly host: string;
  readonly port: number;
  readonly gate: Gate;
  readonly logger: Logger;
  /** Read on every request, so a reload applies at once; undefined once the connection is removed. */
  readonly settings: () => HttpConnectionSettings | undefined;
  /** Resolves Gatehouse-issued AWS access keys (AWS connections). */
  readonly awsKeys?: AwsKeyResolver;
  readonly now?: () => Date;
  /** Largest request head (default 64 KiB; SigV4 headers are long). */
  readonly maxHeaderSize?: number;
  /** Certificate and key (PEM): the listener speaks HTTPS. */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  /** Where refusals before authentication go (counted and logged, rate-limited: core/preauth.ts). */
  readonly preauth?: PreauthSignals;
}

/** The 408 for a request head that did not arrive in time (no request exists yet to answer through). */
function headTimeoutResponse(): string {
  const r = problemResponse(
    'timeout',
    'Gatehouse stopped waiting for the request head: it did not arrive within headersTimeout.',
    randomUUID(),
  );
  return (
    `HTTP/1.1 408 Request Timeout\r\ncontent-type: ${r.headers['content-type']}\r\n` +
    `content-length: ${Buffer.byteLength(r.body)}\r\nconnection: close\r\n\r\n${r.body}`
  );
}

export class HttpEngine implements Engine {
  readonly protocol = 'http';
  private readonly server: http.Server;
  private readonly sessions: ClientSessions;
  private readonly sockets = new Set<Socket>();
  private readonly deps: ExchangeDeps;
  private readonly guard: ConnectionGuard;

  constructor(private readonly options: HttpEngineOptions) {
    // The listener's own limits are read once, here (a restart applies them); the rest per request.
    const initial = options.settings();
    const limits = initial?.clientLimits ?? DEFAULT_CLIENT_LIMITS;
    const preauth = options.preauth ?? noPreauthSignals;
    // The listener kind is fixed by the connection's auth when it starts (a restart applies a change).
    const listener = initial?.aws ? 'aws' : 'http';
    this.guard = new ConnectionGuard(limits.unauthenticatedPerAddress);
    this.sessions = new ClientSessions(options.gate, (socket) => this.guard.authenticated(socket));
    this.deps = {
      connection: options.connection,
      sessions: this.sessions,
      logger: options.logger,
      ...(options.awsKeys ? { awsKeys: options.awsKeys } : {}),
      now: options.now ?? (() => new Date()),
      requests: new PrincipalRequests(),
      preauth,
      listener,
    };
    const serverOptions = {
      maxHeaderSize: options.maxHeaderSize ?? 64 * 1024,
      ...serverTimeouts(limits),
    };
    this.server = options.tls
      ? https.createServer({
          ...serverOptions,
          cert: options.tls.cert,
          key: options.tls.key,
          minVersion: 'TLSv1.2',
          // A TLS handshake is part of sending the head.
          handshakeTimeout: limits.headersTimeoutMs,
        })
      : http.createServer(serverOptions);
    this.server.maxConnections = limits.maxConnections;
    reportListenerRefusals(this.server, listener, preauth);
    this.server.on('request', (req: IncomingMessage, res: ServerResponse) => this.handle(req, res, false));
    // Without this listener Node answers 100 Continue before the gate has decided.
    this.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) =>
      this.handle(req, res, true),
    );
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.upgrade(req, socket, head),
    );
    this.server.on(options.tls ? 'secureConnection' : 'connection', (socket: Socket) => {
      if (!this.guard.admit(socket)) {
        preauth.refused(listener, 'address_limit', socket.remoteAddress);
        socket.destroy();
        return;
      }
      socket.setNoDelay(true);
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      this.watchStall(socket);
    });
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) =>
      answerClientError(err, socket, headTimeoutResponse),
    );
    this.server.on('error', (err) =>
      options.logger.error({ err: err.message, connection: options.connection }, 'http listener error'),
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

  private handle(req: IncomingMessage, res: ServerResponse, expectContinue: boolean): void {
    const settings = this.options.settings();
    this.serve(req, res, settings, expectContinue).catch((err: unknown) => {
      this.options.logger.error(
        { err: String(err), connection: this.options.connection },
        'http request failed',
      );
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'text/plain', connection: 'close' });
        res.end('Gatehouse internal error\n');
      } else res.destroy();
    });
  }

  private async serve(
    req: IncomingMessage,
    res: ServerResponse,
    settings: HttpConnectionSettings | undefined,
    expectContinue: boolean,
  ): Promise<void> {
    if (!settings) {
      res.writeHead(503, { 'content-type': 'text/plain', connection: 'close' });
      res.end(`connection ${this.options.connection} is no longer configured\n`);
      return;
    }
    const x = newExchange(req, res, settings, expectContinue);
    startUploadClock(x, settings.clientLimits.bodyTimeoutMs);
    // Generic requests are authenticated first, so a refused target is recorded against its caller.
    if (!settings.aws) return handleGeneric(this.deps, x);
    // AWS: the signature covers the target as sent, so it must split before anything is checked.
    const target = splitTarget(req.url);
    const query = 'refused' in target ? undefined : parseQuery(target.rawQuery);
    if ('refused' in target || !query) {
      const message = `Gatehouse refused the request target: ${'refused' in target ? target.refused : 'the query has a malformed %-escape'}.`;
      answer(x, awsErrorResponse('s3', 'malformed', message, 'none'));
      return;
    }
    await handleAws(this.deps, x, target, query);
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const settings = this.options.settings();
    if (!settings) {
      socket.destroy();
      return;
    }
    handleUpgrade(this.deps, settings, req, socket, head).catch((err: unknown) => {
      this.options.logger.error(
        { err: String(err), connection: this.options.connection },
        'websocket upgrade failed',
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
