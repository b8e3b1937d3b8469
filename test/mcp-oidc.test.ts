// The MCP endpoint with OIDC tokens: the metadata names the configured issuer, a token issued for
// another resource (audience) is refused with 401 even when the issuer's config would accept it
// elsewhere, and a token issued for the MCP resource works end to end (also on the loopback session).

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { startTestIssuer, type TestIssuer } from './testkit/jwt-issuer.js';

const RESOURCE = 'https://gatehouse.test/mcp';

let gw: TestGateway;
let issuer: TestIssuer;
let base: string;

beforeAll(async () => {
  issuer = await startTestIssuer();
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: defaultAgentPolicies(['app']),
    setupSql: `CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2);`,
    extra: {
      listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
      identity: {
        oidc: [
          {
            issuer: issuer.url,
            audience: ['gatehouse-pg', RESOURCE],
            agentClaim: { claim: 'agent', value: true },
          },
        ],
      },
      mcp: { resource: RESOURCE, audience: RESOURCE, scopes: ['gatehouse'] },
    },
  });
  base = `http://127.0.0.1:${gw.gateway.http!.port}`;
});
afterAll(async () => {
  await gw?.stop();
  await issuer?.close();
});

function post(token: string) {
  return fetch(`${base}/mcp`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
}

describe('MCP with OIDC tokens', () => {
  it('publishes the configured resource, issuer and scopes', async () => {
    const res = await fetch(`${base}/.well-known/oauth-protected-resource/mcp`);
    expect(await res.json()).toEqual({
      resource: RESOURCE,
      authorization_servers: [issuer.url],
      bearer_methods_supported: ['header'],
      scopes_supported: ['gatehouse'],
      resource_name: 'Gatehouse',
    });
    const unauth = await fetch(`${base}/mcp`, { method: 'POST' });
    expect(unauth.headers.get('www-authenticate')).toBe(
      'Bearer resource_metadata="https://gatehouse.test/.well-known/oauth-protected-resource/mcp", scope="gatehouse"',
    );
  });

  it('refuses a token whose audience is not the MCP resource', async () => {
    const token = await issuer.sign({ sub: 'agent-1', aud: 'gatehouse-pg', agent: true });
    const res = await post(token);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(((await res.json()) as { error_description: string }).error_description).toContain(
      'not issued for this resource',
    );
  });

  it('refuses a token from an unknown issuer or for an unconfigured audience', async () => {
    expect((await post(await issuer.sign({ sub: 'agent-1', aud: 'something-else' }))).status).toBe(401);
    const other = await startTestIssuer();
    try {
      expect((await post(await other.sign({ sub: 'agent-1', aud: RESOURCE }))).status).toBe(401);
    } finally {
      await other.close();
    }
  });

  it('serves a token issued for the MCP resource, down to the loopback session', async () => {
    const token = await issuer.sign({ sub: 'agent-oidc', aud: RESOURCE, agent: true });
    const client = new Client({ name: 'oidc-test', version: '1' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${token}` } },
      }),
    );
    try {
      const r = (await client.callTool({
        name: 'query',
        arguments: { connection: 'app', sql: 'SELECT count(*) AS n FROM t', reason: 'count rows' },
      })) as { content: { text: string }[]; isError?: boolean };
      expect(r.isError).toBeFalsy();
      expect(r.content[0]!.text).toContain('n\n2\n(1 row)');
    } finally {
      await client.close();
    }
    const sessions = await gw.gateway.store.listSessions({ subject: 'agent-oidc', limit: 5 });
    expect(sessions[0]).toMatchObject({
      tokenKind: 'oidc',
      agent: true,
      issuer: issuer.url,
      application: 'gatehouse-mcp',
    });
  });
});
