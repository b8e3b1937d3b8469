import { beforeAll, describe, expect, it } from 'vitest';
import { describeText } from './describe-text.js';
import type { PgParserRuntime } from './pg-parser-runtime.js';
import { sharedParserRuntime } from './postgres-classifier.js';

let runtime: PgParserRuntime;
beforeAll(async () => {
  runtime = await sharedParserRuntime();
});
const squash = (s: string | undefined) => s?.replace(/\s+/g, ' ').trim();

describe('describeText', () => {
  it('replaces every string literal with NULL, and a typed literal with a CAST of NULL', () => {
    expect(squash(describeText(runtime, "DELETE FROM items WHERE tags = '{x}' OR p = '(a,1)'::pair"))).toBe(
      'DELETE FROM items WHERE tags = NULL OR p = NULL ::pair',
    );
    expect(
      squash(describeText(runtime, "SELECT now() - interval '1 day', E'\\n', $q$z$q$, U&'d\\0061'")),
    ).toBe('SELECT now() - CAST(NULL AS interval) , NULL , NULL , NULL');
    expect(
      squash(describeText(runtime, "SELECT CAST('x' AS text), 'a'\n'b', extract(year FROM now()), $1")),
    ).toBe('SELECT CAST( NULL AS text), NULL , extract(year FROM now()), $1');
    expect(squash(describeText(runtime, 'SELECT 1, $1::int'))).toBe('SELECT 1, $1::int');
    expect(squash(describeText(runtime, 'SELECT \'é\' || "é" FROM t'))).toBe('SELECT NULL || "é" FROM t');
  });

  it('gives nothing where a literal cannot be taken out', () => {
    for (const text of [
      "SELECT interval '1' day",
      "SELECT U&'d!0061' UESCAPE '!'",
      "SET search_path = 'x'",
      "COMMENT ON TABLE t IS 'x'",
      "SELECT 1; SELECT 'a'",
      'not sql',
      `SELECT '${'x'.repeat(20_000)}'`,
    ])
      expect(describeText(runtime, text), text).toBeUndefined();
  });
});
