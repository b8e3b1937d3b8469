// An upstream connection is not reused after a response whose status says it has no body (204, 304):
// a server that sends a body with one anyway (RFC 9110 §15.3.5, §15.4.5 forbid it; node drops it,
// Python's http.server writes what the handler writes) would have that body read as the response to
// the next request Gatehouse sends on the connection, another principal's. undici already closes
// after HEAD; this closes after these (docs/security.md, class 43).

import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';

type Handler = Dispatcher.DispatchHandler;
type Abort = (reason?: Error) => void;

/** Status codes whose responses end at their head (1xx are interim and never reach a handler). */
const BODYLESS = new Set([204, 304]);

class CloseAfterBodyless implements Handler {
  #abort: Abort | undefined;
  #done = false;

  constructor(private readonly inner: Handler) {}

  onConnect(abort: Abort): void {
    this.#abort = abort;
    this.inner.onConnect?.(abort);
  }

  onUpgrade(statusCode: number, headers: Buffer[] | string[] | null, socket: Duplex): void {
    this.inner.onUpgrade?.(statusCode, headers, socket);
  }

  onResponseStarted(): void {
    this.inner.onResponseStarted?.();
  }

  onHeaders(statusCode: number, headers: Buffer[], resume: () => void, statusText: string): boolean {
    const go = this.inner.onHeaders?.(statusCode, headers, resume, statusText) ?? true;
    if (!BODYLESS.has(statusCode)) return go;
    // The response is whole: hand it over, then drop the connection (whatever follows is not read).
    this.#done = true;
    this.inner.onComplete?.([]);
    this.#abort?.(new Error('the upstream connection is not reused after a bodyless response'));
    return false;
  }

  onData(chunk: Buffer): boolean {
    return this.#done ? false : (this.inner.onData?.(chunk) ?? true);
  }

  onComplete(trailers: string[] | null): void {
    if (!this.#done) this.inner.onComplete?.(trailers);
  }

  onError(err: Error): void {
    if (!this.#done) this.inner.onError?.(err);
  }

  onBodySent(chunkSize: number, totalBytesSent: number): void {
    this.inner.onBodySent?.(chunkSize, totalBytesSent);
  }
}

/** The dispatcher interceptor: every request's handler closes its connection after a 204 or 304. */
export const closeAfterBodyless: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (options, handler) =>
  dispatch(options, new CloseAfterBodyless(handler));
