// A web page reaching the agents' listener through a person's browser (docs/security.md, class 147):
// browsers let any page open a WebSocket to any address they can reach, sending the page's Origin,
// so a page a person inside the network opens could reach the tunnel's handshake (and spend the
// handshake slots of the person's address) through them. In Debian's chromium against the real
// gateway: the page's WebSocket is refused and counted; a real agent over WebSocket still joins.
// Also: the metrics listener's 421s are counted like the HTTP listener's.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { agentsSection, joinToken, startAgent } from './testkit/agents.js';
import { hasChromium, launchBrowser } from './testkit/browser.js';
import { parsePrometheusText } from './testkit/prometheus-text.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    connectionExtra: { via: { agent: 'origin-test' } },
    extra: {
      agents: agentsSection(0),
      metrics: { enabled: true, listen: '127.0.0.1:0' },
    },
  });
}, 120_000);

afterAll(async () => {
  await gw?.stop();
});

async function refusals(listener: string, reason: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${gw.gateway.metricsListener!.port}/metrics`);
  return parsePrometheusText(await res.text()).value('gatehouse_preauth_refusals_total', {
    listener,
    reason,
  });
}

describe('the agents listener and web pages', () => {
  it.skipIf(!hasChromium())("refuses a WebSocket a web page opens through a person's browser", async () => {
    const agentsPort = gw.gateway.agents!.address.port;
    // Any site on the web: here, a server on another port of the host.
    const site = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><script>
        const ws = new WebSocket('ws://127.0.0.1:${agentsPort}/agent/v1/tunnel');
        ws.binaryType = 'arraybuffer';
        ws.onopen = () => { document.title = 'open'; };
        ws.onerror = () => { document.title = 'refused'; };
      </script>`);
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    const before = await refusals('agents', 'browser_origin');
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${(site.address() as AddressInfo).port}/`);
      await page.waitForFunction(() => document.title !== '', undefined, { timeout: 10_000 });
      expect(await page.title()).toBe('refused');
      expect(await refusals('agents', 'browser_origin')).toBe(before + 1);
    } finally {
      await browser.close();
      await new Promise((r) => site.close(r));
    }
  });

  it('still lets a real agent join over WebSocket (it sends no Origin)', async () => {
    const agents = gw.gateway.agents!;
    const agent = await startAgent(agents, {
      joinToken: await joinToken(agents, 'origin-test'),
      scheme: 'ws',
    });
    try {
      await agent.ready();
    } finally {
      await agent.stop();
    }
  });

  it("counts the metrics listener's refusals of a foreign Host", async () => {
    const before = await refusals('metrics', 'host_not_allowed');
    const port = gw.gateway.metricsListener!.port;
    const status = await new Promise<number>((resolve, reject) => {
      http
        .get(
          { host: '127.0.0.1', port, path: '/metrics', headers: { host: `rebind.attacker.test:${port}` } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        )
        .on('error', reject);
    });
    expect(status).toBe(421);
    expect(await refusals('metrics', 'host_not_allowed')).toBe(before + 1);
  });
});
