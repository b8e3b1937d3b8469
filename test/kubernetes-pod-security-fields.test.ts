// Pod Security's baseline profile names every field of a pod spec that makes a pod more than an
// ordinary container: besides those Gatehouse read (class 104), an SELinux type or user the runtime
// does not confine (`spc_t`), an AppArmor or seccomp profile turned off by the annotation kubelets
// still honour, a Windows host process, a port of the node, and a sysctl outside the safe set. A pod
// setting any of these was held as an ordinary write for an agent instead of refused; now it is
// `privilege`, the field named (docs/security.md class 292). Real kubectl and raw requests against
// the fake API server.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultKubernetesPolicies } from '../src/policy/index.js';
import { hasCommand } from './testkit/commands.js';
import { startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

const haveKubectl = hasCommand('kubectl');

describe('pod security fields beyond privileged/host/capabilities', { timeout: 90_000 }, () => {
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
  const until = async (cond: () => boolean): Promise<void> => {
    while (!cond()) await new Promise((r) => setTimeout(r, 20));
  };

  /** Sends one write; fails if it is held for approval instead of refused. */
  async function refused(method: string, target: string, body: unknown, type: string): Promise<string> {
    const asked = gw.approver.seen.length;
    const pending = gw.send(agent, method, target, JSON.stringify(body), type);
    const first = await Promise.race([
      pending,
      until(() => gw.approver.seen.length > asked).then(() => 'held' as const),
    ]);
    if (first === 'held') {
      const held = await gw.approver.next();
      held.deny();
      await pending;
      throw new Error(
        `${method} ${target} held for approval instead of refused (categories ${held.ctx.action.describe.categories.join(',')})`,
      );
    }
    expect(first.status, target).toBe(403);
    expect(first.body, target).toContain('k8s-agents-no-privileged-pods');
    return first.body;
  }

  const pod = (spec: Record<string, unknown>, annotations?: Record<string, string>) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', ...(annotations ? { annotations } : {}) },
    spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec },
  });

  it.skipIf(!haveKubectl)(
    'kubectl apply of a pod of SELinux type spc_t is refused, the field named',
    async () => {
      const before = writes();
      const asked = gw.approver.seen.length;
      const manifest = JSON.stringify(pod({ securityContext: { seLinuxOptions: { type: 'spc_t' } } }));
      const run = gw.kubectl(agent, ['create', '--validate=false', '-f', '-'], { input: manifest });
      const first = await Promise.race([
        run,
        until(() => gw.approver.seen.length > asked).then(() => 'held' as const),
      ]);
      if (first === 'held') {
        (await gw.approver.next()).deny();
        await run;
        throw new Error('kubectl create of an spc_t pod was held for approval instead of refused');
      }
      expect(first.code).not.toBe(0);
      expect(first.stderr).toContain('k8s-agents-no-privileged-pods');
      expect(first.stderr).toContain('spec.securityContext.seLinuxOptions.type=spc_t');
      expect(writes()).toBe(before);
    },
  );

  it('every baseline control is read: SELinux, AppArmor and seccomp annotations, host process, host ports, sysctls', async () => {
    const before = writes();
    const cases: [string, string, unknown, string, string][] = [
      [
        'POST',
        '/api/v1/namespaces/default/pods',
        pod({
          containers: [{ name: 'c', image: 'i', securityContext: { seLinuxOptions: { user: 'system_u' } } }],
        }),
        'application/json',
        'seLinuxOptions.user=system_u',
      ],
      [
        'POST',
        '/api/v1/namespaces/default/pods',
        pod({}, { 'container.apparmor.security.beta.kubernetes.io/c': 'unconfined' }),
        'application/json',
        'container.apparmor.security.beta.kubernetes.io/c=unconfined',
      ],
      [
        'POST',
        '/apis/apps/v1/namespaces/default/deployments',
        {
          kind: 'Deployment',
          spec: {
            template: {
              metadata: { annotations: { 'seccomp.security.alpha.kubernetes.io/pod': 'unconfined' } },
              spec: { containers: [{ name: 'c', image: 'i' }] },
            },
          },
        },
        'application/json',
        'seccomp.security.alpha.kubernetes.io/pod=unconfined',
      ],
      [
        'PATCH',
        '/apis/apps/v1/namespaces/default/deployments/web',
        [
          {
            op: 'add',
            path: '/spec/template/metadata/annotations/container.apparmor.security.beta.kubernetes.io~1app',
            value: 'unconfined',
          },
        ],
        'application/json-patch+json',
        'container.apparmor.security.beta.kubernetes.io/app=unconfined',
      ],
      [
        'PATCH',
        '/apis/apps/v1/namespaces/default/daemonsets/agent',
        {
          spec: {
            template: { spec: { securityContext: { sysctls: [{ name: 'kernel.msgmax', value: '1' }] } } },
          },
        },
        'application/strategic-merge-patch+json',
        'sysctls[0].name=kernel.msgmax',
      ],
      [
        'POST',
        '/api/v1/namespaces/default/pods',
        pod({ containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80, hostPort: 443 }] }] }),
        'application/json',
        'hostPort=443',
      ],
      [
        // Strategic merge's directives remove what they name: dropping "ALL" from the dropped
        // capabilities gives the container the runtime's default ones back.
        'PATCH',
        '/apis/apps/v1/namespaces/default/deployments/web',
        {
          spec: {
            template: {
              spec: {
                containers: [
                  {
                    name: 'app',
                    securityContext: { capabilities: { '$deleteFromPrimitiveList/drop': ['ALL'] } },
                  },
                ],
              },
            },
          },
        },
        'application/strategic-merge-patch+json',
        'capabilities.$deleteFromPrimitiveList/drop=',
      ],
      [
        'POST',
        '/api/v1/namespaces/default/pods',
        pod({ securityContext: { windowsOptions: { hostProcess: true } } }),
        'application/json',
        'windowsOptions.hostProcess=true',
      ],
    ];
    for (const [method, target, body, type, field] of cases)
      expect(await refused(method, target, body, type), target).toContain(field);
    expect(writes()).toBe(before);
  });

  it('the profiles and values baseline allows stay ordinary writes (held for review)', async () => {
    const body = pod(
      {
        securityContext: {
          seLinuxOptions: { type: 'container_t', level: 's0:c1,c2' },
          sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }],
          seccompProfile: { type: 'RuntimeDefault' },
        },
        containers: [{ name: 'c', image: 'i', ports: [{ containerPort: 80, hostPort: 0 }] }],
      },
      {
        'container.apparmor.security.beta.kubernetes.io/c': 'runtime/default',
        'seccomp.security.alpha.kubernetes.io/pod': 'runtime/default',
      },
    );
    const pending = gw.send(
      agent,
      'POST',
      '/api/v1/namespaces/default/pods',
      JSON.stringify(body),
      'application/json',
    );
    const held = await gw.approver.next();
    expect(held.ctx.action.describe.categories).not.toContain('privilege');
    held.deny();
    expect((await pending).status).toBe(403);
  });
});

describe('a stored template (ControllerRevision) is read as the pod spec it is', { timeout: 90_000 }, () => {
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

  it('a ControllerRevision whose data holds a privileged template is refused, not held', async () => {
    const before = api.seen.filter((s) => s.method !== 'GET').length;
    const asked = gw.approver.seen.length;
    // The StatefulSet controller builds the pods of a set's current revision from the revision's data
    // (ApplyRevision): a stored template is a pod spec the cluster will run.
    const revision = {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: { name: 'db-7f9c', labels: { app: 'db' } },
      revision: 9,
      data: {
        spec: {
          template: {
            $patch: 'replace',
            spec: {
              hostPID: true,
              containers: [{ name: 'db', image: 'postgres', securityContext: { privileged: true } }],
            },
          },
        },
      },
    };
    const pending = gw.send(
      agent,
      'POST',
      '/apis/apps/v1/namespaces/default/controllerrevisions',
      JSON.stringify(revision),
      'application/json',
    );
    const first = await Promise.race([
      pending,
      (async () => {
        while (gw.approver.seen.length === asked) await new Promise((r) => setTimeout(r, 20));
        return 'held' as const;
      })(),
    ]);
    if (first === 'held') {
      const held = await gw.approver.next();
      held.deny();
      await pending;
      throw new Error(
        `a ControllerRevision with a privileged template was held for approval instead of refused (categories ${held.ctx.action.describe.categories.join(',')})`,
      );
    }
    expect(first.status).toBe(403);
    expect(first.body).toContain('k8s-agents-no-privileged-pods');
    expect(first.body).toContain('data.spec.template.spec.hostPID=true');
    expect(api.seen.filter((s) => s.method !== 'GET').length).toBe(before);
  });
});
