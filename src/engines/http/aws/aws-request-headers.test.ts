import { describe, expect, it } from 'vitest';
import { strayAwsHeader } from './aws-request-headers.js';

describe('strayAwsHeader (class 59)', () => {
  it('passes standard HTTP headers, the AWS namespaces and what the gateway never forwards', () => {
    expect(
      strayAwsHeader([
        'host',
        'authorization',
        'content-type',
        'content-length',
        'user-agent',
        'expect',
        'connection',
        'x-amz-date',
        'x-amz-target',
        'x-amz-invocation-type',
        'x-amzn-trace-id',
        'amz-sdk-invocation-id',
        'amz-sdk-request',
        'traceparent',
      ]),
    ).toBeUndefined();
  });

  it('names a header an AWS-compatible endpoint could read as a parameter', () => {
    expect(strayAwsHeader(['content-type', 'Action'])).toBe('action');
    expect(strayAwsHeader(['QueueUrl'])).toBe('queueurl');
    expect(strayAwsHeader(['functionname'])).toBe('functionname');
    // Only AWS's own x- namespaces, as the S3 path's list (s3-request-headers.ts) holds S3's.
    expect(strayAwsHeader(['x-amz-date', 'x-action'])).toBe('x-action');
    expect(strayAwsHeader(['x_amz_target'])).toBe('x_amz_target');
  });
});
