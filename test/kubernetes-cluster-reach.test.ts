// Cluster-scoped objects that decide what every pod of a kind is given: a CSIDriver's `tokenRequests`
// make every node's kubelet hand the driver the service account tokens of the pods that mount its
// volumes; a ClusterTrustBundle is what the pods that project it trust; a VolumeAttachment attaches
// the PersistentVolume it names to the node it names; a StorageClass's provisioner and parameters
// make every claim of the class; a DeviceClass's `config` is handed to the driver for every claim of
// the class. Class 311 and 315 left them ordinary, reviewed writes (docs/security.md class 361). Raw
// requests through Gatehouse against the fake API server, an agent under the default policy.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultKubernetesPolicies } from '../src/policy/index.js';
import { startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

const RULE = 'k8s-agents-no-granted-powers';

describe('cluster-scoped objects that reach every pod of a kind', { timeout: 120_000 }, () => {
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

  it('CSIDrivers, ClusterTrustBundles, VolumeAttachments, StorageClasses and DeviceClasses are privilege', async () => {
    const before = writes();
    const csi = await refusedRaw(
      'POST',
      '/apis/storage.k8s.io/v1/csidrivers',
      {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'CSIDriver',
        metadata: { name: 'collector.example.net' },
        spec: { tokenRequests: [{ audience: 'sts.amazonaws.com' }], requiresRepublish: true },
      },
      'application/json',
    );
    expect(csi).toContain('spec of csidrivers.storage.k8s.io');
    await refusedRaw(
      'POST',
      '/apis/certificates.k8s.io/v1beta1/clustertrustbundles',
      {
        apiVersion: 'certificates.k8s.io/v1beta1',
        kind: 'ClusterTrustBundle',
        metadata: { name: 'corp-roots' },
        spec: { trustBundle: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' },
      },
      'application/json',
    );
    await refusedRaw(
      'POST',
      '/apis/storage.k8s.io/v1/volumeattachments',
      {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'VolumeAttachment',
        metadata: { name: 'grab' },
        spec: {
          attacher: 'ebs.csi.aws.com',
          nodeName: 'worker-1',
          source: { persistentVolumeName: 'payroll-data' },
        },
      },
      'application/json',
    );
    // A StorageClass's fields are at the top: provisioner, parameters.
    const sc = await refusedRaw(
      'POST',
      '/apis/storage.k8s.io/v1/storageclasses',
      {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'StorageClass',
        metadata: { name: 'fast' },
        provisioner: 'rancher.io/local-path',
        parameters: { nodePath: '/' },
      },
      'application/json',
    );
    expect(sc).toContain('parameters of storageclasses.storage.k8s.io');
    await refusedRaw(
      'PATCH',
      '/apis/resource.k8s.io/v1beta1/deviceclasses/gpu',
      [
        {
          op: 'add',
          path: '/spec/config',
          value: [{ opaque: { driver: 'gpu.example.com', parameters: { sharing: 'all' } } }],
        },
      ],
      'application/json-patch+json',
    );
    expect(writes()).toBe(before);
    // A label stays an ordinary write.
    const pending = gw.send(
      agent,
      'PATCH',
      '/apis/storage.k8s.io/v1/storageclasses/fast',
      JSON.stringify({ metadata: { labels: { team: 'platform' } } }),
      'application/merge-patch+json',
    );
    const held = await gw.approver.next();
    expect(held.ctx.action.describe.categories).not.toContain('privilege');
    held.deny();
    await pending;
  });
});
