// OAuth 2.1 resource-server surface of the MCP endpoint: the RFC 9728 protected resource metadata
// document and the `WWW-Authenticate` challenge that points at it. No token handling here.
//
// MCP authorization (2025-06-18 and later): the server MUST publish protected resource metadata and
// answer a request without a valid token with 401 and `WWW-Authenticate: Bearer resource_metadata=…`
// (RFC 9728 §5.1); clients use it to find the authorization server (RFC 8414 / OIDC discovery).

/** Path of the MCP endpoint on the gateway's HTTP listener. */
export const MCP_PATH = '/mcp';
/** The environment variable `gatehouse mcp` (the stdio relay) reads the caller's Gatehouse token from. */
export const TOKEN_ENV = 'GATEHOUSE_TOKEN';
/** RFC 9728 §3: the well-known prefix; the resource's path is appended to it. */
export const PRM_PREFIX = '/.well-known/oauth-protected-resource';

export interface ResourceSettings {
  /** The canonical MCP resource URL (RFC 8707 `resource`), e.g. https://gw.example.com/mcp. */
  readonly resource: string;
  /** OIDC issuers that may issue tokens for this resource. */
  readonly authorizationServers: readonly string[];
  readonly scopes?: readonly string[];
}

/**
 * The canonical resource URL: the configured one, else the public URL of the HTTP listener, else the
 * origin the request came to (fine on a workstation; configure it behind a proxy).
 */
export function resourceUrl(
  configured: string | undefined,
  publicUrl: string | undefined,
  requestUrl: string,
): string {
  if (configured) return configured.replace(/#.*$/, '');
  const base = publicUrl ?? new URL(requestUrl).origin;
  return `${base.replace(/\/+$/, '')}${MCP_PATH}`;
}

/** RFC 9728 §3.1: insert the well-known segment between the host and the resource's path. */
export function metadataUrl(resource: string): string {
  const u = new URL(resource);
  const path = u.pathname === '/' ? '' : u.pathname.replace(/\/+$/, '');
  return `${u.origin}${PRM_PREFIX}${path}`;
}

/** RFC 9728 §2 metadata. `bearer_methods_supported`: the header only, never the query string. */
export function protectedResourceMetadata(s: ResourceSettings): Record<string, unknown> {
  return {
    resource: s.resource,
    ...(s.authorizationServers.length > 0 ? { authorization_servers: [...s.authorizationServers] } : {}),
    bearer_methods_supported: ['header'],
    ...(s.scopes && s.scopes.length > 0 ? { scopes_supported: [...s.scopes] } : {}),
    resource_name: 'Gatehouse',
  };
}

function quoted(value: string): string {
  // RFC 9110 §5.6.4 quoted-string: escape backslash and double quote; no control characters.
  // eslint-disable-next-line no-control-regex
  return `"${value.replace(/[\u0000-\u001f\u007f]/g, ' ').replace(/["\\]/g, '\\$&')}"`;
}

/**
 * The 401 challenge. With a token that failed, `error="invalid_token"` (RFC 6750 §3.1) and a short
 * description; without one, no error code (RFC 6750 §3.1: the request lacked authentication).
 */
export function bearerChallenge(s: ResourceSettings, failure?: string): string {
  const params = [`resource_metadata=${quoted(metadataUrl(s.resource))}`];
  if (s.scopes && s.scopes.length > 0) params.push(`scope=${quoted(s.scopes.join(' '))}`);
  if (failure !== undefined) {
    params.push('error="invalid_token"');
    params.push(`error_description=${quoted(failure)}`);
  }
  return `Bearer ${params.join(', ')}`;
}
