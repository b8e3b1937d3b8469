import { loadModule } from 'libpg-query';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SqlStatement } from '../../core/sql-statement.js';
import { buildCount, explainText } from './impact-preview.js';

beforeAll(async () => {
  await loadModule();
});

const st = (text: string, kind: string, functions: string[] = []): SqlStatement => ({
  text,
  kind,
  categories: ['write'],
  tables: [],
  functions,
});

describe('buildCount', () => {
  it("rebuilds the count from the statement's own target and WHERE", () => {
    expect(buildCount(st('DELETE FROM items WHERE id = 3', 'delete'))).toEqual({
      sql: 'SELECT count(*) FROM "items" WHERE id = 3\n',
      paramCount: 0,
      unusedParams: [],
    });
    const u = buildCount(
      st(
        `UPDATE ONLY app.items AS i SET name = (SELECT 'x' WHERE true) WHERE i.id = $2 AND name <> 'where' RETURNING id`,
        'update',
      ),
    );
    expect(u).toEqual({
      sql: `SELECT count(*) FROM ONLY "app"."items" AS "i" WHERE i.id = $2 AND name <> 'where'\n`,
      paramCount: 2,
      unusedParams: [1],
    });
  });

  it('counts every row of an unbounded write', () => {
    expect(buildCount(st('DELETE FROM items', 'delete'))).toMatchObject({
      sql: 'SELECT count(*) FROM "items"',
    });
  });

  it('is not fooled by WHERE in comments, strings, quoted names or non-ASCII text', () => {
    expect(
      buildCount(st(`DELETE FROM "tä" /* where 1=1 */ WHERE "where" = 'é where' -- where`, 'delete')),
    ).toMatchObject({
      sql: `SELECT count(*) FROM "tä" WHERE "where" = 'é where' -- where\n`,
    });
  });

  it('skips what it cannot rebuild safely', () => {
    expect(
      buildCount(st('WITH x AS (SELECT 1) DELETE FROM items WHERE id IN (SELECT * FROM x)', 'delete')),
    ).toHaveProperty('skipped');
    expect(
      buildCount(st('DELETE FROM items USING other WHERE items.id = other.id', 'delete')),
    ).toHaveProperty('skipped');
    expect(
      buildCount(st('UPDATE items SET a = 1 FROM other WHERE items.id = other.id', 'update')),
    ).toHaveProperty('skipped');
    expect(buildCount(st('DELETE FROM items WHERE CURRENT OF c', 'delete'))).toHaveProperty('skipped');
    expect(buildCount(st('SELECT 1', 'select'))).toHaveProperty('skipped');
    const fn = buildCount(
      st('DELETE FROM items WHERE pg_terminate_backend(id)', 'delete', ['pg_terminate_backend']),
    );
    expect(fn).toEqual({ skipped: 'count(*) skipped: the statement calls pg_terminate_backend' });
    expect(
      buildCount(st('DELETE FROM items WHERE lower(name) = $1', 'delete', ['lower'])),
    ).not.toHaveProperty('skipped');
  });
});

describe('explainText', () => {
  it('wraps one statement in a plain EXPLAIN', () => {
    expect(explainText('DELETE FROM items WHERE id = 1')).toBe('EXPLAIN DELETE FROM items WHERE id = 1');
  });
  it('refuses anything that would not be exactly one EXPLAIN without options', () => {
    expect(explainText('(ANALYZE) DELETE FROM items')).toBeUndefined();
    expect(explainText('DELETE FROM items; DROP TABLE items')).toBeUndefined();
    expect(explainText('ANALYZE items')).toBeUndefined();
  });
});
