import { describe, expect, it } from 'vitest';
import { parseQuery } from '../sigv4/canonical-query.js';
import { classifyS3 } from './s3-classifier.js';

function s3(method: string, target: string, headers: Record<string, string> = {}) {
  const q = target.indexOf('?');
  return classifyS3({
    service: 's3',
    method,
    rawPath: q < 0 ? target : target.slice(0, q),
    query: parseQuery(q < 0 ? '' : target.slice(q + 1))!,
    headers,
  });
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
    ['POST', '/data?delete', 's3:DeleteObjects', 'data'],
    ['POST', '/data/?delete=', 's3:DeleteObjects', 'data'],
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
});
