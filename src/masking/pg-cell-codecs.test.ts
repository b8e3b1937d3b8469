import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  byteaHexToBytes,
  bytesToByteaHex,
  decodeBinaryArray,
  decodeBinaryComposite,
  encodeBinaryArray,
  encodeBinaryComposite,
  formatRecordText,
  int8BinaryToText,
  numericBinaryToText,
  parseRecordText,
} from './pg-cell-codecs.js';

/** numeric_send layout: ndigits, weight, sign, dscale, base-10000 digits. */
function numeric(weight: number, sign: number, dscale: number, digits: number[]): Buffer {
  const b = Buffer.alloc(8 + 2 * digits.length);
  b.writeUInt16BE(digits.length, 0);
  b.writeInt16BE(weight, 2);
  b.writeUInt16BE(sign, 4);
  b.writeUInt16BE(dscale, 6);
  digits.forEach((d, i) => b.writeUInt16BE(d, 8 + 2 * i));
  return b;
}

describe('int8 and numeric binary', () => {
  it('prints int8 as int8out does', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (n) => {
        const b = Buffer.alloc(8);
        b.writeBigInt64BE(n);
        expect(int8BinaryToText(b)).toBe(n.toString());
      }),
    );
    expect(int8BinaryToText(Buffer.alloc(7))).toBeUndefined();
  });

  it('prints numeric as numeric_out does', () => {
    expect(numericBinaryToText(numeric(3, 0, 0, [4111, 1111, 1111, 1111]))).toBe('4111111111111111');
    expect(numericBinaryToText(numeric(0, 0, 2, [12, 5000]))).toBe('12.50');
    expect(numericBinaryToText(numeric(-1, 0, 4, [1]))).toBe('0.0001');
    expect(numericBinaryToText(numeric(-2, 0, 5, [1000]))).toBe('0.00001');
    expect(numericBinaryToText(numeric(1, 0x4000, 0, [3]))).toBe('-30000');
    expect(numericBinaryToText(numeric(0, 0, 0, []))).toBe('0');
    expect(numericBinaryToText(numeric(0, 0xc000, 0, []))).toBe('NaN');
    // A length that disagrees with ndigits is malformed.
    expect(numericBinaryToText(numeric(0, 0, 0, [1]).subarray(0, 9))).toBeUndefined();
  });
});

describe('bytea hex', () => {
  it('round-trips and refuses escape format and odd input', () => {
    const bytes = Buffer.from('4111111111111111');
    expect(byteaHexToBytes(bytesToByteaHex(bytes))).toEqual(bytes);
    expect(byteaHexToBytes('abc')).toBeUndefined();
    expect(byteaHexToBytes('\\x4')).toBeUndefined();
    expect(byteaHexToBytes('\\xzz')).toBeUndefined();
  });
});

describe('binary arrays and composites', () => {
  const element = fc.option(
    fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)),
    { nil: null },
  );

  it('arrays round-trip and hostile headers are refused', () => {
    fc.assert(
      fc.property(fc.array(element, { maxLength: 10 }), (elements) => {
        const header = Buffer.alloc(20);
        header.writeInt32BE(elements.length === 0 ? 0 : 1, 0);
        header.writeUInt32BE(25, 8);
        header.writeInt32BE(elements.length, 12);
        header.writeInt32BE(1, 16);
        const h = elements.length === 0 ? header.subarray(0, 12) : header;
        const encoded = encodeBinaryArray({ header: h, elementType: 25, hasNull: false, elements });
        const decoded = decodeBinaryArray(encoded);
        expect(decoded?.elements).toEqual(elements);
        expect(decoded?.hasNull).toBe(elements.includes(null));
      }),
    );
    const huge = Buffer.alloc(20);
    huge.writeInt32BE(1, 0);
    huge.writeInt32BE(0x7fffffff, 12);
    expect(decodeBinaryArray(huge)).toBeUndefined();
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (a) => void decodeBinaryArray(Buffer.from(a))));
  });

  it('composites round-trip', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ typeOid: fc.nat({ max: 0xffffffff }), value: element }), { maxLength: 8 }),
        (fields) => {
          expect(decodeBinaryComposite(encodeBinaryComposite(fields))).toEqual(fields);
        },
      ),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (a) => void decodeBinaryComposite(Buffer.from(a))),
    );
  });
});

describe('record text (record_out)', () => {
  it('parses what PostgreSQL prints', () => {
    expect(parseRecordText('(1,4111111111111111,a@example.com)')).toEqual([
      '1',
      '4111111111111111',
      'a@example.com',
    ]);
    expect(parseRecordText('(1,"Ada Lovelace",,"say ""hi"" \\\\ there","")')).toEqual([
      '1',
      'Ada Lovelace',
      null,
      'say "hi" \\ there',
      '',
    ]);
    expect(parseRecordText('not a record')).toBeUndefined();
    expect(parseRecordText('(1,"open)')).toBeUndefined();
  });

  it('formats what it parses', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.string({ maxLength: 12 }), { nil: null }), { minLength: 1, maxLength: 6 }),
        (fields) => {
          expect(parseRecordText(formatRecordText(fields))).toEqual(fields);
        },
      ),
    );
  });
});
