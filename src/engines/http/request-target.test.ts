import { describe, expect, it } from 'vitest';
import { DEFAULT_RESPONSE_FIELDS, fieldMatcher } from './field-names.js';
import { policyPath, recordedTarget, splitTarget } from './request-target.js';

describe('request targets', () => {
  it('accepts origin-form targets only', () => {
    expect(splitTarget('/a/b?x=1')).toEqual({ rawPath: '/a/b', rawQuery: 'x=1' });
    expect(splitTarget('/')).toEqual({ rawPath: '/', rawQuery: '' });
    for (const bad of [undefined, 'http://evil/a', '*', '//host/a', '/a b', '/a#frag'])
      expect(splitTarget(bad)).toBeUndefined();
  });

  it('decodes the path for policy, so encoded slashes and dots cannot hide a segment', () => {
    expect(policyPath('/v1/..%2Fadmin')).toBe('/v1/../admin');
    expect(policyPath('/files/%2e%2e/secret')).toBe('/files/../secret');
    expect(policyPath('/a%3F/../admin')).toBe('/a%3F/../admin');
    expect(policyPath('/a%23b')).toBe('/a%23b');
    expect(policyPath('/a%zz')).toBeUndefined();
    expect(policyPath('/a%00b')).toBeUndefined();
  });

  it('redacts secret-looking query values in what is recorded', () => {
    const f = fieldMatcher(DEFAULT_RESPONSE_FIELDS);
    expect(recordedTarget('/search', 'q=cats&api_key=abc&X-Amz-Signature=ff&token=t', f)).toBe(
      '/search?q=cats&api_key=[REDACTED]&X-Amz-Signature=[REDACTED]&token=[REDACTED]',
    );
    expect(recordedTarget('/data', '', f)).toBe('/data');
  });
});
