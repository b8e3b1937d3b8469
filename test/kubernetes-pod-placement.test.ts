// Where a pod runs is part of what it may do: a pod that names its node (`spec.nodeName`, or a
// `pods/binding` write) runs there without the scheduler, so a control-plane node's taints are not
// checked; a toleration of every taint, or of the control-plane taint, and a selector or affinity for
// control-plane nodes put it on one, beside etcd's and the API server's files and credentials; a
// system priority class makes the scheduler evict other pods for it. Each was an ordinary write
// (docs/security.md class 362). Real kubectl and raw requests through Gatehouse against the fake API
// server, an agent under the default policy.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultKubernetesPolicies } from '../src/policy/index.js';
import { hasCommand } from './testkit/commands.js';
import { startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

const haveKubectl = hasCommand('kubectl');
const RULE = 'k8s-agents-no-privileged-pods';

const pod = (spec: object) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'placed', namespace: 'default' },
  spec: { containers: [{ name: 'app', image: 'example/app:1.0' }], ...spec },
});

describe('where a pod runs', { timeout: 120_000 }, () => {
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

  it.skipIf(!haveKubectl)(
    'a node named past the scheduler, control-plane placement and system priority are privilege',
    async () => {
      const before = writes();
      const stderr = await gw.refusedKubectl(agent, [
        'run',
        'placed',
        '--image=example/app:1.0',
        `--overrides=${JSON.stringify({ spec: { nodeName: 'control-plane-1' } })}`,
      ]);
      expect(stderr).toContain(RULE);
      expect(stderr).toContain('spec.nodeName=control-plane-1');
      const binding = await refusedRaw(
        'POST',
        '/api/v1/namespaces/default/pods/web/binding',
        {
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: { name: 'web' },
          target: { kind: 'Node', name: 'control-plane-1' },
        },
        'application/json',
      );
      expect(binding).toContain('target.name=control-plane-1');
      const every = await refusedRaw(
        'POST',
        '/api/v1/namespaces/default/pods',
        pod({ tolerations: [{ operator: 'Exists' }] }),
        'application/json',
      );
      expect(every).toContain('tolerates every taint');
      await refusedRaw(
        'PATCH',
        '/apis/apps/v1/namespaces/default/deployments/web',
        {
          spec: {
            template: {
              spec: {
                nodeSelector: { 'node-role.kubernetes.io/control-plane': '' },
                tolerations: [
                  { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
                ],
              },
            },
          },
        },
        'application/strategic-merge-patch+json',
      );
      await refusedRaw(
        'PATCH',
        '/apis/apps/v1/namespaces/default/deployments/web',
        [
          {
            op: 'add',
            path: '/spec/template/spec/affinity',
            value: {
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: [
                    { matchExpressions: [{ key: 'node-role.kubernetes.io/master', operator: 'Exists' }] },
                  ],
                },
              },
            },
          },
        ],
        'application/json-patch+json',
      );
      await refusedRaw(
        'POST',
        '/api/v1/namespaces/default/pods',
        pod({ priorityClassName: 'system-node-critical' }),
        'application/json',
      );
      expect(writes()).toBe(before);
      // Keeping off control-plane nodes, an ordinary toleration and priority stay ordinary writes.
      const pending = gw.send(
        agent,
        'POST',
        '/api/v1/namespaces/default/pods',
        JSON.stringify(
          pod({
            priorityClassName: 'batch-low',
            tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }],
            affinity: {
              nodeAffinity: {
                requiredDuringSchedulingIgnoredDuringExecution: {
                  nodeSelectorTerms: [
                    {
                      matchExpressions: [
                        { key: 'node-role.kubernetes.io/control-plane', operator: 'DoesNotExist' },
                      ],
                    },
                  ],
                },
              },
            },
          }),
        ),
        'application/json',
      );
      const held = await gw.approver.next();
      expect(held.ctx.action.describe.categories).not.toContain('privilege');
      held.deny();
      await pending;
    },
  );
});
