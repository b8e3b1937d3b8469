// The `list_connections` tool: the configured connections this caller may use, as the policy's
// connection-access decision says (the same check that opens a session). Never lists upstream hosts,
// users or credentials.

import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Caller, McpToolDeps } from './tool-deps.js';
import { textResult } from './tool-text.js';

export async function listConnectionsTool(deps: McpToolDeps, caller: Caller): Promise<CallToolResult> {
  const policy = deps.policy();
  const desk = deps.approvals?.();
  const usable: {
    name: string;
    protocol: string;
    description?: string;
    access: 'allowed' | 'needs approval';
    grants?: string[];
  }[] = [];
  for (const c of deps.connections()) {
    let effect: string;
    try {
      effect = policy.connectionAccess(caller.identity, c.name).effect;
    } catch {
      effect = 'deny';
    }
    if (effect === 'deny') continue;
    const grants = desk?.grantsFor(c.name).map((g) => g.name) ?? [];
    usable.push({
      name: c.name,
      protocol: c.protocol,
      ...(c.description ? { description: c.description } : {}),
      access: effect === 'allow' ? 'allowed' : 'needs approval',
      ...(grants.length > 0 ? { grants } : {}),
    });
  }
  if (usable.length === 0) {
    return textResult('No connection is open to you on this gateway. Ask an administrator for access.', {
      connections: [],
    });
  }
  const lines = usable.map(
    (c) =>
      `- ${c.name} (${c.protocol}${c.access === 'allowed' ? '' : ', needs approval'})${c.description ? `: ${c.description}` : ''}` +
      (c.grants ? ` [access grants: ${c.grants.join(', ')}]` : ''),
  );
  lines.push('Use describe_schema to see tables and columns, and query to run SQL (with a reason).');
  return textResult(lines.join('\n'), { connections: usable });
}
