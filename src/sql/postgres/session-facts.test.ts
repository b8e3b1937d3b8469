// The facts the classifier reports about session state: settings a statement changes and the
// prepared statements and cursors it creates, uses or removes (the engine's model is built on them).
import { beforeAll, describe, expect, it } from 'vitest';
import { createPostgresClassifier, type PostgresClassifier } from './index.js';

let classifier: PostgresClassifier;
beforeAll(async () => {
  classifier = await createPostgresClassifier({ cacheSize: 0 });
});

const one = (sql: string) => {
  const c = classifier.classify(sql);
  expect(c.statements).toHaveLength(1);
  return c.statements[0]!;
};

describe('settings a statement changes', () => {
  it.each([
    ["SET client_encoding = 'SJIS'", [{ name: 'client_encoding', via: 'set', value: 'SJIS' }]],
    ["SET NAMES 'SJIS'", [{ name: 'client_encoding', via: 'set', value: 'SJIS' }]],
    [
      'SET LOCAL standard_conforming_strings TO off',
      [{ name: 'standard_conforming_strings', via: 'set', value: 'off', local: true }],
    ],
    [
      'SET standard_conforming_strings = 0',
      [{ name: 'standard_conforming_strings', via: 'set', value: '0' }],
    ],
    ['SET client_encoding TO DEFAULT', [{ name: 'client_encoding', via: 'reset' }]],
    ['RESET ALL', [{ name: '*', via: 'reset' }]],
    ['DISCARD ALL', [{ name: '*', via: 'reset' }]],
    [
      "SELECT set_config('standard_conforming_strings', 'off', false)",
      [{ name: 'standard_conforming_strings', via: 'set_config', value: 'off', local: false }],
    ],
    ['SELECT set_config(name, $1, false) FROM t', [{ name: '?', via: 'set_config', local: false }]],
    [
      "UPDATE pg_settings SET setting = 'off' WHERE name = 'standard_conforming_strings'",
      [{ name: '*', via: 'pg_settings' }],
    ],
    ["ALTER ROLE x SET client_encoding = 'SJIS'", [{ name: 'client_encoding', via: 'alter', value: 'SJIS' }]],
    [
      "CREATE FUNCTION f() RETURNS int LANGUAGE sql SET client_encoding = 'SJIS' AS 'select 1'",
      [{ name: 'client_encoding', via: 'nested', value: 'SJIS' }],
    ],
  ])('%s', (sql, expected) => {
    expect(one(sql).settings).toEqual(expected);
  });

  it('reports nothing for a plain query', () => {
    expect(one('SELECT 1').settings).toBeUndefined();
  });
});

describe('prepared statements and cursors', () => {
  it.each([
    ['PREPARE q AS SELECT 1', [{ kind: 'prepared', op: 'create', name: 'q' }]],
    ['EXECUTE q(1)', [{ kind: 'prepared', op: 'use', name: 'q' }]],
    ['EXPLAIN ANALYZE EXECUTE q', [{ kind: 'prepared', op: 'use', name: 'q' }]],
    ['EXPLAIN EXECUTE q', [{ kind: 'prepared', op: 'use', name: 'q' }]],
    ['CREATE TABLE t2 AS EXECUTE q', [{ kind: 'prepared', op: 'use', name: 'q' }]],
    ['DEALLOCATE q', [{ kind: 'prepared', op: 'drop', name: 'q' }]],
    ['DEALLOCATE ALL', [{ kind: 'prepared', op: 'drop', name: '*' }]],
    [
      'DECLARE c CURSOR WITH HOLD FOR SELECT 1',
      [{ kind: 'cursor', op: 'create', name: 'c', holdable: true }],
    ],
    ['DECLARE c CURSOR FOR SELECT 1', [{ kind: 'cursor', op: 'create', name: 'c' }]],
    ['FETCH ALL IN c', [{ kind: 'cursor', op: 'use', name: 'c' }]],
    ['MOVE ALL IN c', [{ kind: 'cursor', op: 'use', name: 'c' }]],
    ['CLOSE c', [{ kind: 'cursor', op: 'drop', name: 'c' }]],
    ['CLOSE ALL', [{ kind: 'cursor', op: 'drop', name: '*' }]],
    ['DELETE FROM t WHERE CURRENT OF c', [{ kind: 'cursor', op: 'use', name: 'c' }]],
    [
      'DISCARD ALL',
      [
        { kind: 'prepared', op: 'drop', name: '*' },
        { kind: 'cursor', op: 'drop', name: '*' },
      ],
    ],
  ])('%s', (sql, expected) => {
    expect(one(sql).sessionObjects).toEqual(expected);
  });
});

describe('parse errors', () => {
  it('carry the position PostgreSQL reports', () => {
    const c = classifier.classify('SELECT * FROM t WHERE');
    expect(c.parseError).toMatch(/syntax error/);
    expect(c.parseErrorPosition).toBe(21);
    expect(c.statements[0]!.parseErrorPosition).toBe(21);
  });
});
