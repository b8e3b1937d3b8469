import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseSqlcommenter } from '../sql/postgres/sqlcommenter.js';
import { MAX_REASON_LENGTH, normaliseReason, sqlcommenter, withPromptComment } from './prompt-comment.js';

function pairsOf(text: string): Record<string, string> | undefined {
  const m = /\n\/\*(.*)\*\/$/s.exec(text);
  const parsed = m ? parseSqlcommenter(m[1]!) : undefined;
  return parsed ? Object.fromEntries(parsed) : undefined;
}

describe('sqlcommenter comments for tool calls', () => {
  it("round-trips through the classifier's parser, keys sorted", () => {
    expect(sqlcommenter({ reason: 'a b', gatehouse_tool: 'query' })).toBe(
      "/*gatehouse_tool='query',reason='a%20b'*/",
    );
    expect(
      pairsOf(withPromptComment('SELECT 1', { gatehouse_tool: 'query', reason: "it's */ -- /* odd" })),
    ).toEqual({
      gatehouse_tool: 'query',
      reason: "it's */ -- /* odd",
    });
  });

  it('never lets a value close the comment or open a nested one', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (reason) => {
        const c = sqlcommenter({ reason });
        const body = c.slice(2, -2);
        expect(body).not.toContain('*/');
        expect(body).not.toContain('/*');
        expect(Object.fromEntries(parseSqlcommenter(body)!)).toEqual({ reason });
      }),
    );
  });

  it('puts the comment on its own line, after a trailing line comment', () => {
    expect(withPromptComment('SELECT 1 -- note', { k: 'v' })).toBe("SELECT 1 -- note\n/*k='v'*/");
  });

  it('normalises reasons: control characters folded, length bounded', () => {
    expect(normaliseReason('  two\nlines\t ')).toBe('two lines');
    expect(normaliseReason('x'.repeat(5000))).toHaveLength(MAX_REASON_LENGTH);
  });
});
