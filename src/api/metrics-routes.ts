// GET /metrics on the gateway's HTTP listener: the Prometheus text format, for non-agent members
// of api.adminGroups (Prometheus sends the token as `authorization: Bearer …`, see docs/operations.md).
// A separate listener without authentication is `metrics.listen` (src/telemetry/metrics-listener.ts).

import type { Hono } from 'hono';
import { isGatewayError } from '../core/errors.js';
import type { Authenticator } from '../core/ports.js';
import { credentialReason, type PreauthSignals } from '../core/preauth.js';
import type { ApiEnv, RoutePlugin } from './http-server.js';
import { peerAddress } from './peer-address.js';

export interface MetricsRouteDeps {
  readonly authenticator: Authenticator;
  readonly adminGroups: () => readonly string[];
  readonly render: () => Promise<string>;
  readonly contentType: string;
  /** Where refusals before authentication go (counted and logged, rate-limited: core/preauth.ts). */
  readonly preauth?: PreauthSignals;
}

function problem(status: 401 | 403, detail: string): Response {
  return new Response(
    JSON.stringify({
      type: 'about:blank',
      title: status === 401 ? 'Unauthorized' : 'Forbidden',
      status,
      detail,
    }),
    {
      status,
      headers: {
        'content-type': 'application/problem+json',
        ...(status === 401 ? { 'www-authenticate': 'Bearer realm="gatehouse"' } : {}),
      },
    },
  );
}

export function metricsRoutes(deps: MetricsRouteDeps): RoutePlugin {
  return (app: Hono<ApiEnv>) => {
    app.get('/metrics', async (c) => {
      const m = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
      if (!m) {
        deps.preauth?.refused('api', 'credentials_missing', peerAddress(c));
        return problem(401, 'send a Gatehouse token of an admin as Authorization: Bearer <token>');
      }
      let groups: readonly string[];
      let agent: boolean;
      try {
        ({ groups, agent } = await deps.authenticator.authenticate(m[1]!));
      } catch (e) {
        deps.preauth?.refused('api', credentialReason(e), peerAddress(c));
        return problem(401, isGatewayError(e) ? e.message : 'invalid token');
      }
      const admins = deps.adminGroups();
      if (agent || !groups.some((g) => admins.includes(g)))
        return problem(403, `metrics need a non-agent identity in one of: ${admins.join(', ')}`);
      return c.body(await deps.render(), 200, { 'content-type': deps.contentType });
    });
  };
}
