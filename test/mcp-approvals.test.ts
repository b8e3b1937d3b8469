// The review flow over MCP with the real SDK client: a statement that needs approval returns a
// pending result (request id, approval URL, impact preview) instead of hanging; a person approves it
// through the approvals API while the client waits with progress notifications; the statement then
// runs through the gate (hold: in the session that held it; defer: sent again, one use).

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const POLICIES = [
  {
    id: 'agents',
    subjects: { agent: true },
    connections: ['app'],
    rules: [
      { id: 'agents-no-drop', effect: 'deny' as const, match: { categories: ['ddl-drop' as const] } },
      { id: 'agents-review-updates', effect: 'review' as const, match: { kinds: ['update'] } },
      {
        id: 'agents-review-deletes',
        effect: 'review' as const,
        mode: 'defer' as const,
        match: { kinds: ['delete'] },
      },
      { id: 'agents-allow-read', effect: 'allow' as const, match: { categories: ['read' as const] } },
    ],
  },
  {
    id: 'dba',
    subjects: { groups: ['dba'], agent: false },
    connections: ['app'],
    rules: [{ id: 'dba-all', effect: 'allow' as const, match: {} }],
  },
];

let gw: TestGateway;
let base: string;
let agentToken: string;
let dbaToken: string;

interface ToolResult {
  content: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}
const text = (r: ToolResult) => r.content.map((c) => c.text ?? '').join('\n');

async function connect(token: string): Promise<Client> {
  const client = new Client({ name: 'mcp-approvals-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

async function decide(id: string, vote: 'approve' | 'deny', comment?: string): Promise<number> {
  const res = await fetch(`${base}/api/approvals/${id}/${vote}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${dbaToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(comment ? { comment } : {}),
  });
  return res.status;
}

async function name(id: number): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: gw.directUrl });
  await c.connect();
  try {
    return (await c.query<{ name: string }>('SELECT name FROM customers WHERE id = $1', [id])).rows[0]?.name;
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: POLICIES,
    setupSql: `CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL);
               INSERT INTO customers SELECT g, 'customer ' || g FROM generate_series(1, 10) g;`,
    extra: {
      listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
      approvals: {
        rules: { default: { approverGroups: ['dba'] } },
        grants: {
          'app-inserts': {
            description: 'add rows to app tables',
            connections: ['app'],
            maxDuration: '2h',
            rules: [{ id: 'grant-allow-inserts', effect: 'allow', match: { kinds: ['insert'] } }],
          },
        },
      },
    },
  });
  base = `http://127.0.0.1:${gw.gateway.http!.port}`;
  agentToken = await gw.token({ subject: 'agent-7', groups: ['ai-agents'], agent: true });
  dbaToken = await gw.token({ subject: 'alice', groups: ['dba'] });
});
afterAll(async () => gw?.stop());

describe('statements that need approval', () => {
  it('hold: returns a pending request at once, then runs once approved while the client waits', async () => {
    const client = await connect(agentToken);
    try {
      const started = Date.now();
      const pending = (await client.callTool({
        name: 'query',
        arguments: {
          connection: 'app',
          sql: "UPDATE customers SET name = 'renamed' WHERE id = 1",
          reason: 'ticket 12: fix the name',
        },
      })) as ToolResult;
      expect(Date.now() - started).toBeLessThan(8_000);
      expect(pending.isError).toBeFalsy();
      const s = pending.structuredContent!;
      expect(s).toMatchObject({
        status: 'pending_approval',
        kind: 'statement',
        rule: 'agents-review-updates',
        connection: 'app',
      });
      expect(s.approvalUrl).toBe(`${base}/approvals/${String(s.requestId)}`);
      // The reason travelled in the statement's sqlcommenter comment to the approver's view.
      expect(s.reason).toBe('ticket 12: fix the name');
      // The impact preview is for the approvers: the agent is told there is one, not what it says.
      expect(s.preview).toBeUndefined();
      expect(text(pending)).toContain('wait_for_approval');
      expect(text(pending)).toContain('Impact preview: taken, and shown to the approvers');
      expect(text(pending)).not.toMatch(/rows it would touch|Update on/);
      expect(await name(1)).toBe('customer 1');

      const progress: number[] = [];
      const waiting = client.callTool(
        { name: 'wait_for_approval', arguments: { request_id: s.requestId } },
        CallToolResultSchema,
        { onprogress: (p) => progress.push(p.progress), timeout: 70_000 },
      );
      await new Promise((r) => setTimeout(r, 1500));
      expect(await decide(String(s.requestId), 'approve', 'fine')).toBe(200);
      const done = (await waiting) as ToolResult;
      expect(done.isError).toBeFalsy();
      expect(text(done)).toContain('Approved by alice');
      expect(text(done)).toContain('UPDATE 1');
      expect(progress.length).toBeGreaterThan(0);
      expect(await name(1)).toBe('renamed');
    } finally {
      await client.close();
    }
  });

  it('hold: query with wait_seconds waits in the same call and returns the result', async () => {
    const client = await connect(agentToken);
    try {
      const progress: number[] = [];
      // The approver acts once the call has said it is waiting: under load an approval found by the
      // first poll could otherwise land before the call's first progress notification.
      const approveSoon = (async () => {
        for (let i = 0; i < 50 && progress.length === 0; i++) {
          await new Promise((r) => setTimeout(r, 200));
        }
        for (let i = 0; i < 50; i++) {
          const res = await fetch(`${base}/api/approvals?status=pending`, {
            headers: { authorization: `Bearer ${dbaToken}` },
          });
          const { requests } = (await res.json()) as {
            requests: { id: string; statement?: { text: string } }[];
          };
          const mine = requests.find((r) => r.statement?.text.includes('WHERE id = 3'));
          if (mine) return decide(mine.id, 'approve');
          await new Promise((r) => setTimeout(r, 200));
        }
        return 0;
      })();
      const r = (await client.callTool(
        {
          name: 'query',
          arguments: {
            connection: 'app',
            sql: "UPDATE customers SET name = 'three' WHERE id = 3",
            reason: 'rename three',
            wait_seconds: 30,
          },
        },
        CallToolResultSchema,
        { onprogress: (p) => progress.push(p.progress), timeout: 70_000 },
      )) as ToolResult;
      expect(await approveSoon).toBe(200);
      expect(r.isError).toBeFalsy();
      expect(text(r)).toContain('UPDATE 1');
      expect(progress.length).toBeGreaterThan(0);
      expect(await name(3)).toBe('three');
    } finally {
      await client.close();
    }
  });

  it('hold: a denial is reported with who denied and why, and nothing runs', async () => {
    const client = await connect(agentToken);
    try {
      const pending = (await client.callTool({
        name: 'query',
        arguments: {
          connection: 'app',
          sql: "UPDATE customers SET name = 'nope' WHERE id = 2",
          reason: 'try a rename',
        },
      })) as ToolResult;
      const id = String(pending.structuredContent!.requestId);
      expect(await decide(id, 'deny', 'not during the freeze')).toBe(200);
      const r = (await client.callTool({
        name: 'wait_for_approval',
        arguments: { request_id: id, timeout_seconds: 20 },
      })) as ToolResult;
      expect(r.isError).toBe(true);
      expect(text(r)).toContain('was denied by alice');
      expect(text(r)).toContain('not during the freeze');
      expect(await name(2)).toBe('customer 2');
      const status = (await client.callTool({
        name: 'approval_status',
        arguments: { request_id: id },
      })) as ToolResult;
      expect(status.structuredContent).toMatchObject({ status: 'denied' });
    } finally {
      await client.close();
    }
  });

  it('defer: the approved statement runs once, on wait_for_approval', async () => {
    const client = await connect(agentToken);
    try {
      const pending = (await client.callTool({
        name: 'query',
        arguments: {
          connection: 'app',
          sql: 'DELETE FROM customers WHERE id = 9',
          reason: 'remove the duplicate customer',
        },
      })) as ToolResult;
      expect(pending.structuredContent).toMatchObject({
        status: 'pending_approval',
        rule: 'agents-review-deletes',
      });
      const id = String(pending.structuredContent!.requestId);
      // Asking again for the same statement finds the same request instead of opening another.
      const again = (await client.callTool({
        name: 'query',
        arguments: {
          connection: 'app',
          sql: 'DELETE FROM customers WHERE id = 9',
          reason: 'remove the duplicate customer',
        },
      })) as ToolResult;
      expect(again.structuredContent!.requestId).toBe(id);
      expect(await decide(id, 'approve')).toBe(200);
      const ran = (await client.callTool({
        name: 'wait_for_approval',
        arguments: { request_id: id },
      })) as ToolResult;
      expect(ran.isError).toBeFalsy();
      expect(text(ran)).toContain('DELETE 1');
      expect(await name(9)).toBeUndefined();
      const twice = (await client.callTool({
        name: 'wait_for_approval',
        arguments: { request_id: id },
      })) as ToolResult;
      expect(text(twice)).toContain('already run');
    } finally {
      await client.close();
    }
  });

  // The request keeps the statement with its secrets redacted ('[REDACTED]'): sending that text again
  // would be another statement, which an approver would be shown as the same one (class 290).
  it('defer: a statement whose stored text hides a secret is not sent again redacted', async () => {
    const client = await connect(agentToken);
    const sql = "DELETE FROM customers WHERE name = 'host=db password=hunter2'";
    try {
      const pending = (await client.callTool({
        name: 'query',
        arguments: { connection: 'app', sql, reason: 'remove the pasted connection string' },
      })) as ToolResult;
      expect(pending.structuredContent).toMatchObject({ status: 'pending_approval' });
      const id = String(pending.structuredContent!.requestId);
      expect(await decide(id, 'approve')).toBe(200);
      const ran = (await client.callTool({
        name: 'wait_for_approval',
        arguments: { request_id: id, timeout_seconds: 2 },
      })) as ToolResult;
      expect(text(ran)).not.toMatch(/pending|new request/i);
      expect(text(ran)).toContain('send the exact statement again with query');
      // No request was opened for the redacted text.
      const res = await fetch(`${base}/api/approvals?status=pending`, {
        headers: { authorization: `Bearer ${dbaToken}` },
      });
      const open = ((await res.json()) as { requests: { statement?: { text: string } }[] }).requests;
      expect(open.filter((r) => r.statement?.text.includes('[REDACTED]'))).toEqual([]);
      // Sent again whole with query, it takes the approval's use and runs.
      const again = (await client.callTool({
        name: 'query',
        arguments: { connection: 'app', sql, reason: 'remove the pasted connection string' },
      })) as ToolResult;
      expect(again.isError).toBeFalsy();
      expect(text(again)).toContain('DELETE 0');
    } finally {
      await client.close();
    }
  });

  it('keeps requests private to their requester', async () => {
    const client = await connect(agentToken);
    let id: string;
    try {
      const pending = (await client.callTool({
        name: 'query',
        arguments: { connection: 'app', sql: 'DELETE FROM customers WHERE id = 8', reason: 'cleanup' },
      })) as ToolResult;
      id = String(pending.structuredContent!.requestId);
    } finally {
      await client.close();
    }
    const other = await connect(await gw.token({ subject: 'agent-8', groups: ['ai-agents'], agent: true }));
    try {
      const r = (await other.callTool({
        name: 'approval_status',
        arguments: { request_id: id },
      })) as ToolResult;
      expect(r.isError).toBe(true);
      expect(text(r)).toContain('No approval request');
      const w = (await other.callTool({
        name: 'wait_for_approval',
        arguments: { request_id: id, timeout_seconds: 1 },
      })) as ToolResult;
      expect(w.isError).toBe(true);
    } finally {
      await other.close();
    }
  });

  it('request_access: a time-bound grant, approved through the API, lets the refused statement run', async () => {
    const client = await connect(agentToken);
    try {
      const insert = {
        connection: 'app',
        sql: "INSERT INTO customers VALUES (100, 'new')",
        reason: 'add the customer from ticket 31',
      };
      const refused = (await client.callTool({ name: 'query', arguments: insert })) as ToolResult;
      expect(refused.isError).toBe(true);
      expect(text(refused)).toContain('request_access');

      const listed = (await client.callTool({ name: 'list_connections', arguments: {} })) as ToolResult;
      expect(listed.structuredContent?.connections).toEqual([
        expect.objectContaining({ name: 'app', grants: ['app-inserts'] }),
      ]);

      const asked = (await client.callTool({
        name: 'request_access',
        arguments: { connection: 'app', reason: 'ticket 31 needs new customers', duration: '30m' },
      })) as ToolResult;
      expect(asked.structuredContent).toMatchObject({
        status: 'pending_approval',
        kind: 'access',
        connection: 'app',
      });
      const id = String(asked.structuredContent!.requestId);
      expect(await decide(id, 'approve')).toBe(200);
      const granted = (await client.callTool({
        name: 'wait_for_approval',
        arguments: { request_id: id },
      })) as ToolResult;
      expect(granted.isError).toBeFalsy();
      expect(text(granted)).toContain('was approved by alice');
      expect(granted.structuredContent?.validUntil).toBeDefined();

      let ran: ToolResult | undefined;
      for (let i = 0; i < 20 && !(ran && !ran.isError); i++) {
        if (ran) await new Promise((r) => setTimeout(r, 100));
        ran = (await client.callTool({ name: 'query', arguments: insert })) as ToolResult;
      }
      expect(ran!.isError).toBeFalsy();
      expect(text(ran!)).toContain('INSERT 0 1');
      expect(await name(100)).toBe('new');
    } finally {
      await client.close();
    }
  });

  it("request_access refuses an unknown grant and a duration over the grant's maximum", async () => {
    const client = await connect(agentToken);
    try {
      const unknown = (await client.callTool({
        name: 'request_access',
        arguments: { connection: 'app', reason: 'x y z', grant: 'nope' },
      })) as ToolResult;
      expect(unknown.isError).toBe(true);
      expect(text(unknown)).toContain('- app-inserts: add rows to app tables');
      const long = (await client.callTool({
        name: 'request_access',
        arguments: { connection: 'app', reason: 'x y z', duration: '9h' },
      })) as ToolResult;
      expect(long.isError).toBe(true);
      expect(text(long)).toContain('between 1m and 2h');
    } finally {
      await client.close();
    }
  });
});
