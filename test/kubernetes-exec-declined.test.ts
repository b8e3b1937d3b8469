// A declined exec upgrade (the API server, or an admission webhook, answers the WebSocket handshake
// with a Status instead of 101) was relayed with its reason phrase and body as they came, unmasked,
// to a masked principal (docs/security.md class 218, the exec side). The body is now masked as the
// engine's other answers are, and the reason phrase left out; an unmasked operator still gets both.
// A WebSocket client against the fake API server through the gateway (kubectl shows only its SPDY
// fallback's error after a declined WebSocket upgrade).

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { defaultKubernetesPolicies } from '../src/policy/index.js';
import { DECLINED_EXEC_POD, startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

/** A person allowed to exec, unmasked. */
const OPERATOR: PolicyConfig = {
  id: 'operator',
  subjects: { subjects: ['operator'] },
  connections: ['prod-k8s'],
  rules: [{ id: 'operator-exec', effect: 'allow', match: { resources: ['pods', 'pods/exec'] } }],
};

let api: FakeKubeApi;
let gw: KubeTestGateway;
let ca: string;

beforeAll(async () => {
  api = await startFakeKubeApi();
  gw = await startKubeTestGateway({
    api,
    policies: [...defaultKubernetesPolicies(['prod-k8s'], { mask: true }), OPERATOR],
  });
  ca = readFileSync(path.join(gw.dir, 'listener-ca.crt'), 'utf8');
});
afterAll(async () => {
  await gw?.stop();
  await api?.close();
});

/** The gateway's answer to an exec upgrade into the declining pod: status, reason phrase, body. */
async function declined(token: string): Promise<{ status: number; reason: string; body: string }> {
  const ws = new WebSocket(
    `${gw.server.replace('https:', 'wss:')}/api/v1/namespaces/default/pods/${DECLINED_EXEC_POD}/exec?command=cat&command=%2Fetc%2Fhostname&stdout=true`,
    ['v5.channel.k8s.io'],
    { ca, headers: { authorization: `Bearer ${token}` } },
  );
  return new Promise((resolve, reject) => {
    ws.once('open', () => reject(new Error('the upgrade was accepted')));
    ws.once('unexpected-response', (_req, res) => {
      const chunks: Buffer[] = [];
      res.on('data', (b: Buffer) => chunks.push(b));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          reason: res.statusMessage ?? '',
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    ws.once('error', () => undefined);
  });
}

describe('a declined exec upgrade', () => {
  it('reaches a masked agent masked, without its reason phrase (before: the webhook’s message in clear)', async () => {
    const r = await declined(await gw.token({ subject: 'claude', agent: true }));
    expect(r.status).toBe(403);
    expect(r.body).toContain('exec-guard.example.com');
    expect(r.body + r.reason).not.toContain('Hunter2-declined-Zq81');
    expect(r.body + r.reason).not.toContain('AKIAQWERTYUIOPASDF12');
    expect(r.body).toMatch(/REDACTED/);
    expect(api.execs.length).toBe(0);
  });

  it('reaches an unmasked operator as it came', async () => {
    const r = await declined(await gw.token({ subject: 'operator', agent: false }));
    expect(r.status).toBe(403);
    expect(r.body).toContain('Hunter2-declined-Zq81');
  });
});
