// The request headers an approval is bound to (docs/security.md, class 205). An approval binds a
// request's method, target and body; the headers that go up with it change what it does too (which
// account or tenant acts, a dry run or not, how the body is read: Content-Type, Content-Encoding;
// S3's metadata, redirect and lock headers). Each forwarded header is bound by its value's digest and
// shown to the approver, masked by name, except those that only trace or date one attempt, which a
// client changes on every retry of the same request.

import { createHash } from 'node:crypto';
import type { BoundHeader } from '../../core/action.js';
import { clipShown } from '../../core/visible-text.js';
import type { FieldMatcher } from './field-names.js';

/** Headers that name or date one attempt (tracing, request ids, SDK retry counters): not bound. */
const PER_ATTEMPT = new Set([
  'traceparent',
  'tracestate',
  'baggage',
  'sentry-trace',
  'b3',
  'x-request-id',
  'x-correlation-id',
  'request-id',
  'x-amzn-trace-id',
  'x-cloud-trace-context',
  'date',
  'amz-sdk-invocation-id',
  'amz-sdk-request',
]);

function perAttempt(name: string): boolean {
  return PER_ATTEMPT.has(name) || name.startsWith('x-b3-') || name.startsWith('x-datadog-');
}

/** Characters of a header value shown to the approver. */
const SHOWN_HEADER_CHARS = 512;

/**
 * The headers to bind, in name order, from those forwarded upstream (lower-case names): each value
 * digested, and shown unless its name is a sensitive field's (`X-Api-Key`, `x-amz-meta-db-password`).
 */
export function boundHeaders(
  forwarded: Readonly<Record<string, string>>,
  fields: FieldMatcher,
): BoundHeader[] {
  return Object.keys(forwarded)
    .map((n) => n.toLowerCase())
    .filter((n) => !perAttempt(n))
    .sort()
    .map((name) => {
      const value = forwarded[name] ?? '';
      const bare = name.replace(/^x-(?:amz-meta-)?/, '');
      const secret = fields(name) !== undefined || fields(bare) !== undefined;
      return {
        name,
        sha256: createHash('sha256').update(value, 'utf8').digest('hex'),
        shown: secret ? '[REDACTED]' : clipShown(value.replace(/[^\t\x20-\x7e]/g, '?'), SHOWN_HEADER_CHARS),
      };
    });
}
