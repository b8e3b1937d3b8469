// An S3 write that names a KMS key (`x-amz-server-side-encryption: aws:kms` or `aws:kms:dsse` with
// `x-amz-server-side-encryption-aws-kms-key-id`) has S3 call KMS GenerateDataKey on that key with the
// caller's (the gateway's) credentials: IAM asks for `kms:GenerateDataKey` on the key (S3 User Guide,
// "Using server-side encryption with AWS KMS keys", permissions). The key may be any key whose policy
// lets the gateway's account use it, another account's included: an object written under a key its
// owner later withholds can no longer be read by anyone else (the known S3 ransomware technique), and
// nothing in the request's name said so. The key is decided as `kms:GenerateDataKey`, an implied part
// of the write (HttpAction.implied), with the key and the encryption headers bound to it: a rule on
// `kms:GenerateDataKey*` (the default agent policy reviews it) applies, and the approver sees the key.
//
// Without a key id, S3 uses the bucket's default key or the AWS managed `aws/s3`, chosen by the
// bucket's owner: nothing more is decided. Reading an object S3 decrypts with KMS (kms:Decrypt on the
// key it was written under) is decided from the answer's head (s3-decrypt-key.ts).
//
// Fail closed: these headers only on the writes that take them (PutObject, CopyObject,
// CreateMultipartUpload), each at most once, in the forms S3 documents; else the operation is unknown.

import { canonicalPath } from '../../../wire/http/canonical-path.js';
import type { AwsClassification, AwsRequest, ImpliedRequest } from './aws-request.js';
import { unknown } from './aws-request.js';
import { occurrences } from './s3-implied-headers.js';

const SSE = 'x-amz-server-side-encryption';
const KEY_ID = 'x-amz-server-side-encryption-aws-kms-key-id';
const CONTEXT = 'x-amz-server-side-encryption-context';
const BUCKET_KEY = 'x-amz-server-side-encryption-bucket-key-enabled';
const HEADERS = [SSE, KEY_ID, CONTEXT, BUCKET_KEY] as const;

const WRITES = new Set(['s3:PutObject', 's3:CopyObject', 's3:CreateMultipartUpload']);

/** A key id, key ARN, alias name or alias ARN: printable ASCII without space or comma. */
const KEY = /^[\x21-\x2b\x2d-\x7e]{1,2048}$/;
/** Base64 (of a JSON object). */
const BASE64 = /^[A-Za-z0-9+/]{0,8188}={0,2}$/;

/** The classification with the KMS key a write names decided as kms:GenerateDataKey (see the header). */
export function withKmsKey(req: AwsRequest, cls: AwsClassification): AwsClassification {
  const operation = cls.operation;
  if (operation === undefined) return cls;
  const values = new Map<string, string>();
  for (const name of HEADERS) {
    const n = occurrences(req, name);
    if (n === 0) continue;
    const v = req.headers[name];
    if (n !== 1 || typeof v !== 'string') return unknown('s3', `${name} is given more than once`);
    values.set(name, v);
  }
  if (values.size === 0) return cls;
  // Encryption headers on other operations (a GET, a part upload) are refused by S3, or ignored.
  if (!WRITES.has(operation)) return cls;
  const mode = values.get(SSE);
  if (mode !== undefined && mode !== 'AES256' && mode !== 'aws:kms' && mode !== 'aws:kms:dsse')
    return unknown('s3', `${SSE} is not AES256, aws:kms or aws:kms:dsse`);
  const kms = mode === 'aws:kms' || mode === 'aws:kms:dsse';
  const key = values.get(KEY_ID);
  if (key !== undefined && (!kms || !KEY.test(key)))
    return unknown('s3', `${KEY_ID} is not a KMS key id, ARN or alias given with ${SSE}: aws:kms`);
  const context = values.get(CONTEXT);
  if (context !== undefined && (!kms || !BASE64.test(context)))
    return unknown('s3', `${CONTEXT} is not base64 given with ${SSE}: aws:kms`);
  const bucketKey = values.get(BUCKET_KEY)?.toLowerCase();
  if (bucketKey !== undefined && bucketKey !== 'true' && bucketKey !== 'false')
    return unknown('s3', `${BUCKET_KEY} is not true or false`);
  if (bucketKey !== undefined) values.set(BUCKET_KEY, bucketKey);
  const canonicalHeaders = { ...cls.canonicalHeaders, ...Object.fromEntries(values) };
  if (key === undefined) return { ...cls, canonicalHeaders };
  const root = canonicalPath('/', { profile: 's3' });
  if (!root.ok) return unknown('s3', 'the KMS request cannot be named');
  const generate: ImpliedRequest = {
    operation: 'kms:GenerateDataKey',
    method: 'POST',
    path: root,
    rawQuery: '',
    resource: key,
    headers: { [SSE]: mode!, [KEY_ID]: key, ...(context !== undefined ? { [CONTEXT]: context } : {}) },
  };
  return { ...cls, implied: [...(cls.implied ?? []), generate], canonicalHeaders };
}
