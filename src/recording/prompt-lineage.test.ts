import { describe, expect, test } from 'vitest';
import { type Action, sqlAction } from '../core/action.js';
import type { Identity } from '../core/identity.js';
import type { PromptContext, SessionRecord } from '../core/records.js';
import { createLogger } from '../logger.js';
import { ContextRegistry, MAX_PROMPT_CHARS } from './context-registry.js';
import { contextKey, PromptLineageSource } from './prompt-lineage.js';

const alice = {
  subject: 'alice',
  issuer: 'gatehouse',
  groups: [],
  agent: true,
  tokenKind: 'service',
} as unknown as Identity;
const bob = { ...alice, subject: 'bob' } as Identity;
const session = (application?: string) => ({ application }) as unknown as SessionRecord;
const sql = (comments?: Record<string, string>) =>
  sqlAction({
    connection: 'c',
    via: 'simple-query',
    statement: {
      text: 'select 1',
      kind: 'select',
      categories: ['read'],
      tables: [],
      functions: [],
      ...(comments ? { comments } : {}),
    },
  }) as Action;

function setup(now = () => new Date('2026-03-01T10:00:00Z')) {
  const registry = new ContextRegistry({ logger: createLogger('silent'), now, ttlMs: 60_000 });
  return { registry, lineage: new PromptLineageSource(registry) };
}

describe('prompt lineage', () => {
  test('comments win over application_name, which wins over the context API', async () => {
    const { registry, lineage } = setup();
    await registry.declare(contextKey(alice), { prompt: 'p', promptId: 'ctx' });
    expect(
      lineage.forStatement(
        alice,
        session("app prompt_id='app-1'"),
        sql({ prompt_id: 'c-1', traceparent: 't' }),
      ),
    ).toEqual({
      source: 'comment',
      promptId: 'c-1',
      traceparent: 't',
      // The declaration is the client's claim: the context API's prompt it overrode is kept with it.
      contextPromptId: 'ctx',
      contextPrompt: 'p',
    });
    expect(lineage.forStatement(alice, session('app prompt_id=app-1 tool_use_id="toolu_9"'), sql())).toEqual({
      source: 'application-name',
      promptId: 'app-1',
      toolUseId: 'toolu_9',
      contextPromptId: 'ctx',
      contextPrompt: 'p',
    });
    expect(lineage.forStatement(alice, session('psql'), sql())).toEqual({
      source: 'context-api',
      promptId: 'ctx',
      prompt: 'p',
    });
    // A declared id equal to the context's prompt gets its text.
    expect(lineage.forStatement(alice, session(), sql({ prompt_id: 'ctx' }))).toEqual({
      source: 'comment',
      promptId: 'ctx',
      prompt: 'p',
    });
    // A traceparent alone rides along with the context.
    expect(lineage.forStatement(alice, session(), sql({ traceparent: 't2' }))).toMatchObject({
      source: 'context-api',
      promptId: 'ctx',
      traceparent: 't2',
    });
  });

  test('contexts are per principal and expire', async () => {
    let now = new Date('2026-03-01T10:00:00Z');
    const { registry, lineage } = setup(() => now);
    await registry.declare(contextKey(alice), { prompt: 'for alice' });
    expect(lineage.forStatement(bob, session(), sql())).toBeUndefined();
    // The person of the same issuer and subject (the agent holds a token in her name) is another
    // principal for contexts (docs/security.md, class 256).
    expect(lineage.forStatement({ ...alice, agent: false }, session(), sql())).toBeUndefined();
    expect(lineage.forStatement(alice, session(), sql())?.prompt).toBe('for alice');
    now = new Date(now.getTime() + 61_000);
    expect(lineage.forStatement(alice, session(), sql())).toBeUndefined();
  });
});

describe('ContextRegistry', () => {
  test('a tool call refines the current prompt; a new prompt replaces it; long prompts are clipped', async () => {
    const { registry } = setup();
    const k = contextKey(alice);
    const first = await registry.declare(k, { prompt: 'drop the old table', agentSessionId: 'cc1' });
    const tool = await registry.declare(k, {
      toolUseId: 'toolu_1',
      tool: 'Bash: psql',
      agentSessionId: 'cc1',
    });
    expect(tool).toMatchObject({
      promptId: first.promptId,
      prompt: 'drop the old table',
      toolUseId: 'toolu_1',
      tool: 'Bash: psql',
    });
    const next = await registry.declare(k, {
      prompt: 'x'.repeat(MAX_PROMPT_CHARS + 10),
      agentSessionId: 'cc1',
    });
    expect(next.promptId).not.toBe(first.promptId);
    expect(next.toolUseId).toBeUndefined();
    expect(next.prompt).toHaveLength(MAX_PROMPT_CHARS + 1);
    // A tool call from another agent session starts a context of its own.
    const other = await registry.declare(k, { toolUseId: 'toolu_2', agentSessionId: 'cc2' });
    expect(other.promptId).not.toBe(next.promptId);
    expect(other.prompt).toBeUndefined();
  });

  test('saves to and loads from its persistence, keeping the newest per principal', async () => {
    const saved = new Map<string, { principal: string; context: PromptContext }>();
    const persistence = {
      saveContext: async (principal: string, context: PromptContext) =>
        void saved.set(principal, { principal, context }),
      loadContexts: async () => [...saved.values()],
    };
    const a = new ContextRegistry({ logger: createLogger('silent'), persistence });
    await a.declare('p1', { prompt: 'hello', promptId: 'id-1' });
    const b = new ContextRegistry({ logger: createLogger('silent'), persistence });
    await b.start();
    expect(b.current('p1')).toMatchObject({ promptId: 'id-1', prompt: 'hello' });
    b.stop();
  });
});
