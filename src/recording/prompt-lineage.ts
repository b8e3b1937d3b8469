// Prompt lineage: which prompt or tool call caused a statement. Sources, most specific first:
// (a) sqlcommenter comments on the statement, (b) key=value pairs in application_name, (c) the
// principal's latest context from POST /api/context. Never used for policy; never fails a statement.

import type { Action } from '../core/action.js';
import { principalKey, type Identity } from '../core/identity.js';
import type { LineageSource } from '../core/ports.js';
import type { PromptContext, SessionRecord, StatementLineage } from '../core/records.js';
import { declaredContext } from './event-data.js';

/**
 * The key a principal's prompt context is kept under: the principal key, which holds whether it is
 * an agent. A token the identity provider gave an MCP client names the person who signed in for it
 * (same issuer and subject) but is an agent's (src/identity/agent-audiences.ts): a prompt its holder
 * declares must not be filed on the person's own statements, nor the person's on the agent's
 * (docs/security.md, class 256).
 */
export function contextKey(identity: Pick<Identity, 'issuer' | 'subject' | 'agent'>): string {
  return principalKey(identity);
}

export interface ContextLookup {
  current(principal: string): PromptContext | undefined;
}

const MAX_ID = 256;

function clip(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v.slice(0, MAX_ID);
}

function fromPairs(
  pairs: Readonly<Record<string, string>> | undefined,
  source: StatementLineage['source'],
): StatementLineage | undefined {
  if (!pairs) return undefined;
  const promptId = clip(pairs.prompt_id ?? pairs.task_id);
  const toolUseId = clip(pairs.tool_use_id);
  const traceparent = clip(pairs.traceparent);
  if (promptId === undefined && toolUseId === undefined && traceparent === undefined) return undefined;
  return {
    source,
    ...(promptId !== undefined ? { promptId } : {}),
    ...(toolUseId !== undefined ? { toolUseId } : {}),
    ...(traceparent !== undefined ? { traceparent } : {}),
  };
}

export class PromptLineageSource implements LineageSource {
  readonly #contexts: ContextLookup;
  /**
   * What each session's application_name declares (null: nothing), read once per session: a session's
   * record does not change, and every statement asks.
   */
  readonly #declaredBySession = new WeakMap<SessionRecord, StatementLineage | null>();

  constructor(contexts: ContextLookup) {
    this.#contexts = contexts;
  }

  forStatement(identity: Identity, session: SessionRecord, action: Action): StatementLineage | undefined {
    const comments = action.kind === 'sql' ? action.statement.comments : undefined;
    const declared = fromPairs(comments, 'comment') ?? this.#declaredBy(session);
    const ctx = this.#contexts.current(contextKey(identity));
    if (declared?.promptId !== undefined || declared?.toolUseId !== undefined) {
      // A declared prompt id that matches the context API's prompt gets its text too.
      if (ctx && declared.promptId === ctx.promptId)
        return ctx.prompt !== undefined ? { ...declared, prompt: ctx.prompt } : declared;
      // One that names another prompt is the client's claim (the statement's text is the client's):
      // the context API's current prompt is kept beside it, so the claim cannot hide it.
      if (!ctx) return declared;
      return {
        ...declared,
        contextPromptId: ctx.promptId,
        ...(ctx.prompt !== undefined ? { contextPrompt: ctx.prompt } : {}),
      };
    }
    if (!ctx) return declared;
    return {
      source: 'context-api',
      promptId: ctx.promptId,
      ...(ctx.prompt !== undefined ? { prompt: ctx.prompt } : {}),
      ...(ctx.toolUseId !== undefined ? { toolUseId: ctx.toolUseId } : {}),
      ...(ctx.agentSessionId !== undefined ? { agentSessionId: ctx.agentSessionId } : {}),
      // A traceparent alone (no prompt id) in a comment still travels with the statement.
      ...(declared?.traceparent !== undefined ? { traceparent: declared.traceparent } : {}),
    };
  }

  #declaredBy(session: SessionRecord): StatementLineage | undefined {
    let d = this.#declaredBySession.get(session);
    if (d === undefined) {
      const l = fromPairs(declaredContext(session.application), 'application-name');
      d = l === undefined ? null : Object.freeze(l);
      this.#declaredBySession.set(session, d);
    }
    return d ?? undefined;
  }
}
