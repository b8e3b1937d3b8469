// A CustomResourceDefinition with a conversion webhook hands every stored object of its kind to the
// service the webhook names, and the API server serves and stores what that service answers: the
// reach class 141 refused for APIServices, left open for CRDs (its "Left"). Such a write was held for
// review as an ordinary write; now its body is read as a grant's is, and the webhook makes it
// `privilege` and `secrets`, named, refused for agents by the default policy (docs/security.md class
// 232). A CRD without one is held for review as before, whatever its schema names. Raw requests, as
// kubectl sends them, against the fake API server.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultKubernetesPolicies } from '../src/policy/index.js';
import { startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

/** A CRD of `widgets.example.com`; its schema names pod fields, as operators' CRDs do. */
function crd(conversion?: unknown): unknown {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.com' },
    spec: {
      group: 'example.com',
      names: { kind: 'Widget', plural: 'widgets' },
      scope: 'Namespaced',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                privileged: { type: 'boolean' },
                hostPath: { type: 'object', properties: { path: { type: 'string' } } },
              },
            },
          },
        },
      ],
      ...(conversion === undefined ? {} : { conversion }),
    },
  };
}

const WEBHOOK = {
  strategy: 'Webhook',
  webhook: {
    conversionReviewVersions: ['v1'],
    clientConfig: { service: { namespace: 'default', name: 'mine', path: '/convert' } },
  },
};

describe('a CRD conversion webhook', { timeout: 60_000 }, () => {
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

  it('is refused for an agent in a create, a merge patch, a JSON patch and an apply (before: held for review)', async () => {
    const before = writes();
    const asked = gw.approver.seen.length;
    const cases: [string, string, unknown, string, string][] = [
      ['POST', CRDS, crd(WEBHOOK), 'application/json', 'spec.conversion.webhook to service default/mine'],
      [
        'PATCH',
        `${CRDS}/widgets.example.com`,
        { spec: { conversion: WEBHOOK } },
        'application/merge-patch+json',
        'spec.conversion.webhook to service default/mine',
      ],
      [
        'PATCH',
        `${CRDS}/widgets.example.com`,
        [{ op: 'replace', path: '/spec/conversion/webhook/clientConfig/url', value: 'https://x.example/c' }],
        'application/json-patch+json',
        'spec.conversion.webhook.clientConfig.url changed',
      ],
      [
        'PATCH',
        `${CRDS}/widgets.example.com?fieldManager=kubectl`,
        crd({ strategy: 'Webhook', webhook: { clientConfig: { url: 'https://x.example/c' } } }),
        'application/apply-patch+yaml',
        'spec.conversion.webhook to https://x.example/c',
      ],
    ];
    for (const [method, target, body, type, named] of cases) {
      const r = await send(method, target, body, type);
      expect(r.status, `${method} ${type}`).toBe(403);
      expect(r.body, type).toContain('k8s-agents-no-granted-powers');
      expect(r.body, type).toContain(named);
    }
    expect(gw.approver.seen.length).toBe(asked);
    expect(writes()).toBe(before);
  });

  it('a CRD without one is held for review as an ordinary write, whatever its schema names', async () => {
    const pending = send('POST', CRDS, crd({ strategy: 'None' }), 'application/json');
    const held = await gw.approver.next();
    expect(held.ctx.decision.ruleId).toBe('k8s-agents-review-writes');
    expect(held.ctx.action.describe.categories).toEqual(['write']);
    held.deny();
    expect((await pending).status).toBe(403);
  });
});
