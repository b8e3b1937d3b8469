import { describe, expect, it } from 'vitest';
import { PgParserRuntime } from './pg-parser-runtime.js';

const bytes = (text: string) => Buffer.from(text, 'utf8');
const overflow = bytes('SELECT ' + Array(20_000).fill('a').join(' + '));

describe('PgParserRuntime', () => {
  it('returns the parse tree, syntax errors with their character position, and scanner tokens', async () => {
    const runtime = await PgParserRuntime.create();
    const ok = runtime.parse(bytes('SELECT 1; DROP TABLE t'));
    expect(ok.ok).toBe(true);
    expect(JSON.parse((ok as { json: string }).json).stmts).toHaveLength(2);
    expect(runtime.parse(bytes("SELECT 'é' FROM WHERE"))).toEqual({
      ok: false,
      message: 'syntax error at or near "WHERE"',
      cursorPosition: 16, // code points, as PostgreSQL reports positions
    });
    const scan = runtime.scan(bytes("SELECT 'é' /* c */"));
    expect(scan.ok && scan.tokens.map((t) => [t.tokenName, t.start, t.end])).toEqual([
      ['UNKNOWN', 0, 6],
      ['SCONST', 7, 11],
      ['C_COMMENT', 12, 19],
    ]);
  });

  it('retires an instance that overflowed its stack and answers from the spare at once', async () => {
    const runtime = await PgParserRuntime.create();
    const crashed = runtime.parse(overflow);
    expect(crashed).toMatchObject({ ok: false, crashed: true });
    expect(runtime.replacements).toBe(1);
    // The spare answers immediately, correctly.
    const next = runtime.parse(bytes('DELETE FROM t WHERE id = 1'));
    expect(next.ok && JSON.parse(next.json).stmts[0].stmt.DeleteStmt.relation.relname).toBe('t');
  });

  it('fails closed while no instance is ready, then recovers', async () => {
    const runtime = await PgParserRuntime.create();
    runtime.parse(overflow);
    runtime.parse(overflow);
    expect(runtime.parse(bytes('SELECT 1'))).toMatchObject({
      ok: false,
      crashed: true,
      message: expect.stringMatching(/restarting/),
    });
    expect(runtime.fingerprint(bytes('SELECT 1'))).toBeUndefined();
    for (let i = 0; i < 100 && !runtime.parse(bytes('SELECT 1')).ok; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(runtime.parse(bytes('SELECT 1')).ok).toBe(true);
  });

  it('survives many overflows in a row without corrupting later parses', async () => {
    const runtime = await PgParserRuntime.create();
    for (let i = 0; i < 12; i++) {
      runtime.parse(overflow);
      await new Promise((resolve) => setTimeout(resolve, 1));
      const result = runtime.parse(bytes(`SELECT c${i} FROM t${i}`));
      if (result.ok) {
        const stmt = JSON.parse(result.json).stmts[0].stmt.SelectStmt;
        expect(stmt.fromClause[0].RangeVar.relname).toBe(`t${i}`);
      }
    }
  });
});
