import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { canonicalJson, CanonicalJsonError, jsonNumber, jsonString } from './canonical-json.js';

describe('canonicalJson', () => {
  test('sorts keys by UTF-16 code units at every depth and adds no whitespace', () => {
    expect(
      canonicalJson({ b: 1, a: [{ z: 1, y: 'x' }], A: null, é: true, '\u{1F600}': 2, '\uFFFF': 3 }),
    ).toBe('{"A":null,"a":[{"y":"x","z":1}],"b":1,"é":true,"\u{1F600}":2,"\uFFFF":3}');
  });

  test('serialises numbers and strings as ECMAScript does (RFC 8785 §3.2.2)', () => {
    expect(canonicalJson([1e21, 1e-7, -0, 0.1 + 0.2, 100, 'a"\\\n\u0001\u2028'])).toBe(
      '[1e+21,1e-7,0,0.30000000000000004,100,"a\\"\\\\\\n\\u0001\u2028"]',
    );
  });

  test('drops undefined members, turns Dates into ISO strings and non-finite numbers into null', () => {
    expect(canonicalJson({ u: undefined, d: new Date(0), n: Number.NaN, arr: [undefined] })).toBe(
      '{"arr":[null],"d":"1970-01-01T00:00:00.000Z","n":null}',
    );
  });

  test('keeps a "__proto__" key as data', () => {
    const v = JSON.parse('{"__proto__":{"x":1},"a":2}') as unknown;
    expect(canonicalJson(v)).toBe('{"__proto__":{"x":1},"a":2}');
  });

  test('refuses BigInt, cycles and absurd depth', () => {
    expect(() => canonicalJson({ n: 1n })).toThrow(CanonicalJsonError);
    const a: Record<string, unknown> = {};
    a.self = a;
    expect(() => canonicalJson(a)).toThrow(CanonicalJsonError);
  });

  test('is a fixed point through JSON.parse, whatever the key order', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const c = canonicalJson(v);
        expect(canonicalJson(JSON.parse(c))).toBe(c);
        expect(JSON.parse(c)).toEqual(JSON.parse(JSON.stringify(v)));
      }),
      { numRuns: 300 },
    );
  });

  test('writes strings and numbers exactly as JSON.stringify does (any UTF-16, lone surrogates too)', () => {
    const units = fc
      .array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 })
      .map((codes) => String.fromCharCode(...codes));
    fc.assert(
      fc.property(fc.oneof(units, fc.string({ unit: 'grapheme-ascii' }), fc.string()), (s) => {
        expect(jsonString(s)).toBe(JSON.stringify(s));
      }),
      { numRuns: 1000 },
    );
    for (const s of ['', 'plain', 'a"b', 'a\\b', '\u007f', '\u001f', 'é', '\ud800', '\udfff\ud800', '~ !#[]'])
      expect(jsonString(s)).toBe(JSON.stringify(s));
    fc.assert(
      fc.property(fc.double(), (n) => {
        expect(jsonNumber(n)).toBe(JSON.stringify(n));
      }),
      { numRuns: 1000 },
    );
  });
});
