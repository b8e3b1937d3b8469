// IBANs (ISO 13616): country code, two check digits, BBAN; compact or in groups of four, verified by
// the country's registered length and the mod-97 check. Hand-written scan; runs only when the
// pre-filter saw two capitals followed by two digits.

import { isAlnumCode, isDigitCode } from './char-class.js';
import type { Finding } from './finding.js';

/** IBAN length per country (SWIFT IBAN registry). Unknown countries are not matched. */
const IBAN_LENGTHS: Readonly<Record<string, number>> = {
  AD: 24,
  AE: 23,
  AL: 28,
  AT: 20,
  AZ: 28,
  BA: 20,
  BE: 16,
  BG: 22,
  BH: 22,
  BI: 27,
  BR: 29,
  BY: 28,
  CH: 21,
  CR: 22,
  CY: 28,
  CZ: 24,
  DE: 22,
  DJ: 27,
  DK: 18,
  DO: 28,
  EE: 20,
  EG: 29,
  ES: 24,
  FI: 18,
  FK: 18,
  FO: 18,
  FR: 27,
  GB: 22,
  GE: 22,
  GI: 23,
  GL: 18,
  GR: 27,
  GT: 28,
  HN: 28,
  HR: 21,
  HU: 28,
  IE: 22,
  IL: 23,
  IQ: 23,
  IS: 26,
  IT: 27,
  JO: 30,
  KW: 30,
  KZ: 20,
  LB: 28,
  LC: 32,
  LI: 21,
  LT: 20,
  LU: 20,
  LV: 21,
  LY: 25,
  MC: 27,
  MD: 24,
  ME: 22,
  MK: 19,
  MN: 20,
  MR: 27,
  MT: 31,
  MU: 30,
  NI: 28,
  NL: 18,
  NO: 15,
  OM: 23,
  PK: 24,
  PL: 28,
  PS: 29,
  PT: 25,
  QA: 29,
  RO: 24,
  RS: 22,
  RU: 33,
  SA: 24,
  SC: 31,
  SD: 18,
  SE: 24,
  SI: 19,
  SK: 24,
  SM: 27,
  SO: 23,
  ST: 25,
  SV: 28,
  TL: 23,
  TN: 24,
  TR: 26,
  UA: 29,
  VA: 22,
  VG: 24,
  XK: 20,
  YE: 30,
};

function isUpperCode(c: number): boolean {
  return c >= 65 && c <= 90;
}

function isIbanChar(c: number): boolean {
  return isDigitCode(c) || isUpperCode(c);
}

/** ISO 7064 mod 97-10 over the IBAN with its first four characters moved to the end; spaces skipped. */
function mod97(text: string, start: number, end: number): number {
  let r = 0;
  const step = (c: number): void => {
    if (c === 32) return;
    r = c <= 57 ? (r * 10 + (c - 48)) % 97 : (r * 100 + (c - 55)) % 97;
  };
  for (let i = start + 4; i < end; i++) step(text.charCodeAt(i));
  for (let i = start; i < start + 4; i++) step(text.charCodeAt(i));
  return r;
}

/** End of an IBAN starting at i, or -1. */
function ibanAt(text: string, i: number): number {
  const n = text.length;
  const len = IBAN_LENGTHS[text.slice(i, i + 2)];
  if (len === undefined) return -1;
  let p = i;
  let count = 0;
  let group = 0;
  // undefined until known: true when written in groups of four, false when compact.
  let spaced: boolean | undefined;
  while (p < n && count < len) {
    const c = text.charCodeAt(p);
    if (isIbanChar(c)) {
      count++;
      group++;
      p++;
      if (group > 4) {
        if (spaced === true) return -1;
        spaced = false;
      }
    } else if (
      c === 32 &&
      group === 4 &&
      spaced !== false &&
      p + 1 < n &&
      isIbanChar(text.charCodeAt(p + 1))
    ) {
      spaced = true;
      group = 0;
      p++;
    } else break;
  }
  if (count !== len) return -1;
  if (p < n && isAlnumCode(text.charCodeAt(p))) return -1;
  return mod97(text, i, p) === 1 ? p : -1;
}

export function scanIbans(text: string, out: Finding[]): void {
  const n = text.length;
  for (let i = 0; i + 15 <= n; i++) {
    if (
      !isUpperCode(text.charCodeAt(i)) ||
      !isUpperCode(text.charCodeAt(i + 1)) ||
      !isDigitCode(text.charCodeAt(i + 2)) ||
      !isDigitCode(text.charCodeAt(i + 3)) ||
      (i > 0 && isAlnumCode(text.charCodeAt(i - 1)))
    ) {
      continue;
    }
    const end = ibanAt(text, i);
    if (end > 0) {
      out.push({ detector: 'iban', start: i, end, text: text.slice(i, end) });
      i = end - 1;
    }
  }
}
