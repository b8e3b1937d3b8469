import { describe, expect, it } from 'vitest';
import { secretSources } from './pod-secrets.js';

describe('secretSources: what reaches the node (class 250)', () => {
  it('names a privileged container, the host PID namespace and a hostPath mount, of the chosen container only', () => {
    const pod = {
      spec: {
        automountServiceAccountToken: false,
        containers: [
          {
            name: 'agent',
            securityContext: { privileged: true },
            volumeMounts: [{ name: 'root', mountPath: '/host' }],
          },
          { name: 'side', volumeMounts: [{ name: 'store', mountPath: '/mnt/s' }] },
        ],
        volumes: [
          { name: 'root', hostPath: { path: '/' } },
          { name: 'store', csi: { driver: 'secrets-store.csi.k8s.io' } },
        ],
      },
    };
    expect(secretSources(pod, 'agent')).toEqual([
      "a privileged container (agent): the node's disks and devices",
      "the node's path / mounted at /host (the kubelet keeps every pod's Secrets on the node under /var/lib/kubelet)",
    ]);
    expect(secretSources(pod, 'side')).toEqual([
      'a volume of CSI driver secrets-store.csi.k8s.io mounted at /mnt/s (its files are what the driver puts there)',
    ]);
    expect(secretSources({ spec: { ...pod.spec, hostPID: true } }, 'side')[0]).toMatch(
      /^the node's processes/,
    );
  });

  it('reads a debug container with the container it targets', () => {
    const pod = {
      spec: {
        containers: [{ name: 'app', envFrom: [{ secretRef: { name: 'creds' } }] }, { name: 'other' }],
        ephemeralContainers: [{ name: 'dbg', targetContainerName: 'app' }],
      },
    };
    expect(secretSources(pod, 'dbg')).toEqual(['env from Secret creds']);
    expect(secretSources(pod, 'other')).toEqual([]);
  });
});
