// A repository's git directory names programs git runs on later commands, reads included: `git status`
// runs core.fsmonitor. Class 53 made a write to `.git/config` or `.git/hooks/…` privilege, but the git
// directory could be written whole — a `.git` directory moved or copied in with its config, a `gitdir:`
// file sending git to a directory the writer made, `git init --template=DIR` copying DIR's config and
// hooks — each an ordinary write, held for review as one; after it, `git status` (a read, allowed for
// agents) ran the writer's program (docs/security.md class 377).
// Real OpenSSH client → Gatehouse → real sshd; real git for what the git directory runs.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { classifyShellCommand } from '../src/shell/index.js';
import { hasCommand } from './testkit/commands.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';

function git(cwd: string, ...args: string[]): void {
  const r = spawnSync('git', args, {
    cwd,
    stdio: 'ignore',
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1' },
  });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed`);
}

/** A git config whose fsmonitor hook touches `canary`. */
function fsmonitorConfig(canary: string): string {
  return `[core]\n\trepositoryformatversion = 0\n\tbare = false\n\tfsmonitor = "touch ${canary}; false"\n`;
}

describe.skipIf(!hasCommand('git'))('a git directory written whole (real git)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'gatehouse-gitdir-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function statusRuns(worktree: string, canary: string): void {
    expect(classifyShellCommand({ line: `cd ${worktree} && git status` }).categories).toEqual(['read']);
    spawnSync('git', ['status'], { cwd: worktree, stdio: 'ignore' });
    expect(existsSync(canary), 'git status ran the fsmonitor the written git directory names').toBe(true);
  }

  it('git status runs the fsmonitor of a .git directory moved in whole', () => {
    const canary = path.join(dir, 'moved');
    git(dir, 'init', '-q', 'prep');
    writeFileSync(path.join(dir, 'prep', '.git', 'config'), fsmonitorConfig(canary));
    mkdirSync(path.join(dir, 'w'));
    spawnSync('mv', [path.join(dir, 'prep', '.git'), path.join(dir, 'w', '.git')]);
    statusRuns(path.join(dir, 'w'), canary);
  });

  it('git status runs the fsmonitor of the directory a written `gitdir:` file names', () => {
    const canary = path.join(dir, 'gitdir');
    git(dir, 'init', '-q', '--bare', 'elsewhere');
    writeFileSync(path.join(dir, 'elsewhere', 'config'), fsmonitorConfig(canary));
    mkdirSync(path.join(dir, 'w2'));
    writeFileSync(path.join(dir, 'w2', '.git'), `gitdir: ${path.join(dir, 'elsewhere')}\n`);
    statusRuns(path.join(dir, 'w2'), canary);
  });

  it('git status runs the fsmonitor of a config `git init --template` copied', () => {
    const canary = path.join(dir, 'template');
    mkdirSync(path.join(dir, 'tpl'));
    writeFileSync(path.join(dir, 'tpl', 'config'), fsmonitorConfig(canary));
    git(dir, 'init', '-q', `--template=${path.join(dir, 'tpl')}`, 'w3');
    statusRuns(path.join(dir, 'w3'), canary);
  });
});

describe.skipIf(!hasSshd())('writes of a whole git directory over ssh', { timeout: 120_000 }, () => {
  let sshd: TestSshd;
  let gw: SshTestGateway;
  let agent: string;

  beforeAll(async () => {
    sshd = await startSshd();
    gw = await startSshTestGateway({ sshd, policies: defaultSshPolicies(['prod-bastion']) });
    agent = await gw.token({ subject: 'git-directory-agent', agent: true });
  });

  afterAll(async () => {
    await gw?.stop();
    await sshd?.stop();
  });

  // First: a refusal below leaves the approver's wait behind.
  it('an ordinary write stays a write, held for review', async () => {
    const result = gw.ssh(agent, ['--', `echo notes > ${sshd.work}/notes.txt`], {
      timeoutMs: 30_000,
    });
    const held = await gw.approver.next();
    expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-unjudged');
    held.deny();
    await result;
  });

  it.each([
    ['a .git directory moved in', (w: string) => `mv ${w}/prep/.git ${w}/repo/.git`, 'repo/.git'],
    ['a .git directory copied in', (w: string) => `cp -r ${w}/prep/.git ${w}/repo2/.git`, 'repo2/.git'],
    [
      'a gitdir: file',
      (w: string) => `mkdir -p ${w}/repo3 && echo 'gitdir: ${w}/elsewhere' > ${w}/repo3/.git`,
      'repo3/.git',
    ],
    [
      'a link named .git',
      (w: string) => `mkdir -p ${w}/repo4 && ln -s ${w}/elsewhere ${w}/repo4/.git`,
      'repo4/.git',
    ],
    ['git init --template', (w: string) => `git init -q --template=${w}/tpl ${w}/repo5`, 'repo5'],
    ['git clone --template', (w: string) => `git clone -q --template ${w}/tpl ${w}/src ${w}/repo6`, 'repo6'],
  ])('%s is refused as privilege; nothing is written', async (what, line, made) => {
    // A git directory whose config runs a program, and empty work trees, made by the test user.
    sshd.put('prep/.git/config', fsmonitorConfig(path.join(sshd.work, 'ran')));
    sshd.put('tpl/config', fsmonitorConfig(path.join(sshd.work, 'ran')));
    sshd.put('repo/README', 'r\n');
    sshd.put('repo2/README', 'r\n');
    const command = line(sshd.work);
    const target = path.join(sshd.work, made);
    const result = gw.ssh(agent, ['--', command], { timeoutMs: 30_000 });
    const held = await Promise.race([gw.approver.next(), result.then(() => undefined)]);
    if (held !== undefined) {
      held.deny();
      await result;
      throw new Error(`${what} was held by ${held.ctx.decision.ruleId}, not refused as privilege`);
    }
    const r = await result;
    expect(r.code).toBe(126);
    expect(r.stderr).toMatch(/refused by rule ssh-agents-no-privilege/);
    expect(existsSync(target), `${made} was written`).toBe(false);
  });
});
