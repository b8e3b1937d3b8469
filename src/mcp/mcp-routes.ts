// The MCP endpoint on the gateway's HTTP listener: `/mcp` (Streamable HTTP, stateless) and the RFC 9728
// protected resource metadata. Every HTTP request is authenticated with its own bearer token; a
// token is never passed on to an upstream (the loopback session presents it to this gateway only).
//
// Stateless Streamable HTTP (MCP 2025-03-26 / 2025-06-18 / 2025-11-25 transports, no Mcp-Session-Id):
// each POST gets a fresh server bound to the caller it authenticated, so a session id can never be
// replayed by someone else and any replica can answer. Progress notifications and the result travel
// on that POST's SSE response. There is no standalone GET stream (405), as the transport allows.

import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { Context, Hono } from 'hono';
import type { ApiEnv, RoutePlugin } from '../api/http-server.js';
import { peerAddress } from '../api/peer-address.js';
import { isGatewayError } from '../core/errors.js';
import type { Identity } from '../core/identity.js';
import type { Authenticator } from '../core/ports.js';
import { credentialReason, type PreauthSignals } from '../core/preauth.js';
import { REFUSAL } from '../identity/auth-refusal.js';
import { peekJwt } from '../identity/jwt-peek.js';
import { createMcpServer } from './mcp-server.js';
import {
  bearerChallenge,
  MCP_PATH,
  PRM_PREFIX,
  protectedResourceMetadata,
  resourceUrl,
  type ResourceSettings,
} from './resource-metadata.js';
import type { McpToolDeps } from './tool-deps.js';

/** The `mcp:` settings in force (re-read on every request, so a config reload applies). */
export interface McpHttpSettings {
  /** Canonical resource URL; default `<publicUrl>/mcp`, else the request's origin + /mcp. */
  readonly resource?: string;
  readonly publicUrl?: string;
  /** OIDC issuers named as authorization servers in the metadata. */
  readonly authorizationServers: readonly string[];
  /** When set, OIDC tokens must carry one of these `aud` values (RFC 8707 resource indicators). */
  readonly audience?: readonly string[];
  readonly scopes?: readonly string[];
  /** Origins (besides the resource's own) allowed to call /mcp from a browser. */
  readonly allowedOrigins: readonly string[];
}

export interface McpRouteDeps extends McpToolDeps {
  readonly authenticator: Authenticator;
  /** Where refusals before authentication go (counted and logged, rate-limited: core/preauth.ts). */
  readonly preauth?: PreauthSignals;
  readonly settings: () => McpHttpSettings;
}

type Ctx = Context<ApiEnv>;

function resourceSettings(s: McpHttpSettings, requestUrl: string): ResourceSettings {
  return {
    resource: resourceUrl(s.resource, s.publicUrl, requestUrl),
    authorizationServers: s.authorizationServers,
    ...(s.scopes ? { scopes: s.scopes } : {}),
  };
}

function unauthorized(c: Ctx, rs: ResourceSettings, failure?: string): Response {
  c.header('WWW-Authenticate', bearerChallenge(rs, failure));
  c.header('Cache-Control', 'no-store');
  return c.json(
    failure === undefined
      ? {
          error: 'unauthorized',
          error_description: 'send a Gatehouse token as Authorization: Bearer <token>',
        }
      : { error: 'invalid_token', error_description: failure },
    401,
  );
}

/**
 * The refusal as the model will read it: MCP clients hand the 401 body to the model as the tool call's
 * error, so a revoked or expired token says what happened, that nothing ran, and what to do next.
 */
export function tokenRefusalForModel(message: string): string {
  switch (message) {
    case REFUSAL.revoked:
      return (
        'token revoked: this Gatehouse token was revoked, so Gatehouse refuses every call made with it and ' +
        'nothing was run. Retrying will not help: ask the person who runs Gatehouse for a new token ' +
        '(gatehouse token issue) and restart the MCP client with it.'
      );
    case REFUSAL.expired:
      return (
        'token expired: this Gatehouse token is past its expiry, so Gatehouse refuses every call made with ' +
        'it and nothing was run. Retrying will not help: get a new token (gatehouse token issue, or sign ' +
        'in again) and restart the MCP client with it.'
      );
    default:
      return message;
  }
}

/** RFC 8707 / MCP authorization: an OIDC token must have been issued for this resource. */
function audienceAccepted(
  identity: Identity,
  token: string,
  audience: readonly string[] | undefined,
): boolean {
  if (!audience || audience.length === 0 || identity.tokenKind !== 'oidc') return true;
  // The signature was verified by the authenticator; reading `aud` again here is only a narrower check.
  const aud = peekJwt(token).claims.aud;
  const values =
    typeof aud === 'string'
      ? [aud]
      : Array.isArray(aud)
        ? aud.filter((a): a is string => typeof a === 'string')
        : [];
  return values.some((a) => audience.includes(a));
}

function originAllowed(
  origin: string | undefined,
  rs: ResourceSettings,
  requestUrl: string,
  allowed: readonly string[],
): boolean {
  if (origin === undefined) return true;
  // MCP Streamable HTTP: servers must validate Origin (DNS rebinding); a bearer token is needed anyway.
  return (
    origin === new URL(rs.resource).origin ||
    origin === new URL(requestUrl).origin ||
    allowed.includes(origin)
  );
}

function jsonRpcError(c: Ctx, status: 403 | 405, message: string): Response {
  return c.json({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }, status);
}

export function mcpRoutes(deps: McpRouteDeps): RoutePlugin {
  return (app: Hono<ApiEnv>) => {
    const metadata = (c: Ctx) => {
      const rs = resourceSettings(deps.settings(), c.req.url);
      c.header('Access-Control-Allow-Origin', '*');
      c.header('Cache-Control', 'max-age=300');
      return c.json(protectedResourceMetadata(rs));
    };
    app.get(PRM_PREFIX, metadata);
    app.get(`${PRM_PREFIX}/*`, metadata);

    app.all(MCP_PATH, async (c) => {
      const settings = deps.settings();
      const rs = resourceSettings(settings, c.req.url);
      const origin = c.req.header('origin');
      if (!originAllowed(origin, rs, c.req.url, settings.allowedOrigins)) {
        return jsonRpcError(c, 403, 'origin not allowed');
      }
      // CORS only for origins listed in mcp.allowedOrigins (a browser-based MCP client); the
      // preflight carries no token, so it is answered before authentication and grants nothing.
      const cors: Record<string, string> = {};
      if (origin !== undefined && settings.allowedOrigins.includes(origin)) {
        cors['Access-Control-Allow-Origin'] = origin;
        cors['Vary'] = 'Origin';
        cors['Access-Control-Expose-Headers'] = 'WWW-Authenticate, Mcp-Session-Id, Mcp-Protocol-Version';
        for (const [k, v] of Object.entries(cors)) c.header(k, v);
        if (c.req.method === 'OPTIONS') {
          c.header('Access-Control-Allow-Methods', 'POST, GET, DELETE');
          c.header(
            'Access-Control-Allow-Headers',
            'Authorization, Content-Type, Accept, Mcp-Protocol-Version, Mcp-Session-Id, Last-Event-ID',
          );
          c.header('Access-Control-Max-Age', '600');
          return c.body(null, 204);
        }
      }
      const m = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '');
      if (!m) {
        deps.preauth?.refused('mcp', 'credentials_missing', peerAddress(c));
        return unauthorized(c, rs);
      }
      const token = m[1]!;
      let identity: Identity;
      try {
        identity = await deps.authenticator.authenticate(token);
      } catch (e) {
        deps.preauth?.refused('mcp', credentialReason(e), peerAddress(c));
        return unauthorized(
          c,
          rs,
          isGatewayError(e) ? tokenRefusalForModel(e.message) : 'the token could not be verified',
        );
      }
      if (!audienceAccepted(identity, token, settings.audience)) {
        deps.preauth?.refused('mcp', 'credentials_unknown', peerAddress(c));
        return unauthorized(
          c,
          rs,
          `the token was not issued for this resource (aud must include one of: ${settings.audience?.join(', ')})`,
        );
      }
      if (c.req.method !== 'POST') {
        // Stateless: no standalone SSE stream (GET) and no session to delete (DELETE).
        c.header('Allow', 'POST');
        return jsonRpcError(
          c,
          405,
          'method not allowed: this server is stateless; send JSON-RPC messages with POST',
        );
      }

      const server = createMcpServer(deps, { identity, token });
      const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      let closed = false;
      const close = () => {
        if (closed) return;
        closed = true;
        void server.close().catch(() => undefined);
      };
      // A client that goes away cancels its in-flight tool calls (their signals abort).
      c.req.raw.signal.addEventListener('abort', close, { once: true });
      await server.connect(transport);
      const res = await transport.handleRequest(c.req.raw);
      const headers = new Headers(res.headers);
      for (const [k, v] of Object.entries(cors)) headers.set(k, v);
      if (!res.body) {
        close();
        return new Response(null, { status: res.status, headers });
      }
      // Close the per-request server once the whole response (SSE stream or JSON) has been sent.
      const done = new TransformStream<Uint8Array, Uint8Array>({ flush: close });
      res.body.pipeTo(done.writable).catch(close);
      return new Response(done.readable, { status: res.status, headers });
    });
  };
}
