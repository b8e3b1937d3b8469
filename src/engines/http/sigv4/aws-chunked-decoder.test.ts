import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AwsChunkedDecoder, AwsChunkedError, type AwsChunkedOptions } from './aws-chunked-decoder.js';
import { deriveSigningKey } from './signing-key.js';

// The example in the S3 API Reference, "Signature calculations for the Authorization header:
// Transferring payload in multiple chunks": 66,560 bytes of 'a' in a 64 KiB chunk and a 1 KiB chunk.
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const SIGNING = {
  key: deriveSigningKey(SECRET, '20130524', 'us-east-1', 's3'),
  amzDate: '20130524T000000Z',
  scope: '20130524/us-east-1/s3/aws4_request',
  seedSignature: '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
};
const CHUNK_SIGS = [
  'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
  '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
  'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
];

function exampleBody(sigs = CHUNK_SIGS): Buffer {
  const sizes = [65536, 1024, 0];
  return Buffer.concat(
    sizes.flatMap((n, i) => [
      Buffer.from(`${n.toString(16)};chunk-signature=${sigs[i]}\r\n`),
      Buffer.alloc(n, 'a'),
      Buffer.from('\r\n'),
    ]),
  );
}

async function decode(
  body: Buffer,
  options: AwsChunkedOptions,
  pieces: number[] = [body.length],
): Promise<Buffer> {
  const parts: Buffer[] = [];
  let off = 0;
  for (const n of pieces) {
    parts.push(body.subarray(off, off + n));
    off += n;
  }
  if (off < body.length) parts.push(body.subarray(off));
  const decoder = new AwsChunkedDecoder(options);
  const [, out] = await Promise.all([pipeline(Readable.from(parts), decoder), buffer(decoder)]);
  return out;
}

describe('AwsChunkedDecoder', () => {
  it('decodes and verifies the signed example from the S3 documentation', async () => {
    const body = exampleBody();
    expect(body.length).toBe(66824);
    const out = await decode(body, { signing: SIGNING, decodedLength: 66560 });
    expect(out.equals(Buffer.alloc(66560, 'a'))).toBe(true);
  });

  it('refuses a chunk whose signature does not match', async () => {
    const sigs = [...CHUNK_SIGS];
    sigs[1] = sigs[1]!.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    await expect(
      decode(exampleBody(sigs), { signing: SIGNING, decodedLength: 66560 }),
    ).rejects.toBeInstanceOf(AwsChunkedError);
  });

  it('refuses tampered data under a valid signature, and a wrong declared length', async () => {
    const body = exampleBody();
    body[200] = 'b'.charCodeAt(0);
    await expect(decode(body, { signing: SIGNING, decodedLength: 66560 })).rejects.toThrow(/signature/);
    await expect(decode(exampleBody(), { signing: SIGNING, decodedLength: 66561 })).rejects.toThrow(
      /decoded-content-length/,
    );
  });

  it('decodes the unsigned trailer form the AWS SDK sends', async () => {
    const body = Buffer.from('3\r\nabc\r\n2\r\nde\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n');
    const decoder = new AwsChunkedDecoder({ decodedLength: 5 });
    const [, out] = await Promise.all([pipeline(Readable.from([body]), decoder), buffer(decoder)]);
    expect(out.toString()).toBe('abcde');
    expect(decoder.trailers.get('x-amz-checksum-crc32')).toBe('NSRBwg==');
  });

  it('refuses malformed framing', async () => {
    for (const bad of [
      'zz\r\nabc\r\n0\r\n\r\n',
      '3\r\nabcX\r\n0\r\n\r\n',
      '3\r\nabc\r\n',
      '3;chunk-signature=00\r\nabc\r\n0\r\n\r\n',
      `${'1'.repeat(5000)}\r\n`,
    ]) {
      await expect(decode(Buffer.from(bad), { decodedLength: 3 })).rejects.toBeInstanceOf(AwsChunkedError);
    }
  });

  it('gives the same result however the body is split (property)', async () => {
    const body = exampleBody();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 1, max: 9000 }), { maxLength: 12 }), async (pieces) => {
        const out = await decode(body, { signing: SIGNING, decodedLength: 66560 }, pieces);
        expect(out.length).toBe(66560);
      }),
      { numRuns: 40 },
    );
  });
});
