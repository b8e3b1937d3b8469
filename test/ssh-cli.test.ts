// `gatehouse ssh keyscan` and `gatehouse ssh config` as an operator and an agent use them: keyscan
// prints what a real sshd presents (the line to pin), and the printed ~/.ssh/config block, askpass
// script and known_hosts line are enough for the real ssh client to reach the host through Gatehouse
// with strict host key checking and the token only in the environment.

import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { run } from './testkit/commands.js';
import { REPO_ROOT } from './testkit/kube-gateway.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';

const gatehouse = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  run(process.execPath, [path.join(REPO_ROOT, 'bin', 'gatehouse.js'), ...args], { env });

describe.skipIf(!hasSshd())('gatehouse ssh keyscan and config', { timeout: 120_000 }, () => {
  let sshd: TestSshd;
  let gw: SshTestGateway;

  beforeAll(async () => {
    sshd = await startSshd();
    gw = await startSshTestGateway({ sshd, policies: defaultSshPolicies(['prod-bastion']) });
  });

  afterAll(async () => {
    await gw?.stop();
    await sshd?.stop();
  });

  it('keyscan prints the host key line to pin and its fingerprint', async () => {
    const r = await gatehouse(['ssh', 'keyscan', '127.0.0.1', '-p', String(sshd.port)]);
    expect(r.code).toBe(0);
    const [type, b64] = sshd.hostKey.split(' ');
    expect(r.stdout.trim()).toBe(`${type} ${b64}`);
    expect(r.stderr).toMatch(new RegExp(`127\\.0\\.0\\.1:${sshd.port} ssh-ed25519 SHA256:[A-Za-z0-9+/]{43}`));
  });

  it('config prints a block that, with its askpass and known_hosts, gets an agent through', async () => {
    const askpass = path.join(gw.dir, 'gh-askpass');
    const known = path.join(gw.dir, 'gh-known-hosts');
    const r = await gatehouse([
      'ssh',
      'config',
      'prod-bastion',
      '-c',
      gw.configFile,
      '--port',
      String(gw.port),
      '--askpass',
      askpass,
      '--known-hosts',
      known,
    ]);
    expect(r.stderr).toMatch(/wrote .*gh-askpass/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /^Host prod-bastion\n {2}HostName 127\.0\.0\.1\n {2}Port \d+\n {2}User prod-bastion\n/,
    );
    expect(r.stdout).toMatch(/StrictHostKeyChecking yes/);
    expect(r.stdout).toMatch(/ForwardAgent no/);
    expect(statSync(askpass).mode & 0o777).toBe(0o700);
    expect(readFileSync(askpass, 'utf8')).not.toMatch(/eyJ/); // no token in the file
    expect(readFileSync(known, 'utf8')).toMatch(/^\[127\.0\.0\.1\]:\d+ ssh-ed25519 AAAA/);
    const cfg = path.join(gw.dir, 'ssh_config');
    writeFileSync(cfg, r.stdout);
    const token = await gw.token({ subject: 'cfg-agent', agent: true });
    const ssh = await run('ssh', ['-F', cfg, 'prod-bastion', 'uname', '-s'], {
      env: {
        GATEHOUSE_TOKEN: token,
        SSH_ASKPASS: askpass,
        SSH_ASKPASS_REQUIRE: 'force',
        DISPLAY: ':0',
        HOME: gw.dir,
      },
    });
    expect(ssh.stderr).toBe('');
    expect(ssh.code).toBe(0);
    expect(ssh.stdout).toBe('Linux\n');
  });

  it('config refuses a connection that is not an ssh connection', async () => {
    const r = await gatehouse(['ssh', 'config', 'nope', '-c', gw.configFile]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/no ssh connection nope \(ssh connections: prod-bastion\)/);
  });

  it('policy test --ssh decides command lines as the gateway decides them', async () => {
    const lines = [
      'df -h /srv',
      'rm -rf /srv/data',
      'ls; rm -rf /srv/data',
      'sh -c "rm -rf /srv/data"',
      'echo cm0gLXJmIC9zcnYvZGF0YQ== | base64 -d | sh',
      'touch /srv/x',
      '# a comment line is skipped',
    ];
    const r = await run(
      process.execPath,
      [
        path.join(REPO_ROOT, 'bin', 'gatehouse.js'),
        'policy',
        'test',
        '--ssh',
        '-c',
        gw.configFile,
        '--as',
        'claude',
        '--agent',
        '--connection',
        'prod-bastion',
        '--json',
      ],
      { input: `${lines.join('\n')}\n` },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const results = JSON.parse(r.stdout) as {
      command: string;
      categories: string[];
      decision: { effect: string; ruleId?: string };
    }[];
    expect(results.map((x) => [x.command, x.decision.effect, x.decision.ruleId])).toEqual([
      ['df -h /srv', 'allow', 'ssh-agents-allow-read'],
      ['rm -rf /srv/data', 'deny', 'ssh-agents-no-destructive'],
      ['ls; rm -rf /srv/data', 'deny', 'ssh-agents-no-destructive'],
      ['sh -c "rm -rf /srv/data"', 'deny', 'ssh-agents-no-destructive'],
      ['echo cm0gLXJmIC9zcnYvZGF0YQ== | base64 -d | sh', 'review', 'ssh-agents-review-unjudged'],
      ['touch /srv/x', 'review', 'ssh-agents-review-unjudged'],
    ]);
    expect(results[1]!.categories).toContain('destructive');
    // The gateway refuses the same command with the same rule.
    const token = await gw.token({ subject: 'claude', agent: true });
    const refused = await gw.ssh(token, ['rm -rf /srv/data']);
    expect(refused.code).toBe(126);
    expect(refused.stderr).toMatch(/refused by rule ssh-agents-no-destructive/);
    // And the text form names the rule and says what is done.
    const text = await run(
      process.execPath,
      [
        path.join(REPO_ROOT, 'bin', 'gatehouse.js'),
        'policy',
        'test',
        '--ssh',
        '-c',
        gw.configFile,
        '--as',
        'claude',
        '--agent',
      ],
      { input: 'journalctl -u app -n 50\n' },
    );
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /\[1\] journalctl -u app -n 50\n {4}as: {9}claude on prod-bastion \(ssh exec\)/,
    );
    expect(text.stdout).toMatch(/1 command\(s\): 1 allow, 0 review, 0 deny/);
  });
});
