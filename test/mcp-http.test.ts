// The built-in MCP server over Streamable HTTP with the real MCP SDK client: every tool call goes
// through the gateway's own PostgreSQL listener and gate (policy, records), denials are written for
// a model, and the endpoint behaves as an OAuth 2.1 resource server (RFC 9728 metadata, 401 challenge).

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseSqlcommenter } from '../src/sql/postgres/sqlcommenter.js';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

let gw: TestGateway;
let agentToken: string;
let base: string;

interface ToolResult {
  content: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
}

function text(r: ToolResult): string {
  return r.content.map((c) => c.text ?? '').join('\n');
}

async function connect(token: string): Promise<Client> {
  const client = new Client({ name: 'mcp-http-test', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<ToolResult> {
  return (await client.callTool({ name, arguments: args })) as ToolResult;
}

async function direct<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: gw.directUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: defaultAgentPolicies(['app']),
    setupSql: `CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, email text);
               INSERT INTO customers SELECT g, 'customer ' || g, 'c' || g || '@example.com' FROM generate_series(1, 30) g;`,
    extra: {
      listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
      mcp: { allowedOrigins: ['https://inspector.example'] },
    },
  });
  base = `http://127.0.0.1:${gw.gateway.http!.port}`;
  agentToken = await gw.token({ subject: 'claude@example.com', groups: ['ai-agents'], agent: true });
});
afterAll(async () => gw?.stop());

describe('tools over Streamable HTTP', () => {
  it('lists the Gatehouse tools', async () => {
    const client = await connect(agentToken);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name).sort()).toEqual(
        [
          'approval_status',
          'describe_schema',
          'list_connections',
          'query',
          'request_access',
          'wait_for_approval',
        ].sort(),
      );
      const query = tools.find((t) => t.name === 'query')!;
      expect(query.inputSchema.required).toEqual(expect.arrayContaining(['connection', 'sql', 'reason']));
    } finally {
      await client.close();
    }
  });

  it('lists the connections this principal may use', async () => {
    const client = await connect(agentToken);
    try {
      const r = await call(client, 'list_connections');
      expect(r.isError).toBeFalsy();
      expect(r.structuredContent?.connections).toEqual([
        { name: 'app', protocol: 'postgres', access: 'allowed' },
      ]);
      // A principal no policy covers sees no connection at all.
      const stranger = await connect(await gw.token({ subject: 'nobody', groups: ['nobody'] }));
      try {
        expect((await call(stranger, 'list_connections')).structuredContent?.connections).toEqual([]);
      } finally {
        await stranger.close();
      }
    } finally {
      await client.close();
    }
  });

  it('describes tables and columns through the gate', async () => {
    const client = await connect(agentToken);
    try {
      const r = await call(client, 'describe_schema', { connection: 'app', schema: 'public' });
      expect(r.isError).toBeFalsy();
      expect(text(r)).toContain('public.customers (table)');
      expect(text(r)).toMatch(/email text/);
      const tables = r.structuredContent?.tables as {
        name: string;
        columns: { name: string; nullable: boolean }[];
        read: { effect: string };
      }[];
      const customers = tables.find((t) => t.name === 'customers')!;
      expect(customers.columns.map((c) => c.name)).toEqual(['id', 'name', 'email']);
      expect(customers.columns[0]!.nullable).toBe(false);
      expect(customers.read.effect).toBe('allow');
    } finally {
      await client.close();
    }
  });

  it('runs a query and returns a compact table with the row count, capped when asked', async () => {
    const client = await connect(agentToken);
    try {
      const r = await call(client, 'query', {
        connection: 'app',
        sql: 'SELECT id, name FROM customers WHERE id <= 3 ORDER BY id;',
        reason: 'check the first customers',
      });
      expect(r.isError).toBeFalsy();
      expect(text(r)).toContain('id | name\n1 | customer 1\n2 | customer 2\n3 | customer 3\n(3 rows)');
      expect(r.structuredContent).toMatchObject({ rowCount: 3, capped: false, columns: ['id', 'name'] });

      const capped = await call(client, 'query', {
        connection: 'app',
        sql: 'SELECT id FROM customers ORDER BY id',
        reason: 'page through customers',
        max_rows: 5,
      });
      expect(capped.structuredContent).toMatchObject({ rowCount: 5, capped: true });
      expect(text(capped)).toContain('rows capped');
    } finally {
      await client.close();
    }
  });

  it('refuses a DROP with the rule, why, and what to do instead, and does not run it', async () => {
    const client = await connect(agentToken);
    try {
      const r = await call(client, 'query', {
        connection: 'app',
        sql: 'DROP TABLE customers',
        reason: 'clean up',
      });
      expect(r.isError).toBe(true);
      const t = text(r);
      expect(t).toContain('Refused by Gatehouse: DROP TABLE was not run.');
      expect(t).toContain('Rule: agents-no-drop');
      expect(t).toContain('destroys a schema object');
      expect(t).toMatch(/What you can do instead:\n- /);
      expect(r.structuredContent).toMatchObject({ status: 'refused', rule: 'agents-no-drop' });
      const n = await direct((c) => c.query('SELECT count(*)::int AS n FROM customers'));
      expect(n.rows[0].n).toBe(30);
    } finally {
      await client.close();
    }
  });

  it('tells the agent to narrow an unbounded write', async () => {
    const client = await connect(agentToken);
    try {
      const r = await call(client, 'query', {
        connection: 'app',
        sql: 'DELETE FROM customers',
        reason: 'reset',
      });
      expect(r.isError).toBe(true);
      expect(text(r)).toContain('Rule: agents-no-unbounded-writes');
      expect(text(r)).toContain('add a WHERE clause');
    } finally {
      await client.close();
    }
  });

  it('asks for one statement per call and reports database errors as such', async () => {
    const client = await connect(agentToken);
    try {
      const multi = await call(client, 'query', {
        connection: 'app',
        sql: 'SELECT 1; SELECT 2',
        reason: 'two at once',
      });
      expect(multi.isError).toBe(true);
      expect(text(multi)).toContain('holds 2 statements');
      const missing = await call(client, 'query', {
        connection: 'app',
        sql: 'SELECT * FROM no_such_table',
        reason: 'typo',
      });
      expect(missing.isError).toBe(true);
      expect(text(missing)).toContain('PostgreSQL error 42P01');
      const unknown = await call(client, 'query', {
        connection: 'nope',
        sql: 'SELECT 1',
        reason: 'wrong connection',
      });
      expect(unknown.isError).toBe(true);
      expect(text(unknown)).toContain('list_connections');
    } finally {
      await client.close();
    }
  });

  it('records the tool call: the statement with its reason, in a session of the gatehouse-mcp application', async () => {
    const reason = "find customer 7's email for ticket #42 (*/ -- 'quoted')";
    const client = await connect(agentToken);
    try {
      const r = await call(client, 'query', {
        connection: 'app',
        sql: 'SELECT email FROM customers WHERE id = 7',
        reason,
      });
      expect(text(r)).toContain('c7@example.com');
      await call(client, 'query', {
        connection: 'app',
        sql: 'DROP TABLE customers',
        reason: 'reason for a refused one',
      });
    } finally {
      await client.close();
    }
    const sessions = await gw.gateway.store.listSessions({ subject: 'claude@example.com', limit: 100 });
    const statements = (
      await Promise.all(sessions.map(async (s) => (await gw.gateway.store.getSession(s.id))!))
    ).flatMap((s) => s.statements.map((st) => ({ session: s.session, st })));
    const found = statements.find(({ st }) => st.text.includes('WHERE id = 7'));
    expect(found).toBeDefined();
    expect(found!.session.application).toBe('gatehouse-mcp');
    expect(found!.session.subject).toBe('claude@example.com');
    expect(found!.st.effect).toBe('allow');
    expect(found!.st.text.startsWith('SELECT email FROM customers WHERE id = 7\n/*')).toBe(true);
    const comment = /\/\*(.*)\*\/$/.exec(found!.st.text)![1]!;
    expect(Object.fromEntries(parseSqlcommenter(comment)!)).toEqual({ gatehouse_tool: 'query', reason });
    const refused = statements.find(({ st }) => st.text.startsWith('DROP TABLE customers'));
    expect(refused?.st.effect).toBe('deny');
    expect(refused?.st.ruleId).toBe('agents-no-drop');
  });
});

describe('OAuth 2.1 resource server', () => {
  it('answers without a token with 401 and a resource_metadata challenge', async () => {
    const res = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`,
    );
  });

  it('answers a bad token with 401 invalid_token and the metadata header; the SDK client fails to connect', async () => {
    const res = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer not-a-token',
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: '{}',
    });
    expect(res.status).toBe(401);
    const challenge = res.headers.get('www-authenticate')!;
    expect(challenge).toContain(`resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`);
    expect(challenge).toContain('error="invalid_token"');
    expect(await connect('not-a-token').catch((e: unknown) => e)).toBeInstanceOf(Error);
  });

  it('refuses a revoked token', async () => {
    const token = await gw.token({ subject: 'revoked-agent', groups: ['ai-agents'], agent: true });
    const client = await connect(token);
    await client.close();
    const id = (await gw.gateway.store.listServiceTokens()).find((t) => t.subject === 'revoked-agent')!.id;
    await gw.gateway.store.revokeServiceToken(id, new Date());
    gw.gateway.identity.serviceTokens?.noteRevoked(id);
    const res = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.status).toBe(401);
  });

  it('a tool call on an open MCP session fails, within 5 s of a revocation elsewhere, with a message a model can act on', async () => {
    const token = await gw.token({ subject: 'revoked-mid-session', groups: ['ai-agents'], agent: true });
    const client = await connect(token);
    try {
      const first = await call(client, 'query', {
        connection: 'app',
        sql: 'SELECT 1 AS one',
        reason: 'health check',
      });
      expect(first.isError, text(first)).toBeFalsy();
      const id = (await gw.gateway.store.listServiceTokens()).find(
        (t) => t.subject === 'revoked-mid-session',
      )!.id;
      // Revoked in the store, as the CLI or another replica does: this process is not told.
      await gw.gateway.store.revokeServiceToken(id, new Date());
      const started = Date.now();
      let failure: Error | undefined;
      while (Date.now() - started < 8_000) {
        try {
          const r = await call(client, 'query', {
            connection: 'app',
            sql: 'SELECT 1 AS one',
            reason: 'health check',
          });
          if (r.isError) {
            failure = new Error(text(r));
            break;
          }
        } catch (e) {
          failure = e as Error;
          break;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(failure).toBeDefined();
      expect(Date.now() - started).toBeLessThanOrEqual(6_000);
      // What the MCP client hands the model: why, that nothing ran, and what to do.
      expect(failure!.message).toMatch(/revoked/);
      expect(failure!.message).toMatch(/nothing (was run|ran)/);
      expect(failure!.message).toMatch(/new token/);
    } finally {
      await client.close();
    }
  });

  it('publishes RFC 9728 protected resource metadata', async () => {
    for (const path of [
      '/.well-known/oauth-protected-resource/mcp',
      '/.well-known/oauth-protected-resource',
    ]) {
      const res = await fetch(`${base}${path}`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        resource: `${base}/mcp`,
        bearer_methods_supported: ['header'],
        resource_name: 'Gatehouse',
      });
    }
  });

  it('has no standalone GET stream (stateless) but still authenticates it', async () => {
    expect((await fetch(`${base}/mcp`)).status).toBe(401);
    const res = await fetch(`${base}/mcp`, {
      headers: { authorization: `Bearer ${agentToken}`, accept: 'text/event-stream' },
    });
    expect(res.status).toBe(405);
  });

  it('answers CORS for an allowed browser origin, preflight included', async () => {
    const pre = await fetch(`${base}/mcp`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://inspector.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://inspector.example');
    expect(pre.headers.get('access-control-allow-headers')).toContain('Authorization');
    const unauth = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: { origin: 'https://inspector.example' },
    });
    expect(unauth.status).toBe(401);
    expect(unauth.headers.get('access-control-expose-headers')).toContain('WWW-Authenticate');
    const ok = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: {
        origin: 'https://inspector.example',
        authorization: `Bearer ${agentToken}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://inspector.example');
    await ok.body?.cancel();
  });

  it('refuses a browser request from a foreign origin', async () => {
    const res = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: {
        origin: 'https://evil.example',
        authorization: `Bearer ${agentToken}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(res.status).toBe(403);
  });
});

describe('protocol revisions', () => {
  async function rpc(body: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${base}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${agentToken}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...headers,
      },
      body: JSON.stringify(body),
    });
    const raw = await res.text();
    // An SSE response: the JSON-RPC message is on the `data:` line.
    const data = raw.split('\n').find((l) => l.startsWith('data: ') && l.length > 6);
    return {
      status: res.status,
      message: JSON.parse(data ? data.slice(6) : raw) as {
        result?: Record<string, unknown>;
        error?: unknown;
      },
    };
  }

  for (const version of ['2025-03-26', '2025-06-18', '2025-11-25']) {
    it(`initializes a ${version} client and serves its tool calls`, async () => {
      const init = await rpc({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: {
          protocolVersion: version,
          capabilities: {},
          clientInfo: { name: 'old-client', version: '0' },
        },
      });
      expect(init.status).toBe(200);
      expect(init.message.result?.protocolVersion).toBe(version);
      expect(init.message.result?.serverInfo).toMatchObject({ name: 'gatehouse' });
      const headers: Record<string, string> =
        version === '2025-03-26' ? {} : { 'mcp-protocol-version': version };
      const list = await rpc(
        { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'list_connections', arguments: {} } },
        headers,
      );
      expect(list.status).toBe(200);
      expect(JSON.stringify(list.message.result)).toContain('"name":"app"');
    });
  }
});
