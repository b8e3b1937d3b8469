// Approval-page login with OpenID Connect: authorization code flow with PKCE (RFC 7636, S256) against
// the configured issuer. It only obtains a token; the gateway's own Authenticator verifies it, as it
// verifies every other token. It must not accept a callback whose state or nonce does not match.

import { createHash, randomBytes } from 'node:crypto';
import { decodeJwt } from 'jose';

export interface OidcLoginConfig {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret?: string;
  readonly scopes: readonly string[];
  readonly token: 'id_token' | 'access_token';
  /** Absolute URL of /approvals/oidc/callback. */
  readonly redirectUri: string;
}

interface Discovery {
  readonly authorization_endpoint: string;
  readonly token_endpoint: string;
}

/** What the login step keeps (in a short-lived HttpOnly cookie) for the callback. */
export interface PendingLogin {
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
  readonly next: string;
}

const discoveries = new Map<string, { at: number; doc: Discovery }>();

async function discover(issuer: string): Promise<Discovery> {
  const hit = discoveries.get(issuer);
  if (hit && Date.now() - hit.at < 10 * 60_000) return hit.doc;
  const res = await fetch(`${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`, {
    signal: AbortSignal.timeout(5_000),
  });
  if (!res.ok) throw new Error(`OIDC discovery failed (HTTP ${res.status})`);
  const doc = (await res.json()) as Partial<Discovery> & { issuer?: string };
  if (typeof doc.authorization_endpoint !== 'string' || typeof doc.token_endpoint !== 'string') {
    throw new Error('OIDC discovery document lacks authorization_endpoint or token_endpoint');
  }
  if (doc.issuer !== undefined && doc.issuer.replace(/\/$/, '') !== issuer.replace(/\/$/, '')) {
    throw new Error('OIDC discovery document names a different issuer');
  }
  const d = { authorization_endpoint: doc.authorization_endpoint, token_endpoint: doc.token_endpoint };
  discoveries.set(issuer, { at: Date.now(), doc: d });
  return d;
}

const b64url = (b: Buffer) => b.toString('base64url');

/** Starts a login: the URL to send the browser to, and what to remember for the callback. */
export async function beginLogin(
  cfg: OidcLoginConfig,
  next: string,
): Promise<{ url: string; pending: PendingLogin }> {
  const d = await discover(cfg.issuer);
  const pending: PendingLogin = {
    state: b64url(randomBytes(24)),
    nonce: b64url(randomBytes(24)),
    verifier: b64url(randomBytes(48)),
    next,
  };
  const url = new URL(d.authorization_endpoint);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', cfg.clientId);
  url.searchParams.set('redirect_uri', cfg.redirectUri);
  url.searchParams.set('scope', cfg.scopes.join(' '));
  url.searchParams.set('state', pending.state);
  url.searchParams.set('nonce', pending.nonce);
  url.searchParams.set('code_challenge', b64url(createHash('sha256').update(pending.verifier).digest()));
  url.searchParams.set('code_challenge_method', 'S256');
  return { url: url.toString(), pending };
}

/** Exchanges the code for tokens and returns the one the gateway verifies. */
export async function completeLogin(
  cfg: OidcLoginConfig,
  pending: PendingLogin,
  params: { code?: string; state?: string; error?: string },
): Promise<string> {
  if (params.error) throw new Error(`the identity provider refused the login (${params.error})`);
  if (!params.code || !params.state || params.state !== pending.state)
    throw new Error('the login response does not match this browser session');
  const d = await discover(cfg.issuer);
  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    code: params.code,
    redirect_uri: cfg.redirectUri,
    code_verifier: pending.verifier,
    client_id: cfg.clientId,
  });
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  if (cfg.clientSecret !== undefined) {
    // client_secret_basic (RFC 6749 §2.3.1): form-urlencoded id and secret in the Basic header.
    const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
    headers.authorization = `Basic ${Buffer.from(`${enc(cfg.clientId)}:${enc(cfg.clientSecret)}`).toString('base64')}`;
  }
  const res = await fetch(d.token_endpoint, {
    method: 'POST',
    body,
    headers,
    signal: AbortSignal.timeout(10_000),
    redirect: 'error',
  });
  const json = (await res.json().catch(() => ({}))) as {
    id_token?: string;
    access_token?: string;
    error?: string;
  };
  if (!res.ok) throw new Error(`the token endpoint refused the code (${json.error ?? `HTTP ${res.status}`})`);
  if (!json.id_token) throw new Error('the token endpoint returned no id_token');
  // The nonce binds the id_token to this login (OIDC Core §3.1.3.7); the signature is checked by the
  // gateway's Authenticator when the chosen token is used.
  const claims = decodeJwt(json.id_token);
  if (claims.nonce !== pending.nonce) throw new Error("the id_token does not carry this login's nonce");
  const token = cfg.token === 'id_token' ? json.id_token : json.access_token;
  if (!token) throw new Error(`the token endpoint returned no ${cfg.token}`);
  return token;
}
