import { createHmac, generateKeyPairSync } from 'node:crypto';
import { calculateJwkThumbprint, decodeJwt, decodeProtectedHeader, exportJWK, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { GatewayError } from '../core/errors.js';
import type { TokenStore } from '../core/ports.js';
import { MemoryTokenStore } from './memory-token-store.js';
import { ServiceTokenAuthenticator, ServiceTokenIssuer, ServiceTokenRequestError } from './service-tokens.js';

const HOUR = 3_600_000;

async function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey, kid: await calculateJwkThumbprint(await exportJWK(publicKey)) };
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

let key: Awaited<ReturnType<typeof keyPair>>;
beforeAll(async () => {
  key = await keyPair();
});

function setup(opts: { now?: () => Date; store?: TokenStore; revocationCacheMs?: number } = {}) {
  const store = opts.store ?? new MemoryTokenStore();
  const issuer = new ServiceTokenIssuer({
    privateKey: key.privateKey,
    kid: key.kid,
    tokenStore: store,
    maxTtlMs: 30 * 24 * HOUR,
  });
  const auth = new ServiceTokenAuthenticator({
    publicKey: key.publicKey,
    kid: key.kid,
    tokenStore: store,
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.revocationCacheMs !== undefined ? { revocationCacheMs: opts.revocationCacheMs } : {}),
  });
  return { store, issuer, auth };
}

describe('service tokens', () => {
  it('issues a compact EdDSA JWT that verifies to the right identity', async () => {
    const { store, issuer, auth } = setup();
    const { token, record } = await issuer.issue({
      subject: 'claude-prod',
      groups: ['ai-agents', 'readers', 'ai-agents'],
      ttlMs: 8 * HOUR,
      agent: true,
      description: 'prod agent',
    });
    expect(token).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/); // usable as a libpq password: no whitespace
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'EdDSA', typ: 'gh+jwt', kid: key.kid });
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({
      iss: 'gatehouse',
      aud: 'gatehouse',
      sub: 'claude-prod',
      agent: true,
      jti: record.id,
    });
    expect(claims.exp! - claims.iat!).toBe(8 * 3600);

    expect(record).toMatchObject({
      subject: 'claude-prod',
      groups: ['ai-agents', 'readers'],
      agent: true,
      description: 'prod agent',
    });
    expect(record.expiresAt.getTime() - record.issuedAt.getTime()).toBe(8 * HOUR);
    expect(await store.listServiceTokens()).toEqual([record]);
    expect(JSON.stringify(await store.listServiceTokens())).not.toContain(token.split('.')[2]);

    const id = await auth.authenticate(token);
    expect(id).toEqual({
      subject: 'claude-prod',
      groups: ['ai-agents', 'readers'],
      tokenKind: 'service',
      agent: true,
      issuer: 'gatehouse',
      tokenId: record.id,
      expiresAt: record.expiresAt,
    });
  });

  it('agent defaults to false', async () => {
    const { issuer, auth } = setup();
    const { token } = await issuer.issue({ subject: 'ci-bot', groups: [], ttlMs: HOUR });
    expect(await auth.authenticate(token)).toMatchObject({ agent: false, groups: [] });
  });

  it('refuses an expired token, and a token before its nbf', async () => {
    const { issuer } = setup();
    const { token } = await issuer.issue({ subject: 'x', groups: [], ttlMs: 60_000 });
    const later = setup({ now: () => new Date(Date.now() + 61_000 + 5_000) }).auth;
    // The store in `later` does not know the token; expiry is checked before revocation anyway.
    expect(await refusal(later.authenticate(token))).toBe('token expired');
    const earlier = setup({ now: () => new Date(Date.now() - 60_000) }).auth;
    expect(await refusal(earlier.authenticate(token))).toBe('token not yet valid');
  });

  it('refuses a token signed with another key (same kid forged, or another kid)', async () => {
    const other = await keyPair();
    const store = new MemoryTokenStore();
    const foreign = new ServiceTokenIssuer({
      privateKey: other.privateKey,
      kid: other.kid,
      tokenStore: store,
      maxTtlMs: HOUR,
    });
    const { auth } = setup({ store });
    const { token } = await foreign.issue({ subject: 'mallory', groups: ['admins'], ttlMs: HOUR });
    expect(await refusal(auth.authenticate(token))).toBe('token signing key not recognised');
    const forgedKid = new ServiceTokenIssuer({
      privateKey: other.privateKey,
      kid: key.kid,
      tokenStore: store,
      maxTtlMs: HOUR,
    });
    const { token: t2 } = await forgedKid.issue({ subject: 'mallory', groups: ['admins'], ttlMs: HOUR });
    expect(await refusal(auth.authenticate(t2))).toBe('token signature invalid');
  });

  it('refuses a tampered payload', async () => {
    const { issuer, auth } = setup();
    const { token } = await issuer.issue({ subject: 'reader', groups: ['readers'], ttlMs: HOUR });
    const [h, p, s] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    claims.groups = ['admins'];
    const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
    expect(await refusal(auth.authenticate(forged))).toBe('token signature invalid');
  });

  it('refuses alg none and HS256 keyed with the public key', async () => {
    const { issuer, auth } = setup();
    const { token } = await issuer.issue({ subject: 'x', groups: [], ttlMs: HOUR });
    const payload = token.split('.')[1]!;
    const noneHeader = Buffer.from(JSON.stringify({ alg: 'none', typ: 'gh+jwt' })).toString('base64url');
    expect(await refusal(auth.authenticate(`${noneHeader}.${payload}.`))).toBe(
      'token signature algorithm not allowed',
    );

    const hsHeader = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'gh+jwt', kid: key.kid })).toString(
      'base64url',
    );
    const pem = key.publicKey.export({ format: 'pem', type: 'spki' });
    const sig = createHmac('sha256', pem).update(`${hsHeader}.${payload}`).digest('base64url');
    expect(await refusal(auth.authenticate(`${hsHeader}.${payload}.${sig}`))).toBe(
      'token signature algorithm not allowed',
    );
  });

  it('refuses wrong issuer, audience and type even when correctly signed', async () => {
    const { auth } = setup();
    const base = () =>
      new SignJWT({ groups: [], agent: false })
        .setSubject('x')
        .setJti('j1')
        .setIssuedAt()
        .setExpirationTime('1h');
    const sign = (b: SignJWT, typ = 'gh+jwt') =>
      b.setProtectedHeader({ alg: 'EdDSA', typ, kid: key.kid }).sign(key.privateKey);
    expect(
      await refusal(auth.authenticate(await sign(base().setIssuer('other').setAudience('gatehouse')))),
    ).toBe('token issuer not trusted');
    expect(
      await refusal(auth.authenticate(await sign(base().setIssuer('gatehouse').setAudience('grafana')))),
    ).toBe('token audience not accepted');
    expect(
      await refusal(
        auth.authenticate(await sign(base().setIssuer('gatehouse').setAudience('gatehouse'), 'JWT')),
      ),
    ).toBe('token type not accepted');
    const noExp = new SignJWT({ groups: [], agent: false }).setSubject('x').setJti('j2').setIssuedAt();
    expect(
      await refusal(auth.authenticate(await sign(noExp.setIssuer('gatehouse').setAudience('gatehouse')))),
    ).toBe('token is missing the exp claim');
    const badGroups = new SignJWT({ groups: 'admins', agent: false })
      .setSubject('x')
      .setJti('j3')
      .setIssuedAt()
      .setExpirationTime('1h');
    expect(
      await refusal(auth.authenticate(await sign(badGroups.setIssuer('gatehouse').setAudience('gatehouse')))),
    ).toBe('token groups claim is malformed');
  });

  it('refuses a revoked token; a revocation from elsewhere takes effect once the ≤5 s cache lapses', async () => {
    const store = new MemoryTokenStore();
    let lookups = 0;
    const counting: TokenStore = {
      saveServiceToken: (r) => store.saveServiceToken(r),
      listServiceTokens: () => store.listServiceTokens(),
      revokeServiceToken: (id, at) => store.revokeServiceToken(id, at),
      isRevoked: (id) => {
        lookups++;
        return store.isRevoked(id);
      },
    };
    const { issuer, auth } = setup({ store: counting, revocationCacheMs: 150 });
    const { token, record } = await issuer.issue({
      subject: 'claude-prod',
      groups: [],
      ttlMs: HOUR,
      agent: true,
    });
    await auth.authenticate(token);
    await auth.authenticate(token);
    expect(lookups).toBe(1); // cached

    expect(await store.revokeServiceToken(record.id, new Date())).toBe(true);
    expect(await store.revokeServiceToken(record.id, new Date())).toBe(false);
    await auth.authenticate(token); // still inside the cache window
    await new Promise((r) => setTimeout(r, 200));
    expect(await refusal(auth.authenticate(token))).toBe('token revoked');
    expect((await store.listServiceTokens())[0]?.revokedAt).toBeInstanceOf(Date);
  });

  it('noteRevoked makes an in-process revocation immediate', async () => {
    const { issuer, auth } = setup();
    const { token, record } = await issuer.issue({ subject: 'x', groups: [], ttlMs: HOUR });
    await auth.authenticate(token);
    auth.noteRevoked(record.id);
    expect(await refusal(auth.authenticate(token))).toBe('token revoked');
  });

  it('fails closed when the store cannot say whether a token is revoked', async () => {
    const store = new MemoryTokenStore();
    const broken: TokenStore = {
      saveServiceToken: (r) => store.saveServiceToken(r),
      listServiceTokens: () => store.listServiceTokens(),
      revokeServiceToken: (id, at) => store.revokeServiceToken(id, at),
      isRevoked: () => Promise.reject(new Error('database is locked')),
    };
    const { issuer, auth } = setup({ store: broken });
    const { token } = await issuer.issue({ subject: 'x', groups: [], ttlMs: HOUR });
    expect(await refusal(auth.authenticate(token))).toBe('token revocation status unavailable');
  });

  it('enforces maxTtl and validates the request', async () => {
    const { issuer, store } = setup();
    await expect(issuer.issue({ subject: 'x', groups: [], ttlMs: 31 * 24 * HOUR })).rejects.toThrow(
      new ServiceTokenRequestError('ttl 31d exceeds identity.serviceTokens.maxTtl (30d)'),
    );
    await expect(issuer.issue({ subject: 'two words', groups: [], ttlMs: HOUR })).rejects.toThrow(/subject/);
    await expect(issuer.issue({ subject: 'x', groups: ['a,b'], ttlMs: HOUR })).rejects.toThrow(/group/);
    await expect(issuer.issue({ subject: 'x', groups: [], ttlMs: 10 })).rejects.toThrow(/at least 1s/);
    expect(await store.listServiceTokens()).toEqual([]);
  });

  it('issues no token when its record cannot be saved', async () => {
    const store = new MemoryTokenStore();
    const failing: TokenStore = {
      saveServiceToken: () => Promise.reject(new Error('disk full')),
      listServiceTokens: () => store.listServiceTokens(),
      revokeServiceToken: (id, at) => store.revokeServiceToken(id, at),
      isRevoked: (id) => store.isRevoked(id),
    };
    const { issuer } = setup({ store: failing });
    await expect(issuer.issue({ subject: 'x', groups: [], ttlMs: HOUR })).rejects.toThrow('disk full');
  });
});
