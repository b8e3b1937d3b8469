import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createDetectorSet } from './detector-set.js';
import { textFieldSpans } from './text-fields.js';
import { bytesFeatures, F_FIELDS, mayNameFields, textFeatures } from './text-features.js';

const ascii = (s: string): number[] => [...Buffer.from(s, 'latin1')];

/**
 * Byte pieces that exercise every branch of the pre-filter: each character class, the separators a
 * digit chain allows, the characters that set a bit, token-prefix letters, valid multibyte UTF-8
 * (2, 3 and 4 bytes) and invalid UTF-8 (lone continuation bytes, bytes never valid, truncated and
 * overlong sequences, an encoded surrogate, a BOM).
 */
const piece = fc.oneof(
  fc.constantFrom(...'0123456789'.split('').map(ascii)),
  fc.constantFrom(...'@$-+/%_ .()\t\n,:;=#*"\\'.split('').map(ascii)),
  fc.constantFrom(...'AaBbGgXxSsRrWwEeKkZz'.split('').map(ascii)),
  fc.constantFrom(
    [0xc3, 0xa9], // é
    [0xc2, 0xa0], // no-break space (white space to String#trim)
    [0xe2, 0x82, 0xac], // €
    [0xe3, 0x80, 0x80], // ideographic space
    [0xf0, 0x9f, 0x98, 0x80], // an emoji: a surrogate pair
    [0xef, 0xbb, 0xbf], // BOM
    [0x80],
    [0xbf],
    [0xc0],
    [0xc1],
    [0xf5],
    [0xff],
    [0xe2, 0x82], // truncated
    [0xf0, 0x9f, 0x98], // truncated
    [0xc0, 0xaf], // overlong '/'
    [0xc1, 0x80], // overlong '@'
    [0xe0, 0x80, 0xb0], // overlong '0'
    [0xed, 0xa0, 0x80], // an encoded surrogate
    [0xf4, 0x90, 0x80, 0x80], // beyond U+10FFFF
  ),
  // Long runs: digit chains, tokens, base64 runs, dashes, spaces.
  fc
    .tuple(fc.constantFrom('1', 'a', 'A', '-', ' ', '+', 'x', '_', '/'), fc.integer({ min: 2, max: 50 }))
    .map(([c, n]) => ascii(c.repeat(n))),
  fc.constantFrom(
    ...[
      '4111 1111 1111 1111',
      '(415) 555-0123',
      '+44 20 7946 0958',
      'DE89 3704 0044 0532 0130 00',
      'alice@example.com',
      'AKIAIOSFODNN7EXAMPLE',
      `ghp_${'aB3'.repeat(12)}`,
      'eyJhbGciOiJIUzI1NiJ9',
      '-----BEGIN',
      '$2b$12$',
      'NDExMTExMTExMTExMTExMQ==',
    ].map((s) => [...Buffer.from(s, 'utf8')]),
  ),
  fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 6 }),
);
const bytes = fc.oneof(
  fc.array(piece, { maxLength: 24 }).map((ps) => Buffer.from(ps.flat())),
  fc.uint8Array({ maxLength: 120 }).map((a) => Buffer.from(a)),
);

describe('bytesFeatures', () => {
  it('is textFeatures of the UTF-8 decoded bytes, for any bytes (valid UTF-8 or not)', () => {
    fc.assert(
      fc.property(bytes, (b) => {
        expect(bytesFeatures(b, 0, b.length)).toBe(textFeatures(b.toString('utf8')));
      }),
      { numRuns: 20_000 },
    );
  });

  it('looks only at the range it is given', () => {
    fc.assert(
      fc.property(bytes, fc.nat(), fc.nat(), (b, x, y) => {
        const start = b.length === 0 ? 0 : x % (b.length + 1);
        const end = start + (b.length === 0 ? 0 : y % (b.length - start + 1));
        expect(bytesFeatures(b, start, end)).toBe(textFeatures(b.toString('utf8', start, end)));
      }),
      { numRuns: 5_000 },
    );
  });

  it('agrees on the cases the argument for it rests on', () => {
    const cases = [
      Buffer.alloc(0),
      Buffer.from('          '), // the all-spaces shortcut of textFeatures
      Buffer.from([0x20, 0xc2, 0xa0, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20]), // trimmed by String#trim
      Buffer.from('4111\xff1111 1111 1111', 'latin1'), // an invalid byte breaks a digit chain
      Buffer.from('41111111\xc311111', 'latin1'), // a truncated sequence followed by ASCII
      Buffer.from('ghp_aaaaaaaaaaaaaaaaaaaa\xe2\x82', 'latin1'),
      Buffer.from('a\xc1\x80b.c', 'latin1'), // an overlong '@' is not an '@'
      Buffer.from('a\xc0\x80b\xc0\xa4', 'latin1'), // nor are an overlong NUL and an overlong '$'
      Buffer.from('    \n     '), // the all-spaces shortcut, with a line break inside (F_FIELDS)
      Buffer.from('    \r\u00a0    '),
    ];
    for (const b of cases) expect(bytesFeatures(b, 0, b.length)).toBe(textFeatures(b.toString('utf8')));
  });
});

describe('F_FIELDS', () => {
  // Every key is sensitive here: F_FIELDS unset must mean no reader of text-fields.ts finds a value.
  const anyKey = (): string => 'k';
  const fieldPiece = fc.oneof(
    fc.constantFrom(...'=:"\'\n\r\t ,;|#-{}[]&?%<>/.()\0'.split('')),
    fc.constantFrom(
      'key',
      'password',
      'a',
      'Z9',
      '_x',
      'sep=',
      'é',
      '\u00a0',
      '\\"',
      '|',
      '12',
      '</',
      '&#107;',
    ),
    fc.constantFrom('&quot;', '%22', '%6b', '\\u006b', '\\x6b', '&#x6b;'),
    fc.string({ maxLength: 4 }),
  );
  const text = fc.array(fieldPiece, { maxLength: 30 }).map((a) => a.join(''));

  it('is set wherever text-fields.ts would find a value', () => {
    fc.assert(
      fc.property(text, (t) => {
        if ((textFeatures(t) & F_FIELDS) === 0) expect(textFieldSpans(t, anyKey)).toEqual([]);
      }),
      { numRuns: 30_000 },
    );
  });

  it('mayNameFields says what the bit says, for any text', () => {
    fc.assert(
      fc.property(fc.oneof(text, fc.string({ maxLength: 40 })), (t) => {
        expect(mayNameFields(t)).toBe((textFeatures(t) & F_FIELDS) !== 0);
      }),
      { numRuns: 30_000 },
    );
    for (const t of ['          ', '    \n     ', ':', 'a:', ':a', '\n', '\na', 'x\r'])
      expect(mayNameFields(t)).toBe((textFeatures(t) & F_FIELDS) !== 0);
  });

  it('without tables, line breaks do not count, and no reader finds a value where mayNameFields says no', () => {
    fc.assert(
      fc.property(text, (t) => {
        if (!mayNameFields(t, { tables: false }))
          expect(textFieldSpans(t, anyKey, { tables: false })).toEqual([]);
      }),
      { numRuns: 30_000 },
    );
    expect(mayNameFields('drwxr-xr-x 2 root 23:05 a\nb c', { tables: false })).toBe(false);
    expect(mayNameFields('drwxr-xr-x 2 root 23:05 a\nb c')).toBe(true);
    expect(mayNameFields('key:\n  value', { tables: false })).toBe(true);
  });

  it('is unset for text without = , a key-ending : or a line inside it', () => {
    for (const t of [
      'customer 42',
      'user42@example.com',
      'order shipped to warehouse 7',
      'at 12:30',
      '12:30:05 1:2',
      'end\n',
    ])
      expect(textFeatures(t) & F_FIELDS).toBe(0);
    // A key-like run that starts with a letter, ended by `:` (class 240), and an XML start tag (241).
    for (const t of [
      'a=b',
      'password: x',
      '"k":1',
      'k :v',
      'h,password\nbob,x',
      'h\rb',
      'key:',
      'x token:1',
      'a.2fa:1',
      '<password>',
      'http://x',
    ])
      expect(textFeatures(t) & F_FIELDS).toBe(F_FIELDS);
  });
});

describe('DetectorSet.couldMatchBytes', () => {
  const sets = {
    all: createDetectorSet(),
    email: createDetectorSet({ enabled: ['email'] }),
    numbers: createDetectorSet({ enabled: ['credit_card', 'ssn'], encoded: false }),
    none: createDetectorSet({ enabled: [] }),
  };

  it('says no only when scanning the decoded text finds nothing', () => {
    fc.assert(
      fc.property(bytes, (b) => {
        for (const set of Object.values(sets)) {
          if (!set.couldMatchBytes(b, 0, b.length)) expect(set.scan(b.toString('utf8'))).toEqual([]);
        }
      }),
      { numRuns: 5_000 },
    );
  });

  it('lets through every sig= value the SAS detector masks: 16 characters and more, `=` anywhere', () => {
    const unfiltered = createDetectorSet({ prefilter: false });
    for (const text of [
      'sig=abcdefghijklmnop',
      '?sv=1&sig=abcdefghijklmnopqrs',
      'sig=abcdefgh=ijklmnopqrs',
      'sig=AAAAAAAAAAAAAAAAAAA=AAAAAAAAAAAAAAAAAAA',
    ]) {
      const b = Buffer.from(text);
      expect(unfiltered.scan(text).map((f) => f.detector)).toEqual(['azure_sas_signature']);
      expect(sets.all.couldMatchBytes(b, 0, b.length)).toBe(true);
      expect(sets.all.scan(text)).toEqual(unfiltered.scan(text));
    }
  });

  it('says maybe whenever the pre-filter is off or a stage runs whatever the text', () => {
    const b = Buffer.from('nothing here');
    expect(sets.all.couldMatchBytes(b, 0, b.length)).toBe(false);
    expect(createDetectorSet({ prefilter: false }).couldMatchBytes(b, 0, b.length)).toBe(true);
    expect(
      createDetectorSet({ custom: [{ name: 'ticket', pattern: 'here' }] }).couldMatchBytes(b, 0, b.length),
    ).toBe(true);
    expect(
      createDetectorSet({ dictionaries: [{ name: 'words', words: ['here'] }] }).couldMatchBytes(
        b,
        0,
        b.length,
      ),
    ).toBe(true);
    expect(sets.none.couldMatchBytes(Buffer.from('a@b.cd'), 0, 6)).toBe(false);
  });
});
