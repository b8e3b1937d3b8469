// Masking through MCP: the query tool returns what the gate's masker let through (never the raw
// value), says that masking applied, and describe_schema flags the columns a column rule masks.

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const POLICIES = [
  {
    id: 'agents',
    subjects: { agent: true },
    connections: ['app'],
    rules: [
      {
        id: 'agents-read-masked',
        effect: 'allow' as const,
        match: { categories: ['read' as const] },
        mask: true,
      },
    ],
  },
];

let gw: TestGateway;
let client: Client;

interface ToolResult {
  content: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}
const text = (r: ToolResult) => r.content.map((c) => c.text ?? '').join('\n');

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: POLICIES,
    setupSql: `CREATE TABLE customers (id int PRIMARY KEY, name text, email text, note text);
               INSERT INTO customers VALUES (1, 'Ada', 'ada@example.com', 'card 4111 1111 1111 1111 on file');`,
    extra: {
      listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
      masking: { columns: [{ column: 'public.customers.email' }] },
    },
  });
  const token = await gw.token({ subject: 'masked-agent', groups: ['ai-agents'], agent: true });
  client = new Client({ name: 'mcp-masking-test', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${gw.gateway.http!.port}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    }),
  );
});
afterAll(async () => {
  await client?.close();
  await gw?.stop();
});

describe('masking over MCP', () => {
  it('returns masked values and says that masking applied', async () => {
    const r = (await client.callTool({
      name: 'query',
      arguments: {
        connection: 'app',
        sql: 'SELECT id, name, email, note FROM customers',
        reason: 'look up Ada',
      },
    })) as ToolResult;
    expect(r.isError).toBeFalsy();
    const t = text(r);
    expect(t).not.toContain('ada@example.com');
    expect(t).not.toContain('4111 1111 1111 1111');
    expect(t).toContain('[REDACTED');
    expect(t).toContain('Ada');
    expect(t).toContain('masking policy applied to this result (rule agents-read-masked)');
    expect(r.structuredContent).toMatchObject({ masked: true });
    expect(r.structuredContent!.redactedValues).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(r.structuredContent)).not.toContain('ada@example.com');
  });

  it('follows the masked column through expressions (column lineage), and refuses a filter on it', async () => {
    const r = (await client.callTool({
      name: 'query',
      arguments: {
        connection: 'app',
        sql: "SELECT upper(email) AS u, split_part(email, '@', 1) || ' at ' || split_part(email, '@', 2) AS s FROM customers",
        reason: 'try to read the address back',
      },
    })) as ToolResult;
    expect(r.isError).toBeFalsy();
    const t = text(r);
    for (const leak of ['ada@example.com', 'ADA@EXAMPLE.COM', 'ada at example.com', 'example'])
      expect(t).not.toContain(leak);
    expect(t).toContain('[REDACTED:column]');
    const f = (await client.callTool({
      name: 'query',
      arguments: {
        connection: 'app',
        sql: "SELECT id FROM customers WHERE email LIKE 'a%'",
        reason: 'probe',
      },
    })) as ToolResult;
    expect(f.isError).toBe(true);
    expect(text(f)).toContain('masked column public.customers.email');
  });

  it('flags the masked column in describe_schema', async () => {
    const r = (await client.callTool({
      name: 'describe_schema',
      arguments: { connection: 'app', table: 'customers' },
    })) as ToolResult;
    expect(r.isError).toBeFalsy();
    expect(text(r)).toContain('public.customers (table) — results masked');
    expect(text(r)).toContain('email text  [masked: masked whole (rule public.customers.email)]');
    const columns = (r.structuredContent!.tables as { columns: { name: string; masked?: string }[] }[])[0]!
      .columns;
    expect(columns.filter((c) => c.masked).map((c) => c.name)).toEqual(['email']);
  });
});
