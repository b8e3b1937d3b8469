// The client-safe refusal messages for token authentication, and the mapping from jose's errors.
// Messages say what was wrong with the token, never the token, a claim value or a key.

import { errors as joseErrors } from 'jose';
import { ERROR_CODES, GatewayError } from '../core/errors.js';
import type { CredentialFault } from '../core/preauth.js';

/** Every message a token refusal can carry; the engine sends it in a FATAL (SQLSTATE 28000/28P01). */
export const REFUSAL = {
  missing: 'no token presented',
  tooLong: 'token too long',
  notJwt: 'token is not a JWT',
  malformed: 'token is malformed',
  issuerNotTrusted: 'token issuer not trusted',
  algorithmNotAllowed: 'token signature algorithm not allowed',
  unknownKey: 'token signing key not recognised',
  ambiguousKey: 'token signing key is ambiguous',
  badSignature: 'token signature invalid',
  expired: 'token expired',
  notYetValid: 'token not yet valid',
  audience: 'token audience not accepted',
  typ: 'token type not accepted',
  noSubject: 'token has no subject',
  unverifiedSubject: 'token subject is an e-mail address its provider has not verified',
  badGroups: 'token groups claim is malformed',
  badAgent: 'token agent claim is malformed',
  revoked: 'token revoked',
  revocationUnavailable: 'token revocation status unavailable',
  providerUnreachable: 'identity provider unreachable',
  unverifiable: 'token could not be verified',
} as const;

/**
 * The closed reason each refusal is counted and logged under before the caller is known
 * (core/preauth.ts): whether the token was missing, malformed, expired or simply not ours.
 */
const FAULT: Readonly<Record<string, CredentialFault>> = {
  [REFUSAL.missing]: 'credentials_missing',
  [REFUSAL.tooLong]: 'credentials_malformed',
  [REFUSAL.notJwt]: 'credentials_malformed',
  [REFUSAL.malformed]: 'credentials_malformed',
  [REFUSAL.noSubject]: 'credentials_malformed',
  [REFUSAL.badGroups]: 'credentials_malformed',
  [REFUSAL.badAgent]: 'credentials_malformed',
  [REFUSAL.expired]: 'credentials_expired',
  [REFUSAL.notYetValid]: 'credentials_expired',
  [REFUSAL.revocationUnavailable]: 'auth_unavailable',
  [REFUSAL.providerUnreachable]: 'auth_unavailable',
};

export function authFailed(message: string, cause?: unknown): GatewayError {
  const credentialFault: CredentialFault = Object.hasOwn(FAULT, message)
    ? FAULT[message]!
    : message.startsWith('token is missing the ')
      ? 'credentials_malformed'
      : 'credentials_unknown';
  return new GatewayError(
    ERROR_CODES.AUTH_FAILED,
    message,
    cause === undefined ? { credentialFault } : { cause, credentialFault },
  );
}

export function missingClaim(claim: string): string {
  return `token is missing the ${claim} claim`;
}

/**
 * Maps an error thrown by jose's jwtVerify to a refusal. Anything unrecognised becomes the generic
 * "token could not be verified": failing closed, with the original kept as the (internal) cause.
 */
export function refusalFromJose(e: unknown): GatewayError {
  if (e instanceof GatewayError) return e;
  if (e instanceof joseErrors.JWTExpired) return authFailed(REFUSAL.expired, e);
  if (e instanceof joseErrors.JWTClaimValidationFailed) {
    if (e.reason === 'missing') return authFailed(missingClaim(e.claim), e);
    switch (e.claim) {
      case 'nbf':
        return authFailed(REFUSAL.notYetValid, e);
      case 'aud':
        return authFailed(REFUSAL.audience, e);
      case 'iss':
        return authFailed(REFUSAL.issuerNotTrusted, e);
      case 'typ':
        return authFailed(REFUSAL.typ, e);
      case 'exp':
      case 'iat':
        // A non-numeric exp/iat: the token cannot be dated, so it is not well formed.
        return authFailed(REFUSAL.malformed, e);
      default:
        return authFailed(REFUSAL.unverifiable, e);
    }
  }
  if (e instanceof joseErrors.JOSEAlgNotAllowed) return authFailed(REFUSAL.algorithmNotAllowed, e);
  // jose throws NotSupported for an alg it does not implement (e.g. "none" when no allow-list applies).
  if (e instanceof joseErrors.JOSENotSupported) return authFailed(REFUSAL.algorithmNotAllowed, e);
  if (e instanceof joseErrors.JWKSNoMatchingKey) return authFailed(REFUSAL.unknownKey, e);
  if (e instanceof joseErrors.JWKSMultipleMatchingKeys) return authFailed(REFUSAL.ambiguousKey, e);
  if (e instanceof joseErrors.JWSSignatureVerificationFailed) return authFailed(REFUSAL.badSignature, e);
  if (e instanceof joseErrors.JWSInvalid || e instanceof joseErrors.JWTInvalid)
    return authFailed(REFUSAL.malformed, e);
  return authFailed(REFUSAL.unverifiable, e);
}
