import { describe, expect, it } from 'vitest';
import { policyPath } from '../request-target.js';
import type { AwsClassification } from './aws-request.js';
import { classifyS3Target } from './s3-test-request.js';

function s3(method: string, target: string, headers: Record<string, string> = {}, body?: string) {
  return classifyS3Target(method, target, headers, body === undefined ? {} : { body });
}

const parts = (c: AwsClassification) =>
  (c.implied ?? []).map(
    (i) =>
      `${i.operation} ${i.method} ${policyPath(i.path)}${i.rawQuery === '' ? '' : `?${i.rawQuery}`}` +
      (i.headers
        ? ` [${Object.entries(i.headers)
            .map(([k, v]) => `${k}: ${v}`)
            .join(', ')}]`
        : ''),
  );

describe('S3 requests naming a version are decided as IAM’s version actions too', () => {
  it.each([
    [
      'DELETE',
      '/data/k?versionId=v1',
      's3:DeleteObject',
      's3:DeleteObjectVersion DELETE /data/k?versionId=v1',
    ],
    ['GET', '/data/k?versionId=v1', 's3:GetObject', 's3:GetObjectVersion GET /data/k?versionId=v1'],
    ['HEAD', '/data/k?versionId=v1', 's3:HeadObject', 's3:GetObjectVersion HEAD /data/k?versionId=v1'],
    [
      'GET',
      '/data/k?acl&versionId=v1',
      's3:GetObjectAcl',
      's3:GetObjectVersionAcl GET /data/k?acl=&versionId=v1',
    ],
    [
      'GET',
      '/data/k?tagging&versionId=v1',
      's3:GetObjectTagging',
      's3:GetObjectVersionTagging GET /data/k?tagging=&versionId=v1',
    ],
    [
      'PUT',
      '/data/k?tagging&versionId=v1',
      's3:PutObjectTagging',
      's3:PutObjectVersionTagging PUT /data/k?tagging=&versionId=v1',
    ],
    [
      'DELETE',
      '/data/k?tagging&versionId=v1',
      's3:DeleteObjectTagging',
      's3:DeleteObjectVersionTagging DELETE /data/k?tagging=&versionId=v1',
    ],
    [
      'GET',
      '/data/k?attributes&versionId=v1',
      's3:GetObjectAttributes',
      's3:GetObjectVersionAttributes GET /data/k?attributes=&versionId=v1',
    ],
    // A version id with characters that must be escaped is named in the one spelling forwarded.
    [
      'DELETE',
      '/data/k?versionId=a.b_c-d',
      's3:DeleteObject',
      's3:DeleteObjectVersion DELETE /data/k?versionId=a.b_c-d',
    ],
  ])('%s %s: %s and %s', (method, target, operation, version) => {
    const c = s3(method, target);
    expect(c.operation).toBe(operation);
    expect(parts(c)).toEqual([version]);
  });

  it('binds the ACL given to a version with its version action', () => {
    const c = s3('PUT', '/data/k?acl&versionId=v1', { 'x-amz-acl': 'public-read' });
    expect(c.operation).toBe('s3:PutObjectAcl');
    expect(parts(c)).toEqual([
      's3:PutObjectVersionAcl PUT /data/k?acl=&versionId=v1 [x-amz-acl: public-read]',
    ]);
  });

  it('adds nothing where IAM asks for the same action on a version, or where no version is named', () => {
    for (const [m, t] of [
      ['GET', '/data/k?retention&versionId=v1'],
      ['PUT', '/data/k?legal-hold&versionId=v1'],
      ['POST', '/data/k?restore&versionId=v1'],
      ['GET', '/data/k'],
      ['DELETE', '/data/k'],
      ['GET', '/data?versions&version-id-marker=v1'],
    ] as const) {
      const c = s3(m, t);
      expect(c.operation, `${m} ${t}`).toBeDefined();
      expect(c.implied, `${m} ${t}`).toBeUndefined();
    }
  });

  it('decides a copy’s source version and its tags’ version', () => {
    expect(parts(s3('PUT', '/dst/k', { 'x-amz-copy-source': 'src/x?versionId=v7' }))).toEqual([
      's3:GetObject GET /src/x?versionId=v7',
      's3:GetObjectVersion GET /src/x?versionId=v7',
      's3:GetObjectTagging GET /src/x?tagging=&versionId=v7',
      's3:GetObjectVersionTagging GET /src/x?tagging=&versionId=v7',
    ]);
    expect(
      parts(s3('PUT', '/dst/k?partNumber=1&uploadId=u', { 'x-amz-copy-source': 'src/x?versionId=v7' })),
    ).toEqual(['s3:GetObject GET /src/x?versionId=v7', 's3:GetObjectVersion GET /src/x?versionId=v7']);
  });

  it('decides each version a DeleteObjects names as s3:DeleteObjectVersion', () => {
    const c = s3(
      'POST',
      '/data?delete',
      {},
      '<Delete><Object><Key>a</Key></Object><Object><Key>b</Key><VersionId>null</VersionId></Object></Delete>',
    );
    expect(c.operation).toBe('s3:DeleteObjects');
    expect(parts(c)).toEqual([
      's3:DeleteObject DELETE /data/a',
      's3:DeleteObject DELETE /data/b?versionId=null',
      's3:DeleteObjectVersion DELETE /data/b?versionId=null',
    ]);
  });

  it.each([
    ['a repeated versionId', 'DELETE', '/data/k?versionId=v1&versionId=v2'],
    ['an empty versionId', 'DELETE', '/data/k?versionId='],
    ['a versionId that is no version id', 'GET', '/data/k?versionId=a%20b'],
    ['a versionId on PutObject', 'PUT', '/data/k?versionId=v1'],
    ['a versionId on a multipart part', 'PUT', '/data/k?partNumber=1&uploadId=u&versionId=v1'],
    ['a versionId on a bucket', 'GET', '/data?versionId=v1'],
    ['a versionId on a bucket delete', 'DELETE', '/data?versionId=v1'],
  ])('refuses %s (unknown operation)', (_what, method, target) => {
    const c = s3(method, target);
    expect(c.operation).toBeUndefined();
    expect(c.reason).toMatch(/versionId/);
  });
});
