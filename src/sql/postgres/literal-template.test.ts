import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { templateKey } from './literal-template.js';
import { createPostgresClassifier, type PostgresClassifier } from './postgres-classifier.js';

// The reference: the real PostgreSQL parser on every text, no cache of any kind.
let reference: PostgresClassifier;

beforeAll(async () => {
  reference = await createPostgresClassifier({ cacheSize: 0, templateCacheSize: 0 });
});

const fresh = () => createPostgresClassifier({ cacheSize: 0 });

describe('templateKey', () => {
  it('marks each integer constant standing alone, keeps the rest of the text', () => {
    const k = templateKey('SELECT abalance FROM pgbench_accounts WHERE aid = 48213;');
    expect(k?.runs).toEqual([{ at: 50, digits: '48213' }]);
    expect(k?.key).toBe('SELECT abalance FROM pgbench_accounts WHERE aid = \u0001;');
    expect(templateKey('SELECT abalance FROM pgbench_accounts WHERE aid = 7;')?.key).toBe(k?.key);
  });

  it('leaves digits that are part of another token in the key', () => {
    for (const text of [
      'SELECT t1.a FROM t1',
      'SELECT 1.5',
      'SELECT 1e5',
      'SELECT 0x1F',
      'SELECT 1_000',
      'SELECT 5abc',
      'SELECT .5',
    ])
      expect(templateKey(text), text).toBeUndefined();
    // `a1` and `2.5` stay as they are; the lone 3 is a run.
    expect(templateKey('SELECT a1, 2.5, 3 FROM t')?.key).toBe('SELECT a1, 2.5, \u0001 FROM t');
  });

  it('refuses texts whose scanning a digit could change: quotes, dollars, escapes, comments, non-ASCII, long runs', () => {
    for (const text of [
      "SELECT 1 WHERE a = 'x'",
      'SELECT 1 FROM "t"',
      'SELECT $1, 2',
      'SELECT $$1$$',
      'SELECT 1 -- c',
      'SELECT 1 /* c */',
      'SELECT 1 \\g',
      'SELECT `1`',
      'SELECT 1 FROM tä',
      'SELECT 1\u0000',
      'SELECT 1234567890',
    ])
      expect(templateKey(text), text).toBeUndefined();
  });
});

// Statements with `#` where an integer constant goes; several are hostile on purpose (the grammar
// reads the integer itself, or the classification reads constants, or the digits join another token).
const SHAPES = [
  'SELECT abalance FROM pgbench_accounts WHERE aid = #',
  'SELECT abalance FROM pgbench_accounts WHERE aid = #;',
  '  select * from t where a = # and b < # order by # limit # offset #  ;;',
  'SELECT a[#] FROM t',
  'SELECT ARRAY[#, #]',
  'SELECT #::int, #::varchar(#), CAST(# AS numeric(#, #))',
  'SELECT CAST(a AS float(#)) FROM t',
  'SELECT CAST(a AS int[#]) FROM t',
  'SELECT -#, - #, +#',
  'SELECT #e5, #.#, #_000, 0x#, #abc, x#',
  'SELECT * FROM t TABLESAMPLE SYSTEM (#)',
  'SELECT pg_sleep(#)',
  'SELECT pg_terminate_backend(#)',
  'SELECT * FROM generate_series(#, #) g',
  'SELECT a FROM t GROUP BY # HAVING count(*) > # ORDER BY #',
  'SELECT a FROM t FETCH FIRST # ROWS ONLY',
  'INSERT INTO t (a, b) VALUES (#, #), (#, #)',
  'UPDATE t SET a = a + # WHERE id = #',
  'UPDATE t SET a = #',
  'DELETE FROM t WHERE # = #',
  'DELETE FROM t WHERE id = # OR # = #',
  'DELETE FROM t WHERE id IN (SELECT id FROM u LIMIT #)',
  'EXPLAIN (ANALYZE #) DELETE FROM t WHERE id = #',
  'EXPLAIN SELECT * FROM t WHERE id = #',
  'FETCH # FROM c',
  'MOVE # IN c',
  'SET statement_timeout = #',
  'SET LOCAL lock_timeout TO #',
  'SELECT set_config(#, #, false)',
  'SELECT # ; DROP TABLE t',
  'SELECT #; SELECT #',
  'VACUUM (FULL #) t',
  'CREATE TABLE t# (a varchar(#))',
  'ALTER TABLE t ALTER COLUMN a SET STATISTICS #',
  'PREPARE p AS SELECT #',
  'EXECUTE p(#)',
  'DECLARE c CURSOR FOR SELECT #',
  'LOCK TABLE t IN ACCESS EXCLUSIVE MODE; SELECT #',
  'COPY (SELECT #) TO STDOUT',
  'WITH x AS (DELETE FROM t WHERE id = # RETURNING *) SELECT * FROM x',
  'SELECT * FROM t WHERE a = ANY(ARRAY[#, #]) FOR UPDATE',
  'SELECT * FROM t1, t2 WHERE t1.a = t2.b + #',
  'SELECT # FROM (VALUES (#), (#)) v(x)',
  'SELECT #)',
  'SELECT * FROM t WHERE',
  'SELECT # #',
  'SELECT # FROM t WHERE a = # UNION SELECT # FROM pg_shadow',
  'SELECT lo_import(#)',
  'SELECT a FROM t WINDOW w AS (ROWS BETWEEN # PRECEDING AND # FOLLOWING)',
  'SELECT INTERVAL(#) # ',
  'SELECT * FROM t LIMIT ALL OFFSET #',
  'BEGIN; SELECT #',
  'SELECT\t#\n,\r\n#',
];

const digits = fc.oneof(
  fc.integer({ min: 0, max: 999_999_999 }).map(String),
  fc.constantFrom('0', '00', '007', '999999999', '000000001', '2147483647', '21474836470', '1'),
);

function render(shape: string, values: readonly string[]): string {
  let i = 0;
  return shape.replace(/#/g, () => values[i++ % values.length]!);
}

describe('a templated classification is the full classification of the same text', () => {
  it('holds for every shape, whatever constants came first', async () => {
    const templated = await fresh();
    fc.assert(
      fc.property(
        fc.constantFrom(...SHAPES),
        fc.array(digits, { minLength: 1, maxLength: 8 }),
        fc.array(digits, { minLength: 1, maxLength: 8 }),
        (shape, first, second) => {
          const a = render(shape, first);
          const b = render(shape, second);
          expect(templated.classify(a)).toEqual(reference.classify(a));
          expect(templated.classify(b)).toEqual(reference.classify(b));
        },
      ),
      { numRuns: 3000 },
    );
    // The shapes that may be templated were (a sanity check that the property exercised the cache).
    expect(templated.templateStats().hits).toBeGreaterThan(500);
  });

  it('holds for generated token soups (identifiers, keywords, operators, punctuation, constants)', async () => {
    const templated = await fresh();
    const token = fc.oneof(
      fc.constantFrom(
        'SELECT',
        'FROM',
        'WHERE',
        'AND',
        'OR',
        'NOT',
        'LIMIT',
        'OFFSET',
        'ORDER',
        'BY',
        'GROUP',
        'UPDATE',
        'SET',
        'DELETE',
        'INSERT',
        'INTO',
        'VALUES',
        'AS',
        'float',
        'int',
        'numeric',
        'CAST',
        't',
        'a',
        'b',
        'pg_sleep',
        'e',
        'x',
        'E',
        '_',
        '.',
        ',',
        '(',
        ')',
        '[',
        ']',
        '=',
        '<',
        '>',
        '+',
        '-',
        '*',
        '/',
        '%',
        '::',
        ';',
        '^',
        '|',
        '&',
        '#',
        '~',
        '!',
        '@',
        '?',
        ':',
        '-',
        '/',
      ),
      fc.constant('#N'),
    );
    const spacing = fc.constantFrom('', ' ', '  ', '\n', '\t');
    const soup = fc.array(fc.tuple(token, spacing), { minLength: 1, maxLength: 14 });
    fc.assert(
      fc.property(
        fc.constantFrom('SELECT ', 'DELETE FROM t WHERE ', 'UPDATE t SET a = ', 'INSERT INTO t VALUES ('),
        soup,
        fc.array(digits, { minLength: 1, maxLength: 6 }),
        fc.array(digits, { minLength: 1, maxLength: 6 }),
        (head, parts, first, second) => {
          const shape = head + parts.map(([t, s]) => (t === '#N' ? '#' : t) + s).join('');
          for (const values of [first, second]) {
            const text = render(shape, values);
            expect(templated.classify(text)).toEqual(reference.classify(text));
          }
        },
      ),
      { numRuns: 4000 },
    );
  });

  it('answers pgbench -S from one template and gives each statement its own text', async () => {
    const templated = await fresh();
    for (let aid = 1; aid <= 200; aid++) {
      const text = `SELECT abalance FROM pgbench_accounts WHERE aid = ${aid * 7919};`;
      const got = templated.classify(text);
      expect(got).toEqual(reference.classify(text));
      expect(got.statements[0]?.text).toBe(`SELECT abalance FROM pgbench_accounts WHERE aid = ${aid * 7919}`);
    }
    expect(templated.templateStats()).toEqual({ hits: 199, templates: 1 });
  });

  it('never templates what reads a constant or where the grammar takes the integer itself', async () => {
    const templated = await fresh();
    for (const shape of [
      'SET statement_timeout = #',
      'SELECT CAST(a AS float(#)) FROM t',
      'SELECT CAST(a AS int[#]) FROM t',
      'EXPLAIN (ANALYZE #) DELETE FROM t WHERE id = #',
      'SELECT -#',
      'FETCH # FROM c',
      'SELECT #; SELECT #',
      'CREATE TABLE t (a varchar(#))',
    ]) {
      templated.classify(render(shape, ['1']));
      templated.classify(render(shape, ['2']));
    }
    expect(templated.templateStats()).toEqual({ hits: 0, templates: 0 });
  });
});
