// One generic HTTP API request through the gate: the client's `Authorization: Bearer <Gatehouse token>`
// opens (or reuses) a session, the request target is reduced to one canonical path (ambiguous forms
// are refused, and the refusal recorded), the method and that path are admitted, and exactly that path
// under the connection's base is forwarded, with the connection's own credential injected. Bodies
// stream both ways; JSON/XML responses are masked.

import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { type HttpAction, httpAction, withBoundHeaders } from '../../core/action.js';
import { deny } from '../../core/decision.js';
import type { GateSession } from '../../gate/gate.js';
import { canonicalPath, pathUnderBase, type CanonicalPathOptions } from '../../wire/http/canonical-path.js';
import { pathReadings } from '../../wire/http/path-readings.js';
import { BODY_TIMEOUT_RULE, bodyTimeoutMessage, REQUEST_LIMIT_RULE } from './client-limits.js';
import { failureFor, problemResponse, type ErrorResponse, type Failure } from './error-responses.js';
import {
  answer,
  asGatewayError,
  bodyTimeoutError,
  goOn,
  admitOptions,
  readReviewedBody,
  settle,
  takeRequestSlot,
  type Exchange,
  type ExchangeDeps,
  upstreamSignal,
  whileDeciding,
  withRetryAfter,
} from './exchange-context.js';
import type { FieldMatcher } from './field-names.js';
import { boundHeaders } from './bound-headers.js';
import { credentialForms } from './credential-echo.js';
import { connectionRefusal, connectionStrippedHeaders, forwardRequestHeaders } from './http-headers.js';
import { declaredLength, hasBody } from './request-body.js';
import type { HttpConnectionSettings } from './http-settings.js';
import { methodOverrideRefusal } from './method-override.js';
import {
  bodyMayOverrideMethod,
  bodyMethodOverrideRefusal,
  scannedBodyTooLarge,
} from './body-method-override.js';
import {
  policyPath,
  printableTarget,
  recordedTarget,
  shownTarget,
  targetHidesCode,
  splitTarget,
  type RequestTarget,
} from './request-target.js';
import { relayResponse } from './response-relay.js';
import {
  HIDDEN_CODE_RULE,
  hiddenCodeRefusal,
  httpBodyView,
  REVIEWED_BODY_LIMIT_RULE,
  reviewedBody,
  reviewedBodyRefusal,
  reviewedBodyTooLarge,
} from './reviewed-body.js';
import { parseQuery } from './sigv4/canonical-query.js';
import { callUpstream } from './upstream-request.js';

/** Rule ids of the refusals the HTTP engine decides itself, before policy (recorded like any deny). */
export const AMBIGUOUS_REQUEST_RULE = 'http-ambiguous-request';
export const METHOD_OVERRIDE_RULE = 'http-method-override';
/** A principal past its in-flight request limit on the connection (client-limits.ts): 429. */
export { REQUEST_LIMIT_RULE };

/** The Gatehouse token from `Authorization: Bearer <token>` (RFC 6750 §2.1), or undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(authorization ?? '');
  return m?.[1];
}

/** What a generic request reads as, once its target is canonical; or why it is refused. */
export type ReadRequest =
  | {
      readonly ok: true;
      readonly target: RequestTarget;
      /** The path policy decides on (canonical, percent-decoded) and the recorded target. */
      readonly decidedPath: string;
      /** Other paths the upstream's application may route it as (class 207): deny and review rules see them. */
      readonly pathReadings: readonly string[];
      readonly recorded: string;
      /** The target as an approver is shown it: whole, secret query values masked. */
      readonly shown: string;
      /** The request target sent upstream: the canonical path under the base, then the query as received. */
      readonly upstreamTarget: string;
    }
  | {
      readonly ok: false;
      readonly ruleId: string;
      readonly message: string;
      /** The target as it may be recorded. */
      readonly recorded: string;
    };

/**
 * Reduces a request to the one path that is both decided and forwarded (src/wire/http/canonical-path.ts),
 * or refuses it: a target that is not origin-form, an ambiguous path, a malformed query, a method
 * override naming another method.
 */
export function readGenericRequest(
  method: string,
  url: string | undefined,
  headers: IncomingMessage['headers'],
  settings: HttpConnectionSettings,
  options: CanonicalPathOptions = {},
): ReadRequest {
  const recorded = printableTarget(url);
  const refuse = (ruleId: string, message: string): ReadRequest => ({ ok: false, ruleId, message, recorded });
  const split = splitTarget(url);
  if ('refused' in split)
    return refuse(AMBIGUOUS_REQUEST_RULE, `Gatehouse refused the request target: ${split.refused}.`);
  const query = parseQuery(split.rawQuery);
  if (!query)
    return refuse(
      AMBIGUOUS_REQUEST_RULE,
      'Gatehouse refused the request: the query has a malformed %-escape.',
    );
  const path = canonicalPath(split.rawPath, options);
  if (!path.ok)
    return refuse(
      AMBIGUOUS_REQUEST_RULE,
      `Gatehouse refused the request path: ${path.reason}. Send the path in its plain form ` +
        '(no "\\", no encoded "/", "\\", ".", "%" or ";", no "." or ".." segments, no "//", no ";" parameters).',
    );
  const override = methodOverrideRefusal(method, headers, query);
  if (override !== undefined) return refuse(METHOD_OVERRIDE_RULE, override);
  const stripped = connectionStrippedHeaders(headers);
  if (stripped !== undefined) return refuse(AMBIGUOUS_REQUEST_RULE, connectionRefusal(stripped));
  const prefix = settings.generic?.prefix ?? '';
  const under = pathUnderBase(prefix, path, options);
  if (under === undefined)
    return refuse(
      AMBIGUOUS_REQUEST_RULE,
      'Gatehouse refused the request path: it would leave the upstream base path.',
    );
  const decidedPath = policyPath(path);
  return {
    ok: true,
    target: split,
    decidedPath,
    pathReadings: pathReadings(decidedPath),
    recorded: recordedTarget(decidedPath, split.rawQuery, settings.masking.fields),
    shown: shownTarget(decidedPath, split.rawQuery, settings.masking.fields),
    upstreamTarget: `${under}${split.rawQuery === '' ? '' : `?${split.rawQuery}`}`,
  };
}

/** Records a request the engine refused before policy (a deny under its own rule id); returns the record's id. */
export async function recordRefusal(
  session: GateSession,
  connection: string,
  method: string,
  refused: { readonly ruleId: string; readonly message: string; readonly recorded: string },
): Promise<string> {
  // Decided by nobody (admitted only with the engine's deny): the target as received is all there is.
  const action: HttpAction = httpAction({
    connection,
    method,
    path: refused.recorded,
    decidedPath: refused.recorded,
  });
  const admission = await session.admit(action, { decision: deny(refused.ruleId, refused.message) });
  return admission.statementId;
}

/** The target of a request refused before it was read (a limit), as it may be recorded: secret query values redacted. */
export function refusedTarget(url: string | undefined, fields: FieldMatcher): string {
  const text = printableTarget(url);
  const q = text.indexOf('?');
  return q < 0 ? text : recordedTarget(text.slice(0, q), text.slice(q + 1), fields);
}

/**
 * Records the refusal of a request that needs approval and whose body is past `max`, the bytes
 * Gatehouse reads whole to bind the approval to it (413); returns the message and the record's id.
 */
export async function refuseReviewedBody(
  x: Exchange,
  session: GateSession,
  connection: string,
  method: string,
  recorded: string,
  max: number,
): Promise<{ message: string; id: string }> {
  const message = reviewedBodyTooLarge(max);
  const id = await whileDeciding(
    x,
    recordRefusal(session, connection, method, { ruleId: REVIEWED_BODY_LIMIT_RULE, message, recorded }),
  );
  return { message, id };
}

/**
 * Records a request whose body, read whole because it needs approval, did not arrive within
 * bodyTimeout (the client has been answered 408 and its connection closed): a refusal under
 * BODY_TIMEOUT_RULE, before anything was asked for or sent upstream.
 */
export async function recordBodyTimeout(
  x: Exchange,
  session: GateSession,
  connection: string,
  method: string,
  recorded: string,
): Promise<void> {
  await recordRefusal(session, connection, method, {
    ruleId: BODY_TIMEOUT_RULE,
    message: bodyTimeoutMessage(x.settings.clientLimits.bodyTimeoutMs),
    recorded,
  });
}

/**
 * Takes one of the principal's in-flight slots for this request; past the limit, records the
 * refusal (under REQUEST_LIMIT_RULE) and returns what to answer (throttled, with Retry-After).
 */
export async function refuseOverLimit(
  deps: ExchangeDeps,
  x: Exchange,
  session: GateSession,
  method: string,
  render: (message: string, requestId: string) => ErrorResponse,
): Promise<ErrorResponse | undefined> {
  const message = takeRequestSlot(deps, x, session);
  if (message === undefined) return undefined;
  const id = await whileDeciding(
    x,
    recordRefusal(session, deps.connection, method, {
      ruleId: REQUEST_LIMIT_RULE,
      message,
      recorded: refusedTarget(x.req.url, x.settings.masking.fields),
    }),
  );
  return withRetryAfter(render(message, id));
}

export async function openBearerSession(
  deps: ExchangeDeps,
  req: IncomingMessage,
): Promise<GateSession | { failure: Failure; message: string }> {
  const token = bearerToken(req.headers.authorization);
  if (token === undefined) {
    // A token that is there but refused is reported by the gate (its credential fault); none, here.
    deps.preauth.refused(deps.listener, 'credentials_missing', req.socket.remoteAddress);
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
        listener: 'http',
        clientAddress: `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? ''}`,
        ...(req.socket.remoteAddress ? { clientHost: req.socket.remoteAddress } : {}),
        ...(req.headers['user-agent'] ? { application: req.headers['user-agent'].slice(0, 200) } : {}),
      },
    );
  } catch (e) {
    const ge = asGatewayError(e);
    if (!ge) throw e;
    return { failure: failureFor(ge.code), message: ge.message };
  }
}

export async function handleGeneric(deps: ExchangeDeps, x: Exchange): Promise<void> {
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
  // One of the principal's in-flight slots, before anything is decided or sent upstream.
  const overLimit = await refuseOverLimit(deps, x, session, method, (message, id) =>
    problemResponse('throttled', message, id, REQUEST_LIMIT_RULE),
  );
  if (overLimit) return answer(x, overLimit);

  const read = readGenericRequest(method, req.url, req.headers, settings);
  if (!read.ok) {
    const id = await whileDeciding(x, recordRefusal(session, deps.connection, method, read));
    return fail('malformed', read.message, id, read.ruleId);
  }
  const fields = {
    connection: deps.connection,
    method,
    path: read.recorded,
    shownPath: read.shown,
    decidedPath: read.decidedPath,
    pathReadings: read.pathReadings,
    target: read.upstreamTarget,
  };
  let action: HttpAction = httpAction(fields);
  // A request that needs approval has its body read whole first: the approval is bound to it, the
  // approver is shown it, and exactly it is forwarded. So has a POST whose body a framework may read
  // `_method` from (a form, multipart, JSON, or no type: body-method-override.ts), to refuse an override
  // naming another method before anything is decided on the request line's. Other requests stream.
  const decision = session.decide(action);
  let reviewed: Buffer | undefined;
  const review = decision.effect === 'review';
  // Not held when a query value the approver is shown masked would hide what it runs (class 300).
  const hiddenInTarget = review ? targetHidesCode(read.target.rawQuery, settings.masking.fields) : undefined;
  if (hiddenInTarget !== undefined) {
    const message = hiddenCodeRefusal(
      hiddenInTarget,
      'Send secrets in a header or by reference, and commands out of values under sensitive names.',
    );
    const id = await whileDeciding(
      x,
      recordRefusal(session, deps.connection, method, {
        ruleId: HIDDEN_CODE_RULE,
        message,
        recorded: read.recorded,
      }),
    );
    return fail('denied', message, id, HIDDEN_CODE_RULE);
  }
  const scan = decision.effect !== 'deny' && bodyMayOverrideMethod(method, req.headers['content-type']);
  if ((review || scan) && hasBody(req)) {
    const body = await readReviewedBody(x, req, settings.maxRequestBodyBytes);
    // Answered 408 and closed: the refusal is recorded against its caller.
    if (body === undefined) return recordBodyTimeout(x, session, deps.connection, method, read.recorded);
    if (body === 'too-large') {
      if (!review) {
        const message = scannedBodyTooLarge(settings.maxRequestBodyBytes);
        const id = await whileDeciding(
          x,
          recordRefusal(session, deps.connection, method, {
            ruleId: METHOD_OVERRIDE_RULE,
            message,
            recorded: read.recorded,
          }),
        );
        return fail('too-large', message, id, METHOD_OVERRIDE_RULE);
      }
      const { message, id } = await refuseReviewedBody(
        x,
        session,
        deps.connection,
        method,
        read.recorded,
        settings.maxRequestBodyBytes,
      );
      return fail('too-large', message, id, REVIEWED_BODY_LIMIT_RULE);
    }
    if (scan) {
      const override = bodyMethodOverrideRefusal(method, req.headers, body, settings.maxRequestBodyBytes);
      if (override !== undefined) {
        const id = await whileDeciding(
          x,
          recordRefusal(session, deps.connection, method, {
            ruleId: METHOD_OVERRIDE_RULE,
            message: override,
            recorded: read.recorded,
          }),
        );
        return fail('malformed', override, id, METHOD_OVERRIDE_RULE);
      }
    }
    reviewed = body;
    // Its digest and size are in the record too (describe.body): the record names the approved body.
    if (review)
      action = httpAction({
        ...fields,
        body: reviewedBody(body, httpBodyView(req.headers['content-type'], settings.masking), {
          contentEncoding: req.headers['content-encoding'],
          max: settings.maxRequestBodyBytes,
        }),
      });
    // Not held when the approver would be shown only its head (class 291), or when its masked view
    // would hide what it runs behind a masked value (class 275).
    const refusal = review
      ? reviewedBodyRefusal(action.body, body, req.headers['content-type'], settings.masking, {
          contentEncoding: req.headers['content-encoding'],
          max: settings.maxRequestBodyBytes,
          advice: 'Send secrets by reference, and commands out of values under sensitive names.',
        })
      : undefined;
    if (refusal !== undefined) {
      const { ruleId, message } = refusal;
      const id = await whileDeciding(
        x,
        recordRefusal(session, deps.connection, method, { ruleId, message, recorded: read.recorded }),
      );
      return fail(refusal.failure, message, id, ruleId);
    }
  }
  // The headers that go up with a reviewed request are bound to its approval and shown to the
  // approver, as its body is: sent again with another, it is another request (class 205).
  if (review)
    action = withBoundHeaders(
      action,
      boundHeaders(
        forwardRequestHeaders(req.headers, { aws: false, awsChunked: false }),
        settings.masking.fields,
      ),
    );
  // Decided again after a body was read (the policy may have been reloaded meanwhile); else as above.
  const admission = await whileDeciding(
    x,
    session.admit(action, { ...admitOptions(x), ...(review && reviewed ? {} : { decision }) }),
  );
  if (!admission.allowed)
    return fail(
      failureFor(admission.error.code),
      admission.error.message,
      admission.statementId,
      admission.error.ruleId,
    );
  const requestId = admission.statementId;
  // The body ran out of time while the session was being opened: answered (408), nothing forwarded.
  if (x.bodyTimedOut) return settle(session, admission, bodyTimeoutError(x));

  try {
    const headers: Record<string, string> = {
      ...forwardRequestHeaders(req.headers, { aws: false, awsChunked: false }),
      ...settings.staticHeaders,
      ...generic.authHeaders(),
    };
    const forms = credentialForms(generic.credentialValues());
    // A part of an answer (206) can hold a piece of an echoed credential shorter than any form of it,
    // and the pieces of several make it whole: a connection that injects one asks for whole answers
    // (a server may answer a Range with the whole representation, RFC 9110 §14.2). docs/security.md, class 257.
    if (forms.length > 0) {
      delete headers['range'];
      delete headers['if-range'];
    }
    const bodyPresent = hasBody(req);
    const length = reviewed?.length ?? declaredLength(req);
    if (length !== undefined) headers['content-length'] = String(length);
    // A request with a body is the last on its upstream connection. An upstream that answers without
    // reading the body (Python's http.server does, for any handler that ignores it) reads the body as
    // the next request on that connection: a request nobody decided, or the head of one that the next
    // request Gatehouse sends there (another client's, with the injected credential) completes.
    // `Connection: close` makes the server stop reading after its answer (RFC 9112 §9.6) and undici
    // never reuse the connection (docs/security.md, class 40).
    if (bodyPresent) headers['connection'] = 'close';
    if (bodyPresent && !reviewed) goOn(x);
    const up = await callUpstream(
      settings,
      {
        method,
        origin: generic.base.origin,
        target: read.upstreamTarget,
        headers,
        ...(bodyPresent ? { body: reviewed ?? req } : {}),
        signal: upstreamSignal(x, session),
      },
      () => undefined,
    );
    const decided = admission.decision;
    const outcome = await relayResponse(x.res, up, {
      method,
      masking: settings.masking,
      objectBody: false,
      scanObjects: decided.effect !== 'deny' && Boolean(decided.obligations.mask),
      withholdCookies: settings.withholdCookies,
      withhold: (message) => problemResponse('withheld', message, requestId),
      credentialForms: forms,
    });
    settle(session, admission, x.bodyTimedOut ? bodyTimeoutError(x) : outcome);
  } catch (e) {
    // The client was answered 408 and its connection closed (exchange-context.ts): nothing more to say.
    if (x.bodyTimedOut) return settle(session, admission, bodyTimeoutError(x));
    const ge = asGatewayError(e);
    settle(session, admission, {
      error: { code: ge?.code ?? 'internal', message: ge?.message ?? 'internal error' },
    });
    if (!ge) deps.logger.error({ err: String(e), connection: deps.connection }, 'http request failed');
    if (x.isClientGone()) return;
    return fail(
      ge ? failureFor(ge.code) : 'internal',
      ge?.message ?? 'Gatehouse failed to forward the request.',
      requestId,
    );
  }
}
