// `metrics.listen`: a listener that serves only GET /metrics, without authentication, for a
// Prometheus that scrapes over a private network (bind it to an address only it can reach).

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { noPreauthSignals, type PreauthSignals } from '../core/preauth.js';
import { PROMETHEUS_CONTENT_TYPE, type PrometheusRegistry } from './prometheus-registry.js';

export interface RunningMetricsListener {
  readonly port: number;
  close(): Promise<void>;
}

export function startMetricsListener(
  registry: PrometheusRegistry,
  host: string,
  port: number,
  /**
   * Whether a request's Host header names this listener (src/api/host-allow-list.ts); others get 421
   * (docs/security.md, class 121).
   */
  hostAllowed: (host: string | undefined) => boolean,
  /** Where a refusal is counted (`gatehouse_preauth_refusals_total{listener="metrics"}`). */
  preauth: PreauthSignals = noPreauthSignals,
): Promise<RunningMetricsListener> {
  const server = http.createServer((req, res) => {
    // Without authentication, this listener must answer no page but its own: a page on a name
    // rebound to this address would read every label (connections, rules) otherwise.
    if (!hostAllowed(req.headers.host)) {
      preauth.refused('metrics', 'host_not_allowed', req.socket.remoteAddress);
      res
        .writeHead(421, {
          'content-type': 'application/problem+json',
          'x-content-type-options': 'nosniff',
          'cache-control': 'no-store',
        })
        .end(
          JSON.stringify({
            type: 'about:blank',
            title: 'Misdirected Request',
            status: 421,
            detail:
              'this listener does not answer the host name in the Host header; if it is the gateway\'s, add it to metrics.allowedHosts (docs/operations.md, "Host names")',
          }),
        );
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if ((req.method !== 'GET' && req.method !== 'HEAD') || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics is served here\n');
      return;
    }
    registry.render().then(
      (text) =>
        res
          .writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE })
          .end(req.method === 'HEAD' ? undefined : text),
      () => res.writeHead(500).end(),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      resolve({
        port: (server.address() as AddressInfo).port,
        close: () => new Promise<void>((r) => server.close(() => r())),
      });
    });
  });
}
