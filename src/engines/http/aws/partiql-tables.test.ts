import { describe, expect, it } from 'vitest';
import { partiqlStatements, partiqlTables } from './partiql-tables.js';

describe('partiqlTables (class 55)', () => {
  it.each([
    [`SELECT * FROM "secrets" WHERE id = '1'`, ['secrets']],
    [`select * from secrets`, ['secrets']],
    [`SELECT * FROM "orders"."byEmail" WHERE email = ?`, ['orders']],
    [`INSERT INTO "app-orders" VALUE {'id': '1', 'note': 'FROM secrets'}`, ['app-orders']],
    [`UPDATE "t" SET v = 'x' WHERE id = '1'`, ['t']],
    [`DELETE FROM "a""b" WHERE id = '1'`, ['a"b']],
    [`SELECT "from" FROM t`, ['t']],
    [`SELECT * FROM t WHERE EXISTS(SELECT * FROM "u" WHERE x = 1)`, ['t', 'u']],
    ['SELECT * FROM t WHERE v = `{a: 1}`', ['t']],
  ])('%s → %j', (statement, tables) => {
    expect(partiqlTables(statement)).toEqual(tables);
  });

  it.each([
    [`SELECT * FROM "unterminated`],
    [`SELECT * FROM t WHERE v = 'x`],
    [`SELECT * FROM t -- comment`],
    [`SELECT * /* c */ FROM t`],
    [`SELECT * FROM (x)`],
    [`SELECT 1`],
    [''],
  ])('%s is not read', (statement) => {
    expect(partiqlTables(statement)).toBeUndefined();
  });

  it('finds the statements of each PartiQL operation, in any case', () => {
    expect(partiqlStatements('ExecuteStatement', { Statement: 'a' })).toEqual(['a']);
    expect(partiqlStatements('EXECUTESTATEMENT', { Statement: 'a' })).toEqual(['a']);
    expect(
      partiqlStatements('BatchExecuteStatement', { Statements: [{ Statement: 'a' }, { Statement: 'b' }] }),
    ).toEqual(['a', 'b']);
    expect(partiqlStatements('ExecuteTransaction', { TransactStatements: [{ Statement: 'a' }] })).toEqual([
      'a',
    ]);
    expect(partiqlStatements('GetItem', { Statement: 'a' })).toEqual([]);
  });
});
