// An Ingress, a Gateway API route or a Gateway claims the traffic for a host and path (docs/security.md
// class 316): whichever namespace claims `login.example.com/` gets its users' requests, passwords and
// session cookies included, and an ingress controller merges or picks claims across namespaces. Whose
// host it is Gatehouse cannot know. Such writes were ordinary writes, held for an approver shown a
// hostname; now they are `privilege`, with the hosts and paths named, as a Service's externalIPs are
// (class 251). So are the addresses an Ingress's or a Gateway's status publishes (external-dns points
// the host's name there) and ingress-nginx's snippet annotations (configuration the controller runs
// with its rights). So is a Node status naming where its kubelet is (class 318): the API server sends
// the node's exec, attach, log and port-forward traffic there. Real kubectl and raw requests against
// the fake API server.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { defaultKubernetesPolicies } from '../src/policy/index.js';
import { hasCommand } from './testkit/commands.js';
import { startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

const haveKubectl = hasCommand('kubectl');

const OPS: PolicyConfig = {
  id: 'ops',
  subjects: { groups: ['ops'], agent: false },
  connections: ['prod-k8s'],
  rules: [
    { id: 'ops-review-privilege', effect: 'review', match: { commandCategories: ['privilege'] } },
    { id: 'ops-allow', effect: 'allow', match: {} },
  ],
};

const RULE = 'k8s-agents-no-traffic-redirects';

const ingress = (spec: object) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name: 'web', namespace: 'default' },
  spec,
});
const backend = { service: { name: 'mine', port: { number: 80 } } };

describe('writes that claim a host’s traffic', { timeout: 120_000 }, () => {
  let api: FakeKubeApi;
  let gw: KubeTestGateway;
  let agent: string;
  let ops: string;

  beforeAll(async () => {
    api = await startFakeKubeApi({ moreGroups: true });
    gw = await startKubeTestGateway({ api, policies: [...defaultKubernetesPolicies(['prod-k8s']), OPS] });
    agent = await gw.token({ subject: 'claude', agent: true });
    ops = await gw.token({ subject: 'olga', agent: false, groups: ['ops'] });
  });

  afterAll(async () => {
    await gw?.stop();
    await api?.close();
  });

  const writes = () => api.seen.filter((s) => s.method !== 'GET').length;
  let files = 0;
  const file = (doc: unknown): string => {
    const f = path.join(gw.dir, `obj-${files++}.json`);
    writeFileSync(f, JSON.stringify(doc));
    return f;
  };

  async function refusedKubectl(args: string[]): Promise<string> {
    const stderr = await gw.refusedKubectl(agent, args);
    expect(stderr).toContain(RULE);
    return stderr;
  }

  async function refusedRaw(method: string, target: string, body: unknown, type: string): Promise<string> {
    const first = await gw.refusedSend(agent, method, target, JSON.stringify(body), type);
    expect(first.status).toBe(403);
    expect(first.body).toContain(RULE);
    return first.body;
  }

  it.skipIf(!haveKubectl)(
    "an Ingress's hosts and paths are privilege, kubectl's forms and patches alike",
    async () => {
      const before = writes();
      const created = await refusedKubectl([
        'create',
        '--validate=false',
        '-f',
        file(
          ingress({
            rules: [
              {
                host: 'login.example.com',
                http: { paths: [{ path: '/', pathType: 'Prefix', backend }] },
              },
            ],
          }),
        ),
      ]);
      expect(created).toContain('spec.rules[0] host login.example.com paths /');
      // kubectl's typed command (protobuf): what Gatehouse cannot read may claim anything.
      await refusedKubectl(['create', 'ingress', 'takeover', '--rule=login.example.com/*=mine:80']);
      // No host is every host; a default backend is every host and path nobody else claims.
      const every = await refusedRaw(
        'POST',
        '/apis/networking.k8s.io/v1/namespaces/default/ingresses',
        ingress({
          defaultBackend: backend,
          rules: [{ http: { paths: [{ path: '/api', pathType: 'Prefix', backend }] } }],
        }),
        'application/json',
      );
      expect(every).toContain('spec.rules[0] host * (every host) paths /api');
      expect(every).toContain('spec.defaultBackend');
      // A patch that moves an existing Ingress to another host, or a part of a rule.
      const moved = await refusedKubectl([
        'patch',
        'ingress',
        'web',
        '--type=json',
        '-p',
        JSON.stringify([{ op: 'replace', path: '/spec/rules/0/host', value: 'pay.example.com' }]),
      ]);
      expect(moved).toContain('spec.rules.0.host=pay.example.com changed');
      // ingress-nginx runs a snippet annotation as its own configuration, with its rights over every Secret.
      const snippet = await refusedKubectl([
        'annotate',
        'ingress',
        'web',
        'nginx.ingress.kubernetes.io/server-snippet=location /x { return 200 $http_authorization; }',
      ]);
      expect(snippet).toContain('metadata.annotations.nginx.ingress.kubernetes.io/server-snippet');
      // The addresses its status publishes: external-dns points the host's name there.
      const status = await refusedRaw(
        'PATCH',
        '/apis/networking.k8s.io/v1/namespaces/default/ingresses/web/status',
        { status: { loadBalancer: { ingress: [{ ip: '203.0.113.9' }] } } },
        'application/merge-patch+json',
      );
      expect(status).toContain('status.loadBalancer.ingress (203.0.113.9)');
      expect(writes()).toBe(before);
      // A label is not a claim: an ordinary write, held for review.
      const pending = gw.kubectl(agent, ['label', 'ingress', 'web', 'team=payments']);
      const held = await gw.approver.next();
      expect(held.ctx.action.describe.categories).not.toContain('privilege');
      held.deny();
      await pending;
    },
  );

  it.skipIf(!haveKubectl)('Gateway API routes and Gateways claim hosts as an Ingress does', async () => {
    const before = writes();
    const route = await refusedKubectl([
      'create',
      '--validate=false',
      '-f',
      file({
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'takeover', namespace: 'default' },
        spec: {
          parentRefs: [{ name: 'shared', namespace: 'infra' }],
          hostnames: ['login.example.com'],
          rules: [{ backendRefs: [{ name: 'mine', port: 80 }] }],
        },
      }),
    ]);
    expect(route).toContain('hostnames ["login.example.com"] on infra/shared');
    const status = await refusedRaw(
      'PATCH',
      '/apis/gateway.networking.k8s.io/v1/namespaces/infra/gateways/shared/status',
      { status: { addresses: [{ type: 'IPAddress', value: '203.0.113.9' }] } },
      'application/merge-patch+json',
    );
    expect(status).toContain('status.addresses');
    expect(writes()).toBe(before);
    // A person's rule that reviews privilege is shown the claim.
    const pending = gw.send(
      ops,
      'POST',
      '/apis/networking.k8s.io/v1/namespaces/default/ingresses',
      JSON.stringify(ingress({ rules: [{ host: 'login.example.com' }] })),
      'application/json',
    );
    const held = await gw.approver.next();
    expect(held.ctx.action.describe.params?.join('\n')).toContain('spec.rules[0] host login.example.com');
    held.deny();
    expect((await pending).status).toBe(403);
  });

  it("a Node status naming where its kubelet is sends the node's exec and log traffic there (class 318)", async () => {
    const before = writes();
    const addresses = await refusedRaw(
      'PATCH',
      '/api/v1/nodes/worker-1/status',
      { status: { addresses: [{ type: 'InternalIP', address: '203.0.113.7' }] } },
      'application/strategic-merge-patch+json',
    );
    expect(addresses).toContain('status.addresses=');
    expect(addresses).toContain('203.0.113.7');
    const port = await refusedRaw(
      'PATCH',
      '/api/v1/nodes/worker-1/status',
      [{ op: 'replace', path: '/status/daemonEndpoints/kubeletEndpoint/Port', value: 8443 }],
      'application/json-patch+json',
    );
    expect(port).toContain('status.daemonEndpoints.kubeletEndpoint.Port=8443');
    expect(writes()).toBe(before);
    // A condition is not an address: an ordinary write, held for review.
    const pending = gw.send(
      agent,
      'PATCH',
      '/api/v1/nodes/worker-1/status',
      JSON.stringify({ status: { conditions: [{ type: 'Ready', status: 'False' }] } }),
      'application/strategic-merge-patch+json',
    );
    const held = await gw.approver.next();
    expect(held.ctx.action.describe.categories).not.toContain('privilege');
    held.deny();
    await pending;
  });
});
