// Reads a JWT's header and claims WITHOUT verifying them, only to choose which verifier to use.
// Nothing returned here may be trusted or put into an Identity; it must not accept non-compact forms.

import { authFailed, REFUSAL } from './auth-refusal.js';

/** Longest token accepted (bytes of the compact form). Real access tokens are a few KiB at most. */
export const MAX_TOKEN_LENGTH = 16 * 1024;

export interface PeekedJwt {
  readonly header: Readonly<Record<string, unknown>>;
  readonly claims: Readonly<Record<string, unknown>>;
}

// RFC 7515 §7.1 compact serialization: three base64url parts. An empty signature is let through
// here so that `alg: none` gets its own precise refusal from the verifier.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

function decodeJsonObject(part: string): Record<string, unknown> | undefined {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(part, 'base64url'));
    const v: unknown = JSON.parse(text);
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through: not a JWT
  }
  return undefined;
}

/** Checks size and shape; throws GatewayError(AUTH_FAILED) with "token is not a JWT" and friends. */
export function peekJwt(token: string): PeekedJwt {
  if (token.length === 0) throw authFailed(REFUSAL.missing);
  if (token.length > MAX_TOKEN_LENGTH) throw authFailed(REFUSAL.tooLong);
  if (!COMPACT_JWS.test(token)) throw authFailed(REFUSAL.notJwt);
  const [h, p] = token.split('.') as [string, string, string];
  const header = decodeJsonObject(h);
  const claims = decodeJsonObject(p);
  if (!header || !claims || typeof header.alg !== 'string') throw authFailed(REFUSAL.notJwt);
  return { header, claims };
}
