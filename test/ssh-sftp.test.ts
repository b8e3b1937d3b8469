// sftp, request by request (class 89): approving the sftp subsystem approved whatever the client did
// in it, and the record held one `subsystem sftp` statement with a duration. An agent whose sftp was
// approved to fetch a log wrote a start-up file, a git hook and authorized_keys, linked its home to a
// system directory and set a file setuid, none of which a shell line or exec could do (each refused as
// privilege). Real OpenSSH sftp and sshd (internal-sftp); ssh2's client for what OpenSSH will not send.

import { chownSync, existsSync, lstatSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import ssh2 from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { run } from './testkit/commands.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { findSshStatement, startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';

describe.skipIf(!hasSshd())('sftp requests are decided one by one (class 89)', { timeout: 120_000 }, () => {
  let sshd: TestSshd;
  let gw: SshTestGateway;
  let local: string;

  beforeAll(async () => {
    sshd = await startSshd();
    gw = await startSshTestGateway({ sshd, policies: defaultSshPolicies(['prod-bastion']) });
    const st = statSync(sshd.work);
    for (const d of ['repo/.git/hooks', 'logs']) {
      mkdirSync(path.join(sshd.work, d), { recursive: true });
    }
    writeFileSync(path.join(sshd.work, 'logs', 'app.log'), 'log line\n');
    for (const p of ['repo', 'repo/.git', 'repo/.git/hooks', 'logs', 'logs/app.log'])
      chownSync(path.join(sshd.work, p), st.uid, st.gid);
    local = path.join(gw.dir, 'payload.sh');
    writeFileSync(local, '#!/bin/sh\ntouch /tmp/gatehouse-sftp-pwned\n', { mode: 0o755 });
  });

  afterAll(async () => {
    await gw?.stop();
    await sshd?.stop();
  });

  const sftp = (token: string, batch: string) =>
    run(
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
      { env: gw.sshEnv(token), input: batch, timeoutMs: 60_000 },
    );

  it('an approved agent sftp reads freely, but each write is decided: privileged ones refused', async () => {
    const w = sshd.work;
    const agent = await gw.token({ subject: 'sftp-writer', agent: true });
    const running = sftp(
      agent,
      [
        `get ${w}/logs/app.log ${gw.dir}/app.log`,
        `put ${local} ${w}/.bashrc`,
        `put ${local} ${w}/repo/.git/hooks/post-checkout`,
        `mkdir ${w}/.ssh`,
        `symlink /etc/cron.d ${w}/cron`,
        `put ${local} ${w}/notes.sh`,
        `chmod 4755 ${w}/logs/app.log`,
        `rename ${w}/logs/app.log ${w}/.profile`,
        '',
      ].join('\n'),
    );
    // The subsystem itself, as before; then only the plain write is held for a person.
    const subsystem = await gw.approver.next();
    expect(subsystem.ctx.decision.ruleId).toBe('ssh-agents-review-sftp');
    subsystem.approve();
    const write = await gw.approver.next();
    expect(write.ctx.action.kind === 'ssh' && write.ctx.action.command).toBe(`open-write ${w}/notes.sh`);
    write.approve();
    const r = await running;
    expect(readFileSync(path.join(gw.dir, 'app.log'), 'utf8')).toBe('log line\n');
    expect(existsSync(path.join(w, 'notes.sh'))).toBe(true);
    for (const p of ['.bashrc', 'repo/.git/hooks/post-checkout', '.ssh', 'cron', '.profile'])
      expect(existsSync(path.join(w, p)), p).toBe(false);
    expect(() => lstatSync(path.join(w, 'cron'))).toThrow();
    expect(statSync(path.join(w, 'logs', 'app.log')).mode & 0o7777).not.toBe(0o4755);
    expect(r.stderr).toMatch(/Permission denied/);
    for (const text of [
      `sftp open-write ${w}/.bashrc`,
      `sftp open-write ${w}/repo/.git/hooks/post-checkout`,
      `sftp mkdir ${w}/.ssh`,
      `sftp symlink /etc/cron.d ${w}/cron`,
      `sftp setstat ${w}/logs/app.log`,
      // OpenSSH's client renames with its extension when the server offers it.
      `sftp posix-rename@openssh.com ${w}/logs/app.log ${w}/.profile`,
    ]) {
      const st = await findSshStatement(gw, (s) => s.text === text, { withResult: false });
      expect(st.effect, text).toBe('deny');
      expect(st.ruleId, text).toBe('ssh-agents-no-privilege');
    }
    const ok = await findSshStatement(gw, (s) => s.text === `sftp open-write ${w}/notes.sh`, {
      withResult: false,
    });
    expect(ok.effect).toBe('review');
  });

  it('a person’s sftp writes go through, each one recorded', async () => {
    const w = sshd.work;
    const admin = await gw.token({ subject: 'sftp-admin', groups: ['ssh-admins'], agent: false });
    // A large file both ways: the packets are followed across reads and writes of any size.
    const big = path.join(gw.dir, 'big.bin');
    writeFileSync(big, randomBytes(6 * 1024 * 1024 + 123));
    const r = await sftp(
      admin,
      [
        `put ${local} ${w}/admin.sh`,
        `rename ${w}/admin.sh ${w}/admin2.sh`,
        `put ${big} ${w}/big.bin`,
        `get ${w}/big.bin ${gw.dir}/big-back.bin`,
        '',
      ].join('\n'),
    );
    expect(r.code).toBe(0);
    expect(readFileSync(path.join(gw.dir, 'big-back.bin')).equals(readFileSync(big))).toBe(true);
    expect(existsSync(path.join(w, 'admin2.sh'))).toBe(true);
    for (const text of [
      `sftp open-write ${w}/admin.sh`,
      `sftp posix-rename@openssh.com ${w}/admin.sh ${w}/admin2.sh`,
    ]) {
      const st = await findSshStatement(gw, (s) => s.text === text, { withResult: false });
      expect(st.effect, text).toBe('allow');
    }
  });

  it('a path holding a NUL is refused: the host would stop reading it there', async () => {
    const w = sshd.work;
    const admin = await gw.token({ subject: 'sftp-nul', groups: ['ssh-admins'], agent: false });
    const conn = new ssh2.Client();
    await new Promise<void>((resolve, reject) => {
      conn.on('ready', resolve).on('error', reject);
      conn.on('keyboard-interactive', (_n, _i, _l, _p, finish) => finish([admin]));
      conn.connect({
        host: '127.0.0.1',
        port: gw.port,
        username: 'prod-bastion',
        tryKeyboard: true,
        hostVerifier: () => true,
      });
    });
    try {
      const sftpc = await new Promise<ssh2.SFTPWrapper>((resolve, reject) =>
        conn.sftp((err, s) => (err ? reject(err) : resolve(s))),
      );
      const err = await new Promise<Error | undefined>((resolve) =>
        sftpc.mkdir(`${w}/nul-dir\0/ignored`, (e) => resolve(e ?? undefined)),
      );
      expect(err?.message).toMatch(/NUL/);
      expect(existsSync(path.join(w, 'nul-dir'))).toBe(false);
    } finally {
      conn.end();
    }
  });
});

describe.skipIf(!hasSshd())('scp -O uploads are decided as writes (class 90)', { timeout: 120_000 }, () => {
  // `scp -O file host:PATH` (the legacy protocol) runs `scp -t PATH` on the host as an exec: it was
  // decided as an `scp` command, `exfiltration` and nothing else, so a rule allowing scp transfers
  // let it write a start-up file, and an upload into a directory write any name the client sent.
  let sshd: TestSshd;
  let gw: SshTestGateway;
  let local: string;

  beforeAll(async () => {
    sshd = await startSshd();
    gw = await startSshTestGateway({
      sshd,
      policies: [
        {
          id: 'copiers',
          subjects: [{ groups: ['copiers'] }],
          connections: ['prod-bastion'],
          rules: [
            {
              id: 'copiers-may-transfer',
              effect: 'allow',
              match: { sshRequests: ['exec'], commandCategories: ['read', 'exfiltration'] },
            },
          ],
        },
      ],
    });
    local = path.join(gw.dir, 'payload.sh');
    writeFileSync(local, '#!/bin/sh\ntouch /tmp/gatehouse-scp-pwned\n', { mode: 0o755 });
  });

  afterAll(async () => {
    await gw?.stop();
    await sshd?.stop();
  });

  const scp = (token: string, from: string, to: string) =>
    run(
      'scp',
      [
        '-O',
        ...gw
          .sshArgs(['--'])
          .slice(0, -1)
          .map((a) => (a === '-p' ? '-P' : a)),
        from,
        to,
      ],
      {
        env: gw.sshEnv(token),
        timeoutMs: 60_000,
      },
    );

  it('scp -t of a start-up file is privilege, of a directory unknown: neither passes as a transfer', async () => {
    const w = sshd.work;
    const copier = await gw.token({ subject: 'copier', groups: ['copiers'], agent: true });
    const toFile = await scp(copier, local, `prod-bastion@127.0.0.1:${w}/.bashrc`);
    expect(toFile.code).not.toBe(0);
    expect(existsSync(path.join(w, '.bashrc'))).toBe(false);
    const st = await findSshStatement(gw, (s) => s.via === 'ssh-exec' && s.text.includes(`${w}/.bashrc`), {
      withResult: false,
    });
    expect(st.text).toMatch(/^scp .*-t /);
    expect(st.effect).toBe('deny');
    expect(st.categories).toEqual(expect.arrayContaining(['privilege', 'unknown']));

    const toDir = await scp(copier, local, `prod-bastion@127.0.0.1:${w}/`);
    expect(toDir.code).not.toBe(0);
    expect(existsSync(path.join(w, 'payload.sh'))).toBe(false);
  });
});
