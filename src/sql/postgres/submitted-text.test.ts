import { describe, expect, it } from 'vitest';
import { checkText, SubmittedText } from './submitted-text.js';

describe('checkText', () => {
  it('accepts ASCII and well-formed Unicode, and says which', () => {
    expect(checkText('SELECT 1')).toEqual({ ok: true, ascii: true });
    expect(checkText("SELECT 'é😀'")).toEqual({ ok: true, ascii: false });
  });

  it('rejects NUL and lone surrogates', () => {
    expect(checkText('a\u0000b').ok).toBe(false);
    expect(checkText('\uD800').ok).toBe(false);
    expect(checkText('\uDC00x').ok).toBe(false);
    expect(checkText('x\uD83D').ok).toBe(false);
  });
});

describe('SubmittedText', () => {
  it('slices by UTF-8 byte offsets', () => {
    const text = new SubmittedText("é😀'x'; ü", false);
    expect(text.byteLength).toBe(2 + 4 + 3 + 1 + 1 + 2);
    expect(text.slice(0, 2)).toBe('é');
    expect(text.slice(2, 6)).toBe('😀');
    expect(text.slice(6, 9)).toBe("'x'");
    expect(text.slice(11, 100)).toBe('ü');
    expect(text.slice(9, 13)).toBe('; ü');
  });

  it('slices ASCII text directly and clamps offsets', () => {
    const text = new SubmittedText('SELECT 1; SELECT 2', true);
    expect(text.slice(10, 0)).toBe('');
    expect(text.slice(10, 1000)).toBe('SELECT 2');
    expect(text.slice(-5, 8)).toBe('SELECT 1');
  });
});
