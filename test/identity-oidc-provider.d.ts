// Minimal types for oidc-provider (it ships none; @types/oidc-provider is not installed), covering
// only what test/identity-oidc.test.ts uses.
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  interface ProviderToken {
    readonly clientId?: string;
  }

  export interface ResourceServerInfo {
    audience: string;
    scope: string;
    accessTokenFormat?: 'jwt' | 'opaque';
    accessTokenTTL?: number;
    jwt?: { sign?: { alg?: string } };
  }

  export interface ProviderConfiguration {
    clients?: Record<string, unknown>[];
    jwks?: { keys: Record<string, unknown>[] };
    features?: Record<string, unknown>;
    ttl?: Record<string, number | ((...args: unknown[]) => number)>;
    extraTokenClaims?: (
      ctx: unknown,
      token: ProviderToken,
    ) => Promise<Record<string, unknown> | undefined> | Record<string, unknown> | undefined;
  }

  export default class Provider {
    constructor(issuer: string, configuration?: ProviderConfiguration);
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
  }
}
