// The KMS key S3 decrypts an object with on a read (docs/security.md, class 126). A GetObject of an
// SSE-KMS object has S3 call kms:Decrypt on the key the object was written under, with the caller's
// (the gateway's) credentials; no request names that key, so a deny or review rule on the key never
// saw the read, and the plaintext was relayed. The key is in the response's head
// (`x-amz-server-side-encryption: aws:kms` and `x-amz-server-side-encryption-aws-kms-key-id`), before
// any body byte: Gatehouse decides `kms:Decrypt` on it there, and a deny or review rule that may name
// it refuses the response (its body is dropped, never relayed). A review cannot be held on a response
// the upstream is already sending: it refuses, saying so. Bucket-default encryption and S3 Bucket Keys
// change nothing here: S3 names the object's key in the head either way.
//
// A copy (CopyObject, UploadPartCopy) decrypts its source under the source's key and writes the
// plaintext elsewhere, and SelectObjectContent decrypts before it filters: neither answer names the
// source's key, and what they do is done before any answer. They select "the key the source was
// written under" (any key) for every deny or review rule that may name a KMS key or alias, as a
// Decrypt without KeyId does (class 110).
//
// Only rules on resources decide the decrypt (HttpAction.rulesOnResourcesOnly): a read is not
// refused because no rule allows kms:Decrypt, nor by a rule on kms:Decrypt that names no resource
// (the default agent policy reviews every Decrypt an agent calls): S3's reads are decided as s3:
// actions, as before, and only a rule that denies or reviews the key refuses one.

import { type HttpAction, httpAction } from '../../../core/action.js';
import type { Decision, DenyDecision, ReviewDecision } from '../../../core/decision.js';

const SSE = 'x-amz-server-side-encryption';
const KEY_ID = 'x-amz-server-side-encryption-aws-kms-key-id';
/** A key id or key ARN: printable ASCII without space or comma. */
const KEY = /^[\x21-\x2b\x2d-\x7e]{1,2048}$/;

/** The operations that decrypt an object they do not answer with, before any answer. */
export const DECRYPTS_SOURCE = new Set(['s3:CopyObject', 's3:UploadPartCopy', 's3:SelectObjectContent']);

type RequestHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** GetObjectAttributes attributes that hold nothing computed from the plaintext. */
const PLAIN_ATTRIBUTES = new Set(['etag', 'storageclass', 'objectsize']);

/**
 * Whether S3 decrypts for the request and answers with what it read, naming no key (class 143):
 * a copy or select (DECRYPTS_SOURCE); GetObjectAttributes asking for `Checksum` or `ObjectParts`
 * (the plaintext's checksums, and its parts'), or for anything Gatehouse does not read as one of the
 * plain attributes; ListParts (the parts' checksums; S3 asks for kms:Decrypt on an SSE-KMS upload).
 */
export function decryptsUnnamedKey(operation: string | undefined, headers: RequestHeaders): boolean {
  if (operation === undefined) return false;
  if (DECRYPTS_SOURCE.has(operation) || operation === 's3:ListParts') return true;
  if (operation !== 's3:GetObjectAttributes') return false;
  if (headers['x-amz-checksum-mode'] !== undefined) return true;
  const wanted = headers['x-amz-object-attributes'];
  if (typeof wanted !== 'string') return true;
  return wanted.split(',').some((w) => !PLAIN_ATTRIBUTES.has(w.trim().toLowerCase()));
}

/**
 * Whether S3 decrypts for the request and its answer's head names the key (class 126, 143): a
 * GetObject, and a HeadObject with `x-amz-checksum-mode` (any value: the plaintext's checksums).
 */
export function decryptsKeyInHead(
  cls: { readonly operation?: string | undefined; readonly objectBody?: boolean | undefined },
  headers: RequestHeaders,
): boolean {
  if (cls.operation === 's3:GetObject') return cls.objectBody === true;
  return cls.operation === 's3:HeadObject' && headers['x-amz-checksum-mode'] !== undefined;
}

/**
 * The key a response's head says its body was decrypted with: `none` (not SSE-KMS), the key, or
 * `unknown` (SSE-KMS without one key in a form Gatehouse reads, or an encryption it does not know).
 */
export function decryptKeyOf(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): { key: string } | 'none' | 'unknown' {
  const sse = headers[SSE];
  if (sse === undefined) return 'none';
  if (typeof sse !== 'string') return 'unknown';
  const mode = sse.trim();
  if (mode === 'AES256') return 'none';
  if (mode !== 'aws:kms' && mode !== 'aws:kms:dsse') return 'unknown';
  const key = headers[KEY_ID];
  if (typeof key !== 'string' || !KEY.test(key.trim())) return 'unknown';
  return { key: key.trim() };
}

/** The kms:Decrypt S3 makes for the request: on the key, or on whatever key (selects ''). */
export function decryptAction(connection: string, of: HttpAction, key: string | undefined): HttpAction {
  const a = httpAction({
    connection,
    method: 'POST',
    path: '/',
    decidedPath: '/',
    target: '/',
    operation: 'kms:Decrypt',
    ...(key !== undefined ? { resource: key } : { selects: [''] }),
    headers: { 'x-gatehouse-decrypt-for': `${of.operation ?? of.method} ${of.path}`.slice(0, 300) },
  });
  return { ...a, rulesOnResourcesOnly: true };
}

/**
 * A deny or review decision on the decrypt, or undefined. Only rules on resources decide it
 * (rulesOnResourcesOnly): without one that denies or reviews the key, it is allowed.
 */
export function restrictingDecision(d: Decision): DenyDecision | ReviewDecision | undefined {
  return d.effect === 'allow' ? undefined : d;
}

/** The decision on a request that decrypts its source (DECRYPTS_SOURCE) with what the decrypt adds. */
export function withSourceDecrypt(
  decision: Decision,
  a: HttpAction,
  decide: (d: HttpAction) => Decision,
  requestHeaders: RequestHeaders,
): Decision {
  if (decision.effect === 'deny' || !decryptsUnnamedKey(a.operation, requestHeaders)) return decision;
  const r = restrictingDecision(decide(decryptAction(a.connection, a, undefined)));
  if (r === undefined || (r.effect === 'review' && decision.effect === 'review')) return decision;
  const what = DECRYPTS_SOURCE.has(a.operation ?? '')
    ? 'its source under the key the source was written under'
    : 'the object (for the checksums it answers with) under the key it was written under';
  return {
    ...r,
    message: `${r.message} ${a.operation} has S3 decrypt ${what}, which Gatehouse cannot know before S3 uses it.`,
  };
}

/**
 * Why a GetObject's (or a checksum HeadObject's) answer may not be relayed (the key S3 decrypted it with is denied or reviewed by
 * a rule, or SSE-KMS without a key Gatehouse can read while such a rule exists), or undefined.
 */
export function decryptRefusal(
  cls: { readonly operation?: string | undefined; readonly objectBody?: boolean | undefined },
  a: HttpAction,
  up: {
    readonly statusCode: number;
    readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  },
  decide: (d: HttpAction) => Decision,
  requestHeaders: RequestHeaders,
): string | undefined {
  if (!decryptsKeyInHead(cls, requestHeaders)) return undefined;
  if (up.statusCode < 200 || up.statusCode >= 300) return undefined;
  const k = decryptKeyOf(up.headers);
  if (k === 'none') return undefined;
  const r = restrictingDecision(decide(decryptAction(a.connection, a, k === 'unknown' ? undefined : k.key)));
  if (r === undefined) return undefined;
  const held =
    r.effect === 'review'
      ? ' A review cannot be held on an answer S3 is already sending: the object was not relayed.'
      : '';
  return `${r.message} S3 decrypted ${a.path} with this KMS key (its answer names it); Gatehouse relayed none of it.${held}`;
}
