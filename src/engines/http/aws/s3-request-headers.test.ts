import { describe, expect, it } from 'vitest';
import { strayS3Header } from './s3-request-headers.js';

describe('strayS3Header (class 57)', () => {
  it('passes S3 API headers, checksums, user metadata, the SDKs’ headers and standard HTTP headers', () => {
    expect(
      strayS3Header([
        'content-type',
        'range',
        'if-match',
        'user-agent',
        'amz-sdk-invocation-id',
        'x-amz-date',
        'x-amz-content-sha256',
        'x-amz-checksum-crc32',
        'x-amz-checksum-crc64nvme',
        'x-amz-sdk-checksum-algorithm',
        'x-amz-meta-note',
        'X-Amz-Meta-My_Key',
        'x-amz-copy-source',
        'x-amz-server-side-encryption-customer-key',
        'x-amz-expected-bucket-owner',
        'x-amzn-trace-id',
      ]),
    ).toBeUndefined();
  });

  it('names the first header an S3-compatible store could act on', () => {
    expect(strayS3Header(['content-type', 'x-minio-force-delete'])).toBe('x-minio-force-delete');
    expect(strayS3Header(['X-Amz-Meta-Snowball-Auto-Extract'])).toBe('x-amz-meta-snowball-auto-extract');
    expect(strayS3Header(['x-amz-meta-minio-snowball-prefix'])).toBe('x-amz-meta-minio-snowball-prefix');
    expect(strayS3Header(['x-rgw-object-type'])).toBe('x-rgw-object-type');
    expect(strayS3Header(['x-amz-rename-source'])).toBe('x-amz-rename-source');
    // Ceph RGW reads "_" as "-": these are x-amz-copy-source, x-amz-acl and Content-Type there.
    expect(strayS3Header(['x_amz_copy_source'])).toBe('x_amz_copy_source');
    expect(strayS3Header(['x-amz_acl'])).toBe('x-amz_acl');
    expect(strayS3Header(['content_type'])).toBe('content_type');
    expect(strayS3Header(['x-amz-meta-snowball_auto_extract'])).toBe('x-amz-meta-snowball_auto_extract');
    expect(strayS3Header(['x_amz_meta_note'])).toBeUndefined();
  });
});
