import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { GENESIS_PREV, sha256Hex } from './record-format.js';

describe('sha256Hex', () => {
  test('is the SHA-256 of the UTF-8 bytes, for strings (one-shot hash) and bytes alike', () => {
    const samples = ['', 'select 1', 'é→𝄞 \u0000 "quoted"', 'x'.repeat(100_000)];
    for (const s of samples) {
      const expected = createHash('sha256').update(Buffer.from(s, 'utf8')).digest('hex');
      expect(sha256Hex(s)).toBe(expected);
      expect(sha256Hex(Buffer.from(s, 'utf8'))).toBe(expected);
    }
    expect(GENESIS_PREV).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});
