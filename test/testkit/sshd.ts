// A real OpenSSH server (Debian's openssh-server) for the SSH tests: its own host key, config and
// authorized_keys in a temp dir, on a free loopback port, started with `sshd -D -e -f`. As root it logs
// in a dedicated test user (created once, its password field set to `*` so the account is usable with
// keys only); otherwise sshd runs as the current user and logs in as that user.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateEd25519 } from '../../src/engines/ssh/ssh-keys.js';
import { freePort } from './free-port.js';

export const SSHD = '/usr/sbin/sshd';
export const TEST_USER = 'gh-ssh-test';

export function hasSshd(): boolean {
  return spawnSync(SSHD, ['-V']).error === undefined && spawnSync('ssh', ['-V']).error === undefined;
}

export interface TestSshd {
  readonly port: number;
  readonly user: string;
  readonly home: string;
  readonly dir: string;
  /** The host's public key line (`ssh-ed25519 AAAA…`). */
  readonly hostKey: string;
  /** The private key Gatehouse holds (OpenSSH format) and its public line. */
  readonly clientKey: { readonly privateKey: string; readonly publicKey: string };
  /** A directory the test user owns, for files the tests create and check. */
  readonly work: string;
  /**
   * Writes `text` to `name` under `work` (directories on the way made), all owned by the test user so
   * that commands run as it read them; returns the file's path.
   */
  put(name: string, text: string): string;
  readonly logs: () => string;
  stop(): Promise<void>;
}

function ensureUser(): { user: string; uid: number; gid: number; home: string } {
  if (process.getuid?.() !== 0) {
    const u = os.userInfo();
    return { user: u.username, uid: u.uid, gid: u.gid, home: u.homedir };
  }
  if (spawnSync('id', ['-u', TEST_USER]).status !== 0) {
    spawnSync('useradd', ['-m', '-s', '/bin/bash', TEST_USER], { stdio: 'ignore' });
  }
  // A locked account ("!" in shadow) is refused by sshd without PAM; "*" means keys only.
  spawnSync('usermod', ['-p', '*', TEST_USER], { stdio: 'ignore' });
  const uid = Number(spawnSync('id', ['-u', TEST_USER]).stdout.toString().trim());
  const gid = Number(spawnSync('id', ['-g', TEST_USER]).stdout.toString().trim());
  // sshd's privilege separation needs its empty directory.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  return { user: TEST_USER, uid, gid, home: `/home/${TEST_USER}` };
}

export async function startSshd(options: { extraConfig?: string[] } = {}): Promise<TestSshd> {
  const { user, uid, gid, home } = ensureUser();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-sshd-'));
  chmodSync(dir, 0o755);
  // Gatehouse's own generator: ssh2's alone writes a malformed key about one time in 200.
  const host = generateEd25519('test-sshd-host');
  const client = generateEd25519('gatehouse-held-key');
  writeFileSync(path.join(dir, 'host_ed25519'), host.privateKey, { mode: 0o600 });
  writeFileSync(path.join(dir, 'host_ed25519.pub'), `${host.publicKey}\n`);
  writeFileSync(path.join(dir, 'authorized_keys'), `${client.publicKey}\n`, { mode: 0o644 });
  const work = path.join(dir, 'work');
  mkdirSync(work, { mode: 0o755 });
  if (process.getuid?.() === 0) chownSync(work, uid, gid);
  const port = await freePort();
  const config = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${path.join(dir, 'host_ed25519')}`,
    'PidFile none',
    'UsePAM no',
    'StrictModes no',
    `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
    `AllowUsers ${user}`,
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PubkeyAuthentication yes',
    'PermitRootLogin prohibit-password',
    'AcceptEnv LANG LC_* GH_*',
    'AllowTcpForwarding yes',
    'Subsystem sftp internal-sftp',
    'LogLevel VERBOSE',
    ...(options.extraConfig ?? []),
  ];
  writeFileSync(path.join(dir, 'sshd_config'), `${config.join('\n')}\n`);
  let logs = '';
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', path.join(dir, 'sshd_config')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`sshd did not start: ${logs}`)), 10_000);
    const check = () => {
      if (logs.includes('Server listening')) {
        clearTimeout(t);
        resolve();
      }
    };
    child.stderr!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`sshd exited with ${code}: ${logs}`));
    });
  });
  return {
    port,
    user,
    home,
    dir,
    hostKey: readFileSync(path.join(dir, 'host_ed25519.pub'), 'utf8').trim(),
    clientKey: client,
    work,
    put(name, text) {
      const file = path.join(work, name);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, text);
      if (process.getuid?.() === 0)
        for (let p = file; p.startsWith(`${work}/`); p = path.dirname(p)) chownSync(p, uid, gid);
      return file;
    },
    logs: () => logs,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
