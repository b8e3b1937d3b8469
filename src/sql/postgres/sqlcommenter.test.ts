import { describe, expect, it } from 'vitest';
import { COMMENT_LIMITS, parseSqlcommenter } from './sqlcommenter.js';

const pairs = (body: string) => {
  const parsed = parseSqlcommenter(body);
  return parsed === undefined ? undefined : Object.fromEntries(parsed);
};

describe('parseSqlcommenter', () => {
  it('reads the spec example', () => {
    expect(
      pairs(
        "action='%2Fparam*d',controller='index',framework='spring',traceparent='00-5bd66ef5095369c7b0d1f8f4bd33716a-c532cb4098ac3dd2-01'",
      ),
    ).toEqual({
      action: '/param*d',
      controller: 'index',
      framework: 'spring',
      traceparent: '00-5bd66ef5095369c7b0d1f8f4bd33716a-c532cb4098ac3dd2-01',
    });
  });

  it('unescapes quotes and URL encoding in keys and values', () => {
    expect(pairs(" prompt%20id='it\\'s%20ok' , agent='a%3Db' ")).toEqual({
      'prompt id': "it's ok",
      agent: 'a=b',
    });
    expect(pairs("k=''")).toEqual({ k: '' });
  });

  it('rejects bodies that are not a sqlcommenter list', () => {
    for (const body of ['', 'just a note', "k='unterminated", 'k=v', "k='v' x='y'", "='v'", "k='%E0%A4%A'"]) {
      expect(pairs(body)).toBeUndefined();
    }
  });

  it('bounds what it keeps', () => {
    const many = Array.from({ length: 100 }, (_, i) => `k${i}='v'`).join(',');
    expect(Object.keys(pairs(many)!)).toHaveLength(COMMENT_LIMITS.maxPairs);
    expect(pairs(`k='${'x'.repeat(COMMENT_LIMITS.maxValueLength + 1)}',j='1'`)).toEqual({ j: '1' });
  });

  it('keeps __proto__ as plain data', () => {
    const parsed = parseSqlcommenter("__proto__='x'")!;
    expect(parsed.get('__proto__')).toBe('x');
  });
});
