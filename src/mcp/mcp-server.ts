// Builds the MCP server for one authenticated caller: the Gatehouse tools, each of which goes
// through the gate. It holds no state between HTTP requests and never sees another caller.

import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import {
  approvalStatusTool,
  requestAccessShape,
  requestAccessTool,
  requestIdShape,
  waitForApprovalTool,
  waitInputShape,
} from './approval-tools.js';
import type { ProgressSink } from './approval-wait.js';
import { describeInputShape, describeSchemaTool } from './describe-schema-tool.js';
import { kubernetesInputShape, kubernetesTool } from './kubernetes-tool.js';
import { listConnectionsTool } from './list-connections-tool.js';
import { queryInputShape, queryTool } from './query-tool.js';
import { sshExecInputShape, sshExecTool } from './ssh-tool.js';
import type { Caller, McpToolDeps } from './tool-deps.js';
import { toolError } from './tool-text.js';

export const SERVER_INFO = { name: 'gatehouse', version: '0.1.0' } as const;

const INSTRUCTIONS =
  'Gatehouse is the gateway to production databases. Every tool call is checked against policy, may need a ' +
  "human's approval, may have sensitive values masked, and is recorded with the reason you give. Start with " +
  'list_connections and describe_schema; send one SQL statement per query call with a truthful reason. When a ' +
  'statement is refused, read the rule and the suggested alternatives instead of retrying; when it needs ' +
  'approval, call wait_for_approval with the request id.';

interface ToolExtra {
  readonly signal: AbortSignal;
  readonly _meta?: { readonly progressToken?: string | number } | undefined;
  sendNotification(n: {
    method: 'notifications/progress';
    params: { progressToken: string | number; progress: number; total?: number; message?: string };
  }): Promise<void>;
}

function progressSink(extra: ToolExtra): ProgressSink {
  const token = extra._meta?.progressToken;
  return {
    signal: extra.signal,
    async progress(progress, total, message) {
      if (token === undefined) return;
      await extra.sendNotification({
        method: 'notifications/progress',
        params: { progressToken: token, progress, ...(total !== undefined ? { total } : {}), message },
      });
    },
  };
}

/** A tool body that throws becomes a tool error with no internal detail (the log has it). */
function guarded(
  deps: McpToolDeps,
  tool: string,
  fn: () => Promise<CallToolResult>,
): Promise<CallToolResult> {
  return fn().catch((e: unknown) => {
    deps.logger.error({ err: e instanceof Error ? e.message : String(e), tool }, 'mcp tool failed');
    return toolError(
      `The ${tool} tool failed inside Gatehouse; nothing was run. Try again later or ask an administrator.`,
    );
  });
}

export function createMcpServer(deps: McpToolDeps, caller: Caller): McpServer {
  const server = new McpServer(SERVER_INFO, { capabilities: { tools: {} }, instructions: INSTRUCTIONS });

  server.registerTool(
    'list_connections',
    {
      title: 'List connections',
      description: 'The database connections you may use through Gatehouse, with their descriptions.',
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    () => guarded(deps, 'list_connections', () => listConnectionsTool(deps, caller)),
  );

  server.registerTool(
    'describe_schema',
    {
      title: 'Describe schema',
      description:
        'Tables and columns of a PostgreSQL connection (optionally one schema or table), with columns that are masked for you flagged.',
      inputSchema: describeInputShape,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args, extra) =>
      guarded(deps, 'describe_schema', () => describeSchemaTool(deps, caller, args, extra.signal)),
  );

  server.registerTool(
    'query',
    {
      title: 'Run SQL',
      description:
        'Run exactly one SQL statement on a connection. A reason is required and recorded. Returns a compact table and the row ' +
        'count (rows may be capped and values masked; the result says so). A statement that needs human approval returns a ' +
        'pending request (request id, approval URL, impact preview): then call wait_for_approval. A refused statement returns ' +
        'the rule, why, and what you may do instead.',
      inputSchema: queryInputShape,
      annotations: {
        readOnlyHint: false,
        destructiveHint: true,
        idempotentHint: false,
        openWorldHint: false,
      },
    },
    (args, extra) => guarded(deps, 'query', () => queryTool(deps, caller, args, progressSink(extra))),
  );

  if (deps.kubernetes && deps.connections().some((c) => c.protocol === 'kubernetes')) {
    server.registerTool(
      'kubernetes',
      {
        title: 'Run kubectl',
        description:
          'Run one kubectl command on a kubernetes connection ("get pods -n shop", "describe deploy web", "logs web", ' +
          '"exec web -- ls /", "delete pod web"), through the same gate as kubectl: it may be refused (the rule and ' +
          'what to do instead come back), held for a human, or have secrets masked. A reason is required and recorded.',
        inputSchema: kubernetesInputShape,
        annotations: {
          readOnlyHint: false,
          destructiveHint: true,
          idempotentHint: false,
          openWorldHint: false,
        },
      },
      (args, extra) => guarded(deps, 'kubernetes', () => kubernetesTool(deps, caller, args, extra.signal)),
    );
  }

  if (deps.ssh && deps.connections().some((c) => c.protocol === 'ssh')) {
    server.registerTool(
      'ssh_exec',
      {
        title: 'Run a command over SSH',
        description:
          'Run one shell command on an ssh connection\'s host ("df -h", "journalctl -u app -n 50", "systemctl status app"), ' +
          'without a terminal or input, through the same gate as ssh: it may be refused (the rule and what to do instead ' +
          'come back), held for a human (the call waits, with progress), or have secrets in its output masked. Returns ' +
          'stdout, stderr and the exit code. A reason is required and recorded.',
        inputSchema: sshExecInputShape,
        annotations: {
          readOnlyHint: false,
          destructiveHint: true,
          idempotentHint: false,
          openWorldHint: false,
        },
      },
      (args, extra) => guarded(deps, 'ssh_exec', () => sshExecTool(deps, caller, args, progressSink(extra))),
    );
  }

  server.registerTool(
    'request_access',
    {
      title: 'Request access',
      description:
        'Ask a human for a time-bound access grant on a connection (for statements your policy alone does not allow). Returns a pending request; then call wait_for_approval.',
      inputSchema: requestAccessShape,
      annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false },
    },
    (args) => guarded(deps, 'request_access', () => requestAccessTool(deps, caller, args)),
  );

  server.registerTool(
    'approval_status',
    {
      title: 'Approval status',
      description:
        'The status of one of your approval requests (pending, approved, denied, expired, withdrawn).',
      inputSchema: requestIdShape,
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    (args) => guarded(deps, 'approval_status', () => approvalStatusTool(deps, caller, args)),
  );

  server.registerTool(
    'wait_for_approval',
    {
      title: 'Wait for approval',
      description:
        'Wait up to 60 s for a decision on one of your approval requests, with progress notifications. When an approved ' +
        'statement has not run yet, it runs it once and returns its result. Call it again while the request is pending.',
      inputSchema: waitInputShape,
      annotations: { readOnlyHint: false, destructiveHint: true, openWorldHint: false },
    },
    (args, extra) =>
      guarded(deps, 'wait_for_approval', () => waitForApprovalTool(deps, caller, args, progressSink(extra))),
  );

  return server;
}
