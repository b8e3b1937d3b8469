// Public keys registered to a principal (`gatehouse ssh add-key`), with real OpenSSH on both sides: a
// key made by ssh-keygen and registered to a service token logs in with `ssh -i` as that token's
// principal — decided by its policy, recorded under its name — while an unregistered key is refused;
// removing the key refuses it from then on and ends the sessions that logged in with it, and revoking
// the token refuses its keys too.

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { run, type RunResult } from './testkit/commands.js';
import { REPO_ROOT } from './testkit/kube-gateway.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { findSshStatement, startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';

describe.skipIf(!hasSshd())('ssh public keys registered to a principal', { timeout: 120_000 }, () => {
  let sshd: TestSshd;
  let gw: SshTestGateway;
  let tokenId: string;

  const gatehouse = (args: string[], input?: string) =>
    run(process.execPath, [path.join(REPO_ROOT, 'bin', 'gatehouse.js'), ...args, '-c', gw.configFile], {
      ...(input !== undefined ? { input } : {}),
    });

  /** A fresh key pair made by the real ssh-keygen; returns the private key's path. */
  async function keygen(name: string): Promise<string> {
    const file = path.join(gw.dir, name);
    const r = await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `${name}@test`, '-f', file]);
    expect(r.code).toBe(0);
    return file;
  }

  async function fingerprintOf(key: string): Promise<string> {
    const r = await run('ssh-keygen', ['-l', '-f', `${key}.pub`]);
    return r.stdout.split(' ')[1]!;
  }

  /** `ssh -i key` with public key authentication only (no token prompt can be answered). */
  function keyArgs(key: string, command: string): string[] {
    return [
      '-F',
      '/dev/null',
      '-p',
      String(gw.port),
      '-i',
      key,
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'PreferredAuthentications=publickey',
      '-o',
      'BatchMode=yes',
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      `UserKnownHostsFile=${path.join(gw.dir, 'known_hosts')}`,
      '-o',
      'LogLevel=ERROR',
      `${gw.connection}@127.0.0.1`,
      command,
    ];
  }
  const sshWithKey = (key: string, command: string): Promise<RunResult> =>
    run('ssh', keyArgs(key, command), { env: { HOME: gw.dir } });

  beforeAll(async () => {
    sshd = await startSshd();
    gw = await startSshTestGateway({ sshd, policies: defaultSshPolicies(['prod-bastion']) });
    const issued = await gw.gateway.identity.issuer!.issue({
      subject: 'key-agent',
      groups: [],
      agent: true,
      ttlMs: 3_600_000,
    });
    tokenId = issued.record.id;
  });

  afterAll(async () => {
    await gw?.stop();
    await sshd?.stop();
  });

  it('a registered key logs in as its principal; an unregistered key is refused', async () => {
    const key = await keygen('agent-key');
    const fp = await fingerprintOf(key);
    const added = await gatehouse(['ssh', 'add-key', '--token-id', tokenId, `${key}.pub`]);
    expect(added.stderr).toMatch(/ssh logins with these keys are this principal/);
    expect(added.code).toBe(0);
    expect(added.stdout).toEqual(
      expect.stringMatching(
        new RegExp(
          `^added ${fp.replace(/[+/]/g, '\\$&')} \\(ssh-ed25519 agent-key@test\\) for key-agent \\(token ${tokenId}, agent: yes`,
        ),
      ),
    );

    const r = await sshWithKey(key, 'id -un');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(sshd.user);
    // The record names the principal, and the key it logged in with.
    const st = await findSshStatement(gw, (s) => s.text === 'id -un');
    const session = (await gw.gateway.store.getSession(st.sessionId))!.session;
    expect(session.subject).toBe('key-agent');
    expect(session.agent).toBe(true);
    expect(session.tokenKind).toBe('service');
    expect(session.application).toContain(`ssh_key=${fp}`);
    // Its principal's policy decides: an agent's destructive command is refused.
    const refused = await sshWithKey(key, 'rm -rf /srv/data');
    expect(refused.code).toBe(126);
    expect(refused.stderr).toMatch(/refused by rule ssh-agents-no-destructive/);

    const stranger = await keygen('stranger-key');
    const s = await sshWithKey(stranger, 'id -un');
    expect(s.code).toBe(255);
    expect(s.stderr).toMatch(/Permission denied \(publickey/);
    expect(s.stdout).toBe('');
  });

  it('ssh config --identity-file prints a block that logs in with the registered key', async () => {
    const key = await keygen('config-key');
    expect((await gatehouse(['ssh', 'add-key', '--token-id', tokenId, `${key}.pub`])).code).toBe(0);
    const known = path.join(gw.dir, 'config-known-hosts');
    const cfg = await gatehouse([
      'ssh',
      'config',
      'prod-bastion',
      '--port',
      String(gw.port),
      '--identity-file',
      key,
      '--known-hosts',
      known,
    ]);
    expect(cfg.code).toBe(0);
    expect(cfg.stdout).toContain(`  IdentityFile ${key}\n  IdentitiesOnly yes\n`);
    const file = path.join(gw.dir, 'key_ssh_config');
    writeFileSync(file, cfg.stdout);
    const r = await run('ssh', ['-F', file, '-o', 'BatchMode=yes', 'prod-bastion', 'id', '-un'], {
      env: { HOME: gw.dir },
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(sshd.user);
  });

  it('lists keys with their principal, and refuses what is not a public key', async () => {
    const list = await gatehouse(['ssh', 'list-keys', '--json']);
    expect(list.code).toBe(0);
    const keys = JSON.parse(list.stdout) as {
      subject: string;
      tokenId: string;
      status: string;
      comment: string;
    }[];
    expect(keys).toContainEqual(
      expect.objectContaining({ subject: 'key-agent', tokenId, status: 'active', comment: 'agent-key@test' }),
    );
    const bad = await gatehouse(['ssh', 'add-key', '--token-id', tokenId, '-'], 'not a key\n');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/not an OpenSSH public key line/);
    const key = await keygen('twice-key');
    expect((await gatehouse(['ssh', 'add-key', '--token-id', tokenId, `${key}.pub`])).code).toBe(0);
    const again = await gatehouse(['ssh', 'add-key', '--token-id', tokenId, `${key}.pub`]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/already registered/);
    const noToken = await gatehouse(['ssh', 'add-key', '--token-id', 'nope', `${key}.pub`]);
    expect(noToken.stderr).toMatch(/no service token with id nope/);
  });

  it('removing a key ends its live sessions and refuses it from then on', async () => {
    const key = await keygen('removed-key');
    const fp = await fingerprintOf(key);
    expect((await gatehouse(['ssh', 'add-key', '--token-id', tokenId, `${key}.pub`])).code).toBe(0);
    let stderr = '';
    const child = spawn('ssh', keyArgs(key, 'sleep 120'), {
      env: { ...process.env, HOME: gw.dir },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
    await findSshStatement(gw, (s) => s.text === 'sleep 120', { withResult: false });

    const removed = await gatehouse(['ssh', 'remove-key', fp]);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toBe(`removed ${fp}\n`);
    expect(await exited).toBe(255);
    expect(stderr).toContain(`gatehouse: Gatehouse ended this session: the SSH key ${fp} was removed`);

    const after = await sshWithKey(key, 'id -un');
    expect(after.code).toBe(255);
    expect(after.stderr).toMatch(/Permission denied/);
    const list = await gatehouse(['ssh', 'list-keys', '--all', '--json']);
    expect(JSON.parse(list.stdout)).toContainEqual(
      expect.objectContaining({ fingerprint: fp, status: 'removed' }),
    );
  });

  it('revoking the token refuses its keys', async () => {
    const other = await gw.gateway.identity.issuer!.issue({
      subject: 'short-lived',
      groups: [],
      agent: true,
      ttlMs: 3_600_000,
    });
    const key = await keygen('revoked-key');
    expect((await gatehouse(['ssh', 'add-key', '--token-id', other.record.id, `${key}.pub`])).code).toBe(0);
    expect((await sshWithKey(key, 'id -un')).code).toBe(0);
    expect((await gatehouse(['token', 'revoke', other.record.id])).code).toBe(0);
    const r = await sshWithKey(key, 'id -un');
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/Permission denied/);
  });
});
