// For the S3 classifier's unit tests: a request as the engine hands it to classifyS3, with the body
// the engine reads (aws-exchange.ts: a body it needs is there, empty when none came).

import { parseQuery } from '../sigv4/canonical-query.js';
import type { AwsClassification } from './aws-request.js';
import { classifyS3, s3NeedsBody } from './s3-classifier.js';

export function classifyS3Target(
  method: string,
  target: string,
  headers: Record<string, string> = {},
  opts: { body?: string | Buffer; rawHeaders?: string[] } = {},
): AwsClassification {
  const q = target.indexOf('?');
  const query = parseQuery(q < 0 ? '' : target.slice(q + 1))!;
  const body = opts.body ?? (s3NeedsBody(method, query) ? '' : undefined);
  return classifyS3({
    service: 's3',
    method,
    rawPath: q < 0 ? target : target.slice(0, q),
    query,
    headers,
    ...(opts.rawHeaders ? { rawHeaders: opts.rawHeaders } : {}),
    ...(body === undefined ? {} : { body: Buffer.isBuffer(body) ? body : Buffer.from(body) }),
  });
}
