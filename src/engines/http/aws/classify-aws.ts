// Chooses the classifier for an AWS request and runs it. The protocol follows from the service the
// client signed for (verified) and, for JSON services, the X-Amz-Target header; it is known before the
// body is read, so only the JSON and query protocols, S3 DeleteObjects and Lambda's function
// configurations (small bodies) are buffered.

import type { IncomingHttpHeaders } from 'node:http';
import type { AwsClassification, AwsProtocol, AwsRequest } from './aws-request.js';
import { header, unknown } from './aws-request.js';
import { strayAwsHeader } from './aws-request-headers.js';
import { classifyJson } from './json-classifier.js';
import { classifyLambda, lambdaNeedsBody } from './lambda-classifier.js';
import { classifyQuery, QUERY_SERVICES } from './query-classifier.js';
import { classifyS3, s3NeedsBody } from './s3-classifier.js';

/** The protocol for this service and request, or undefined when Gatehouse does not classify it. */
export function awsProtocolFor(service: string, headers: IncomingHttpHeaders): AwsProtocol | undefined {
  if (service === 's3') return 's3';
  if (header(headers, 'x-amz-target') !== undefined) return 'json';
  if (service === 'lambda') return 'rest-json';
  if (Object.hasOwn(QUERY_SERVICES, service)) return 'query';
  return undefined;
}

/** Whether the classifier needs the request body (buffered, capped). */
export function needsBody(
  protocol: AwsProtocol,
  method: string,
  query: Readonly<Record<string, unknown>>,
  rawPath: string,
): boolean {
  return (
    protocol === 'json' ||
    protocol === 'query' ||
    (protocol === 's3' && s3NeedsBody(method, query)) ||
    (protocol === 'rest-json' && lambdaNeedsBody(method, rawPath))
  );
}

export function classifyAws(protocol: AwsProtocol, req: AwsRequest): AwsClassification {
  // A header an AWS-compatible endpoint may read as a parameter (aws-request-headers.ts).
  const stray = strayAwsHeader(Object.keys(req.headers));
  if (stray !== undefined)
    return unknown(
      protocol,
      `the header ${stray.slice(0, 80)} is neither a standard HTTP header nor an AWS one (an AWS-compatible endpoint may read it as a parameter)`,
    );
  switch (protocol) {
    case 's3':
      return classifyS3(req);
    case 'json':
      return classifyJson(req);
    case 'query':
      return classifyQuery(req);
    case 'rest-json':
      return classifyLambda(req);
  }
}
