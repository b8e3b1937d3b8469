// A private key a pod prints to its log spans lines, and logs reach a masked principal masked a line
// at a time: the detector, which reads a key from its BEGIN line to its END line, saw the BEGIN line
// alone, masked it, and the key's body went out in clear (exec output, masked by the terminal masker,
// already held it whole). Now the lines of a key are held from BEGIN to END and masked as one
// (docs/security.md class 233). Real kubectl through the shipped default policy against the fake API
// server, whose pod writes the key a line at a time.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultKubernetesPolicies } from '../src/policy/index.js';
import { hasCommand } from './testkit/commands.js';
import { LOGGED_KEY, startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

const BODY = LOGGED_KEY.split('\n').slice(1, -1);

describe.skipIf(!hasCommand('kubectl'))('a private key in a pod’s log', { timeout: 60_000 }, () => {
  let api: FakeKubeApi;
  let gw: KubeTestGateway;

  beforeAll(async () => {
    api = await startFakeKubeApi();
    gw = await startKubeTestGateway({
      api,
      policies: defaultKubernetesPolicies(['prod-k8s'], { mask: true }),
    });
  });

  afterAll(async () => {
    await gw?.stop();
    await api?.close();
  });

  it('reaches a masked agent masked whole, the lines around it intact (before: its body in clear)', async () => {
    const agent = await gw.token({ subject: 'claude', agent: true });
    const r = await gw.kubectl(agent, ['logs', 'web', '--tail=40']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const line of BODY) expect(r.stdout).not.toContain(line);
    expect(r.stdout).toBe('log line 1: started\n[REDACTED:private_key]\nlog line 2: done\n');
  });

  it('reaches an unmasked person as it was printed', async () => {
    const person = await gw.token({ subject: 'ann', agent: false, groups: ['k8s-admins'] });
    const r = await gw.kubectl(person, ['logs', 'web', '--tail=40']);
    expect(r.stdout).toBe(`log line 1: started\n${LOGGED_KEY}\nlog line 2: done\n`);
  });
});
