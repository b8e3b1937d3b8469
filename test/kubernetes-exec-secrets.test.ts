// An exec into a pod whose container holds Secrets (class 106). Reading a Secret through the API is
// reviewed for agents and masked; `kubectl exec api -- printenv DB_PASSWORD` read the same value from
// the container's environment (a secretKeyRef), allowed as a read, and only the detectors saw its
// output. Now the pod is read first and such an exec carries the category `secrets`, reviewed by the
// default policy with what it can read named. Real kubectl against the fake API server.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubernetesAction } from '../src/core/action.js';
import { defaultKubernetesPolicies } from '../src/policy/index.js';
import { hasCommand } from './testkit/commands.js';
import { SECRET_VALUE, startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

describe.skipIf(!hasCommand('kubectl'))('exec into a pod that holds Secrets', { timeout: 90_000 }, () => {
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

  it('is held for review, with the Secrets it can read named; a pod without any is not', async () => {
    const asked = gw.approver.seen.length;
    const pending = gw.kubectl(agent, ['exec', '-n', 'prod', 'api', '--', 'printenv', 'DB_PASSWORD']);
    const first = await Promise.race([
      pending,
      (async () => {
        while (gw.approver.seen.length === asked) await new Promise((r) => setTimeout(r, 20));
      })(),
    ]);
    if (first) throw new Error(`not held: exit ${first.code}, stdout ${JSON.stringify(first.stdout)}`);
    const held = await gw.approver.next();
    const action = held.ctx.action as KubernetesAction;
    expect(held.ctx.decision.ruleId).toBe('k8s-agents-review-exec-secrets');
    expect(action.describe.categories).toContain('secrets');
    expect(action.podSecrets).toEqual([
      'env DB_PASSWORD from Secret db-creds key password',
      'Secret api-tls mounted at /etc/tls',
      'the token of service account default mounted at /var/run/secrets/kubernetes.io/serviceaccount',
    ]);
    held.deny();
    const r = await pending;
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toContain(SECRET_VALUE);
    // A pod whose container holds nothing secret: a read command stays allowed.
    const ok = await gw.kubectl(agent, ['exec', 'plain', '--', 'ls', '/']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('etc');
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
    if (first) throw new Error(`not held: exit ${first.code}, stdout ${JSON.stringify(first.stdout)}`);
    const held = await gw.approver.next();
    expect(held.ctx.decision.ruleId).toBe('k8s-agents-review-exec-secrets');
    held.deny();
    const r = await pending;
    expect(r.code).not.toBe(0);
    return held.ctx.action as KubernetesAction;
  }

  // Class 119: the default service account's token (mounted into every pod unless
  // automountServiceAccountToken is false) and a literal value under a sensitive name are secrets too.
  it("is held for the default account's token and for a literal value under a sensitive name", async () => {
    const token = await heldExec([
      'exec',
      'sa',
      '--',
      'cat',
      '/var/run/secrets/kubernetes.io/serviceaccount/token',
    ]);
    expect(token.describe.categories).toContain('secrets');
    expect(token.podSecrets).toEqual([
      'the token of service account default mounted at /var/run/secrets/kubernetes.io/serviceaccount',
    ]);
    const literal = await heldExec(['exec', 'web', '--', 'printenv', 'DB_PASSWORD']);
    expect(literal.podSecrets).toEqual(['env DB_PASSWORD (a value under a sensitive name)']);
  });
});
