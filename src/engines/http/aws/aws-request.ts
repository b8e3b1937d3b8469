// The shape of an AWS API request as the classifiers see it, and what they answer: `service:Operation`
// and the resource it acts on, or no operation at all (which the engine denies: aws-unknown-operation).

import type { IncomingHttpHeaders } from 'node:http';
import type { CanonicalPath } from '../../../wire/http/canonical-path.js';
import type { QueryMap } from '../sigv4/canonical-query.js';

/** How an AWS service encodes its API (Smithy protocols): decides which classifier reads the request. */
export type AwsProtocol = 's3' | 'json' | 'query' | 'rest-json';

export interface AwsRequest {
  /** Service signing name from the client's (verified) credential scope. */
  readonly service: string;
  readonly method: string;
  /** Path as received, still percent-encoded. */
  readonly rawPath: string;
  readonly query: QueryMap;
  /** The query string as received, without '?' ('' when none). */
  readonly rawQuery?: string;
  readonly headers: IncomingHttpHeaders;
  /** The headers as received, name and value alternating (to tell a repeated header from a list). */
  readonly rawHeaders?: readonly string[];
  /** The buffered body (JSON and query protocols, S3 DeleteObjects, Lambda's function configurations). */
  readonly body?: Buffer;
}

export interface AwsClassification {
  readonly protocol: AwsProtocol;
  /** `service:Operation` with the IAM service prefix (s3:GetObject, dynamodb:Scan…); undefined: unknown. */
  readonly operation?: string;
  readonly resource?: string;
  /** Every other name its parameters hold, for deny and review rules on resources (mentions.ts). */
  readonly mentions?: readonly string[] | 'too-many';
  /** Name prefixes it reads every resource under, selecting rather than naming them (mentions.ts). */
  readonly selects?: readonly string[];
  /** Why no operation could be named (for the client message). */
  readonly reason?: string;
  /** The response body is object data (S3 GetObject): streamed, scanned only when a rule opts in. */
  readonly objectBody?: boolean;
  /**
   * What else the operation does on the client's behalf, as the request the client would send to do
   * it itself (S3 CopyObject: s3:GetObject of its copy source); each is decided with the operation.
   */
  readonly implied?: readonly ImpliedRequest[];
  /** Headers to forward in place of the client's: the canonical spelling of what was decided. */
  readonly canonicalHeaders?: Readonly<Record<string, string>>;
  /**
   * Headers that make the request what it is (x-amz-acl on S3 PutObjectAcl), as decided and
   * forwarded: in its record and bound into an approval of it.
   */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface ImpliedRequest {
  readonly operation: string;
  readonly method: string;
  /** Its canonical path, as for a request's own path. */
  readonly path: CanonicalPath;
  /** Its query string ('' when none). */
  readonly rawQuery: string;
  readonly resource: string;
  /** The headers that make it this request (x-amz-acl: public-read on a PutObjectAcl), as decided. */
  readonly headers?: Readonly<Record<string, string>>;
}

export function unknown(protocol: AwsProtocol, reason: string): AwsClassification {
  return { protocol, reason };
}

export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}
