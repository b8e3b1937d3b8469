// Errors with stable string codes. `message` is safe to show to a client; `cause` stays internal.
// Engines translate a GatewayError into their protocol's terms (SQLSTATE, HTTP status, MCP error).

import type { CredentialFault } from './preauth.js';

export const ERROR_CODES = {
  /** Token missing, malformed, expired, wrong audience/issuer, revoked… */
  AUTH_FAILED: 'ERR_AUTH_FAILED',
  /** The principal may not use this connection at all. */
  CONNECTION_FORBIDDEN: 'ERR_CONNECTION_FORBIDDEN',
  /** No such connection is configured. */
  CONNECTION_UNKNOWN: 'ERR_CONNECTION_UNKNOWN',
  /** Policy refused the action. */
  DENIED: 'ERR_DENIED',
  /** The action needs a human's approval (defer mode, or hold ended without approval). */
  REVIEW_REQUIRED: 'ERR_REVIEW_REQUIRED',
  /** The action could not be recorded, so it was not forwarded. */
  RECORD_FAILED: 'ERR_RECORD_FAILED',
  /** The upstream could not be reached or refused the gateway's own login. */
  UPSTREAM_UNAVAILABLE: 'ERR_UPSTREAM_UNAVAILABLE',
  /** The session was ended under the client: its token was revoked or expired, or an admin ended it. */
  SESSION_ENDED: 'ERR_SESSION_ENDED',
  /** The client broke the protocol (garbage, oversized message, message out of order). */
  PROTOCOL_VIOLATION: 'ERR_PROTOCOL_VIOLATION',
  /** A configured limit was hit (message size, auth timeout, connection count). */
  LIMIT_EXCEEDED: 'ERR_LIMIT_EXCEEDED',
  /** Configuration is invalid. */
  CONFIG_INVALID: 'ERR_CONFIG_INVALID',
  /** Masking could not be applied safely, so the data was withheld. */
  MASK_FAILED: 'ERR_MASK_FAILED',
  INTERNAL: 'ERR_INTERNAL',
} as const;
export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  constructor(
    readonly code: ErrorCode,
    /** Client-safe message. Never include secrets or internal details here. */
    message: string,
    options?: { cause?: unknown; ruleId?: string; credentialFault?: CredentialFault },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.ruleId = options?.ruleId;
    this.credentialFault = options?.credentialFault;
  }
  readonly ruleId: string | undefined;
  /** ERR_AUTH_FAILED: what was wrong with the credential, as a closed reason (core/preauth.ts). */
  readonly credentialFault: CredentialFault | undefined;
}

export function isGatewayError(e: unknown): e is GatewayError {
  return e instanceof GatewayError;
}
