// Phone number shapes: E.164 (`+14155550123`), international with separators (`+44 20 7946 0958`) and
// North American national formats (`(415) 555-0123`, `415-555-0123`, `415.555.0123`). Pure rules.

import {
  SEP_DASH,
  SEP_DOT,
  SEP_PAREN,
  SEP_SPACE,
  firstDigit,
  groupLen,
  totalDigits,
} from './digit-groups.js';
import type { DigitGroups } from './digit-groups.js';

function plainSep(s: number): boolean {
  return s === SEP_DASH || s === SEP_DOT || s === SEP_SPACE;
}

/**
 * NANP (ITU-T E.164 country code 1): area code and exchange start with 2–9, and an area code is
 * never N11. This rejects most 3-3-4 digit strings that are not phone numbers (`123-456-7890`).
 */
function nanp(g: DigitGroups, area: number): boolean {
  if (groupLen(g, area) !== 3 || groupLen(g, area + 1) !== 3 || groupLen(g, area + 2) !== 4) return false;
  if (firstDigit(g, area) < 2 || firstDigit(g, area + 1) < 2) return false;
  const a = g.start[area] as number;
  return !(g.text.charCodeAt(a + 1) === 49 && g.text.charCodeAt(a + 2) === 49);
}

/**
 * Whether groups a..b form a phone number; `lead` says whether a `+` (1) or `(` (2) precedes group a.
 * Deliberately narrow: a leading `+` (strong signal, 9–15 digits as E.164 allows) or a NANP 3-3-4
 * grouping. Dates (4-2-2), versions, IPv4 (1–3 digit groups), order numbers and bare digit strings
 * never fit.
 */
export function isPhoneNumber(g: DigitGroups, a: number, b: number, lead: 0 | 1 | 2): boolean {
  const k = b - a + 1;
  if (lead === 1) {
    const d = totalDigits(g, a, b);
    if (d > 15 || firstDigit(g, a) === 0) return false;
    if (k === 1) return d >= 10;
    if (d < 9 || k > 6 || groupLen(g, a) > 4) return false;
    for (let i = a; i < b; i++) if ((g.sepLen[i] as number) > 2) return false;
    return true;
  }
  if (lead === 2) {
    return k === 3 && g.sep[a] === SEP_PAREN && plainSep(g.sep[a + 1] as number) && nanp(g, a);
  }
  if (k === 3) {
    const s0 = g.sep[a] as number;
    return plainSep(s0) && s0 === g.sep[a + 1] && g.sepLen[a] === 1 && g.sepLen[a + 1] === 1 && nanp(g, a);
  }
  if (k === 4 && groupLen(g, a) === 1 && firstDigit(g, a) === 1) {
    const s0 = g.sep[a] as number;
    const s1 = g.sep[a + 1] as number;
    const s2 = g.sep[a + 2] as number;
    const sameSeps = plainSep(s0) && s0 === s1 && s1 === s2;
    const parens = s0 === SEP_PAREN && s1 === SEP_PAREN && plainSep(s2);
    return (sameSeps || parens) && nanp(g, a + 1);
  }
  return false;
}
