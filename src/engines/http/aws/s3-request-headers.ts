// The `x-` headers an S3 request may carry: those of the S3 API Reference, user metadata, and what the
// AWS SDKs and CLI add to every request. S3-compatible stores act on headers of their own that AWS does
// not have, and Gatehouse forwarded every header it did not read: MinIO deletes every object under a
// key given `x-minio-force-delete: true` on a DeleteObject (and a non-empty bucket on a DeleteBucket),
// reads a file inside a zip object given `x-minio-extract`, and MinIO, RustFS and AWS Snowball Edge
// unpack a PutObject whose metadata says `snowball-auto-extract: true` into one object per archive
// entry, at keys the archive names (under `minio-snowball-prefix`). Each was decided as the one
// operation on the one key in the path (docs/security.md, class 57).
//
// So an S3 request whose `x-` header is not one of these is unknown (refused), and so is user
// metadata that those stores read as an instruction (`x-amz-meta-snowball-*`, `x-amz-meta-minio-*`),
// and a header spelt with `_` (Ceph RGW reads `x_amz_copy_source` as x-amz-copy-source), except in
// user metadata.
// Standard HTTP headers (Content-Type, Range, If-Match…) carry no vendor instruction and pass.
// Spec: the S3 API Reference (request headers of each operation), and the SDKs' own headers.

/** Request headers of the S3 API (lower case), besides user metadata. */
const S3_HEADERS = new Set([
  'x-amz-acl',
  'x-amz-bucket-namespace',
  'x-amz-bucket-object-lock-enabled',
  'x-amz-bucket-object-lock-token',
  'x-amz-bypass-governance-retention',
  'x-amz-checksum-algorithm',
  'x-amz-checksum-mode',
  'x-amz-checksum-type',
  'x-amz-confirm-remove-self-bucket-access',
  'x-amz-copy-source',
  'x-amz-copy-source-if-match',
  'x-amz-copy-source-if-modified-since',
  'x-amz-copy-source-if-none-match',
  'x-amz-copy-source-if-unmodified-since',
  'x-amz-copy-source-range',
  'x-amz-copy-source-server-side-encryption-customer-algorithm',
  'x-amz-copy-source-server-side-encryption-customer-key',
  'x-amz-copy-source-server-side-encryption-customer-key-md5',
  'x-amz-expected-bucket-owner',
  'x-amz-grant-full-control',
  'x-amz-grant-read',
  'x-amz-grant-read-acp',
  'x-amz-grant-write',
  'x-amz-grant-write-acp',
  'x-amz-if-match-initiated-time',
  'x-amz-if-match-last-modified-time',
  'x-amz-if-match-size',
  'x-amz-max-parts',
  'x-amz-metadata-directive',
  'x-amz-mfa',
  'x-amz-mp-object-size',
  'x-amz-object-attributes',
  'x-amz-object-lock-legal-hold',
  'x-amz-object-lock-mode',
  'x-amz-object-lock-retain-until-date',
  'x-amz-object-ownership',
  'x-amz-optional-object-attributes',
  'x-amz-part-number-marker',
  'x-amz-request-payer',
  'x-amz-server-side-encryption',
  'x-amz-server-side-encryption-aws-kms-key-id',
  'x-amz-server-side-encryption-bucket-key-enabled',
  'x-amz-server-side-encryption-context',
  'x-amz-server-side-encryption-customer-algorithm',
  'x-amz-server-side-encryption-customer-key',
  'x-amz-server-side-encryption-customer-key-md5',
  'x-amz-skip-destination-validation',
  'x-amz-source-expected-bucket-owner',
  'x-amz-storage-class',
  'x-amz-tagging',
  'x-amz-tagging-directive',
  'x-amz-transition-default-minimum-object-size',
  'x-amz-website-redirect-location',
  'x-amz-write-offset-bytes',
  // Signing and framing (replaced or removed by the gateway), and what the SDKs and CLI add.
  'x-amz-date',
  'x-amz-content-sha256',
  'x-amz-security-token',
  'x-amz-decoded-content-length',
  'x-amz-trailer',
  'x-amz-sdk-checksum-algorithm',
  'x-amz-user-agent',
  'x-amzn-trace-id',
]);

/** Checksums of the body (x-amz-checksum-crc32, -sha256…), which S3 only verifies. */
const CHECKSUM = /^x-amz-checksum-[a-z0-9]+$/;

/** User metadata some S3-compatible stores read as an instruction (archive extraction). */
const INSTRUCTION_METADATA = /^x-amz-meta-(?:snowball-|minio-)/;

/** The first header of this request that is not one an S3 request may carry, or undefined. */
export function strayS3Header(names: Iterable<string>): string | undefined {
  for (const raw of names) {
    const name = raw.toLowerCase();
    // Ceph's RGW names every header HTTP_<NAME> with "-" turned to "_" (CGI's way), so
    // `x_amz_copy_source` is x-amz-copy-source there, past every header decided here. A name with "_"
    // passes only inside user metadata, where it stays user metadata however it is read.
    const read = name.replace(/_/g, '-');
    if (read.startsWith('x-amz-meta-')) {
      if (INSTRUCTION_METADATA.test(read)) return name;
      continue;
    }
    if (read !== name) return name;
    if (!name.startsWith('x-')) continue;
    if (S3_HEADERS.has(name) || CHECKSUM.test(name)) continue;
    return name;
  }
  return undefined;
}
