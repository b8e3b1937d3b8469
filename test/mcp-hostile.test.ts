// A hostile agent on the MCP server, with the real MCP SDK client: what the tools do must follow what
// the gate decided (not what the tool foresaw from policy alone), and one tool call cannot make the
// gateway hold an unbounded result in memory. docs/security.md, classes 19–22.

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { LoopbackSessions } from '../src/mcp/loopback-sessions.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const POLICIES = [
  {
    id: 'agents',
    subjects: { groups: ['ai-agents'], agent: true },
    connections: ['app'],
    rules: [
      { id: 'agents-review-updates', effect: 'review' as const, match: { kinds: ['update'] } },
      {
        id: 'agents-read-customers-masked',
        effect: 'allow' as const,
        match: { categories: ['read' as const], tables: ['customers'] },
        mask: true,
      },
      { id: 'agents-read', effect: 'allow' as const, match: { categories: ['read' as const] } },
    ],
  },
  {
    // Reads without masking: nothing in the result is withheld for its size.
    id: 'bulk',
    subjects: { groups: ['bulk-readers'] },
    connections: ['app'],
    rules: [{ id: 'bulk-read', effect: 'allow' as const, match: { categories: ['read' as const] } }],
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
let bulkToken: string;

interface ToolResult {
  content: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}
const text = (r: ToolResult) => r.content.map((c) => c.text ?? '').join('\n');

async function connect(token: string): Promise<Client> {
  const client = new Client({ name: 'mcp-hostile-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<ToolResult> {
  return (await client.callTool({ name, arguments: args })) as ToolResult;
}

async function decide(id: string, vote: 'approve' | 'deny'): Promise<number> {
  const res = await fetch(`${base}/api/approvals/${id}/${vote}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${dbaToken}`, 'content-type': 'application/json' },
    body: '{}',
  });
  return res.status;
}

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: POLICIES,
    setupSql: `CREATE TABLE customers (id int PRIMARY KEY, name text, email text);
               INSERT INTO customers VALUES (1, 'Ada', 'ada@example.com'), (2, 'Bob', 'bob@example.com');`,
    extra: {
      listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
      masking: { columns: [{ column: 'public.customers.email' }] },
      approvals: { rules: { default: { approverGroups: ['dba'] } } },
    },
  });
  base = `http://127.0.0.1:${gw.gateway.http!.port}`;
  agentToken = await gw.token({ subject: 'agent-h', groups: ['ai-agents'], agent: true });
  dbaToken = await gw.token({ subject: 'alice', groups: ['dba'] });
  bulkToken = await gw.token({ subject: 'bulk-agent', groups: ['bulk-readers'], agent: true });
});
afterAll(async () => gw?.stop());

describe('the tool follows what the gate decided', () => {
  it('a statement the policy allows but the gate holds (a masked column in a predicate) returns a pending request, not a hung call', async () => {
    const client = await connect(agentToken);
    try {
      // The policy alone allows this read (masked); the gate's column lineage sends an agent's
      // predicate on a masked column to review. The tool must not block on the gate's hold.
      const sql = "SELECT id FROM customers WHERE email LIKE 'ada%'";
      const r = await call(client, 'query', { connection: 'app', sql, reason: 'find Ada by address' });
      expect(r.isError).toBeFalsy();
      expect(r.structuredContent).toMatchObject({ status: 'pending_approval' });
      const id = r.structuredContent!.requestId as string;
      expect(text(r)).toContain(`wait_for_approval with request_id "${id}"`);
      // The statement is still held by the gate: approving it runs it there, and wait_for_approval
      // returns its (masked-lineage) result.
      expect(await decide(id, 'approve')).toBe(200);
      const w = await call(client, 'wait_for_approval', { request_id: id, timeout_seconds: 30 });
      expect(w.isError).toBeFalsy();
      expect(text(w)).toContain('Approved by alice');
      expect(w.structuredContent).toMatchObject({ rows: [['1']] });
    } finally {
      await client.close();
    }
  });
});

describe('a loopback session the gateway ends', () => {
  it('a held statement whose session the gateway ends (token revoked while it waits) does not take the gateway down', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    const token = await gw.token({ subject: 'agent-revoked-while-held', groups: ['ai-agents'], agent: true });
    const client = await connect(token);
    try {
      const r = await call(client, 'query', {
        connection: 'app',
        sql: "SELECT id FROM customers WHERE email LIKE 'bob%'",
        reason: 'find Bob by address',
      });
      expect(r.structuredContent).toMatchObject({ status: 'pending_approval' });
      const requestId = r.structuredContent!.requestId as string;
      const id = (await gw.gateway.store.listServiceTokens()).find(
        (t) => t.subject === 'agent-revoked-while-held',
      )!.id;
      await gw.gateway.store.revokeServiceToken(id, new Date());
      gw.gateway.identity.serviceTokens?.noteRevoked(id);
      // The gateway ends the revoked token's sessions, the held one included: its request is withdrawn.
      const deadline = Date.now() + 20_000;
      let status = 'pending';
      while (status === 'pending' && Date.now() < deadline) {
        await new Promise((res) => setTimeout(res, 200));
        const got = await fetch(`${base}/api/approvals/${requestId}`, {
          headers: { authorization: `Bearer ${dbaToken}` },
        });
        status = ((await got.json()) as { status: string }).status;
      }
      expect(status).not.toBe('pending');
      // The gateway still answers other callers.
      const other = await connect(agentToken);
      try {
        const ok = await call(other, 'query', {
          connection: 'app',
          sql: 'SELECT 1 AS one',
          reason: 'still up?',
        });
        expect(ok.isError).toBeFalsy();
      } finally {
        await other.close();
      }
      expect(uncaught.map(String)).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
      await client.close().catch(() => undefined);
    }
  });
  it('a pooled session closed under a running statement (the call cancelled, a held statement withdrawn) is an error for that call only', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    // The tools' own loopback sessions, against this gateway's listener.
    const loopback = new LoopbackSessions({
      address: () => ({ host: '127.0.0.1', port: gw.port }),
      idleTimeoutMs: 60_000,
    });
    try {
      const abort = new AbortController();
      let started!: () => void;
      const running = new Promise<void>((res) => (started = res));
      const run = loopback
        .run({
          token: bulkToken,
          connection: 'app',
          sql: "SELECT pg_sleep(30), 'done'",
          maxRows: 1,
          reusable: true,
          signal: abort.signal,
          onNotice: () => undefined,
        })
        .then(
          () => 'ran',
          (e: unknown) => String(e),
        );
      // Aborted once the statement is running upstream.
      void (async () => {
        for (;;) {
          const c = new pg.Client({ connectionString: gw.directUrl });
          await c.connect();
          const n = await c.query(
            "SELECT count(*)::int AS n FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' AND pid <> pg_backend_pid()",
          );
          await c.end();
          if ((n.rows[0] as { n: number }).n > 0) return started();
          await new Promise((res) => setTimeout(res, 50));
        }
      })();
      await running;
      abort.abort();
      expect(await run).toMatch(/terminated/);
      // Let any 'error' the closed socket emits surface.
      await new Promise((res) => setImmediate(res));
      await new Promise((res) => setTimeout(res, 100));
      expect(uncaught.map(String)).toEqual([]);
      // The next call gets a fresh session.
      const next = await loopback.run({
        token: bulkToken,
        connection: 'app',
        sql: 'SELECT 1',
        maxRows: 1,
        reusable: true,
      });
      expect(next.rows).toEqual([['1']]);
    } finally {
      process.off('uncaughtException', onUncaught);
      await loopback.close();
    }
  });
});

describe('no state survives between tool calls', () => {
  it('a holdable cursor declared in one call is gone in the next (its session is not reused)', async () => {
    const client = await connect(bulkToken);
    try {
      const d = await call(client, 'query', {
        connection: 'app',
        sql: 'DECLARE kept CURSOR WITH HOLD FOR SELECT g FROM generate_series(1, 3) g',
        reason: 'leave a cursor open on the session',
      });
      expect(d.isError).toBeFalsy();
      const r = await call(client, 'query', {
        connection: 'app',
        sql: "SELECT name FROM pg_cursors WHERE name <> ''",
        reason: 'look for cursors left from the last call',
      });
      expect(r.isError).toBeFalsy();
      expect(r.structuredContent).toMatchObject({ rows: [] });
    } finally {
      await client.close();
    }
  });
});

describe('what one tool call may hold and return', () => {
  it('bounds a result in bytes, not only in rows: large cells are cut and rows past the budget are not kept', async () => {
    const client = await connect(bulkToken);
    try {
      // 20 rows of 2 MB each: within the row cap, 40 MB in the gateway's memory and in one response.
      const r = await call(client, 'query', {
        connection: 'app',
        sql: "SELECT g AS n, repeat('x', 2000000) AS big FROM generate_series(1, 20) g",
        reason: 'pull a large result through the gateway',
      });
      expect(r.isError).toBeFalsy();
      expect(JSON.stringify(r).length).toBeLessThan(2 * 1024 * 1024);
      expect(r.structuredContent).toMatchObject({ status: 'ok', capped: true });
      const rows = r.structuredContent!.rows as string[][];
      expect(rows.length).toBeGreaterThan(0);
      expect(rows[0]![0]).toBe('1');
      expect(rows[0]![1]).toMatch(/^x+… \(cut: 2000000 characters\)$/);
      expect(text(r)).toContain('capped');
      expect(text(r)).toContain('cut');
      // One wide row (200 columns of 50 000 characters, 10 MB) is bounded the same way.
      const columns = Array.from({ length: 200 }, (_, i) => `repeat('y', 50000) AS c${i}`).join(', ');
      const wide = await call(client, 'query', {
        connection: 'app',
        sql: `SELECT ${columns}`,
        reason: 'one wide row through the gateway',
      });
      expect(wide.isError).toBeFalsy();
      expect(JSON.stringify(wide).length).toBeLessThan(2 * 1024 * 1024);
      expect((wide.structuredContent!.rows as string[][])[0]).toHaveLength(200);
    } finally {
      await client.close();
    }
  });
});
