// Response headers masked for a masked principal (docs/security.md, class 157): by the header's name,
// by the field names its value holds, by the detectors; the result is always a valid header value.

import { describe, expect, it } from 'vitest';
import { bodyMaskers } from './body-masking.js';
import { DEFAULT_RESPONSE_FIELDS } from './field-names.js';
import { headerNameTag, maskResponseHeaders } from './header-masking.js';
import type { ResponseMasking } from './http-settings.js';
import { sensitiveKeyTag } from '../../masking/index.js';

function masking(style: 'redact' | 'partial' = 'redact'): ResponseMasking {
  return {
    ...bodyMaskers('all', DEFAULT_RESPONSE_FIELDS),
    enabledDetectors: 'all',
    fieldNames: DEFAULT_RESPONSE_FIELDS,
    style,
    maxBodyBytes: 1 << 20,
    objectScanMaxBytes: 1 << 20,
  };
}

describe('headerNameTag', () => {
  const keys = sensitiveKeyTag(DEFAULT_RESPONSE_FIELDS);
  it.each([
    ['X-Api-Key', 'apikey'],
    ['x-amz-meta-db-password', 'password'],
    ['x-amz-meta-ssn', 'ssn'],
    ['X-Object-Meta-Secret', 'secret'],
    ['x-goog-meta-github-token', 'token'],
    ['X-Auth-Token', 'auth_token'],
    ['Set-Cookie', 'set_cookie'],
    ['x-amz-security-token', 'token'],
  ])('%s masks under %s', (name, tag) => {
    expect(headerNameTag(name, keys)).toBe(tag);
  });

  it.each([
    'content-type',
    'etag',
    'x-amz-request-id',
    'x-amz-version-id',
    'www-authenticate',
    'x-ms-continuation',
    'link',
    'x-amz-server-side-encryption-aws-kms-key-id',
    'access-control-allow-credentials',
  ])('%s is not a sensitive name', (name) => {
    expect(headerNameTag(name, keys)).toBeUndefined();
  });
});

describe('maskResponseHeaders', () => {
  it('masks by name, by the field names a value holds and by the detectors; framing stays', () => {
    const headers: Record<string, string | string[]> = {
      'x-amz-meta-db-password': 'hunter2plain',
      'x-amz-meta-note': 'mail ann@example.com',
      location: 'https://app.example/cb?code=1&access_token=opaque-1',
      'set-cookie': ['SESSION=abc; HttpOnly', 'theme=dark'],
      'content-type': 'text/plain; charset=utf-8',
      etag: '"d41d8cd98f00b204e9800998ecf8427e"',
      'x-amz-checksum-crc32': 'AAAAAA==',
      'x-amz-request-id': '4442587FB7D0A2F9',
    };
    const counts = maskResponseHeaders(headers, masking());
    expect(headers).toEqual({
      'x-amz-meta-db-password': '[REDACTED:password]',
      'x-amz-meta-note': 'mail [REDACTED:email]',
      location: 'https://app.example/cb?code=1&access_token=[REDACTED:access_token]',
      'set-cookie': ['[REDACTED:set_cookie]', '[REDACTED:set_cookie]'],
      'content-type': 'text/plain; charset=utf-8',
      etag: '"d41d8cd98f00b204e9800998ecf8427e"',
      'x-amz-checksum-crc32': 'AAAAAA==',
      'x-amz-request-id': '4442587FB7D0A2F9',
    });
    expect(counts).toEqual({ password: 1, email: 1, access_token: 1, set_cookie: 2 });
  });

  it('writes a masked value as ASCII, whatever the original held (partial style too)', () => {
    const headers: Record<string, string | string[]> = {
      'x-amz-meta-password': 'pässwörd-ünïcode-1234',
      'x-note': 'token: ünïcode-secret',
    };
    maskResponseHeaders(headers, masking('partial'));
    for (const v of Object.values(headers)) expect(v).toMatch(/^[\t\x20-\x7e]*$/);
    expect(JSON.stringify(headers)).not.toContain('nïcode');
  });

  it("decodes Lambda's log tail to mask it, and encodes it again", () => {
    const log = 'START\nDB_PASSWORD=hunter2plain\nEND\n';
    const headers: Record<string, string | string[]> = {
      'x-amz-log-result': Buffer.from(log).toString('base64'),
    };
    expect(maskResponseHeaders(headers, masking())).toEqual({ password: 1 });
    expect(Buffer.from(headers['x-amz-log-result'] as string, 'base64').toString()).toBe(
      'START\nDB_PASSWORD=[REDACTED:password]\nEND\n',
    );
    const clean: Record<string, string | string[]> = {
      'x-amz-log-result': Buffer.from('ok\n').toString('base64'),
    };
    expect(maskResponseHeaders(clean, masking())).toEqual({});
  });
});
