// The pre-filter: one pass over a text that says which detector families could possibly match.
// It must stay cheap and allocation-free, and may say "maybe" wrongly but never "no" wrongly.

import { ALNUM, B64_EXTRA, CHAR_CLASS, DIGIT, PERCENT, UPPER, WORD } from './char-class.js';

/** At least 9 ASCII digits: payment card (13+), phone (9+), SSN (9). */
export const F_DIGITS = 1 << 0;
/** An `@`: email. */
export const F_AT = 1 << 1;
/** Two uppercase letters followed by two digits: IBAN. */
export const F_IBAN = 1 << 2;
/** A [A-Za-z0-9_-] run of 15+ starting with a letter some token prefix starts with. */
export const F_TOKEN = 1 << 3;
/** A `$`: password hashes. */
export const F_DOLLAR = 1 << 4;
/** Five dashes in a row: PEM armour. */
export const F_DASH5 = 1 << 5;
/** A [A-Za-z0-9+/_%-] run of 20+: encoded runs, SAS signatures, Slack webhooks. */
export const F_RUN20 = 1 << 6;
/** The same kind of run, 40+: AWS secret keys, Azure keys. */
export const F_RUN40 = 1 << 7;

const TOKEN_MIN_RUN = 15;
const B64_RUN = ALNUM | WORD | B64_EXTRA | PERCENT;

/** First letters of the token prefixes: AKIA/AIza…, gh*_/glpat-, xox*, sk…, rk_, whsec_, eyJ. */
const TOKEN_START: Uint8Array = (() => {
  const t = new Uint8Array(128);
  for (const ch of 'Agxsrwe') t[ch.charCodeAt(0)] = 1;
  return t;
})();

/** Feature bits (F_*) of `text`. */
export function textFeatures(text: string): number {
  const n = text.length;
  let f = 0;
  let digits = 0;
  let wordLen = 0;
  let wordFirst = 0;
  let runLen = 0;
  let dashes = 0;
  // 0: nothing, 1: one uppercase, 2: two or more uppercase, 3: uppercase pair then a digit.
  let iban = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    const k = c < 128 ? (CHAR_CLASS[c] as number) : 0;
    if (k & WORD) {
      if (wordLen === 0) wordFirst = c;
      wordLen++;
    } else if (wordLen !== 0) {
      if (wordLen >= TOKEN_MIN_RUN && TOKEN_START[wordFirst] === 1) f |= F_TOKEN;
      wordLen = 0;
    }
    if (k & B64_RUN) {
      runLen++;
    } else if (runLen !== 0) {
      if (runLen >= 20) f |= runLen >= 40 ? F_RUN20 | F_RUN40 : F_RUN20;
      runLen = 0;
    }
    if (k & DIGIT) {
      digits++;
      iban = iban === 2 ? 3 : iban === 3 ? ((f |= F_IBAN), 0) : 0;
      dashes = 0;
    } else if (k & UPPER) {
      iban = iban === 1 || iban === 2 ? 2 : 1;
      dashes = 0;
    } else {
      iban = 0;
      if (c === 45) {
        if (++dashes >= 5) f |= F_DASH5;
      } else {
        dashes = 0;
        if (c === 64) f |= F_AT;
        else if (c === 36) f |= F_DOLLAR;
      }
    }
  }
  if (wordLen >= TOKEN_MIN_RUN && TOKEN_START[wordFirst] === 1) f |= F_TOKEN;
  if (runLen >= 20) f |= runLen >= 40 ? F_RUN20 | F_RUN40 : F_RUN20;
  if (digits >= 9) f |= F_DIGITS;
  return f;
}
