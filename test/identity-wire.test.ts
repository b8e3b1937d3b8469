// Identity at the wire: a client presents its token as the PostgreSQL password. Good OIDC tokens
// (from a real oidc-provider) and service tokens work; every bad one gets a FATAL 28P01 with a clear
// message, no session is opened and nothing reaches the upstream.

import { createPublicKey } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestIssuer, type TestIssuer } from './testkit/jwt-issuer.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

let gw: TestGateway;
let issuer: TestIssuer;
let providerServer: http.Server;
let providerUrl: string;

async function startProvider(): Promise<void> {
  providerServer = http.createServer();
  await new Promise<void>((r) => providerServer.listen(0, '127.0.0.1', r));
  providerUrl = `http://127.0.0.1:${(providerServer.address() as AddressInfo).port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const provider = new Provider(providerUrl, {
    clients: [
      {
        client_id: 'claude-prod',
        client_secret: 's3cret-client',
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
      },
    ],
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'p1', alg: 'RS256', use: 'sig' }] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'urn:gatehouse',
        getResourceServerInfo: () => ({
          audience: 'gatehouse',
          scope: 'db',
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    extraTokenClaims: () => ({ groups: ['testers', 'ai-agents'], agent: true }),
  });
  providerServer.on('request', provider.callback());
}

async function providerToken(): Promise<string> {
  const res = await fetch(`${providerUrl}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from('claude-prod:s3cret-client').toString('base64')}`,
    },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      scope: 'db',
      resource: 'urn:gatehouse',
    }).toString(),
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

beforeAll(async () => {
  await startProvider();
  issuer = await startTestIssuer();
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    extra: {
      identity: {
        oidc: [
          { issuer: providerUrl, audience: 'gatehouse', agentClaim: { claim: 'agent', value: true } },
          { issuer: issuer.url, audience: 'gatehouse' },
        ],
      },
    },
  });
});
afterAll(async () => {
  await gw?.stop();
  await issuer?.close();
  providerServer?.close();
});

async function refusedWith(password: string): Promise<pg.DatabaseError> {
  const c = gw.client(password);
  const err = (await c.connect().then(
    () => undefined,
    (e: unknown) => e,
  )) as pg.DatabaseError | undefined;
  await c.end().catch(() => undefined);
  expect(err, 'the token should have been refused').toBeDefined();
  return err!;
}

/** Backends the gateway holds on the upstream database (polled briefly: closed ones take a moment to exit). */
async function upstreamBackends(): Promise<number> {
  const c = new pg.Client({ connectionString: gw.directUrl });
  await c.connect();
  try {
    let n = -1;
    for (let i = 0; i < 20 && n !== 0; i++) {
      const r = await c.query(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`,
      );
      n = r.rows[0].n;
      if (n !== 0) await new Promise((res) => setTimeout(res, 100));
    }
    return n;
  } finally {
    await c.end();
  }
}

describe('good tokens', () => {
  it('an OIDC access token from a real provider works and maps subject, groups and agent', async () => {
    const c = gw.client(await providerToken());
    await c.connect();
    expect((await c.query('SELECT 1 AS ok')).rows[0].ok).toBe(1);
    await c.end();
    const sessions = await gw.gateway.store.listSessions({ subject: 'claude-prod' });
    expect(sessions[0]?.tokenKind).toBe('oidc');
    expect(sessions[0]?.agent).toBe(true);
    expect(sessions[0]?.groups).toContain('ai-agents');
  });

  it('a service token works', async () => {
    const c = gw.client(await gw.token({ subject: 'svc-1' }));
    await c.connect();
    await c.end();
    expect((await gw.gateway.store.listSessions({ subject: 'svc-1' }))[0]?.tokenKind).toBe('service');
  });
});

describe('bad tokens are refused at the wire with 28P01 and nothing is forwarded', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const base = { sub: 'mallory', aud: 'gatehouse', groups: ['testers'] };
  const cases: [string, () => Promise<string>, RegExp][] = [
    ['expired', () => issuer.sign({ ...base, iat: now() - 7200, exp: now() - 3600 }), /expired/],
    ['not yet valid', () => issuer.sign({ ...base, nbf: now() + 3600 }), /not yet valid/],
    ['wrong audience', () => issuer.sign({ ...base, aud: 'someone-else' }), /audience/],
    ['wrong issuer', () => issuer.sign({ ...base, iss: 'https://evil.example.com' }), /issuer not trusted/],
    [
      'alg none',
      async () =>
        `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${Buffer.from(JSON.stringify({ ...base, iss: issuer.url, exp: now() + 600 })).toString('base64url')}.`,
      /algorithm not allowed/,
    ],
    [
      'HS256 signed with the public key',
      async () => {
        const good = await issuer.sign(base);
        const jwks = (await (await fetch(`${issuer.url}/jwks`)).json()) as { keys: object[] };
        const pem = createPublicKey({ key: jwks.keys[0] as never, format: 'jwk' }).export({
          type: 'spki',
          format: 'pem',
        });
        const { createHmac } = await import('node:crypto');
        const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: 'test-key-1' })).toString(
          'base64url',
        );
        const payload = good.split('.')[1]!;
        const sig = createHmac('sha256', pem).update(`${header}.${payload}`).digest('base64url');
        return `${header}.${payload}.${sig}`;
      },
      /algorithm not allowed/,
    ],
    [
      'unknown kid',
      async () => {
        const k = await issuer.unpublishedKey();
        return issuer.sign(base, { kid: k.kid, key: k.key });
      },
      /signing key not recognised/,
    ],
    [
      'revoked service token',
      async () => {
        const issued = await gw.gateway.identity.issuer!.issue({
          subject: 'revoked-one',
          groups: ['testers'],
          ttlMs: 600_000,
        });
        await gw.gateway.store.revokeServiceToken(issued.record.id, new Date());
        gw.gateway.identity.serviceTokens?.noteRevoked(issued.record.id);
        return issued.token;
      },
      /revoked/,
    ],
    ['garbage', async () => 'definitely-not-a-token', /not a JWT/],
  ];

  for (const [name, make, message] of cases) {
    it(name, async () => {
      const err = await refusedWith(await make());
      expect(err.code).toBe('28P01');
      expect(err.severity).toBe('FATAL');
      expect(err.message).toMatch(message);
      expect(await upstreamBackends()).toBe(0);
    });
  }

  it('no session was recorded for any refused token', async () => {
    expect(await gw.gateway.store.listSessions({ subject: 'mallory' })).toEqual([]);
    expect(await gw.gateway.store.listSessions({ subject: 'revoked-one' })).toEqual([]);
  });

  it('an authenticated principal without a policy for the connection gets 28000', async () => {
    const err = await refusedWith(await gw.token({ subject: 'outsider', groups: ['nobody'] }));
    expect(err.code).toBe('28000');
    expect(err.message).toMatch(/app/);
  });
});
