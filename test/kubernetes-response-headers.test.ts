// The headers of a Kubernetes answer reach a principal whose reads are masked masked, as an HTTP
// upstream's are (docs/security.md, classes 157 and 218): what a service reached through the API
// server's proxy, an aggregated API or an admission webhook's Warning puts there. Raw HTTPS requests
// through Gatehouse against the fake API server (test/testkit/kube-api.ts).

import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { PROXY_HEADER_SECRET, PROXY_TOKEN, startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

const policy = (id: string, mask: boolean): PolicyConfig => ({
  id,
  subjects: { subjects: [id] },
  connections: ['prod-k8s'],
  rules: [
    {
      id: `${id}-proxy`,
      effect: 'allow',
      match: { resources: ['services/proxy'] },
      ...(mask ? { mask } : {}),
    },
  ],
});

describe('response headers of a Kubernetes answer', { timeout: 60_000 }, () => {
  let api: FakeKubeApi;
  let gw: KubeTestGateway;
  let ca: string;

  beforeAll(async () => {
    api = await startFakeKubeApi();
    gw = await startKubeTestGateway({ api, policies: [policy('reader', true), policy('admin', false)] });
    ca = readFileSync(path.join(gw.dir, 'listener-ca.crt'), 'utf8');
  });

  afterAll(async () => {
    await gw?.stop();
    await api?.close();
  });

  function send(
    subject: string,
    method: string,
    target: string,
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
    return gw.token({ subject, agent: true }).then(
      (token) =>
        new Promise((resolve, reject) => {
          const req = https.request(
            `${gw.server}${target}`,
            { method, ca, headers: { authorization: `Bearer ${token}` } },
            (res) => {
              let body = '';
              res.on('data', (d: Buffer) => (body += d.toString()));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
            },
          );
          req.once('error', reject);
          req.end();
        }),
    );
  }

  const TARGET = '/api/v1/namespaces/default/services/web:80/proxy/status';

  it.each(['GET', 'HEAD'])('masks them for a masked principal (%s)', async (method) => {
    const out = await send('reader', method, TARGET);
    expect(out.status).toBe(200);
    const all = JSON.stringify(out.headers);
    expect(all).not.toContain(PROXY_HEADER_SECRET);
    expect(all).not.toContain(PROXY_TOKEN);
    expect(all).not.toContain('ann.lee@example.com');
    expect(out.headers['x-api-key']).toMatch(/^\[REDACTED:/);
    expect(out.headers['location']).toContain('/login?next=%2F&access_token=');
    // A value with no end of its own is masked to the end of the quoted text (class 262), prose and all.
    expect(out.headers['warning']).toBe('299 - "spec.env[0]: password=[REDACTED:password]"');
    // What frames the body is left as it is.
    expect(out.headers['etag']).toBe('"v1-abc"');
    expect(out.headers['content-type']).toBe('application/json');
    if (method === 'GET') expect(JSON.parse(out.body)).toEqual({ status: 'ok' });
    expect(gw.logs.join('\n')).not.toContain(PROXY_HEADER_SECRET);
  });

  it('relays them as sent to a principal whose reads are not masked', async () => {
    const out = await send('admin', 'GET', TARGET);
    expect(out.status).toBe(200);
    expect(out.headers['x-api-key']).toBe(PROXY_HEADER_SECRET);
    expect(out.headers['location']).toContain(PROXY_TOKEN);
  });
});
