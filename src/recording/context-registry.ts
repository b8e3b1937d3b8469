// The principals' current prompt contexts (POST /api/context): the latest prompt each principal
// declared, attached to its following statements until the next one arrives or it expires. Kept in
// memory for the hot path and in the store so replicas sharing a PostgreSQL store see each other's.
// It must never block a statement: lookups are synchronous and in memory.

import { randomUUID } from 'node:crypto';
import type { Logger } from '../core/ports.js';
import type { PromptContext } from '../core/records.js';
import type { ContextLookup } from './prompt-lineage.js';

export interface ContextPersistence {
  saveContext(principal: string, context: PromptContext): Promise<void>;
  loadContexts(since: Date): Promise<{ principal: string; context: PromptContext }[]>;
}

/** What a caller declares; a prompt starts a new context, a tool call alone refines the current one. */
export interface ContextInput {
  readonly prompt?: string;
  readonly promptId?: string;
  readonly toolUseId?: string;
  readonly tool?: string;
  readonly agentSessionId?: string;
}

export interface ContextRegistryOptions {
  readonly persistence?: ContextPersistence;
  /** A context older than this is no longer attached (default 12 h). */
  readonly ttlMs?: number;
  /** Re-read contexts other replicas saved, this often (0: never; default 0). */
  readonly refreshMs?: number;
  readonly logger: Logger;
  readonly now?: () => Date;
}

export const MAX_PROMPT_CHARS = 16 * 1024;
export const MAX_TOOL_CHARS = 1024;
const MAX_ID_CHARS = 256;

function clip(s: string | undefined, max: number): string | undefined {
  if (s === undefined) return undefined;
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

export class ContextRegistry implements ContextLookup {
  readonly #contexts = new Map<string, PromptContext>();
  readonly #opts: ContextRegistryOptions;
  readonly #ttl: number;
  #timer: NodeJS.Timeout | undefined;
  #lastRefresh = 0;

  constructor(opts: ContextRegistryOptions) {
    this.#opts = opts;
    this.#ttl = opts.ttlMs ?? 12 * 3_600_000;
  }

  #now(): Date {
    return this.#opts.now?.() ?? new Date();
  }

  /** Loads the contexts still current from the store, and starts refreshing when asked to. */
  async start(): Promise<void> {
    await this.refresh(new Date(this.#now().getTime() - this.#ttl));
    const every = this.#opts.refreshMs ?? 0;
    if (every > 0 && this.#opts.persistence) {
      this.#timer = setInterval(() => void this.refresh(), every);
      this.#timer.unref();
    }
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Picks up contexts saved since the last refresh (by this or another replica). */
  async refresh(since?: Date): Promise<void> {
    const p = this.#opts.persistence;
    if (!p) return;
    const from = since ?? new Date(this.#lastRefresh - 1000);
    this.#lastRefresh = this.#now().getTime();
    try {
      for (const { principal, context } of await p.loadContexts(from)) {
        const mine = this.#contexts.get(principal);
        if (!mine || mine.at.getTime() < context.at.getTime()) this.#contexts.set(principal, context);
      }
    } catch (err) {
      this.#opts.logger.warn({ err: String(err) }, 'prompt contexts could not be read from the store');
    }
  }

  current(principal: string): PromptContext | undefined {
    const c = this.#contexts.get(principal);
    if (!c) return undefined;
    if (this.#now().getTime() - c.at.getTime() > this.#ttl) {
      this.#contexts.delete(principal);
      return undefined;
    }
    return c;
  }

  /** Records a principal's new context and returns it. The store copy is best effort. */
  async declare(principal: string, input: ContextInput): Promise<PromptContext> {
    const at = this.#now();
    const current = this.current(principal);
    const promptId = clip(input.promptId, MAX_ID_CHARS);
    const tool = {
      ...(input.toolUseId !== undefined ? { toolUseId: clip(input.toolUseId, MAX_ID_CHARS) as string } : {}),
      ...(input.tool !== undefined ? { tool: clip(input.tool, MAX_TOOL_CHARS) as string } : {}),
    };
    const agentSessionId = clip(input.agentSessionId, MAX_ID_CHARS);
    const sameAgentSession =
      current !== undefined &&
      (agentSessionId === undefined ||
        current.agentSessionId === undefined ||
        current.agentSessionId === agentSessionId);
    let next: PromptContext;
    if (
      input.prompt === undefined &&
      sameAgentSession &&
      (promptId === undefined || promptId === current.promptId)
    ) {
      // A tool call (PreToolUse) under the current prompt: keep the prompt, name the tool call.
      next = { ...current, ...tool, at };
    } else {
      next = {
        promptId: promptId ?? randomUUID(),
        ...(input.prompt !== undefined ? { prompt: clip(input.prompt, MAX_PROMPT_CHARS) } : {}),
        ...tool,
        ...(agentSessionId !== undefined ? { agentSessionId } : {}),
        at,
      };
    }
    this.#contexts.set(principal, next);
    try {
      await this.#opts.persistence?.saveContext(principal, next);
    } catch (err) {
      this.#opts.logger.warn({ err: String(err) }, 'prompt context not saved to the store; kept in memory');
    }
    return next;
  }
}
