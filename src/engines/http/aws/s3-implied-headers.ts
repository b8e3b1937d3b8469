// S3 request headers that make a request do more than its operation: each is decided as the IAM action
// AWS itself requires for it, written as the request a client would send to do that part alone
// (HttpAction.implied), so that a rule on that operation cannot be got round through another one.
//
//   PutObject, CopyObject, CreateMultipartUpload (the object written):
//     x-amz-acl, x-amz-grant-read|-read-acp|-write-acp|-full-control  s3:PutObjectAcl      PUT /b/k?acl
//     x-amz-tagging                                                    s3:PutObjectTagging  PUT /b/k?tagging
//     x-amz-object-lock-mode, x-amz-object-lock-retain-until-date      s3:PutObjectRetention PUT /b/k?retention
//     x-amz-object-lock-legal-hold                                     s3:PutObjectLegalHold PUT /b/k?legal-hold
//   CopyObject, x-amz-tagging-directive COPY (the default): the source's tags are read
//                                                                      s3:GetObjectTagging  GET /src/k?tagging
//   DeleteObject, DeleteObjects (each key), PutObjectRetention:
//     x-amz-bypass-governance-retention: true                          s3:BypassGovernanceRetention (on the object)
//   CreateBucket:
//     x-amz-acl other than private, x-amz-grant-*                      s3:PutBucketAcl      PUT /b?acl
//     x-amz-bucket-object-lock-enabled: true                           s3:PutObjectLockConfiguration PUT /b?object-lock
//                                                                      and s3:PutBucketVersioning PUT /b?versioning
//     x-amz-object-ownership                                           s3:PutBucketOwnershipControls PUT /b?ownershipControls
//
// Names are Gatehouse's operation names (the API operation a client would call, as for every S3
// request); IAM calls PutObjectLockConfiguration s3:PutBucketObjectLockConfiguration.
// Spec: Amazon S3 User Guide, "Required permissions for Amazon S3 API operations"; S3 API Reference,
// CreateBucket ("Permissions"), PutObjectRetention, DeleteObject(s) (x-amz-bypass-governance-retention).
//
// Fail closed: each of these headers (and any other x-amz-grant-*, x-amz-object-lock-*, x-amz-bypass-*,
// x-amz-tagging* header) is accepted only on the operations that take it, at most once, and with a
// value in the one form S3 documents; it is forwarded exactly as decided. Anything else leaves the
// operation unknown.

import { canonicalPath, type CanonicalPath } from '../../../wire/http/canonical-path.js';
import type { AwsClassification, AwsRequest, ImpliedRequest } from './aws-request.js';
import { unknown } from './aws-request.js';
import { encodeStrict, objectPath, validVersionId } from './s3-copy-source.js';

const OBJECT_WRITES = ['s3:PutObject', 's3:CopyObject', 's3:CreateMultipartUpload'] as const;
const ACL_OPS = [...OBJECT_WRITES, 's3:PutObjectAcl', 's3:CreateBucket', 's3:PutBucketAcl'] as const;
const BYPASS_OPS = ['s3:DeleteObject', 's3:DeleteObjects', 's3:PutObjectRetention'] as const;

/** Each header this module reads, and the operations that may carry it. */
const ALLOWED_ON: Readonly<Record<string, readonly string[]>> = {
  'x-amz-acl': ACL_OPS,
  'x-amz-grant-read': ACL_OPS,
  'x-amz-grant-read-acp': ACL_OPS,
  'x-amz-grant-write-acp': ACL_OPS,
  'x-amz-grant-full-control': ACL_OPS,
  'x-amz-grant-write': ['s3:CreateBucket', 's3:PutBucketAcl', 's3:PutObjectAcl'],
  'x-amz-tagging': OBJECT_WRITES,
  'x-amz-tagging-directive': ['s3:CopyObject'],
  'x-amz-object-lock-mode': OBJECT_WRITES,
  'x-amz-object-lock-retain-until-date': OBJECT_WRITES,
  'x-amz-object-lock-legal-hold': OBJECT_WRITES,
  'x-amz-bypass-governance-retention': BYPASS_OPS,
  'x-amz-bucket-object-lock-enabled': ['s3:CreateBucket'],
  'x-amz-object-ownership': ['s3:CreateBucket'],
};

/** Header families that carry a permission: a member not in ALLOWED_ON is refused, not forwarded. */
const FAMILIES = /^x-amz-(?:grant-|object-lock-|bypass-|bucket-object-lock-|tagging|object-ownership)/;

const ACL_HEADERS = [
  'x-amz-acl',
  'x-amz-grant-read',
  'x-amz-grant-write',
  'x-amz-grant-read-acp',
  'x-amz-grant-write-acp',
  'x-amz-grant-full-control',
] as const;

const OBJECT_CANNED = new Set([
  'private',
  'public-read',
  'public-read-write',
  'authenticated-read',
  'aws-exec-read',
  'bucket-owner-read',
  'bucket-owner-full-control',
]);
const BUCKET_CANNED = new Set(['private', 'public-read', 'public-read-write', 'authenticated-read']);

/** `id="…"`, `uri="…"`, `emailAddress="…"` (quoted or not), comma-separated. */
const GRANTEE = String.raw`(?:id|uri|emailaddress)=(?:"[\x21\x23-\x5b\x5d-\x7e]+"|[\x21\x23-\x2b\x2d-\x5b\x5d-\x7e]+)`;
const GRANTS = new RegExp(String.raw`^${GRANTEE}(?: ?, ?${GRANTEE})*$`, 'i');
/** A tag set as URL query parameters: `k=v&k2=v2`, unreserved characters and %-escapes only. */
const TAG_PART = String.raw`(?:[A-Za-z0-9\-._~]|%[0-9A-Fa-f]{2})+(?:=(?:[A-Za-z0-9\-._~]|%[0-9A-Fa-f]{2})*)?`;
const TAG_SET = new RegExp(String.raw`^(?:${TAG_PART}(?:&${TAG_PART})*)?$`);
/** ISO 8601 date-time as the SDKs send it (timestamp format date-time), UTC or with an offset. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;
const MAX_VALUE = 8192;

type Checked =
  { readonly ok: true; readonly value: string } | { readonly ok: false; readonly reason: string };

function check(name: string, value: string, operation: string): Checked {
  const bad = (what: string): Checked => ({ ok: false, reason: `${name} ${what}` });
  if (value.length > MAX_VALUE) return bad(`is longer than ${MAX_VALUE} characters`);
  switch (name) {
    case 'x-amz-acl': {
      const canned = operation === 's3:CreateBucket' || operation === 's3:PutBucketAcl';
      if (!(canned ? BUCKET_CANNED : OBJECT_CANNED).has(value))
        return bad(`is not a canned ACL S3 takes on ${operation}`);
      return { ok: true, value };
    }
    case 'x-amz-grant-read':
    case 'x-amz-grant-write':
    case 'x-amz-grant-read-acp':
    case 'x-amz-grant-write-acp':
    case 'x-amz-grant-full-control':
      return GRANTS.test(value)
        ? { ok: true, value }
        : bad('is not a list of id=, uri= or emailAddress= grantees in printable ASCII');
    case 'x-amz-tagging':
      return TAG_SET.test(value)
        ? { ok: true, value }
        : bad('is not a tag set in URL query form (k=v&k2=v2, unreserved characters and %-escapes only)');
    case 'x-amz-tagging-directive':
      return value === 'COPY' || value === 'REPLACE' ? { ok: true, value } : bad('is not COPY or REPLACE');
    case 'x-amz-object-lock-mode':
      return value === 'GOVERNANCE' || value === 'COMPLIANCE'
        ? { ok: true, value }
        : bad('is not GOVERNANCE or COMPLIANCE');
    case 'x-amz-object-lock-retain-until-date':
      return DATE_TIME.test(value) ? { ok: true, value } : bad('is not an ISO 8601 date-time');
    case 'x-amz-object-lock-legal-hold':
      return value === 'ON' || value === 'OFF' ? { ok: true, value } : bad('is not ON or OFF');
    case 'x-amz-bypass-governance-retention':
    case 'x-amz-bucket-object-lock-enabled': {
      const v = value.toLowerCase();
      return v === 'true' || v === 'false' ? { ok: true, value: v } : bad('is not true or false');
    }
    case 'x-amz-object-ownership':
      return ['BucketOwnerPreferred', 'ObjectWriter', 'BucketOwnerEnforced'].includes(value)
        ? { ok: true, value }
        : bad('is not BucketOwnerPreferred, ObjectWriter or BucketOwnerEnforced');
    default:
      return bad('is not a header Gatehouse reads');
  }
}

/** How many times the client sent this header (raw headers when known; Node joins most repeats). */
export function occurrences(req: AwsRequest, name: string): number {
  const raw = req.rawHeaders;
  if (raw !== undefined) {
    let n = 0;
    for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === name) n++;
    return n;
  }
  const v = req.headers[name];
  return v === undefined ? 0 : Array.isArray(v) ? v.length : 1;
}

function bucketPath(bucket: string): CanonicalPath | undefined {
  const p = canonicalPath(`/${encodeStrict(bucket)}`, { profile: 's3' });
  return p.ok ? p : undefined;
}

function pick(values: ReadonlyMap<string, string>, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = values.get(n);
    if (v !== undefined) out[n] = v;
  }
  return out;
}

const withQuery = (sub: string, rawQuery: string): string => (rawQuery === '' ? sub : `${sub}&${rawQuery}`);

/**
 * The classification with what its headers imply added to `implied` (after what it already implies)
 * and their decided spelling in `canonicalHeaders`; or unknown, with the reason.
 */
export function withImpliedHeaders(req: AwsRequest, cls: AwsClassification): AwsClassification {
  const operation = cls.operation;
  if (operation === undefined) return cls;
  const values = new Map<string, string>();
  for (const name of Object.keys(req.headers)) {
    if (!FAMILIES.test(name) && !Object.hasOwn(ALLOWED_ON, name)) continue;
    const allowed = ALLOWED_ON[name];
    if (allowed === undefined) return unknown('s3', `${name} is not a header Gatehouse forwards`);
    if (!allowed.includes(operation)) return unknown('s3', `${name} is not a header ${operation} takes`);
    if (occurrences(req, name) !== 1) return unknown('s3', `${name} is given more than once`);
    const raw = req.headers[name];
    if (typeof raw !== 'string') return unknown('s3', `${name} is given more than once`);
    const c = check(name, raw, operation);
    if (!c.ok) return unknown('s3', c.reason);
    values.set(name, c.value);
  }
  // A copy reads its source's tags by default, with no header saying so.
  if (values.size === 0 && operation !== 's3:CopyObject') return cls;

  const implied: ImpliedRequest[] = [...(cls.implied ?? [])];
  const resource = cls.resource ?? '';
  const acl = pick(values, ACL_HEADERS);
  const has = (n: string): boolean => values.has(n);

  if ((OBJECT_WRITES as readonly string[]).includes(operation)) {
    const slash = resource.indexOf('/');
    const path = slash > 0 ? objectPath(resource.slice(0, slash), resource.slice(slash + 1)) : undefined;
    if (path === undefined || !path.ok)
      return unknown('s3', 'the object written cannot be named canonically');
    const part = (op: string, sub: string, headers: Record<string, string>): ImpliedRequest => ({
      operation: op,
      method: 'PUT',
      path,
      rawQuery: `${sub}=`,
      resource,
      headers,
    });
    if (operation === 's3:CopyObject' && values.get('x-amz-tagging-directive') !== 'REPLACE') {
      // The source's tags are read and written to the copy: s3:GetObjectTagging on the source.
      const source = cls.implied?.find((i) => i.operation === 's3:GetObject');
      if (source === undefined) return unknown('s3', 'the copy source was not decided');
      implied.push({
        operation: 's3:GetObjectTagging',
        method: 'GET',
        path: source.path,
        rawQuery: withQuery('tagging=', source.rawQuery),
        resource: source.resource,
      });
    }
    if (Object.keys(acl).length > 0) implied.push(part('s3:PutObjectAcl', 'acl', acl));
    if (has('x-amz-tagging'))
      implied.push(part('s3:PutObjectTagging', 'tagging', pick(values, ['x-amz-tagging'])));
    if (has('x-amz-object-lock-mode') || has('x-amz-object-lock-retain-until-date'))
      implied.push(
        part(
          's3:PutObjectRetention',
          'retention',
          pick(values, ['x-amz-object-lock-mode', 'x-amz-object-lock-retain-until-date']),
        ),
      );
    if (has('x-amz-object-lock-legal-hold'))
      implied.push(
        part('s3:PutObjectLegalHold', 'legal-hold', pick(values, ['x-amz-object-lock-legal-hold'])),
      );
  } else if (operation === 's3:CreateBucket') {
    const path = bucketPath(resource);
    if (path === undefined) return unknown('s3', 'the bucket cannot be named canonically');
    const part = (op: string, sub: string, headers: Record<string, string>): ImpliedRequest => ({
      operation: op,
      method: 'PUT',
      path,
      rawQuery: `${sub}=`,
      resource,
      headers,
    });
    // IAM asks for s3:PutBucketAcl unless the ACL is the default (none, or canned private).
    const keys = Object.keys(acl);
    if (keys.length > 0 && !(keys.length === 1 && acl['x-amz-acl'] === 'private'))
      implied.push(part('s3:PutBucketAcl', 'acl', acl));
    if (values.get('x-amz-bucket-object-lock-enabled') === 'true') {
      const lock = pick(values, ['x-amz-bucket-object-lock-enabled']);
      implied.push(part('s3:PutObjectLockConfiguration', 'object-lock', lock));
      implied.push(part('s3:PutBucketVersioning', 'versioning', lock));
    }
    if (has('x-amz-object-ownership'))
      implied.push(
        part('s3:PutBucketOwnershipControls', 'ownershipControls', pick(values, ['x-amz-object-ownership'])),
      );
  } else if (values.get('x-amz-bypass-governance-retention') === 'true') {
    const bypass = pick(values, ['x-amz-bypass-governance-retention']);
    if (operation === 's3:DeleteObjects') {
      // Each key deleted, as decided by s3-delete-objects.ts.
      for (const d of cls.implied ?? [])
        if (d.operation === 's3:DeleteObject')
          implied.push({ ...d, operation: 's3:BypassGovernanceRetention', headers: bypass });
    } else {
      const slash = resource.indexOf('/');
      const path = slash > 0 ? objectPath(resource.slice(0, slash), resource.slice(slash + 1)) : undefined;
      if (path === undefined || !path.ok) return unknown('s3', 'the object cannot be named canonically');
      const version = req.query['versionId'];
      if (Array.isArray(version) || (version !== undefined && !validVersionId(version)))
        return unknown('s3', 'the versionId is repeated or malformed');
      const versionQuery = version === undefined ? '' : `versionId=${encodeStrict(version)}`;
      implied.push({
        operation: 's3:BypassGovernanceRetention',
        method: req.method.toUpperCase(),
        path,
        rawQuery:
          operation === 's3:PutObjectRetention' ? withQuery('retention=', versionQuery) : versionQuery,
        resource,
        headers: bypass,
      });
    }
  }

  const own = operation === 's3:PutObjectAcl' || operation === 's3:PutBucketAcl' ? acl : undefined;
  return {
    ...cls,
    ...(implied.length > 0 ? { implied } : {}),
    ...(own !== undefined && Object.keys(own).length > 0 ? { headers: own } : {}),
    ...(values.size > 0
      ? { canonicalHeaders: { ...cls.canonicalHeaders, ...Object.fromEntries(values) } }
      : {}),
  };
}
