// What one client may hold on an HTTP listener (generic HTTP, AWS, Kubernetes), and for how long: a
// client must not keep sockets, buffered bytes or upstream capacity by being slow or by being many.
//
// - The request head must arrive within `headersTimeout` (node's own check, on a fine interval).
// - The request body must arrive within `bodyTimeout` of the request's start, not counting the time
//   the gateway spends deciding it (a hold for a person's approval can take minutes), nor the time
//   a client that sent Expect: 100-continue waits to be told to send (UploadClock).
// - An idle keep-alive socket is closed after `keepAliveTimeout`.
// - A socket whose response has waited `writeStallTimeout` with no byte of it read by the client is
//   closed, and the upstream request or stream with it (../write-stall.ts; never a quiet stream).
// - One principal has at most `requestsPerPrincipal` requests in flight on a connection
//   (PrincipalRequests); past it, 429 with Retry-After, and the others' requests are untouched.
// - Before anyone is known: at most `maxConnections` sockets on the listener, of which at most
//   `unauthenticatedPerAddress` from one source address before a request on them authenticates
//   (../connection-guard.ts).

import type { IncomingMessage, ServerResponse } from 'node:http';
import type net from 'node:net';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ClientLimitsConfig } from '../../config/schema.js';
import { toMs } from '../../config/duration.js';
import { principalKey, type Identity } from '../../core/identity.js';
import type { PreauthListener, PreauthSignals } from '../../core/preauth.js';

export interface ClientLimits {
  /** Requests one principal may have in flight at once on this connection (held ones included). */
  readonly requestsPerPrincipal: number;
  /** Time from a request's start until its body is fully received, not counting the gate's decision. */
  readonly bodyTimeoutMs: number;
  /** Time for the request head (node's headersTimeout); read when the listener starts. */
  readonly headersTimeoutMs: number;
  /** An idle keep-alive socket is closed after this long; read when the listener starts. */
  readonly keepAliveTimeoutMs: number;
  /** A socket whose output waited this long, none of it read, is closed; read when a socket connects. */
  readonly writeStallTimeoutMs: number;
  /** Client sockets on the listener at once; read when the listener starts. */
  readonly maxConnections: number;
  /** Sockets one source address may hold before a request on them authenticates; read at start. */
  readonly unauthenticatedPerAddress: number;
}

export const DEFAULT_CLIENT_LIMITS: ClientLimits = {
  requestsPerPrincipal: 32,
  bodyTimeoutMs: 300_000,
  headersTimeoutMs: 20_000,
  keepAliveTimeoutMs: 65_000,
  writeStallTimeoutMs: 60_000,
  maxConnections: 1000,
  unauthenticatedPerAddress: 64,
};

/** The client limits of an http or kubernetes connection, in milliseconds. */
export function clientLimitsFrom(c: ClientLimitsConfig): ClientLimits {
  return {
    requestsPerPrincipal: c.requestsPerPrincipal,
    bodyTimeoutMs: toMs(c.bodyTimeout),
    headersTimeoutMs: toMs(c.headersTimeout),
    keepAliveTimeoutMs: toMs(c.keepAliveTimeout),
    writeStallTimeoutMs: toMs(c.writeStallTimeout),
    maxConnections: c.maxConnections,
    unauthenticatedPerAddress: c.unauthenticatedPerAddress,
  };
}

/** Server options for node:http(s) that bound a slow client's head and an idle keep-alive socket. */
export function serverTimeouts(limits: ClientLimits): {
  requestTimeout: number;
  headersTimeout: number;
  keepAliveTimeout: number;
  connectionsCheckingInterval: number;
} {
  return {
    // Node's requestTimeout would count a hold for approval against the body: UploadClock does it.
    requestTimeout: 0,
    headersTimeout: limits.headersTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Node checks headersTimeout only this often (30 s by default): a quarter of it, at most 1 s.
    connectionsCheckingInterval: Math.max(25, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
  };
}

/** Subscribes to the end of a request: the callback runs once, at once if it is already over. */
export type OnRequestEnd = (callback: () => void) => void;

const socketWatchers = new WeakMap<Duplex, Set<() => void>>();

/** Runs `callback` when the socket closes; returns how to stop watching. One 'close' listener per socket. */
function whenSocketCloses(socket: Duplex, callback: () => void): () => void {
  let watchers = socketWatchers.get(socket);
  if (!watchers) {
    const created = new Set<() => void>();
    watchers = created;
    socketWatchers.set(socket, created);
    socket.once('close', () => {
      socketWatchers.delete(socket);
      for (const w of created) w();
    });
  }
  const mine = watchers;
  mine.add(callback);
  return () => mine.delete(callback);
}

/**
 * Watches for the end of one request: its response closes (sent, or the client gone), or its socket
 * closes before the response finished. The second is needed for pipelined requests: node never
 * emits 'close' on a response still queued behind another when the socket goes. `onClientGone` runs
 * first when the client went away before the response was complete.
 */
export function watchRequestEnd(
  req: IncomingMessage,
  res: ServerResponse,
  onClientGone: () => void,
): OnRequestEnd {
  let ended = false;
  const callbacks: (() => void)[] = [];
  let unwatch = (): void => undefined;
  const end = (): void => {
    if (ended) return;
    ended = true;
    unwatch();
    if (!res.writableFinished) onClientGone();
    for (const c of callbacks.splice(0)) c();
  };
  res.once('close', end);
  const socket = req.socket as Duplex | null;
  if (!socket || socket.destroyed) end();
  else unwatch = whenSocketCloses(socket, end);
  return (callback) => {
    if (ended) callback();
    else callbacks.push(callback);
  };
}

/** The same for an upgraded socket: its request is over when the socket closes. */
export function socketEnd(socket: Duplex): OnRequestEnd {
  return (callback) => {
    if (socket.destroyed) callback();
    else socket.once('close', callback);
  };
}

/** Whether the request carries a body at all (RFC 9112 §6.3). */
function carriesBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
}

/**
 * Bounds how long the gateway waits for one request's body. It runs while the gateway waits for the
 * client, and stops while the gateway decides (`pause`/`resume` around the admission, a hold for
 * approval included) or while a client that sent Expect: 100-continue has not been told to go on.
 * When it runs out with the body not fully received, `onExpire` answers (408) and closes.
 */
export class UploadClock {
  private timer: NodeJS.Timeout | undefined;
  private leftMs: number;
  private since = 0;
  private pauses: number;
  private finished = false;
  private afterResponse = false;

  private constructor(
    private readonly req: IncomingMessage,
    limitMs: number,
    waitingForContinue: boolean,
    private readonly onExpire: () => void,
  ) {
    this.leftMs = limitMs;
    this.pauses = waitingForContinue ? 1 : 0;
    if (this.pauses === 0) this.run();
  }

  /** A clock for this request, or undefined when it has no body (nothing to wait for). */
  static start(
    req: IncomingMessage,
    onEnd: OnRequestEnd,
    limitMs: number,
    waitingForContinue: boolean,
    onExpire: () => void,
  ): UploadClock | undefined {
    if (!carriesBody(req) || req.complete) return undefined;
    const clock = new UploadClock(req, limitMs, waitingForContinue, onExpire);
    onEnd(() => clock.responded());
    return clock;
  }

  /**
   * The response is out (or the client gone). A body still coming is read and dropped by node on a
   * keep-alive socket, so the clock keeps running for it (unpaused: nothing is decided any more),
   * and the socket is closed when it runs out.
   */
  private responded(): void {
    if (this.finished) return;
    const socket = this.req.socket as Socket | null;
    if (this.req.complete || !socket || socket.destroyed) return this.stop();
    this.afterResponse = true;
    socket.once('close', () => this.stop());
    if (this.pauses > 0) {
      this.pauses = 0;
      this.run();
    }
  }

  /** The gateway is deciding (or has not asked for the body yet): this time is not the client's. */
  pause(): void {
    if (this.finished) return;
    if (this.pauses++ === 0 && this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
      this.leftMs -= Date.now() - this.since;
    }
  }

  resume(): void {
    if (this.finished || this.pauses === 0) return;
    if (--this.pauses === 0) this.run();
  }

  stop(): void {
    this.finished = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private run(): void {
    if (this.req.complete) return this.stop();
    this.since = Date.now();
    this.timer = setTimeout(() => this.expire(), Math.max(0, this.leftMs));
    this.timer.unref();
  }

  private expire(): void {
    this.timer = undefined;
    if (this.finished) return;
    this.finished = true;
    // Node sets `complete` once the parser has read the whole message, read by a consumer or not.
    if (this.req.complete) return;
    // Nobody is left to answer: the socket goes, and the rest of the body with it.
    if (this.afterResponse) {
      this.req.socket?.destroy();
      return;
    }
    this.onExpire();
  }
}

/**
 * Ends a request body that ran out of time, once its 408 is out (or the client gone): whoever reads
 * it (a buffered read, the upstream request it streams into) gets an error, so the upstream request
 * is aborted too. Node does not end it by itself: once its response is sent, the request is no
 * longer among those it aborts when the socket closes.
 */
export function dropBodyWhenAnswered(req: IncomingMessage, onEnd: OnRequestEnd): void {
  onEnd(() => {
    req.on('error', () => undefined);
    req.destroy(new Error('the request body did not arrive in time'));
  });
}

/**
 * Rule ids of the refusals a client's limits make, recorded like any deny on every HTTP-family
 * listener (generic HTTP, AWS, Kubernetes) once the principal is known: a principal past its in-flight
 * requests (429), and a body that did not arrive in time before the request was decided (408: a body
 * read whole for review). A body that runs out of time after its request was admitted is recorded as
 * that request's result (`client_timeout`).
 */
export const REQUEST_LIMIT_RULE = 'http-request-limit';
export const BODY_TIMEOUT_RULE = 'http-body-timeout';

/** The message of a 408 for a body that did not arrive in time. */
export function bodyTimeoutMessage(limitMs: number): string {
  return `Gatehouse stopped waiting for the request body: it did not arrive within ${formatMs(limitMs)} of the request's start (not counting time held for approval). Send the body without pausing, or ask for a longer bodyTimeout.`;
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/**
 * Requests in flight per principal (issuer, subject, agent or not: src/core/identity.ts) on one connection. A slot is taken once the
 * caller is known, before anything is decided or sent upstream, and given back exactly once, when
 * the response closes (sent, refused, or the client gone) or, for an upgrade, when its socket does.
 */
export class PrincipalRequests {
  private readonly inFlight = new Map<string, number>();

  /** In flight now for this principal (tests, metrics). */
  count(identity: Pick<Identity, 'issuer' | 'subject' | 'agent'>): number {
    return this.inFlight.get(principalKey(identity)) ?? 0;
  }

  /**
   * Takes a slot, given back when the request ends (`onEnd`; already over: at once). Returns false,
   * taking nothing, when the principal already has `max` in flight.
   */
  take(identity: Pick<Identity, 'issuer' | 'subject' | 'agent'>, max: number, onEnd: OnRequestEnd): boolean {
    const k = principalKey(identity);
    const n = this.inFlight.get(k) ?? 0;
    if (n >= max) return false;
    this.inFlight.set(k, n + 1);
    let released = false;
    onEnd(() => {
      if (released) return;
      released = true;
      const left = (this.inFlight.get(k) ?? 1) - 1;
      if (left <= 0) this.inFlight.delete(k);
      else this.inFlight.set(k, left);
    });
    return true;
  }
}

/** The message of a 429 for a principal past its in-flight limit. */
export function tooManyRequestsMessage(subject: string, max: number): string {
  return `too many requests in flight: ${subject} already has ${max} on this connection (limit ${max} per principal); wait for one to finish and retry`;
}

/** Seconds a client refused for concurrency is told to wait (Retry-After). */
export const RETRY_AFTER_SECONDS = '1';

/**
 * Answers a request that node could not parse (400) or whose head did not arrive within
 * headersTimeout (408), then closes. Not while an earlier request's response is still due on the
 * socket (a pipelined request behind a held one): a raw answer there would read as that response.
 * Not on a TLS error either (an HTTPS server hands its 'tlsClientError' on as 'clientError'): a
 * handshake that failed or did not finish within its time has no HTTP exchange to answer, and an
 * answer written there would be sent once a late handshake completed, as a 400 to a request that
 * was never read.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex, timeout: () => string): void {
  const inFlight = (socket as Duplex & { _httpMessage?: unknown })._httpMessage;
  if (!socket.writable || inFlight || isTlsError(err)) {
    socket.destroy();
    return;
  }
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') socket.end(timeout());
  else socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
}

/** An error of the TLS layer under HTTP (a handshake that timed out, or one OpenSSL refused). */
function isTlsError(err: NodeJS.ErrnoException): boolean {
  const code = err.code ?? '';
  return code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_') || 'library' in err;
}

/**
 * Reports what a listener refuses or drops on its own before a request exists (core/preauth.ts):
 * sockets node drops past maxConnections, request heads (or TLS handshakes) that did not arrive
 * within headersTimeout. The per-address guard and the credential checks report their own.
 */
export function reportListenerRefusals(
  server: net.Server,
  listener: PreauthListener,
  preauth: PreauthSignals,
): void {
  server.on('drop', (data?: { remoteAddress?: string }) =>
    preauth.refused(listener, 'connection_limit', data?.remoteAddress),
  );
  // Listened to besides the engine's own answer (a second 'clientError' listener changes nothing).
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT')
      preauth.refused(listener, 'header_timeout', (socket as Partial<Socket>).remoteAddress);
  });
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT')
      preauth.refused(listener, 'header_timeout', socket.remoteAddress);
  });
}
