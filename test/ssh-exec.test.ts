// Real OpenSSH on both sides: the `ssh` client → Gatehouse's SSH listener → a real sshd. exec requests
// are decided on their exact command before anything runs on the host: read commands run and are
// recorded, destructive ones are refused with exit status 126 and never reach the host, what cannot be
// judged is held for a person, exit codes propagate, and the held key appears nowhere.

import { existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync, chownSync, statSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredStatement } from '../src/core/records.js';
import { defaultSshPolicies } from '../src/policy/index.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { findSshStatement, startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';

async function statements(gw: SshTestGateway, subject: string): Promise<StoredStatement[]> {
  const sessions = await gw.gateway.store.listSessions({ subject, limit: 50 });
  const out: StoredStatement[] = [];
  for (const s of sessions) out.push(...((await gw.gateway.store.getSession(s.id))?.statements ?? []));
  return out;
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 20));
}

describe.skipIf(!hasSshd())('ssh exec through Gatehouse', { timeout: 120_000 }, () => {
  let sshd: TestSshd;
  let gw: SshTestGateway;
  let agent: string;
  let data: string;

  beforeAll(async () => {
    sshd = await startSshd();
    gw = await startSshTestGateway({ sshd, policies: defaultSshPolicies(['prod-bastion']) });
    agent = await gw.token({ subject: 'claude', agent: true });
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

  it('runs a read command on the host and records it', async () => {
    const r = await gw.ssh(agent, ['df', '-h', sshd.work]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Filesystem/);
    const st = await findSshStatement(gw, (s) => s.text === `df -h ${sshd.work}`);
    expect(st.effect).toBe('allow');
    expect(st.via).toBe('ssh-exec');
    expect(st.categories).toEqual(expect.arrayContaining(['exec', 'read']));
    const ref = st.result?.terminalRef;
    expect(ref?.format).toBe('asciicast-v2');
    const blob = await gw.gateway.recording.blobs.get(ref!.key);
    const cast = (JSON.parse(blob!.toString('utf8')) as { cast: string }).cast;
    expect(cast).toContain('Filesystem');
  });

  it('runs as the configured upstream user, whatever the client asks', async () => {
    const r = await gw.ssh(agent, ['id', '-un']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(sshd.user);
  });

  it('refuses rm -rf with exit 126 and a message; the directory survives', async () => {
    const r = await gw.ssh(agent, ['rm', '-rf', data]);
    expect(r.code).toBe(126);
    expect(r.stderr).toMatch(/gatehouse: .*refused by rule ssh-agents-no-destructive/);
    expect(existsSync(path.join(data, 'keep.txt'))).toBe(true);
  });

  it('refuses destruction hidden in a list, in sh -c, and behind sudo', async () => {
    for (const cmd of [`ls; rm -rf ${data}`, `sh -c "rm -rf ${data}"`, `sudo rm -rf ${data}`]) {
      const r = await gw.ssh(agent, [cmd]);
      expect(r.code, cmd).toBe(126);
      expect(r.stderr, cmd).toMatch(/refused by rule ssh-agents-no-(destructive|privilege)/);
    }
    expect(existsSync(path.join(data, 'keep.txt'))).toBe(true);
  });

  it('refuses a link into a system directory: a later write through it would look like one at home (class 91)', async () => {
    for (const cmd of [
      `ln -s /etc/cron.d ${data}/cronlink`,
      `ln -sfn /etc ${data}/etclink`,
      `cp -s /etc/passwd ${data}/pw`,
      `ln -s ../../../../../../etc/cron.d ${data}/relative`,
    ]) {
      const r = await gw.ssh(agent, [cmd]);
      expect(r.code, cmd).toBe(126);
      expect(r.stderr, cmd).toMatch(/refused by rule ssh-agents-no-privilege/);
    }
    for (const name of ['cronlink', 'etclink', 'pw', 'relative'])
      expect(() => lstatSync(path.join(data, name)), name).toThrow();
  });

  it('reads abbreviated long options as the host does: sed --in-pl is a write, held, and never runs', async () => {
    const file = path.join(data, 'keep.txt');
    const asked = gw.approver.seen.length;
    const running = gw.ssh(agent, [`sed --in-pl s/precious/gone/ ${file}`]);
    const first = await Promise.race([
      running.then(() => 'ran'),
      until(() => gw.approver.seen.length > asked).then(() => 'held'),
    ]);
    expect(first, 'sed --in-pl ran without review').toBe('held');
    const held = await gw.approver.next();
    expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-unjudged');
    held.deny();
    const r = await running;
    expect(r.code).toBe(126);
    expect(readFileSync(file, 'utf8')).toBe('precious\n');
  });

  it('holds a read command told to run another (git ls-remote --upload-pack); refused, it never runs', async () => {
    const marker = path.join(sshd.work, 'upload-pack-ran');
    const asked = gw.approver.seen.length;
    const running = gw.ssh(agent, [
      `git ls-remote --upload-pack='touch ${marker}; false' ${path.join(sshd.work, 'nowhere')}`,
    ]);
    const first = await Promise.race([
      running.then(() => 'ran'),
      until(() => gw.approver.seen.length > asked).then(() => 'held'),
    ]);
    expect(first, `ran without review; marker made: ${existsSync(marker)}`).toBe('held');
    const held = await gw.approver.next();
    expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-unjudged');
    held.deny();
    expect((await running).code).toBe(126);
    expect(existsSync(marker)).toBe(false);
  });

  it('holds an exec with a terminal: its keystrokes are not decided (less runs `!cmd` typed into it)', async () => {
    const marker = path.join(sshd.work, 'typed-into-less');
    const asked = gw.approver.seen.length;
    const child = spawn('ssh', gw.sshArgs(['-tt', '--', 'less', path.join(data, 'keep.txt')]), {
      env: { ...process.env, ...gw.sshEnv(agent) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const closed = new Promise<void>((r) => child.once('close', () => r()));
    const first = await Promise.race([
      until(() => out.includes('precious')).then(() => 'ran'),
      until(() => gw.approver.seen.length > asked).then(() => 'held'),
    ]);
    if (first === 'ran') {
      // What an agent then types goes to less, and from less to a shell, undecided.
      child.stdin.write(`!touch ${marker}\r`);
      await until(() => existsSync(marker) || /done/.test(out)).catch(() => undefined);
      child.stdin.write('\rq');
      child.kill();
      await closed;
      expect.fail(`an exec with a terminal ran without review; typed command ran: ${existsSync(marker)}`);
    }
    const held = await gw.approver.next();
    expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-interactive-exec');
    held.deny();
    await closed;
    expect(existsSync(marker)).toBe(false);
  });

  it('still runs a read exec without a terminal straight away', async () => {
    const r = await gw.ssh(agent, ['cat', path.join(data, 'keep.txt')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('precious\n');
  });

  it('holds printf -v PATH: a builtin assigning PATH changes which program the next command runs', async () => {
    // A directory with a program named like a read command (left by an earlier, approved write).
    const bin = path.join(sshd.work, 'planted-bin');
    const marker = path.join(sshd.work, 'planted-ran');
    mkdirSync(bin);
    writeFileSync(path.join(bin, 'ls'), `#!/bin/sh\n/usr/bin/touch ${marker}\n`, { mode: 0o755 });
    const asked = gw.approver.seen.length;
    const running = gw.ssh(agent, [`printf -v PATH ${bin}; ls`]);
    const first = await Promise.race([
      running.then(() => 'ran'),
      until(() => gw.approver.seen.length > asked).then(() => 'held'),
    ]);
    expect(first, `ran without review; the planted ls ran: ${existsSync(marker)}`).toBe('held');
    const held = await gw.approver.next();
    expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-unjudged');
    held.deny();
    expect((await running).code).toBe(126);
    expect(existsSync(marker)).toBe(false);
  });

  // bash runs `$(…)` held in a value it evaluates as arithmetic or as a name (subscripts are expanded
  // again). Each line builds that value where the text does not show it whole, or evaluates it where the
  // classifier did not count an evaluation; each was decided `read` and ran.
  it.each([
    ['pieces joined at run time', (m: string) => `x='a[$'; x+='(touch ${m})]'; echo $((x))`],
    ['made by printf', (m: string) => `x=$(printf 'a[\\44(touch ${m})]'); echo $((x))`],
    ['test -v', (m: string) => `test -v 'a[$(touch ${m})]'`],
    // set -k: assignment words anywhere go to the command's environment (git runs GIT_EXTERNAL_DIFF).
    [
      'set -k',
      (m: string) => `set -k; git diff --no-index /etc/hostname /etc/hosts GIT_EXTERNAL_DIFF='touch ${m}; :'`,
    ],
    // set -H with history: a later line is rewritten before it is parsed.
    ['history expansion', (m: string) => `set -o history -H\n: Q touch ${m} Q\n: !!:gs#Q#;#`],
  ])('holds a command hidden from the text (%s); refused, it never runs', async (label, line) => {
    const marker = path.join(sshd.work, `hidden-${label.replace(/\W+/g, '-')}`);
    const asked = gw.approver.seen.length;
    const running = gw.ssh(agent, [line(marker)]);
    const first = await Promise.race([
      running.then(() => 'ran'),
      until(() => gw.approver.seen.length > asked).then(() => 'held'),
    ]);
    expect(first, `ran without review; the hidden command ran: ${existsSync(marker)}`).toBe('held');
    const held = await gw.approver.next();
    expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-unjudged');
    held.deny();
    expect((await running).code).toBe(126);
    expect(existsSync(marker)).toBe(false);
  });

  // A read command whose words the rules did not judge: braces made options (class 163), a word made
  // at run time was one (163), an environment variable held options or a file to write (164), an awk
  // program ran a command (165), a read command's option wrote or ran (166). Each was allowed as a
  // read and the host wrote or ran what the line chose.
  const readLooking: [string, (m: string) => string, ((m: string) => boolean)?][] = [
    ['braces make find -delete', (m: string) => `find ${m} -{delete,true}`, (m: string) => !existsSync(m)],
    ['braces make sort -o', (m: string) => `sort {-o,${m}} <<< 'touch /tmp/x'`],
    ['braces make awk -f', (m: string) => `awk {-f,/dev/stdin} <<< 'BEGIN{system("touch ${m}")}'`],
    [
      'a computed --upload-pack',
      (m: string) => `git ls-remote $(echo '--upload-pack=touch\${IFS}${m};:') /nowhere`,
    ],
    ['GIT_TRACE names a file', (m: string) => `GIT_TRACE=${m} git version`],
    [
      'an exported TAR_OPTIONS',
      (m: string) =>
        `export TAR_OPTIONS='--checkpoint=1 --checkpoint-action=exec=touch\\ ${m}'; tar tf ${m}.tar`,
    ],
    ['awk division read as a regex', (m: string) => `awk 'BEGIN{x++ /1; system("touch ${m}"); x=x/1}'`],
    ['a gawk indirect call', (m: string) => `awk 'BEGIN{f="system"; @f("touch ${m}")}'`],
    [
      'less --lesskey-src sets LESSOPEN',
      (m: string) => `less --lesskey-src=/dev/stdin /etc/hostname <<< $'#env\\nLESSOPEN=|touch ${m}; cat %s'`,
    ],
    ['sdiff -o', (m: string) => `sdiff -o ${m} /dev/null /dev/null`],
    [
      'file -C',
      (m: string) => `cd ${m} && file -C -m /usr/share/misc/magic`,
      (m: string) => existsSync(`${m}/magic.mgc`),
    ],
  ];
  it.each(readLooking)(
    'holds or refuses a read command whose words write or run (%s); it never runs',
    async (label, line, effect) => {
      const marker = path.join(sshd.work, `words-${label.replace(/\W+/g, '-')}`);
      const st = statSync(sshd.work);
      if (label.startsWith('braces make find') || label === 'file -C') {
        mkdirSync(marker);
        chownSync(marker, st.uid, st.gid);
      }
      if (label.includes('TAR_OPTIONS')) {
        execFileSync('tar', ['cf', `${marker}.tar`, '-C', data, 'keep.txt']);
        chownSync(`${marker}.tar`, st.uid, st.gid);
      }
      const happened = effect ?? existsSync;
      const asked = gw.approver.seen.length;
      const running = gw.ssh(agent, ['--', line(marker)]);
      const first = await Promise.race([
        running.then(() => 'ran'),
        until(() => gw.approver.seen.length > asked).then(() => 'held'),
      ]);
      if (first === 'held') {
        const held = await gw.approver.next();
        expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-unjudged');
        held.deny();
      }
      // Held and refused, or refused outright (find -delete is destructive): exit 126, nothing done.
      const r = await running;
      expect(r.code, `${first}; the host did it: ${happened(marker)}`).toBe(126);
      expect(happened(marker)).toBe(false);
    },
  );

  it('does not pass an env value holding $ or a backquote: $((LC_X)) would run it', async () => {
    const marker = path.join(sshd.work, 'env-evaluated');
    const setEnv = `SetEnv=LC_X="a[$(touch ${marker})]"`;
    const r = await gw.ssh(agent, ['-o', setEnv, '--', 'printenv LC_X; echo done']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('done\n');
    expect(r.stderr).toMatch(/LC_X is not passed \(its value holds \$/);
    // Evaluating a variable the command does not set itself is held (class 51): its value comes from
    // the environment. Refused, it never runs.
    const running = gw.ssh(agent, ['-o', setEnv, '--', 'echo $((LC_X))']);
    const held = await gw.approver.next();
    expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-unjudged');
    held.deny();
    expect((await running).code).toBe(126);
    expect(existsSync(marker), 'the env value ran on the host').toBe(false);
    // A plain value still passes.
    const ok = await gw.ssh(agent, ['-o', 'SetEnv=LC_X=fr_FR.UTF-8', '--', 'printenv LC_X']);
    expect(ok.stdout).toBe('fr_FR.UTF-8\n');
  });

  it('a carriage return, form feed or vertical tab outside quotes is a word character to bash, not a blank (class 140)', async () => {
    // The grammar read `\f#` as a blank and a comment, so only `ls` was seen; bash reads `\f#` as a
    // word and runs the rm after it.
    for (const c of ['\f', '\v', '\r']) {
      const victim = path.join(sshd.work, 'blank-victim');
      writeFileSync(victim, 'precious\n');
      const st = statSync(sshd.work);
      chownSync(victim, st.uid, st.gid);
      const cmd = `ls ${c}#; rm -f ${victim}`;
      const asked = gw.approver.seen.length;
      const running = gw.ssh(agent, ['--', cmd]);
      const first = await Promise.race([
        running.then(() => 'ran'),
        until(() => gw.approver.seen.length > asked).then(() => 'held'),
      ]);
      expect(first, `${JSON.stringify(c)}: ran without review; the rm ran: ${!existsSync(victim)}`).toBe(
        'held',
      );
      const held = await gw.approver.next();
      expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-unjudged');
      held.deny();
      expect((await running).code).toBe(126);
      expect(existsSync(victim)).toBe(true);
    }
    // Inside quotes it is a character of the string, for bash and the grammar alike.
    const quoted = await gw.ssh(agent, ['--', "printf '%s' 'a\fb' | od -c | head -1"]);
    expect(quoted.code).toBe(0);
    expect(quoted.stdout).toContain('\\f');
  });

  it('holds what bash runs and the parse did not show: a $(…) in a ${…} operand, a here-document bash ends early, a function definition’s redirection (classes 160-162)', async () => {
    const victim = path.join(sshd.work, 'parse-victim');
    const st = statSync(sshd.work);
    for (const cmd of [
      `echo \${HOME#$(rm -f ${victim})}`,
      `cat <<EOF\n\\\nEOF\nrm -f ${victim}\nEOF`,
      `f() { echo gone; } > ${victim}; f`,
    ]) {
      writeFileSync(victim, 'precious\n');
      chownSync(victim, st.uid, st.gid);
      const asked = gw.approver.seen.length;
      const running = gw.ssh(agent, ['--', cmd]);
      const first = await Promise.race([
        running.then(() => 'ran'),
        until(() => gw.approver.seen.length > asked).then(() => 'held'),
      ]);
      expect(first, `${JSON.stringify(cmd)} ran without review`).toBe('held');
      const held = await gw.approver.next();
      expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-unjudged');
      held.deny();
      expect((await running).code).toBe(126);
      expect(existsSync(victim) ? readFileSync(victim, 'utf8') : 'removed').toBe('precious\n');
    }
  });

  it('holds a script piped into a shell for approval; refused, it never runs', async () => {
    const cmd = `echo ${Buffer.from(`rm -rf ${data}`).toString('base64')} | base64 -d | sh`;
    const running = gw.ssh(agent, [cmd]);
    const held = await gw.approver.next();
    expect(held.ctx.action.kind).toBe('ssh');
    expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-unjudged');
    held.deny();
    const r = await running;
    expect(r.code).toBe(126);
    expect(r.stderr).toMatch(/held for approval: held as req-\d+/);
    expect(existsSync(path.join(data, 'keep.txt'))).toBe(true);
  });

  it('runs a held write once a person approves it, and says on stderr that it waited', async () => {
    const target = path.join(sshd.work, 'approved.txt');
    const running = gw.ssh(agent, [`touch ${target}`]);
    const held = await gw.approver.next();
    expect(existsSync(target)).toBe(false);
    held.approve();
    const r = await running;
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/held for approval/);
    expect(existsSync(target)).toBe(true);
  });

  it('propagates exit codes, stdout, stderr and stdin', async () => {
    const r = await gw.ssh(agent, ['ls', path.join(sshd.work, 'nope')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/No such file/);
    const cat = await gw.ssh(agent, ['cat'], { input: 'from stdin\n' });
    expect(cat.code).toBe(0);
    expect(cat.stdout).toBe('from stdin\n');
  });

  it('refuses a forged token', async () => {
    const r = await gw.ssh(`${agent.slice(0, -4)}AAAA`, ['id']);
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/Permission denied/);
  });

  it('tells an authenticated principal without access to the connection why, on stderr', async () => {
    const other = await gw.token({ subject: 'nobody', agent: false, groups: [] });
    const r = await gw.ssh(other, ['id']);
    expect(r.code).toBe(255);
    expect(r.stderr).toMatch(/connection-access/);
  });

  it('keeps the held private key out of logs and records', async () => {
    const body = sshd.clientKey.privateKey.split('\n').slice(1, -2).join('');
    expect(body.length).toBeGreaterThan(20);
    expect(gw.logs.join('')).not.toContain(body);
    const all = await statements(gw, 'claude');
    expect(JSON.stringify(all)).not.toContain(body);
  });
});
