// A write of a pod spec that hands Secrets to the pod's containers (an env value from a Secret's key,
// a whole Secret as env, a Secret volume) reads those Secrets: the pod's command prints them into its
// log or answers them to an exec. Such a write was decided as any write: a policy that lets a group
// create pods in a namespace and reviews its Secret reads let the Secret be read through a pod. Now the
// write carries the category `secrets`, with the Secrets named (docs/security.md class 243). Real
// kubectl and raw requests against the fake API server.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { hasCommand } from './testkit/commands.js';
import { startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

/** Developers may create and patch workloads; what reads a Secret is held for a second person. */
const DEV: PolicyConfig = {
  id: 'dev',
  subjects: { groups: ['dev'] },
  connections: ['prod-k8s'],
  rules: [
    { id: 'dev-review-secrets', effect: 'review', match: { commandCategories: ['secrets'] } },
    { id: 'dev-review-secret-reads', effect: 'review', match: { resources: ['secrets'] } },
    { id: 'dev-allow', effect: 'allow', match: {} },
  ],
};

const pod = (spec: Record<string, unknown>) =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `p${Math.random().toString(36).slice(2, 8)}`, namespace: 'default' },
    spec: {
      containers: [{ name: 'app', image: 'busybox', command: ['sh', '-c', 'env; sleep 3600'] }],
      ...spec,
    },
  });
const container = (extra: Record<string, unknown>) => ({
  containers: [{ name: 'app', image: 'busybox', command: ['sh', '-c', 'env'], ...extra }],
});

describe.skipIf(!hasCommand('kubectl'))(
  'pod writes that hand Secrets to the pod (class 243)',
  { timeout: 30_000 },
  () => {
    let api: FakeKubeApi;
    let gw: KubeTestGateway;
    let dev: string;

    beforeAll(async () => {
      api = await startFakeKubeApi();
      gw = await startKubeTestGateway({ api, policies: [DEV] });
      dev = await gw.token({ subject: 'dana', agent: true, groups: ['dev'] });
    });

    afterAll(async () => {
      await gw?.stop();
      await api?.close();
    });

    const send = (method: string, target: string, body: string, type: string) =>
      gw.send(dev, method, target, body, type);

    const writes = () => api.seen.filter((s) => s.method !== 'GET').length;

    /** The review the request is held for; throws at once if it ended without one (it ran). */
    async function heldFor(pending: Promise<unknown>) {
      const ended = pending.then((r) => {
        throw new Error(`not held: it ended at once (${JSON.stringify(r).slice(0, 200)})`);
      });
      return Promise.race([gw.approver.next(), ended]);
    }

    it('kubectl create of a pod with an env value from a Secret is held, the Secret named; refused, nothing is written', async () => {
      const before = writes();
      const manifest = pod(
        container({
          env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }],
        }),
      );
      const run = gw.kubectl(dev, ['create', '--validate=false', '-f', '-'], {
        input: manifest,
        timeoutMs: 20_000,
      });
      const held = await heldFor(run);
      expect(held.ctx.action.describe.categories).toContain('secrets');
      expect(held.ctx.action.describe.params).toEqual([
        'secrets: spec.containers[0].env[0].valueFrom.secretKeyRef=db key password',
      ]);
      expect(held.ctx.decision.ruleId).toBe('dev-review-secrets');
      held.deny();
      expect((await run).code).not.toBe(0);
      expect(writes()).toBe(before);
    });

    it.each([
      [
        'envFrom a Secret (a Deployment)',
        '/apis/apps/v1/namespaces/default/deployments',
        JSON.stringify({
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'web' },
          spec: {
            selector: {},
            template: { spec: container({ envFrom: [{ secretRef: { name: 'api-keys' } }] }) },
          },
        }),
        'spec.template.spec.containers[0].envFrom[0].secretRef=api-keys',
      ],
      [
        'a Secret volume',
        '/api/v1/namespaces/default/pods',
        pod({
          ...container({ volumeMounts: [{ name: 's', mountPath: '/s' }] }),
          volumes: [{ name: 's', secret: { secretName: 'tls' } }],
        }),
        'spec.volumes[0].secret=tls',
      ],
      [
        'a projected Secret (a CronJob)',
        '/apis/batch/v1/namespaces/default/cronjobs',
        JSON.stringify({
          apiVersion: 'batch/v1',
          kind: 'CronJob',
          metadata: { name: 'job' },
          spec: {
            schedule: '* * * * *',
            jobTemplate: {
              spec: {
                template: {
                  spec: {
                    ...container({}),
                    volumes: [{ name: 'p', projected: { sources: [{ secret: { name: 'creds' } }] } }],
                  },
                },
              },
            },
          },
        }),
        'spec.jobTemplate.spec.template.spec.volumes[0].projected.sources[0].secret=creds',
      ],
    ])('a raw create with %s is held with the Secret named', async (_name, target, body, named) => {
      const before = writes();
      const pending = send('POST', target, body, 'application/json');
      const held = await heldFor(pending);
      expect(held.ctx.action.describe.params).toEqual([`secrets: ${named}`]);
      held.deny();
      expect((await pending).status).toBe(403);
      expect(writes()).toBe(before);
    });

    it('a patch that adds a Secret to a workload is held, in each patch type', async () => {
      const patches: [string, string][] = [
        [
          'application/strategic-merge-patch+json',
          JSON.stringify({
            spec: {
              template: {
                spec: { containers: [{ name: 'app', envFrom: [{ secretRef: { name: 'api-keys' } }] }] },
              },
            },
          }),
        ],
        [
          'application/merge-patch+json',
          JSON.stringify({
            spec: { template: { spec: { volumes: [{ name: 's', secret: { secretName: 'tls' } }] } } },
          }),
        ],
        [
          'application/json-patch+json',
          JSON.stringify([
            {
              op: 'add',
              path: '/spec/template/spec/containers/0/env/-',
              value: { name: 'K', valueFrom: { secretKeyRef: { name: 'db', key: 'k' } } },
            },
          ]),
        ],
      ];
      for (const [type, body] of patches) {
        const before = writes();
        const pending = send('PATCH', '/apis/apps/v1/namespaces/default/deployments/web', body, type);
        const held = await heldFor(pending);
        expect(held.ctx.action.describe.categories, type).toContain('secrets');
        held.deny();
        expect((await pending).status).toBe(403);
        expect(writes()).toBe(before);
      }
    });

    it('a pod that takes no Secret is written at once, as before', async () => {
      const before = writes();
      const r = await send(
        'POST',
        '/api/v1/namespaces/default/pods',
        pod({ ...container({ env: [{ name: 'A', value: '1' }] }) }),
        'application/json',
      );
      expect(r.status).toBe(201);
      expect(writes()).toBe(before + 1);
    });
  },
);
