// POST /api/context: an agent declares the prompt (or tool call) its next statements serve, with its
// own token. Accepts the plain form {session_id, prompt, prompt_id, tool_use_id} and Claude Code's
// hook input (UserPromptSubmit, PreToolUse) as its http hooks post it (docs/claude-code.md).
// It must only ever attach context to the caller's own principal (agent or not: contextKey), and never
// reply with a hook decision.

import type { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContextInput, ContextRegistry } from '../recording/context-registry.js';
import { contextKey } from '../recording/prompt-lineage.js';
import type { ApiEnv, RoutePlugin } from './http-server.js';

export interface ContextRoutesDeps {
  readonly registry: ContextRegistry;
}

/** Large prompts are accepted (and clipped by the registry); bodies beyond this are refused. */
const MAX_BODY_BYTES = 1024 * 1024;

function problem(status: 400 | 413, detail: string): Response {
  const title = status === 400 ? 'Bad Request' : 'Content Too Large';
  return new Response(JSON.stringify({ type: 'about:blank', title, status, detail }), {
    status,
    headers: { 'content-type': 'application/problem+json' },
  });
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** A one-line summary of a tool call: the Bash command, an MCP tool's SQL, or its input as JSON. */
function toolSummary(name: string | undefined, input: unknown): string | undefined {
  if (name === undefined) return undefined;
  if (input && typeof input === 'object') {
    const o = input as Record<string, unknown>;
    const main = str(o.command) ?? str(o.sql) ?? str(o.query);
    if (main !== undefined) return `${name}: ${main}`;
    try {
      return `${name}: ${JSON.stringify(input)}`;
    } catch {
      return name;
    }
  }
  return name;
}

export type ParsedContext =
  | { readonly kind: 'declare'; readonly input: ContextInput; readonly hook: boolean }
  | { readonly kind: 'ignore' }
  | { readonly kind: 'invalid'; readonly message: string };

/** Reads either body form. Unknown Claude Code hook events are accepted and ignored. */
export function parseContextBody(body: unknown): ParsedContext {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    return { kind: 'invalid', message: 'expected a JSON object' };
  const b = body as Record<string, unknown>;
  for (const k of ['session_id', 'prompt', 'prompt_id', 'tool_use_id', 'tool_name', 'hook_event_name']) {
    if (b[k] !== undefined && typeof b[k] !== 'string')
      return { kind: 'invalid', message: `${k} must be a string` };
  }
  const agentSessionId = str(b.session_id);
  const common = agentSessionId !== undefined ? { agentSessionId } : {};
  const event = str(b.hook_event_name);
  if (event !== undefined) {
    switch (event) {
      case 'UserPromptSubmit': {
        const prompt = typeof b.prompt === 'string' ? b.prompt : '';
        return { kind: 'declare', hook: true, input: { ...common, prompt } };
      }
      case 'PreToolUse': {
        const toolUseId = str(b.tool_use_id);
        const tool = toolSummary(str(b.tool_name), b.tool_input);
        return {
          kind: 'declare',
          hook: true,
          input: {
            ...common,
            ...(toolUseId !== undefined ? { toolUseId } : {}),
            ...(tool !== undefined ? { tool } : {}),
          },
        };
      }
      default:
        return { kind: 'ignore' };
    }
  }
  const prompt = typeof b.prompt === 'string' ? b.prompt : undefined;
  const promptId = str(b.prompt_id);
  const toolUseId = str(b.tool_use_id);
  if (prompt === undefined && promptId === undefined && toolUseId === undefined) {
    return { kind: 'invalid', message: 'send at least one of prompt, prompt_id, tool_use_id' };
  }
  const tool = toolSummary(str(b.tool_name), b.tool_input);
  return {
    kind: 'declare',
    hook: false,
    input: {
      ...common,
      ...(prompt !== undefined ? { prompt } : {}),
      ...(promptId !== undefined ? { promptId } : {}),
      ...(toolUseId !== undefined ? { toolUseId } : {}),
      ...(tool !== undefined ? { tool } : {}),
    },
  };
}

export function contextRoutes(deps: ContextRoutesDeps): RoutePlugin {
  return (app: Hono<ApiEnv>) => {
    app.post(
      '/api/context',
      bodyLimit({
        maxSize: MAX_BODY_BYTES,
        onError: () => problem(413, `the body is larger than ${MAX_BODY_BYTES} bytes`),
      }),
      async (c) => {
        let body: unknown;
        try {
          body = await c.req.json();
        } catch {
          return problem(400, 'the body is not JSON');
        }
        const parsed = parseContextBody(body);
        if (parsed.kind === 'invalid') return problem(400, parsed.message);
        // Claude Code reads an http hook's reply as hook output: `{}` means "no decision, go on".
        if (parsed.kind === 'ignore') return c.json({});
        const identity = c.get('identity');
        const ctx = await deps.registry.declare(contextKey(identity), parsed.input);
        if (parsed.hook) return c.json({});
        return c.json({
          prompt_id: ctx.promptId,
          ...(ctx.toolUseId !== undefined ? { tool_use_id: ctx.toolUseId } : {}),
          ...(ctx.agentSessionId !== undefined ? { session_id: ctx.agentSessionId } : {}),
          at: ctx.at.toISOString(),
        });
      },
    );

    app.get('/api/context', (c) => {
      const ctx = deps.registry.current(contextKey(c.get('identity')));
      if (!ctx) return c.json({ context: null });
      return c.json({
        context: {
          prompt_id: ctx.promptId,
          ...(ctx.prompt !== undefined ? { prompt: ctx.prompt } : {}),
          ...(ctx.toolUseId !== undefined ? { tool_use_id: ctx.toolUseId } : {}),
          ...(ctx.tool !== undefined ? { tool: ctx.tool } : {}),
          ...(ctx.agentSessionId !== undefined ? { session_id: ctx.agentSessionId } : {}),
          at: ctx.at.toISOString(),
        },
      });
    });
  };
}
