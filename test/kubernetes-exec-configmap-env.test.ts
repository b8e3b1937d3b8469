// An exec that prints a ConfigMap's value under a sensitive name (class 253). A masked principal's read
// of the ConfigMap `app-config` shows its DB_PASSWORD entry as [REDACTED:env]; a pod that takes it into
// its environment (`envFrom: configMapRef`, or `valueFrom.configMapKeyRef` under a sensitive name)
// printed it whole to `kubectl exec … -- printenv DB_PASSWORD`, allowed as a read: the output holds the
// value alone, which no field name marks. Real kubectl against the fake API server, the default agent
// policy with masking.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubernetesAction } from '../src/core/action.js';
import { defaultKubernetesPolicies } from '../src/policy/index.js';
import { hasCommand } from './testkit/commands.js';
import { SECRET_VALUE, startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

describe.skipIf(!hasCommand('kubectl'))(
  'exec into a pod that takes a ConfigMap value under a sensitive name',
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

    async function heldExec(args: string[]): Promise<KubernetesAction> {
      const asked = gw.approver.seen.length;
      const pending = gw.kubectl(agent, args);
      const first = await Promise.race([
        pending,
        (async () => {
          while (gw.approver.seen.length === asked) await new Promise((r) => setTimeout(r, 20));
        })(),
      ]);
      if (first) throw new Error(`not held: exit ${first.code}, stdout ${JSON.stringify(first.stdout)}`);
      const held = await gw.approver.next();
      expect(held.ctx.decision.ruleId).toBe('k8s-agents-review-exec-secrets');
      held.deny();
      const r = await pending;
      expect(r.code).not.toBe(0);
      expect(r.stdout).not.toContain(SECRET_VALUE);
      return held.ctx.action as KubernetesAction;
    }

    it('is held when the ConfigMap is loaded whole and has a key under a sensitive name', async () => {
      const action = await heldExec(['exec', '-n', 'monitoring', 'cm-env', '--', 'printenv', 'DB_PASSWORD']);
      expect(action.podSecrets).toEqual([
        'env DB_PASSWORD from ConfigMap app-config (a value under a sensitive name)',
      ]);
    });

    it('is held when one key is taken under a sensitive name', async () => {
      const action = await heldExec(['exec', '-n', 'monitoring', 'cm-key', '--', 'printenv', 'DB_PASSWORD']);
      expect(action.podSecrets).toEqual([
        'env DB_PASSWORD from ConfigMap app-config key DB_PASSWORD (a value under a sensitive name)',
      ]);
    });

    it('is held when the ConfigMap is mounted as files and has a key under a sensitive name', async () => {
      const action = await heldExec([
        'exec',
        '-n',
        'monitoring',
        'cm-files',
        '--',
        'cat',
        '/etc/app/DB_PASSWORD',
      ]);
      expect(action.podSecrets).toEqual([
        'ConfigMap app-config key DB_PASSWORD mounted at /etc/app (a value under a sensitive name)',
      ]);
    });
  },
);
