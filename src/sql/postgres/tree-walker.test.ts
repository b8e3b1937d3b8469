import { describe, expect, it } from 'vitest';
import { categoriesOf } from './category-mask.js';
import { TreeWalker } from './tree-walker.js';

/** Walks a hand-built libpg-query tree: for shapes the real parser cannot be made to produce today. */
function walk(tree: unknown): { kind: string; categories: readonly string[]; tables: unknown[] } {
  const walker = new TreeWalker();
  const kind = walker.walkStatement(tree);
  return { kind, categories: categoriesOf(walker.categories), tables: walker.tables };
}

describe('TreeWalker fails closed', () => {
  it('gives an unrecognised statement type kind and category unknown', () => {
    expect(walk({ FutureStmt: { relation: { relname: 't' } } })).toMatchObject({
      kind: 'unknown',
      categories: ['unknown'],
    });
  });

  it('marks statements that only PL/pgSQL can produce as unknown', () => {
    expect(walk({ PLAssignStmt: { name: 'x' } }).categories).toEqual(['unknown']);
    expect(walk({ ReturnStmt: {} }).categories).toEqual(['unknown']);
  });

  it('adds unknown for a node type the parser release does not declare, and still walks inside it', () => {
    const tree = {
      SelectStmt: {
        targetList: [
          { BrandNewExpr: { arg: { FuncCall: { funcname: [{ String: { sval: 'pg_read_file' } }] } } } },
        ],
        op: 'SETOP_NONE',
      },
    };
    expect(walk(tree).categories).toEqual(['read', 'file-and-program', 'unknown']);
  });

  it('adds unknown where a Node is expected but the shape is not a one-key wrapper', () => {
    const tree = { SelectStmt: { whereClause: { A_Const: {}, Other: {} }, op: 'SETOP_NONE' } };
    expect(walk(tree).categories).toEqual(['read', 'unknown']);
  });

  it('adds unknown for a statement node nested where it has no rule', () => {
    expect(walk({ SelectStmt: { targetList: [{ NewStmt: {} }], op: 'SETOP_NONE' } }).categories).toEqual([
      'read',
      'unknown',
    ]);
  });

  it('never returns an empty category list', () => {
    expect(walk({ DeclareCursorStmt: { portalname: 'c' } }).categories).toEqual(['unknown']);
    expect(walk('not a node').categories).toEqual(['unknown']);
    expect(walk(null).categories).toEqual(['unknown']);
  });

  it('ignores NULL list entries (`{}`)', () => {
    const tree = { SelectStmt: { fromClause: [{ RangeVar: { relname: 't' } }, {}], op: 'SETOP_NONE' } };
    expect(walk(tree)).toEqual({ kind: 'select', categories: ['read'], tables: [{ name: 't' }] });
  });
});
