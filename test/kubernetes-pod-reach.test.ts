// What a pod reaches that no field of Pod Security's baseline names (docs/security.md classes
// 311–315, 317): a volume that mounts storage outside the namespace by its address or runs a node plugin
// (`gitRepo`, `nfs`, a cloud disk, an inline CSI volume, a PersistentVolume's source), the root group
// by `fsGroup` or `supplementalGroups`, a StatefulSet's pods built from a ControllerRevision its status
// names, a runtime handler Gatehouse does not see (`runtimeClassName`, a RuntimeClass), and Dynamic
// Resource Allocation's admin access to devices other pods hold, and a claim bound to a volume it
// names or copying another namespace's. Each was an ordinary write, held for
// an approver who saw a volume, a group or a revision name; now each is `privilege` with the field
// named. Real kubectl and raw requests against the fake API server.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { defaultKubernetesPolicies } from '../src/policy/index.js';
import { hasCommand } from './testkit/commands.js';
import { startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

const haveKubectl = hasCommand('kubectl');

/** People in `ops` may write; a write that is privilege is held for a second person. */
const OPS: PolicyConfig = {
  id: 'ops',
  subjects: { groups: ['ops'], agent: false },
  connections: ['prod-k8s'],
  rules: [
    { id: 'ops-review-privilege', effect: 'review', match: { commandCategories: ['privilege'] } },
    { id: 'ops-allow', effect: 'allow', match: {} },
  ],
};

const container = { name: 'c', image: 'busybox' };
const podWith = (spec: object, name = 'p') => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  spec: { containers: [container], ...spec },
});

describe('what a pod reaches beyond baseline', { timeout: 120_000 }, () => {
  let api: FakeKubeApi;
  let gw: KubeTestGateway;
  let agent: string;
  let ops: string;

  beforeAll(async () => {
    api = await startFakeKubeApi({ moreGroups: true });
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

  const writes = () => api.seen.filter((s) => s.method !== 'GET').length;

  let files = 0;
  const file = (doc: unknown): string => {
    const f = path.join(gw.dir, `obj-${files++}.json`);
    writeFileSync(f, JSON.stringify(doc));
    return f;
  };

  /** kubectl's arguments, with the OpenAPI validation (which the fake API server does not serve) off. */
  const unvalidated = (args: string[]): string[] =>
    args[0] === 'create' || args[0] === 'replace' ? [args[0], '--validate=false', ...args.slice(1)] : args;

  /** Runs kubectl as the agent; fails the test at once if the request is held instead of refused. */
  async function refusedKubectl(args: string[]): Promise<string> {
    const stderr = await gw.refusedKubectl(agent, unvalidated(args));
    expect(stderr).toContain('k8s-agents-no-privileged-pods');
    return stderr;
  }

  /** Runs kubectl as the agent; the request is held as an ordinary write (not privilege), then denied. */
  async function heldKubectl(args: string[]): Promise<readonly string[]> {
    const pending = gw.kubectl(agent, unvalidated(args));
    const held = await gw.approver.next();
    const categories = held.ctx.action.describe.categories;
    held.deny();
    await pending;
    return categories;
  }

  it.skipIf(!haveKubectl)(
    'volumes that mount storage outside the namespace or run a node plugin are privilege (class 311)',
    async () => {
      const before = writes();
      // gitRepo: the kubelet runs git on the node, as root, on a repository of the writer's choice.
      const git = await refusedKubectl([
        'create',
        '-f',
        file(podWith({ volumes: [{ name: 'v', gitRepo: { repository: 'https://example.com/x.git' } }] })),
      ]);
      expect(git).toContain('spec.volumes[0].gitRepo (repository https://example.com/x.git)');
      // An NFS export, mounted by the node as root, whoever's it is.
      const overrides = JSON.stringify({
        spec: {
          containers: [{ ...container, name: 'x' }],
          volumes: [{ name: 'v', nfs: { server: '10.0.0.5', path: '/exports/payroll' } }],
        },
      });
      const nfs = await refusedKubectl(['run', 'x', '--image=busybox', `--overrides=${overrides}`]);
      expect(nfs).toContain('spec.volumes[0].nfs (server 10.0.0.5, path /exports/payroll)');
      // An inline CSI volume is what its driver makes of the attributes: the hostpath driver's is the node's.
      const csi = await refusedKubectl([
        'create',
        '-f',
        file(
          podWith({
            volumes: [{ name: 'v', csi: { driver: 'hostpath.csi.k8s.io', volumeAttributes: { path: '/' } } }],
          }),
        ),
      ]);
      expect(csi).toContain('spec.volumes[0].csi (driver hostpath.csi.k8s.io)');
      // A PersistentVolume naming another team's disk by its handle: any claim bound to it mounts it.
      const pv = await refusedKubectl([
        'create',
        '-f',
        file({
          apiVersion: 'v1',
          kind: 'PersistentVolume',
          metadata: { name: 'theirs' },
          spec: {
            capacity: { storage: '1Gi' },
            accessModes: ['ReadWriteOnce'],
            csi: { driver: 'ebs.csi.aws.com', volumeHandle: 'vol-0abc' },
            claimRef: { namespace: 'default', name: 'mine' },
          },
        }),
      ]);
      expect(pv).toContain('spec.csi (driver ebs.csi.aws.com, volumeHandle vol-0abc)');
      // A patch that adds such a volume to a workload's template, or changes a part of one.
      const asked = gw.approver.seen.length;
      const added = await gw.send(
        agent,
        'PATCH',
        '/apis/apps/v1/namespaces/default/deployments/d',
        JSON.stringify([
          {
            op: 'add',
            path: '/spec/template/spec/volumes/-',
            value: { name: 'v', awsElasticBlockStore: { volumeID: 'vol-0abc' } },
          },
        ]),
        'application/json-patch+json',
      );
      expect(added.status).toBe(403);
      expect(added.body).toContain('spec.template.spec.volumes[-].awsElasticBlockStore (volumeID vol-0abc)');
      const moved = await gw.send(
        agent,
        'PATCH',
        '/apis/apps/v1/namespaces/default/deployments/d',
        JSON.stringify({
          spec: {
            template: { spec: { volumes: [{ name: 'v', iscsi: { targetPortal: '10.0.0.9:3260' } }] } },
          },
        }),
        'application/strategic-merge-patch+json',
      );
      expect(moved.status).toBe(403);
      expect(moved.body).toContain('spec.template.spec.volumes[0].iscsi (targetPortal 10.0.0.9:3260)');
      expect(gw.approver.seen.length).toBe(asked);
      expect(writes()).toBe(before);
      // The namespace's own storage and scratch space stay ordinary writes, held for review.
      const plain = await heldKubectl([
        'create',
        '-f',
        file(
          podWith({
            volumes: [
              { name: 'a', emptyDir: {} },
              { name: 'b', configMap: { name: 'cfg' } },
              { name: 'c', persistentVolumeClaim: { claimName: 'data' } },
              {
                name: 'd',
                ephemeral: {
                  volumeClaimTemplate: {
                    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
                  },
                },
              },
            ],
          }),
        ),
      ]);
      expect(plain).not.toContain('privilege');
      // A person's rule that reviews privilege is shown the volume.
      const pending = gw.send(
        ops,
        'POST',
        '/api/v1/namespaces/default/pods',
        JSON.stringify(podWith({ volumes: [{ name: 'v', flexVolume: { driver: 'example.com/lvm' } }] })),
        'application/json',
      );
      const held = await gw.approver.next();
      expect(held.ctx.action.describe.params?.join('\n')).toContain(
        'privilege: spec.volumes[0].flexVolume (driver example.com/lvm)',
      );
      held.deny();
      expect((await pending).status).toBe(403);
    },
  );

  it.skipIf(!haveKubectl)(
    'the root group by fsGroup or supplementalGroups is privilege (class 312)',
    async () => {
      const before = writes();
      const overrides = JSON.stringify({
        spec: { containers: [{ ...container, name: 'g' }], securityContext: { supplementalGroups: [10, 0] } },
      });
      const supp = await refusedKubectl(['run', 'g', '--image=busybox', `--overrides=${overrides}`]);
      expect(supp).toContain('spec.securityContext.supplementalGroups[1]=0');
      const fs = await refusedKubectl([
        'patch',
        'deployment',
        'd',
        '-p',
        JSON.stringify({ spec: { template: { spec: { securityContext: { fsGroup: 0 } } } } }),
      ]);
      expect(fs).toContain('spec.template.spec.securityContext.fsGroup=0');
      expect(writes()).toBe(before);
      const plain = await heldKubectl([
        'create',
        '-f',
        file(podWith({ securityContext: { fsGroup: 2000, supplementalGroups: [3000] } }, 'groups')),
      ]);
      expect(plain).not.toContain('privilege');
    },
  );

  it.skipIf(!haveKubectl)(
    'a StatefulSet status that names the ControllerRevision its pods are built from is privilege (class 313)',
    async () => {
      const before = writes();
      const status = await refusedKubectl([
        'patch',
        'statefulset',
        'web',
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify({ status: { currentRevision: 'node-agent-5d8f', updateRevision: 'node-agent-5d8f' } }),
      ]);
      expect(status).toContain('status.currentRevision=node-agent-5d8f');
      expect(status).toContain('status.updateRevision=node-agent-5d8f');
      const asked = gw.approver.seen.length;
      const patched = await gw.send(
        agent,
        'PATCH',
        '/apis/apps/v1/namespaces/default/statefulsets/web/status',
        JSON.stringify([{ op: 'replace', path: '/status/currentRevision', value: 'node-agent-5d8f' }]),
        'application/json-patch+json',
      );
      expect(patched.status).toBe(403);
      expect(patched.body).toContain('status.currentRevision=node-agent-5d8f');
      expect(gw.approver.seen.length).toBe(asked);
      expect(writes()).toBe(before);
      // The object's own write: the API server keeps the stored status, so what it says is nothing.
      const replaced = await heldKubectl([
        'replace',
        '-f',
        file({
          apiVersion: 'apps/v1',
          kind: 'StatefulSet',
          metadata: { name: 'web', namespace: 'default' },
          spec: {
            selector: { matchLabels: { app: 'web' } },
            serviceName: 'web',
            template: { metadata: { labels: { app: 'web' } }, spec: { containers: [container] } },
          },
          status: { replicas: 1, currentRevision: 'web-6b7c', updateRevision: 'web-6b7c' },
        }),
      ]);
      expect(replaced).not.toContain('privilege');
    },
  );

  it.skipIf(!haveKubectl)(
    'a runtime handler Gatehouse does not see is privilege: runtimeClassName and RuntimeClass (class 314)',
    async () => {
      const before = writes();
      const overrides = JSON.stringify({
        spec: { containers: [{ ...container, name: 'r' }], runtimeClassName: 'runc-host' },
      });
      const pod = await refusedKubectl(['run', 'r', '--image=busybox', `--overrides=${overrides}`]);
      expect(pod).toContain('spec.runtimeClassName=runc-host');
      const rc = await refusedKubectl([
        'create',
        '-f',
        file({
          apiVersion: 'node.k8s.io/v1',
          kind: 'RuntimeClass',
          metadata: { name: 'sandboxed' },
          handler: 'runc',
          scheduling: { tolerations: [{ operator: 'Exists' }] },
        }),
      ]);
      expect(rc).toContain('handler=runc');
      expect(writes()).toBe(before);
    },
  );

  it.skipIf(!haveKubectl)(
    'a ResourceClaim with adminAccess reaches devices other pods hold: privilege (class 315)',
    async () => {
      const before = writes();
      const claim = (adminAccess: boolean, name: string) => ({
        apiVersion: 'resource.k8s.io/v1beta1',
        kind: 'ResourceClaim',
        metadata: { name },
        spec: { devices: { requests: [{ name: 'gpu', deviceClassName: 'gpu.example.com', adminAccess }] } },
      });
      const admin = await refusedKubectl(['create', '-f', file(claim(true, 'all-gpus'))]);
      expect(admin).toContain('spec.devices.requests[0].adminAccess=true');
      const template = await refusedKubectl([
        'create',
        '-f',
        file({
          apiVersion: 'resource.k8s.io/v1beta1',
          kind: 'ResourceClaimTemplate',
          metadata: { name: 't' },
          spec: { spec: claim(true, 'x').spec },
        }),
      ]);
      expect(template).toContain('spec.spec.devices.requests[0].adminAccess=true');
      // An allocation written into a claim's status, admin access included.
      const asked = gw.approver.seen.length;
      const status = await gw.send(
        agent,
        'PATCH',
        '/apis/resource.k8s.io/v1beta1/namespaces/default/resourceclaims/mine/status',
        JSON.stringify({
          status: {
            allocation: {
              devices: {
                results: [
                  {
                    request: 'gpu',
                    driver: 'gpu.example.com',
                    pool: 'node-1',
                    device: 'gpu-0',
                    adminAccess: true,
                  },
                ],
              },
            },
          },
        }),
        'application/merge-patch+json',
      );
      expect(status.status).toBe(403);
      expect(status.body).toContain('adminAccess=true');
      expect(gw.approver.seen.length).toBe(asked);
      expect(writes()).toBe(before);
      const plain = await heldKubectl(['create', '-f', file(claim(false, 'one-gpu'))]);
      expect(plain).not.toContain('privilege');
    },
  );

  it.skipIf(!haveKubectl)(
    'a claim bound to a PersistentVolume it names, or copying another namespace, is privilege (class 317)',
    async () => {
      const before = writes();
      const claimSpec = { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } };
      // A pod's ephemeral claim bound to another team's pre-provisioned volume.
      const eph = await refusedKubectl([
        'create',
        '-f',
        file(
          podWith({
            volumes: [
              {
                name: 'v',
                ephemeral: { volumeClaimTemplate: { spec: { ...claimSpec, volumeName: 'payroll-data' } } },
              },
            ],
          }),
        ),
      ]);
      expect(eph).toContain('spec.volumes[0].ephemeral.volumeClaimTemplate.spec.volumeName=payroll-data');
      // A StatefulSet's claim templates.
      const sts = await refusedKubectl([
        'create',
        '-f',
        file({
          apiVersion: 'apps/v1',
          kind: 'StatefulSet',
          metadata: { name: 'db', namespace: 'default' },
          spec: {
            selector: { matchLabels: { app: 'db' } },
            serviceName: 'db',
            template: { metadata: { labels: { app: 'db' } }, spec: { containers: [container] } },
            volumeClaimTemplates: [
              { metadata: { name: 'data' }, spec: { ...claimSpec, volumeName: 'payroll-data' } },
            ],
          },
        }),
      ]);
      expect(sts).toContain('spec.volumeClaimTemplates[0].spec.volumeName=payroll-data');
      // A claim of its own, and one that copies another namespace's volume.
      const asked = gw.approver.seen.length;
      const pvc = (spec: object) =>
        gw.send(
          agent,
          'POST',
          '/api/v1/namespaces/default/persistentvolumeclaims',
          JSON.stringify({
            apiVersion: 'v1',
            kind: 'PersistentVolumeClaim',
            metadata: { name: 'data' },
            spec: { ...claimSpec, ...spec },
          }),
          'application/json',
        );
      const named = await pvc({ volumeName: 'payroll-data' });
      expect(named.status).toBe(403);
      expect(named.body).toContain('spec.volumeName=payroll-data');
      const copied = await pvc({
        dataSourceRef: { kind: 'PersistentVolumeClaim', name: 'ledger', namespace: 'payments' },
      });
      expect(copied.status).toBe(403);
      expect(copied.body).toContain('spec.dataSourceRef.namespace=payments');
      expect(gw.approver.seen.length).toBe(asked);
      expect(writes()).toBe(before);
      // A claim the cluster binds or provisions itself: an ordinary write, held for review.
      const plain = pvc({ storageClassName: 'standard' });
      const held = await gw.approver.next();
      expect(held.ctx.action.describe.categories).not.toContain('privilege');
      held.deny();
      expect((await plain).status).toBe(403);
    },
  );
});
