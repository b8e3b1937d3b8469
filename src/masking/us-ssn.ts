// US Social Security Number rules (SSA numbering: area-group-serial). Pure rules on digit groups.
// The unseparated 9-digit form is accepted only when asked (a column rule): see docs/masking.md.

import { SEP_DASH, SEP_SPACE, groupLen } from './digit-groups.js';
import type { DigitGroups } from './digit-groups.js';

/** Area not 000, 666 or 900–999; group not 00; serial not 0000 (SSA rules). */
export function validSsnDigits(text: string, area: number, group: number, serial: number): boolean {
  const a = Number(text.slice(area, area + 3));
  if (a === 0 || a === 666 || a >= 900) return false;
  if (text.charCodeAt(group) === 48 && text.charCodeAt(group + 1) === 48) return false;
  return text.slice(serial, serial + 4) !== '0000';
}

/** Groups a..b as `123-45-6789` (or with single spaces); `123456789` only when `bare` is set. */
export function isUsSsn(g: DigitGroups, a: number, b: number, lead: 0 | 1 | 2, bare: boolean): boolean {
  if (lead !== 0) return false;
  if (a === b) {
    if (!bare || groupLen(g, a) !== 9) return false;
    const s = g.start[a] as number;
    return validSsnDigits(g.text, s, s + 3, s + 5);
  }
  if (b - a !== 2 || groupLen(g, a) !== 3 || groupLen(g, a + 1) !== 2 || groupLen(g, a + 2) !== 4)
    return false;
  const sep = g.sep[a];
  if (
    (sep !== SEP_DASH && sep !== SEP_SPACE) ||
    g.sep[a + 1] !== sep ||
    g.sepLen[a] !== 1 ||
    g.sepLen[a + 1] !== 1
  )
    return false;
  return validSsnDigits(g.text, g.start[a] as number, g.start[a + 1] as number, g.start[a + 2] as number);
}
