// What every request handler shares: the gate's sessions, the settings of its connection, the key
// resolver, the logger, and small helpers to answer, settle and watch for a client that goes away.

import type { PreauthListener, PreauthSignals } from '../../core/preauth.js';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { isGatewayError, type GatewayError } from '../../core/errors.js';
import type { Logger } from '../../core/ports.js';
import { holdSignal, type Admission, type AdmitOptions, type GateSession } from '../../gate/gate.js';
import type { ClientSessions } from './client-sessions.js';
import {
  bodyTimeoutMessage,
  dropBodyWhenAnswered,
  RETRY_AFTER_SECONDS,
  tooManyRequestsMessage,
  UploadClock,
  watchRequestEnd,
  type OnRequestEnd,
  type PrincipalRequests,
} from './client-limits.js';
import { problemResponse, type ErrorResponse, type Failure } from './error-responses.js';
import type { AwsKeyResolver, HttpConnectionSettings } from './http-settings.js';
import { declaredLength, readUpTo } from './request-body.js';
import type { RelayOutcome } from './response-relay.js';

export interface ExchangeDeps {
  readonly connection: string;
  readonly sessions: ClientSessions;
  readonly logger: Logger;
  readonly awsKeys?: AwsKeyResolver;
  readonly now: () => Date;
  /** Requests in flight per principal on this connection (client-limits.ts). */
  readonly requests: PrincipalRequests;
  /** Refusals before authentication (core/preauth.ts), under this listener's kind. */
  readonly preauth: PreauthSignals;
  readonly listener: PreauthListener;
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
  /**
   * Runs a callback once the request is over: its response closed, or its socket closed first (a
   * pipelined response still queued never closes by itself). isClientGone is set by then.
   */
  readonly onEnd: OnRequestEnd;
  /** Bounds the wait for the request body (client-limits.ts); none for a request without a body. */
  upload: UploadClock | undefined;
  /** The body did not arrive within bodyTimeout: a 408 has been sent (or the socket closed). */
  bodyTimedOut: boolean;
  /** How refusals are written for this client (AWS handlers answer in their protocol's terms). */
  errorResponse: (failure: Failure, message: string, requestId: string) => ErrorResponse;
}

export function newExchange(
  req: IncomingMessage,
  res: ServerResponse,
  settings: HttpConnectionSettings,
  expectContinue: boolean,
): Exchange {
  let gone: AbortController | undefined;
  let wentAway = false;
  const onEnd = watchRequestEnd(req, res, () => {
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
    onEnd,
    upload: undefined,
    bodyTimedOut: false,
    errorResponse: (failure, message, requestId) => problemResponse(failure, message, requestId),
  };
}

/**
 * Starts the body clock of a request (client-limits.ts): when the body has not arrived within
 * `bodyTimeoutMs` of the request's start (not counting the gate's decision, nor a wait for 100
 * Continue), the client gets a 408 and the connection is closed; the handler, wherever it is, finds
 * `bodyTimedOut` set and records the admitted request (if any) as timed out.
 */
export function startUploadClock(x: Exchange, bodyTimeoutMs: number): void {
  x.upload = UploadClock.start(x.req, x.onEnd, bodyTimeoutMs, x.expectContinue, () => {
    x.bodyTimedOut = true;
    // The rest of the body will not be read: answer, then close the connection.
    x.bodyConsumed = false;
    x.expectContinue = false;
    answer(x, x.errorResponse('timeout', bodyTimeoutMessage(bodyTimeoutMs), randomUUID()));
    dropBodyWhenAnswered(x.req, x.onEnd);
  });
}

/** What a request whose body timed out is settled with. */
export function bodyTimeoutError(x: Exchange): { error: { code: string; message: string } } {
  return {
    error: {
      code: 'client_timeout',
      message: bodyTimeoutMessage(x.settings.clientLimits.bodyTimeoutMs),
    },
  };
}

/**
 * Awaits the gate's decision with the body clock stopped: the time a request waits for the gate (a
 * person's approval can take minutes) does not count against the client's bodyTimeout.
 */
export async function whileDeciding<T>(x: Exchange, work: Promise<T> | (() => Promise<T>)): Promise<T> {
  x.upload?.pause();
  try {
    return await (typeof work === 'function' ? work() : work);
  } finally {
    x.upload?.resume();
  }
}

/**
 * Takes one of the principal's in-flight request slots (given back when the response closes), or
 * returns the 429 message when it has none left.
 */
export function takeRequestSlot(deps: ExchangeDeps, x: Exchange, session: GateSession): string | undefined {
  const max = x.settings.clientLimits.requestsPerPrincipal;
  if (deps.requests.take(session.identity, max, x.onEnd)) return undefined;
  return tooManyRequestsMessage(session.identity.subject, max);
}

/** A refusal for a principal past its concurrency limit, told when to retry (RFC 9110 §10.2.3). */
export function withRetryAfter(r: ErrorResponse): ErrorResponse {
  return { ...r, headers: { ...r.headers, 'retry-after': RETRY_AFTER_SECONDS } };
}

/** Lets a client that sent Expect: 100-continue send its body (RFC 9110 §10.1.1). */
export function goOn(x: Exchange): void {
  if (x.expectContinue) {
    x.expectContinue = false;
    x.res.writeContinue();
    // From now on the client is being waited for.
    x.upload?.resume();
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
 * more registration per request of a keep-alive client); these listeners go when the request ends.
 */
export function upstreamSignal(x: Exchange, session: GateSession): AbortSignal {
  const c = new AbortController();
  const ended = session.ended;
  if (x.isClientGone()) c.abort(x.clientGone.reason);
  else if (ended.aborted) c.abort(ended.reason);
  else {
    const onEnded = () => c.abort(ended.reason);
    ended.addEventListener('abort', onEnded, { once: true });
    // The end of the request says whether the client went away (marked before callbacks run);
    // the session's listener goes either way.
    x.onEnd(() => {
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

/**
 * Reads the body of a request that needs approval whole, before the approval is asked for or taken
 * (the client is told to go on first): what is forwarded is then exactly what was approved. `from` is
 * the request or a decoding/verifying stream over it. Returns 'too-large' past `max` (the connection
 * is closed after the answer: the rest of the body is not read) and undefined when the body did not
 * arrive in time (already answered 408). Other stream errors are thrown.
 */
export async function readReviewedBody(
  x: Exchange,
  from: Readable,
  max: number,
): Promise<Buffer | 'too-large' | undefined> {
  const declared = declaredLength(x.req);
  if (declared !== undefined && declared > max) {
    x.bodyConsumed = false;
    return 'too-large';
  }
  goOn(x);
  try {
    const read = await readUpTo(from, max);
    // Past the limit: answered with the connection closed; the rest of the body is never read.
    if (read === 'too-large') x.bodyConsumed = false;
    return read;
  } catch (e) {
    if (x.bodyTimedOut) return undefined;
    throw e;
  }
}
