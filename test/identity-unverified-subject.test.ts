// A subject taken from a claim the user can set: with `subjectClaim: email`, an address the identity
// provider has not verified would name whoever typed it. Against a real OpenID provider
// (oidc-provider, client credentials + resource indicators → JWT access tokens carrying the account's
// e-mail claims) and the real gateway: mallory, whose unverified address is alice's, must not be
// alice — neither read alice's approval request nor be recorded as her.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type ResourceServerInfo } from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { api } from './approvals-kit.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

let providerServer: http.Server;
let issuer: string;
let gw: TestGateway;

/** What each workload's token says about the e-mail address of its owner. */
const EMAILS: Record<string, { email: string; email_verified?: unknown }> = {
  alice: { email: 'alice@corp.example', email_verified: true },
  mallory: { email: 'alice@corp.example', email_verified: false },
  'mallory-2': { email: 'Alice@Corp.Example' },
};

beforeAll(async () => {
  providerServer = http.createServer();
  await new Promise<void>((r) => providerServer.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(providerServer.address() as AddressInfo).port}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const provider = new Provider(issuer, {
    clients: Object.keys(EMAILS).map((id) => ({
      client_id: id,
      client_secret: `${id}-secret`,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
    })),
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'urn:gatehouse',
        getResourceServerInfo: (): ResourceServerInfo => ({
          audience: 'gatehouse',
          scope: 'db',
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    extraTokenClaims: (_ctx, token) => ({ ...EMAILS[String(token.clientId)], groups: ['testers'] }),
  });
  providerServer.on('request', provider.callback());
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    extra: {
      listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
      identity: { oidc: [{ issuer, audience: 'gatehouse', subjectClaim: 'email' }] },
      approvals: {
        rules: { ops: { approverGroups: ['ops'] } },
        grants: {
          ops: { connections: ['app'], approval: 'ops', rules: [{ id: 'g', effect: 'allow', match: {} }] },
        },
      },
    },
  });
});

afterAll(async () => {
  await gw?.stop();
  await new Promise<void>((r) => (providerServer ? providerServer.close(() => r()) : r()));
});

async function tokenOf(client: string): Promise<string> {
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${client}:${client}-secret`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'db', resource: 'urn:gatehouse' }),
  });
  const body = (await res.json()) as { access_token?: string };
  expect(body.access_token).toMatch(/^ey/);
  return body.access_token!;
}

describe('a subject from an e-mail claim', () => {
  it('is taken only when the provider verified the address', async () => {
    const alice = await tokenOf('alice');
    const asked = await api(gw, alice, 'POST', '/api/access-requests', {
      connection: 'app',
      for: '1h',
      reason: 'INC-7',
    });
    expect(asked.status).toBe(201);
    expect(asked.body.request.requester.subject).toBe('alice@corp.example');
    const id = asked.body.request.id as string;
    expect((await api(gw, alice, 'GET', `/api/approvals/${id}`)).status).toBe(200);

    for (const who of ['mallory', 'mallory-2']) {
      const token = await tokenOf(who);
      const read = await api(gw, token, 'GET', `/api/approvals/${id}`);
      expect(read.status).toBe(401);
      expect(read.body.detail).toMatch(/not verified/);
      const c = gw.client(token);
      await expect(c.connect()).rejects.toThrow(/not verified/);
      await c.end().catch(() => undefined);
    }
    expect((await gw.gateway.store.listSessions({ subject: 'alice@corp.example', limit: 10 })).length).toBe(
      0,
    );
  });
});
