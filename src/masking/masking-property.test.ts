import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDetectorSet } from './detector-set.js';
import type { MaskStyle } from './finding.js';
import { maskJsonText } from './json-masking.js';

const set = createDetectorSet({ hashKey: Buffer.alloc(32, 5) });

/** Sensitive fragments and near-misses, glued with separators and noise to provoke boundary bugs. */
const fragments = [
  '4111111111111111',
  '4111 1111 1111 1111',
  '378282246310005',
  '123-45-6789',
  '(415) 555-0123',
  '+44 20 7946 0958',
  'alice@example.com',
  'DE89 3704 0044 0532 0130 00',
  'AKIAIOSFODNN7EXAMPLE',
  'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  `ghp_${'aB3'.repeat(12)}`,
  'sk-ant-api03-abcdefghijklmnopqrstuvwxyz012345',
  'xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy',
  'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln',
  '-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----',
  '$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW',
  'NDExMTExMTExMTExMTExMQ==',
  '34313131313131313131313131313131',
  'sig=AbCdEf0123456789%2BgHiJkLmNoPq',
  '2024-05-01 12:34:56',
  '1714567890123',
  '550e8400-e29b-41d4-a716-446655440000',
  '[REDACTED:x]',
  'hmac:',
];
const glue = fc.constantFrom('', ' ', '-', '.', '@', '\n', '=', '"', ':', '/', '+', '*', 'x', '0', 'A', '\\');
const mixed = fc
  .array(fc.oneof(fc.constantFrom(...fragments), glue, fc.string({ maxLength: 8 })), { maxLength: 12 })
  .map((parts) => parts.join(''));
const anyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ maxLength: 200 }), mixed);
const styles: MaskStyle[] = ['redact', 'partial', 'hash'];

describe('masking properties', () => {
  it('scan and mask never throw and findings are ordered, in bounds and non-overlapping', () => {
    fc.assert(
      fc.property(anyText, (text) => {
        const found = set.scan(text);
        let prev = 0;
        for (const f of found) {
          expect(f.start).toBeGreaterThanOrEqual(prev);
          expect(f.end).toBeGreaterThan(f.start);
          expect(f.end).toBeLessThanOrEqual(text.length);
          expect(text.slice(f.start, f.end)).toBe(f.text);
          prev = f.end;
        }
        for (const s of [...styles, 'null' as const]) {
          const r = set.mask(text, s);
          expect(r === null).toBe(found.length === 0);
          if (r !== null) expect(r.isNull).toBe(s === 'null');
        }
        expect(set.mask(text, 'hash')?.text).toBe(set.mask(text, 'hash')?.text);
        maskJsonText(text, set, { style: 'redact' });
      }),
      { numRuns: 400 },
    );
  });

  it('the pre-filter changes no result', () => {
    const unfiltered = createDetectorSet({ hashKey: Buffer.alloc(32, 5), prefilter: false });
    fc.assert(
      fc.property(fc.oneof(mixed, anyText), (text) => {
        expect(set.scan(text)).toEqual(unfiltered.scan(text));
      }),
      { numRuns: 1500 },
    );
  });

  it('masked output holds nothing the detector set would flag again', () => {
    fc.assert(
      fc.property(mixed, fc.constantFrom(...styles), (text, style) => {
        const once = set.mask(text, style, 'text');
        if (once === null) return;
        expect(set.scan(once.text)).toEqual([]);
      }),
      { numRuns: 1500 },
    );
  });

  it('redacted output never contains a found secret of 8+ characters, when secrets are delimited', () => {
    // Tokens glued to letters or digits ("0ghp_…") are a documented limit, so the glue here is punctuation.
    const delimited = fc
      .array(
        fc.tuple(fc.constantFrom(...fragments), fc.constantFrom(' ', '\n', '"', ': ', ', ', '; ', '\t')),
        { maxLength: 12 },
      )
      .map((parts) => parts.map(([f, d]) => f + d).join(''));
    fc.assert(
      fc.property(delimited, (text) => {
        const found = set.scan(text);
        const r = set.mask(text, 'redact', 'text');
        for (const f of found) if (f.text.length >= 8) expect(r?.text.includes(f.text)).toBe(false);
      }),
      { numRuns: 1500 },
    );
  });

  it('JSON masking of a document built from the fragments re-masks to nothing', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom('a', 'note', 'password', 'b_c'), mixed, { maxKeys: 4 }),
        (obj) => {
          const once = maskJsonText(JSON.stringify(obj), set, { style: 'redact' });
          if (once === null) return;
          JSON.parse(once.text);
          expect(maskJsonText(once.text, set, { style: 'redact' })).toBeNull();
        },
      ),
      { numRuns: 400 },
    );
  });
});
