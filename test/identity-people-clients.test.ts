// `identity.oidc[].peopleClients` (docs/security.md, class 123): which claim names the client a token
// was issued to, and which tokens are then an agent's. Against a small issuer over real HTTP.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../src/config/schema.js';
import { OidcAuthenticator } from '../src/identity/oidc-authenticator.js';
import { startTestIssuer, type TestIssuer } from './testkit/jwt-issuer.js';

let issuer: TestIssuer;

beforeAll(async () => {
  issuer = await startTestIssuer();
});
afterAll(async () => {
  await issuer?.close();
});

function authenticator(extra: Record<string, unknown>, signInClients: string[] = []): OidcAuthenticator {
  const cfg = configSchema.parse({
    connections: {},
    policies: [],
    identity: { oidc: [{ issuer: issuer.url, audience: ['api', 'console-app'], ...extra }] },
  });
  return new OidcAuthenticator(cfg.identity.oidc, { signInClients: () => signInClients });
}

const agentOf = async (a: OidcAuthenticator, claims: Record<string, unknown>) =>
  (await a.authenticate(await issuer.sign({ sub: 'alice', aud: 'api', ...claims }))).agent;

describe('peopleClients', () => {
  it('without it, the client does not matter', async () => {
    const a = authenticator({});
    expect(await agentOf(a, { client_id: 'claude-code' })).toBe(false);
  });

  it('reads client_id, azp, cid or appid; a token from another client, or naming none, is an agent', async () => {
    const a = authenticator({ peopleClients: ['cli'] });
    expect(await agentOf(a, { client_id: 'cli' })).toBe(false);
    expect(await agentOf(a, { azp: 'cli' })).toBe(false);
    expect(await agentOf(a, { cid: 'cli' })).toBe(false);
    expect(await agentOf(a, { appid: 'cli' })).toBe(false);
    expect(await agentOf(a, { client_id: 'claude-code' })).toBe(true);
    // client_id is read first: an azp naming the CLI does not make another client's token a person's.
    expect(await agentOf(a, { client_id: 'claude-code', azp: 'cli' })).toBe(true);
    expect(await agentOf(a, { aud: ['api', 'other'] })).toBe(true);
    expect(await agentOf(a, { client_id: 42 })).toBe(true);
  });

  it("an ID token's single audience is its client; the gateway's sign-in clients are people's", async () => {
    const a = authenticator({ peopleClients: ['cli'] }, ['console-app']);
    expect(await agentOf(a, { aud: 'console-app' })).toBe(false);
    expect(await agentOf(a, { aud: 'api' })).toBe(true);
    expect(await agentOf(a, { client_id: 'console-app' })).toBe(false);
  });

  it('clientClaim names another claim (a dot path)', async () => {
    const a = authenticator({ peopleClients: ['cli'], clientClaim: 'ext.client' });
    expect(await agentOf(a, { ext: { client: 'cli' }, client_id: 'claude-code' })).toBe(false);
    expect(await agentOf(a, { client_id: 'cli' })).toBe(true);
  });
});
