import { describe, expect, it } from 'vitest';
import { canonicalPath } from '../../wire/http/canonical-path.js';
import { DEFAULT_RESPONSE_FIELDS, fieldMatcher } from './field-names.js';
import {
  policyPath,
  printableTarget,
  recordedTarget,
  splitTarget,
  targetHidesCode,
} from './request-target.js';

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

describe('targetHidesCode (class 300)', () => {
  const f = fieldMatcher(DEFAULT_RESPONSE_FIELDS);
  it('names a masked query value holding code or a blank, as the framework decodes it', () => {
    expect(targetHidesCode('password=x%3Bcurl%20evil%7Csh', f)).toBe(
      'the query parameter "password", where the masked part holds ";"',
    );
    expect(targetHidesCode('a=1&api_key=one+two', f)).toBe(
      'the query parameter "api_key", where the masked part holds whitespace',
    );
    expect(targetHidesCode('X-Amz-Signature=a%0Ab', f)).toMatch(/a control character|whitespace/);
  });
  it('lets literals, references and values under other names pass', () => {
    expect(targetHidesCode('', f)).toBeUndefined();
    expect(targetHidesCode('password=s3cr3t-Value_99%2B%2F%3D', f)).toBeUndefined();
    expect(targetHidesCode('token=%24%7BAPI_TOKEN%7D', f)).toBeUndefined();
    expect(targetHidesCode('q=rm+-rf+%2F%3B&page=2', f)).toBeUndefined();
  });
});
