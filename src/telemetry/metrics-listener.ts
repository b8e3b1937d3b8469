// `metrics.listen`: a listener that serves only GET /metrics, without authentication, for a
// Prometheus that scrapes over a private network (bind it to an address only it can reach).

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PROMETHEUS_CONTENT_TYPE, type PrometheusRegistry } from './prometheus-registry.js';

export interface RunningMetricsListener {
  readonly port: number;
  close(): Promise<void>;
}

export function startMetricsListener(
  registry: PrometheusRegistry,
  host: string,
  port: number,
): Promise<RunningMetricsListener> {
  const server = http.createServer((req, res) => {
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
