import { describe, expect, it } from 'vitest';
import { clipShown, revealInvisible } from './visible-text.js';

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

describe('revealInvisible', () => {
  it('spells out controls, blanks that are not U+0020, line separators and a typed ⟨', () => {
    expect(revealInvisible("'one\f' 'two\u00A0' '\u3000' 'x\u2028\u2029' '\u001b\u007f\u0085'")).toBe(
      "'one⟨U+000C⟩' 'two⟨U+00A0⟩' '⟨U+3000⟩' 'x⟨U+2028⟩⟨U+2029⟩' '⟨U+001B⟩⟨U+007F⟩⟨U+0085⟩'",
    );
    expect(revealInvisible("'one⟨U+FE00⟩' and 'one\uFE00'")).toBe("'one⟨U+27E8⟩U+FE00⟩' and 'one⟨U+FE00⟩'");
    // Tab, line feed and carriage return are drawn as what they are.
    expect(revealInvisible('a\tb\r\nc')).toBe('a\tb\r\nc');
    // A terminal surface escapes controls itself.
    expect(revealInvisible('a\u001bb\u00A0', { leaveControls: true })).toBe('a\u001bb⟨U+00A0⟩');
  });

  it('counts three or more blank lines and 64 or more blanks', () => {
    expect(revealInvisible('a\n\n\nb')).toBe('a\n\n\nb');
    expect(revealInvisible('a\n\n \n\t\r\n\nb')).toBe('a\n⟨4 blank lines⟩\nb');
    expect(revealInvisible(`a${' '.repeat(63)}b`)).toBe(`a${' '.repeat(63)}b`);
    expect(revealInvisible(`a${' \t'.repeat(40)}b`)).toBe('a⟨80 blanks⟩b');
    expect(revealInvisible(`a${'\n'.repeat(9)}b`, { keepBlanks: true })).toBe(`a${'\n'.repeat(9)}b`);
  });
});
