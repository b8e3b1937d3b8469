// OIDC access-token verification against real issuers over HTTP: an in-process oidc-provider
// (client_credentials + resource indicators → JWT access tokens), and a tiny in-test JWKS issuer
// whose keys, times and claims the test controls (for expiry, nbf, rotation and outages).

import { createHmac, createPublicKey, type JsonWebKey } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import Provider, { type ResourceServerInfo } from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema } from '../src/config/schema.js';
import { GatewayError } from '../src/core/errors.js';
import type { Authenticator } from '../src/core/ports.js';
import type { ServiceTokenIssuer } from '../src/identity/index.js';
import { createAuthenticator, MemoryTokenStore, type BuiltAuthenticator } from '../src/identity/index.js';

const JWKS_COOLDOWN_MS = 1000;
const RETRY_AFTER_FAILURE_MS = 1000;

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(GatewayError);
    expect((e as GatewayError).code).toBe('ERR_AUTH_FAILED');
    return (e as Error).message;
  }
  throw new Error('expected the token to be refused');
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- a real OpenID provider -------------------------------------------------------------------

let providerServer: http.Server;
let providerUrl: string;
let providerPublicJwk: JWK;

async function startProvider(): Promise<void> {
  providerServer = http.createServer();
  providerUrl = await listen(providerServer);
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  providerPublicJwk = { ...(await exportJWK(publicKey)), kid: 'provider-1', alg: 'RS256', use: 'sig' };
  const provider = new Provider(providerUrl, {
    clients: [
      {
        client_id: 'claude-prod',
        client_secret: 'claude-secret',
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
      },
      {
        client_id: 'etl-job',
        client_secret: 'etl-secret',
        grant_types: ['client_credentials'],
        redirect_uris: [],
        response_types: [],
      },
    ],
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'provider-1', alg: 'RS256', use: 'sig' }] },
    ttl: { ClientCredentials: 600 },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => 'urn:gatehouse',
        getResourceServerInfo: (_ctx: unknown, indicator: string): ResourceServerInfo => ({
          audience: indicator === 'urn:grafana' ? 'grafana' : 'gatehouse-db',
          scope: 'db',
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    // Groups nested (read through a dot path) and an agent claim, per client.
    extraTokenClaims: (_ctx, token) =>
      token.clientId === 'claude-prod'
        ? { gatehouse: { groups: ['ai-agents', 'readers'] }, principal_type: 'ai-agent' }
        : { gatehouse: { groups: 'etl, readers' }, principal_type: 'workload' },
  });
  providerServer.on('request', provider.callback());
}

async function providerToken(client: 'claude-prod' | 'etl-job', resource = 'urn:gatehouse'): Promise<string> {
  const secret = client === 'claude-prod' ? 'claude-secret' : 'etl-secret';
  const res = await fetch(`${providerUrl}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${client}:${secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'db', resource }).toString(),
  });
  const body = (await res.json()) as { access_token?: string };
  expect(res.status).toBe(200);
  expect(body.access_token).toMatch(/^ey/);
  return body.access_token!;
}

// ---- a tiny issuer the test controls: discovery + JWKS over real HTTP -------------------------

interface OwnKey {
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
}

let ownServer: http.Server;
let ownUrl: string;
const published: OwnKey[] = [];
let jwksFetches = 0;
let flakyDown = true;
let jwksDown = false;

async function newKey(kid: string): Promise<OwnKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

async function startOwnIssuer(): Promise<void> {
  ownServer = http.createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const url = req.url ?? '';
    if (url === '/own/.well-known/openid-configuration')
      return send(200, { issuer: `${ownUrl}/own`, jwks_uri: `${ownUrl}/own/jwks` });
    if (url === '/own/jwks') {
      jwksFetches++;
      if (jwksDown) return send(503, { error: 'down' });
      return send(200, { keys: published.map((k) => k.jwk) });
    }
    if (url === '/flaky/.well-known/openid-configuration') {
      if (flakyDown) return send(503, { error: 'down' });
      return send(200, { issuer: `${ownUrl}/flaky`, jwks_uri: `${ownUrl}/own/jwks` });
    }
    if (url === '/liar/.well-known/openid-configuration')
      return send(200, { issuer: `${ownUrl}/own`, jwks_uri: `${ownUrl}/own/jwks` });
    return send(404, { error: 'not found' });
  });
  ownUrl = await listen(ownServer);
}

function ownToken(
  key: OwnKey,
  opts: {
    iss?: string;
    aud?: string;
    exp?: number;
    nbf?: number;
    sub?: string;
    claims?: Record<string, unknown>;
  } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({
    roles: ['dbas'],
    ...opts.claims,
    ...(opts.nbf !== undefined ? { nbf: opts.nbf } : {}),
  })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'at+jwt' })
    .setIssuer(opts.iss ?? `${ownUrl}/own`)
    .setAudience(opts.aud ?? 'gatehouse-db')
    .setSubject(opts.sub ?? 'alice@example.com')
    .setIssuedAt(now)
    .setExpirationTime(opts.exp ?? now + 300);
  return jwt.sign(key.privateKey);
}

// ---- the authenticator under test ---------------------------------------------------------------

let dataDir: string;
let tokenStore: MemoryTokenStore;
let built: BuiltAuthenticator;
let auth: Authenticator;
let ownKey1: OwnKey;

function identityConfig() {
  return configSchema.shape.identity.parse({
    oidc: [
      {
        issuer: providerUrl,
        audience: 'gatehouse-db',
        groupsClaim: 'gatehouse.groups',
        agentClaim: { claim: 'principal_type', value: 'ai-agent' },
        algorithms: ['RS256'],
      },
      {
        issuer: `${ownUrl}/own`,
        audience: ['gatehouse-db', 'gatehouse'],
        groupsClaim: 'roles',
        algorithms: ['ES256'],
      },
      { issuer: `${ownUrl}/flaky`, audience: 'gatehouse-db', algorithms: ['ES256'] },
      { issuer: `${ownUrl}/liar`, audience: 'gatehouse-db', algorithms: ['ES256'] },
    ],
  });
}

beforeAll(async () => {
  await Promise.all([startProvider(), startOwnIssuer()]);
  ownKey1 = await newKey('own-1');
  published.push(ownKey1);
  dataDir = await mkdtemp(join(tmpdir(), 'gh-oidc-'));
  tokenStore = new MemoryTokenStore();
  built = await createAuthenticator(identityConfig(), {
    dataDir,
    tokenStore,
    oidc: {
      jwksCooldownMs: JWKS_COOLDOWN_MS,
      retryAfterFailureMs: RETRY_AFTER_FAILURE_MS,
      fetchTimeoutMs: 2000,
    },
  });
  auth = built.authenticator;
});

afterAll(async () => {
  providerServer?.closeAllConnections();
  ownServer?.closeAllConnections();
  await Promise.all([
    new Promise((r) => providerServer?.close(r)),
    new Promise((r) => ownServer?.close(r)),
    rm(dataDir, { recursive: true, force: true }),
  ]);
});

describe('OIDC access tokens from a real oidc-provider', () => {
  it('accepts a good token and maps subject, groups (dot path) and the agent claim', async () => {
    const token = await providerToken('claude-prod');
    const id = await auth.authenticate(token);
    expect(id).toMatchObject({
      subject: 'claude-prod',
      groups: ['ai-agents', 'readers'],
      agent: true,
      tokenKind: 'oidc',
      issuer: providerUrl,
    });
    expect(typeof id.tokenId).toBe('string');
    expect(id.expiresAt!.getTime()).toBeGreaterThan(Date.now());
  });

  it('maps a comma-separated groups string and a non-agent principal', async () => {
    const id = await auth.authenticate(await providerToken('etl-job'));
    expect(id).toMatchObject({ subject: 'etl-job', groups: ['etl', 'readers'], agent: false });
  });

  it('refuses a token issued for another audience', async () => {
    const token = await providerToken('claude-prod', 'urn:grafana');
    expect(await refusal(auth.authenticate(token))).toBe('token audience not accepted');
  });

  it('refuses the provider token once it has expired (clock moved past exp + tolerance)', async () => {
    const token = await providerToken('claude-prod');
    const later = await createAuthenticator(identityConfig(), {
      dataDir,
      tokenStore,
      oidc: { now: () => new Date(Date.now() + 3_600_000) },
    });
    expect(await refusal(later.authenticator.authenticate(token))).toBe('token expired');
  });

  it('refuses alg none, HS256 keyed with the public key, and a tampered payload', async () => {
    const token = await providerToken('claude-prod');
    const [, payload, sig] = token.split('.') as [string, string, string];
    const none = `${b64({ alg: 'none', typ: 'at+jwt' })}.${payload}.`;
    expect(await refusal(auth.authenticate(none))).toBe('token signature algorithm not allowed');

    // Algorithm confusion: HMAC keyed with the issuer's public key (PEM and JWK forms).
    const pem = createPublicKey({
      key: providerPublicJwk as JsonWebKey,
      format: 'jwk',
    }).export({
      type: 'spki',
      format: 'pem',
    });
    for (const secret of [pem, JSON.stringify(providerPublicJwk)]) {
      const header = b64({ alg: 'HS256', typ: 'at+jwt', kid: 'provider-1' });
      const mac = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
      expect(await refusal(auth.authenticate(`${header}.${payload}.${mac}`))).toBe(
        'token signature algorithm not allowed',
      );
    }

    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    claims.gatehouse = { groups: ['admins'] };
    const tampered = `${token.split('.')[0]}.${b64(claims)}.${sig}`;
    expect(await refusal(auth.authenticate(tampered))).toBe('token signature invalid');
  });

  it('refuses a token from an unconfigured issuer, and one that claims the provider but is signed elsewhere', async () => {
    expect(await refusal(auth.authenticate(await ownToken(ownKey1, { iss: 'https://evil.example' })))).toBe(
      'token issuer not trusted',
    );
    // Claims the provider's issuer; its key (kid own-1) is not in the provider's JWKS.
    const spoof = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'provider-1' })
      .setIssuer(providerUrl)
      .setAudience('gatehouse-db')
      .setSubject('mallory')
      .setExpirationTime('5m')
      .sign((await generateKeyPair('RS256')).privateKey);
    expect(await refusal(auth.authenticate(spoof))).toBe('token signature invalid');
  });

  it('refuses garbage', async () => {
    expect(await refusal(auth.authenticate('not-a-token'))).toBe('token is not a JWT');
    expect(await refusal(auth.authenticate('eyJhbGciOiJSUzI1NiJ9.e30'))).toBe('token is not a JWT');
    expect(await refusal(auth.authenticate(''))).toBe('no token presented');
  });
});

describe('OIDC access tokens from an issuer the test controls', () => {
  it('accepts a good token; tolerates small clock skew', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await auth.authenticate(await ownToken(ownKey1))).toMatchObject({
      subject: 'alice@example.com',
      groups: ['dbas'],
      agent: false,
    });
    // 10 s past exp, inside the default 30 s clockTolerance.
    expect((await auth.authenticate(await ownToken(ownKey1, { exp: now - 10 }))).subject).toBe(
      'alice@example.com',
    );
    // Second configured audience.
    expect((await auth.authenticate(await ownToken(ownKey1, { aud: 'gatehouse' }))).subject).toBe(
      'alice@example.com',
    );
  });

  it('names the person behind a token only by a verified e-mail address', async () => {
    const as = async (claims: Record<string, unknown>) =>
      (await auth.authenticate(await ownToken(ownKey1, { sub: 'u-1', claims }))).person;
    expect(await as({ email: ' Alice@Example.COM', email_verified: true })).toBe('alice@example.com');
    // Providers that can only emit strings.
    expect(await as({ email: 'alice@example.com', email_verified: 'true' })).toBe('alice@example.com');
    expect(await as({ email: 'alice@example.com', email_verified: false })).toBeUndefined();
    expect(await as({ email: 'alice@example.com' })).toBeUndefined();
    expect(await as({ email: ['alice@example.com'], email_verified: true })).toBeUndefined();
    expect(await as({})).toBeUndefined();
  });

  it('refuses expired, not yet valid and wrong-audience tokens', async () => {
    const now = Math.floor(Date.now() / 1000);
    expect(await refusal(auth.authenticate(await ownToken(ownKey1, { exp: now - 120 })))).toBe(
      'token expired',
    );
    expect(await refusal(auth.authenticate(await ownToken(ownKey1, { nbf: now + 300 })))).toBe(
      'token not yet valid',
    );
    expect(await refusal(auth.authenticate(await ownToken(ownKey1, { aud: 'grafana' })))).toBe(
      'token audience not accepted',
    );
  });

  it('unknown kid: refused without a JWKS storm; a rotated-in key is accepted after one refetch', async () => {
    await auth.authenticate(await ownToken(ownKey1)); // key set loaded
    await sleep(JWKS_COOLDOWN_MS + 100);

    const rogue = await newKey('rogue');
    const before = jwksFetches;
    const rogueToken = await ownToken(rogue);
    // A burst of tokens naming an unknown kid: one refetch for all of them, then none (cooldown).
    const results = await Promise.all(
      Array.from({ length: 20 }, () => refusal(auth.authenticate(rogueToken))),
    );
    expect(new Set(results)).toEqual(new Set(['token signing key not recognised']));
    for (let i = 0; i < 10; i++)
      expect(await refusal(auth.authenticate(rogueToken))).toBe('token signing key not recognised');
    expect(jwksFetches - before).toBe(1);

    // The issuer rotates in a new key. Within the cooldown it is not yet known…
    const rotated = await newKey('own-2');
    published.push(rotated);
    const rotatedToken = await ownToken(rotated);
    expect(await refusal(auth.authenticate(rotatedToken))).toBe('token signing key not recognised');
    expect(jwksFetches - before).toBe(1);
    // …and once the cooldown has passed, concurrent requests share one refetch and all succeed.
    await sleep(JWKS_COOLDOWN_MS + 100);
    const ids = await Promise.all(Array.from({ length: 10 }, () => auth.authenticate(rotatedToken)));
    expect(ids.every((id) => id.subject === 'alice@example.com')).toBe(true);
    expect(jwksFetches - before).toBe(2);
    // The old key still works while it is published.
    expect((await auth.authenticate(await ownToken(ownKey1))).subject).toBe('alice@example.com');
    expect(jwksFetches - before).toBe(2);
  });

  it('a provider outage refuses with "identity provider unreachable" and recovers after the retry pause', async () => {
    const token = await ownToken(ownKey1, { iss: `${ownUrl}/flaky` });
    flakyDown = true;
    expect(await refusal(auth.authenticate(token))).toBe('identity provider unreachable');
    flakyDown = false;
    // Within the retry pause the failure stands (no request storm)…
    expect(await refusal(auth.authenticate(token))).toBe('identity provider unreachable');
    await sleep(RETRY_AFTER_FAILURE_MS + 100);
    // …after it, discovery is tried again and succeeds.
    expect((await auth.authenticate(token)).issuer).toBe(`${ownUrl}/flaky`);
  });

  it('a JWKS outage after start-up: known keys keep working, unknown kids are refused, no request storm', async () => {
    const own = configSchema.shape.identity.parse({
      serviceTokens: { enabled: false },
      oidc: [
        { issuer: `${ownUrl}/own`, audience: 'gatehouse-db', groupsClaim: 'roles', algorithms: ['ES256'] },
      ],
    });
    const a = (
      await createAuthenticator(own, {
        dataDir,
        tokenStore,
        oidc: { jwksMaxAgeMs: 200, jwksCooldownMs: 100, retryAfterFailureMs: 1500 },
      })
    ).authenticator;
    const good = await ownToken(ownKey1);
    await a.authenticate(good);
    jwksDown = true;
    try {
      await sleep(250); // the key set is now stale: the next request refreshes it, and that fails
      const before = jwksFetches;
      expect((await a.authenticate(good)).subject).toBe('alice@example.com');
      const rogue = await ownToken(await newKey('rogue-2'));
      for (let i = 0; i < 10; i++) {
        expect(await refusal(a.authenticate(rogue))).toBe('identity provider unreachable');
        expect((await a.authenticate(good)).subject).toBe('alice@example.com');
      }
      expect(jwksFetches - before).toBe(1);
    } finally {
      jwksDown = false;
    }
    await sleep(1600);
    expect((await a.authenticate(good)).subject).toBe('alice@example.com');
  });

  it('a discovery document naming another issuer is not trusted (Discovery §4.3)', async () => {
    const token = await ownToken(ownKey1, { iss: `${ownUrl}/liar` });
    expect(await refusal(auth.authenticate(token))).toBe('identity provider unreachable');
  });
});

describe('service tokens through the same authenticator', () => {
  it('accepts a service token and refuses it once revoked', async () => {
    const issuer = built.issuer as ServiceTokenIssuer;
    const { token, record } = await issuer.issue({
      subject: 'claude-prod',
      groups: ['ai-agents'],
      ttlMs: 3_600_000,
      agent: true,
    });
    expect(await auth.authenticate(token)).toMatchObject({
      subject: 'claude-prod',
      tokenKind: 'service',
      agent: true,
      issuer: 'gatehouse',
    });
    await tokenStore.revokeServiceToken(record.id, new Date());
    built.serviceTokens!.noteRevoked(record.id);
    expect(await refusal(auth.authenticate(token))).toBe('token revoked');
  });
});
