import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.js';
import { sampleJsonBound } from './session-recorder.js';

describe('sampleJsonBound', () => {
  it('is never below the bytes of the canonical JSON (so a sample it puts inline fits inline)', () => {
    const text = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.string({
        unit: fc.constantFrom('\u0000', '\u001f', '"', '\\', '\u2028', 'é', '😀', 'a'),
        maxLength: 40,
      }),
    );
    fc.assert(
      fc.property(
        fc.array(text, { maxLength: 6 }),
        fc.array(fc.array(fc.option(text, { nil: null }), { maxLength: 6 }), { maxLength: 6 }),
        fc.boolean(),
        (columns, rows, truncated) => {
          const sample = { columns, rows, truncated };
          expect(sampleJsonBound(sample)).toBeGreaterThanOrEqual(
            Buffer.byteLength(canonicalJson(sample), 'utf8'),
          );
        },
      ),
      { numRuns: 3000 },
    );
  });
});
