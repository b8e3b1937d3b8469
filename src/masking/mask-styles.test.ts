import { describe, expect, it } from 'vitest';
import { ERROR_CODES, GatewayError } from '../core/errors.js';
import { createDetectorSet } from './detector-set.js';
import { hmacTag, partialMask, redactTag } from './mask-styles.js';

const key = Buffer.from('0123456789abcdef0123456789abcdef');
const set = createDetectorSet({ hashKey: key });

describe('redact', () => {
  it('replaces each finding with a tag naming its detector', () => {
    const r = set.mask('card 4111-1111-1111-1111, mail alice@example.com, again 5555555555554444', 'redact');
    expect(r?.text).toBe('card [REDACTED:credit_card], mail [REDACTED:email], again [REDACTED:credit_card]');
    expect(r?.counts).toEqual({ credit_card: 2, email: 1 });
    expect(r?.isNull).toBe(false);
  });

  it('returns null when nothing is found', () => {
    expect(set.mask('alice', 'redact')).toBeNull();
    expect(set.mask('', 'redact')).toBeNull();
    expect(set.mask('2024-05-01 12:34:56.789+00', 'hash')).toBeNull();
  });
});

describe('partial', () => {
  it.each([
    ['4111-1111-1111-1111', '****-****-****-1111'],
    ['4111 1111 1111 1111', '**** **** **** 1111'],
    ['4111111111111111', '************1111'],
    ['123-45-6789', '***-**-6789'],
    ['(415) 555-0123', '(***) ***-0123'],
    ['+44 20 7946 0958', '+** ** **** 0958'],
    ['alice@example.com', '*****@******e.com'],
    ['DE89 3704 0044 0532 0130 00', '**** **** **** **** **30 00'],
  ])('%s → %s', (input, expected) => {
    expect(set.mask(input, 'partial')?.text).toBe(expected);
  });

  it('hides everything when the value has fewer than 9 letters and digits', () => {
    expect(partialMask('abc-1234')).toBe('***-****');
    expect(partialMask('Zoë Müller')).toBe('*** **ller');
  });

  it('degrades to redact for encoded runs', () => {
    expect(set.mask('blob NDExMTExMTExMTExMTExMQ==', 'partial')?.text).toBe(
      'blob [REDACTED:encoded:credit_card]',
    );
  });
});

describe('hash', () => {
  it('is hmac: plus 16 hex characters, deterministic for a key', () => {
    const a = set.mask('4111111111111111', 'hash')?.text;
    expect(a).toMatch(/^hmac:[0-9a-f]{16}$/);
    expect(set.mask('x 4111111111111111 y', 'hash')?.text).toBe(`x ${a} y`);
    expect(createDetectorSet({ hashKey: Buffer.from(key) }).mask('4111111111111111', 'hash')?.text).toBe(a);
    expect(hmacTag(key, '4111111111111111')).toBe(a);
  });

  it('depends on the key and the value', () => {
    const other = createDetectorSet({ hashKey: Buffer.from('fedcba9876543210fedcba9876543210') });
    expect(other.mask('4111111111111111', 'hash')?.text).not.toBe(set.mask('4111111111111111', 'hash')?.text);
    expect(set.mask('5555555555554444', 'hash')?.text).not.toBe(set.mask('4111111111111111', 'hash')?.text);
  });

  it('gives a column rule and a detector the same output for the same value (joins still work)', () => {
    expect(set.maskWhole('alice@example.com', 'hash', 'contact')).toBe(
      set.mask('alice@example.com', 'hash')?.text,
    );
  });

  it('fails closed without a key', () => {
    const noKey = createDetectorSet();
    expect(() => noKey.mask('4111111111111111', 'hash')).toThrow(GatewayError);
    try {
      noKey.maskWhole('x', 'hash', 'c');
    } catch (e) {
      expect((e as GatewayError).code).toBe(ERROR_CODES.MASK_FAILED);
    }
    expect(noKey.mask('alice', 'hash')).toBeNull();
  });
});

describe('null', () => {
  it('nulls a cell, with a redacted text as the safe fallback', () => {
    const r = set.mask('card 4111111111111111', 'null');
    expect(r).toEqual({ text: 'card [REDACTED:credit_card]', counts: { credit_card: 1 }, isNull: true });
  });

  it('degrades to redact inside a larger text', () => {
    const r = set.mask('card 4111111111111111', 'null', 'text');
    expect(r).toEqual({ text: 'card [REDACTED:credit_card]', counts: { credit_card: 1 }, isNull: false });
  });
});

describe('style per detector', () => {
  it('asks the chooser with the detector name (without encoded:)', () => {
    const asked: string[] = [];
    const r = set.mask('4111111111111111 alice@example.com NDExMTExMTExMTExMTExMQ==', (d) => {
      asked.push(d);
      return d === 'email' ? 'partial' : 'redact';
    });
    expect(r?.text).toBe('[REDACTED:credit_card] *****@******e.com [REDACTED:encoded:credit_card]');
    expect(asked).toEqual(['credit_card', 'email', 'credit_card']);
    expect(r?.counts).toEqual({ credit_card: 1, email: 1, 'encoded:credit_card': 1 });
  });
});

describe('maskWhole (column rules)', () => {
  it('masks a whole value whatever it holds', () => {
    expect(set.maskWhole('hello world', 'redact', 'notes')).toBe('[REDACTED:notes]');
    expect(set.maskWhole('555-12-3456', 'partial', 'ssn')).toBe('***-**-3456');
    expect(set.maskWhole('hello', 'hash', 'notes')).toBe(hmacTag(key, 'hello'));
    expect(set.maskWhole('hello', 'null', 'notes')).toBeNull();
    expect(redactTag('notes')).toBe('[REDACTED:notes]');
  });
});
