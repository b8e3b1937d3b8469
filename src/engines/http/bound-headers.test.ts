import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { boundHeaders } from './bound-headers.js';
import { DEFAULT_RESPONSE_FIELDS, fieldMatcher } from './field-names.js';

const fields = fieldMatcher(DEFAULT_RESPONSE_FIELDS);
const sha = (s: string) => createHash('sha256').update(s).digest('hex');

describe('the headers bound to an approval (docs/security.md, class 205)', () => {
  it('binds every forwarded header by digest, in name order, but those that trace or date an attempt', () => {
    const bound = boundHeaders(
      {
        'x-environment': 'staging',
        'content-type': 'application/json',
        traceparent: '00-a-b-01',
        'x-request-id': 'r1',
        'x-b3-traceid': 't',
        'amz-sdk-invocation-id': 'i',
        'amz-sdk-request': 'attempt=1; max=3',
        date: 'Mon, 07 Dec 2026 05:00:00 GMT',
      },
      fields,
    );
    expect(bound).toEqual([
      { name: 'content-type', sha256: sha('application/json'), shown: 'application/json' },
      { name: 'x-environment', sha256: sha('staging'), shown: 'staging' },
    ]);
  });

  it('shows a sensitive header masked, still bound by its value', () => {
    const [key, meta, token] = boundHeaders(
      { 'x-api-key': 'k1', 'x-amz-meta-db-password': 'p1', 'x-auth-token': 't1' },
      fields,
    );
    expect(key).toEqual({ name: 'x-amz-meta-db-password', sha256: sha('p1'), shown: '[REDACTED]' });
    expect(meta).toEqual({ name: 'x-api-key', sha256: sha('k1'), shown: '[REDACTED]' });
    expect(token?.shown).toBe('[REDACTED]');
  });

  it('shows a value as printable ASCII, clipped; binds it whole', () => {
    const long = 'v'.repeat(2000);
    const [h] = boundHeaders({ 'x-long': long }, fields);
    expect(h!.sha256).toBe(sha(long));
    expect(h!.shown.length).toBeLessThan(700);
    expect(h!.shown).toMatch(/clipped/);
    expect(boundHeaders({ 'x-odd': 'a\u00e9b' }, fields)[0]!.shown).toBe('a?b');
  });
});
