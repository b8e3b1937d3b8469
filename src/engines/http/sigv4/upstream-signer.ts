// Signs the request the gateway sends upstream with the real AWS credentials (@smithy/signature-v4).
// The client's own Authorization, X-Amz-Date and X-Amz-Security-Token never reach this point.

import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { QueryMap } from './canonical-query.js';
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
