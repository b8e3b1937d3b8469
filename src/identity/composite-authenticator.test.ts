import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../config/schema.js';
import { GatewayError } from '../core/errors.js';
import type { Identity } from '../core/identity.js';
import { CompositeAuthenticator } from './composite-authenticator.js';
import { createAuthenticator } from './index.js';
import { MemoryTokenStore } from './memory-token-store.js';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const unsigned = (claims: object) => `${b64({ alg: 'RS256', kid: 'k' })}.${b64(claims)}.c2ln`;

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(GatewayError);
    expect((e as GatewayError).code).toBe('ERR_AUTH_FAILED');
    return (e as Error).message;
  }
  throw new Error('expected a refusal');
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gh-composite-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function identityConfig(extra: object = {}) {
  return configSchema.shape.identity.parse({
    // Port 9 (discard) on loopback: nothing listens, so discovery fails fast.
    oidc: [{ issuer: 'http://127.0.0.1:9/realms/x', audience: 'gatehouse' }],
    ...extra,
  });
}

describe('CompositeAuthenticator', () => {
  it('routes by the unverified iss, and only to the verifier for that issuer', async () => {
    const seen: string[] = [];
    const fake = (name: string) => ({
      authenticate: async (): Promise<Identity> => {
        seen.push(name);
        throw new GatewayError('ERR_AUTH_FAILED', `${name} refused`);
      },
    });
    const c = new CompositeAuthenticator([
      { issuers: ['gatehouse'], authenticator: fake('service') },
      { issuers: ['https://a.example', 'https://b.example'], authenticator: fake('oidc') },
    ]);
    expect(await refusal(c.authenticate(unsigned({ iss: 'gatehouse' })))).toBe('service refused');
    expect(await refusal(c.authenticate(unsigned({ iss: 'https://b.example' })))).toBe('oidc refused');
    expect(await refusal(c.authenticate(unsigned({ iss: 'https://evil.example' })))).toBe(
      'token issuer not trusted',
    );
    expect(await refusal(c.authenticate(unsigned({ iss: 'https://a.example/' })))).toBe(
      'token issuer not trusted',
    );
    expect(await refusal(c.authenticate(unsigned({ iss: ['gatehouse'] })))).toBe('token issuer not trusted');
    expect(await refusal(c.authenticate(unsigned({ sub: 'no-iss' })))).toBe('token issuer not trusted');
    expect(await refusal(c.authenticate('correct horse battery staple'))).toBe('token is not a JWT');
    expect(seen).toEqual(['service', 'oidc']);
  });

  it('refuses the same issuer twice', () => {
    const a = { authenticate: () => Promise.reject(new Error('unused')) };
    expect(
      () =>
        new CompositeAuthenticator([
          { issuers: ['x'], authenticator: a },
          { issuers: ['x'], authenticator: a },
        ]),
    ).toThrow(/configured twice/);
  });
});

describe('createAuthenticator', () => {
  it('wires service tokens and OIDC issuers behind one authenticator', async () => {
    const tokenStore = new MemoryTokenStore();
    const built = await createAuthenticator(identityConfig(), {
      dataDir: join(dir, 'a'),
      tokenStore,
      oidc: { fetchTimeoutMs: 1000 },
    });
    expect(built.signingKey?.created).toBe(true);
    expect(built.signingKey?.path).toBe(join(dir, 'a', 'keys', 'token-signing.pem'));
    const { token, record } = await built.issuer!.issue({
      subject: 'claude-prod',
      groups: ['ai-agents'],
      ttlMs: 60_000,
      agent: true,
    });
    expect(await built.authenticator.authenticate(token)).toMatchObject({
      subject: 'claude-prod',
      groups: ['ai-agents'],
      agent: true,
      tokenKind: 'service',
      tokenId: record.id,
    });
    await tokenStore.revokeServiceToken(record.id, new Date());
    built.serviceTokens!.noteRevoked(record.id);
    expect(await refusal(built.authenticator.authenticate(token))).toBe('token revoked');

    // A token naming the OIDC issuer goes to the OIDC verifier, which cannot reach the provider.
    expect(
      await refusal(built.authenticator.authenticate(unsigned({ iss: 'http://127.0.0.1:9/realms/x' }))),
    ).toBe('identity provider unreachable');
    expect(await refusal(built.authenticator.authenticate('x'.repeat(20_000)))).toBe('token too long');
  });

  it('with service tokens disabled, a service token is from an untrusted issuer', async () => {
    const tokenStore = new MemoryTokenStore();
    const on = await createAuthenticator(identityConfig(), { dataDir: join(dir, 'b'), tokenStore });
    const { token } = await on.issuer!.issue({ subject: 'x', groups: [], ttlMs: 60_000 });
    const off = await createAuthenticator(identityConfig({ serviceTokens: { enabled: false } }), {
      dataDir: join(dir, 'b'),
      tokenStore,
    });
    expect(off.issuer).toBeUndefined();
    expect(await refusal(off.authenticator.authenticate(token))).toBe('token issuer not trusted');
  });

  it('refuses a config where the service token issuer is also an OIDC issuer, and symmetric algorithms', async () => {
    const tokenStore = new MemoryTokenStore();
    await expect(
      createAuthenticator(identityConfig({ serviceTokens: { issuer: 'http://127.0.0.1:9/realms/x' } }), {
        dataDir: join(dir, 'c'),
        tokenStore,
      }),
    ).rejects.toThrow(/also an OIDC issuer/);
    const hs = configSchema.shape.identity.parse({
      oidc: [{ issuer: 'https://idp.example', audience: 'g', algorithms: ['RS256', 'HS256'] }],
    });
    await expect(createAuthenticator(hs, { dataDir: join(dir, 'c'), tokenStore })).rejects.toThrow(
      /algorithm HS256 is not allowed/,
    );
    const http = configSchema.shape.identity.parse({
      oidc: [{ issuer: 'http://idp.example', audience: 'g' }],
    });
    await expect(createAuthenticator(http, { dataDir: join(dir, 'c'), tokenStore })).rejects.toThrow(
      /must use https/,
    );
  });
});
