// Who is calling: the verified principal every decision and record is about.
// Produced only by identity providers (src/identity); never built from client-supplied names.

/** `saml`: a person signed in to the web console with SAML (never a gateway session). */
export type TokenKind = 'oidc' | 'service' | 'saml';

export interface Identity {
  /** Stable subject: the token's `sub` (OIDC) or the service token's subject. */
  readonly subject: string;
  readonly groups: readonly string[];
  readonly tokenKind: TokenKind;
  /** True for AI-agent principals (service tokens issued with --agent, or the configured OIDC claim). */
  readonly agent: boolean;
  /** Issuer URL (OIDC) or `gatehouse` for service tokens. */
  readonly issuer: string;
  /**
   * The person behind this identity, when its identity provider names one (a verified e-mail
   * address, lower-cased, or the configured person claim): two identities naming the same person
   * are one approver (docs/approvals.md, "One person, one vote").
   */
  readonly person?: string;
  /** Token identifier (`jti`) when the token carries one; used for revocation and records. */
  readonly tokenId?: string;
  readonly expiresAt?: Date;
}

/**
 * The key of a principal across its sessions and engines: its issuer and subject (two identity
 * providers may each have an `alice`), and whether it is an agent. A token an identity provider gave
 * an MCP client names the person who signed in for it (same issuer and subject), but it is in an
 * agent's hands: the agent is not the person, and must not use up her sessions, requests or budgets
 * (docs/security.md, class 289). Per-principal limits and budgets count under it.
 */
export function principalKey(identity: Pick<Identity, 'issuer' | 'subject' | 'agent'>): string {
  return `${identity.issuer}\u0000${identity.subject}\u0000${identity.agent ? 'agent' : 'person'}`;
}
