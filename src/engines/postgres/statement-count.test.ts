import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPostgresClassifier, type PostgresClassifier } from '../../sql/postgres/postgres-classifier.js';
import { lexerSoup, trickySelect } from '../../../test/testkit/lexer-arbitraries.js';
import { statementsAtLeast } from './statement-count.js';

let classifier: PostgresClassifier;
beforeAll(async () => {
  classifier = await createPostgresClassifier({ cacheSize: 0 });
});

/** The statements PostgreSQL's grammar reads in `text`, or undefined when it does not parse. */
function parsed(text: string): number | undefined {
  const { statements } = classifier.classify(text);
  return statements.some((s) => s.parseError !== undefined) ? undefined : statements.length;
}

describe('statementsAtLeast', () => {
  it.each<[string, number]>([
    ['', 0],
    ['   ', 0],
    ['SELECT 1', 1],
    ['SELECT 1;', 1],
    ['SELECT 1;;; ;', 1],
    ['SELECT 1; SELECT 2', 2],
    ["SELECT ';'; SELECT 'it''s;'", 2],
    ["SELECT E'\\';'; SELECT 2", 2],
    ['SELECT $$;$$; SELECT $a$ $$; $a$', 2],
    ['SELECT 1 -- ;\n; SELECT 2', 2],
    ['SELECT /* ; /* ; */ ; */ 1; SELECT 2', 2],
    ['SELECT 1 AS "a;""b"; SELECT 2', 2],
    ["SELECT U&'d\\0061t\\+000061;'; SELECT 2", 2],
    ['SELECT $1; SELECT a$b$c; SELECT 3', 3],
    ['CREATE RULE r AS ON INSERT TO t DO ALSO (SELECT 1; SELECT 2); SELECT 3', 2],
    ['/* only a comment */ ; -- and this', 0],
  ])('%j: %i', (text, n) => {
    expect(statementsAtLeast(text)).toBe(n);
  });

  it('stops at what it does not read as the server does, and at its bounds', () => {
    // A BEGIN ATOMIC body holds semicolons of its own statements: nothing is counted from there.
    expect(
      statementsAtLeast(
        'SELECT 1; CREATE FUNCTION f() RETURNS int BEGIN ATOMIC SELECT 1; SELECT 2; END; SELECT 3',
      ),
    ).toBe(1);
    expect(statementsAtLeast("SELECT 1; SELECT 'never ends; SELECT 2; SELECT 3")).toBe(1);
    expect(statementsAtLeast('SELECT 1; SELECT /* never ends; SELECT 2')).toBe(1);
    expect(statementsAtLeast('SELECT 1;'.repeat(100), 10)).toBe(11);
    // Cut after 5 statements and part of the sixth: the part is not counted.
    expect(statementsAtLeast('SELECT 1;'.repeat(100), Infinity, 9 * 5 + 3)).toBe(5);
  });

  it('never counts more statements than PostgreSQL parses (generated tricky texts)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(trickySelect, lexerSoup), { minLength: 1, maxLength: 4 }), (parts) => {
        const text = parts.join('; ');
        const n = parsed(text);
        if (n === undefined) return;
        expect(statementsAtLeast(text)).toBeLessThanOrEqual(n);
      }),
      { numRuns: 3000 },
    );
  });

  it('counts exactly what PostgreSQL parses in ordinary scripts', () => {
    const script = [
      "INSERT INTO t VALUES (1, 'a;b')",
      "UPDATE t SET v = E'x\\'y;' WHERE id = 2",
      'CREATE FUNCTION g() RETURNS int LANGUAGE sql AS $body$ SELECT 1; $body$',
      'DO $$ BEGIN PERFORM 1; END $$',
      "SELECT count(*) FROM t WHERE v ~ ';' -- trailing; comment",
    ];
    for (let k = 1; k <= script.length; k++) {
      const text = script.slice(0, k).join(';\n');
      expect(statementsAtLeast(text)).toBe(parsed(text));
    }
  });
});
