import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import { parseQuery } from './canonical-query.js';
import { NodeSha256 } from '../../../wire/aws/node-sha256.js';
import { parseSigV4Authorization, type SigV4Authorization } from './sigv4-authorization.js';
import { verifySignature, type ReceivedRequest } from './verify-signature.js';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const DOC_TIME = new Date('2013-05-24T00:00:00Z');

function auth(header: string): SigV4Authorization {
  const p = parseSigV4Authorization(header);
  if (!p.ok) throw new Error(p.reason);
  return p.value;
}

describe('verifySignature', () => {
  it('accepts the S3 documentation example "GET Object"', async () => {
    const req: ReceivedRequest = {
      method: 'GET',
      rawPath: '/test.txt',
      query: {},
      headers: {
        host: 'examplebucket.s3.amazonaws.com',
        range: 'bytes=0-9',
        'x-amz-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
        'x-amz-date': '20130524T000000Z',
      },
    };
    const a = auth(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
    expect(await verifySignature(req, a, SECRET, { now: DOC_TIME })).toMatchObject({ ok: true });
    expect(
      await verifySignature({ ...req, headers: { ...req.headers, range: 'bytes=0-99' } }, a, SECRET, {
        now: DOC_TIME,
      }),
    ).toMatchObject({ ok: false, code: 'SignatureDoesNotMatch' });
    expect(await verifySignature(req, a, 'wrong-secret', { now: DOC_TIME })).toMatchObject({
      ok: false,
      code: 'SignatureDoesNotMatch',
    });
    expect(await verifySignature(req, a, SECRET, { now: new Date('2013-05-24T00:16:00Z') })).toMatchObject({
      ok: false,
      code: 'RequestTimeTooSkewed',
    });
  });

  it('accepts the seed signature of the S3 chunked-upload example', async () => {
    const req: ReceivedRequest = {
      method: 'PUT',
      rawPath: '/examplebucket/chunkObject.txt',
      query: {},
      headers: {
        host: 's3.amazonaws.com',
        'x-amz-date': '20130524T000000Z',
        'x-amz-storage-class': 'REDUCED_REDUNDANCY',
        'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
        'content-encoding': 'aws-chunked',
        'x-amz-decoded-content-length': '66560',
        'content-length': '66824',
      },
    };
    const a = auth(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9',
    );
    expect(await verifySignature(req, a, SECRET, { now: DOC_TIME })).toMatchObject({ ok: true });
  });

  it('verifies what the SDK signer produces for a non-S3 service, including the body when no hash header is sent', async () => {
    const now = new Date();
    const body = 'Action=ListUsers&Version=2010-05-08';
    const signer = new SignatureV4({
      credentials: { accessKeyId: 'GHAKEXAMPLE', secretAccessKey: 's3cr3t' },
      region: 'us-east-1',
      service: 'iam',
      sha256: NodeSha256,
      applyChecksum: false,
    });
    const signed = await signer.sign(
      new HttpRequest({
        method: 'POST',
        hostname: '127.0.0.1',
        port: 9100,
        path: '/a%20b/c',
        query: { x: 'y z' },
        headers: { host: '127.0.0.1:9100', 'content-type': 'application/x-www-form-urlencoded' },
        body,
      }),
      { signingDate: now },
    );
    const req: ReceivedRequest = {
      method: 'POST',
      rawPath: '/a%20b/c',
      query: parseQuery('x=y%20z')!,
      headers: signed.headers,
    };
    const a = auth(signed.headers['authorization']!);
    expect(await verifySignature(req, a, 's3cr3t', { now, body: Buffer.from(body) })).toMatchObject({
      ok: true,
    });
    expect(
      await verifySignature(req, a, 's3cr3t', { now, body: Buffer.from(`${body}&UserName=x`) }),
    ).toMatchObject({ ok: false });
    expect(await verifySignature(req, a, 's3cr3t', { now })).toMatchObject({
      ok: false,
      code: 'IncompleteSignature',
    });
    expect(
      await verifySignature({ ...req, query: parseQuery('x=y%20zz')! }, a, 's3cr3t', {
        now,
        body: Buffer.from(body),
      }),
    ).toMatchObject({ ok: false });
  });

  it('refuses a missing signed header or a scope date that differs from X-Amz-Date', async () => {
    const base: ReceivedRequest = {
      method: 'GET',
      rawPath: '/',
      query: {},
      headers: { host: 'h', 'x-amz-date': '20130524T000000Z', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    };
    const a = auth(
      `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date;x-amz-meta-a, Signature=${'0'.repeat(64)}`,
    );
    expect(await verifySignature(base, a, SECRET, { now: DOC_TIME })).toMatchObject({
      ok: false,
      code: 'IncompleteSignature',
    });
    const b = auth(
      `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20130525/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
    );
    expect(await verifySignature(base, b, SECRET, { now: DOC_TIME })).toMatchObject({
      ok: false,
      code: 'SignatureDoesNotMatch',
    });
  });
});

describe('parseSigV4Authorization', () => {
  it('parses a well-formed header and refuses malformed ones', () => {
    expect(
      auth(
        'AWS4-HMAC-SHA256 Credential=AKID1234/20260101/eu-west-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=' +
          'a'.repeat(64),
      ),
    ).toEqual({
      accessKeyId: 'AKID1234',
      date: '20260101',
      region: 'eu-west-1',
      service: 'dynamodb',
      signedHeaders: ['host', 'x-amz-date'],
      signature: 'a'.repeat(64),
    });
    const sig = 'a'.repeat(64);
    for (const bad of [
      'Bearer abc',
      'AWS4-HMAC-SHA256 Credential=AKID1234/20260101/eu-west-1/s3/aws4_request',
      `AWS4-HMAC-SHA256 Credential=AKID1234/20260101/eu-west-1/s3/aws4_request, SignedHeaders=x-amz-date, Signature=${sig}`,
      `AWS4-HMAC-SHA256 Credential=AKID1234/20260101/eu-west-1/s3/other, SignedHeaders=host, Signature=${sig}`,
      `AWS4-HMAC-SHA256 Credential=AK/20260101/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=${sig}`,
      `AWS4-HMAC-SHA256 Credential=AKID1234/20260101/eu-west-1/s3/aws4_request, SignedHeaders=host;host, Signature=${sig}`,
      `AWS4-HMAC-SHA256 Credential=AKID1234/20260101/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=${sig}, Signature=${sig}`,
      'AWS4-HMAC-SHA256 Credential=AKID1234/20260101/eu-west-1/s3/aws4_request, SignedHeaders=host, Signature=XYZ',
    ]) {
      expect(parseSigV4Authorization(bad).ok).toBe(false);
    }
  });
});
