// Verifies a client's SigV4 request signature by recomputing it with @smithy/signature-v4 and the
// secret of the gateway-issued key the client named. It never sees or uses the upstream credentials.
//
// What is checked (AWS SigV4, "Signature Version 4 signing process"): x-amz-date is present, signed,
// agrees with the credential scope's date and is within 15 minutes of now; every signed header is
// present; the canonical request over exactly the client's SignedHeaders gives the same signature
// (compared in constant time). The payload hash is the x-amz-content-sha256 the client signed, or the
// SHA-256 of the buffered body when the client sent none (the AWS CLI does so outside S3).

import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { QueryMap } from './canonical-query.js';
import { NodeSha256, sha256Hex } from '../../../wire/aws/node-sha256.js';
import { parseAmzDate, type SigV4Authorization } from './sigv4-authorization.js';

/** AWS refuses requests more than 15 minutes away from its clock (RequestTimeTooSkewed). */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;

export interface ReceivedRequest {
  readonly method: string;
  /** The path exactly as received (still percent-encoded), without the query. */
  readonly rawPath: string;
  readonly query: QueryMap;
  readonly headers: IncomingHttpHeaders;
}

export type VerifyResult =
  | { readonly ok: true; readonly signingDate: Date }
  | {
      readonly ok: false;
      readonly code: 'SignatureDoesNotMatch' | 'RequestTimeTooSkewed' | 'IncompleteSignature';
      readonly reason: string;
    };

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(',') : v;
}

export async function verifySignature(
  req: ReceivedRequest,
  auth: SigV4Authorization,
  secretAccessKey: string,
  options: { readonly now: Date; readonly body?: Uint8Array },
): Promise<VerifyResult> {
  const amzDate = headerValue(req.headers, 'x-amz-date');
  const signingDate = parseAmzDate(amzDate);
  if (signingDate === undefined || !auth.signedHeaders.includes('x-amz-date')) {
    return { ok: false, code: 'IncompleteSignature', reason: 'the request needs a signed X-Amz-Date header' };
  }
  if (amzDate!.slice(0, 8) !== auth.date) {
    return {
      ok: false,
      code: 'SignatureDoesNotMatch',
      reason: 'the credential scope date does not match X-Amz-Date',
    };
  }
  if (Math.abs(options.now.getTime() - signingDate.getTime()) > MAX_CLOCK_SKEW_MS) {
    return {
      ok: false,
      code: 'RequestTimeTooSkewed',
      reason: 'the request time is more than 15 minutes from the gateway clock',
    };
  }
  const headers: Record<string, string> = {};
  for (const name of auth.signedHeaders) {
    const v = headerValue(req.headers, name);
    if (v === undefined)
      return { ok: false, code: 'IncompleteSignature', reason: `the signed header ${name} is missing` };
    headers[name] = v;
  }
  if (headers['x-amz-content-sha256'] === undefined) {
    // No signed payload hash: the signature covers the body itself, so it must be here.
    if (options.body === undefined) {
      return {
        ok: false,
        code: 'IncompleteSignature',
        reason: 'the request needs a signed X-Amz-Content-Sha256 header',
      };
    }
    headers['x-amz-content-sha256'] = sha256Hex(options.body);
  }
  const signer = new SignatureV4({
    credentials: { accessKeyId: auth.accessKeyId, secretAccessKey },
    region: auth.region,
    service: auth.service,
    sha256: NodeSha256,
    // S3 signs the path as sent; every other service signs it URI-encoded once more.
    uriEscapePath: auth.service !== 's3',
    applyChecksum: false,
  });
  const request = new HttpRequest({
    method: req.method,
    protocol: 'http:',
    hostname: headers['host'] ?? '',
    path: req.rawPath,
    query: req.query,
    headers,
  });
  // The signer would also add x-amz-content-sha256 to the canonical headers if we left it in; it is
  // only part of the canonical request when the client signed it.
  const signedSet = new Set(auth.signedHeaders);
  const signed = await signer.sign(request, {
    signingDate,
    signableHeaders: signedSet,
    unsignableHeaders: new Set(Object.keys(headers).filter((h) => !signedSet.has(h))),
  });
  const authorization = signed.headers['authorization'] ?? '';
  const m = /SignedHeaders=([^,]*), Signature=([0-9a-f]{64})$/.exec(authorization);
  if (!m || m[1] !== [...auth.signedHeaders].sort().join(';')) {
    return { ok: false, code: 'SignatureDoesNotMatch', reason: 'the signed headers could not be reproduced' };
  }
  const expected = Buffer.from(m[2]!, 'hex');
  const given = Buffer.from(auth.signature, 'hex');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, code: 'SignatureDoesNotMatch', reason: 'the request signature does not match' };
  }
  return { ok: true, signingDate };
}
