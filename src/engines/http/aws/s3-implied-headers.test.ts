import { describe, expect, it } from 'vitest';
import { policyPath } from '../request-target.js';
import type { AwsClassification } from './aws-request.js';
import { classifyS3Target } from './s3-test-request.js';

function s3(
  method: string,
  target: string,
  headers: Record<string, string> = {},
  opts: { body?: string; rawHeaders?: string[] } = {},
) {
  return classifyS3Target(method, target, headers, {
    ...opts,
    rawHeaders: opts.rawHeaders ?? Object.entries(headers).flat(),
  });
}

/** What is decided besides the operation: `operation METHOD path?query resource [headers]`. */
function parts(c: AwsClassification): string[] {
  return (c.implied ?? []).map((i) => {
    const h = Object.entries(i.headers ?? {})
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ');
    return `${i.operation} ${i.method} ${policyPath(i.path)}${i.rawQuery === '' ? '' : `?${i.rawQuery}`} ${i.resource}${h === '' ? '' : ` [${h}]`}`;
  });
}

describe('S3 headers that imply another action', () => {
  it('leaves a plain PutObject alone', () => {
    const c = s3('PUT', '/data/k', { 'content-type': 'text/plain', 'x-amz-meta-a': 'b' });
    expect(c).toMatchObject({ operation: 's3:PutObject', resource: 'data/k' });
    expect(c.implied).toBeUndefined();
    expect(c.canonicalHeaders).toBeUndefined();
  });

  it.each([
    [{ 'x-amz-acl': 'public-read' }, 's3:PutObjectAcl PUT /data/k?acl= data/k [x-amz-acl: public-read]'],
    [{ 'x-amz-acl': 'private' }, 's3:PutObjectAcl PUT /data/k?acl= data/k [x-amz-acl: private]'],
    [
      { 'x-amz-grant-read': 'uri=http://acs.amazonaws.com/groups/global/AllUsers' },
      's3:PutObjectAcl PUT /data/k?acl= data/k [x-amz-grant-read: uri=http://acs.amazonaws.com/groups/global/AllUsers]',
    ],
    [
      { 'x-amz-grant-full-control': 'id="abc", emailAddress="a@example.com"' },
      's3:PutObjectAcl PUT /data/k?acl= data/k [x-amz-grant-full-control: id="abc", emailAddress="a@example.com"]',
    ],
    [
      { 'x-amz-tagging': 'a=1&b=x%20y' },
      's3:PutObjectTagging PUT /data/k?tagging= data/k [x-amz-tagging: a=1&b=x%20y]',
    ],
    [{ 'x-amz-tagging': '' }, 's3:PutObjectTagging PUT /data/k?tagging= data/k [x-amz-tagging: ]'],
    [
      {
        'x-amz-object-lock-mode': 'GOVERNANCE',
        'x-amz-object-lock-retain-until-date': '2030-01-01T00:00:00Z',
      },
      's3:PutObjectRetention PUT /data/k?retention= data/k [x-amz-object-lock-mode: GOVERNANCE; x-amz-object-lock-retain-until-date: 2030-01-01T00:00:00Z]',
    ],
    [
      { 'x-amz-object-lock-retain-until-date': '2030-01-01T00:00:00.000Z' },
      's3:PutObjectRetention PUT /data/k?retention= data/k [x-amz-object-lock-retain-until-date: 2030-01-01T00:00:00.000Z]',
    ],
    [
      { 'x-amz-object-lock-legal-hold': 'OFF' },
      's3:PutObjectLegalHold PUT /data/k?legal-hold= data/k [x-amz-object-lock-legal-hold: OFF]',
    ],
  ])('decides PutObject with %j as its own action too', (headers, part) => {
    for (const target of ['/data/k', '/data/k?uploads']) {
      const c = s3(target.endsWith('uploads') ? 'POST' : 'PUT', target, headers);
      expect(c.operation).toBe(target.endsWith('uploads') ? 's3:CreateMultipartUpload' : 's3:PutObject');
      expect(parts(c)).toEqual([part]);
      // Forwarded as decided.
      expect(c.canonicalHeaders).toEqual(headers);
    }
  });

  it('decides every header a write carries, in one request', () => {
    const c = s3('PUT', '/data/a%20b', {
      'x-amz-acl': 'public-read',
      'x-amz-grant-read-acp': 'id=x',
      'x-amz-tagging': 'k=v',
      'x-amz-object-lock-mode': 'COMPLIANCE',
      'x-amz-object-lock-retain-until-date': '2030-01-01T00:00:00+02:00',
      'x-amz-object-lock-legal-hold': 'ON',
    });
    expect(parts(c).map((p) => p.split(' ')[0])).toEqual([
      's3:PutObjectAcl',
      's3:PutObjectTagging',
      's3:PutObjectRetention',
      's3:PutObjectLegalHold',
    ]);
    expect(c.implied?.[0]?.headers).toEqual({ 'x-amz-acl': 'public-read', 'x-amz-grant-read-acp': 'id=x' });
    expect(c.implied?.[0]?.resource).toBe('data/a b');
  });

  describe('CopyObject', () => {
    it("reads the source's tags unless the directive is REPLACE", () => {
      expect(parts(s3('PUT', '/data/k', { 'x-amz-copy-source': 'src/x' }))).toEqual([
        's3:GetObject GET /src/x src/x',
        's3:GetObjectTagging GET /src/x?tagging= src/x',
      ]);
      expect(
        parts(
          s3('PUT', '/data/k', {
            'x-amz-copy-source': 'src/x?versionId=v1',
            'x-amz-tagging-directive': 'COPY',
          }),
        ),
      ).toEqual([
        's3:GetObject GET /src/x?versionId=v1 src/x',
        's3:GetObjectVersion GET /src/x?versionId=v1 src/x',
        's3:GetObjectTagging GET /src/x?tagging=&versionId=v1 src/x',
        's3:GetObjectVersionTagging GET /src/x?tagging=&versionId=v1 src/x',
      ]);
      const replace = s3('PUT', '/data/k', {
        'x-amz-copy-source': 'src/x',
        'x-amz-tagging-directive': 'REPLACE',
        'x-amz-tagging': 'a=b',
        'x-amz-acl': 'bucket-owner-full-control',
      });
      expect(parts(replace)).toEqual([
        's3:GetObject GET /src/x src/x',
        's3:PutObjectAcl PUT /data/k?acl= data/k [x-amz-acl: bucket-owner-full-control]',
        's3:PutObjectTagging PUT /data/k?tagging= data/k [x-amz-tagging: a=b]',
      ]);
      expect(replace.canonicalHeaders).toEqual({
        'x-amz-copy-source': 'src/x',
        'x-amz-tagging-directive': 'REPLACE',
        'x-amz-tagging': 'a=b',
        'x-amz-acl': 'bucket-owner-full-control',
      });
    });

    it('does not read tags for UploadPartCopy, and refuses a tagging directive there', () => {
      const c = s3('PUT', '/data/k?partNumber=1&uploadId=u', { 'x-amz-copy-source': 'src/x' });
      expect(parts(c)).toEqual(['s3:GetObject GET /src/x src/x']);
      expect(
        s3('PUT', '/data/k?partNumber=1&uploadId=u', {
          'x-amz-copy-source': 'src/x',
          'x-amz-tagging-directive': 'REPLACE',
        }).operation,
      ).toBeUndefined();
    });
  });

  describe('governance bypass', () => {
    it('decides x-amz-bypass-governance-retention: true as s3:BypassGovernanceRetention', () => {
      expect(
        parts(s3('DELETE', '/data/k?versionId=v9', { 'x-amz-bypass-governance-retention': 'true' })),
      ).toEqual([
        // The version's own action first (s3-version-actions.ts), then the bypass.
        's3:DeleteObjectVersion DELETE /data/k?versionId=v9 data/k',
        's3:BypassGovernanceRetention DELETE /data/k?versionId=v9 data/k [x-amz-bypass-governance-retention: true]',
      ]);
      const r = s3('PUT', '/data/k?retention', { 'x-amz-bypass-governance-retention': 'TRUE' });
      expect(r.operation).toBe('s3:PutObjectRetention');
      expect(parts(r)).toEqual([
        's3:BypassGovernanceRetention PUT /data/k?retention= data/k [x-amz-bypass-governance-retention: true]',
      ]);
      // Forwarded in the spelling decided.
      expect(r.canonicalHeaders).toEqual({ 'x-amz-bypass-governance-retention': 'true' });
      const off = s3('DELETE', '/data/k', { 'x-amz-bypass-governance-retention': 'False' });
      expect(off.operation).toBe('s3:DeleteObject');
      expect(off.implied).toBeUndefined();
      expect(off.canonicalHeaders).toEqual({ 'x-amz-bypass-governance-retention': 'false' });
    });

    it('decides it for every key of a DeleteObjects', () => {
      const c = s3(
        'POST',
        '/data?delete',
        { 'x-amz-bypass-governance-retention': 'true' },
        {
          body: '<Delete><Object><Key>a</Key></Object><Object><Key>b</Key><VersionId>v2</VersionId></Object></Delete>',
        },
      );
      expect(parts(c)).toEqual([
        's3:DeleteObject DELETE /data/a data/a',
        's3:DeleteObject DELETE /data/b?versionId=v2 data/b',
        's3:DeleteObjectVersion DELETE /data/b?versionId=v2 data/b',
        's3:BypassGovernanceRetention DELETE /data/a data/a [x-amz-bypass-governance-retention: true]',
        's3:BypassGovernanceRetention DELETE /data/b?versionId=v2 data/b [x-amz-bypass-governance-retention: true]',
      ]);
    });
  });

  describe('CreateBucket', () => {
    it.each([
      [{}, []],
      [{ 'x-amz-acl': 'private' }, []],
      [{ 'x-amz-acl': 'public-read' }, ['s3:PutBucketAcl PUT /data?acl= data [x-amz-acl: public-read]']],
      [
        { 'x-amz-grant-write': 'id=abc' },
        ['s3:PutBucketAcl PUT /data?acl= data [x-amz-grant-write: id=abc]'],
      ],
      [
        { 'x-amz-acl': 'private', 'x-amz-grant-read': 'id=abc' },
        ['s3:PutBucketAcl PUT /data?acl= data [x-amz-acl: private; x-amz-grant-read: id=abc]'],
      ],
      [
        { 'x-amz-bucket-object-lock-enabled': 'True' },
        [
          's3:PutObjectLockConfiguration PUT /data?object-lock= data [x-amz-bucket-object-lock-enabled: true]',
          's3:PutBucketVersioning PUT /data?versioning= data [x-amz-bucket-object-lock-enabled: true]',
        ],
      ],
      [{ 'x-amz-bucket-object-lock-enabled': 'false' }, []],
      [
        { 'x-amz-object-ownership': 'ObjectWriter' },
        [
          's3:PutBucketOwnershipControls PUT /data?ownershipControls= data [x-amz-object-ownership: ObjectWriter]',
        ],
      ],
    ])('decides CreateBucket with %j', (headers, expected) => {
      const c = s3('PUT', '/data', headers);
      expect(c.operation).toBe('s3:CreateBucket');
      expect(parts(c)).toEqual(expected);
    });
  });

  it('binds the ACL headers of PutObjectAcl and PutBucketAcl to the request itself', () => {
    expect(s3('PUT', '/data/k?acl', { 'x-amz-acl': 'public-read' })).toMatchObject({
      operation: 's3:PutObjectAcl',
      headers: { 'x-amz-acl': 'public-read' },
    });
    expect(s3('PUT', '/data?acl', { 'x-amz-grant-write': 'id=x' })).toMatchObject({
      operation: 's3:PutBucketAcl',
      headers: { 'x-amz-grant-write': 'id=x' },
    });
    expect(s3('PUT', '/data/k?acl').headers).toBeUndefined();
  });

  it.each([
    // Values S3 might read otherwise, or that are not in the form it documents.
    ['PUT', '/data/k', { 'x-amz-acl': 'Public-Read' }],
    ['PUT', '/data/k', { 'x-amz-acl': 'private, public-read' }],
    ['PUT', '/data/k', { 'x-amz-acl': 'log-delivery-write' }],
    ['PUT', '/data', { 'x-amz-acl': 'bucket-owner-full-control' }],
    ['PUT', '/data/k', { 'x-amz-grant-read': 'uri=http://acs.amazonaws.com/groups/global/AllUsers\tid=x' }],
    ['PUT', '/data/k', { 'x-amz-grant-read': 'everyone' }],
    ['PUT', '/data/k', { 'x-amz-grant-read': '' }],
    ['PUT', '/data/k', { 'x-amz-tagging': 'a=b c' }],
    ['PUT', '/data/k', { 'x-amz-tagging': 'a=b+c' }],
    ['PUT', '/data/k', { 'x-amz-tagging': 'a=%zz' }],
    ['PUT', '/data/k', { 'x-amz-tagging': 'a=b, c=d' }],
    ['PUT', '/data/k', { 'x-amz-object-lock-mode': 'governance' }],
    ['PUT', '/data/k', { 'x-amz-object-lock-retain-until-date': 'tomorrow' }],
    ['PUT', '/data/k', { 'x-amz-object-lock-legal-hold': 'on' }],
    ['DELETE', '/data/k', { 'x-amz-bypass-governance-retention': '1' }],
    ['DELETE', '/data/k', { 'x-amz-bypass-governance-retention': ' true' }],
    ['PUT', '/data', { 'x-amz-bucket-object-lock-enabled': 'yes' }],
    ['PUT', '/data', { 'x-amz-object-ownership': 'bucketownerenforced' }],
    ['PUT', '/data/k', { 'x-amz-copy-source': 'src/x', 'x-amz-tagging-directive': 'copy' }],
    // Headers on operations that do not take them.
    ['PUT', '/data/k', { 'x-amz-tagging-directive': 'REPLACE' }],
    ['PUT', '/data/k', { 'x-amz-grant-write': 'id=x' }],
    ['PUT', '/data/k', { 'x-amz-bypass-governance-retention': 'true' }],
    ['GET', '/data/k', { 'x-amz-acl': 'public-read' }],
    ['PUT', '/data/k?partNumber=1&uploadId=u', { 'x-amz-acl': 'public-read' }],
    ['PUT', '/data/k?tagging', { 'x-amz-acl': 'public-read' }],
    ['PUT', '/data/k?retention', { 'x-amz-object-lock-mode': 'GOVERNANCE' }],
    ['DELETE', '/data', { 'x-amz-bypass-governance-retention': 'true' }],
    ['PUT', '/data/k', { 'x-amz-bucket-object-lock-enabled': 'true' }],
    ['PUT', '/data/k', { 'x-amz-object-ownership': 'ObjectWriter' }],
    ['POST', '/data/k?uploadId=u', { 'x-amz-object-lock-legal-hold': 'ON' }],
    // The same parameters hoisted into the query string (as a presigned URL may carry them).
    ['PUT', '/data/k?x-amz-acl=public-read', {}],
    ['PUT', '/data/k?x-amz-tagging=a%3Db', {}],
    ['DELETE', '/data/k?x-amz-bypass-governance-retention=true', {}],
    // Members of these families Gatehouse does not know.
    ['PUT', '/data/k', { 'x-amz-grant-everything': 'id=x' }],
    ['PUT', '/data/k', { 'x-amz-object-lock-anything': 'x' }],
    ['DELETE', '/data/k', { 'x-amz-bypass-governance': 'true' }],
  ])('refuses %s %s with %j (unknown operation)', (method, target, headers) => {
    const c = s3(method, target, headers);
    expect(c.operation).toBeUndefined();
    expect(c.reason).toMatch(/x-amz-/);
  });

  it('refuses a header given twice, even where the joined value would be a valid list', () => {
    const c = s3(
      'PUT',
      '/data/k',
      { 'x-amz-grant-read': 'id=a, id=b' },
      { rawHeaders: ['X-Amz-Grant-Read', 'id=a', 'x-amz-grant-read', 'id=b'] },
    );
    expect(c.operation).toBeUndefined();
    expect(c.reason).toContain('more than once');
    expect(s3('PUT', '/data/k', { 'x-amz-grant-read': 'id=a, id=b' }).operation).toBe('s3:PutObject');
  });
});
