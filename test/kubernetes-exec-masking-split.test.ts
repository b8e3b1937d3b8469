// Exec output of a masked principal, written by the pod in two pieces: a pause mid-line (the relay sent
// an unfinished line after 40 ms of quiet, then the rest, each masked alone) or a line longer than 4096
// characters (cut there). A key split so reached the client whole in clear (docs/security.md class 87).
// Real kubectl exec through the shipped default policy against the fake API server.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultKubernetesPolicies } from '../src/policy/index.js';
import { hasCommand } from './testkit/commands.js';
import { EXEC_SECRET, startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

const haveKubectl = hasCommand('kubectl');

describe.skipIf(!haveKubectl)('masked exec output written in pieces', { timeout: 60_000 }, () => {
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

  for (const file of ['/etc/app/slow-config', '/etc/app/long-line'])
    it(`cat ${file}: the key is masked whole`, async () => {
      const r = await gw.kubectl(agent, ['exec', 'plain', '--', 'cat', file]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain(EXEC_SECRET.slice(0, 10));
      expect(r.stdout).not.toContain(EXEC_SECRET.slice(10));
      expect(r.stdout).toMatch(/\[REDACTED:[a-z_]+\]\n$/);
    });
});
