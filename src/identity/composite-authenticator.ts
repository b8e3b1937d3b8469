// Routes a presented token to the one verifier responsible for its (unverified) issuer.
// Routing decides only WHO verifies; it must never accept a token on the strength of the peek.

import type { Identity } from '../core/identity.js';
import type { Authenticator } from '../core/ports.js';
import { authFailed, REFUSAL } from './auth-refusal.js';
import { peekJwt } from './jwt-peek.js';

export interface IssuerRoute {
  /** Exact `iss` values this authenticator verifies. */
  readonly issuers: readonly string[];
  readonly authenticator: Authenticator;
}

export class CompositeAuthenticator implements Authenticator {
  readonly #routes = new Map<string, Authenticator>();

  constructor(routes: readonly IssuerRoute[]) {
    for (const route of routes) {
      for (const iss of route.issuers) {
        // Two verifiers for one issuer would make the outcome depend on order: refuse the config.
        if (this.#routes.has(iss))
          throw new TypeError(`issuer ${iss} is configured twice (service tokens and OIDC must differ)`);
        this.#routes.set(iss, route.authenticator);
      }
    }
  }

  async authenticate(token: string): Promise<Identity> {
    const { claims } = peekJwt(token);
    const target = typeof claims.iss === 'string' ? this.#routes.get(claims.iss) : undefined;
    if (!target) throw authFailed(REFUSAL.issuerNotTrusted);
    return target.authenticate(token);
  }

  /** Routed by the identity's verified issuer, to the verifier that accepted it. */
  async revalidate(identity: Identity): Promise<void> {
    const target = this.#routes.get(identity.issuer);
    if (!target) throw authFailed(REFUSAL.issuerNotTrusted);
    await target.revalidate?.(identity);
  }
}
