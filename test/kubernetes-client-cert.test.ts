// A kubernetes connection whose credential is a client certificate: kubectl reads and execs through
// Gatehouse, the API server sees the gateway's certificate and no bearer token at all.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultKubernetesPolicies } from '../src/policy/index.js';
import { hasCommand } from './testkit/commands.js';
import { makeLeaf, makeTestCa, startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

describe.skipIf(!hasCommand('kubectl'))(
  'kubernetes upstream client certificate',
  { timeout: 120_000 },
  () => {
    let api: FakeKubeApi;
    let gw: KubeTestGateway;

    beforeAll(async () => {
      const clientCa = await makeTestCa('Fake cluster client CA');
      const client = await makeLeaf(clientCa, 'gatehouse-client');
      api = await startFakeKubeApi({ clientCa: clientCa.cert });
      gw = await startKubeTestGateway({
        api,
        policies: defaultKubernetesPolicies(['prod-k8s']),
        auth: { type: 'client-certificate', cert: 'client.crt', key: { file: 'client.key' } },
        files: { 'client.crt': client.cert, 'client.key': client.private },
      });
    });

    afterAll(async () => {
      await gw?.stop();
      await api?.close();
    });

    it('reads and execs with the gateway certificate, sending no bearer token upstream', async () => {
      const token = await gw.token({ subject: 'claude', agent: true });
      const pods = await gw.kubectl(token, ['get', 'pods']);
      expect(pods.code).toBe(0);
      expect(pods.stdout).toMatch(/web/);
      const ls = await gw.kubectl(token, ['exec', 'plain', '--', 'ls', '/']);
      expect(ls.code).toBe(0);
      expect(ls.stdout).toBe('bin\netc\nusr\nvar\n');
      expect(api.seen.length).toBeGreaterThan(0);
      expect(api.seen.every((s) => s.authorization === undefined)).toBe(true);
    });
  },
);
