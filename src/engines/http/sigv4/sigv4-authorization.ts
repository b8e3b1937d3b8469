// Parses the SigV4 `Authorization` header a client sends (AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…,
// Signature=…). Syntax only: whether the signature is right is verify-signature.ts's job.
//
// Spec: https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html ("Add the signature
// to the request"). The credential scope is <key id>/<yyyymmdd>/<region>/<service>/aws4_request.

export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';

export interface SigV4Authorization {
  readonly accessKeyId: string;
  /** yyyymmdd from the credential scope. */
  readonly date: string;
  readonly region: string;
  /** The service signing name (s3, dynamodb, iam, sts, lambda…). */
  readonly service: string;
  /** Lower-case header names, in the order the client listed them. */
  readonly signedHeaders: readonly string[];
  /** 64 lower-case hex characters. */
  readonly signature: string;
}

export type ParsedAuthorization =
  { readonly ok: true; readonly value: SigV4Authorization } | { readonly ok: false; readonly reason: string };

const KEY_ID = /^[A-Za-z0-9]{4,128}$/;
const DATE = /^\d{8}$/;
const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const HEADER = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
const SIGNATURE = /^[0-9a-f]{64}$/;

function fail(reason: string): ParsedAuthorization {
  return { ok: false, reason };
}

/** True when the header claims SigV4, whether or not it is well formed. */
export function isSigV4Authorization(header: string | undefined): boolean {
  return header !== undefined && header.startsWith(`${SIGV4_ALGORITHM} `);
}

export function parseSigV4Authorization(header: string): ParsedAuthorization {
  if (!isSigV4Authorization(header)) return fail(`the Authorization header must use ${SIGV4_ALGORITHM}`);
  const fields = new Map<string, string>();
  for (const part of header.slice(SIGV4_ALGORITHM.length + 1).split(',')) {
    const item = part.trim();
    const eq = item.indexOf('=');
    if (eq <= 0) return fail('the Authorization header is malformed');
    const key = item.slice(0, eq);
    if (fields.has(key)) return fail(`the Authorization header repeats ${key}`);
    fields.set(key, item.slice(eq + 1));
  }
  const credential = fields.get('Credential');
  const signedHeaders = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (
    fields.size !== 3 ||
    credential === undefined ||
    signedHeaders === undefined ||
    signature === undefined
  ) {
    return fail('the Authorization header needs exactly Credential, SignedHeaders and Signature');
  }
  const scope = credential.split('/');
  if (scope.length !== 5 || scope[4] !== 'aws4_request') return fail('the credential scope is malformed');
  const [accessKeyId, date, region, service] = scope as [string, string, string, string];
  if (!KEY_ID.test(accessKeyId)) return fail('the access key id is malformed');
  if (!DATE.test(date) || !NAME.test(region) || !NAME.test(service))
    return fail('the credential scope is malformed');
  const headers = signedHeaders.split(';');
  if (headers.some((h) => !HEADER.test(h))) return fail('SignedHeaders is malformed');
  if (new Set(headers).size !== headers.length) return fail('SignedHeaders repeats a header');
  if (!headers.includes('host')) return fail('the signature must cover the Host header');
  if (!SIGNATURE.test(signature)) return fail('the signature is malformed');
  return { ok: true, value: { accessKeyId, date, region, service, signedHeaders: headers, signature } };
}

/** `20261122T053711Z` → Date; undefined when malformed. */
export function parseAmzDate(value: string | undefined): Date | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const d = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
  return Number.isNaN(d.getTime()) ? undefined : d;
}
