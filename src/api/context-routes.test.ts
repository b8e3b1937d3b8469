import { describe, expect, test } from 'vitest';
import { parseContextBody } from './context-routes.js';

describe('parseContextBody', () => {
  test('the plain form', () => {
    expect(parseContextBody({ session_id: 's', prompt: 'p', prompt_id: 'id', tool_use_id: 't' })).toEqual({
      kind: 'declare',
      hook: false,
      input: { agentSessionId: 's', prompt: 'p', promptId: 'id', toolUseId: 't' },
    });
  });

  test("Claude Code's UserPromptSubmit and PreToolUse hook input", () => {
    expect(
      parseContextBody({
        session_id: 's',
        transcript_path: '/t',
        cwd: '/',
        hook_event_name: 'UserPromptSubmit',
        prompt: 'fix it',
      }),
    ).toEqual({
      kind: 'declare',
      hook: true,
      input: { agentSessionId: 's', prompt: 'fix it' },
    });
    expect(
      parseContextBody({
        session_id: 's',
        hook_event_name: 'PreToolUse',
        tool_name: 'Bash',
        tool_input: { command: 'psql -c "drop table x"' },
        tool_use_id: 'toolu_1',
      }),
    ).toEqual({
      kind: 'declare',
      hook: true,
      input: { agentSessionId: 's', toolUseId: 'toolu_1', tool: 'Bash: psql -c "drop table x"' },
    });
    expect(
      parseContextBody({
        hook_event_name: 'PreToolUse',
        tool_name: 'mcp__gatehouse__query',
        tool_input: { connection: 'c', sql: 'select 1' },
        tool_use_id: 't',
      }),
    ).toMatchObject({
      input: { tool: 'mcp__gatehouse__query: select 1' },
    });
    expect(parseContextBody({ hook_event_name: 'SessionEnd', session_id: 's' })).toEqual({ kind: 'ignore' });
  });

  test('refuses what it cannot use', () => {
    expect(parseContextBody([])).toMatchObject({ kind: 'invalid' });
    expect(parseContextBody({ prompt: 3 })).toEqual({ kind: 'invalid', message: 'prompt must be a string' });
    expect(parseContextBody({ session_id: 's' })).toMatchObject({ kind: 'invalid' });
  });
});
