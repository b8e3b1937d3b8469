// An exec into a pod that reaches Secrets without naming one (class 250). Class 106 and 119 count a
// container's Secret refs, its token and its literal secrets; a node agent (hostPID, the node's `/`
// mounted, no token: prometheus-node-exporter's defaults) reads every pod's Secrets on the node from
// the kubelet's directory or /proc/<pid>/environ, a Secrets Store CSI volume holds a cloud secret
// store's values as files, and a debug container in another's process namespace reads its environment.
// Each `cat` was allowed as a read. Real kubectl against the fake API server, the default agent policy.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubernetesAction } from '../src/core/action.js';
import { defaultKubernetesPolicies } from '../src/policy/index.js';
import { hasCommand } from './testkit/commands.js';
import {
  CSI_SECRET_FILE,
  NODE_SECRET,
  NODE_SECRET_FILE,
  startFakeKubeApi,
  VAULT_FILE,
  type FakeKubeApi,
} from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

describe.skipIf(!hasCommand('kubectl'))(
  'exec into a pod that reaches Secrets without naming one',
  { timeout: 90_000 },
  () => {
    let api: FakeKubeApi;
    let gw: KubeTestGateway;
    let agent: string;

    beforeAll(async () => {
      api = await startFakeKubeApi();
      gw = await startKubeTestGateway({
        api,
        policies: defaultKubernetesPolicies(['prod-k8s'], { mask: true }),
      });
      agent = await gw.token({ subject: 'claude', agent: true });
    });

    afterAll(async () => {
      await gw?.stop();
      await api?.close();
    });

    /** Runs kubectl and returns the review it causes (the exec denied), failing if it is not held. */
    async function heldExec(args: string[]): Promise<KubernetesAction> {
      const asked = gw.approver.seen.length;
      const pending = gw.kubectl(agent, args);
      const first = await Promise.race([
        pending,
        (async () => {
          while (gw.approver.seen.length === asked) await new Promise((r) => setTimeout(r, 20));
        })(),
      ]);
      if (first)
        throw new Error(
          `not held: exit ${first.code}, stdout ${JSON.stringify(first.stdout)}, stderr ${JSON.stringify(first.stderr.slice(0, 300))}`,
        );
      const held = await gw.approver.next();
      expect(held.ctx.decision.ruleId).toBe('k8s-agents-review-exec-secrets');
      held.deny();
      const r = await pending;
      expect(r.code).not.toBe(0);
      expect(r.stdout).not.toContain(NODE_SECRET);
      const action = held.ctx.action as KubernetesAction;
      expect(action.describe.categories).toContain('secrets');
      return action;
    }

    it("holds a read of the node's files and processes from a node agent", async () => {
      const action = await heldExec([
        'exec',
        '-n',
        'monitoring',
        'node-exporter',
        '--',
        'cat',
        NODE_SECRET_FILE,
      ]);
      expect(action.podSecrets).toEqual([
        "the node's processes (hostPID): their environment, every pod's Secrets on the node among it, in /proc",
        "the node's path / mounted at /host/root (the kubelet keeps every pod's Secrets on the node under /var/lib/kubelet)",
      ]);
    });

    it('holds a read of a CSI volume (a secrets store) mounted into the container', async () => {
      const action = await heldExec(['exec', '-n', 'monitoring', 'csi-app', '--', 'cat', CSI_SECRET_FILE]);
      expect(action.podSecrets).toEqual([
        'a volume of CSI driver secrets-store.csi.k8s.io mounted at /mnt/secrets-store (its files are what the driver puts there)',
      ]);
    });

    it('holds an exec into a debug container in the process namespace of one that takes a Secret', async () => {
      const action = await heldExec([
        'exec',
        '-n',
        'monitoring',
        'debugged',
        '-c',
        'debugger',
        '--',
        'cat',
        '/proc/1/environ',
      ]);
      expect(action.podSecrets).toEqual(['env DB_PASSWORD from Secret db-creds key password']);
    });

    it("holds a read of a volume another container writes its Secrets to (a Vault agent's)", async () => {
      const action = await heldExec([
        'exec',
        '-n',
        'monitoring',
        'vault-app',
        '-c',
        'app',
        '--',
        'cat',
        VAULT_FILE,
      ]);
      expect(action.podSecrets).toEqual([
        'volume vault-secrets shared with container vault-agent, which holds Secrets (the token of service account default mounted at /var/run/secrets/vault) and may write them there',
      ]);
    });

    it('still allows a read in a pod that reaches none', async () => {
      const ok = await gw.kubectl(agent, ['exec', 'plain', '--', 'ls', '/']);
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain('etc');
    });
  },
);
