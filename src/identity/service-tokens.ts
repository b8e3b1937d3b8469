// Gateway-issued service tokens for agents and automation: Ed25519-signed JWTs (alg EdDSA) that
// are listed and revocable through the TokenStore. The token itself is returned once and never stored.
//
// Format (RFC 7519, explicitly typed per RFC 8725 §3.11): header {alg: EdDSA, typ: gh+jwt, kid},
// claims {iss, aud: "gatehouse", sub, groups, agent, jti, iat, nbf, exp}. A compact JWT has no
// whitespace, so it works as a libpq password as it is.
//
// Revocation: ServiceTokenAuthenticator asks TokenStore.isRevoked and remembers a "not revoked"
// answer for at most 4 s (revocationCacheMs), so a token revoked from another process (the CLI,
// another replica) stops working within 5 s (the gate re-checks live sessions every second); `noteRevoked` makes it immediate in this process.
// If the store cannot answer, the token is refused (fail closed).

import { randomUUID, type KeyObject } from 'node:crypto';
import { jwtVerify, SignJWT } from 'jose';
import type { Identity } from '../core/identity.js';
import type { Authenticator, TokenStore } from '../core/ports.js';
import type { ServiceTokenRecord } from '../core/records.js';
import { authFailed, missingClaim, refusalFromJose, REFUSAL } from './auth-refusal.js';
import { peekJwt } from './jwt-peek.js';
import { awsDerivationKey, deriveAwsKeyPair, type AwsKeyPair } from './aws-access-keys.js';
import { ServiceTokenRequestError } from './service-token-request-error.js';

export const SERVICE_TOKEN_TYPE = 'gh+jwt';
export const SERVICE_TOKEN_AUDIENCE = 'gatehouse';
export const DEFAULT_SERVICE_TOKEN_ISSUER = 'gatehouse';
/** Upper bound on how long a "not revoked" answer is trusted. */
export const MAX_REVOCATION_CACHE_MS = 4_000;

export interface IssueRequest {
  readonly subject: string;
  readonly groups: readonly string[];
  readonly ttlMs: number;
  readonly agent?: boolean;
  readonly description?: string;
  /** The person the token acts for (an e-mail address): an agent's owner, who never approves its requests. */
  readonly person?: string;
}

export interface IssuedToken {
  /** The bearer token: show it once, never log or store it. */
  readonly token: string;
  readonly record: ServiceTokenRecord;
}

export { ServiceTokenRequestError };

// Printable, no whitespace or control characters (names end up in records and in policy matches).
const NAME = /^[^\s\p{Cc}]{1,200}$/u;
const GROUP = /^[^\s,\p{Cc}]{1,200}$/u;
const PERSON = /^[^\s@\p{Cc}]{1,200}@[^\s@\p{Cc}]{1,200}$/u;

export interface ServiceTokenIssuerOptions {
  readonly privateKey: KeyObject;
  /** `kid` header: the signing key's JWK thumbprint. */
  readonly kid: string;
  readonly tokenStore: TokenStore;
  readonly issuer?: string;
  readonly maxTtlMs: number;
  readonly now?: () => Date;
}

export class ServiceTokenIssuer {
  readonly #o: ServiceTokenIssuerOptions;
  readonly issuer: string;

  constructor(options: ServiceTokenIssuerOptions) {
    if (options.privateKey.asymmetricKeyType !== 'ed25519')
      throw new TypeError('service tokens are signed with an Ed25519 key');
    this.#o = options;
    this.issuer = options.issuer ?? DEFAULT_SERVICE_TOKEN_ISSUER;
  }

  get maxTtlMs(): number {
    return this.#o.maxTtlMs;
  }

  /** Signs a token and saves its metadata first: if the record cannot be saved, no token exists. */
  async issue(req: IssueRequest): Promise<IssuedToken> {
    if (!NAME.test(req.subject)) {
      throw new ServiceTokenRequestError('subject must be 1–200 printable characters without spaces');
    }
    const groups = [...new Set(req.groups)];
    for (const g of groups) {
      if (!GROUP.test(g))
        throw new ServiceTokenRequestError(
          `group ${JSON.stringify(g)} must be 1–200 printable characters without spaces or commas`,
        );
    }
    if (groups.length > 100) throw new ServiceTokenRequestError('at most 100 groups');
    if (!Number.isSafeInteger(req.ttlMs) || req.ttlMs < 1000)
      throw new ServiceTokenRequestError('ttl must be at least 1s');
    if (req.ttlMs > this.#o.maxTtlMs) {
      throw new ServiceTokenRequestError(
        `ttl ${formatMs(req.ttlMs)} exceeds identity.serviceTokens.maxTtl (${formatMs(this.#o.maxTtlMs)})`,
      );
    }
    if (req.description !== undefined && (req.description.length > 500 || /\p{Cc}/u.test(req.description))) {
      throw new ServiceTokenRequestError('description must be at most 500 characters on one line');
    }

    const person = req.person?.trim().toLowerCase();
    if (person !== undefined && person !== '' && !PERSON.test(person)) {
      throw new ServiceTokenRequestError('person must be an e-mail address (name@domain)');
    }
    const iat = Math.floor((this.#o.now?.() ?? new Date()).getTime() / 1000);
    const exp = iat + Math.ceil(req.ttlMs / 1000);
    const agent = req.agent ?? false;
    const record: ServiceTokenRecord = {
      id: randomUUID(),
      subject: req.subject,
      groups,
      agent,
      issuedAt: new Date(iat * 1000),
      expiresAt: new Date(exp * 1000),
      ...(req.description !== undefined && req.description !== '' ? { description: req.description } : {}),
      ...(person ? { person } : {}),
    };
    const token = await this.signFor(record);
    await this.#o.tokenStore.saveServiceToken(record);
    return { token, record };
  }

  /**
   * The token for an already issued record (same id, subject, groups, agent flag and lifetime). Used to
   * turn a Gatehouse AWS access key back into the token it is bound to; revoking the record revokes both.
   */
  async signFor(record: ServiceTokenRecord): Promise<string> {
    const iat = Math.floor(record.issuedAt.getTime() / 1000);
    return new SignJWT({
      groups: [...record.groups],
      agent: record.agent,
      ...(record.person ? { person: record.person } : {}),
    })
      .setProtectedHeader({ alg: 'EdDSA', typ: SERVICE_TOKEN_TYPE, kid: this.#o.kid })
      .setIssuer(this.issuer)
      .setAudience(SERVICE_TOKEN_AUDIENCE)
      .setSubject(record.subject)
      .setJti(record.id)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(Math.floor(record.expiresAt.getTime() / 1000))
      .sign(this.#o.privateKey);
  }

  /** The AWS access key pair bound to a token id (derived, never stored: src/identity/aws-access-keys.ts). */
  awsKeyPair(tokenId: string): AwsKeyPair {
    return deriveAwsKeyPair((this.#awsKey ??= awsDerivationKey(this.#o.privateKey)), tokenId);
  }

  #awsKey: Buffer | undefined;
}

function formatMs(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

export interface ServiceTokenAuthenticatorOptions {
  readonly publicKey: KeyObject;
  readonly kid: string;
  readonly tokenStore: TokenStore;
  readonly issuer?: string;
  /** Tolerated clock skew between replicas (default 5 s). */
  readonly clockToleranceMs?: number;
  /** How long a "not revoked" answer is reused; capped at 5 s (default 5 s). */
  readonly revocationCacheMs?: number;
  readonly now?: () => Date;
}

const REVOCATION_CACHE_ENTRIES = 10_000;

export class ServiceTokenAuthenticator implements Authenticator {
  readonly #o: ServiceTokenAuthenticatorOptions;
  readonly issuer: string;
  readonly #cacheMs: number;
  /** jti → until when "not revoked" may be reused (ms epoch), or Infinity once seen revoked. */
  readonly #revocation = new Map<string, number>();

  constructor(options: ServiceTokenAuthenticatorOptions) {
    if (options.publicKey.asymmetricKeyType !== 'ed25519')
      throw new TypeError('service tokens are verified with an Ed25519 key');
    this.#o = options;
    this.issuer = options.issuer ?? DEFAULT_SERVICE_TOKEN_ISSUER;
    this.#cacheMs = Math.max(
      0,
      Math.min(options.revocationCacheMs ?? MAX_REVOCATION_CACHE_MS, MAX_REVOCATION_CACHE_MS),
    );
  }

  async authenticate(token: string): Promise<Identity> {
    const { header } = peekJwt(token);
    // Checked before the signature so that a token from a replaced key gets a precise refusal;
    // alg is checked first so `alg: none` / HS256 report the algorithm, not the key.
    if (header.alg === 'EdDSA' && header.kid !== undefined && header.kid !== this.#o.kid)
      throw authFailed(REFUSAL.unknownKey);

    let payload: Record<string, unknown>;
    try {
      const now = this.#o.now?.();
      ({ payload } = await jwtVerify(token, this.#o.publicKey, {
        issuer: this.issuer,
        audience: SERVICE_TOKEN_AUDIENCE,
        algorithms: ['EdDSA'],
        typ: SERVICE_TOKEN_TYPE,
        clockTolerance: Math.floor((this.#o.clockToleranceMs ?? 5_000) / 1000),
        requiredClaims: ['sub', 'jti', 'exp', 'iat'],
        ...(now ? { currentDate: now } : {}),
      }));
    } catch (e) {
      throw refusalFromJose(e);
    }

    const { sub, jti, groups, agent, exp, person } = payload;
    if (typeof sub !== 'string' || sub === '') throw authFailed(REFUSAL.noSubject);
    if (typeof jti !== 'string' || jti === '') throw authFailed(missingClaim('jti'));
    if (!Array.isArray(groups) || !groups.every((g): g is string => typeof g === 'string'))
      throw authFailed(REFUSAL.badGroups);
    if (typeof agent !== 'boolean') throw authFailed(REFUSAL.badAgent);
    if (await this.#isRevoked(jti)) throw authFailed(REFUSAL.revoked);

    return {
      subject: sub,
      groups,
      tokenKind: 'service',
      agent,
      issuer: this.issuer,
      tokenId: jti,
      // Signed by this gateway from what the admin who issued the token stated (class 124).
      ...(typeof person === 'string' && person !== '' ? { person: person.toLowerCase() } : {}),
      ...(typeof exp === 'number' ? { expiresAt: new Date(exp * 1000) } : {}),
    };
  }

  /**
   * Live sessions ask again while they last (the gate, about once a second): a revoked token ends
   * its open sessions within the revocation cache's lifetime (at most 5 s).
   */
  async revalidate(identity: Identity): Promise<void> {
    if (identity.tokenKind !== 'service' || identity.tokenId === undefined) return;
    if (await this.#isRevoked(identity.tokenId)) throw authFailed(REFUSAL.revoked);
  }

  /** Makes a revocation done in this process effective at once, without waiting for the cache. */
  noteRevoked(id: string): void {
    this.#remember(id, Number.POSITIVE_INFINITY);
  }

  async #isRevoked(jti: string): Promise<boolean> {
    const until = this.#revocation.get(jti);
    if (until === Number.POSITIVE_INFINITY) return true;
    if (until !== undefined && Date.now() < until) return false;
    let revoked: boolean;
    try {
      revoked = await this.#o.tokenStore.isRevoked(jti);
    } catch (e) {
      throw authFailed(REFUSAL.revocationUnavailable, e);
    }
    // Revocation is permanent; "not revoked" is only true for now.
    this.#remember(jti, revoked ? Number.POSITIVE_INFINITY : Date.now() + this.#cacheMs);
    return revoked;
  }

  #remember(jti: string, until: number): void {
    this.#revocation.delete(jti);
    if (this.#revocation.size >= REVOCATION_CACHE_ENTRIES) {
      const oldest = this.#revocation.keys().next();
      if (!oldest.done) this.#revocation.delete(oldest.value);
    }
    this.#revocation.set(jti, until);
  }
}
