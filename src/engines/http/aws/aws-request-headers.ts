// The headers an AWS request may carry: standard HTTP headers and the AWS namespaces (`x-amz-*`,
// `x-amzn-*`, `amz-sdk-*`, and for S3 only its own, s3-request-headers.ts). moto's server — an
// AWS-compatible endpoint, and the base of LocalStack — reads a request's headers as its parameters
// when it has no query string, form or body: `Action: DeleteFunction` on a `GET` of a Lambda function,
// decided as lambda:GetFunction, deleted the function there (docs/security.md, class 59). So a header
// outside those names makes the request unknown (refused), whatever the protocol. Headers the gateway
// never forwards (hop-by-hop, the client's own) are not counted.

import { neverForwarded } from '../http-headers.js';

/** Standard HTTP request headers (RFC 9110 and common practice) that name no AWS parameter. */
const STANDARD = new Set([
  'accept',
  'accept-charset',
  'accept-encoding',
  'accept-language',
  'cache-control',
  'content-disposition',
  'content-encoding',
  'content-language',
  'content-md5',
  'content-type',
  'date',
  'expires',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-range',
  'if-unmodified-since',
  'origin',
  'pragma',
  'range',
  'referer',
  'user-agent',
  'via',
  // W3C trace context, which SDKs with tracing add.
  'traceparent',
  'tracestate',
  'baggage',
]);

/** The first header that is neither standard HTTP nor in an AWS namespace, or undefined. */
export function strayAwsHeader(names: Iterable<string>): string | undefined {
  for (const raw of names) {
    const name = raw.toLowerCase();
    if (neverForwarded(name)) continue;
    if (name.startsWith('x-amz-') || name.startsWith('x-amzn-') || name.startsWith('amz-sdk-')) continue;
    if (STANDARD.has(name)) continue;
    return name;
  }
  return undefined;
}
