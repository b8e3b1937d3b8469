import { describe, expect, it } from 'vitest';
import { canonicalPath } from '../../wire/http/canonical-path.js';
import { DEFAULT_RESPONSE_FIELDS, fieldMatcher } from './field-names.js';
import { policyPath, printableTarget, recordedTarget, splitTarget } from './request-target.js';

describe('request targets', () => {
  it('accepts origin-form targets only, and says why not', () => {
    expect(splitTarget('/a/b?x=1')).toEqual({ rawPath: '/a/b', rawQuery: 'x=1' });
    expect(splitTarget('/')).toEqual({ rawPath: '/', rawQuery: '' });
    const refused = (url: string | undefined): string => {
      const t = splitTarget(url);
      if (!('refused' in t)) throw new Error(`accepted ${url}`);
      return t.refused;
    };
    expect(refused(undefined)).toMatch(/no target/);
    expect(refused('http://evil/a')).toMatch(/not a path/);
    expect(refused('*')).toMatch(/not a path/);
    expect(refused('evil.example:443')).toMatch(/not a path/);
    expect(refused('//host/a')).toMatch(/host name/);
    expect(refused('/a b')).toMatch(/space/);
    expect(refused('/a?b=\u00e9')).toMatch(/non-ASCII/);
    expect(refused('/a\u0000')).toMatch(/control/);
    expect(refused('/a#frag')).toMatch(/fragment/);
  });

  it('gives policy the decoded canonical path, with ? and # kept encoded', () => {
    const p = (raw: string): string => {
      const c = canonicalPath(raw);
      if (!c.ok) throw new Error(c.reason);
      return policyPath(c);
    };
    expect(p('/files/a%20b/%C3%A9')).toBe('/files/a b/é');
    expect(p('/a%3F/admin')).toBe('/a%3F/admin');
    expect(p('/a%23b')).toBe('/a%23b');
  });

  it('records a refused target printably', () => {
    expect(printableTarget('/v1\\..\\admin\\x')).toBe('/v1\\..\\admin\\x');
    expect(printableTarget('/a b\u0000\u00e9')).toBe('/a%20b%00%E9');
    expect(printableTarget('/' + 'a'.repeat(5000)).length).toBe(2049);
  });

  it('redacts secret-looking query values in what is recorded', () => {
    const f = fieldMatcher(DEFAULT_RESPONSE_FIELDS);
    expect(recordedTarget('/search', 'q=cats&api_key=abc&X-Amz-Signature=ff&token=t', f)).toBe(
      '/search?q=cats&api_key=[REDACTED]&X-Amz-Signature=[REDACTED]&token=[REDACTED]',
    );
    expect(recordedTarget('/data', '', f)).toBe('/data');
    const long = recordedTarget('/data', `q=${'x'.repeat(5000)}`, f);
    expect(long).toBe(`/data?q=${'x'.repeat(4096 - 8)}… (clipped: 5008 characters in all)`);
  });
});
