// The ConfigMaps of `kube-system` and `kube-public` are the cluster's own components' configuration:
// EKS's `aws-auth` maps IAM roles and users to Kubernetes users and groups (`system:masters` is
// cluster-admin), CoreDNS's `coredns` Corefile decides what every in-cluster name resolves to (a
// `rewrite` or a `hosts` entry sends a name's traffic, and the credentials in it, to the writer's
// address), and `kube-public/cluster-info` is the server and CA that joining nodes trust. A write of
// one was an ordinary write of a ConfigMap (docs/security.md class 360). Real kubectl and raw requests
// through Gatehouse against the fake API server, an agent under the default policy.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultKubernetesPolicies } from '../src/policy/index.js';
import { hasCommand } from './testkit/commands.js';
import { startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

const haveKubectl = hasCommand('kubectl');
const RULE = 'k8s-agents-no-granted-powers';

const MAP_ROLES =
  '- rolearn: arn:aws:iam::111122223333:role/agent-sandbox\n  username: admin\n  groups:\n    - system:masters\n';

describe('ConfigMaps the cluster’s own components read', { timeout: 120_000 }, () => {
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

  const writes = () => api.seen.filter((s) => s.method !== 'GET').length;

  async function refusedRaw(method: string, target: string, body: unknown, type: string): Promise<string> {
    const first = await gw.refusedSend(agent, method, target, JSON.stringify(body), type);
    expect(first.status, first.body).toBe(403);
    expect(first.body).toContain(RULE);
    return first.body;
  }

  it.skipIf(!haveKubectl)(
    'aws-auth, the Corefile and cluster-info are privilege; other ConfigMaps stay ordinary',
    async () => {
      const before = writes();
      const file = path.join(gw.dir, 'aws-auth.json');
      writeFileSync(
        file,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'aws-auth', namespace: 'kube-system' },
          data: { mapRoles: MAP_ROLES },
        }),
      );
      const stderr = await gw.refusedKubectl(agent, ['create', '--validate=false', '-f', file]);
      expect(stderr).toContain(RULE);
      expect(stderr).toContain('data.mapRoles');
      const dns = await refusedRaw(
        'PATCH',
        '/api/v1/namespaces/kube-system/configmaps/coredns',
        {
          data: {
            Corefile:
              '.:53 {\n    rewrite name db.prod.svc.cluster.local collector.example.net\n    forward . /etc/resolv.conf\n}\n',
          },
        },
        'application/merge-patch+json',
      );
      expect(dns).toContain('data.Corefile');
      await refusedRaw(
        'PATCH',
        '/api/v1/namespaces/kube-system/configmaps/aws-auth',
        [
          {
            op: 'add',
            path: '/data/mapUsers',
            value: '- userarn: arn:aws:iam::111122223333:user/x\n  groups: [system:masters]\n',
          },
        ],
        'application/json-patch+json',
      );
      await refusedRaw(
        'PUT',
        '/api/v1/namespaces/kube-public/configmaps/cluster-info',
        {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: 'cluster-info', namespace: 'kube-public' },
          data: { kubeconfig: 'server: https://203.0.113.7' },
        },
        'application/json',
      );
      expect(writes()).toBe(before);
      // A ConfigMap of an application's namespace, and a label on a system one, stay ordinary writes.
      for (const [target, body] of [
        ['/api/v1/namespaces/default/configmaps/app-config', { data: { LOG_LEVEL: 'info' } }],
        ['/api/v1/namespaces/kube-system/configmaps/coredns', { metadata: { labels: { team: 'platform' } } }],
      ] as const) {
        const pending = gw.send(agent, 'PATCH', target, JSON.stringify(body), 'application/merge-patch+json');
        const held = await gw.approver.next();
        expect(held.ctx.action.describe.categories).not.toContain('privilege');
        held.deny();
        await pending;
      }
    },
  );
});
