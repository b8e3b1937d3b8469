// fast-check generators of text that is hard to lex the way PostgreSQL does: quotes and doubled
// quotes, backslashes, E'' escapes, U&'' with UESCAPE, dollar quotes with tags, nested comments, `--`
// at the very end, multibyte UTF-8, invalid bytes and multibyte sequences whose last byte is 0x5C,
// with semicolons and statements that write inside all of them. Used by test/differential.test.ts.

import fc from 'fast-check';

/** Statements a split in the wrong place would run; each writes, or tells (SELECT 2). */
export const INJECTIONS = [
  'DROP TABLE canary',
  'DELETE FROM canary',
  "INSERT INTO canary VALUES (99, 'x')",
  'UPDATE canary SET v = v',
  'TRUNCATE canary',
  'CREATE TABLE gh_new (a int)',
  'SELECT purge_canary()',
  'SELECT 2',
] as const;

/** Pieces that change how the text around them is read. */
const TRICKY = [
  "'",
  "''",
  '\\',
  "\\'",
  '\\\\',
  '"',
  '""',
  ';',
  '--',
  '-',
  '/*',
  '*/',
  '*',
  '$',
  '$$',
  '$a$',
  '$tag$',
  'E',
  'U&',
  ' UESCAPE ',
  '!',
  '\n',
  '\r',
  '\t',
  ' ',
  'x',
  '0',
  '\\x27',
  '\\047',
  '\\u0027',
  '\\U00000027',
  '\\0027',
  '\\+000027',
  '!0027',
  'é',
  '日本',
  '😀',
  '\u2028',
  '\u00a0',
  '\u3000',
  '\ufeff',
  'ｰ',
  '\u0085',
] as const;

const piece = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...TRICKY) },
  { weight: 2, arbitrary: fc.constantFrom(...INJECTIONS).map((s) => `; ${s}; `) },
  { weight: 1, arbitrary: fc.string({ maxLength: 4, unit: 'grapheme' }) },
);
const content = fc.array(piece, { maxLength: 6 }).map((p) => p.join(''));
const tag = fc.constantFrom('', 'a', 'tag', 'x_1', 'é');
const uescape = fc.constantFrom('!', '#', '\\', '+', "'", ' ', 'a', '"');

/** One value expression built around a literal, quoted identifier or comment. */
const expression = fc.oneof(
  content.map((c) => `'${c.replaceAll("'", "''")}'`), // a valid standard string
  content.map((c) => `'${c}'`), // raw: may end early, or never
  content.map((c) => `E'${c}'`),
  content.map((c) => `e'${c.replaceAll("'", "\\'")}'`),
  fc.tuple(content, fc.option(uescape)).map(([c, u]) => `U&'${c}'${u === null ? '' : ` UESCAPE '${u}'`}`),
  fc.tuple(tag, content).map(([t, c]) => `$${t}$${c}$${t}$`),
  content.map((c) => `1 /*${c}*/`),
  content.map((c) => `/* ${c} /* ${c} */ */ 2`),
  content.map((c) => `3 --${c}\n`),
  content.map((c) => `4 AS "${c.replaceAll('"', '""')}"`),
  content.map((c) => `U&"${c}"`),
  fc.constantFrom('1', 'NULL', 'now()', "'x'::text", '$1'),
);

/** `SELECT` with tricky expressions, then maybe a statement after a semicolon, and a tail. */
export const trickySelect: fc.Arbitrary<string> = fc
  .tuple(
    fc.array(expression, { minLength: 1, maxLength: 3 }),
    fc.option(fc.constantFrom(...INJECTIONS)),
    fc.constantFrom('', ';', ' --', ' -- x', '\n--', ' /* c */', ' /*', ';;'),
  )
  .map(([exprs, injected, tail]) => `SELECT ${exprs.join(', ')}${injected ? `; ${injected}` : ''}${tail}`);

/** Tricky pieces and statements in any order: mostly unparsable, which both sides must agree on. */
export const lexerSoup: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      { weight: 5, arbitrary: piece },
      { weight: 2, arbitrary: fc.constantFrom('SELECT ', 'SELECT 1', ...INJECTIONS) },
    ),
    { minLength: 1, maxLength: 10 },
  )
  .map((p) => p.join(''));

/** Byte sequences that are not UTF-8, or that end in 0x5C (a backslash) in SJIS, BIG5 or GBK. */
const HOSTILE_BYTES: readonly number[][] = [
  [0xff],
  [0x80],
  [0xc3],
  [0xe6, 0x97],
  [0xc0, 0xaf],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0x95, 0x5c],
  [0x83, 0x5c],
  [0xa5, 0x5c],
  [0x81, 0x5c],
  [0x5c],
  [0xc2, 0xa0],
];

/** A tricky text with hostile bytes spliced in anywhere, even inside a multibyte character. */
export const trickyBytes: fc.Arbitrary<Buffer> = fc
  .tuple(
    fc.oneof(trickySelect, lexerSoup),
    fc.array(fc.tuple(fc.constantFrom(...HOSTILE_BYTES), fc.nat()), { minLength: 1, maxLength: 3 }),
  )
  .map(([text, splices]) => {
    let bytes = Buffer.from(text, 'utf8');
    for (const [insert, at] of splices) {
      const i = at % (bytes.length + 1);
      bytes = Buffer.concat([bytes.subarray(0, i), Buffer.from(insert), bytes.subarray(i)]);
    }
    return bytes;
  });

/** Texts a client may send before a tricky one, to move the settings the lexer depends on. */
export const SETTING_MOVES = [
  'SET standard_conforming_strings = off',
  "SELECT set_config('standard_conforming_strings', 'off', false)",
  "SET client_encoding = 'SJIS'",
  'SET backslash_quote = on',
  'SELECT sneaky_strings()',
  'SET escape_string_warning = off',
  'SET standard_conforming_strings = on',
  'RESET ALL',
  'SELECT 1',
] as const;
