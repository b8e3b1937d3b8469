// A masked principal's exec whose output reshapes what it reads (`rev`, `xxd`, `cut -d= -f2`…) showed
// the secrets of a file in a form the masking detectors do not see, as a read. It is now decided with
// `unknown` among its command's categories, held for review under the default policy, as over SSH
// (docs/security.md class 221). Real kubectl through the shipped default policy against the fake API
// server.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultKubernetesPolicies } from '../src/policy/index.js';
import { hasCommand } from './testkit/commands.js';
import { startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

describe.skipIf(!hasCommand('kubectl'))(
  'masked exec output reshaped past the detectors',
  { timeout: 60_000 },
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

    it.each([
      ['rev', '/etc/app/slow-config'],
      ['xxd', '/etc/app/slow-config'],
      ['cut', '-d=', '-f2', '/etc/app/slow-config'],
      ['sh', '-c', 'od -c /etc/app/slow-config'],
      // bash splits the value into words, each shown apart from its name (class 235).
      ['sh', '-c', 'for w in $(cat /etc/app/slow-config); do echo "$w"; done'],
      ['sh', '-c', 'echo $(cat /etc/app/slow-config)'],
    ])('%s … is held for a masked agent; refused, it never reaches the pod', async (...argv) => {
      const before = api.execs.length;
      const result = gw.kubectl(agent, ['exec', 'plain', '--', ...argv]);
      const held = await Promise.race([gw.approver.next(), result.then(() => undefined)]);
      if (held === undefined) throw new Error(`${argv.join(' ')} was not held: it ran`);
      held.deny();
      const r = await result;
      expect(r.code).not.toBe(0);
      expect(api.execs.length).toBe(before);
    });

    it('cat still runs as a masked read', async () => {
      const r = await gw.kubectl(agent, ['exec', 'plain', '--', 'cat', '/etc/app/slow-config']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/\[REDACTED:[a-z_]+\]\n$/);
    });
  },
);
