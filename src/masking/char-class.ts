// ASCII character classes as one lookup table, shared by the hand-written detector scanners.
// Pure data: every detector matches ASCII shapes, so code units >= 128 have no class here.

export const DIGIT = 1;
export const UPPER = 2;
export const LOWER = 4;
/** `_` and `-`: part of token bodies and base64url. */
export const WORD_EXTRA = 8;
/** `+` and `/`: standard base64. */
export const B64_EXTRA = 16;
/** `%`: URL-encoded base64 (SAS signatures). */
export const PERCENT = 32;

export const ALNUM = DIGIT | UPPER | LOWER;
/** Characters of API tokens and base64url: [A-Za-z0-9_-]. */
export const WORD = ALNUM | WORD_EXTRA;

export const CHAR_CLASS: Uint8Array = (() => {
  const t = new Uint8Array(128);
  for (let c = 48; c <= 57; c++) t[c] = DIGIT;
  for (let c = 65; c <= 90; c++) t[c] = UPPER;
  for (let c = 97; c <= 122; c++) t[c] = LOWER;
  t[95] = WORD_EXTRA; // _
  t[45] = WORD_EXTRA; // -
  t[43] = B64_EXTRA; // +
  t[47] = B64_EXTRA; // /
  t[37] = PERCENT; // %
  return t;
})();

/** Class bits of the code unit `c` (0 for anything outside ASCII). */
export function classOf(c: number): number {
  return c < 128 ? (CHAR_CLASS[c] as number) : 0;
}

export function isDigitCode(c: number): boolean {
  return c >= 48 && c <= 57;
}

export function isAlnumCode(c: number): boolean {
  return c < 128 && ((CHAR_CLASS[c] as number) & ALNUM) !== 0;
}

export function isWordCode(c: number): boolean {
  return c < 128 && ((CHAR_CLASS[c] as number) & WORD) !== 0;
}

/** Which of upper, lower and digit occur in text[start, end) as class bits. */
export function classesIn(text: string, start: number, end: number): number {
  let k = 0;
  for (let i = start; i < end; i++) k |= classOf(text.charCodeAt(i));
  return k & ALNUM;
}
