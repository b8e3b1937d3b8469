// Refusals before a caller is authenticated (docs/operations.md, "Refusals before authentication"):
// a bad, expired or unknown credential, a request head that arrives too slowly, a socket dropped by a
// connection cap, an agent handshake refused. Each listener reports them through this port, with a
// listener kind and a reason from the closed sets below and the source address; the implementation
// (src/telemetry/preauth-signals.ts) counts them and logs them, rate-limited. Nothing a client sends
// becomes a label or a log field here: never the credential, never a header, never a user name.

/** The listener kinds, one label value each. */
export type PreauthListener =
  'postgres' | 'ssh' | 'http' | 'aws' | 'kubernetes' | 'api' | 'console' | 'mcp' | 'agents' | 'metrics';

/** Why the caller was refused or dropped before it was known. */
export const PREAUTH_REASONS = [
  /** No token, password, key or signature presented. */
  'credentials_missing',
  /** Not a token at all, too long, or missing what every token must carry. */
  'credentials_malformed',
  /** A token (or signature) past its time, or not yet valid. */
  'credentials_expired',
  /** Well formed, but not ours: unknown key or issuer, bad signature, wrong password or key, revoked. */
  'credentials_unknown',
  /** The credential could not be checked (identity provider or revocation list unreachable). */
  'auth_unavailable',
  /** Authentication did not finish within the listener's time for it. */
  'auth_timeout',
  /** The request head did not arrive within headersTimeout (a slow or stalled client). */
  'header_timeout',
  /**
   * A body that must be read before the signature can be checked (an AWS JSON or query request) did
   * not arrive within bodyTimeout, or was larger than maxRequestBodyBytes.
   */
  'body_unread',
  /** The listener's cap on connections was reached; the socket was dropped. */
  'connection_limit',
  /** The cap on not-yet-authenticated connections from one address was reached. */
  'address_limit',
  /** An agent's tunnel handshake was refused (bad join token, unknown or revoked agent, bad frame). */
  'handshake_refused',
  /** An HTTP request named a host in its Host header that the listener does not answer (DNS rebinding). */
  'host_not_allowed',
  /**
   * A listener only programs speak to (the agents' tunnel) was asked by a web page: the request
   * carried an `Origin`, which browsers always send on a WebSocket handshake and agents never do.
   */
  'browser_origin',
] as const;
export type PreauthReason = (typeof PREAUTH_REASONS)[number];

/** The kinds of a refused credential, carried by ERR_AUTH_FAILED errors (core/errors.ts). */
export type CredentialFault = Extract<
  PreauthReason,
  | 'credentials_missing'
  | 'credentials_malformed'
  | 'credentials_expired'
  | 'credentials_unknown'
  | 'auth_unavailable'
>;

export interface PreauthSignals {
  /**
   * One refusal: counted at once, logged within the per-listener, per-reason rate. `source` is the
   * peer's address (no port: one line per address, not per socket); never pass client input.
   */
  refused(listener: PreauthListener, reason: PreauthReason, source?: string): void;
}

/** Reports nothing (tests, CLI commands, listeners built without one). */
export const noPreauthSignals: PreauthSignals = { refused: () => undefined };

/** The reason of an authentication error: its credential fault, or `credentials_unknown`. */
export function credentialReason(e: unknown): PreauthReason {
  const fault = (e as { credentialFault?: unknown } | undefined)?.credentialFault;
  return typeof fault === 'string' && (PREAUTH_REASONS as readonly string[]).includes(fault)
    ? (fault as PreauthReason)
    : 'credentials_unknown';
}
