// Which token audiences are agents' by construction: the MCP resource's. An MCP client (Claude Code,
// an IDE's agent) follows the gateway's protected resource metadata to the identity provider, a person
// signs in there, and the client receives an access token for the MCP resource (RFC 8707). The token
// names the person, but the program holds it: an agent prompted by anything it reads can present it
// anywhere the gateway accepts the issuer's tokens. So a token naming the MCP resource is an agent's
// identity on every surface (docs/security.md, class 72): it runs what the person's agents may run,
// and it never approves, signs in to the console or reads the records.

import type { GatehouseConfig } from '../config/schema.js';

/** Path of the MCP endpoint (src/mcp/resource-metadata.ts derives the default resource from it). */
const MCP_PATH = '/mcp';

const trimmed = (u: string): string => u.replace(/#.*$/, '').replace(/\/+$/, '');

/**
 * The predicate for `OidcAuthenticatorOptions.agentAudience`, reading the running config on every
 * call (the MCP settings reload). An audience is the MCP resource's when it is `mcp.resource`, one of
 * `mcp.audience`, `<listeners.http.publicUrl>/mcp`, or — when no resource is configured, so the
 * gateway names `<the origin a request came to>/mcp` in its metadata — any http(s) URL whose path is
 * `/mcp`.
 */
export function agentAudienceOf(config: () => GatehouseConfig): (aud: string) => boolean {
  return (aud: string) => {
    const c = config();
    if (!c.mcp.enabled) return false;
    const value = trimmed(aud);
    const listed = c.mcp.audience === undefined ? [] : [c.mcp.audience].flat();
    const publicUrl = c.listeners.http?.publicUrl;
    const named = [
      ...(c.mcp.resource ? [c.mcp.resource] : []),
      ...listed,
      ...(publicUrl ? [`${trimmed(publicUrl)}${MCP_PATH}`] : []),
    ].map(trimmed);
    if (named.includes(value)) return true;
    if (c.mcp.resource) return false;
    try {
      const u = new URL(value);
      return (u.protocol === 'https:' || u.protocol === 'http:') && u.pathname === MCP_PATH;
    } catch {
      return false;
    }
  };
}
