// What every request handler shares: the gate's sessions, the settings of its connection, the key
// resolver, the logger, and small helpers to answer, settle and watch for a client that goes away.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { isGatewayError, type GatewayError } from '../../core/errors.js';
import type { Logger } from '../../core/ports.js';
import { holdSignal, type Admission, type AdmitOptions, type GateSession } from '../../gate/gate.js';
import type { ClientSessions } from './client-sessions.js';
import type { ErrorResponse } from './error-responses.js';
import type { AwsKeyResolver, HttpConnectionSettings } from './http-settings.js';
import type { RelayOutcome } from './response-relay.js';

export interface ExchangeDeps {
  readonly connection: string;
  readonly sessions: ClientSessions;
  readonly logger: Logger;
  readonly awsKeys?: AwsKeyResolver;
  readonly now: () => Date;
}

export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly settings: HttpConnectionSettings;
  /** The client sent Expect: 100-continue and has not been told to go on yet. */
  expectContinue: boolean;
  /** The request body has been (or is being) read. */
  bodyConsumed: boolean;
  /**
   * Aborted when the client goes away before the response is complete. Made when first asked for
   * (most requests never ask: an AbortController and its listeners cost a few µs each).
   */
  readonly clientGone: AbortSignal;
  /** Whether the client has gone away before the response was complete (without making clientGone). */
  readonly isClientGone: () => boolean;
}

export function newExchange(
  req: IncomingMessage,
  res: ServerResponse,
  settings: HttpConnectionSettings,
  expectContinue: boolean,
): Exchange {
  let gone: AbortController | undefined;
  let wentAway = false;
  res.once('close', () => {
    if (res.writableFinished) return;
    wentAway = true;
    gone?.abort();
  });
  return {
    req,
    res,
    settings,
    expectContinue,
    bodyConsumed: false,
    get clientGone(): AbortSignal {
      if (gone === undefined) {
        gone = new AbortController();
        if (wentAway) gone.abort();
      }
      return gone.signal;
    },
    isClientGone: () => wentAway,
  };
}

/** Lets a client that sent Expect: 100-continue send its body (RFC 9110 §10.1.1). */
export function goOn(x: Exchange): void {
  if (x.expectContinue) {
    x.expectContinue = false;
    x.res.writeContinue();
  }
  x.bodyConsumed = true;
}

/** Writes a complete error response; closes the connection when an unread body would follow. */
export function answer(x: Exchange, r: ErrorResponse): void {
  const { req, res } = x;
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const unread =
    !x.bodyConsumed &&
    !x.expectContinue &&
    (req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0');
  const headers: Record<string, string | number> = {
    ...r.headers,
    'content-length': Buffer.byteLength(r.body),
  };
  if (unread) headers['connection'] = 'close';
  res.writeHead(r.status, headers);
  res.end(req.method === 'HEAD' ? undefined : r.body);
}

/** Settles an admitted action with what the client got. */
export function settle(
  session: GateSession,
  admission: Admission,
  outcome: RelayOutcome | { error: { code: string; message: string } },
): void {
  session.settle(admission, {
    ...('masked' in outcome && outcome.masked && Object.keys(outcome.masked).length > 0
      ? { masked: outcome.masked }
      : {}),
    ...(outcome.error ? { error: outcome.error } : {}),
  });
}

export function asGatewayError(e: unknown): GatewayError | undefined {
  return isGatewayError(e) ? e : undefined;
}

/**
 * Aborted when the client goes away or its gate session ends (a revoked token ends a response
 * mid-stream), with that one's reason: the upstream call's signal. Not `AbortSignal.any`, which
 * costs about 10 µs and registers on the session's signal for as long as the session lives (one
 * more registration per request of a keep-alive client); these listeners go when the response closes.
 */
export function upstreamSignal(x: Exchange, session: GateSession): AbortSignal {
  const c = new AbortController();
  const ended = session.ended;
  if (x.isClientGone()) c.abort(x.clientGone.reason);
  else if (ended.aborted) c.abort(ended.reason);
  else {
    const onEnded = () => c.abort(ended.reason);
    ended.addEventListener('abort', onEnded, { once: true });
    // The response's close says whether the client went away (the exchange's own listener, added
    // first, has marked it by then); the session's listener goes either way.
    x.res.once('close', () => {
      ended.removeEventListener('abort', onEnded);
      if (x.isClientGone()) c.abort(x.clientGone.reason);
    });
  }
  return c.signal;
}

/** Response headers naming the approval request a held or deferred request waits on. */
export const APPROVAL_HEADERS = {
  request: 'gatehouse-approval-request',
  url: 'gatehouse-approval-url',
} as const;

/**
 * Options for `admit`: the hold signal, and a hold listener that puts the approval request's id and
 * page on whatever answer follows (the eventual 403, or the upstream's response once approved), so a
 * client or agent that reads headers can find the request without parsing the message.
 */
export function admitOptions(x: Exchange): AdmitOptions {
  return {
    // The client going away, or the connection's hold timeout, withdraws a held request.
    // Called only when the request is held: clientGone is made then, not for every request.
    signal: () => holdSignal(x.settings.holdTimeoutMs, x.clientGone)(),
    onHeld: (n) => {
      if (x.res.headersSent) return;
      x.res.setHeader(APPROVAL_HEADERS.request, n.requestId);
      x.res.setHeader(APPROVAL_HEADERS.url, n.url);
    },
  };
}
