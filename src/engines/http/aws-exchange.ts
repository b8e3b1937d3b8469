// One AWS API request through the gate: verify the client's SigV4 signature with its gateway-issued
// key, classify the request (service:Operation, resource), admit it, re-sign it with the gateway's own
// credentials for the upstream, and relay the (masked) response. The order is the gate's; this file
// only does the protocol work around it.
//
// Request bodies: JSON and query protocol bodies and S3 DeleteObjects bodies are buffered (capped) to
// classify them; other S3 and Lambda bodies stream. A signed payload hash is checked while streaming (the last piece is held back until it
// matches); aws-chunked uploads are decoded, their chunk signatures checked, and sent upstream as a
// plain body with UNSIGNED-PAYLOAD and the decoded Content-Length (trailing checksums are dropped).

import type { PreauthReason } from '../../core/preauth.js';
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { pipeline, type Readable, type Transform } from 'node:stream';
import { type HttpAction, httpAction, withBoundHeaders, withReviewedBody } from '../../core/action.js';
import { deny } from '../../core/decision.js';
import type { Admission, GateSession } from '../../gate/gate.js';
import type { AwsClassification, AwsProtocol } from './aws/aws-request.js';
import { header, unknown } from './aws/aws-request.js';
import { awsProtocolFor, classifyAws, needsBody } from './aws/classify-aws.js';
import { formInertJson } from './aws/json-classifier.js';
import { decryptRefusal, withSourceDecrypt } from './aws/s3-decrypt-key.js';
import { awsErrorResponse, failureFor, type Failure } from './error-responses.js';
import {
  answer,
  asGatewayError,
  bodyTimeoutError,
  goOn,
  admitOptions,
  readReviewedBody,
  settle,
  type Exchange,
  type ExchangeDeps,
  upstreamSignal,
  whileDeciding,
} from './exchange-context.js';
import {
  AMBIGUOUS_REQUEST_RULE,
  METHOD_OVERRIDE_RULE,
  recordBodyTimeout,
  recordRefusal,
  refuseOverLimit,
  refuseReviewedBody,
} from './generic-exchange.js';
import { boundHeaders } from './bound-headers.js';
import { connectionRefusal, connectionStrippedHeaders, forwardRequestHeaders } from './http-headers.js';
import { methodOverrideRefusal } from './method-override.js';
import { BodyTooLarge, declaredLength, hasBody, readCapped } from './request-body.js';
import {
  policyPath,
  printableTarget,
  recordedTarget,
  shownTarget,
  type RequestTarget,
} from './request-target.js';
import { relayResponse } from './response-relay.js';
import { storedSecretFields } from './aws/stored-secrets.js';
import { credentialForms } from './credential-echo.js';
import { httpBodyView, reviewedBody, reviewedBodyRefusal } from './reviewed-body.js';
import { AwsChunkedDecoder, AwsChunkedError } from './sigv4/aws-chunked-decoder.js';
import type { QueryMap } from './sigv4/canonical-query.js';
import { single } from './sigv4/canonical-query.js';
import { EMPTY_SHA256, sha256Hex } from '../../wire/aws/node-sha256.js';
import { PayloadHashMismatch, Sha256Verifier } from './sigv4/sha256-verifier.js';
import { deriveSigningKey } from './sigv4/signing-key.js';
import { parseSigV4Authorization } from './sigv4/sigv4-authorization.js';
import { signUpstreamRequest } from '../../wire/aws/sigv4-signer.js';
import { callUpstream } from './upstream-request.js';
import { verifySignature } from './sigv4/verify-signature.js';
import { canonicalPath } from '../../wire/http/canonical-path.js';

export const UNKNOWN_OPERATION_RULE = 'aws-unknown-operation';
/** A body read whole for review that does not match what the client signed (its hash, its chunk signatures). */
export const BAD_PAYLOAD_RULE = 'aws-bad-payload';

const HEX64 = /^[0-9a-fA-F]{64}$/;

/** The protocol to answer in before the request is understood. */
function guessProtocol(headers: IncomingHttpHeaders, rawPath: string): AwsProtocol {
  if (header(headers, 'x-amz-target') !== undefined) return 'json';
  if (/^\/20\d\d-\d\d-\d\d\//.test(rawPath)) return 'rest-json';
  if (/^application\/x-www-form-urlencoded/i.test(header(headers, 'content-type') ?? '')) return 'query';
  return 's3';
}

interface Payload {
  /** Buffered body, or a stream to forward. */
  readonly body?: Buffer | Readable;
  readonly sha256: string;
  readonly contentLength?: number;
  readonly chunked: boolean;
}

export async function handleAws(
  deps: ExchangeDeps,
  x: Exchange,
  target: RequestTarget,
  query: QueryMap,
): Promise<void> {
  const { req, settings } = x;
  const aws = settings.aws!;
  const method = (req.method ?? 'GET').toUpperCase();
  let proto: AwsProtocol = guessProtocol(req.headers, target.rawPath);
  const fail = (failure: Failure, message: string, requestId: string = randomUUID()): void =>
    answer(x, awsErrorResponse(proto, failure, message, requestId));
  // A body that does not arrive in time is answered in this protocol's terms too.
  x.errorResponse = (failure, message, requestId) => awsErrorResponse(proto, failure, message, requestId);

  // --- authenticate: the client's SigV4 signature, with the secret of its Gatehouse key -------------
  // Refusals until the gate has the key's token are reported here (core/preauth.ts); the gate
  // reports its own (a revoked or expired key's token).
  const refuse = (reason: PreauthReason, failure: Failure, message: string): void => {
    deps.preauth.refused(deps.listener, reason, req.socket.remoteAddress);
    fail(failure, message);
  };
  const authorization = header(req.headers, 'authorization');
  if (authorization === undefined) {
    if (single(query, 'X-Amz-Algorithm') !== undefined) {
      return refuse(
        'credentials_missing',
        'no-credentials',
        'Gatehouse does not accept presigned URLs: send requests signed in the Authorization header.',
      );
    }
    return refuse(
      'credentials_missing',
      'no-credentials',
      'Gatehouse needs a SigV4-signed request: configure the client with a Gatehouse access key (gatehouse token issue --aws).',
    );
  }
  const parsed = parseSigV4Authorization(authorization);
  if (!parsed.ok)
    return refuse(
      'credentials_malformed',
      'bad-signature',
      `The Authorization header was refused: ${parsed.reason}.`,
    );
  const auth = parsed.value;
  const protocol = awsProtocolFor(auth.service, req.headers);
  proto = protocol ?? guessProtocol(req.headers, target.rawPath);
  const key = await deps.awsKeys?.resolve(auth.accessKeyId).catch((err: unknown) => {
    deps.logger.error({ err: String(err), connection: deps.connection }, 'aws key lookup failed');
    return undefined;
  });
  if (!key) {
    return refuse(
      'credentials_unknown',
      'unknown-key',
      `The access key ${auth.accessKeyId} is not a valid Gatehouse key. Issue one with gatehouse token issue --aws.`,
    );
  }

  const shaHeader = header(req.headers, 'x-amz-content-sha256');
  const streaming = shaHeader?.startsWith('STREAMING-') ?? false;
  const bodyPresent = hasBody(req);
  let body: Buffer | undefined = bodyPresent ? undefined : Buffer.alloc(0);
  if (
    bodyPresent &&
    ((protocol !== undefined && needsBody(protocol, method, query, target.rawPath)) ||
      shaHeader === undefined)
  ) {
    if (streaming)
      return fail(
        'malformed',
        'aws-chunked request bodies are accepted only for S3 requests whose body Gatehouse does not read to classify them.',
      );
    goOn(x);
    try {
      body = await readCapped(req, settings.maxRequestBodyBytes);
    } catch (e) {
      // Answered 408 and closed (exchange-context.ts). The signature is not checked yet: nobody is
      // known, so there is no session to record it in; it is counted and logged, rate-limited, as a
      // refusal before authentication (core/preauth.ts), never with the unverified key id.
      if (x.bodyTimedOut) {
        deps.preauth.refused(deps.listener, 'body_unread', req.socket.remoteAddress);
        return;
      }
      if (e instanceof BodyTooLarge) {
        deps.preauth.refused(deps.listener, 'body_unread', req.socket.remoteAddress);
        return fail(
          'too-large',
          `The request body is larger than this connection's limit (${settings.maxRequestBodyBytes} bytes) for a body Gatehouse must read to check it.`,
        );
      }
      throw e;
    }
  }
  const verified = await verifySignature(
    { method, rawPath: target.rawPath, query, headers: req.headers },
    auth,
    key.secretAccessKey,
    {
      now: deps.now(),
      ...(body !== undefined ? { body } : {}),
    },
  );
  if (!verified.ok) {
    const skewed = verified.code === 'RequestTimeTooSkewed';
    return refuse(
      skewed ? 'credentials_expired' : 'credentials_unknown',
      skewed ? 'clock-skew' : 'bad-signature',
      `The request signature was refused: ${verified.reason}. Check the Gatehouse access key secret and the clock.`,
    );
  }

  // --- the payload the upstream will get, checked against what the client signed -----------------
  let payload: Payload;
  let bodyError: Error | undefined;
  if (body !== undefined) {
    const actual = body.length === 0 ? EMPTY_SHA256 : sha256Hex(body);
    if (shaHeader !== undefined && HEX64.test(shaHeader) && shaHeader.toLowerCase() !== actual) {
      return refuse(
        'credentials_unknown',
        'bad-signature',
        'The request body does not match its signed X-Amz-Content-Sha256.',
      );
    }
    if (
      shaHeader !== undefined &&
      !HEX64.test(shaHeader) &&
      !(shaHeader === 'UNSIGNED-PAYLOAD' && auth.service === 's3')
    ) {
      return refuse(
        'credentials_malformed',
        'bad-signature',
        `X-Amz-Content-Sha256 ${shaHeader.slice(0, 60)} is not accepted for this request.`,
      );
    }
    payload = {
      ...(body.length > 0 ? { body } : {}),
      sha256: actual,
      ...(body.length > 0 || bodyPresent ? { contentLength: body.length } : {}),
      chunked: false,
    };
  } else {
    const sha = shaHeader!;
    const declared = declaredLength(req);
    if (HEX64.test(sha)) {
      payload = {
        sha256: sha.toLowerCase(),
        ...(declared !== undefined ? { contentLength: declared } : {}),
        chunked: false,
      };
    } else if (sha === 'UNSIGNED-PAYLOAD' && auth.service === 's3') {
      payload = {
        sha256: 'UNSIGNED-PAYLOAD',
        ...(declared !== undefined ? { contentLength: declared } : {}),
        chunked: false,
      };
    } else if (
      auth.service === 's3' &&
      [
        'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
        'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER',
        'STREAMING-UNSIGNED-PAYLOAD-TRAILER',
      ].includes(sha)
    ) {
      const decodedText = header(req.headers, 'x-amz-decoded-content-length');
      if (decodedText === undefined || !/^\d{1,15}$/.test(decodedText))
        return fail('malformed', 'An aws-chunked upload needs X-Amz-Decoded-Content-Length.');
      payload = { sha256: 'UNSIGNED-PAYLOAD', contentLength: Number(decodedText), chunked: true };
    } else {
      return refuse(
        'credentials_malformed',
        'bad-signature',
        `X-Amz-Content-Sha256 ${sha.slice(0, 60)} is not accepted for this request.`,
      );
    }
  }

  // --- session, classification, admission --------------------------------------------------------
  let session: GateSession;
  try {
    session = await deps.sessions.get(req.socket, `aws:${auth.accessKeyId}`, {
      token: key.token,
      connection: deps.connection,
      protocol: 'http',
      listener: 'aws',
      clientAddress: `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? ''}`,
      ...(req.socket.remoteAddress ? { clientHost: req.socket.remoteAddress } : {}),
      clientUser: auth.accessKeyId,
      ...(req.headers['user-agent'] ? { application: req.headers['user-agent'].slice(0, 200) } : {}),
    });
  } catch (e) {
    const ge = asGatewayError(e);
    if (!ge) throw e;
    return fail(failureFor(ge.code), ge.message);
  }
  // One of the principal's in-flight slots, before anything is decided or sent upstream.
  const overLimit = await refuseOverLimit(deps, x, session, method, (message, id) =>
    awsErrorResponse(proto, 'throttled', message, id),
  );
  if (overLimit) return answer(x, overLimit);

  // --- one canonical path: verified as signed above, decided, re-signed and forwarded from here on --
  // S3 reads the key as the decoded rest of the path and resolves nothing, so its profile lets key
  // characters through that the strict one refuses (src/wire/http/canonical-path.ts).
  const refuseRecorded = async (ruleId: string, message: string): Promise<void> => {
    const id = await whileDeciding(
      x,
      recordRefusal(session, deps.connection, method, {
        ruleId,
        message,
        recorded: printableTarget(req.url),
      }),
    );
    fail('malformed', message, id);
  };
  const path = canonicalPath(target.rawPath, { profile: auth.service === 's3' ? 's3' : 'strict' });
  if (!path.ok)
    return refuseRecorded(AMBIGUOUS_REQUEST_RULE, `Gatehouse refused the request path: ${path.reason}.`);
  const override = methodOverrideRefusal(method, req.headers, query);
  if (override !== undefined) return refuseRecorded(METHOD_OVERRIDE_RULE, override);
  const stripped = connectionStrippedHeaders(req.headers);
  if (stripped !== undefined) return refuseRecorded(AMBIGUOUS_REQUEST_RULE, connectionRefusal(stripped));

  let cls: AwsClassification;
  if (protocol === undefined)
    cls = unknown('query', `service ${auth.service} is not one Gatehouse can classify`);
  else if (aws.services && !aws.services.has(auth.service))
    cls = unknown(protocol, `service ${auth.service} is not enabled on connection ${deps.connection}`);
  else
    cls = classifyAws(protocol, {
      service: auth.service,
      method,
      rawPath: path.path,
      query,
      rawQuery: target.rawQuery,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      ...(body ? { body } : {}),
    });

  // A JSON body Gatehouse read and decided on goes upstream in the spelling that reads as JSON only
  // (no `&`, `;`, `=`: no form a service or an AWS-compatible endpoint could read an Action from), and
  // is signed with its own hash (docs/security.md, class 54).
  if (
    cls.operation !== undefined &&
    body !== undefined &&
    (protocol === 'json' || (protocol === 'rest-json' && needsBody(protocol, method, query, target.rawPath)))
  ) {
    body = formInertJson(body);
    payload = { body, sha256: sha256Hex(body), contentLength: body.length, chunked: false };
  }

  // What the operation implies (an S3 copy's source read, the ACL a PutObject header sets) is decided
  // and recorded with it.
  const implied =
    cls.operation === undefined
      ? undefined
      : cls.implied?.map((i) =>
          httpAction({
            connection: deps.connection,
            method: i.method,
            path: recordedTarget(policyPath(i.path), i.rawQuery, settings.masking.fields),
            shownPath: shownTarget(policyPath(i.path), i.rawQuery, settings.masking.fields),
            decidedPath: policyPath(i.path),
            target: `${i.path.path}${i.rawQuery === '' ? '' : `?${i.rawQuery}`}`,
            operation: i.operation,
            resource: i.resource,
            headers: i.headers,
          }),
        );
  const action: HttpAction = httpAction({
    connection: deps.connection,
    method,
    path: recordedTarget(policyPath(path), target.rawQuery, settings.masking.fields),
    shownPath: shownTarget(policyPath(path), target.rawQuery, settings.masking.fields),
    decidedPath: policyPath(path),
    target: `${path.path}${target.rawQuery === '' ? '' : `?${target.rawQuery}`}`,
    ...(cls.operation !== undefined ? { operation: cls.operation } : {}),
    ...(cls.resource !== undefined ? { resource: cls.resource } : {}),
    ...(cls.operation !== undefined && cls.mentions !== undefined ? { mentions: cls.mentions } : {}),
    ...(cls.operation !== undefined && cls.selects !== undefined ? { selects: cls.selects } : {}),
    implied,
    headers: cls.operation === undefined ? undefined : cls.headers,
  });
  // A copy, select, attributes or parts read decrypts under a key no request names (aws/s3-decrypt-key.ts).
  const decideRequest = (a: HttpAction) =>
    withSourceDecrypt(session.decide(a), a, (d) => session.decide(d), req.headers);
  const decision =
    cls.operation !== undefined
      ? decideRequest(action)
      : deny(
          UNKNOWN_OPERATION_RULE,
          `${method} ${action.path} is refused by rule ${UNKNOWN_OPERATION_RULE}: Gatehouse could not tell which AWS operation it is (${cls.reason ?? 'unknown'}), and what it cannot classify it does not forward.`,
        );

  // The body as the upstream gets it: decoded from aws-chunked (chunk signatures checked), or checked
  // against its signed hash (the last piece held back until it matches), or as it comes.
  const bodyStream = (): Readable => {
    let transform: Transform | undefined;
    if (payload.chunked) {
      const signedChunks = shaHeader !== 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
      transform = new AwsChunkedDecoder({
        decodedLength: payload.contentLength!,
        ...(signedChunks
          ? {
              signing: {
                key: deriveSigningKey(key.secretAccessKey, auth.date, auth.region, auth.service),
                amzDate: header(req.headers, 'x-amz-date')!,
                scope: `${auth.date}/${auth.region}/${auth.service}/aws4_request`,
                seedSignature: auth.signature,
              },
            }
          : {}),
      });
    } else if (payload.sha256 !== 'UNSIGNED-PAYLOAD') transform = new Sha256Verifier(payload.sha256);
    return transform
      ? pipeline(req, transform, (err) => {
          if (err) bodyError = err;
        })
      : req;
  };

  // A request that needs approval has its body read whole first (decoded and checked as above): the
  // approval is bound to it, the approver is shown it, and exactly it is forwarded, signed with its
  // own hash. Allowed requests stream their body.
  let admitted = action;
  if (decision.effect === 'review' && bodyPresent) {
    let whole: Buffer | 'too-large' | undefined = body;
    if (whole === undefined) {
      try {
        whole = await readReviewedBody(x, bodyStream(), settings.maxRequestBodyBytes);
      } catch (e) {
        if (e instanceof AwsChunkedError || e instanceof PayloadHashMismatch) {
          // The rest of the body will not be read: close after answering. The caller is known (its
          // signature on the head checked out): the refusal is recorded against it.
          x.bodyConsumed = false;
          const message = `${e.message}; the upload was stopped.`;
          const id = await whileDeciding(
            x,
            recordRefusal(session, deps.connection, method, {
              ruleId: BAD_PAYLOAD_RULE,
              message,
              recorded: action.path,
            }),
          );
          return fail('bad-signature', message, id);
        }
        throw e;
      }
      // Answered 408 and closed: the refusal is recorded against its caller.
      if (whole === undefined) return recordBodyTimeout(x, session, deps.connection, method, action.path);
    }
    if (whole === 'too-large') {
      const { message, id } = await refuseReviewedBody(
        x,
        session,
        deps.connection,
        method,
        action.path,
        settings.maxRequestBodyBytes,
      );
      return fail('too-large', message, id);
    }
    payload = {
      body: whole,
      sha256: whole.length === 0 ? EMPTY_SHA256 : sha256Hex(whole),
      contentLength: whole.length,
      chunked: payload.chunked,
    };
    admitted = withReviewedBody(
      action,
      reviewedBody(whole, httpBodyView(req.headers['content-type'], settings.masking), {
        contentEncoding: req.headers['content-encoding'],
        max: settings.maxRequestBodyBytes,
      }),
    );
    // Not held when the approver would be shown only its head (class 291), or when its masked view
    // would hide what it runs behind a masked value (class 275).
    const refusal = reviewedBodyRefusal(admitted.body, whole, req.headers['content-type'], settings.masking, {
      contentEncoding: req.headers['content-encoding'],
      max: settings.maxRequestBodyBytes,
      literal: (text) => storedSecretFields(cls.operation, text),
      advice:
        'Keep a secret in Secrets Manager or an SSM SecureString and name it where it is used, and commands out of values under sensitive names.',
    });
    if (refusal !== undefined) {
      const { ruleId, message } = refusal;
      const id = await whileDeciding(
        x,
        recordRefusal(session, deps.connection, method, { ruleId, message, recorded: action.path }),
      );
      return fail(refusal.failure, message, id);
    }
  }
  // The headers that go up with a reviewed request (S3's metadata, redirect, lock and storage headers,
  // conditions…) are bound to its approval and shown to the approver, as its body is (class 205).
  if (decision.effect === 'review')
    admitted = withBoundHeaders(
      admitted,
      boundHeaders(
        {
          ...forwardRequestHeaders(req.headers, { aws: true, awsChunked: payload.chunked }),
          ...cls.canonicalHeaders,
        },
        settings.masking.fields,
      ),
    );
  const admission: Admission = await whileDeciding(x, () =>
    // Decided again after a body was read (the policy may have been reloaded meanwhile); else as above.
    session.admit(admitted, {
      ...admitOptions(x),
      decision: admitted !== action ? decideRequest(admitted) : decision,
    }),
  );
  if (!admission.allowed)
    return fail(failureFor(admission.error.code), admission.error.message, admission.statementId);
  const requestId = admission.statementId;
  // The body ran out of time while the session was being opened: answered (408), nothing forwarded.
  if (x.bodyTimedOut) return settle(session, admission, bodyTimeoutError(x));

  // --- forward, re-signed with the gateway's own credentials -------------------------------------
  try {
    const service = auth.service;
    // The endpoint's origin only: the canonical path is sent as the path, byte for byte, and signed so.
    const origin = new URL(aws.endpointFor(service).origin);
    const headers: Record<string, string> = {
      ...forwardRequestHeaders(req.headers, { aws: true, awsChunked: payload.chunked }),
      ...settings.staticHeaders,
      // The decided spelling (an S3 copy source) over the client's.
      ...cls.canonicalHeaders,
    };
    if (payload.contentLength !== undefined) headers['content-length'] = String(payload.contentLength);
    headers['x-amz-content-sha256'] = payload.sha256;
    const credentials = await aws.credentials.get();
    const signed = await signUpstreamRequest({
      method,
      target: origin,
      rawPath: path.path,
      query,
      headers,
      region: aws.signingRegionFor(service),
      service,
      credentials,
    });
    let upstreamBody: Buffer | Readable | undefined = payload.body;
    if (upstreamBody === undefined && bodyPresent) {
      goOn(x);
      upstreamBody = bodyStream();
    }
    // An endpoint that is not AWS's own (an S3-compatible store, a proxy) may answer without reading
    // a body, and then read it as the next request on the connection: as for generic upstreams, a
    // request with a body is the last on its connection there (docs/security.md, class 40). AWS's
    // endpoints read every body by its framing, and keep their connections.
    if (upstreamBody !== undefined && !isAwsEndpoint(origin.hostname)) signed['connection'] = 'close';
    const up = await callUpstream(
      settings,
      {
        method,
        origin: origin.origin,
        target: `${path.path}${target.rawQuery === '' ? '' : `?${target.rawQuery}`}`,
        headers: signed,
        ...(upstreamBody ? { body: upstreamBody } : {}),
        signal: upstreamSignal(x, session),
      },
      () =>
        bodyError instanceof AwsChunkedError || bodyError instanceof PayloadHashMismatch
          ? bodyError
          : undefined,
    );
    // An SSE-KMS object's key is named in the answer's head: decided before any body byte is relayed.
    const keyRefusal = decryptRefusal(cls, action, up, (d) => session.decide(d), req.headers);
    if (keyRefusal !== undefined) {
      up.body.on('error', () => undefined);
      up.body.destroy();
      settle(session, admission, { error: { code: 'kms_key_refused', message: keyRefusal } });
      return answer(x, awsErrorResponse(proto, 'denied', keyRefusal, requestId));
    }
    const decided = admission.decision;
    const outcome = await relayResponse(x.res, up, {
      method,
      masking: settings.masking,
      objectBody: cls.objectBody === true,
      scanObjects: decided.effect !== 'deny' && Boolean(decided.obligations.mask),
      withholdCookies: settings.withholdCookies,
      eventStream: cls.operation === 's3:SelectObjectContent',
      withhold: (message) => awsErrorResponse(proto, 'withheld', message, requestId),
      // The session token this request was signed with, echoed (S3's ExpiredToken error quotes it as
      // `<Token-0>`, a debug endpoint its request), is never relayed, to any principal (class 281).
      credentialForms: credentialForms(credentials.sessionToken ? [credentials.sessionToken] : []),
    });
    settle(session, admission, x.bodyTimedOut ? bodyTimeoutError(x) : outcome);
  } catch (e) {
    // The client was answered 408 and its connection closed (exchange-context.ts): nothing more to say.
    if (x.bodyTimedOut) return settle(session, admission, bodyTimeoutError(x));
    if (e instanceof AwsChunkedError || e instanceof PayloadHashMismatch) {
      settle(session, admission, { error: { code: 'bad_payload', message: e.message } });
      // The rest of the body is still coming and will not be read: close after answering.
      x.bodyConsumed = false;
      return fail('bad-signature', `${e.message}; the upload was stopped.`, requestId);
    }
    const ge = asGatewayError(e);
    settle(session, admission, {
      error: { code: ge?.code ?? 'internal', message: ge?.message ?? 'internal error' },
    });
    if (!ge) deps.logger.error({ err: String(e), connection: deps.connection }, 'aws request failed');
    if (x.isClientGone()) return;
    return fail(
      ge ? failureFor(ge.code) : 'internal',
      ge?.message ?? 'Gatehouse failed to forward the request.',
      requestId,
    );
  }
}

/** AWS's own endpoints (regional, FIPS, dual-stack, VPC endpoints, China regions). */
function isAwsEndpoint(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  return h.endsWith('.amazonaws.com') || h.endsWith('.amazonaws.com.cn') || h.endsWith('.api.aws');
}
