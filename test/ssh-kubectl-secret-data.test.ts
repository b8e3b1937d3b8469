// A host's kubectl reaches its cluster with the host's credentials: `kubectl get secret db-creds -o
// jsonpath={.data.password}` over SSH printed the Secret's value base64-encoded, with no name before
// it, to an agent whose output is masked, as a read (docs/security.md class 264). The Kubernetes engine
// masks a Secret's values whole; output masking over SSH cannot read base64 under any key. For a masked
// principal such a `kubectl get` (and helm's rendered manifests) is decided as a line Gatehouse cannot
// judge: held for review. Real OpenSSH client → Gatehouse → real sshd, whose real kubectl talks to the
// test kit's Kubernetes API server.

import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { SECRET_VALUE, startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { findSshStatement, startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';
import { hasCommand } from './testkit/commands.js';

const ENCODED = Buffer.from(SECRET_VALUE).toString('base64');

describe.skipIf(!hasSshd() || !hasCommand('kubectl'))(
  "kubectl over ssh: a Secret's data, base64 under any key",
  { timeout: 120_000 },
  () => {
    let api: FakeKubeApi;
    let sshd: TestSshd;
    let gw: SshTestGateway;
    let masked: string;
    let dir: string;

    beforeAll(async () => {
      api = await startFakeKubeApi();
      // The host's kubeconfig, which its sessions find in KUBECONFIG (sshd's SetEnv): the host's own.
      dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-kubeconfig-'));
      chmodSync(dir, 0o755);
      const kubeconfig = path.join(dir, 'config');
      writeFileSync(
        kubeconfig,
        [
          'apiVersion: v1',
          'kind: Config',
          'clusters:',
          '- name: c',
          '  cluster:',
          `    server: ${api.url}`,
          `    certificate-authority-data: ${Buffer.from(api.caPem).toString('base64')}`,
          'users:',
          '- name: u',
          '  user:',
          `    token: ${api.token}`,
          'contexts:',
          '- name: c',
          '  context: {cluster: c, user: u, namespace: default}',
          'current-context: c',
          '',
        ].join('\n'),
        { mode: 0o644 },
      );
      sshd = await startSshd({ extraConfig: [`SetEnv KUBECONFIG=${kubeconfig}`] });
      gw = await startSshTestGateway({
        sshd,
        policies: defaultSshPolicies(['prod-bastion'], { mask: true }),
      });
      masked = await gw.token({ subject: 'masked-agent', agent: true });
    });

    afterAll(async () => {
      await gw?.stop();
      await sshd?.stop();
      await api?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it.each([
      'kubectl get secret db-creds -o jsonpath={.data.password}',
      'kubectl get secret db-creds -o yaml',
      "kubectl get secrets -o go-template='{{range .items}}{{.data.password}}{{end}}'",
      'kubectl get --raw /api/v1/namespaces/default/secrets/db-creds',
    ])('%s is held for a masked agent; refused, it never runs', async (command) => {
      const result = gw.ssh(masked, ['--', command], { timeoutMs: 60_000 });
      const held = await Promise.race([gw.approver.next(), result.then(() => undefined)]);
      if (held === undefined) {
        const r = await result;
        throw new Error(`${command} was not held: it ran (${JSON.stringify(r.stdout.slice(0, 120))})`);
      }
      held.deny();
      const r = await result;
      expect(r.code).toBe(126);
      expect(r.stdout).not.toContain(ENCODED);
      const st = await findSshStatement(gw, (s) => s.text === command, { withResult: false });
      expect(st.categories).toContain('unknown');
    });

    it('a Secret listed as a table, and other objects as YAML, still run as reads', async () => {
      const list = await gw.ssh(masked, ['--', 'kubectl get secrets'], { timeoutMs: 60_000 });
      expect(list.stderr).toBe('');
      expect(list.code).toBe(0);
      expect(list.stdout).toContain('db-creds');
      expect(list.stdout).not.toContain(ENCODED);
      const pods = await gw.ssh(masked, ['--', 'kubectl get pod plain -o yaml'], { timeoutMs: 60_000 });
      expect(pods.code).toBe(0);
      expect(pods.stdout).toContain('name: plain');
    });

    it('approved, the read runs and its output is what the host printed', async () => {
      const command = 'kubectl get secret db-creds -o jsonpath={.data.user}';
      const result = gw.ssh(masked, ['--', command], { timeoutMs: 60_000 });
      const held = await Promise.race([gw.approver.next(), result.then(() => undefined)]);
      if (held === undefined) throw new Error(`${command} was not held`);
      held.approve();
      const r = await result;
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(Buffer.from('app').toString('base64'));
    });
  },
);
