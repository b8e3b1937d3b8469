// One generic HTTP API request through the gate: the client's `Authorization: Bearer <Gatehouse token>`
// opens (or reuses) a session, the method and path are admitted, and the request is forwarded with the
// connection's own credential injected. Bodies stream both ways; JSON/XML responses are masked.

import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type HttpAction, httpAction } from '../../core/action.js';
import type { GateSession } from '../../gate/gate.js';
import { failureFor, problemResponse, type Failure } from './error-responses.js';
import {
  answer,
  asGatewayError,
  goOn,
  admitOptions,
  settle,
  type Exchange,
  type ExchangeDeps,
} from './exchange-context.js';
import { forwardRequestHeaders } from './http-headers.js';
import { declaredLength, hasBody } from './request-body.js';
import { policyPath, recordedTarget, type RequestTarget } from './request-target.js';
import { relayResponse } from './response-relay.js';
import { callUpstream } from './upstream-request.js';

/** The Gatehouse token from `Authorization: Bearer <token>` (RFC 6750 §2.1), or undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(authorization ?? '');
  return m?.[1];
}

/** The upstream URL: the connection's base URL with the client's path appended (a base path is a prefix). */
export function upstreamUrl(base: URL, target: RequestTarget): URL {
  const prefix = base.pathname.endsWith('/') ? base.pathname.slice(0, -1) : base.pathname;
  return new URL(`${base.origin}${prefix}${target.rawPath}${target.rawQuery ? `?${target.rawQuery}` : ''}`);
}

export async function openBearerSession(
  deps: ExchangeDeps,
  req: IncomingMessage,
): Promise<GateSession | { failure: Failure; message: string }> {
  const token = bearerToken(req.headers.authorization);
  if (token === undefined) {
    return {
      failure: 'no-credentials',
      message:
        'Gatehouse needs Authorization: Bearer <token> with a Gatehouse token (gatehouse token issue, or your OIDC token).',
    };
  }
  try {
    return await deps.sessions.get(
      req.socket,
      `bearer:${createHash('sha256').update(token).digest('base64url')}`,
      {
        token,
        connection: deps.connection,
        protocol: 'http',
        clientAddress: `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? ''}`,
        ...(req.headers['user-agent'] ? { application: req.headers['user-agent'].slice(0, 200) } : {}),
      },
    );
  } catch (e) {
    const ge = asGatewayError(e);
    if (!ge) throw e;
    return { failure: failureFor(ge.code), message: ge.message };
  }
}

export async function handleGeneric(deps: ExchangeDeps, x: Exchange, target: RequestTarget): Promise<void> {
  const { req, settings } = x;
  const generic = settings.generic!;
  const method = (req.method ?? 'GET').toUpperCase();
  const fail = (failure: Failure, message: string, requestId: string = randomUUID(), ruleId?: string): void =>
    answer(x, problemResponse(failure, message, requestId, ruleId));

  if (method === 'CONNECT' || method === 'TRACE')
    return fail('malformed', `${method} is not forwarded by Gatehouse.`);
  const opened = await openBearerSession(deps, req);
  if (!('admit' in opened)) return fail(opened.failure, opened.message);
  const session = opened;

  const decodedPath = policyPath(target.rawPath);
  if (decodedPath === undefined)
    return fail('malformed', 'The request path has a malformed %-escape or a control character.');
  const action: HttpAction = httpAction({
    connection: deps.connection,
    method,
    path: recordedTarget(decodedPath, target.rawQuery, settings.masking.fields),
  });
  const admission = await session.admit(action, admitOptions(x));
  if (!admission.allowed)
    return fail(
      failureFor(admission.error.code),
      admission.error.message,
      admission.statementId,
      admission.error.ruleId,
    );
  const requestId = admission.statementId;

  try {
    const url = upstreamUrl(generic.base, target);
    const headers: Record<string, string> = {
      ...forwardRequestHeaders(req.headers, { aws: false, awsChunked: false }),
      ...settings.staticHeaders,
      ...generic.authHeaders(),
    };
    const bodyPresent = hasBody(req);
    const length = declaredLength(req);
    if (length !== undefined) headers['content-length'] = String(length);
    if (bodyPresent) goOn(x);
    const up = await callUpstream(
      settings,
      { method, url, headers, ...(bodyPresent ? { body: req } : {}), signal: x.clientGone },
      () => undefined,
    );
    const decision = admission.decision;
    const outcome = await relayResponse(x.res, up, {
      method,
      masking: settings.masking,
      objectBody: false,
      scanObjects: decision.effect !== 'deny' && Boolean(decision.obligations.mask),
      withhold: (message) => problemResponse('withheld', message, requestId),
    });
    settle(session, admission, outcome);
  } catch (e) {
    const ge = asGatewayError(e);
    settle(session, admission, {
      error: { code: ge?.code ?? 'internal', message: ge?.message ?? 'internal error' },
    });
    if (!ge) deps.logger.error({ err: String(e), connection: deps.connection }, 'http request failed');
    if (x.clientGone.aborted) return;
    return fail(
      ge ? failureFor(ge.code) : 'internal',
      ge?.message ?? 'Gatehouse failed to forward the request.',
      requestId,
    );
  }
}
