// The gateway's HTTP listener: health, the admin JSON API (sessions), and its OpenAPI document.
// Every /api route authenticates the caller's own token; agent principals never get admin rights.

import type { Duplex } from 'node:stream';
import { serve, type ServerType } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { except } from 'hono/combine';
import { isGatewayError } from '../core/errors.js';
import type { Identity } from '../core/identity.js';
import { credentialReason, noPreauthSignals, type PreauthSignals } from '../core/preauth.js';
import type { Authenticator, Logger, SessionStore } from '../core/ports.js';
import type { SessionFilter } from '../core/records.js';
import { answerClientError, reportListenerRefusals } from '../engines/http/client-limits.js';
import {
  hostAllowed,
  MISDIRECTED_HEADERS,
  MISDIRECTED_STATUS,
  misdirectedBody,
  type HostSources,
} from './host-allow-list.js';
import { openApiDocument } from './openapi.js';
import { peerAddress } from './peer-address.js';

export interface HttpApiDeps {
  readonly authenticator: Authenticator;
  readonly store: SessionStore;
  readonly logger: Logger;
  /** Groups whose (non-agent) members may read records through the API. */
  readonly adminGroups: () => readonly string[];
  readonly liveSessions: () => number;
  /** Where refusals before authentication go (counted and logged, rate-limited: core/preauth.ts). */
  readonly preauth?: PreauthSignals;
  /**
   * The Host names this listener answers (src/api/host-allow-list.ts), read on every request; every
   * other Host gets 421 before any route runs (DNS rebinding: docs/security.md, class 121).
   */
  readonly hosts?: () => HostSources;
}

export type ApiEnv = { Variables: { identity: Identity } };
type Env = ApiEnv;

/**
 * A feature's routes (approvals, context API, MCP…), registered by the composition root. Routes
 * under /api/* are already authenticated: `c.get('identity')` is the caller.
 */
export type RoutePlugin = (app: Hono<ApiEnv>) => void;

function problem(
  status: 400 | 401 | 403 | 404,
  title: string,
  detail: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify({ type: 'about:blank', title, status, detail }), {
    status,
    headers: { 'content-type': 'application/problem+json', ...headers },
  });
}

/** Largest request body the HTTP listener reads (the MCP endpoint excepted). */
export const MAX_HTTP_BODY_BYTES = 1024 * 1024;

function tooLarge(): Response {
  return new Response(
    JSON.stringify({
      type: 'about:blank',
      title: 'Content Too Large',
      status: 413,
      detail: `the request body is larger than ${MAX_HTTP_BODY_BYTES} bytes`,
    }),
    { status: 413, headers: { 'content-type': 'application/problem+json', connection: 'close' } },
  );
}

export function buildHttpApi(deps: HttpApiDeps, plugins: readonly RoutePlugin[] = []): Hono<Env> {
  const app = new Hono<Env>();

  // Before anything else, signed in or not: a Host that is not this listener's is a page on another
  // name (a rebound DNS name, docs/security.md class 121) and is answered with nothing else.
  const hosts = deps.hosts;
  if (hosts) {
    app.use('*', async (c, next) => {
      if (!hostAllowed(c.req.header('host'), hosts())) {
        deps.preauth?.refused('api', 'host_not_allowed', peerAddress(c));
        return new Response(misdirectedBody('listeners.http.allowedHosts'), {
          status: MISDIRECTED_STATUS,
          headers: MISDIRECTED_HEADERS,
        });
      }
      await next();
    });
  }

  // Every body on this listener is bounded before any route reads it, signed in or not (sign-in
  // forms, the Slack endpoint, the SAML ACS, the approvals API). /mcp bounds its own (the MCP SDK's
  // 4 MiB), and reads it as a stream.
  app.use('*', except('/mcp', bodyLimit({ maxSize: MAX_HTTP_BODY_BYTES, onError: () => tooLarge() })));

  app.get('/healthz', (c) => c.json({ status: 'ok', liveSessions: deps.liveSessions() }));
  app.get('/openapi.json', (c) => c.json(openApiDocument));

  app.use('/api/*', async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) {
      deps.preauth?.refused('api', 'credentials_missing', peerAddress(c));
      return problem(401, 'Unauthorized', 'send your Gatehouse token as Authorization: Bearer <token>', {
        'WWW-Authenticate': 'Bearer realm="gatehouse"',
      });
    }
    try {
      c.set('identity', await deps.authenticator.authenticate(m[1]!));
    } catch (e) {
      deps.preauth?.refused('api', credentialReason(e), peerAddress(c));
      return problem(401, 'Unauthorized', isGatewayError(e) ? e.message : 'invalid token', {
        'WWW-Authenticate': 'Bearer realm="gatehouse", error="invalid_token"',
      });
    }
    await next();
  });

  const requireAdmin = (c: Context<Env>) => {
    const id = c.get('identity');
    const admins = deps.adminGroups();
    if (id.agent || !id.groups.some((g) => admins.includes(g))) {
      return problem(
        403,
        'Forbidden',
        `reading records needs a non-agent identity in one of: ${admins.join(', ')}`,
      );
    }
    return undefined;
  };

  app.get('/api/sessions', async (c) => {
    const denied = requireAdmin(c);
    if (denied) return denied;
    const q = c.req.query();
    const filter: SessionFilter = {
      ...(q.subject ? { subject: q.subject } : {}),
      ...(q.connection ? { connection: q.connection } : {}),
      ...(q.since ? { since: new Date(q.since) } : {}),
      ...(q.until ? { until: new Date(q.until) } : {}),
      ...(q.decision === 'allow' || q.decision === 'deny' || q.decision === 'review'
        ? { effect: q.decision }
        : {}),
      ...(q.category ? { category: q.category } : {}),
      ...(q.text ? { text: q.text } : {}),
      limit: Math.min(Number(q.limit ?? 50) || 50, 1000),
    };
    return c.json({ sessions: await deps.store.listSessions(filter) });
  });

  app.get('/api/sessions/:id', async (c) => {
    const denied = requireAdmin(c);
    if (denied) return denied;
    const s = await deps.store.getSession(c.req.param('id'));
    if (!s) return problem(404, 'Not Found', 'no such session');
    return c.json(s);
  });

  for (const plugin of plugins) plugin(app);

  app.onError((err, c) => {
    deps.logger.error({ err: err.message, path: c.req.path }, 'http api error');
    return c.json({ type: 'about:blank', title: 'Internal Server Error', status: 500 }, 500);
  });
  return app;
}

export interface RunningHttp {
  readonly port: number;
  close(): Promise<void>;
}

/** The 408 node itself sends for a request head that did not arrive within its headersTimeout. */
const HEAD_TIMEOUT = (): string =>
  'HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-length: 0\r\n\r\n';

export function startHttpServer(
  app: Hono<Env>,
  host: string,
  port: number,
  preauth: PreauthSignals = noPreauthSignals,
): Promise<RunningHttp> {
  return new Promise((resolve, reject) => {
    let server: ServerType | undefined = undefined;
    server = serve({ fetch: app.fetch, hostname: host, port }, (info) => {
      resolve({
        port: info.port,
        close: () => new Promise<void>((r) => (server ? server.close(() => r()) : r())),
      });
    });
    server.once('error', reject);
    // A head node could not read is answered as node would (a listener of 'clientError' replaces its
    // own answer); one that did not arrive within headersTimeout is a refusal before anyone is known
    // (core/preauth.ts), reported as on every HTTP listener.
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) =>
      answerClientError(err, socket, HEAD_TIMEOUT),
    );
    reportListenerRefusals(server, 'api', preauth);
  });
}
