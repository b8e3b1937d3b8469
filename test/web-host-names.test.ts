// DNS rebinding (docs/security.md, class 121): a page on attacker.example whose name is re-pointed
// to 127.0.0.1 is, to the browser, still attacker.example's origin, so its script reads whatever the
// gateway answers there. In Debian's chromium (`--host-resolver-rules` maps the attacker's name to
// 127.0.0.1, as the rebound DNS answer would) against the real gateway: the unauthenticated metrics
// listener, whose labels name connections and rules, and the HTTP listener's health, metadata and
// sign-in pages. Every HTTP listener must answer only its own host names, and still answer a
// Prometheus scrape by a configured name and the console at its configured public URL.

import http from 'node:http';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hasChromium, launchBrowser, type TestBrowser } from './testkit/browser.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const REBOUND = 'rebind.attacker.test';
let gw: TestGateway;
let browser: TestBrowser | undefined;
let httpPort: number;
let metricsPort: number;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    connectionName: 'payments-prod',
    setupSql: 'CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)',
    extra: {
      listeners: {
        postgres: { address: '127.0.0.1:0' },
        http: {
          address: '127.0.0.1:0',
          publicUrl: 'https://gatehouse.example.com',
          allowedHosts: ['gatehouse.internal', '*.gw.example.net'],
        },
      },
      api: { adminGroups: ['dba'] },
      metrics: { enabled: true, listen: '127.0.0.1:0', allowedHosts: ['prom-target.internal'] },
    },
  });
  httpPort = gw.gateway.http!.port;
  metricsPort = gw.gateway.metricsListener!.port;
  // One session, so that the metrics name the connection.
  const client = gw.client(await gw.token({ subject: 'alice', groups: ['testers'] }));
  await client.connect();
  await client.query('SELECT id FROM t');
  await client.end();
  if (hasChromium()) browser = await launchBrowser([`--host-resolver-rules=MAP ${REBOUND} 127.0.0.1`]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await gw?.stop();
});

/** A request with the Host header as given (what a browser sends for the name in its URL). */
function get(port: number, path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('a Host header that names another site', () => {
  it('is answered 421 with nothing else, by the metrics listener and the HTTP listener', async () => {
    const m = await get(metricsPort, '/metrics', `${REBOUND}:${metricsPort}`);
    expect(m.status).toBe(421);
    expect(m.body).not.toContain('payments-prod');
    expect(m.body).toContain('metrics.allowedHosts');
    for (const path of [
      '/healthz',
      '/openapi.json',
      '/login',
      '/approvals',
      '/.well-known/oauth-protected-resource/mcp',
      '/mcp',
    ]) {
      const r = await get(httpPort, path, `${REBOUND}:${httpPort}`);
      expect(r.status, path).toBe(421);
      expect(r.body, path).toContain('listeners.http.allowedHosts');
    }
    // A name that merely ends like a configured one, or contains one, is not the gateway's.
    for (const host of ['evilgatehouse.internal', 'gw.example.net', 'gatehouse.internal.attacker.test']) {
      expect((await get(httpPort, '/healthz', host)).status, host).toBe(421);
    }
  });

  it("the gateway's own names, addresses and configured names are still answered", async () => {
    // A Prometheus scrape by a configured name, by address, and on loopback.
    for (const host of [
      `prom-target.internal:${metricsPort}`,
      `127.0.0.1:${metricsPort}`,
      '10.0.3.7:9464',
      'localhost',
    ]) {
      const r = await get(metricsPort, '/metrics', host);
      expect(r.status, host).toBe(200);
      expect(r.body, host).toContain('connection="payments-prod"');
    }
    for (const host of [
      `127.0.0.1:${httpPort}`,
      `localhost:${httpPort}`,
      `[::1]:${httpPort}`,
      'gatehouse.example.com',
      'GATEHOUSE.example.com.',
      'gatehouse.internal:8780',
      'eu.gw.example.net',
    ]) {
      expect((await get(httpPort, '/healthz', host)).status, host).toBe(200);
    }
  });
});

describe.skipIf(!hasChromium())('a page on a name rebound to 127.0.0.1, in chromium', () => {
  it('reads nothing from the metrics listener or the HTTP listener', async () => {
    const page = await browser!.newPage();
    try {
      page.setDefaultTimeout(10_000);
      // The attacker's page is now served "by its own name" from the gateway's address: its script
      // runs in that origin, and reads what the gateway answers there.
      const first = await page.goto(`http://${REBOUND}:${metricsPort}/metrics`);
      const read = await page.evaluate(async () => {
        const r = await fetch('/metrics');
        return { status: r.status, text: await r.text() };
      });
      expect(read.text.split('\n').find((l) => l.includes('payments-prod'))).toBeUndefined();
      expect(read.text).not.toContain('gatehouse_');
      expect(read.status).toBe(421);
      expect(first?.status()).toBe(421);

      const api = await page.goto(`http://${REBOUND}:${httpPort}/healthz`);
      expect(api?.status()).toBe(421);
      const login = await page.evaluate(async () => (await fetch('/login')).status);
      expect(login).toBe(421);

      // The same browser on the gateway's own address is answered.
      const own = await page.goto(`http://127.0.0.1:${metricsPort}/metrics`);
      expect(own?.status()).toBe(200);
      expect(await page.content()).toContain('payments-prod');
    } finally {
      await page.close();
    }
  });
});
