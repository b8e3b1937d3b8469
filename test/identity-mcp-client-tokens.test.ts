// An identity provider that ignores RFC 8707 `resource` (docs/security.md, class 123): the MCP client
// asks for the MCP resource and gets a token for the people's audience, the one the person's own CLI
// gets. Class 72 told the MCP client's token by its audience; here there is none to tell it by. Against
// a real OpenID provider (oidc-provider: authorization code + PKCE; every access token, whatever
// resource was asked for, for https://gatehouse.test/api) and the real gateway: the MCP client's
// token approved the agent's held UPDATE as alice. With `peopleClients`, the client the token was
// issued to (RFC 9068 `client_id`) decides: only the person's own client's tokens carry her authority.

import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type ResourceServerInfo } from 'oidc-provider';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { api, HOLD_UPDATES_FOR_DBA, httpBase, sleep, waitForRequest } from './approvals-kit.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const RESOURCE = 'https://gatehouse.test/mcp';
const PEOPLE = 'https://gatehouse.test/api';
const MCP_REDIRECT = 'http://127.0.0.1:33418/callback';

let providerServer: http.Server;
let issuer: string;
let gw: TestGateway;

beforeAll(async () => {
  providerServer = http.createServer();
  await new Promise<void>((r) => providerServer.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(providerServer.address() as AddressInfo).port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const publicClient = (client_id: string) => ({
    client_id,
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code'],
    response_types: ['code'],
    redirect_uris: [MCP_REDIRECT],
  });
  const provider = new Provider(issuer, {
    clients: [publicClient('claude-code'), publicClient('gatehouse-cli')],
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] },
    scopes: ['openid', 'gatehouse'],
    claims: { openid: ['sub'] },
    findAccount: (_ctx: unknown, sub: string) => ({ accountId: sub, claims: () => ({ sub }) }),
    extraTokenClaims: () => ({ groups: ['dba'] }),
    features: {
      devInteractions: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => PEOPLE,
        useGrantedResource: () => true,
        // The provider's one API: whatever resource a client asks for, the token is for it.
        getResourceServerInfo: (): ResourceServerInfo => ({
          audience: PEOPLE,
          scope: 'gatehouse',
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    pkce: { required: () => true },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600 },
  } as ConstructorParameters<typeof Provider>[1]);
  providerServer.on('request', provider.callback());

  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: HOLD_UPDATES_FOR_DBA,
    setupSql: `CREATE TABLE accounts (id int PRIMARY KEY, balance int); INSERT INTO accounts VALUES (1, 100);`,
    extra: {
      listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
      identity: {
        oidc: [{ issuer, audience: PEOPLE, groupsClaim: 'groups', peopleClients: ['gatehouse-cli'] }],
      },
      mcp: { resource: RESOURCE },
      approvals: { rules: { dba: { approverGroups: ['dba'], holdTimeout: '20s' } } },
    },
  });
});

afterAll(async () => {
  await gw?.stop();
  await new Promise<void>((r) => (providerServer ? providerServer.close(() => r()) : r()));
});

async function balance(): Promise<number> {
  const direct = new pg.Client({ connectionString: gw.directUrl });
  await direct.connect();
  try {
    return (await direct.query<{ balance: number }>('SELECT balance FROM accounts WHERE id = 1')).rows[0]!
      .balance;
  } finally {
    await direct.end();
  }
}

/**
 * Alice signs in at the provider for `client`, asking for `resource` (RFC 8707), and the client
 * redeems the code: the access token it then holds.
 */
async function accessTokenFor(client: string, resource: string): Promise<string> {
  const cookies = new Map<string, string>();
  const go = async (url: URL, init: RequestInit = {}): Promise<Response> => {
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: {
        ...(init.headers as Record<string, string>),
        cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
      },
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      if (pair!.slice(i + 1)) cookies.set(pair!.slice(0, i), pair!.slice(i + 1));
    }
    return res;
  };
  const verifier = randomBytes(32).toString('base64url');
  let next = new URL(`${issuer}/auth`);
  next.search = new URLSearchParams({
    client_id: client,
    response_type: 'code',
    redirect_uri: MCP_REDIRECT,
    scope: 'openid gatehouse',
    resource,
    state: 'st',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  for (let i = 0; i < 20 && !next.toString().startsWith(MCP_REDIRECT); i++) {
    const res = await go(next);
    const loc = res.headers.get('location');
    if (loc) {
      next = new URL(loc, next);
      continue;
    }
    const page = await res.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(page)?.[1];
    const prompt = /name="prompt" value="([^"]+)"/.exec(page)?.[1];
    if (!action || !prompt) throw new Error(`stuck at ${next.pathname} (${res.status})`);
    const posted = await go(new URL(action, next), {
      method: 'POST',
      body: new URLSearchParams({ prompt, ...(prompt === 'login' ? { login: 'alice', password: 'x' } : {}) }),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    next = new URL(posted.headers.get('location')!, next);
  }
  const code = next.searchParams.get('code');
  expect(code).toBeTruthy();
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code: code!,
      redirect_uri: MCP_REDIRECT,
      code_verifier: verifier,
      client_id: client,
      resource,
    }),
  });
  const body = (await res.json()) as { access_token?: string };
  expect(res.status).toBe(200);
  expect(body.access_token).toMatch(/^ey/);
  return body.access_token!;
}

describe("an MCP client's token for the people's audience", () => {
  it("is an agent's: it approves nothing, and the person's own client's token still does", async () => {
    const mcpToken = await accessTokenFor('claude-code', RESOURCE);
    // The provider ignored the resource: nothing in the audience says an MCP client holds it.
    expect(JSON.parse(Buffer.from(mcpToken.split('.')[1]!, 'base64url').toString())).toMatchObject({
      aud: PEOPLE,
      sub: 'alice',
      client_id: 'claude-code',
    });
    const agentToken = await gw.token({ subject: 'claude', groups: ['testers'], agent: true });
    const held = gw.client(agentToken);
    await held.connect();
    try {
      const running = held.query('UPDATE accounts SET balance = 0 WHERE id = 1').then(
        (r) => r.rowCount,
        (e: Error) => e.message,
      );
      const request = await waitForRequest(gw, agentToken, (r) => r.requester?.subject === 'claude');

      const vote = await api(gw, mcpToken, 'POST', `/api/approvals/${request.id}/approve`, {
        comment: 'approved with the MCP client token',
      });
      expect(vote.status).toBe(403);
      expect(vote.body.detail).toMatch(/agent/);
      expect((await api(gw, mcpToken, 'GET', '/api/sessions')).status).toBe(403);
      await sleep(200);
      expect(await balance()).toBe(100);

      // The MCP endpoint still serves it (as an agent).
      const mcp = await fetch(`${httpBase(gw)}/mcp`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${mcpToken}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
        },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(mcp.status).toBe(200);

      // Alice's own token, from her CLI, for the same audience, approves; the UPDATE runs.
      const aliceToken = await accessTokenFor('gatehouse-cli', PEOPLE);
      const ok = await api(gw, aliceToken, 'POST', `/api/approvals/${request.id}/approve`, {});
      expect(ok.status).toBe(200);
      expect(await running).toBe(1);
    } finally {
      await held.end().catch(() => undefined);
    }
  });
});
