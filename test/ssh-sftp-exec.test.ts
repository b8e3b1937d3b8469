// sftp over an exec, and subsystems other than sftp (class 105). `sftp -s /usr/lib/openssh/sftp-server`
// asks the host to exec the server instead of opening the sftp subsystem; the exec was decided as an
// unknown program and, once approved, relayed as bytes, so sftp-gate's per-request decisions were
// skipped: an agent wrote a start-up file through it. A copy of the server under another name did the
// same, and any other subsystem name was relayed as bytes. Real OpenSSH sftp and ssh, real sshd.

import { chownSync, copyFileSync, existsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { run, type RunResult } from './testkit/commands.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { findSshStatement, startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';

const SERVER = '/usr/lib/openssh/sftp-server';

describe.skipIf(!hasSshd() || !existsSync(SERVER))('sftp over exec (class 105)', { timeout: 120_000 }, () => {
  let sshd: TestSshd;
  let gw: SshTestGateway;
  let local: string;

  beforeAll(async () => {
    sshd = await startSshd();
    gw = await startSshTestGateway({ sshd, policies: defaultSshPolicies(['prod-bastion']) });
    // A copy of the server under a name that says nothing, as an agent could make one.
    const tool = path.join(sshd.work, 'tool');
    copyFileSync(SERVER, tool);
    const st = statSync(sshd.work);
    chownSync(tool, st.uid, st.gid);
    local = path.join(gw.dir, 'payload.sh');
    writeFileSync(local, '#!/bin/sh\ntouch /tmp/gatehouse-sftp-pwned\n', { mode: 0o755 });
  });

  afterAll(async () => {
    await gw?.stop();
    await sshd?.stop();
  });

  const sftp = (token: string, server: string, batch: string) =>
    run(
      'sftp',
      [
        '-F',
        '/dev/null',
        '-s',
        server,
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

  /** The first thing that happens: the command ends (returned) or a person is asked (undefined). */
  async function endsOrHeld(pending: Promise<RunResult>, asked: number): Promise<RunResult | undefined> {
    return Promise.race([
      pending,
      (async () => {
        while (gw.approver.seen.length === asked) await new Promise((r) => setTimeout(r, 20));
        return undefined;
      })(),
    ]);
  }

  it('sftp -s with the system server is served as the sftp subsystem: each write decided', async () => {
    const w = sshd.work;
    const agent = await gw.token({ subject: 'sftp-exec', agent: true });
    const running = sftp(agent, SERVER, [`put ${local} ${w}/.bashrc`, `ls ${w}`, ''].join('\n'));
    const held = await gw.approver.next();
    const rule = held.ctx.decision.ruleId;
    held.approve();
    const r = await running;
    expect(rule).toBe('ssh-agents-review-sftp');
    expect(existsSync(path.join(w, '.bashrc'))).toBe(false);
    expect(r.stdout).toContain('tool');
    const st = await findSshStatement(gw, (s) => s.text === `sftp open-write ${w}/.bashrc`, {
      withResult: false,
    });
    expect(st.effect).toBe('deny');
    expect(st.ruleId).toBe('ssh-agents-no-privilege');
  });

  it('a server run in any other form is refused, held for nobody', async () => {
    const agent = await gw.token({ subject: 'sftp-exec-forms', agent: true });
    for (const line of [
      `sh -c 'exec ${SERVER}'`,
      `exec -a sshd ${SERVER}`,
      `env ${SERVER}`,
      `${SERVER} -d /etc`,
      `${SERVER}; true`,
      `/tmp/sftp-server`,
      `busybox sftp-server`,
    ]) {
      const asked = gw.approver.seen.length;
      const r = await endsOrHeld(gw.ssh(agent, ['--', line]), asked);
      if (r === undefined) {
        (await gw.approver.next()).deny();
        throw new Error(`held for approval: ${line}`);
      }
      expect(r.code, line).toBe(126);
      expect(r.stderr, line).toContain('sftp subsystem');
    }
  });

  it('a renamed copy of the server, approved as an unknown program, is ended at its first packet', async () => {
    const w = sshd.work;
    const agent = await gw.token({ subject: 'sftp-exec-copy', agent: true });
    const running = sftp(agent, '~/tool', [`put ${local} ${w}/.profile`, ''].join('\n'));
    const held = await gw.approver.next();
    expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-unjudged');
    held.approve();
    const r = await running;
    expect(r.code).not.toBe(0);
    expect(existsSync(path.join(w, '.profile'))).toBe(false);
    expect(r.stderr).toContain('is an sftp session');
    // An exec whose input is not sftp is not disturbed.
    const ok = await gw.ssh(agent, ['--', 'cat'], { input: 'plain input\n' });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe('plain input\n');
  });

  it('a subsystem other than sftp is refused for agents, not relayed as bytes', async () => {
    const agent = await gw.token({ subject: 'sftp-exec-subsystem', agent: true });
    const asked = gw.approver.seen.length;
    const r = await endsOrHeld(gw.ssh(agent, ['-s', '--', 'files']), asked);
    if (r === undefined) {
      (await gw.approver.next()).deny();
      throw new Error('held for approval');
    }
    expect(r.code).toBe(126);
    expect(r.stderr).toContain('ssh-agents-no-subsystems');
  });
});
