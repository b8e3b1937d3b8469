// Interactive shells through Gatehouse with real OpenSSH on both sides: a shell is held for review,
// then relayed with its terminal; each line typed is reconstructed from the echo, decided and recorded
// (a destructive one ends the session); the session is replayable (`gatehouse sessions replay --play`,
// the console's player); a revoked token closes an open shell with a message; a changed host key is
// refused and said; env outside the allow-list, agent forwarding and X11 are refused.

import { spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { terminalRecording } from '../src/console/terminal-recording.js';
import { UNECHOED_LINE } from '../src/engines/ssh/shell-lines.js';
import { defaultSshPolicies } from '../src/policy/index.js';
import { run } from './testkit/commands.js';
import { REPO_ROOT } from './testkit/kube-gateway.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import {
  findSshStatement,
  interactive,
  startSshTestGateway,
  type SshTestGateway,
} from './testkit/ssh-gateway.js';

describe.skipIf(!hasSshd())('ssh shells through Gatehouse', { timeout: 120_000 }, () => {
  let sshd: TestSshd;
  let gw: SshTestGateway;
  let data: string;

  beforeAll(async () => {
    sshd = await startSshd();
    gw = await startSshTestGateway({ sshd, policies: defaultSshPolicies(['prod-bastion']) });
    data = path.join(sshd.work, 'data');
    mkdirSync(data);
    writeFileSync(path.join(data, 'keep.txt'), 'precious\n');
    const st = statSync(sshd.work);
    chownSync(data, st.uid, st.gid);
    chownSync(path.join(data, 'keep.txt'), st.uid, st.gid);
  });

  afterAll(async () => {
    await gw?.stop();
    await sshd?.stop();
  });

  it('holds a shell for review, reconstructs and records each line, and ends it on a destructive one', async () => {
    const agent = await gw.token({ subject: 'shell-agent', agent: true });
    const sh = interactive(gw, agent);
    const held = await gw.approver.next();
    expect(held.ctx.action.kind).toBe('ssh');
    expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-shell');
    held.approve();
    await sh.waitFor(/\$ $/m);
    sh.type('echo hello-$((6*7))\r');
    await sh.waitFor(/hello-42/);
    const line = await findSshStatement(gw, (s) => s.via === 'ssh-shell' && s.text.includes('hello-'));
    expect(line.text).toBe('echo hello-$((6*7))');
    expect(line.effect).toBe('allow');
    expect(line.categories).toEqual(expect.arrayContaining(['shell', 'read']));

    sh.type(`rm -rf ${data}\r`);
    const code = await sh.exited;
    expect(code).toBe(255);
    expect(sh.output()).toMatch(/gatehouse: .*refused by rule ssh-agents-no-destructive/);
    expect(existsSync(path.join(data, 'keep.txt'))).toBe(true);
    const refused = await findSshStatement(gw, (s) => s.via === 'ssh-shell' && s.text.startsWith('rm -rf'), {
      withResult: false,
    });
    expect(refused.effect).toBe('deny');
  });

  it('the shell session is replayable: sessions replay --play and the console player', async () => {
    const shell = await findSshStatement(gw, (s) => s.via === 'ssh-shell' && s.kind === 'shell');
    const ref = shell.result?.terminalRef;
    expect(ref?.format).toBe('asciicast-v2');
    const r = await run(
      process.execPath,
      [
        path.join(REPO_ROOT, 'bin', 'gatehouse.js'),
        'sessions',
        'replay',
        shell.sessionId,
        '--play',
        '--speed',
        '100',
      ],
      { env: { GATEHOUSE_CONFIG: gw.configFile } },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/── terminal recording 1\/1: prod-bastion/);
    expect(r.stdout).toContain('hello-42');
    const events = await gw.gateway.store.getEvents(shell.sessionId, 0, 10_000);
    const rec = await terminalRecording(events, gw.gateway.recording.blobs);
    expect(rec?.kind).toBe('cast');
    if (rec?.kind === 'cast') {
      expect(rec.text.split('\n')[0]).toMatch(/"version":2/);
      expect(rec.text).toContain('hello-42');
      // Keystrokes on a terminal are kept as keys, their text hidden; the echo shows what was typed.
      expect(rec.text).toMatch(/"i","•{4}/);
      expect(rec.text).not.toMatch(/"i","echo hello/);
      expect(rec.text).toMatch(/"o","[^"]*echo hello/);
    }
  });

  it('a revoked token closes an open shell within 5 s, with a message', async () => {
    const issued = await gw.gateway.identity.issuer!.issue({
      subject: 'admin-person',
      groups: ['ssh-admins'],
      agent: false,
      ttlMs: 3_600_000,
    });
    const sh = interactive(gw, issued.token);
    await sh.waitFor(/\$ $/m);
    const at = Date.now();
    await gw.gateway.store.revokeServiceToken(issued.record.id, new Date());
    const code = await sh.exited;
    expect(Date.now() - at).toBeLessThan(5_000);
    expect(code).toBe(255);
    expect(sh.output()).toMatch(/Gatehouse ended this session: the token is no longer valid/);
  });

  it('passes only allowed environment variables, and refuses agent forwarding and X11', async () => {
    const admin = await gw.token({ subject: 'env-person', groups: ['ssh-admins'], agent: false });
    // A real agent, so the client asks to forward it (it does not without one).
    const sock = path.join(gw.dir, 'agent.sock');
    const agentProc = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
    for (let i = 0; i < 100 && !existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
    const r = await run(
      'ssh',
      gw.sshArgs([
        '-o',
        'SetEnv=GH_ALLOWED=yes GH_SECRET=no',
        '-A',
        '-X',
        '--',
        'echo "allowed=$GH_ALLOWED secret=$GH_SECRET"',
      ]),
      { env: { ...gw.sshEnv(admin), SSH_AUTH_SOCK: sock, DISPLAY: ':7' } },
    );
    agentProc.kill();
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('allowed=yes secret=\n');
    expect(r.stderr).toMatch(/environment variable GH_SECRET is not passed/);
    expect(r.stderr).toMatch(/agent forwarding is refused/);
    expect(r.stderr).toMatch(/X11 forwarding (is refused|request failed)/);
  });

  it('a value set on one line is not evaluated as code on the next without a person (class 51)', async () => {
    // Line 1 stores a command substitution in a plain variable (an assignment: it runs nothing); line
    // 2 evaluates the variable as arithmetic, and bash runs what the value holds. Each line alone was
    // judged a read, and the command ran; now line 2 is unknown and held.
    const agent = await gw.token({ subject: 'shell-planter', agent: true });
    const sh = interactive(gw, agent);
    (await gw.approver.next()).approve(); // the shell itself
    await sh.waitFor(/\$ (\x1b\[K)?$/m); // eslint-disable-line no-control-regex
    const canary = path.join(sshd.work, 'planted-ran.txt');
    sh.type(`x='a[$(touch ${canary})]'\r`);
    const planted = await findSshStatement(gw, (s) => s.via === 'ssh-shell' && s.text.startsWith('x='), {
      withResult: false,
    });
    expect(planted.effect).toBe('allow');
    sh.type('echo $((x))\r');
    const held = await gw.approver.next();
    expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-unjudged');
    held.deny();
    const line = await findSshStatement(gw, (s) => s.via === 'ssh-shell' && s.text === 'echo $((x))', {
      withResult: false,
    });
    expect(line.effect).toBe('review');
    expect(line.categories).toContain('unknown');
    await sh.exited;
    expect(existsSync(canary)).toBe(false);
  });

  it('a relative write after a line that changed directory is not judged as one at home (class 52)', async () => {
    // `cd /etc/ssh` on one line, `echo … > sshd_config` on the next: judged alone, the second looked
    // like a write in the home directory (reviewable), where it is a system file (refused outright).
    const agent = await gw.token({ subject: 'shell-wanderer', agent: true });
    const sh = interactive(gw, agent);
    (await gw.approver.next()).approve(); // the shell itself
    await sh.waitFor(/\$ (\x1b\[K)?$/m); // eslint-disable-line no-control-regex
    sh.type('cd /etc/ssh\r');
    await findSshStatement(gw, (s) => s.via === 'ssh-shell' && s.text === 'cd /etc/ssh', {
      withResult: false,
    });
    sh.type('echo PermitRootLogin yes > sshd_config\r');
    const held = await gw.approver.next();
    held.deny();
    const line = await findSshStatement(
      gw,
      (s) => s.via === 'ssh-shell' && s.text.endsWith('> sshd_config'),
      {
        withResult: false,
      },
    );
    expect(line.effect).toBe('review');
    expect(line.categories).toEqual(expect.arrayContaining(['unknown', 'write']));
    await sh.exited;
  });
});

describe.skipIf(!hasSshd())('ssh host key pinning', { timeout: 60_000 }, () => {
  it('refuses a host whose key is not the pinned one, and says so', async () => {
    const sshd = await startSshd();
    const other = await startSshd();
    // Pinned: another server's key, so the real host's key does not match.
    const gw = await startSshTestGateway({
      sshd,
      policies: defaultSshPolicies(['prod-bastion']),
      hostKeys: [other.hostKey],
    });
    try {
      const admin = await gw.token({ subject: 'pin-person', groups: ['ssh-admins'], agent: false });
      const r = await gw.ssh(admin, ['id']);
      expect(r.code).toBe(255);
      expect(r.stderr).toMatch(/not the pinned host key/);
      expect(r.stderr).toMatch(/gatehouse ssh keyscan/);
      expect(sshd.logs()).not.toMatch(/Accepted publickey/);
    } finally {
      await gw.stop();
      await sshd.stop();
      await other.stop();
    }
  });
});

describe.skipIf(!hasSshd())('ssh shell lines held past the hold timeout', { timeout: 60_000 }, () => {
  it('refuses a held line nobody decides once the connection’s holdTimeout passes', async () => {
    const sshd = await startSshd();
    const gw = await startSshTestGateway({
      sshd,
      policies: defaultSshPolicies(['prod-bastion']),
      connectionExtra: { holdTimeout: '2s' },
    });
    try {
      const agent = await gw.token({ subject: 'slow-approvals', agent: true });
      const sh = interactive(gw, agent);
      (await gw.approver.next()).approve(); // the shell itself
      await sh.waitFor(/\$ (\x1b\[K)?$/); // eslint-disable-line no-control-regex
      const target = path.join(sshd.work, 'never.txt');
      sh.type(`touch ${target}\r`); // a write: held for a person, who never comes
      await gw.approver.next();
      const code = await sh.exited;
      expect(code).toBe(255);
      expect(sh.output()).toMatch(/held for approval/);
      expect(existsSync(target)).toBe(false);
      const line = await findSshStatement(gw, (s) => s.text === `touch ${target}`, { withResult: false });
      expect(line.effect).toBe('review');
    } finally {
      await gw.stop();
      await sshd.stop();
    }
  });
});

describe.skipIf(!hasSshd())('shell lines the echo does not show (class 88)', { timeout: 120_000 }, () => {
  // Each attack typed a line that reached bash without being decided (nothing recorded, the canary
  // made): echo turned off by an allowed `stty -echo`; the line's text sent in the same chunk as the
  // Ctrl-C before it (the start of the line was taken before the host's new prompt); Ctrl-O, which
  // readline takes as Enter; and, without a terminal, a Ctrl-C byte that reset the line Gatehouse
  // decided while bash read it as one more character of the line before it.
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

  /** An approved agent shell at its prompt. */
  async function agentShell(subject: string) {
    const agent = await gw.token({ subject, agent: true });
    const sh = interactive(gw, agent);
    (await gw.approver.next()).approve(); // the shell itself
    await sh.waitFor(/\$ (\x1b\[K)?$/m); // eslint-disable-line no-control-regex
    return sh;
  }

  it('a line typed with echo off is decided as unknown, not skipped', async () => {
    const sh = await agentShell('echo-off');
    sh.type('stty -echo\r');
    await findSshStatement(gw, (s) => s.text === 'stty -echo', { withResult: false });
    await new Promise((r) => setTimeout(r, 300));
    const canary = path.join(sshd.work, 'unechoed.txt');
    sh.type(`touch ${canary}\r`);
    const held = await gw.approver.next();
    expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-unjudged');
    held.deny();
    await sh.exited;
    expect(existsSync(canary)).toBe(false);
    const line = await findSshStatement(gw, (s) => s.via === 'ssh-shell' && s.text === UNECHOED_LINE, {
      withResult: false,
    });
    expect(line.effect).toBe('review');
    expect(line.categories).toContain('unknown');
    // What was typed where it did not echo (a password, say) is not put in the record.
    expect(line.text).not.toContain('touch');
  });

  it('keys typed after a line printed the switch to the alternate screen are decided, not passed raw', async () => {
    // Input in a full-screen program is not reconstructed; the switch is whatever the host prints,
    // and an allowed printf at the prompt made every later line pass undecided.
    const sh = await agentShell('fake-full-screen');
    sh.type("printf '\\033[?1049h'\r");
    await findSshStatement(gw, (s) => s.text.startsWith('printf'), { withResult: false });
    await new Promise((r) => setTimeout(r, 300));
    const canary = path.join(sshd.work, 'full-screen.txt');
    sh.type(`touch ${canary}\r`);
    const held = await gw.approver.next();
    expect(held.ctx.action.kind === 'ssh' && held.ctx.action.command).toMatch(
      /^\(keys typed in a full-screen program, not decided one by one\), after: printf/,
    );
    expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-unjudged');
    held.deny();
    await sh.exited;
    expect(existsSync(canary)).toBe(false);
  });

  it('text printed onto the line by something else is not taken for what was typed', async () => {
    // Echo off, and a background job prints `#` and the very text about to be typed where the line
    // begins: every typed character was on the screen, and the line read as a comment.
    const sh = await agentShell('printed-over');
    const canary = path.join(sshd.work, 'printed-over.txt');
    sh.type(`stty -echo; (sleep 1; printf '#touch ${canary}') &\r`);
    await findSshStatement(gw, (s) => s.text.startsWith('stty -echo;'), { withResult: false });
    await new Promise((r) => setTimeout(r, 200));
    sh.type(`touch ${canary}`);
    await sh.waitFor(/#touch /);
    await new Promise((r) => setTimeout(r, 200));
    sh.type('\r');
    const held = await gw.approver.next();
    expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-unjudged');
    expect(held.ctx.action.kind === 'ssh' && held.ctx.action.commandKind).toMatch(
      /^text on the line that was not typed/,
    );
    held.deny();
    await sh.exited;
    expect(existsSync(canary)).toBe(false);
  });

  it('a line recalled from history is decided as unknown: its text was not typed', async () => {
    // Tab and history bring text in that was not typed; so can another program printing onto the
    // line (above). Gatehouse cannot tell which, so such a line is not judged on its echo.
    const sh = await agentShell('history');
    const canary = path.join(sshd.work, 'history.txt');
    sh.type(`: ${canary}\r`);
    await findSshStatement(gw, (s) => s.text === `: ${canary}`, { withResult: false });
    await new Promise((r) => setTimeout(r, 300));
    sh.type('\x1b[A');
    await new Promise((r) => setTimeout(r, 300));
    sh.type('\r');
    const held = await gw.approver.next();
    expect(held.ctx.action.kind === 'ssh' && held.ctx.action.command).toBe(`: ${canary}`);
    expect(held.ctx.action.kind === 'ssh' && held.ctx.action.commandKind).toMatch(/completion, history/);
    held.approve();
    sh.type('exit\r');
    expect(await sh.exited).toBe(0);
  });

  it('a line sent with the Ctrl-C before it is decided from where the new prompt begins', async () => {
    const sh = await agentShell('ctrl-c-ahead');
    const canary = path.join(sshd.work, 'after-ctrl-c.txt');
    sh.type(`\x03touch ${canary}\r`);
    const held = await gw.approver.next();
    expect(held.ctx.action.kind === 'ssh' && held.ctx.action.command).toBe(`touch ${canary}`);
    held.deny();
    await sh.exited;
    expect(existsSync(canary)).toBe(false);
  });

  it('Ctrl-O (operate-and-get-next) is decided as a key that runs the line', async () => {
    const sh = await agentShell('ctrl-o');
    const canary = path.join(sshd.work, 'ctrl-o.txt');
    sh.type(`echo hi; touch ${canary}\x0f`);
    const held = await gw.approver.next();
    expect(held.ctx.action.kind === 'ssh' && held.ctx.action.command).toBe(
      `echo hi; touch ${canary} ⟨Ctrl-O⟩`,
    );
    expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-unjudged');
    held.deny();
    await sh.exited;
    expect(existsSync(canary)).toBe(false);
  });

  /** A directory holding a file, for a destructive line to aim at. */
  function victimDir(name: string): string {
    const victim = path.join(sshd.work, name);
    mkdirSync(victim);
    writeFileSync(path.join(victim, 'keep.txt'), 'precious\n');
    const st = statSync(sshd.work);
    chownSync(victim, st.uid, st.gid);
    return victim;
  }

  /** An approved agent shell without a terminal (`ssh -T host`, input piped). */
  async function pipedShell(subject: string) {
    const agent = await gw.token({ subject, agent: true });
    const child = spawn('ssh', gw.sshArgs(['-T', '--']), {
      env: { ...process.env, ...gw.sshEnv(agent) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
    (await gw.approver.next()).approve(); // the shell itself
    return { child, exited, err: () => err };
  }

  it('without a terminal, a Ctrl-C byte is part of the line bash reads', async () => {
    const victim = victimDir('victim-ctrl-c');
    const sh = await pipedShell('no-tty-ctrl-c');
    sh.child.stdin.write(`rm -rf ${victim} `);
    await new Promise((r) => setTimeout(r, 500));
    sh.child.stdin.write('\x03\n');
    expect(await sh.exited).toBe(255);
    expect(sh.err()).toMatch(/refused by rule ssh-agents-no-destructive/);
    expect(existsSync(path.join(victim, 'keep.txt'))).toBe(true);
  });

  it('without a terminal, a last line with no newline is decided before the input ends', async () => {
    // bash runs a last line that has no newline when its input ends: the line went up as it was typed
    // and only its newline waited to be decided, so the end of input ran it undecided.
    const victim = victimDir('victim-eof');
    const sh = await pipedShell('no-tty-eof');
    sh.child.stdin.write('echo first-line\n');
    await new Promise((r) => setTimeout(r, 300));
    sh.child.stdin.end(`rm -rf ${victim}`);
    expect(await sh.exited).toBe(255);
    expect(sh.err()).toMatch(/refused by rule ssh-agents-no-destructive/);
    expect(existsSync(path.join(victim, 'keep.txt'))).toBe(true);
    const line = await findSshStatement(gw, (s) => s.text === `rm -rf ${victim}`, { withResult: false });
    expect(line.effect).toBe('deny');
  });

  it('without a terminal, allowed lines and the end of input still go through', async () => {
    const sh = await pipedShell('no-tty-reads');
    let out = '';
    sh.child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    sh.child.stdin.end('echo one\necho two');
    expect(await sh.exited).toBe(0);
    expect(out).toBe('one\ntwo\n');
  });
});
