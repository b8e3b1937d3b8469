// Builds the gateway's Authenticator from the `identity` config: OIDC issuers plus service tokens.
// Called from main.ts (and the token CLI); it must not choose a TokenStore itself.

import type { GatehouseConfig } from '../config/schema.js';
import { toMs } from '../config/schema.js';
import { ERROR_CODES, GatewayError } from '../core/errors.js';
import type { Authenticator, Logger, TokenStore } from '../core/ports.js';
import { CompositeAuthenticator, type IssuerRoute } from './composite-authenticator.js';
import { OidcAuthenticator, type OidcAuthenticatorOptions } from './oidc-authenticator.js';
import { ServiceTokenAuthenticator, ServiceTokenIssuer } from './service-tokens.js';
import { defaultSigningKeyPath, loadOrCreateSigningKey, type SigningKey } from './signing-key.js';

export { REFUSAL } from './auth-refusal.js';
export { CompositeAuthenticator, type IssuerRoute } from './composite-authenticator.js';
export { MAX_TOKEN_LENGTH } from './jwt-peek.js';
export { MemoryTokenStore } from './memory-token-store.js';
export { OidcAuthenticator, type OidcAuthenticatorOptions } from './oidc-authenticator.js';
export {
  ServiceTokenAuthenticator,
  ServiceTokenIssuer,
  ServiceTokenRequestError,
  type IssueRequest,
  type IssuedToken,
} from './service-tokens.js';
export { defaultSigningKeyPath, loadOrCreateSigningKey, type SigningKey } from './signing-key.js';
export {
  AwsAccessKeyResolver,
  accessKeyIdFor,
  tokenIdFromAccessKeyId,
  AWS_ACCESS_KEY_PREFIX,
  type AwsKeyPair,
} from './aws-access-keys.js';

export interface AuthenticatorDeps {
  readonly dataDir: string;
  readonly tokenStore: TokenStore;
  readonly logger?: Logger;
  /** Extra knobs for the OIDC verifier (timeouts, JWKS cooldown); tests mostly. */
  readonly oidc?: OidcAuthenticatorOptions;
}

export interface BuiltAuthenticator {
  readonly authenticator: Authenticator;
  /** Present when service tokens are enabled. */
  readonly issuer: ServiceTokenIssuer | undefined;
  /** Present when service tokens are enabled: call noteRevoked after an in-process revoke. */
  readonly serviceTokens: ServiceTokenAuthenticator | undefined;
  readonly signingKey: SigningKey | undefined;
}

export async function createAuthenticator(
  config: GatehouseConfig['identity'],
  deps: AuthenticatorDeps,
): Promise<BuiltAuthenticator> {
  const routes: IssuerRoute[] = [];
  let issuer: ServiceTokenIssuer | undefined;
  let serviceTokens: ServiceTokenAuthenticator | undefined;
  let signingKey: SigningKey | undefined;

  const st = config.serviceTokens;
  if (st.enabled) {
    if (config.oidc.some((o) => o.issuer === st.issuer)) {
      throw new GatewayError(
        ERROR_CODES.CONFIG_INVALID,
        `identity.serviceTokens.issuer ${st.issuer} is also an OIDC issuer; they must differ`,
      );
    }
    signingKey = await loadOrCreateSigningKey(st.keyFile ?? defaultSigningKeyPath(deps.dataDir));
    if (signingKey.created) deps.logger?.info({ path: signingKey.path }, 'created service token signing key');
    if (signingKey.looseMode) {
      deps.logger?.warn(
        { path: signingKey.path },
        'service token signing key is readable by group or others',
      );
    }
    issuer = new ServiceTokenIssuer({
      privateKey: signingKey.privateKey,
      kid: signingKey.kid,
      tokenStore: deps.tokenStore,
      issuer: st.issuer,
      maxTtlMs: toMs(st.maxTtl),
    });
    serviceTokens = new ServiceTokenAuthenticator({
      publicKey: signingKey.publicKey,
      kid: signingKey.kid,
      tokenStore: deps.tokenStore,
      issuer: st.issuer,
    });
    routes.push({ issuers: [st.issuer], authenticator: serviceTokens });
  }
  if (config.oidc.length > 0) {
    const oidc = new OidcAuthenticator(config.oidc, {
      ...(deps.logger ? { logger: deps.logger } : {}),
      ...deps.oidc,
    });
    routes.push({ issuers: oidc.issuers, authenticator: oidc });
  }
  return { authenticator: new CompositeAuthenticator(routes), issuer, serviceTokens, signingKey };
}
