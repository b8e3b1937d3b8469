// WebSocket upgrades on generic HTTP connections: the upgrade request is authenticated and admitted
// like any request (GET <path>), then the two sockets are spliced. Frames are not inspected; the record
// holds the upgrade, its decision and, at the end, the duration (bytes each way go to the log).
// Spec: RFC 6455 §4 (opening handshake), RFC 9110 §7.8 (Upgrade).

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import http, { STATUS_CODES, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type HttpAction, httpAction } from '../../core/action.js';
import { isGatewayError } from '../../core/errors.js';
import { holdSignal } from '../../gate/gate.js';
import { failureFor, problemResponse, type ErrorResponse } from './error-responses.js';
import { socketEnd, tooManyRequestsMessage } from './client-limits.js';
import { withRetryAfter, type ExchangeDeps } from './exchange-context.js';
import {
  openBearerSession,
  readGenericRequest,
  recordRefusal,
  refusedTarget,
  REQUEST_LIMIT_RULE,
} from './generic-exchange.js';
import { CredentialScrub, credentialForms, scrubText } from './credential-echo.js';
import { maskHeaderValue } from './header-masking.js';
import { forwardRequestHeaders, isBodyDigestHeader, SET_COOKIE_HEADERS } from './http-headers.js';
import type { HttpConnectionSettings } from './http-settings.js';
import { STALLED_ERROR, wasStalled } from '../write-stall.js';

const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The Sec-WebSocket-Accept a server answers a key with (RFC 6455 §4.2.2). */
export function websocketAccept(key: string): string {
  return createHash('sha1').update(`${key}${WEBSOCKET_GUID}`).digest('base64');
}

/** A Sec-WebSocket-Key as RFC 6455 §4.1 has it: 16 bytes, base64. */
function isWebSocketKey(v: string | undefined): v is string {
  return v !== undefined && /^[A-Za-z0-9+/]{21}[AQgw]==$/.test(v);
}

function refuse(socket: Duplex, r: ErrorResponse): void {
  if (socket.destroyed || socket.writableEnded) return;
  const head = [`HTTP/1.1 ${r.status} ${STATUS_CODES[r.status] ?? ''}`];
  for (const [k, v] of Object.entries(r.headers)) head.push(`${k}: ${v}`);
  head.push(`content-length: ${Buffer.byteLength(r.body)}`, 'connection: close');
  socket.end(`${head.join('\r\n')}\r\n\r\n${r.body}`);
}

export async function handleUpgrade(
  deps: ExchangeDeps,
  settings: HttpConnectionSettings,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
): Promise<void> {
  socket.on('error', () => socket.destroy());
  const fail = (
    failure: Parameters<typeof problemResponse>[0],
    message: string,
    requestId: string = randomUUID(),
    ruleId?: string,
  ): void => refuse(socket, problemResponse(failure, message, requestId, ruleId));
  if (!settings.generic || !settings.websockets)
    return fail('malformed', `Connection ${deps.connection} does not pass WebSocket upgrades through.`);
  if (
    (req.headers.upgrade ?? '').toLowerCase() !== 'websocket' ||
    (req.method ?? '').toUpperCase() !== 'GET'
  ) {
    return fail('malformed', 'Only WebSocket upgrades (GET with Upgrade: websocket) are passed through.');
  }
  const clientKey = req.headers['sec-websocket-key'];
  if (!isWebSocketKey(clientKey))
    return fail('malformed', 'A WebSocket upgrade needs a Sec-WebSocket-Key (16 bytes, base64).');
  const opened = await openBearerSession(deps, req);
  if (!('admit' in opened)) return fail(opened.failure, opened.message);
  const session = opened;
  // An upgraded connection is a request in flight for as long as its socket is open.
  const max = settings.clientLimits.requestsPerPrincipal;
  if (!deps.requests.take(session.identity, max, socketEnd(socket))) {
    const message = tooManyRequestsMessage(session.identity.subject, max);
    const id = await recordRefusal(session, deps.connection, 'GET', {
      ruleId: REQUEST_LIMIT_RULE,
      message,
      recorded: refusedTarget(req.url, settings.masking.fields),
    });
    return refuse(socket, withRetryAfter(problemResponse('throttled', message, id, REQUEST_LIMIT_RULE)));
  }
  // The same canonical path as any request: decided, recorded and sent upstream as one string.
  const read = readGenericRequest('GET', req.url, req.headers, settings);
  if (!read.ok) {
    const id = await recordRefusal(session, deps.connection, 'GET', read);
    return fail('malformed', read.message, id, read.ruleId);
  }
  const gone = new AbortController();
  socket.once('close', () => gone.abort());
  // The upgrade is a GET, but the socket it opens carries whatever the client sends to the upstream,
  // which acts on it (a GraphQL mutation over graphql-ws, a command to a console): it is decided as the
  // GET and as a POST of the same path, allowed only if both are (docs/security.md, class 208).
  const part = {
    connection: deps.connection,
    path: read.recorded,
    decidedPath: read.decidedPath,
    pathReadings: read.pathReadings,
    target: read.upstreamTarget,
  };
  const action: HttpAction = httpAction({
    ...part,
    method: 'GET',
    implied: [httpAction({ ...part, method: 'POST' })],
  });
  const admission = await session.admit(action, {
    signal: holdSignal(settings.holdTimeoutMs, gone.signal),
  });
  if (!admission.allowed)
    return fail(
      failureFor(admission.error.code),
      admission.error.message,
      admission.statementId,
      admission.error.ruleId,
    );
  if (socket.destroyed) {
    session.settle(admission, {
      error: { code: 'client_gone', message: 'the client went away before the upgrade' },
    });
    return;
  }
  // Frames are relayed as bytes, never read: what the upstream sends on the socket cannot be masked.
  // A principal whose reads are masked gets no socket (class 208), as a body that cannot be masked is
  // withheld.
  if (admission.decision.effect !== 'deny' && Boolean(admission.decision.obligations.mask)) {
    const message =
      'Gatehouse refused the WebSocket upgrade: what you read is masked, and messages on a WebSocket are ' +
      'relayed as they are, never masked. Use the API over plain requests.';
    session.settle(admission, { error: { code: 'withheld', message } });
    return fail('withheld', message, admission.statementId);
  }

  const url = settings.generic.base;
  // Gatehouse's own handshake with the upstream: a key the client never sees, whose answer proves the
  // upstream speaks WebSocket. An endpoint that answers 101 to whatever asks (a status the caller
  // names, a reflected header) and goes on reading HTTP would otherwise get every byte the client
  // sends next as requests nobody decided (docs/security.md, class 42).
  const upstreamKey = randomBytes(16).toString('base64');
  const headers: Record<string, string> = {
    ...forwardRequestHeaders(req.headers, { aws: false, awsChunked: false }),
    ...settings.staticHeaders,
    ...settings.generic.authHeaders(),
    host: url.host,
    connection: 'Upgrade',
    upgrade: 'websocket',
    'sec-websocket-key': upstreamKey,
  };
  // The connection's credential, echoed by the upstream in its answer's head or on the socket, is
  // replaced before the client gets it (class 257). Frames are relayed as bytes, so they must cross
  // uncompressed for it to be found: no permessage-deflate is offered to the upstream.
  const forms = credentialForms(settings.generic.credentialValues());
  if (forms.length > 0) delete headers['sec-websocket-extensions'];
  const started = performance.now();
  let settled = false;
  // The upstream's answer head crosses as a response's does: its cookies withheld where the connection
  // says so, its values masked for a masked principal (docs/security.md, class 157).
  const masked: Record<string, number> = {};
  const masking =
    admission.decision.effect !== 'deny' && Boolean(admission.decision.obligations.mask)
      ? settings.masking
      : undefined;
  const headerLine = (name: string, value: string): string | undefined => {
    if (settings.withholdCookies && SET_COOKIE_HEADERS.includes(name.toLowerCase())) return undefined;
    const shown = masking ? maskHeaderValue(name, value, masking, masked) : value;
    const echo = scrubText(shown, forms);
    if (echo.n > 0) masked['connection-credential'] = (masked['connection-credential'] ?? 0) + echo.n;
    return `${name}: ${echo.text}`;
  };
  const done = (error?: { code: string; message: string }): void => {
    if (settled) return;
    settled = true;
    // The client stopped reading and its socket was closed for it (write-stall.ts): that is why it ended.
    const recorded = wasStalled(socket) ? STALLED_ERROR : error;
    session.settle(admission, {
      durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      ...(Object.keys(masked).length > 0 ? { masked } : {}),
      ...(recorded ? { error: recorded } : {}),
    });
  };
  const mod = url.protocol === 'https:' ? https : http;
  const upReq = mod.request({
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port || undefined,
    path: read.upstreamTarget,
    method: 'GET',
    headers,
    ...(settings.tls.ca ? { ca: settings.tls.ca } : {}),
    rejectUnauthorized: settings.tls.rejectUnauthorized,
    timeout: settings.upstreamTimeoutMs,
    // Through an agent (docs/agent.md): the socket, TLS included, comes from the connection's opener.
    ...(settings.openSocket ? { createConnection: tunnelConnection(settings.openSocket, url) } : {}),
  });
  upReq.on('upgrade', (upRes: IncomingMessage, upSocket: Duplex, upHead: Buffer) => {
    if (
      String(upRes.headers.upgrade ?? '').toLowerCase() !== 'websocket' ||
      upRes.headers['sec-websocket-accept'] !== websocketAccept(upstreamKey)
    ) {
      upSocket.destroy();
      const message = 'the upstream answered 101 without completing a WebSocket handshake';
      done({ code: 'upstream_not_websocket', message });
      fail('upstream-unreachable', `Gatehouse refused the upgrade: ${message}.`, admission.statementId);
      return;
    }
    if (upSocket instanceof Socket) upSocket.setTimeout(0);
    const lines = [`HTTP/1.1 101 ${STATUS_CODES[101]}`];
    for (let i = 0; i + 1 < upRes.rawHeaders.length; i += 2) {
      // The upstream accepted Gatehouse's key; the client is answered for its own.
      if (upRes.rawHeaders[i]!.toLowerCase() === 'sec-websocket-accept') continue;
      const line = headerLine(upRes.rawHeaders[i]!, upRes.rawHeaders[i + 1]!);
      if (line !== undefined) lines.push(line);
    }
    lines.push(`Sec-WebSocket-Accept: ${websocketAccept(clientKey)}`);
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    // Server frames are not masked (RFC 6455 §5.1) and, without an extension, not compressed: an
    // echoed credential is in their bytes as it was sent, and is overwritten there (same length).
    const scrub = forms.length > 0 ? new CredentialScrub(forms, { flushAfterMs: 50 }) : undefined;
    if (upHead.length > 0) (scrub ?? socket).write(upHead);
    if (head.length > 0) upSocket.write(head);
    let toUpstream = 0;
    let toClient = 0;
    socket.on('data', (c: Buffer) => (toUpstream += c.length));
    upSocket.on('data', (c: Buffer) => (toClient += c.length));
    socket.pipe(upSocket);
    if (scrub) upSocket.pipe(scrub).pipe(socket);
    else upSocket.pipe(socket);
    const end = (): void => {
      socket.destroy();
      upSocket.destroy();
      if (scrub !== undefined && scrub.found > 0 && !settled) {
        masked['connection-credential'] = (masked['connection-credential'] ?? 0) + scrub.found;
        scrub.found = 0;
      }
      if (!settled)
        deps.logger.info(
          { connection: deps.connection, session: session.id, toUpstream, toClient },
          'websocket closed',
        );
      done();
    };
    upSocket.on('error', end);
    upSocket.on('close', end);
    // A revoked or expired token (or an admin) ends the session: the open WebSocket ends with it.
    session.ended.addEventListener('abort', end, { once: true });
    socket.on('close', end);
  });
  upReq.on('response', (upRes: IncomingMessage) => {
    // The upstream declined the upgrade: relay its status and headers, and close. Not its body, which
    // this path does not mask: an upstream that ignores `Upgrade` answers the GET as it would any
    // (a JSON answer whose field names and detector findings the relay masks: docs/security.md, class 157).
    const lines = [`HTTP/1.1 ${upRes.statusCode ?? 502} ${upRes.statusMessage ?? ''}`];
    for (let i = 0; i + 1 < upRes.rawHeaders.length; i += 2) {
      const name = upRes.rawHeaders[i]!.toLowerCase();
      if (name === 'connection' || name === 'transfer-encoding' || name === 'keep-alive') continue;
      if (name === 'content-type' || isBodyDigestHeader(name)) continue;
      const line = headerLine(upRes.rawHeaders[i]!, upRes.rawHeaders[i + 1]!);
      if (line !== undefined) lines.push(line);
    }
    done({ code: `http_${upRes.statusCode ?? 0}`, message: 'the upstream declined the WebSocket upgrade' });
    lines.push('content-length: 0', 'connection: close');
    socket.end(`${lines.join('\r\n')}\r\n\r\n`);
    upRes.on('error', () => undefined);
    upRes.destroy();
  });
  upReq.on('timeout', () => upReq.destroy(new Error('upstream timeout')));
  upReq.on('error', (e) => {
    done({
      code: 'upstream_unavailable',
      message: 'the upstream could not be reached for the WebSocket upgrade',
    });
    // A dialer's GatewayError (through an agent) says why, in words meant for the client.
    const why = isGatewayError(e) ? `: ${e.message}` : '.';
    fail('upstream-unreachable', `The upstream could not be reached${why}`, admission.statementId);
  });
  gone.signal.addEventListener('abort', () => upReq.destroy(), { once: true });
  session.ended.addEventListener('abort', () => upReq.destroy(), { once: true });
  upReq.end();
}

/** http.request's createConnection over an async opener (the request waits for the callback). */
function tunnelConnection(
  open: (url: URL) => Promise<Duplex>,
  url: URL,
): (opts: object, cb: (err: Error | null, socket: Duplex) => void) => undefined {
  return (_opts, cb) => {
    open(url).then(
      (s) => cb(null, s),
      (e: Error) => cb(e, undefined as unknown as Duplex),
    );
    return undefined;
  };
}
