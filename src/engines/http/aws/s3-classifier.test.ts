import { describe, expect, it } from 'vitest';
import { policyPath } from '../request-target.js';
import { classifyS3Target } from './s3-test-request.js';

function s3(method: string, target: string, headers: Record<string, string> = {}, body?: string | Buffer) {
  return classifyS3Target(method, target, headers, body === undefined ? {} : { body });
}

describe('classifyS3', () => {
  it.each([
    ['GET', '/', 's3:ListBuckets', undefined],
    ['GET', '/data', 's3:ListBucket', 'data'],
    ['GET', '/data/?list-type=2&prefix=x%20y', 's3:ListBucket', 'data'],
    ['HEAD', '/data', 's3:HeadBucket', 'data'],
    ['PUT', '/data', 's3:CreateBucket', 'data'],
    ['DELETE', '/data', 's3:DeleteBucket', 'data'],
    ['PUT', '/data?policy', 's3:PutBucketPolicy', 'data'],
    ['DELETE', '/data?policy=', 's3:DeleteBucketPolicy', 'data'],
    ['GET', '/data?acl', 's3:GetBucketAcl', 'data'],
    ['PUT', '/data?versioning', 's3:PutBucketVersioning', 'data'],
    ['PUT', '/data?lifecycle', 's3:PutBucketLifecycleConfiguration', 'data'],
    ['DELETE', '/data?cors', 's3:DeleteBucketCors', 'data'],
    ['PUT', '/data?encryption', 's3:PutBucketEncryption', 'data'],
    ['DELETE', '/data?publicAccessBlock', 's3:DeletePublicAccessBlock', 'data'],
    ['GET', '/data?uploads', 's3:ListMultipartUploads', 'data'],
    ['GET', '/data?versions', 's3:ListObjectVersions', 'data'],
    ['GET', '/data/a/b%20c.txt', 's3:GetObject', 'data/a/b c.txt'],
    ['GET', '/data/k?versionId=3&response-content-type=text%2Fplain', 's3:GetObject', 'data/k'],
    ['HEAD', '/data/k', 's3:HeadObject', 'data/k'],
    ['PUT', '/data/k?x-id=PutObject', 's3:PutObject', 'data/k'],
    ['DELETE', '/data/k?x-id=DeleteObject', 's3:DeleteObject', 'data/k'],
    ['GET', '/data/k?tagging', 's3:GetObjectTagging', 'data/k'],
    ['PUT', '/data/k?acl', 's3:PutObjectAcl', 'data/k'],
    ['PUT', '/data/k?retention', 's3:PutObjectRetention', 'data/k'],
    ['POST', '/data/k?uploads', 's3:CreateMultipartUpload', 'data/k'],
    ['PUT', '/data/k?partNumber=1&uploadId=u', 's3:UploadPart', 'data/k'],
    ['POST', '/data/k?uploadId=u', 's3:CompleteMultipartUpload', 'data/k'],
    ['DELETE', '/data/k?uploadId=u', 's3:AbortMultipartUpload', 'data/k'],
    ['GET', '/data/k?uploadId=u', 's3:ListParts', 'data/k'],
    ['POST', '/data/k?restore', 's3:RestoreObject', 'data/k'],
    ['POST', '/data/k?select&select-type=2', 's3:SelectObjectContent', 'data/k'],
  ])('%s %s → %s', (method, target, operation, resource) => {
    const c = s3(method, target);
    expect(c.operation).toBe(operation);
    expect(c.resource).toBe(resource);
  });

  it('tells CopyObject and UploadPartCopy from PutObject and UploadPart by x-amz-copy-source', () => {
    expect(s3('PUT', '/data/k', { 'x-amz-copy-source': '/other/x' }).operation).toBe('s3:CopyObject');
    expect(s3('PUT', '/data/k?partNumber=2&uploadId=u', { 'x-amz-copy-source': '/other/x' }).operation).toBe(
      's3:UploadPartCopy',
    );
  });

  /** The implied read of a copy, as the engine decides it: `operation method path?query resource`. */
  function source(headers: Record<string, string>, target = '/data/k') {
    const c = s3('PUT', target, headers);
    const i = c.implied?.[0];
    return {
      operation: c.operation,
      read:
        i === undefined
          ? undefined
          : `${i.operation} ${i.method} ${policyPath(i.path)}${i.rawQuery === '' ? '' : `?${i.rawQuery}`} ${i.resource}`,
      forwarded: c.canonicalHeaders?.['x-amz-copy-source'],
      reason: c.reason,
    };
  }

  it.each([
    ['other/x', 's3:GetObject GET /other/x other/x', 'other/x'],
    ['/other/x', 's3:GetObject GET /other/x other/x', 'other/x'],
    ['other/a/b%20c.txt', 's3:GetObject GET /other/a/b c.txt other/a/b c.txt', 'other/a/b%20c.txt'],
    // S3 decodes the whole value, then splits at the first "/": %2F between bucket and key is a "/".
    ['other%2Fdir%2Fx', 's3:GetObject GET /other/dir/x other/dir/x', 'other/dir/x'],
    ['other/a%2Bb', 's3:GetObject GET /other/a+b other/a+b', 'other/a%2Bb'],
    ['other/q%3Fx', 's3:GetObject GET /other/q%3Fx other/q?x', 'other/q%3Fx'],
    ['other/%E2%82%AC', 's3:GetObject GET /other/€ other/€', 'other/%E2%82%AC'],
    ["other/it's(1)", "s3:GetObject GET /other/it's(1) other/it's(1)", 'other/it%27s%281%29'],
    [
      'other/x?versionId=v1.a_b',
      's3:GetObject GET /other/x?versionId=v1.a_b other/x',
      'other/x?versionId=v1.a_b',
    ],
    [
      'other/x?versionId=3%2FL4kq%2Bx',
      's3:GetObject GET /other/x?versionId=3%2FL4kq%2Bx other/x',
      'other/x?versionId=3%2FL4kq%2Bx',
    ],
  ])('decides the copy source %s as its own read', (value, read, forwarded) => {
    expect(source({ 'x-amz-copy-source': value })).toEqual({
      operation: 's3:CopyObject',
      read,
      forwarded,
      reason: undefined,
    });
  });

  it('decides the source of an UploadPartCopy, with its byte range', () => {
    const c = s3('PUT', '/data/k?partNumber=2&uploadId=u', {
      'x-amz-copy-source': 'secret/x',
      'x-amz-copy-source-range': 'bytes=0-1023',
    });
    expect(c.operation).toBe('s3:UploadPartCopy');
    expect(c.resource).toBe('data/k');
    expect(c.implied).toEqual([expect.objectContaining({ operation: 's3:GetObject', resource: 'secret/x' })]);
  });

  it.each([
    [''],
    ['other'],
    ['/other'],
    ['other/'],
    ['//other/x'],
    ['/'],
    ['other/a b'],
    ['other/a+b'],
    ['other/a;b'],
    ['other/a#b'],
    ['other/a\\b'],
    ['other/x, other/y'],
    ['other/%zz'],
    ['other/%C3%28'],
    ['other/a/../b'],
    ['other/a/%2E%2E/b'],
    ['other/a//b'],
    ['other/a%00b'],
    ['other/x?versionId='],
    ['other/x?versionId=1&x=2'],
    ['other/x?partNumber=1'],
    ['other/x?versionId=1?versionId=2'],
    ['other/x?versionId=%20'],
    ['bad bucket/x'],
    ['-other/x'],
    ['arn:aws:s3:us-east-1:123456789012:accesspoint/ap/object/x'],
    ['arn%3Aaws%3As3%3Aus-east-1%3A123456789012%3Aaccesspoint%2Fap%2Fobject%2Fx'],
    ['arn:aws:s3-outposts:us-east-1:123456789012:outpost/op-1/accesspoint/ap/object/x'],
    ['other/caf\u00e9'],
  ])('refuses the copy source %j (unknown operation)', (value) => {
    const c = s3('PUT', '/data/k', { 'x-amz-copy-source': value });
    expect(c.operation).toBeUndefined();
    expect(c.reason).toMatch(/x-amz-copy-source/);
  });

  it('refuses copy headers on operations that copy nothing, and a range on CopyObject', () => {
    for (const [method, target] of [
      ['PUT', '/data/k?tagging'],
      ['PUT', '/data/k?acl'],
      ['GET', '/data/k'],
      ['HEAD', '/data/k'],
      ['PUT', '/data'],
      ['POST', '/data/k?uploads'],
      ['POST', '/data/k?uploadId=u'],
      ['DELETE', '/data/k'],
    ] as const) {
      const c = s3(method, target, { 'x-amz-copy-source': 'secret/x' });
      expect(c.operation, `${method} ${target}`).toBeUndefined();
      expect(c.implied).toBeUndefined();
    }
    expect(s3('PUT', '/data/k', { 'x-amz-copy-source-if-match': '"e"' }).operation).toBeUndefined();
    expect(
      s3('PUT', '/data/k', { 'x-amz-copy-source': 'a1/x', 'x-amz-copy-source-range': 'bytes=0-1' }).operation,
    ).toBeUndefined();
    expect(
      s3('PUT', '/data/k?partNumber=1&uploadId=u', {
        'x-amz-copy-source': 'a1/x',
        'x-amz-copy-source-range': 'bytes=1-',
      }).operation,
    ).toBeUndefined();
    expect(s3('PUT', '/data/k').implied).toBeUndefined();
  });

  it('marks GetObject as an object body and nothing else', () => {
    expect(s3('GET', '/data/k').objectBody).toBe(true);
    expect(s3('GET', '/data?acl').objectBody).toBeUndefined();
  });

  it.each([
    ['GET', '/data?frobnicate'],
    ['PUT', '/data?policy&acl'],
    ['GET', '/data?delete'],
    ['POST', '/data'],
    ['POST', '/data/k'],
    ['PATCH', '/data/k'],
    ['PUT', '/data/k?uploadId=u&tagging'],
    ['DELETE', '/data?uploadId=u'],
    ['GET', '/data/%zz'],
    ['GET', '/?acl'],
    ['DELETE', '/'],
    ['GET', '/-bad bucket'],
  ])('%s %s is unknown (denied)', (method, target) => {
    const c = s3(method, target);
    expect(c.operation).toBeUndefined();
    expect(c.reason).toBeTruthy();
  });

  describe('DeleteObjects', () => {
    const NS = 'http://s3.amazonaws.com/doc/2006-03-01/';
    const del = (body: string | Buffer, target = '/data?delete') => {
      const c = s3('POST', target, {}, body);
      return {
        operation: c.operation,
        resource: c.resource,
        reason: c.reason,
        deletes: c.implied?.map(
          (i) =>
            `${i.operation} ${i.method} ${policyPath(i.path)}${i.rawQuery === '' ? '' : `?${i.rawQuery}`} ${i.resource}`,
        ),
      };
    };

    it('decides each key as its own s3:DeleteObject', () => {
      expect(
        del(
          `<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="${NS}"><Object><Key>a/b c.txt</Key></Object>` +
            `<Object><Key>x&amp;y&#x20AC;</Key><VersionId>v1</VersionId></Object><Quiet>true</Quiet></Delete>`,
        ),
      ).toEqual({
        operation: 's3:DeleteObjects',
        resource: 'data',
        reason: undefined,
        deletes: [
          's3:DeleteObject DELETE /data/a/b c.txt data/a/b c.txt',
          's3:DeleteObject DELETE /data/x&y€?versionId=v1 data/x&y€',
          // A version deleted is gone for good: IAM's s3:DeleteObjectVersion (s3-version-actions.ts).
          's3:DeleteObjectVersion DELETE /data/x&y€?versionId=v1 data/x&y€',
        ],
      });
      expect(
        del(
          '<Delete>\n  <Object>\n    <Key>k</Key>\n    <ETag>"e"</ETag>\n  </Object>\n</Delete>\n',
          '/data/?delete=',
        ).deletes,
      ).toEqual(['s3:DeleteObject DELETE /data/k data/k']);
    });

    it.each([
      ['no body', undefined],
      ['an empty body', ''],
      ['no object', '<Delete></Delete>'],
      [
        'a DOCTYPE',
        '<!DOCTYPE Delete [<!ENTITY k "secret/x">]><Delete><Object><Key>&k;</Key></Object></Delete>',
      ],
      ['an unknown entity', '<Delete><Object><Key>&k;</Key></Object></Delete>'],
      ['a bare &', '<Delete><Object><Key>a&b</Key></Object></Delete>'],
      ['a comment', '<Delete><!-- x --><Object><Key>k</Key></Object></Delete>'],
      ['CDATA', '<Delete><Object><Key><![CDATA[k]]></Key></Object></Delete>'],
      ['a namespace prefix', '<s3:Delete><s3:Object><s3:Key>k</s3:Key></s3:Object></s3:Delete>'],
      ['another namespace', '<Delete xmlns="urn:x"><Object><Key>k</Key></Object></Delete>'],
      ['two keys in one object', '<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>'],
      ['an unknown element', '<Delete><Object><Key>a</Key><Bucket>b</Bucket></Object></Delete>'],
      ['an object without a key', '<Delete><Object><VersionId>v</VersionId></Object></Delete>'],
      ['a raw CR in a key', '<Delete><Object><Key>a\rb</Key></Object></Delete>'],
      ['a key with a dot segment', '<Delete><Object><Key>a/../b</Key></Object></Delete>'],
      ['a key with a control character', '<Delete><Object><Key>a&#1;b</Key></Object></Delete>'],
      ['a reference to no character', '<Delete><Object><Key>a&#xD800;b</Key></Object></Delete>'],
      ['a key with surrounding space', '<Delete><Object><Key> k</Key></Object></Delete>'],
      ['text after the document', '<Delete><Object><Key>k</Key></Object></Delete><Delete/>'],
      ['two Quiet', '<Delete><Object><Key>k</Key></Object><Quiet>true</Quiet><Quiet>false</Quiet></Delete>'],
      [
        'another encoding',
        '<?xml version="1.0" encoding="ISO-8859-1"?><Delete><Object><Key>k</Key></Object></Delete>',
      ],
      [
        'bytes that are not UTF-8',
        Buffer.from('<Delete><Object><Key>caf\xe9</Key></Object></Delete>', 'latin1'),
      ],
      ['1001 objects', `<Delete>${'<Object><Key>k</Key></Object>'.repeat(1001)}</Delete>`],
    ])('refuses %s (unknown operation)', (_what, body) => {
      const c = body === undefined ? s3('POST', '/data?delete') : del(body);
      expect(c.operation).toBeUndefined();
      expect(c.reason).toBeTruthy();
    });
  });
});
