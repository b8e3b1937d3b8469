import { describe, expect, it } from 'vitest';
import { clipShown } from './visible-text.js';

describe('clipShown', () => {
  it('keeps text that fits, and says how long clipped text was', () => {
    expect(clipShown('abc', 3)).toBe('abc');
    expect(clipShown('abcdef', 3)).toBe('abc… (clipped: 6 characters in all)');
  });

  it('never cuts between the halves of a surrogate pair', () => {
    // '😀' is two UTF-16 code units: cutting after the first would leave a lone surrogate.
    expect(clipShown('ab😀cd', 3)).toBe('ab… (clipped: 6 characters in all)');
  });
});
