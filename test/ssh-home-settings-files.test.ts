// A program's settings in the home directory name programs it runs when a later command that only
// reads starts: kubectl runs the `users[].exec` command of ~/.kube/config on `kubectl get pods`, the
// AWS CLI a profile's `credential_process`, Python the `import` lines of a `.pth` file under
// ~/.local/lib, bash-completion ~/.bash_completion. A write there was an ordinary write (held for
// review as one) unless the file was on a short list; now any name directly in the home directory that
// starts with `.` is privilege (docs/security.md class 333), refused for agents by the default policy.
// Real OpenSSH client → Gatehouse → real sshd; real kubectl for the settings file's effect.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { classifyShellCommand } from '../src/shell/index.js';
import { hasCommand, run } from './testkit/commands.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { findSshStatement, startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';

/** A kubeconfig whose user's credentials come from running `sh -c SCRIPT`. */
function kubeconfigRunning(script: string): string {
  const cred = JSON.stringify({
    apiVersion: 'client.authentication.k8s.io/v1beta1',
    kind: 'ExecCredential',
    status: { token: 'x' },
  });
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]',
    'contexts: [{name: c, context: {cluster: c, user: u}}]',
    'current-context: c',
    'users:',
    '- name: u',
    '  user:',
    '    exec:',
    '      apiVersion: client.authentication.k8s.io/v1beta1',
    '      command: /bin/sh',
    `      args: ["-c", ${JSON.stringify(`${script}; echo '${cred}'`)}]`,
    '      interactiveMode: Never',
    '',
  ].join('\n');
}

describe('a program’s settings in the home directory', () => {
  // What the class is about: the write makes a later read run a program.
  it.skipIf(!hasCommand('kubectl'))(
    'real kubectl runs ~/.kube/config’s exec command on `kubectl get pods`',
    () => {
      const home = mkdtempSync(path.join(tmpdir(), 'gatehouse-kubeconfig-'));
      try {
        const canary = path.join(home, 'CANARY');
        mkdirSync(path.join(home, '.kube'));
        writeFileSync(path.join(home, '.kube', 'config'), kubeconfigRunning(`touch ${canary}`));
        expect(classifyShellCommand({ line: 'kubectl get pods' }).categories).toEqual(['read']);
        spawnSync('kubectl', ['get', 'pods', '--request-timeout=2s'], {
          env: { HOME: home, PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
          timeout: 20_000,
          stdio: 'ignore',
        });
        expect(existsSync(canary), 'kubectl ran the command').toBe(true);
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    },
  );
});

describe.skipIf(!hasSshd())(
  'writes to a program’s settings in the home directory',
  { timeout: 120_000 },
  () => {
    let sshd: TestSshd;
    let gw: SshTestGateway;
    let agent: string;

    beforeAll(async () => {
      sshd = await startSshd();
      gw = await startSshTestGateway({ sshd, policies: defaultSshPolicies(['prod-bastion']) });
      agent = await gw.token({ subject: 'home-settings-agent', agent: true });
    });

    afterAll(async () => {
      await gw?.stop();
      await sshd?.stop();
    });

    it.each([
      [
        '.kube/config',
        (mark: string) =>
          `echo 'users: [{name: u, user: {exec: {command: /bin/sh, args: [-c, "touch ${mark}"]}}}]' > ~/.kube/config`,
      ],
      [
        '.aws/config',
        (mark: string) => `printf '[default]\\ncredential_process = touch ${mark}\\n' > ~/.aws/config`,
      ],
      ['.bash_completion', (mark: string) => `echo 'touch ${mark}' >> ~/.bash_completion`],
    ])('a write to ~/%s is refused as privilege; the file is not written', async (file, line) => {
      const target = path.join(sshd.home, file);
      // The test user's home is shared by every sshd test on the machine: a directory made here goes.
      const made = mkdirSync(path.dirname(target), { recursive: true });
      rmSync(target, { force: true });
      const command = line(path.join(sshd.work, 'from-settings'));
      try {
        const result = gw.ssh(agent, ['--', command], { timeoutMs: 30_000 });
        const held = await Promise.race([gw.approver.next(), result.then(() => undefined)]);
        if (held !== undefined) {
          held.deny();
          await result;
          throw new Error(
            `a write to ~/${file} was held by ${held.ctx.decision.ruleId}, not refused as privilege`,
          );
        }
        const r = await result;
        expect(r.code).toBe(126);
        expect(r.stderr).toMatch(/refused by rule ssh-agents-no-privilege/);
        expect(existsSync(target), `~/${file} was written`).toBe(false);
      } finally {
        rmSync(target, { force: true });
        if (made !== undefined) rmSync(made, { recursive: true, force: true });
      }
    });
  },
);

// Its own gateway: the exec tests above leave approver waits behind when Gatehouse refuses at once.
describe.skipIf(!hasSshd())(
  'sftp writes to a program’s settings in the home directory',
  { timeout: 120_000 },
  () => {
    let sshd: TestSshd;
    let gw: SshTestGateway;
    let agent: string;

    beforeAll(async () => {
      sshd = await startSshd();
      gw = await startSshTestGateway({ sshd, policies: defaultSshPolicies(['prod-bastion']) });
      agent = await gw.token({ subject: 'home-settings-sftp', agent: true });
    });

    afterAll(async () => {
      await gw?.stop();
      await sshd?.stop();
    });

    it('an sftp put to ~/.kube/config is refused as privilege', async () => {
      const local = path.join(gw.dir, 'kubeconfig');
      writeFileSync(local, kubeconfigRunning(`touch ${path.join(sshd.work, 'from-sftp')}`));
      const target = path.join(sshd.home, '.kube', 'config');
      // The test user's home is shared by every sshd test on the machine: a directory made here goes.
      const made = mkdirSync(path.dirname(target), { recursive: true });
      rmSync(target, { force: true });
      const running = run(
        'sftp',
        [
          '-F',
          '/dev/null',
          '-P',
          String(gw.port),
          '-o',
          'StrictHostKeyChecking=no',
          '-o',
          'UserKnownHostsFile=/dev/null',
          '-o',
          'PreferredAuthentications=keyboard-interactive,password',
          '-o',
          'PubkeyAuthentication=no',
          '-o',
          'LogLevel=ERROR',
          'prod-bastion@127.0.0.1',
        ],
        { env: gw.sshEnv(agent), input: `put ${local} ${target}\n`, timeoutMs: 60_000 },
      );
      const subsystem = await gw.approver.next();
      expect(subsystem.ctx.decision.ruleId).toBe('ssh-agents-review-sftp');
      subsystem.approve();
      const next = await Promise.race([gw.approver.next(), running.then(() => undefined)]);
      if (next !== undefined) {
        next.deny();
        await running;
        throw new Error(`the sftp put was held by ${next.ctx.decision.ruleId}, not refused as privilege`);
      }
      const st = await findSshStatement(gw, (x) => x.text === `sftp open-write ${target}`, {
        withResult: false,
      });
      expect(st.ruleId).toBe('ssh-agents-no-privilege');
      expect(existsSync(target)).toBe(false);
      if (made !== undefined) rmSync(made, { recursive: true, force: true });
    });
  },
);
