// Phone number shapes: E.164 (`+14155550123`), international with separators (`+44 20 7946 0958`) and
// North American national formats (`(415) 555-0123`, `415-555-0123`, `415.555.0123`). Pure rules.

import { SEP_DASH, SEP_DOT, SEP_PAREN, SEP_SPACE, firstDigit, groupLen, totalDigits } from './digit-groups.js';
import type { DigitGroups } from './digit-groups.js';

function plainSep(s: number): boolean {
  return s === SEP_DASH || s === SEP_DOT || s === SEP_SPACE;
}

/**
 * NANP (ITU-T E.164 country code 1): area code and exchange start with 2–9, and an area code is
 * never N11. This rejects most 3-3-4 digit strings that are not phone numbers (`123-456-7890`).
 */
function nanp(g: DigitGroups, area: number, exchange: number): boolean {
  if (groupLen(g, area) !== 3 || groupLen(g, exchange) !== 3 || groupLen(g, exchange + 1) !== 4) return false;
  if (firstDigit(g, area) < 2 || firstDigit(g, exchange) < 2) return false;
  const a = g.start[area] as number;
  return !(g.text.charCodeAt(a + 1) === 49 && g.text.charCodeAt(a + 2) === 49);
}

/**
 * Whether the whole digit-group run is a phone number. Deliberately narrow: a leading `+` (strong
 * signal, 9–15 digits as E.164 allows) or a NANP 3-3-4 grouping. Dates (4-2-2), versions, IPv4
 * (1–3 digit groups), order numbers and bare digit strings never fit.
 */
export function isPhoneNumber(g: DigitGroups): boolean {
  const k = g.count;
  if (g.lead === 1) {
    const d = totalDigits(g);
    if (d > 15 || firstDigit(g, 0) === 0) return false;
    if (k === 1) return d >= 10;
    if (d < 9 || k > 6 || groupLen(g, 0) > 4) return false;
    for (let i = 0; i < k - 1; i++) if ((g.sepLen[i] as number) > 2) return false;
    return true;
  }
  if (g.lead === 2) {
    return k === 3 && g.sep[0] === SEP_PAREN && plainSep(g.sep[1] as number) && nanp(g, 0, 1);
  }
  if (k === 3) {
    return plainSep(g.sep[0] as number) && g.sep[0] === g.sep[1] && g.sepLen[0] === 1 && g.sepLen[1] === 1 && nanp(g, 0, 1);
  }
  if (k === 4 && groupLen(g, 0) === 1 && firstDigit(g, 0) === 1) {
    const s0 = g.sep[0] as number;
    const s1 = g.sep[1] as number;
    const s2 = g.sep[2] as number;
    const sameSeps = plainSep(s0) && s0 === s1 && s1 === s2;
    const parens = s0 === SEP_PAREN && s1 === SEP_PAREN && plainSep(s2);
    return (sameSeps || parens) && nanp(g, 1, 2);
  }
  return false;
}
