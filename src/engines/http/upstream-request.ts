// Sends one request upstream with undici and returns the response head and a streaming body.
// Connection failures become UPSTREAM_UNAVAILABLE; body-stream failures (a client signature that
// broke mid-upload) are re-thrown as they are, so the caller can answer in the client's terms.
//
// The request target goes to the dispatcher as a string, byte for byte: undici's top-level
// `request(url)` would first pass it through WHATWG `URL`, which rewrites `\` and dot segments.

import type { Readable } from 'node:stream';
import { errors as undiciErrors } from 'undici';
import { ERROR_CODES, GatewayError, isGatewayError } from '../../core/errors.js';
import type { HttpConnectionSettings } from './http-settings.js';
import type { UpstreamResponse } from './response-relay.js';

export interface UpstreamCall {
  readonly method: string;
  /** scheme://host[:port] of the upstream. */
  readonly origin: string;
  /** The request target sent upstream as is: the canonical path under the base, and the query. */
  readonly target: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: Buffer | Readable;
  /** The client going away, or its gate session ending (a revoked token ends a response mid-stream). */
  readonly signal: AbortSignal;
}

export async function callUpstream(
  settings: HttpConnectionSettings,
  call: UpstreamCall,
  bodyError: () => Error | undefined,
): Promise<UpstreamResponse> {
  try {
    const res = await settings.dispatcher.request({
      origin: call.origin,
      path: call.target,
      method: call.method,
      headers: call.headers,
      body: call.body ?? null,
      signal: call.signal,
      headersTimeout: settings.upstreamTimeoutMs,
      bodyTimeout: 0,
    });
    return { statusCode: res.statusCode, headers: res.headers, body: res.body };
  } catch (cause) {
    const fromBody = bodyError();
    if (fromBody) throw fromBody;
    if (call.signal.aborted) {
      // The session ended under the request (its token revoked or expired): say so, as the gate did.
      const reason: unknown = call.signal.reason;
      if (isGatewayError(reason)) throw reason;
      throw new GatewayError(ERROR_CODES.INTERNAL, 'the client went away', { cause });
    }
    const timeout = cause instanceof undiciErrors.HeadersTimeoutError;
    throw new GatewayError(
      ERROR_CODES.UPSTREAM_UNAVAILABLE,
      timeout
        ? 'the upstream did not answer in time'
        : isGatewayError(cause) // from the dialer: written for the client (e.g. the agent is not connected)
          ? `the upstream could not be reached: ${cause.message}`
          : 'the upstream could not be reached',
      { cause },
    );
  }
}
