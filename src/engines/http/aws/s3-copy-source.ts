// The source object of an S3 CopyObject or UploadPartCopy, read from `x-amz-copy-source` the way S3
// reads it: the value is URL-encoded `bucket/key` (a leading `/` is allowed), optionally followed by
// `?versionId=<id>`; S3 cuts the version off at the first raw `?`, percent-decodes the rest, and takes
// everything before its first `/` as the bucket and everything after as the key.
//
// Only forms that cannot be read two ways pass: raw characters outside a small safe set (a raw `+`,
// which some decoders read as a space, a space, `;`, `#`, non-ASCII…), malformed escapes, escapes that
// are not UTF-8, a query other than one versionId, and access-point or Outposts ARNs (whose bucket
// Gatehouse cannot know) are refused. The key must also pass the checks an S3 path's key passes
// (src/wire/http/canonical-path.ts, profile `s3`): no `.`/`..` or empty segments, no control
// characters. What is forwarded is the canonical spelling of what was decided.
// Spec: S3 API Reference, CopyObject and UploadPartCopy, request header x-amz-copy-source.

import { canonicalPath, type CanonicalPath, type RefusedPath } from '../../../wire/http/canonical-path.js';

export interface CopySource {
  readonly bucket: string;
  readonly key: string;
  readonly versionId?: string;
  /** `/<bucket>/<key>` canonicalised as an S3 request path is: what policy's `paths` match. */
  readonly path: CanonicalPath;
  /** `versionId=<id>` percent-encoded, or '' (the query a GetObject of that version would carry). */
  readonly rawQuery: string;
  /** The header value to forward: `bucket/key[?versionId=id]`, every non-unreserved byte escaped. */
  readonly header: string;
}

export type CopySourceResult =
  { readonly ok: true; readonly source: CopySource } | { readonly ok: false; readonly reason: string };

const MAX_LENGTH = 8192;
/** Unreserved characters, `/`, `%` (escapes), `?` (the version) and sub-delims with no meaning to S3 here. */
const SAFE_RAW = /^[A-Za-z0-9\-._~/%?!$&'()*,=:@]*$/;
/** As for the bucket of a request path (s3-classifier.ts): legacy names (upper case, `_`) included. */
const BUCKET = /^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/;
/** S3 version ids are URL-ready ASCII: printable, no space. */
const VERSION_ID = /^[\x21-\x7e]{1,1024}$/;

const refuse = (reason: string): CopySourceResult => ({ ok: false, reason: `x-amz-copy-source ${reason}` });

function strictDecode(raw: string): string | undefined {
  if (/%(?![0-9A-Fa-f]{2})/.test(raw)) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/** RFC 3986 unreserved characters raw, every other UTF-8 byte as an upper-case escape. */
export function encodeStrict(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * The canonical S3 request path of an object named outside the request path (a copy source, a key in
 * a DeleteObjects body): refused exactly where the same key in a request path would be.
 */
export function objectPath(bucket: string, key: string): CanonicalPath | RefusedPath {
  return canonicalPath(`/${[bucket, ...key.split('/')].map(encodeStrict).join('/')}`, { profile: 's3' });
}

/** A version id as S3 hands them out (URL-ready printable ASCII), or undefined. */
export function validVersionId(v: string): boolean {
  return VERSION_ID.test(v);
}

export function parseCopySource(value: string): CopySourceResult {
  if (value === '') return refuse('is empty');
  if (value.length > MAX_LENGTH) return refuse(`is longer than ${MAX_LENGTH} characters`);
  if (!SAFE_RAW.test(value)) {
    return refuse(
      'has a character that must be percent-encoded (a space, "+", ";", "#", "\\", a control or non-ASCII character, or a repeated header joined with ", ")',
    );
  }
  const q = value.indexOf('?');
  const rawSource = q < 0 ? value : value.slice(0, q);
  let versionId: string | undefined;
  if (q >= 0) {
    const m = /^versionId=([^&=?]+)$/.exec(value.slice(q + 1));
    if (!m) return refuse('has a query other than "?versionId=<id>"');
    const v = strictDecode(m[1]!);
    if (v === undefined || !VERSION_ID.test(v)) return refuse('has a malformed versionId');
    versionId = v;
  }
  const decoded = strictDecode(rawSource);
  if (decoded === undefined) return refuse('has a malformed percent-escape or one that is not UTF-8');
  const text = decoded.startsWith('/') ? decoded.slice(1) : decoded;
  if (/^arn:/i.test(text))
    return refuse(
      'names an access point or Outposts ARN, whose bucket Gatehouse cannot tell: name the source bucket',
    );
  const slash = text.indexOf('/');
  if (slash <= 0) return refuse('does not name a bucket and a key ("bucket/key")');
  const bucket = text.slice(0, slash);
  const key = text.slice(slash + 1);
  if (key === '') return refuse('names no key');
  if (!BUCKET.test(bucket)) return refuse('does not name a valid bucket');
  const path = objectPath(bucket, key);
  if (!path.ok)
    return refuse(`names a key Gatehouse does not forward: ${path.reason.replace(/^the path/, 'it')}`);
  const rawQuery = versionId === undefined ? '' : `versionId=${encodeStrict(versionId)}`;
  return {
    ok: true,
    source: {
      bucket,
      key,
      ...(versionId === undefined ? {} : { versionId }),
      path,
      rawQuery,
      header: `${path.path.slice(1)}${rawQuery === '' ? '' : `?${rawQuery}`}`,
    },
  };
}
