// One Kubernetes API request through the gate: the client's Gatehouse token (from `gatehouse kube
// credentials`) opens or reuses a session; the request is classified and admitted (decided, held for a
// reviewer, recorded); then it is forwarded with the gateway's own credential. Responses stream back
// unbuffered (watch, logs -f) unless the decision masks them: JSON is then masked whole, watch events
// and log lines one at a time.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { request as undiciRequest, errors as undiciErrors } from 'undici';
import {
  kubernetesAction,
  withGrants,
  withPodPrivileges,
  withBoundHeaders,
  withReviewedBody,
  type KubernetesAction,
} from '../../core/action.js';
import { deny } from '../../core/decision.js';
import { isGatewayError } from '../../core/errors.js';
import type { PreauthSignals } from '../../core/preauth.js';
import type { Logger } from '../../core/ports.js';
import { holdSignal, type Admission, type GateSession } from '../../gate/gate.js';
import {
  ambiguousJsonBody,
  apiServerMediaType,
  jsonPatchReadingObject,
} from '../../wire/kubernetes/json-body.js';
import { failureStatus, type KubeStatus } from '../../wire/kubernetes/status.js';
import {
  BODY_TIMEOUT_RULE,
  bodyTimeoutMessage,
  dropBodyWhenAnswered,
  REQUEST_LIMIT_RULE,
  RETRY_AFTER_SECONDS,
  tooManyRequestsMessage,
  UploadClock,
  watchRequestEnd,
  type PrincipalRequests,
} from '../http/client-limits.js';
import { classifyRequest, type CommandClassifier } from './classify-request.js';
import { bearerToken, type KubeClientSessions } from './client-sessions.js';
import { forwardHeaders, impersonationHeader, relayHeaders } from './kube-headers.js';
import { boundHeaders } from '../http/bound-headers.js';
import { maskResponseHeaders } from '../http/header-masking.js';
import { readUpTo } from '../http/request-body.js';
import { printableTarget } from '../http/request-target.js';
import { brokenStream, endBody } from '../http/response-relay.js';
import {
  REVIEWED_BODY_LIMIT_RULE,
  reviewedBody,
  reviewedBodyTooLarge,
  clippedBodyRefusal,
} from '../http/reviewed-body.js';
import {
  kubeBodyHidesCode,
  kubeBodyUnshowable,
  kubeBodyView,
  LineMaskingStream,
  maskKubeJsonSliced,
  maskKubeText,
  type Counts,
} from './kube-masking.js';
import { reasonFor, sendStatus } from './kube-responses.js';
import { podPrivileges, writesPodSpec } from './pod-privileges.js';
import { grantedPowers, writesGrant } from './granted-powers.js';
import type { KubeConnectionSettings } from './kube-settings.js';

export interface KubeRequestDeps {
  readonly connection: string;
  readonly sessions: KubeClientSessions;
  readonly logger: Logger;
  readonly classifyCommand?: CommandClassifier;
  /** Requests in flight per principal on this connection (../http/client-limits.ts). */
  readonly requests: PrincipalRequests;
  /** Refusals before authentication (core/preauth.ts). */
  readonly preauth: PreauthSignals;
}

/** The 429 of a principal past its in-flight limit, in Status terms, with when to retry. */
export function overLimitStatus(
  subject: string,
  max: number,
): {
  status: KubeStatus;
  headers: Readonly<Record<string, string>>;
} {
  return {
    status: failureStatus('TooManyRequests', `Gatehouse: ${tooManyRequestsMessage(subject, max)}.`),
    headers: { 'retry-after': RETRY_AFTER_SECONDS },
  };
}

/** Rule ids of the refusals the Kubernetes engine decides itself, before policy (recorded like any deny). */
export const UNCLASSIFIABLE_RULE = 'kubernetes-unclassifiable';
export const IMPERSONATION_RULE = 'kubernetes-impersonation';
/** exec/attach/port-forward not as a WebSocket upgrade Gatehouse relays, or an upgrade of anything else. */
export const STREAM_RULE = 'kubernetes-stream-refused';
/** A reviewed body the API server would read otherwise than it is shown (a JSON key given twice). */
export const AMBIGUOUS_BODY_RULE = 'kubernetes-ambiguous-body';
/**
 * A JSON patch by a principal whose reads are masked that reads the object it patches (`copy`, `move`,
 * `test`): it would put a masked value where masking does not look, or test guesses of it.
 */
export const MASKED_PATCH_RULE = 'kubernetes-masked-patch-reads';
/** A reviewed body an approver could not be shown (not JSON text): it is not held for a blind approval. */
export const UNSHOWN_BODY_RULE = 'kubernetes-unshown-body';
/** A write of a pod spec whose body Gatehouse cannot read (not JSON, a key given twice). */
export const POD_SPEC_RULE = 'kubernetes-unread-pod-spec';

/**
 * The action recorded for a request refused before it was classified (a limit, a target Gatehouse
 * cannot read): its method and target as received, printable and capped. Decided by nobody: it is
 * admitted only with a deny.
 */
export function unclassifiedAction(
  connection: string,
  method: string,
  url: string | undefined,
): KubernetesAction {
  const target = printableTarget(url);
  const a = kubernetesAction({
    connection,
    verb: method.toLowerCase(),
    resourceRequest: false,
    apiGroup: '',
    apiVersion: '',
    resource: '',
    subresource: '',
    namespace: '',
    name: '',
    path: target,
    requestLine: `${method} ${target}`,
  });
  return { ...a, describe: { ...a.describe, kind: method.toLowerCase(), categories: [] } };
}

/**
 * Records a refusal the engine made itself (a limit, an unreadable or unrelayable request) against the
 * caller, as a deny under its own rule, before the client is answered.
 */
export async function recordKubeRefusal(
  session: GateSession,
  action: KubernetesAction,
  ruleId: string,
  message: string,
): Promise<void> {
  await session.admit(action, { decision: deny(ruleId, message) });
}

/** The upstream URL: the server's base (a path prefix kept) + the canonical path + the query to forward. */
export function upstreamUrl(server: URL, path: string, query: string): URL {
  const prefix = server.pathname.endsWith('/') ? server.pathname.slice(0, -1) : server.pathname;
  return new URL(`${server.origin}${prefix}${path}${query === '' ? '' : `?${query}`}`);
}

/** Opens (or reuses) the caller's gate session; answers 401/403 itself and returns undefined on failure. */
export async function sessionFor(
  deps: KubeRequestDeps,
  req: IncomingMessage,
  refuse: (reason: Parameters<typeof failureStatus>[0], message: string) => void,
): Promise<GateSession | undefined> {
  const token = bearerToken(req.headers.authorization);
  if (token === undefined) {
    // A token that is there but refused is reported by the gate (its credential fault); none, here.
    deps.preauth.refused('kubernetes', 'credentials_missing', req.socket.remoteAddress);
    refuse(
      'Unauthorized',
      'Gatehouse needs your Gatehouse token as a bearer token: use the kubeconfig from `gatehouse kubeconfig`, whose exec plugin `gatehouse kube credentials` reads GATEHOUSE_TOKEN.',
    );
    return undefined;
  }
  try {
    return await deps.sessions.get(req, token);
  } catch (e) {
    if (!isGatewayError(e)) throw e;
    refuse(reasonFor(e.code), e.message);
    return undefined;
  }
}

function headerText(v: string | string[] | undefined): string {
  return Array.isArray(v) ? v.join(', ') : (v ?? '');
}

export async function handleKubeRequest(
  deps: KubeRequestDeps,
  settings: KubeConnectionSettings,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const method = (req.method ?? 'GET').toUpperCase();
  const unread =
    req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
  const refuse = (reason: Parameters<typeof failureStatus>[0], message: string): void =>
    sendStatus(res, failureStatus(reason, message), unread);

  // The body must arrive within bodyTimeout of the request's start, not counting the gate's decision
  // (a hold for approval) nor a wait for 100 Continue; else 408 and the connection closes.
  const bodyTimeoutMs = settings.clientLimits.bodyTimeoutMs;
  const expectContinue = unread && String(req.headers.expect ?? '').toLowerCase() === '100-continue';
  let timedOut = false;
  // Over when the response closes, or the socket first (a queued pipelined response never closes).
  const gone = new AbortController();
  const onEnd = watchRequestEnd(req, res, () => gone.abort());
  const upload = UploadClock.start(req, onEnd, bodyTimeoutMs, expectContinue, () => {
    timedOut = true;
    sendStatus(res, failureStatus('RequestTimeout', bodyTimeoutMessage(bodyTimeoutMs)), true);
    dropBodyWhenAnswered(req, onEnd);
  });
  const timedOutOutcome = (): Outcome => ({
    error: { code: 'client_timeout', message: bodyTimeoutMessage(bodyTimeoutMs) },
  });

  const session = await sessionFor(deps, req, refuse);
  if (!session) return;
  // From here the caller is known: every refusal is recorded against it before it is answered, with
  // the body clock stopped (recording is the gateway's time, not the client's).
  const recorded = async (a: KubernetesAction, ruleId: string, message: string): Promise<void> => {
    upload?.pause();
    try {
      await recordKubeRefusal(session, a, ruleId, message);
    } finally {
      upload?.resume();
    }
  };
  // One of the principal's in-flight slots (given back when the response closes), before anything else.
  const max = settings.clientLimits.requestsPerPrincipal;
  if (!deps.requests.take(session.identity, max, onEnd)) {
    const over = overLimitStatus(session.identity.subject, max);
    await recorded(
      unclassifiedAction(deps.connection, method, req.url),
      REQUEST_LIMIT_RULE,
      tooManyRequestsMessage(session.identity.subject, max),
    );
    if (timedOut) return;
    return sendStatus(res, over.status, unread, over.headers);
  }
  const classified = classifyRequest(deps.connection, method, req.url, deps.classifyCommand);
  if (!classified.ok) {
    await recorded(
      unclassifiedAction(deps.connection, method, req.url),
      UNCLASSIFIABLE_RULE,
      classified.message,
    );
    if (timedOut) return;
    return refuse('BadRequest', classified.message);
  }
  const { info } = classified;
  const impersonating = impersonationHeader(req.headers);
  if (impersonating !== undefined) {
    const message = `Gatehouse does not pass impersonation headers (${impersonating}, kubectl --as): requests act as you, through the gateway's own credential.`;
    await recorded(classified.action, IMPERSONATION_RULE, message);
    if (timedOut) return;
    return refuse('Forbidden', message);
  }
  if (info.subresource === 'exec' || info.subresource === 'attach' || info.subresource === 'portforward') {
    // A streaming subresource without an upgrade is SPDY's POST without `Upgrade`, or a plain GET: nothing to relay.
    const message = `pods/${info.subresource} needs a WebSocket upgrade: use kubectl ≥ 1.31 (WebSockets are its default).`;
    await recorded(classified.action, STREAM_RULE, message);
    if (timedOut) return;
    return refuse('BadRequest', message);
  }

  // A write of a pod spec is read whole before it is decided: what the pod may do (privileged, the
  // host's namespaces or paths, another service account) is part of the decision (pod-privileges.ts).
  // A body that cannot be read so is refused: Gatehouse cannot say what the pod would do.
  let action = classified.action;
  let early: Buffer | undefined;
  // Whether the client was told to go on with its body (100-continue): once, whoever reads it first.
  let continued = false;
  // The body read whole, at most maxRequestBodyBytes (declared or read: 'too-large'); undefined when
  // it did not arrive in time (answered 408 and closed by the timer).
  const readWhole = async (): Promise<Buffer | 'too-large' | undefined> => {
    const max = settings.maxRequestBodyBytes;
    const declared = req.headers['content-length'];
    if (declared !== undefined && /^\d{1,15}$/.test(declared) && Number(declared) > max) return 'too-large';
    if (expectContinue && !continued) {
      res.writeContinue();
      upload?.resume();
      continued = true;
    }
    try {
      return await readUpTo(req, max);
    } catch (e) {
      if (timedOut) return undefined;
      throw e;
    }
  };
  const podSpec = writesPodSpec(action);
  const grant = writesGrant(action);
  if (grant && !unread) {
    // A TokenRequest or CSR approval grants by its target alone; a bodyless write of another names nothing.
    const reading = grantedPowers(action, req.headers['content-type'], Buffer.alloc(0));
    action = withGrants(action, reading.grants, reading.categories);
  }
  if ((podSpec || grant) && unread && bodyDecides(session, action, podSpec, grant)) {
    const max = settings.maxRequestBodyBytes;
    const tooLarge = async (): Promise<void> => {
      const message = `Gatehouse refused the request: a write of a pod spec is read whole before it is decided, and its body is larger than this connection's limit (${max} bytes).`;
      await recorded(action, REVIEWED_BODY_LIMIT_RULE, message);
      refuse('RequestEntityTooLarge', `Gatehouse: ${message}`);
    };
    const read = await readWhole();
    if (read === undefined)
      return recordKubeRefusal(session, action, BODY_TIMEOUT_RULE, bodyTimeoutMessage(bodyTimeoutMs));
    if (read === 'too-large') return tooLarge();
    early = read;
    // What a write grants is read too; a body it cannot read may grant anything (granted-powers.ts).
    if (grant) {
      const grants = grantedPowers(action, req.headers['content-type'], read);
      action = withGrants(action, grants.grants, grants.categories);
    }
    const reading = podSpec
      ? podPrivileges(req.headers['content-type'], read, action)
      : { ok: true as const };
    const ambiguous = reading.ok ? ambiguousJsonBody(read.toString('utf8')) : undefined;
    if (!reading.ok || ambiguous !== undefined) {
      const message = !reading.ok
        ? `Gatehouse refused the request: it writes a pod spec, and Gatehouse cannot read what the pod may do because ${reading.reason}. Send it as JSON, as kubectl does.`
        : `Gatehouse refused the request: its body ${podSpec ? 'writes a pod spec' : 'may grant rights or a credential'}, and ${ambiguous}. Send each key once.`;
      await recorded(action, reading.ok ? AMBIGUOUS_BODY_RULE : POD_SPEC_RULE, message);
      return refuse(reading.ok ? 'BadRequest' : 'UnsupportedMediaType', message);
    }
    if ('fields' in reading) action = withPodPrivileges(action, reading.fields, reading.secrets);
  }

  // A request that needs approval has its body read whole first: the approval is bound to it, the
  // approver is shown it, and exactly it is forwarded. So has a JSON patch whose results are masked:
  // it is read for what it reads of the object. Other allowed requests stream their body.
  const decision = session.decide(action);
  const maskedJsonPatch =
    method === 'PATCH' &&
    decision.effect !== 'deny' &&
    Boolean(decision.obligations.mask) &&
    apiServerMediaType(req.headers['content-type']) === 'application/json-patch+json';
  let reviewed: Buffer | undefined = early;
  let admitted = action;
  if ((decision.effect === 'review' || maskedJsonPatch) && unread) {
    const max = settings.maxRequestBodyBytes;
    const tooLarge = async (): Promise<void> => {
      const message =
        decision.effect === 'review'
          ? reviewedBodyTooLarge(max)
          : `Gatehouse refused the request: a JSON patch whose results are masked is read whole for what it reads of the object, and its body is larger than this connection's limit (${max} bytes).`;
      await recorded(action, REVIEWED_BODY_LIMIT_RULE, message);
      // The rest of the body is not read: the connection closes after the answer.
      refuse('RequestEntityTooLarge', `Gatehouse: ${message}`);
    };
    const read = early ?? (await readWhole());
    // Answered 408 and closed: the refusal is recorded against its caller.
    if (read === undefined)
      return recordKubeRefusal(session, action, BODY_TIMEOUT_RULE, bodyTimeoutMessage(bodyTimeoutMs));
    if (read === 'too-large') return tooLarge();
    reviewed = read;
    admitted = withReviewedBody(
      action,
      reviewedBody(
        read,
        kubeBodyView(req.headers['content-type'], info.resource, {
          detectors: settings.masking.detectors,
          envNames: settings.masking.envNames,
          fieldNames: settings.masking.fieldNames,
        }),
      ),
    );
    // A body the approver cannot be shown is refused, not held for a blind approval.
    const unshowable =
      decision.effect === 'review' ? kubeBodyUnshowable(req.headers['content-type'], read) : undefined;
    if (unshowable !== undefined) {
      const message = `Gatehouse refused the request: it needs approval, and its body cannot be shown to the approver (${unshowable}). Send it as JSON, as kubectl does.`;
      await recorded(admitted, UNSHOWN_BODY_RULE, message);
      return refuse('UnsupportedMediaType', message);
    }
    // Nor one too long to be shown whole: its head and a marker would be approved for all of it, and
    // an object's containers come after its metadata (class 291).
    const clipped =
      decision.effect === 'review'
        ? clippedBodyRefusal(admitted.body, 'Split the object, or ask a person with access to apply it.')
        : undefined;
    if (clipped !== undefined) {
      await recorded(admitted, UNSHOWN_BODY_RULE, clipped);
      return refuse('RequestEntityTooLarge', clipped);
    }
    // Nor one whose masked view would hide what it runs behind a masked value (class 252).
    const hidden =
      decision.effect === 'review'
        ? kubeBodyHidesCode(req.headers['content-type'], info.resource, read, {
            detectors: settings.masking.detectors,
            envNames: settings.masking.envNames,
            fieldNames: settings.masking.fieldNames,
          })
        : undefined;
    if (hidden !== undefined) {
      const message = `Gatehouse refused the request: it needs approval, and ${hidden}. Keep secret values in a Secret (valueFrom.secretKeyRef, a mounted Secret) and commands out of values under sensitive names.`;
      await recorded(admitted, UNSHOWN_BODY_RULE, message);
      return refuse('Forbidden', message);
    }
    // A body the API server reads otherwise than the approver is shown it is refused, not held.
    const ambiguous = ambiguousJsonBody(read.toString('utf8'));
    if (ambiguous !== undefined) {
      const message = `Gatehouse refused the request: ${ambiguous}. Send each key once.`;
      await recorded(admitted, AMBIGUOUS_BODY_RULE, message);
      return refuse('BadRequest', message);
    }
    const reads = maskedJsonPatch ? jsonPatchReadingObject(read.toString('utf8')) : undefined;
    if (reads !== undefined) {
      const message = `Gatehouse refused the request: ${reads}, and what you read is masked (copy, move and test would show a masked value where masking does not look). Send add, remove and replace operations only.`;
      await recorded(admitted, MASKED_PATCH_RULE, message);
      return refuse('Forbidden', message);
    }
  }

  // How the API server reads a reviewed body (a merge, strategic-merge, JSON or apply patch; JSON or
  // YAML) is its Content-Type: bound to the approval and shown with the body (class 205).
  const contentType = req.headers['content-type'];
  if (decision.effect === 'review' && reviewed && contentType !== undefined)
    admitted = withBoundHeaders(
      admitted,
      boundHeaders({ 'content-type': contentType }, () => undefined),
    );
  // Time spent deciding (held for approval included) is not the client's: the body clock stops.
  upload?.pause();
  const admission = await session
    // Decided again after a body was read (the policy may have been reloaded meanwhile); else as above.
    .admit(admitted, {
      signal: holdSignal(settings.holdTimeoutMs, gone.signal),
      ...(reviewed ? {} : { decision }),
    })
    .finally(() => upload?.resume());
  if (!admission.allowed) return refuse(reasonFor(admission.error.code), admission.error.message);
  // The body ran out of time while the session was being opened: answered (408), nothing forwarded.
  if (timedOut) return settle(session, admission, timedOutOutcome());

  const masking = admission.decision.effect !== 'deny' && Boolean(admission.decision.obligations.mask);
  try {
    const url = upstreamUrl(settings.server, classified.path.path, classified.query);
    const headers = {
      ...forwardHeaders(req.headers, { masking, auditId: admission.statementId }),
      ...(await settings.authHeaders()),
    };
    const length = reviewed ? String(reviewed.length) : req.headers['content-length'];
    if (length !== undefined && /^\d{1,15}$/.test(length)) headers['content-length'] = length;
    const hasBody = unread;
    // The body is read only once the request is admitted (RFC 9110 §10.1.1).
    if (hasBody && expectContinue && !continued) {
      res.writeContinue();
      upload?.resume();
    }
    let up;
    try {
      up = await undiciRequest(url, {
        method: method as 'GET',
        headers,
        body: hasBody ? (reviewed ?? req) : null,
        dispatcher: settings.dispatcher,
        signal: gone.signal,
        headersTimeout: settings.upstreamTimeoutMs,
        bodyTimeout: 0,
      });
    } catch (cause) {
      if (timedOut) return settle(session, admission, timedOutOutcome());
      const timeout = cause instanceof undiciErrors.HeadersTimeoutError;
      const message = timeout
        ? 'the Kubernetes API server did not answer in time'
        : 'the Kubernetes API server could not be reached';
      deps.logger.warn(
        { err: String(cause), connection: deps.connection, session: session.id },
        'kubernetes upstream request failed',
      );
      settle(session, admission, { error: { code: 'upstream_unavailable', message } });
      if (!gone.signal.aborted) refuse(timeout ? 'Timeout' : 'ServiceUnavailable', `Gatehouse: ${message}.`);
      return;
    }
    const outcome = await relay(res, up, {
      masking,
      settings,
      watch: info.verb === 'watch',
      secrets: info.apiGroup === '' && info.resource === 'secrets',
      configMaps: info.apiGroup === '' && info.resource === 'configmaps',
    });
    settle(session, admission, timedOut ? timedOutOutcome() : outcome);
  } catch (e) {
    if (timedOut) return settle(session, admission, timedOutOutcome());
    settle(session, admission, {
      error: { code: 'internal', message: 'the request failed inside Gatehouse' },
    });
    throw e;
  }
}

/**
 * Whether what the body says (what the pod may do, what the write grants) changes the decision: false
 * when the request is allowed by the same rule whatever it says (a cluster administrator's), so its
 * body streams unread.
 */
function bodyDecides(
  session: GateSession,
  action: KubernetesAction,
  podSpec: boolean,
  grant: boolean,
): boolean {
  const worst = grant ? withGrants(action, ['(the body)'], ['privilege', 'secrets']) : action;
  const privileged = session.decide(
    podSpec ? withPodPrivileges(worst, ['(the body)'], ['(the body)']) : worst,
  );
  const none = grant ? withGrants(action, [], []) : action;
  const plain = session.decide(podSpec ? withPodPrivileges(none, []) : none);
  return !(
    privileged.effect === 'allow' &&
    plain.effect === 'allow' &&
    privileged.ruleId === plain.ruleId &&
    JSON.stringify(privileged.obligations) === JSON.stringify(plain.obligations)
  );
}

interface Outcome {
  readonly status?: number;
  readonly masked?: Counts;
  readonly error?: { readonly code: string; readonly message: string };
}

function settle(session: GateSession, admission: Admission, o: Outcome): void {
  session.settle(admission, {
    ...(o.masked && Object.keys(o.masked).length > 0 ? { masked: o.masked } : {}),
    ...(o.error ? { error: o.error } : {}),
  });
}

interface UpstreamResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Readable;
}

async function readCapped(body: Readable, max: number): Promise<Buffer | undefined> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      body.on('error', () => undefined);
      body.destroy();
      return undefined;
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts, size);
}

async function relay(
  res: ServerResponse,
  up: UpstreamResponse,
  o: {
    readonly masking: boolean;
    readonly settings: KubeConnectionSettings;
    readonly watch: boolean;
    /** A request on core secrets: kind-less objects with data in the response are Secrets. */
    readonly secrets: boolean;
    /** The same for core configmaps. */
    readonly configMaps: boolean;
  },
): Promise<Outcome> {
  const status = up.statusCode;
  const upstreamError =
    status >= 400 ? { code: `http_${status}`, message: `the API server answered ${status}` } : undefined;
  const headers = relayHeaders(up.headers);
  const m = o.settings.masking;
  // The API server's headers, and what a proxied service or an aggregated API puts there (an echoed
  // key, a Location's token, a webhook's Warning quoting a value), reach a masked principal masked as
  // an HTTP upstream's are (header-masking.ts; docs/security.md, class 218).
  const headerCounts = o.masking
    ? maskResponseHeaders(headers, { detectors: m.detectors, style: 'redact', fieldNames: m.fieldNames })
    : {};
  const withHeaders = (outcome: Outcome): Outcome => {
    if (Object.keys(headerCounts).length === 0) return outcome;
    const masked: Counts = { ...outcome.masked };
    for (const [k, n] of Object.entries(headerCounts)) masked[k] = (masked[k] ?? 0) + n;
    return { ...outcome, masked };
  };
  const type = headerText(up.headers['content-type']).split(';')[0]!.trim().toLowerCase();
  const encoding = headerText(up.headers['content-encoding']).trim().toLowerCase();
  const withhold = (why: string): Outcome => {
    const message = `Gatehouse withheld the response because it must be masked and ${why}; nothing was sent.`;
    up.body.on('error', () => undefined);
    up.body.destroy();
    sendStatus(res, failureStatus('InternalError', message));
    return { status, error: { code: 'withheld', message } };
  };
  const maskOptions = {
    detectors: m.detectors,
    envNames: m.envNames,
    fieldNames: m.fieldNames,
    secrets: o.secrets,
    configMaps: o.configMaps,
  };
  if (!o.masking || status === 204 || status === 304 || res.req.method === 'HEAD') {
    res.writeHead(status, headers);
    res.flushHeaders();
    const socket = res.socket;
    try {
      await pipeline(up.body, res);
    } catch (e) {
      return withHeaders({ status, error: brokenStream(socket, e) });
    }
    return withHeaders({ status, ...(upstreamError ? { error: upstreamError } : {}) });
  }
  if (encoding !== '' && encoding !== 'identity')
    return withhold(`its content-encoding ${encoding} cannot be masked`);
  const json = type === 'application/json' || type.endsWith('+json');
  const text = type.startsWith('text/');
  if (o.watch || (text && status < 300)) {
    if (!json && !text) return withhold(`its content type ${type || '(none)'} cannot be masked`);
    // Streams (watch events, logs) are masked a line at a time so they stay live.
    const stream = new LineMaskingStream(json ? 'json' : 'text', maskOptions, m.maxBodyBytes);
    delete headers['content-length'];
    res.writeHead(status, headers);
    res.flushHeaders();
    const socket = res.socket;
    try {
      await pipeline(up.body, stream, res);
    } catch (e) {
      return withHeaders({ status, masked: stream.counts, error: brokenStream(socket, e) });
    }
    return withHeaders({ status, masked: stream.counts, ...(upstreamError ? { error: upstreamError } : {}) });
  }
  if (!json && !text) return withhold(`its content type ${type || '(none)'} cannot be masked`);
  const raw = await readCapped(up.body, m.maxBodyBytes);
  if (raw === undefined) return withhold(`it is larger than ${m.maxBodyBytes} bytes`);
  let masked: Awaited<ReturnType<typeof maskKubeJsonSliced>>;
  try {
    masked = json
      ? await maskKubeJsonSliced(raw.toString('utf8'), maskOptions)
      : maskKubeText(raw.toString('utf8'), maskOptions);
  } catch {
    sendStatus(
      res,
      failureStatus('InternalError', 'Gatehouse withheld the response: it could not be masked.'),
    );
    return { status, error: { code: 'withheld', message: 'the response could not be masked' } };
  }
  if (!masked) {
    res.writeHead(status, { ...headers, 'content-length': String(raw.length) });
    const stalled = await endBody(res, raw);
    return withHeaders({
      status,
      ...(stalled ? { error: stalled } : upstreamError ? { error: upstreamError } : {}),
    });
  }
  const out = Buffer.from(masked.text, 'utf8');
  res.writeHead(status, { ...headers, 'content-length': String(out.length) });
  const stalled = await endBody(res, out);
  return withHeaders({
    status,
    masked: { ...masked.counts },
    ...(stalled ? { error: stalled } : upstreamError ? { error: upstreamError } : {}),
  });
}
