import { describe, expect, it } from 'vitest';
import { ean13Valid, inIinRange, isCardGrouping, isPaymentCardNumber, luhnValid } from './payment-card.js';

describe('payment card rules', () => {
  it('checks Luhn', () => {
    expect(luhnValid('4111111111111111')).toBe(true);
    expect(luhnValid('4111111111111112')).toBe(false);
    expect(luhnValid('79927398713')).toBe(true);
  });

  it.each([
    ['4111111111111111', true], // Visa
    ['5105105105105100', true], // Mastercard 51–55
    ['2221000000000009', true], // Mastercard 2221–2720
    ['2721000000000000', false],
    ['340000000000009', true], // Amex 34
    ['370000000000002', true], // Amex 37
    ['3400000000000009', false], // Amex is 15 digits
    ['6011000000000004', true], // Discover
    ['6440000000000000', true], // Discover 644–649
    ['3528000000000007', true], // JCB 3528–3589
    ['3590000000000000', false],
    ['30000000000004', true], // Diners 300–305
    ['36000000000008', true], // Diners 36
    ['6200000000000005', true], // UnionPay
    ['5000000000000000', true], // Maestro 50
    ['1714567890123', false], // epoch ms: 1 is no issuer
    ['9780000000000000', false],
    ['7000000000000000', false],
  ])('IIN range of %s: %s', (digits, expected) => {
    expect(inIinRange(digits)).toBe(expected);
  });

  it('treats a 13-digit number that is also a valid EAN-13 as a barcode', () => {
    // 13-digit Visa test number: Luhn-valid, not an EAN.
    expect(isPaymentCardNumber('4222222222222')).toBe(true);
    // Find a Luhn-valid 13-digit Visa-range number that is also a valid EAN-13.
    let both: string | undefined;
    for (let i = 0; i < 100000 && !both; i++) {
      const n = `4${String(i).padStart(12, '0')}`;
      if (luhnValid(n) && ean13Valid(n)) both = n;
    }
    expect(both).toBeDefined();
    expect(isPaymentCardNumber(both as string)).toBe(false);
  });

  it.each([
    [[16], true],
    [[4, 4, 4, 4], true],
    [[4, 4, 4, 4, 3], true],
    [[4, 4, 4, 1], true],
    [[4, 6, 5], true],
    [[4, 6, 4], true],
    [[4, 12], false],
    [[5, 5, 5, 1], false],
    [[4, 4, 4, 4, 5], false],
    [[2, 4, 4, 4, 2], false],
  ])('grouping %j: %s', (lens, expected) => {
    expect(isCardGrouping(lens)).toBe(expected);
  });
});
