// S3 REST (path-style) requests → s3:<Operation>, from the method, the path (bucket, key) and the
// sub-resource in the query string. Names are the S3 API operation names (CloudTrail's eventName),
// except that listing a bucket's objects (ListObjects, ListObjectsV2) is s3:ListBucket, its IAM action.
//
// Fail closed: a query parameter that is neither a known sub-resource nor a known ordinary parameter,
// two sub-resources at once, or a method a sub-resource does not take, leaves the operation unknown.
// Spec: the S3 API Reference, one page per operation (method, URI and query of each request).
//
// CopyObject and UploadPartCopy also read another object, named in x-amz-copy-source: that read is
// decided too, as the s3:GetObject a client would send for it (s3-copy-source.ts), and forwarded in
// the spelling decided. x-amz-copy-source* headers on any other operation leave it unknown.
// DeleteObjects names its keys in its XML body: each is decided as the s3:DeleteObject a client would
// send for it (s3-delete-objects.ts), so its body is read (capped) like a JSON or query body.
// Headers that make a request do more (an ACL, tags, Object Lock settings, a governance bypass, the
// copy of a source's tags) are decided as the actions IAM asks for them (s3-implied-headers.ts), and
// so is a request's (or an implied request's) `?versionId=` (s3-version-actions.ts) and the KMS key a
// write names for its encryption (s3-kms-key.ts).

import { CONFIG_SUBRESOURCES, withConfigBody } from './s3-config-body.js';
import type { AwsClassification, AwsRequest, ImpliedRequest } from './aws-request.js';
import { header, unknown } from './aws-request.js';
import { parseCopySource } from './s3-copy-source.js';
import { parseDeleteObjects } from './s3-delete-objects.js';
import { withImpliedHeaders } from './s3-implied-headers.js';
import { withKmsKey } from './s3-kms-key.js';
import { strayS3Header } from './s3-request-headers.js';
import { neverForwarded } from '../http-headers.js';
import { withVersionActions } from './s3-version-actions.js';

type Verb = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'DELETE';
type Table = Partial<Record<Verb, string>>;

/** Bucket sub-resources: ?<name> → operation by method. */
const BUCKET_SUBRESOURCES: Readonly<Record<string, Table>> = {
  accelerate: { GET: 'GetBucketAccelerateConfiguration', PUT: 'PutBucketAccelerateConfiguration' },
  acl: { GET: 'GetBucketAcl', PUT: 'PutBucketAcl' },
  analytics: {
    GET: 'GetBucketAnalyticsConfiguration',
    PUT: 'PutBucketAnalyticsConfiguration',
    DELETE: 'DeleteBucketAnalyticsConfiguration',
  },
  cors: { GET: 'GetBucketCors', PUT: 'PutBucketCors', DELETE: 'DeleteBucketCors' },
  delete: { POST: 'DeleteObjects' },
  encryption: { GET: 'GetBucketEncryption', PUT: 'PutBucketEncryption', DELETE: 'DeleteBucketEncryption' },
  'intelligent-tiering': {
    GET: 'GetBucketIntelligentTieringConfiguration',
    PUT: 'PutBucketIntelligentTieringConfiguration',
    DELETE: 'DeleteBucketIntelligentTieringConfiguration',
  },
  inventory: {
    GET: 'GetBucketInventoryConfiguration',
    PUT: 'PutBucketInventoryConfiguration',
    DELETE: 'DeleteBucketInventoryConfiguration',
  },
  lifecycle: {
    GET: 'GetBucketLifecycleConfiguration',
    PUT: 'PutBucketLifecycleConfiguration',
    DELETE: 'DeleteBucketLifecycle',
  },
  location: { GET: 'GetBucketLocation' },
  logging: { GET: 'GetBucketLogging', PUT: 'PutBucketLogging' },
  metrics: {
    GET: 'GetBucketMetricsConfiguration',
    PUT: 'PutBucketMetricsConfiguration',
    DELETE: 'DeleteBucketMetricsConfiguration',
  },
  notification: { GET: 'GetBucketNotificationConfiguration', PUT: 'PutBucketNotificationConfiguration' },
  'object-lock': { GET: 'GetObjectLockConfiguration', PUT: 'PutObjectLockConfiguration' },
  ownershipControls: {
    GET: 'GetBucketOwnershipControls',
    PUT: 'PutBucketOwnershipControls',
    DELETE: 'DeleteBucketOwnershipControls',
  },
  policy: { GET: 'GetBucketPolicy', PUT: 'PutBucketPolicy', DELETE: 'DeleteBucketPolicy' },
  policyStatus: { GET: 'GetBucketPolicyStatus' },
  publicAccessBlock: {
    GET: 'GetPublicAccessBlock',
    PUT: 'PutPublicAccessBlock',
    DELETE: 'DeletePublicAccessBlock',
  },
  replication: {
    GET: 'GetBucketReplication',
    PUT: 'PutBucketReplication',
    DELETE: 'DeleteBucketReplication',
  },
  requestPayment: { GET: 'GetBucketRequestPayment', PUT: 'PutBucketRequestPayment' },
  tagging: { GET: 'GetBucketTagging', PUT: 'PutBucketTagging', DELETE: 'DeleteBucketTagging' },
  uploads: { GET: 'ListMultipartUploads' },
  versioning: { GET: 'GetBucketVersioning', PUT: 'PutBucketVersioning' },
  versions: { GET: 'ListObjectVersions' },
  website: { GET: 'GetBucketWebsite', PUT: 'PutBucketWebsite', DELETE: 'DeleteBucketWebsite' },
};

/** Object sub-resources. `uploadId` is handled with the method (UploadPart, Complete, Abort, ListParts). */
const OBJECT_SUBRESOURCES: Readonly<Record<string, Table>> = {
  acl: { GET: 'GetObjectAcl', PUT: 'PutObjectAcl' },
  attributes: { GET: 'GetObjectAttributes' },
  'legal-hold': { GET: 'GetObjectLegalHold', PUT: 'PutObjectLegalHold' },
  restore: { POST: 'RestoreObject' },
  retention: { GET: 'GetObjectRetention', PUT: 'PutObjectRetention' },
  select: { POST: 'SelectObjectContent' },
  tagging: { GET: 'GetObjectTagging', PUT: 'PutObjectTagging', DELETE: 'DeleteObjectTagging' },
  torrent: { GET: 'GetObjectTorrent' },
  uploads: { POST: 'CreateMultipartUpload' },
};

/** Query parameters that qualify an operation without changing which one it is. */
const ORDINARY = new Set([
  'x-id',
  'prefix',
  'delimiter',
  'encoding-type',
  'marker',
  'max-keys',
  'list-type',
  'continuation-token',
  'fetch-owner',
  'start-after',
  'key-marker',
  'version-id-marker',
  'upload-id-marker',
  'max-uploads',
  'max-parts',
  'part-number-marker',
  'partNumber',
  'versionId',
  'id',
  'select-type',
  'bucket-region',
  'max-buckets',
  'optional-object-attributes',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
  'response-content-language',
  'response-content-type',
  'response-expires',
]);

function decodeSegment(raw: string): string | undefined {
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/** Headers that only a copy reads (the source, its conditions, its SSE-C key, a part's byte range). */
function copyHeaders(req: AwsRequest): string[] {
  return Object.keys(req.headers).filter((h) => h.startsWith('x-amz-copy-source'));
}

/** CopyObject / UploadPartCopy: the copy source's read, decided with the write, or why not. */
function copyOf(
  req: AwsRequest,
  operation: 's3:CopyObject' | 's3:UploadPartCopy',
  resource: string,
): AwsClassification {
  const value = header(req.headers, 'x-amz-copy-source');
  if (value === undefined) return unknown('s3', `${operation} without x-amz-copy-source`);
  const range = header(req.headers, 'x-amz-copy-source-range');
  if (range !== undefined) {
    if (operation !== 's3:UploadPartCopy')
      return unknown('s3', 'x-amz-copy-source-range is for UploadPartCopy only');
    if (!/^bytes=\d{1,19}-\d{1,19}$/.test(range))
      return unknown('s3', 'x-amz-copy-source-range is not "bytes=<first>-<last>"');
  }
  const parsed = parseCopySource(value);
  if (!parsed.ok) return unknown('s3', parsed.reason);
  const src = parsed.source;
  const read: ImpliedRequest = {
    operation: 's3:GetObject',
    method: 'GET',
    path: src.path,
    rawQuery: src.rawQuery,
    resource: `${src.bucket}/${src.key}`,
  };
  return {
    protocol: 's3',
    operation,
    resource,
    implied: [read],
    canonicalHeaders: { 'x-amz-copy-source': src.header },
  };
}

/** DeleteObjects: each key's deletion, decided as the s3:DeleteObject a client would send for it. */
function deleteObjectsOf(req: AwsRequest, cls: AwsClassification): AwsClassification {
  if (req.body === undefined) return unknown('s3', 'the DeleteObjects body was not read');
  const bucket = cls.resource!;
  const parsed = parseDeleteObjects(bucket, req.body);
  if (!parsed.ok) return unknown('s3', parsed.reason);
  return {
    ...cls,
    implied: parsed.objects.map((o): ImpliedRequest => ({
      operation: 's3:DeleteObject',
      method: 'DELETE',
      path: o.path,
      rawQuery: o.rawQuery,
      resource: `${bucket}/${o.key}`,
    })),
  };
}

/** Whether the classifier must read this S3 request's body (DeleteObjects names its keys there). */
export function s3NeedsBody(method: string, query: Readonly<Record<string, unknown>>): boolean {
  const m = method.toUpperCase();
  if (m === 'POST' && Object.hasOwn(query, 'delete')) return true;
  // A configuration write's body names what S3 then acts on (s3-config-body.ts).
  return (m === 'PUT' || m === 'POST') && configSubresource(query) !== undefined;
}

/** The configuration sub-resource a request's query names, if any (s3-config-body.ts). */
function configSubresource(query: Readonly<Record<string, unknown>>): string | undefined {
  return Object.keys(query).find((p) => CONFIG_SUBRESOURCES.has(p));
}

export function classifyS3(req: AwsRequest): AwsClassification {
  // A header S3 does not have is one an S3-compatible store may act on (s3-request-headers.ts).
  const stray = strayS3Header(Object.keys(req.headers).filter((h) => !neverForwarded(h)));
  if (stray !== undefined)
    return unknown(
      's3',
      `the header ${stray.slice(0, 80)} is not an S3 request header (an S3-compatible store may act on it)`,
    );
  return withVersionActions(req, withKmsKey(req, withImpliedHeaders(req, classifyS3Operation(req))));
}

function classifyS3Operation(req: AwsRequest): AwsClassification {
  const cls = classifyS3Request(req);
  if (cls.operation === 's3:DeleteObjects') {
    if (copyHeaders(req).length > 0) return unknown('s3', 'x-amz-copy-source on s3:DeleteObjects');
    return deleteObjectsOf(req, cls);
  }
  if (
    cls.operation !== undefined &&
    cls.operation !== 's3:CopyObject' &&
    cls.operation !== 's3:UploadPartCopy'
  ) {
    const stray = copyHeaders(req);
    if (stray.length > 0)
      return unknown('s3', `${stray.join(', ')} on ${cls.operation}, which copies nothing`);
  }
  const method = req.method.toUpperCase();
  const sub = configSubresource(req.query);
  if ((method === 'PUT' || method === 'POST') && sub !== undefined) return withConfigBody(cls, sub, req.body);
  return cls;
}

function classifyS3Request(req: AwsRequest): AwsClassification {
  const method = req.method.toUpperCase() as Verb;
  if (!['GET', 'HEAD', 'PUT', 'POST', 'DELETE'].includes(method))
    return unknown('s3', `S3 has no ${req.method} operations`);
  if (!req.rawPath.startsWith('/')) return unknown('s3', 'the request path is not absolute');
  const rest = req.rawPath.slice(1);
  const slash = rest.indexOf('/');
  const bucketRaw = slash < 0 ? rest : rest.slice(0, slash);
  const keyRaw = slash < 0 ? '' : rest.slice(slash + 1);
  const bucket = decodeSegment(bucketRaw);
  const key = decodeSegment(keyRaw);
  if (bucket === undefined || key === undefined)
    return unknown('s3', 'the request path has a malformed %-escape');

  const params = Object.keys(req.query);
  const subresources = params.filter((p) => !ORDINARY.has(p) && p !== 'uploadId');
  const uploadId = params.includes('uploadId');

  if (bucket === '') {
    if (params.some((p) => !ORDINARY.has(p)))
      return unknown('s3', `unknown query parameter on the service endpoint`);
    return method === 'GET'
      ? { protocol: 's3', operation: 's3:ListBuckets' }
      : unknown('s3', `${method} / is not an S3 operation`);
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/.test(bucket))
    return unknown('s3', 'the bucket name is not valid');
  if (subresources.length > 1)
    return unknown('s3', `several sub-resources at once (${subresources.join(', ')})`);
  const sub = subresources[0];

  if (key === '') {
    // Bucket-level operations.
    if (uploadId) return unknown('s3', 'uploadId needs an object key');
    const resource = bucket;
    if (sub !== undefined) {
      const op = BUCKET_SUBRESOURCES[sub]?.[method];
      return op
        ? { protocol: 's3', operation: `s3:${op}`, resource }
        : unknown('s3', `unknown bucket sub-resource ${sub} for ${method}`);
    }
    switch (method) {
      case 'GET':
        return { protocol: 's3', operation: 's3:ListBucket', resource };
      case 'HEAD':
        return { protocol: 's3', operation: 's3:HeadBucket', resource };
      case 'PUT':
        return { protocol: 's3', operation: 's3:CreateBucket', resource };
      case 'DELETE':
        return { protocol: 's3', operation: 's3:DeleteBucket', resource };
      case 'POST':
        // Browser form uploads (PostObject) carry their key in a multipart body: not classified.
        return unknown('s3', 'POST to a bucket without ?delete is not supported');
    }
  }

  const resource = `${bucket}/${key}`;
  if (sub !== undefined) {
    if (uploadId) return unknown('s3', `uploadId with sub-resource ${sub}`);
    const op = OBJECT_SUBRESOURCES[sub]?.[method];
    return op
      ? { protocol: 's3', operation: `s3:${op}`, resource }
      : unknown('s3', `unknown object sub-resource ${sub} for ${method}`);
  }
  const copySource = header(req.headers, 'x-amz-copy-source');
  if (uploadId) {
    switch (method) {
      case 'PUT':
        return copySource !== undefined
          ? copyOf(req, 's3:UploadPartCopy', resource)
          : { protocol: 's3', operation: 's3:UploadPart', resource };
      case 'POST':
        return { protocol: 's3', operation: 's3:CompleteMultipartUpload', resource };
      case 'DELETE':
        return { protocol: 's3', operation: 's3:AbortMultipartUpload', resource };
      case 'GET':
        return { protocol: 's3', operation: 's3:ListParts', resource };
      default:
        return unknown('s3', `${method} with uploadId is not an S3 operation`);
    }
  }
  switch (method) {
    case 'GET':
      return { protocol: 's3', operation: 's3:GetObject', resource, objectBody: true };
    case 'HEAD':
      return { protocol: 's3', operation: 's3:HeadObject', resource };
    case 'PUT':
      return copySource !== undefined
        ? copyOf(req, 's3:CopyObject', resource)
        : { protocol: 's3', operation: 's3:PutObject', resource };
    case 'DELETE':
      return { protocol: 's3', operation: 's3:DeleteObject', resource };
    case 'POST':
      return unknown('s3', 'POST to an object without a sub-resource is not an S3 operation');
  }
}
