import { describe, expect, it } from 'vitest';
import { policyPath } from '../request-target.js';
import type { AwsClassification } from './aws-request.js';
import { classifyS3Target } from './s3-test-request.js';

function s3(method: string, target: string, headers: Record<string, string> = {}, rawHeaders?: string[]) {
  return classifyS3Target(method, target, headers, rawHeaders ? { rawHeaders } : {});
}

const parts = (c: AwsClassification) =>
  (c.implied ?? []).map(
    (i) =>
      `${i.operation} ${i.method} ${policyPath(i.path)} ${i.resource}` +
      (i.headers
        ? ` [${Object.entries(i.headers)
            .map(([k, v]) => `${k}: ${v}`)
            .join(', ')}]`
        : ''),
  );

const OTHER_ACCOUNT = 'arn:aws:kms:us-east-1:999999999999:key/1234abcd-12ab-34cd-56ef-1234567890ab';

describe('an S3 write that names a KMS key is decided as kms:GenerateDataKey on it', () => {
  it.each([
    ['PutObject', 'PUT', '/data/k', {}],
    ['CopyObject', 'PUT', '/data/k', { 'x-amz-copy-source': 'src/x', 'x-amz-tagging-directive': 'REPLACE' }],
    ['CreateMultipartUpload', 'POST', '/data/k?uploads', {}],
  ])('%s', (op, method, target, extra) => {
    const c = s3(method, target, {
      ...extra,
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': OTHER_ACCOUNT,
    });
    expect(c.operation).toBe(`s3:${op}`);
    expect(parts(c).at(-1)).toBe(
      `kms:GenerateDataKey POST / ${OTHER_ACCOUNT} [x-amz-server-side-encryption: aws:kms, ` +
        `x-amz-server-side-encryption-aws-kms-key-id: ${OTHER_ACCOUNT}]`,
    );
    // Forwarded as decided.
    expect(c.canonicalHeaders).toMatchObject({
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': OTHER_ACCOUNT,
    });
  });

  it('binds the encryption context and DSSE mode with the key', () => {
    const c = s3('PUT', '/data/k', {
      'x-amz-server-side-encryption': 'aws:kms:dsse',
      'x-amz-server-side-encryption-aws-kms-key-id': 'alias/team',
      'x-amz-server-side-encryption-context': 'eyJhIjoiYiJ9',
      'x-amz-server-side-encryption-bucket-key-enabled': 'TRUE',
    });
    expect(parts(c)).toEqual([
      'kms:GenerateDataKey POST / alias/team [x-amz-server-side-encryption: aws:kms:dsse, ' +
        'x-amz-server-side-encryption-aws-kms-key-id: alias/team, x-amz-server-side-encryption-context: eyJhIjoiYiJ9]',
    ]);
    expect(c.canonicalHeaders?.['x-amz-server-side-encryption-bucket-key-enabled']).toBe('true');
  });

  it('adds nothing without a key id (the bucket owner’s key), for AES256, or on other operations', () => {
    for (const [m, t, h] of [
      ['PUT', '/data/k', { 'x-amz-server-side-encryption': 'aws:kms' }],
      ['PUT', '/data/k', { 'x-amz-server-side-encryption': 'AES256' }],
      ['PUT', '/data/k', {}],
      ['GET', '/data/k', { 'x-amz-server-side-encryption-aws-kms-key-id': 'alias/x' }],
    ] as const) {
      const c = s3(m, t, h);
      expect(c.operation, `${m} ${t}`).toBeDefined();
      expect(c.implied, `${m} ${t}`).toBeUndefined();
    }
  });

  it.each([
    ['a key id without aws:kms', { 'x-amz-server-side-encryption-aws-kms-key-id': 'alias/x' }],
    [
      'a key id with AES256',
      { 'x-amz-server-side-encryption': 'AES256', 'x-amz-server-side-encryption-aws-kms-key-id': 'alias/x' },
    ],
    ['an unknown mode', { 'x-amz-server-side-encryption': 'aws:kms2' }],
    [
      'a key id with a space',
      {
        'x-amz-server-side-encryption': 'aws:kms',
        'x-amz-server-side-encryption-aws-kms-key-id': 'alias/a b',
      },
    ],
    [
      'two keys joined',
      {
        'x-amz-server-side-encryption': 'aws:kms',
        'x-amz-server-side-encryption-aws-kms-key-id': 'alias/a,alias/b',
      },
    ],
    ['a bucket key flag that is no boolean', { 'x-amz-server-side-encryption-bucket-key-enabled': 'yes' }],
  ])('refuses %s (unknown operation)', (_what, headers) => {
    expect(s3('PUT', '/data/k', headers).operation).toBeUndefined();
  });

  it('refuses a key id given twice', () => {
    const key = 'x-amz-server-side-encryption-aws-kms-key-id';
    const c = s3('PUT', '/data/k', { 'x-amz-server-side-encryption': 'aws:kms', [key]: 'alias/a' }, [
      'x-amz-server-side-encryption',
      'aws:kms',
      key,
      'alias/a',
      key,
      'alias/b',
    ]);
    expect(c.operation).toBeUndefined();
    expect(c.reason).toContain('more than once');
  });
});
