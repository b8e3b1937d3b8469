import { describe, expect, it } from 'vitest';
import { createPostgresClassifier } from '../../sql/postgres/postgres-classifier.js';
import { asUserCode, mayBeOverloaded, overloadedCalls } from './overloaded-builtins.js';

const classifier = await createPostgresClassifier();
const one = (sql: string) => classifier.classify(sql).statements[0]!;
const names = { functions: new Set(['lower', 'my_fn']), operators: new Set(['+', '=']) };

describe('overloaded built-in names (class 125)', () => {
  it('finds unqualified built-ins and operators, written or implied, that user code is defined under', () => {
    expect(overloadedCalls(one('SELECT lower(1)'), names)).toEqual(['lower()']);
    expect(overloadedCalls(one('SELECT pg_catalog.lower(1)'), names)).toEqual([]);
    expect(overloadedCalls(one("SELECT 'a' + 'b'"), names)).toEqual(['operator +']);
    expect(overloadedCalls(one("SELECT 'a' OPERATOR(pg_catalog.+) 'b'"), names)).toEqual([]);
    expect(overloadedCalls(one('SELECT 1 WHERE 1 IN (2)'), names)).toEqual(['operator =']);
    expect(overloadedCalls(one('SELECT CASE 1 WHEN 2 THEN 3 END'), names)).toEqual(['operator =']);
    expect(overloadedCalls(one('SELECT NULLIF(1, 2)'), names)).toEqual(['operator =']);
    expect(overloadedCalls(one('SELECT * FROM a JOIN b USING (k)'), names)).toEqual(['operator =']);
    expect(overloadedCalls(one('SELECT * FROM a NATURAL JOIN b'), names)).toEqual(['operator =']);
    expect(overloadedCalls(one('SELECT 1 WHERE 1 IN (SELECT 2)'), names)).toEqual(['operator =']);
    expect(one('SELECT 1 WHERE 1 BETWEEN 0 AND 2').operators).toEqual(['<', '<=', '>', '>=']);
    expect(one('SELECT 1 FROM t ORDER BY a USING >').operators).toEqual(['>']);
    expect(overloadedCalls(one('SELECT length(x) FROM t WHERE x > 1'), names)).toEqual([]);
    expect(overloadedCalls(one('SELECT length(x) FROM t WHERE x > 1'), 'every')).toEqual([
      'length()',
      'operator >',
    ]);
    expect(overloadedCalls(one('SELECT t.my_fn, (t).my_fn, t.x FROM t'), names)).toEqual([
      '.my_fn (a call of function my_fn in field notation)',
    ]);
    expect(one('SELECT s.t.a, (t).b, t.* FROM s.t').fields).toEqual(['a', 'b']);
    expect(mayBeOverloaded(one('SELECT x FROM t'))).toBe(false);
    expect(mayBeOverloaded(one('SELECT x FROM t WHERE id = 1'))).toBe(true);
  });

  it('makes an operator named in a schema other than pg_catalog procedural without the catalog', () => {
    expect(one("SELECT 'a' OPERATOR(public.+) 'b'").categories).toContain('procedural');
    expect(one("SELECT 'a' OPERATOR(pg_catalog.||) 'b'").categories).not.toContain('procedural');
    expect(asUserCode(one('SELECT lower(1)')).categories).toEqual(['read', 'procedural']);
  });
});
