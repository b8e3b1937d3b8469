// Payment card number rules: issuer (IIN) ranges with their lengths, the Luhn check, and the
// groupings people write cards in. Pure functions on digit strings; finding candidates is elsewhere.

/** [low, high, prefix digits, lengths bitmask (bit n = n digits)] */
type IinRange = readonly [number, number, number, number];

function lengths(...ls: number[]): number {
  let m = 0;
  for (const l of ls) m |= 1 << l;
  return m;
}
const L16_19 = lengths(16, 17, 18, 19);
const L13_19 = lengths(13, 14, 15, 16, 17, 18, 19);

/**
 * Issuer ranges (ISO/IEC 7812 IINs as published by the networks). A number outside all of them is not
 * treated as a card even when Luhn-valid: that keeps epoch milliseconds (1…), ISBNs (978…) and most
 * database ids out. UATP (1…, airline) is deliberately absent for the same reason.
 */
const IIN_RANGES: readonly IinRange[] = [
  [4, 4, 1, lengths(13, 16, 19)], // Visa
  [51, 55, 2, lengths(16)], // Mastercard
  [2221, 2720, 4, lengths(16)], // Mastercard 2-series
  [2200, 2204, 4, L16_19], // Mir
  [34, 34, 2, lengths(15)], // American Express
  [37, 37, 2, lengths(15)],
  [6011, 6011, 4, L16_19], // Discover
  [644, 649, 3, L16_19],
  [65, 65, 2, L16_19],
  [3528, 3589, 4, L16_19], // JCB
  [300, 305, 3, lengths(14, 15, 16, 17, 18, 19)], // Diners Club
  [3095, 3095, 4, lengths(14, 15, 16, 17, 18, 19)],
  [36, 36, 2, lengths(14, 15, 16, 17, 18, 19)],
  [38, 39, 2, lengths(14, 15, 16, 17, 18, 19)],
  [62, 62, 2, L16_19], // UnionPay (also Discover 622126–622925)
  [81, 82, 2, L16_19], // UnionPay 81, RuPay 81/82
  [60, 60, 2, L16_19], // RuPay
  [50, 50, 2, L13_19], // Maestro (also Verve 506…, RuPay 508…)
  [56, 69, 2, L13_19], // Maestro 56–69 (and the 6x ranges above)
  [9792, 9792, 4, lengths(16)], // Troy
];

const POW10 = [1, 10, 100, 1000, 10000, 100000, 1000000];

/** True when the digits fall in a known issuer range with a length that issuer uses. */
export function inIinRange(digits: string): boolean {
  const len = digits.length;
  if (len < 6) return false;
  let p6 = 0;
  for (let i = 0; i < 6; i++) p6 = p6 * 10 + (digits.charCodeAt(i) - 48);
  for (const [low, high, prefixLen, lens] of IIN_RANGES) {
    if ((lens & (1 << len)) === 0) continue;
    const p = Math.floor(p6 / (POW10[6 - prefixLen] as number));
    if (p >= low && p <= high) return true;
  }
  return false;
}

/** ISO/IEC 7812-1 Luhn check (mod 10). */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** GS1 check digit (EAN-13 / GTIN-13): weights 1,3 from the left over 12 digits. */
export function ean13Valid(digits: string): boolean {
  if (digits.length !== 13) return false;
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += (digits.charCodeAt(i) - 48) * (i % 2 === 0 ? 1 : 3);
  return (10 - (sum % 10)) % 10 === digits.charCodeAt(12) - 48;
}

/**
 * A card number: 13–19 digits, in an issuer range, Luhn-valid. A 13-digit number that is also a
 * valid EAN-13 barcode is taken to be a barcode: 13-digit cards are all but extinct, product codes are
 * everywhere in databases.
 */
export function isPaymentCardNumber(digits: string): boolean {
  const len = digits.length;
  if (len < 13 || len > 19) return false;
  if (!inIinRange(digits) || !luhnValid(digits)) return false;
  if (len === 13 && ean13Valid(digits)) return false;
  return true;
}

/**
 * How card numbers are written when separated: 4-4-4-4 (and 4-4-4-1…4 for 13–19 digits),
 * 4-6-5 (Amex), 4-6-4 (Diners). `lens` are the group lengths; one group means no separators.
 */
export function isCardGrouping(lens: readonly number[]): boolean {
  const k = lens.length;
  if (k === 1) return true;
  if (k === 3 && lens[0] === 4 && lens[1] === 6 && (lens[2] === 5 || lens[2] === 4)) return true;
  if (k < 3) return false;
  for (let i = 0; i < k - 1; i++) if (lens[i] !== 4) return false;
  const last = lens[k - 1] as number;
  return last >= 1 && last <= 4;
}
