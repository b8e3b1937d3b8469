// Signs requests the gateway sends upstream with its real AWS credentials (@smithy/signature-v4), and
// presigns URLs (EKS tokens). Shared by the HTTP engine and the Kubernetes engine; pure (no I/O).
// The client's own Authorization, X-Amz-Date and X-Amz-Security-Token never reach this point.

import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

/** Decoded query key → value(s), as SigV4 canonicalises them. */
export type QueryMap = Record<string, string | string[]>;
import { NodeSha256 } from './node-sha256.js';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface UpstreamSigningInput {
  readonly method: string;
  readonly target: URL;
  /** The path as it will be sent (percent-encoded), without the query. */
  readonly rawPath: string;
  readonly query: QueryMap;
  /** Headers to send (lower-case names), without host; x-amz-content-sha256 must be set. */
  readonly headers: Readonly<Record<string, string>>;
  readonly region: string;
  readonly service: string;
  readonly credentials: AwsCredentials;
  readonly now?: Date;
}

/** Returns the headers to send: the input's plus host, x-amz-date, x-amz-security-token and authorization. */
export async function signUpstreamRequest(input: UpstreamSigningInput): Promise<Record<string, string>> {
  const signer = new SignatureV4({
    credentials: input.credentials,
    region: input.region,
    service: input.service,
    sha256: NodeSha256,
    uriEscapePath: input.service !== 's3',
    applyChecksum: false,
  });
  const request = new HttpRequest({
    method: input.method,
    protocol: input.target.protocol,
    hostname: input.target.hostname,
    ...(input.target.port ? { port: Number(input.target.port) } : {}),
    path: input.rawPath,
    query: input.query,
    headers: { ...input.headers, host: input.target.host },
  });
  const signed = await signer.sign(request, input.now ? { signingDate: input.now } : {});
  return signed.headers;
}

export interface PresignInput {
  readonly method: string;
  readonly url: URL;
  /** Headers to sign besides host (lower-case names), e.g. x-k8s-aws-id. */
  readonly headers: Readonly<Record<string, string>>;
  readonly region: string;
  readonly service: string;
  readonly credentials: AwsCredentials;
  readonly expiresInSeconds: number;
  readonly now?: Date;
}

/** RFC 3986 encoding, as SigV4 query strings use it. */
function uriEscape(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** A presigned URL (SigV4 query authentication): anyone holding it may make that one request until it expires. */
export async function presignUrl(input: PresignInput): Promise<URL> {
  const signer = new SignatureV4({
    credentials: input.credentials,
    region: input.region,
    service: input.service,
    sha256: NodeSha256,
    uriEscapePath: true,
    applyChecksum: false,
  });
  const query: QueryMap = {};
  for (const [k, v] of input.url.searchParams) query[k] = v;
  const request = new HttpRequest({
    method: input.method,
    protocol: input.url.protocol,
    hostname: input.url.hostname,
    ...(input.url.port ? { port: Number(input.url.port) } : {}),
    path: input.url.pathname || '/',
    query,
    headers: { ...input.headers, host: input.url.host },
  });
  const signed = await signer.presign(request, {
    expiresIn: input.expiresInSeconds,
    ...(input.now ? { signingDate: input.now } : {}),
  });
  const parts: string[] = [];
  for (const [k, v] of Object.entries(signed.query ?? {})) {
    for (const one of Array.isArray(v) ? v : [v])
      if (one !== null) parts.push(`${uriEscape(k)}=${uriEscape(one)}`);
  }
  parts.sort();
  return new URL(`${input.url.origin}${input.url.pathname || '/'}?${parts.join('&')}`);
}
