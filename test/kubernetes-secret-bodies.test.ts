// What an approver is shown of a Secret write held for review: what the write does (the Secret's type,
// the annotation that makes it a service account's token, a JSON patch's operations) without the values
// it stores. Before, a Secret's body was not shown at all, so a person approved "create secrets" blind,
// whether it stored a password or had the cluster mint a service account's token. Real kubectl through
// Gatehouse's shipped default policy against the fake API server (docs/security.md class 84).

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultKubernetesPolicies } from '../src/policy/index.js';
import { hasCommand } from './testkit/commands.js';
import { startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

const haveKubectl = hasCommand('kubectl');
const STORED = 'agent-chosen-password-7731';

describe.skipIf(!haveKubectl)('a Secret write held for review', { timeout: 60_000 }, () => {
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

  /**
   * Runs kubectl, approving every review it causes (kubectl reads the Secret first, itself held), and
   * returns what the approver was shown of the write's body.
   */
  async function approved(args: string[]): Promise<{ shown: string; code: number | null; stderr: string }> {
    let done = false;
    const pending = gw.kubectl(agent, args).finally(() => (done = true));
    let shown = '';
    let handled = gw.approver.seen.length;
    while (!done) {
      if (gw.approver.seen.length === handled) {
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      handled++;
      const review = await gw.approver.next();
      const body = (review.ctx.action as { body?: { shown: string } }).body;
      if (body) shown = body.shown;
      review.approve();
    }
    const r = await pending;
    return { shown, code: r.code, stderr: r.stderr };
  }

  // Since class 118 an agent's token Secret is refused outright (it has the cluster mint a credential),
  // naming the account; what a person would be shown is in test/kubernetes-granted-powers.test.ts.
  it('refuses a service-account token Secret, naming its account, not its data', async () => {
    const file = path.join(gw.dir, 'token-secret.json');
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/service-account-token',
        metadata: {
          name: 'admin-token',
          annotations: { 'kubernetes.io/service-account.name': 'cluster-admin-sa' },
        },
        stringData: { note: STORED },
      }),
    );
    const r = await approved(['create', '--validate=false', '-f', file]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('k8s-agents-no-granted-powers');
    expect(r.stderr).toContain(
      'type=kubernetes.io/service-account-token for service account cluster-admin-sa',
    );
    expect(r.stderr).not.toContain(STORED);
    const created = api.seen.filter((s) => s.method === 'POST' && s.url.includes('/secrets'));
    expect(created).toHaveLength(0);
  });

  it("shows a JSON patch's operations on a Secret, with the values it stores replaced", async () => {
    const r = await approved([
      'patch',
      'secret',
      'db-creds',
      '--type=json',
      '-p',
      JSON.stringify([
        { op: 'add', path: '/metadata/labels', value: { rotated: 'yes' } },
        { op: 'replace', path: '/data/password', value: Buffer.from(STORED).toString('base64') },
      ]),
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const ops = JSON.parse(r.shown) as { op: string; path: string; value: unknown }[];
    expect(ops).toEqual([
      { op: 'add', path: '/metadata/labels', value: { rotated: 'yes' } },
      { op: 'replace', path: '/data/password', value: '[REDACTED:secret]' },
    ]);
    expect(r.shown).not.toContain(Buffer.from(STORED).toString('base64'));
  });
});
