// Writes that send in-cluster traffic elsewhere (docs/security.md class 251). A Service's
// `externalIPs` makes every node send traffic for those addresses to it, whoever they belong to
// (CVE-2020-8554: an in-cluster man in the middle); a load balancer's address in its status does the
// same; `externalName` turns a Service's in-cluster name into another host; Endpoints and
// EndpointSlices say where a Service's traffic goes. Each was held for review as an ordinary write,
// the approver told nothing of what it redirects. Now the body is read as a grant's is and such a write
// is `privilege`, what it redirects named, refused for agents by the default policy. Real kubectl
// (`create -f`) and raw requests, as kubectl sends them, against the fake API server.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultKubernetesPolicies } from '../src/policy/index.js';
import { hasCommand } from './testkit/commands.js';
import { startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

const RULE = 'k8s-agents-no-traffic-redirects';

function service(spec: Record<string, unknown>): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'grab', namespace: 'default' },
    spec: { ports: [{ port: 443, targetPort: 8443 }], selector: { app: 'mine' }, ...spec },
  };
}

describe('writes that send in-cluster traffic elsewhere', { timeout: 90_000 }, () => {
  let api: FakeKubeApi;
  let gw: KubeTestGateway;
  let agent: string;

  beforeAll(async () => {
    api = await startFakeKubeApi();
    gw = await startKubeTestGateway({ api, policies: defaultKubernetesPolicies(['prod-k8s']) });
    agent = await gw.token({ subject: 'claude', agent: true });
  });

  afterAll(async () => {
    await gw?.stop();
    await api?.close();
  });

  const send = (method: string, target: string, body: unknown, type: string) =>
    gw.send(agent, method, target, JSON.stringify(body), type);
  const writes = () => api.seen.filter((s) => s.method !== 'GET').length;

  it.skipIf(!hasCommand('kubectl'))(
    "kubectl create -f of a Service taking another's address is refused, named (before: held for review)",
    async () => {
      const before = writes();
      const asked = gw.approver.seen.length;
      const f = path.join(gw.dir, 'grab.json');
      writeFileSync(f, JSON.stringify(service({ externalIPs: ['10.96.0.10'] })));
      const pending = gw.kubectl(agent, ['create', '--validate=false', '-f', f]);
      const first = await Promise.race([
        pending,
        (async () => {
          while (gw.approver.seen.length === asked) await new Promise((r) => setTimeout(r, 20));
        })(),
      ]);
      if (!first) {
        const held = await gw.approver.next();
        held.deny();
        await pending;
        throw new Error(
          `held for approval as ${held.ctx.action.describe.kind} (${held.ctx.decision.ruleId})`,
        );
      }
      expect(first.code).not.toBe(0);
      expect(first.stderr).toContain(RULE);
      expect(first.stderr).toContain('spec.externalIPs=10.96.0.10');
      expect(writes()).toBe(before);
    },
  );

  it('so are an external name, a load balancer address, Endpoints and EndpointSlices, in any patch type', async () => {
    const before = writes();
    const asked = gw.approver.seen.length;
    const cases: [string, string, unknown, string, string][] = [
      [
        'PATCH',
        '/api/v1/namespaces/default/services/api',
        { spec: { type: 'ExternalName', externalName: 'collector.example.net' } },
        'application/merge-patch+json',
        'spec.externalName=collector.example.net',
      ],
      [
        'PATCH',
        '/api/v1/namespaces/default/services/api',
        [{ op: 'add', path: '/spec/externalIPs', value: ['10.0.0.1'] }],
        'application/json-patch+json',
        'spec.externalIPs=10.0.0.1',
      ],
      [
        'PATCH',
        '/api/v1/namespaces/default/services/api/status',
        { status: { loadBalancer: { ingress: [{ ip: '10.0.0.2' }] } } },
        'application/strategic-merge-patch+json',
        'status.loadBalancer.ingress (10.0.0.2)',
      ],
      [
        'POST',
        '/api/v1/namespaces/default/endpoints',
        {
          apiVersion: 'v1',
          kind: 'Endpoints',
          metadata: { name: 'api' },
          subsets: [{ addresses: [{ ip: '203.0.113.7' }], ports: [{ port: 443 }] }],
        },
        'application/json',
        'subsets (203.0.113.7)',
      ],
      [
        'POST',
        '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices',
        {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: { name: 'api-extra', labels: { 'kubernetes.io/service-name': 'api' } },
          addressType: 'IPv4',
          endpoints: [{ addresses: ['203.0.113.8'] }],
          ports: [{ port: 443 }],
        },
        'application/json',
        'endpoints (203.0.113.8)',
      ],
      [
        'PATCH',
        '/api/v1/namespaces/default/services/api?fieldManager=kubectl',
        service({ externalIPs: ['10.0.0.3'] }),
        'application/apply-patch+yaml',
        'spec.externalIPs=10.0.0.3',
      ],
    ];
    for (const [method, target, body, type, named] of cases) {
      const r = await send(method, target, body, type);
      expect(r.status, `${method} ${target} ${type}: ${r.body.slice(0, 200)}`).toBe(403);
      expect(r.body, type).toContain(RULE);
      expect(r.body, type).toContain(named);
    }
    expect(gw.approver.seen.length).toBe(asked);
    expect(writes()).toBe(before);
  });

  it('a Service that takes no address and names no host is held for review as before', async () => {
    const pending = send(
      'POST',
      '/api/v1/namespaces/default/services',
      service({ type: 'ClusterIP' }),
      'application/json',
    );
    const held = await gw.approver.next();
    expect(held.ctx.decision.ruleId).toBe('k8s-agents-review-writes');
    expect(held.ctx.action.describe.categories).toEqual(['write']);
    held.deny();
    expect((await pending).status).toBe(403);
  });
});
