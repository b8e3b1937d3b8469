// A pod that is privileged, shares the host's namespaces, mounts a host path, adds capabilities or
// runs as another service account is node root or acts with that account's rights, whatever its
// command. Such writes (a pod, a workload's template, an ephemeral container, a patch that adds the
// fields) were decided as ordinary writes; now they are `privilege`, with the fields named
// (docs/security.md class 104). Real kubectl and raw requests against the fake API server.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import type { StoredStatement } from '../src/core/records.js';
import { defaultKubernetesPolicies } from '../src/policy/index.js';
import { hasCommand } from './testkit/commands.js';
import { startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

const haveKubectl = hasCommand('kubectl');

/** People in `ops` may write; a write that makes a pod privilege is held for a second person. */
const OPS: PolicyConfig = {
  id: 'ops',
  subjects: { groups: ['ops'], agent: false },
  connections: ['prod-k8s'],
  rules: [
    { id: 'ops-review-privilege', effect: 'review', match: { commandCategories: ['privilege'] } },
    { id: 'ops-allow', effect: 'allow', match: {} },
  ],
};

describe('pods that are privilege', { timeout: 90_000 }, () => {
  let api: FakeKubeApi;
  let gw: KubeTestGateway;
  let agent: string;
  let ops: string;

  beforeAll(async () => {
    api = await startFakeKubeApi();
    gw = await startKubeTestGateway({
      api,
      policies: [...defaultKubernetesPolicies(['prod-k8s']), OPS],
    });
    agent = await gw.token({ subject: 'claude', agent: true });
    ops = await gw.token({ subject: 'olga', agent: false, groups: ['ops'] });
  });

  afterAll(async () => {
    await gw?.stop();
    await api?.close();
  });

  const send = (token: string, method: string, target: string, body: string, type: string) =>
    gw.send(token, method, target, body, type);

  async function statementsOf(subject: string): Promise<StoredStatement[]> {
    const out: StoredStatement[] = [];
    for (const s of await gw.gateway.store.listSessions({ subject, limit: 100 }))
      out.push(...((await gw.gateway.store.getSession(s.id))?.statements ?? []));
    return out;
  }

  const writes = () => api.seen.filter((s) => s.method !== 'GET').length;

  async function until(cond: () => boolean): Promise<void> {
    while (!cond()) await new Promise((r) => setTimeout(r, 20));
  }

  /** Runs kubectl; fails the test at once if the request is held for approval instead of refused. */
  async function refusedKubectl(args: string[]): Promise<string> {
    return gw.refusedKubectl(agent, args);
  }

  it.skipIf(!haveKubectl)(
    'kubectl run --overrides with a privileged, host-PID pod is refused, fields named',
    async () => {
      const before = writes();
      const overrides = JSON.stringify({
        spec: {
          hostPID: true,
          containers: [{ name: 'x', image: 'busybox', securityContext: { privileged: true } }],
        },
      });
      const stderr = await refusedKubectl([
        'run',
        'x',
        '--image=busybox',
        '--restart=Never',
        `--overrides=${overrides}`,
      ]);
      expect(stderr).toContain('k8s-agents-no-privileged-pods');
      expect(stderr).toContain('spec.hostPID=true');
      expect(stderr).toContain('spec.containers[0].securityContext.privileged=true');
      expect(writes()).toBe(before);
      const st = (await statementsOf('claude')).find((s) =>
        s.text.includes('POST /api/v1/namespaces/default/pods'),
      );
      expect(st?.categories).toContain('privilege');
    },
  );

  it.skipIf(!haveKubectl)('kubectl debug --profile=sysadmin and debug node/… are refused', async () => {
    const before = writes();
    // kubectl sends the node debugger's pod as protobuf, which Gatehouse cannot read: refused as such.
    const node = await refusedKubectl(['debug', 'node/worker-1', '--image=busybox']);
    expect(node).toContain('cannot read what the pod may do');
    const prof = await refusedKubectl(['debug', 'web', '--image=busybox', '--profile=sysadmin']);
    expect(prof).toContain('k8s-agents-no-privileged-pods');
    expect(prof).toContain('securityContext.privileged=true');
    expect(writes()).toBe(before);
  });

  it.skipIf(!haveKubectl)(
    "a PersistentVolume on the node's own filesystem is privilege as a hostPath volume is (class 138)",
    async () => {
      // A pod that mounts a claim bound to this volume has the node's root filesystem, with no field of
      // its own that says so: the volume is where the host path is named.
      const before = writes();
      const pv = {
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: 'node-root' },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce'],
          hostPath: { path: '/' },
          claimRef: { namespace: 'default', name: 'mine' },
        },
      };
      const f = path.join(gw.dir, 'pv.json');
      writeFileSync(f, JSON.stringify(pv));
      const created = await refusedKubectl(['create', '--validate=false', '-f', f]);
      expect(created).toContain('k8s-agents-no-privileged-pods');
      expect(created).toContain('spec.hostPath=/');
      // A local volume names a node path too; a patch that moves an existing volume's path is read.
      const asked = gw.approver.seen.length;
      const local = await send(
        agent,
        'PATCH',
        '/api/v1/persistentvolumes/data',
        JSON.stringify({ spec: { local: { path: '/var/lib/kubelet' } } }),
        'application/merge-patch+json',
      );
      expect(local.status).toBe(403);
      expect(local.body).toContain('spec.local.path=/var/lib/kubelet');
      const moved = await send(
        agent,
        'PATCH',
        '/api/v1/persistentvolumes/data',
        JSON.stringify([{ op: 'replace', path: '/spec/local/path', value: '/etc' }]),
        'application/json-patch+json',
      );
      expect(moved.status).toBe(403);
      expect(moved.body).toContain('spec.local.path=/etc');
      expect(gw.approver.seen.length).toBe(asked);
      expect(writes()).toBe(before);
      // A person's rule that reviews privilege sees it too.
      const pending = send(ops, 'POST', '/api/v1/persistentvolumes', JSON.stringify(pv), 'application/json');
      const held = await gw.approver.next();
      expect(held.ctx.action.describe.params).toEqual(['privilege: spec.hostPath=/']);
      held.deny();
      expect((await pending).status).toBe(403);
      // An NFS export names storage outside the namespace by its address, whoever's it is (class 311).
      const nfs = { ...pv, spec: { ...pv.spec, hostPath: undefined, nfs: { server: 'nfs', path: '/' } } };
      const export_ = await send(
        agent,
        'POST',
        '/api/v1/persistentvolumes',
        JSON.stringify(nfs),
        'application/json',
      );
      expect(export_.status).toBe(403);
      expect(export_.body).toContain('spec.nfs (server nfs, path /)');
      // A patch of its capacity names no storage: an ordinary write, held for review.
      const plain = send(
        agent,
        'PATCH',
        '/api/v1/persistentvolumes/data',
        JSON.stringify({ spec: { capacity: { storage: '2Gi' } } }),
        'application/merge-patch+json',
      );
      const review = await gw.approver.next();
      expect(review.ctx.action.describe.categories).not.toContain('privilege');
      review.deny();
      expect((await plain).status).toBe(403);
    },
  );

  it('workload templates and patches that add privilege are refused; a plain one is held', async () => {
    const before = writes();
    const asked = gw.approver.seen.length;
    const cases: [string, string, unknown, string, string][] = [
      [
        'POST',
        '/apis/apps/v1/namespaces/default/deployments',
        {
          apiVersion: 'apps/v1',
          kind: 'Deployment',
          metadata: { name: 'd' },
          spec: {
            template: {
              spec: {
                containers: [
                  { name: 'c', image: 'i', securityContext: { capabilities: { add: ['SYS_ADMIN'] } } },
                ],
              },
            },
          },
        },
        'application/json',
        'capabilities.add=SYS_ADMIN',
      ],
      [
        'POST',
        '/apis/batch/v1/namespaces/default/cronjobs',
        {
          apiVersion: 'batch/v1',
          kind: 'CronJob',
          metadata: { name: 'cj' },
          spec: {
            schedule: '* * * * *',
            jobTemplate: {
              spec: {
                template: {
                  spec: {
                    volumes: [{ name: 'root', hostPath: { path: '/' } }],
                    containers: [{ name: 'c', image: 'i' }],
                  },
                },
              },
            },
          },
        },
        'application/json',
        'hostPath=/',
      ],
      [
        'PATCH',
        '/apis/apps/v1/namespaces/default/deployments/web',
        { spec: { template: { spec: { serviceAccountName: 'cluster-admin-sa' } } } },
        'application/strategic-merge-patch+json',
        'serviceAccountName=cluster-admin-sa',
      ],
      [
        'PATCH',
        '/apis/apps/v1/namespaces/default/daemonsets/agent',
        [{ op: 'add', path: '/spec/template/spec/hostNetwork', value: true }],
        'application/json-patch+json',
        'spec.template.spec.hostNetwork=true',
      ],
      [
        'PATCH',
        '/apis/apps/v1/namespaces/default/statefulsets/db',
        [{ op: 'copy', from: '/spec/template/spec/containers/1', path: '/spec/template/spec/containers/0' }],
        'application/json-patch+json',
        'a value Gatehouse cannot read',
      ],
      [
        'PATCH',
        '/apis/batch/v1/namespaces/default/jobs/j',
        {
          spec: {
            template: {
              spec: {
                containers: [
                  { name: 'c', securityContext: { runAsUser: 0, allowPrivilegeEscalation: true } },
                ],
              },
            },
          },
        },
        'application/merge-patch+json',
        'runAsUser=0',
      ],
      [
        'PATCH',
        '/api/v1/namespaces/default/pods/web/ephemeralcontainers',
        {
          spec: {
            ephemeralContainers: [{ name: 'dbg', image: 'busybox', securityContext: { privileged: true } }],
          },
        },
        'application/strategic-merge-patch+json',
        'ephemeralContainers[0].securityContext.privileged=true',
      ],
    ];
    for (const [method, target, body, type, field] of cases) {
      const r = await send(agent, method, target, JSON.stringify(body), type);
      expect(r.status, `${method} ${target}`).toBe(403);
      expect(r.body, target).toContain('k8s-agents-no-privileged-pods');
      expect(r.body, target).toContain(field);
    }
    // An ephemeral container in the app container's process namespace (kubectl debug --target) reads
    // its environment through /proc.
    const target = await send(
      agent,
      'PATCH',
      '/api/v1/namespaces/default/pods/web/ephemeralcontainers',
      JSON.stringify({
        spec: { ephemeralContainers: [{ name: 'dbg', image: 'busybox', targetContainerName: 'app' }] },
      }),
      'application/strategic-merge-patch+json',
    );
    expect(target.status).toBe(403);
    expect(target.body).toContain('targetContainerName=app');
    // A mutating webhook would add such a container to every later pod.
    const hook = await send(
      agent,
      'POST',
      '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations',
      JSON.stringify({ kind: 'MutatingWebhookConfiguration', metadata: { name: 'inject' }, webhooks: [] }),
      'application/json',
    );
    expect(hook.status).toBe(403);
    expect(hook.body).toContain('k8s-agents-no-admission-changes');
    // An APIService sends every request of its group to a service (with the caller's identity in
    // front-proxy headers), and that service answers as the API server (class 141).
    const routed = send(
      agent,
      'POST',
      '/apis/apiregistration.k8s.io/v1/apiservices',
      JSON.stringify({
        kind: 'APIService',
        metadata: { name: 'v1.apps' },
        spec: { group: 'apps', version: 'v1', service: { namespace: 'default', name: 'mine' } },
      }),
      'application/json',
    );
    const first = await Promise.race([
      routed,
      until(() => gw.approver.seen.length > asked).then(() => 'held' as const),
    ]);
    expect(first, 'an APIService was held for review, not refused').not.toBe('held');
    const api = await routed;
    expect(api.status).toBe(403);
    expect(api.body).toContain('k8s-agents-no-api-routing');
    expect(gw.approver.seen.length).toBe(asked);
    expect(writes()).toBe(before);
    // A Deployment whose template asks for nothing of the host is an ordinary write: held for review.
    const plain = send(
      agent,
      'POST',
      '/apis/apps/v1/namespaces/default/deployments',
      JSON.stringify({
        kind: 'Deployment',
        spec: { template: { spec: { containers: [{ name: 'c', image: 'i' }] } } },
      }),
      'application/json',
    );
    const held = await gw.approver.next();
    expect(held.ctx.action.describe.categories).not.toContain('privilege');
    held.deny();
    expect((await plain).status).toBe(403);
  });

  it('a person is shown the fields when such a pod is held, and a body that cannot be read is refused', async () => {
    const before = writes();
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p' },
      spec: { hostIPC: true, containers: [{ name: 'c', image: 'i' }] },
    };
    const pending = send(
      ops,
      'POST',
      '/api/v1/namespaces/default/pods',
      JSON.stringify(pod),
      'application/json',
    );
    const held = await gw.approver.next();
    expect(held.ctx.action.describe.categories).toContain('privilege');
    expect(held.ctx.action.describe.params).toEqual(['privilege: spec.hostIPC=true']);
    held.approve();
    expect((await pending).status).toBe(201);
    expect(writes()).toBe(before + 1);
    // Allowed without review when it asks for nothing of the host.
    const plain = { ...pod, metadata: { name: 'q' }, spec: { containers: [{ name: 'c', image: 'i' }] } };
    expect(
      (await send(ops, 'POST', '/api/v1/namespaces/default/pods', JSON.stringify(plain), 'application/json'))
        .status,
    ).toBe(201);
    // YAML that is not JSON, and a key given twice (the API server merges both), are refused unsent.
    const sent = writes();
    const yaml =
      'apiVersion: v1\nkind: Pod\nmetadata: {name: y}\nspec:\n  hostPID: true\n  containers: [{name: c, image: i}]\n';
    const y = await send(ops, 'POST', '/api/v1/namespaces/default/pods', yaml, 'application/yaml');
    expect(y.status).toBe(415);
    expect(y.body).toContain('cannot read what the pod may do');
    const dup =
      '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"z"},"spec":{"securityContext":{"runAsUser":0},"securityContext":{"runAsNonRoot":true},"containers":[{"name":"c","image":"i"}]}}';
    const d = await send(ops, 'POST', '/api/v1/namespaces/default/pods', dup, 'application/json');
    expect(d.status).toBe(400);
    expect(writes()).toBe(sent);
  });
});
