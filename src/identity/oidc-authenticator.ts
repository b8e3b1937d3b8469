// Verifies OIDC access tokens (JWT) from configured issuers against keys found through discovery.
// It must not trust a claim before the signature, issuer, audience and times have been checked.
//
// Flow per token: peek at the unverified `iss` only to pick the issuer's config → lazily discover
// `<issuer>/.well-known/openid-configuration` → `jwks_uri` (OpenID Connect Discovery 1.0 §4) →
// jose jwtVerify with the issuer, audience, algorithm allow-list, clock tolerance and a required
// `exp` → map subject, groups and the agent flag from configured claims.
//
// Key rotation: jose's createRemoteJWKSet refetches the JWKS when a token names an unknown `kid`,
// but at most once per cooldown (default 30 s) measured from the last successful fetch; concurrent
// requests share one in-flight fetch. So a burst of tokens with an unknown kid costs one fetch, and
// a key an issuer rotates in is accepted after that one refetch.
// Outages: a failed discovery refuses with "identity provider unreachable" and is retried after
// `retryAfterFailureMs` (default 5 s); failures are never cached for longer. A failed JWKS refresh
// falls back to the keys last fetched (for the same pause), so an outage after start-up refuses
// only tokens whose key the gateway has never seen.

import { createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, jwtVerify } from 'jose';
import type { JWTVerifyGetKey, JWTVerifyOptions } from 'jose';
import { toMs, type OidcIssuerConfig } from '../config/schema.js';
import { ERROR_CODES, GatewayError } from '../core/errors.js';
import type { Identity } from '../core/identity.js';
import type { Authenticator, Logger } from '../core/ports.js';
import { authFailed, refusalFromJose, REFUSAL } from './auth-refusal.js';
import {
  agentFromClaim,
  emailVerified,
  groupsFromClaim,
  personFromClaims,
  readClaim,
  subjectFromClaim,
} from './claim-mapping.js';
import { peekJwt } from './jwt-peek.js';

/**
 * Signature algorithms that can be verified with a public key from a JWKS. Symmetric (HS*) and
 * `none` are never allowed: with them, anyone holding the issuer's *public* key could mint tokens
 * (RFC 8725 §2.1, §3.1 — algorithm confusion).
 */
export const ASYMMETRIC_ALGORITHMS: ReadonlySet<string> = new Set([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
]);

export interface OidcAuthenticatorOptions {
  readonly logger?: Logger;
  /** Timeout of the discovery request and of each JWKS request (default 5 s). */
  readonly fetchTimeoutMs?: number;
  /** After a failed discovery or JWKS fetch, refuse without retrying for this long (default 5 s). */
  readonly retryAfterFailureMs?: number;
  /** Minimum time between JWKS refetches triggered by an unknown kid (default 30 s). */
  readonly jwksCooldownMs?: number;
  /** Refetch the JWKS when it is older than this, even if every kid is known (default 10 min). */
  readonly jwksMaxAgeMs?: number;
  /**
   * Allow plain-http discovery/JWKS URLs on hosts other than loopback. Off by default: keys fetched
   * over http can be replaced by anyone on the path.
   */
  readonly allowInsecureHttp?: boolean;
  /** Clock for exp/nbf checks (tests). */
  readonly now?: () => Date;
  /**
   * Audiences whose tokens are handed to agents' clients (the MCP resource: an MCP client obtains
   * its token by OAuth for it). A token naming one is an agent's, whatever person it names and
   * whatever its claims say: it never approves, signs in to the console or reads the records.
   */
  readonly agentAudience?: (aud: string) => boolean;
  /**
   * The gateway's own OAuth clients at an issuer (the console's and approval page's sign-in): people's
   * clients whenever the issuer lists `peopleClients`.
   */
  readonly signInClients?: (issuer: string) => readonly string[];
}

/** Claims naming the OAuth client a token was issued to: RFC 9068, OIDC Core, Okta, Entra ID v1. */
const CLIENT_CLAIMS = ['client_id', 'azp', 'cid', 'appid'] as const;

interface IssuerState {
  readonly config: OidcIssuerConfig;
  readonly verifyOptions: JWTVerifyOptions;
  keys?: JWTVerifyGetKey;
  pending?: Promise<JWTVerifyGetKey>;
  failedAt?: number;
}

function configError(message: string): GatewayError {
  return new GatewayError(ERROR_CODES.CONFIG_INVALID, message);
}

function isLoopback(url: URL): boolean {
  const h = url.hostname;
  return h === 'localhost' || h === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

export class OidcAuthenticator implements Authenticator {
  readonly #issuers = new Map<string, IssuerState>();
  readonly #opts: Required<
    Omit<OidcAuthenticatorOptions, 'logger' | 'now' | 'agentAudience' | 'signInClients'>
  > &
    Pick<OidcAuthenticatorOptions, 'logger' | 'now' | 'agentAudience' | 'signInClients'>;

  constructor(issuers: readonly OidcIssuerConfig[], options: OidcAuthenticatorOptions = {}) {
    this.#opts = {
      fetchTimeoutMs: options.fetchTimeoutMs ?? 5_000,
      retryAfterFailureMs: options.retryAfterFailureMs ?? 5_000,
      jwksCooldownMs: options.jwksCooldownMs ?? 30_000,
      jwksMaxAgeMs: options.jwksMaxAgeMs ?? 600_000,
      allowInsecureHttp: options.allowInsecureHttp ?? false,
      logger: options.logger,
      now: options.now,
      agentAudience: options.agentAudience,
      signInClients: options.signInClients,
    };
    for (const config of issuers) {
      if (this.#issuers.has(config.issuer))
        throw configError(`identity.oidc lists issuer ${config.issuer} twice`);
      if (config.algorithms.length === 0)
        throw configError(`identity.oidc ${config.issuer}: algorithms is empty`);
      for (const alg of config.algorithms) {
        if (!ASYMMETRIC_ALGORITHMS.has(alg)) {
          throw configError(
            `identity.oidc ${config.issuer}: algorithm ${alg} is not allowed; use asymmetric algorithms (${[...ASYMMETRIC_ALGORITHMS].join(', ')})`,
          );
        }
      }
      this.#checkUrl(new URL(config.issuer), config.issuer, 'issuer');
      if (config.jwksUri !== undefined) this.#checkUrl(new URL(config.jwksUri), config.issuer, 'jwksUri');
      const audience = typeof config.audience === 'string' ? [config.audience] : [...config.audience];
      if (audience.length === 0) throw configError(`identity.oidc ${config.issuer}: audience is empty`);
      this.#issuers.set(config.issuer, {
        config,
        verifyOptions: {
          issuer: config.issuer,
          audience,
          algorithms: [...config.algorithms],
          // jose takes seconds; the config holds a duration.
          clockTolerance: Math.floor(toMs(config.clockTolerance) / 1000),
          requiredClaims: ['exp'],
        },
      });
    }
  }

  /** Issuer URLs this authenticator verifies (exactly as they must appear in `iss`). */
  get issuers(): readonly string[] {
    return [...this.#issuers.keys()];
  }

  handles(iss: string): boolean {
    return this.#issuers.has(iss);
  }

  async authenticate(token: string): Promise<Identity> {
    const { claims } = peekJwt(token);
    const iss = claims.iss;
    const state = typeof iss === 'string' ? this.#issuers.get(iss) : undefined;
    if (!state) throw authFailed(REFUSAL.issuerNotTrusted);

    const keys = await this.#keysFor(state);
    let payload: Record<string, unknown>;
    try {
      const now = this.#opts.now?.();
      ({ payload } = await jwtVerify(
        token,
        keys,
        now ? { ...state.verifyOptions, currentDate: now } : state.verifyOptions,
      ));
    } catch (e) {
      throw refusalFromJose(e);
    }

    const cfg = state.config;
    const subject = subjectFromClaim(readClaim(payload, cfg.subjectClaim));
    // An e-mail address is the subject only as its provider vouches for it: an unverified one is
    // whatever the user typed, possibly someone else's (docs/security.md, class 74).
    if (cfg.subjectClaim === 'email' && !emailVerified(payload)) throw authFailed(REFUSAL.unverifiedSubject);
    const person = personFromClaims(payload, cfg.personClaim);
    const identity: Identity = {
      subject,
      groups: groupsFromClaim(readClaim(payload, cfg.groupsClaim)),
      tokenKind: 'oidc',
      agent:
        this.#heldByAgentClient(payload.aud) ||
        this.#issuedToAnotherClient(cfg, payload) ||
        (cfg.agentClaim
          ? agentFromClaim(readClaim(payload, cfg.agentClaim.claim), cfg.agentClaim.value)
          : false),
      issuer: cfg.issuer,
      ...(person !== undefined ? { person } : {}),
      ...(typeof payload.jti === 'string' ? { tokenId: payload.jti } : {}),
      ...(typeof payload.exp === 'number' ? { expiresAt: new Date(payload.exp * 1000) } : {}),
    };
    return identity;
  }

  /**
   * Whether the (verified) audience names a resource whose tokens agents' clients hold. The person
   * who signed in for such a token delegated it to a program: the token carries that person's name
   * but an agent holds it, so it is an agent's (docs/security.md, class 72).
   */
  #heldByAgentClient(aud: unknown): boolean {
    const isAgents = this.#opts.agentAudience;
    if (!isAgents) return false;
    const values = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
    return values.some((a) => typeof a === 'string' && isAgents(a));
  }

  /**
   * With `peopleClients`, whether the (verified) token was obtained by an OAuth client that is not
   * one of the people's: an MCP client's token is then an agent's whatever audience the provider gave
   * it — a provider that ignores RFC 8707 `resource` gives it the people's (docs/security.md, class
   * 222). A token naming no client is one too, unless it is an ID token (a single `aud`, the client).
   */
  #issuedToAnotherClient(cfg: OidcIssuerConfig, payload: Record<string, unknown>): boolean {
    if (!cfg.peopleClients) return false;
    let client: unknown;
    if (cfg.clientClaim) client = readClaim(payload, cfg.clientClaim);
    else for (const k of CLIENT_CLAIMS) if (client === undefined) client = payload[k];
    if (client === undefined && typeof payload.aud === 'string') client = payload.aud;
    if (typeof client !== 'string') return true;
    const people = [...cfg.peopleClients, ...(this.#opts.signInClients?.(cfg.issuer) ?? [])];
    return !people.includes(client);
  }

  #checkUrl(url: URL, issuer: string, what: string): void {
    if (url.protocol === 'https:') return;
    if (url.protocol === 'http:' && (isLoopback(url) || this.#opts.allowInsecureHttp)) return;
    throw configError(
      `identity.oidc ${issuer}: ${what} must use https (plain http is accepted only on loopback)`,
    );
  }

  #failedRecently(state: IssuerState): boolean {
    return state.failedAt !== undefined && Date.now() - state.failedAt < this.#opts.retryAfterFailureMs;
  }

  #noteFailure(state: IssuerState, cause: unknown): void {
    state.failedAt = Date.now();
    this.#opts.logger?.warn(
      { issuer: state.config.issuer, err: cause instanceof Error ? cause.message : String(cause) },
      'identity provider unreachable',
    );
  }

  /** Discovery once per issuer (shared by concurrent callers); a failure is retried after a pause. */
  async #keysFor(state: IssuerState): Promise<JWTVerifyGetKey> {
    if (state.keys) return state.keys;
    if (state.pending) return state.pending;
    if (this.#failedRecently(state)) throw authFailed(REFUSAL.providerUnreachable);
    const pending = this.#discover(state).then(
      (keys) => {
        state.keys = keys;
        state.failedAt = undefined;
        return keys;
      },
      (e: unknown) => {
        this.#noteFailure(state, e);
        throw authFailed(REFUSAL.providerUnreachable, e);
      },
    );
    state.pending = pending;
    try {
      return await pending;
    } finally {
      state.pending = undefined;
    }
  }

  async #discover(state: IssuerState): Promise<JWTVerifyGetKey> {
    const cfg = state.config;
    const jwksUri = cfg.jwksUri ?? (await this.#fetchJwksUri(cfg.issuer));
    this.#checkUrl(new URL(jwksUri), cfg.issuer, 'jwks_uri');
    const remote = createRemoteJWKSet(new URL(jwksUri), {
      timeoutDuration: this.#opts.fetchTimeoutMs,
      cooldownDuration: this.#opts.jwksCooldownMs,
      cacheMaxAge: this.#opts.jwksMaxAgeMs,
    });
    // While the provider is failing, tokens are checked against the last key set fetched from it
    // (keys do not stop being the issuer's because its endpoint is down), without asking again:
    // an outage plus a stream of tokens must not become a stream of JWKS requests.
    let lastGood: { json: string; local: JWTVerifyGetKey } | undefined;
    const fromLastGood: JWTVerifyGetKey = async (header, token) => {
      const jwks = remote.jwks();
      if (!jwks) throw authFailed(REFUSAL.providerUnreachable);
      const json = JSON.stringify(jwks);
      if (lastGood?.json !== json) lastGood = { json, local: createLocalJWKSet(jwks) };
      try {
        return await lastGood.local(header, token);
      } catch (e) {
        // The key may be one the issuer rotated in while we could not reach it.
        if (e instanceof joseErrors.JWKSNoMatchingKey) throw authFailed(REFUSAL.providerUnreachable, e);
        throw e;
      }
    };
    return async (header, token) => {
      if (this.#failedRecently(state)) return fromLastGood(header, token);
      try {
        return await remote(header, token);
      } catch (e) {
        // Key selection results are about the token; anything else is about the provider.
        if (
          e instanceof joseErrors.JWKSNoMatchingKey ||
          e instanceof joseErrors.JWKSMultipleMatchingKeys ||
          e instanceof joseErrors.JOSENotSupported
        ) {
          throw e;
        }
        this.#noteFailure(state, e);
        return fromLastGood(header, token);
      }
    };
  }

  async #fetchJwksUri(issuer: string): Promise<string> {
    // Discovery §4: strip a trailing slash from the issuer, then append the well-known path.
    const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    const res = await fetch(url, {
      headers: { accept: 'application/json' },
      redirect: 'error',
      signal: AbortSignal.timeout(this.#opts.fetchTimeoutMs),
    });
    if (res.status !== 200) throw new Error(`discovery ${url} answered HTTP ${res.status}`);
    const doc: unknown = await res.json();
    if (typeof doc !== 'object' || doc === null) throw new Error(`discovery ${url} is not a JSON object`);
    const { issuer: docIssuer, jwks_uri: jwksUri } = doc as Record<string, unknown>;
    // Discovery §4.3: the issuer in the document MUST be identical to the one it was fetched for.
    if (docIssuer !== issuer)
      throw new Error(`discovery ${url} names issuer ${String(docIssuer)}, expected ${issuer}`);
    if (typeof jwksUri !== 'string') throw new Error(`discovery ${url} has no jwks_uri`);
    return jwksUri;
  }
}
