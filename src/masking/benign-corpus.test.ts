import { describe, expect, it } from 'vitest';
import { BENIGN_CORPUS } from './benign-corpus.js';
import { createDetectorSet } from './detector-set.js';
import { maskJsonText } from './json-masking.js';

const set = createDetectorSet({ hashKey: Buffer.alloc(32, 3) });

describe('benign corpus', () => {
  it('holds at least 200 values', () => {
    expect(BENIGN_CORPUS.length).toBeGreaterThanOrEqual(200);
  });

  it('passes every built-in detector unmasked', () => {
    const flagged = BENIGN_CORPUS.map(
      (v) => [v, set.scan(v).map((f) => `${f.detector}:${f.text}`)] as const,
    ).filter(([, f]) => f.length > 0);
    expect(flagged).toEqual([]);
  });

  it('passes unmasked when all values are joined into one text and one JSON document', () => {
    expect(set.mask(BENIGN_CORPUS.join('\n'), 'redact', 'text')).toBeNull();
    expect(
      maskJsonText(JSON.stringify({ rows: BENIGN_CORPUS }), set, { style: 'redact', keyNames: [] }),
    ).toBeNull();
  });
});
