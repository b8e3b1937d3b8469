// History expansion in an approved interactive shell: bash replaces `!!:1:t` with text of an earlier
// line before it reads a typed line, so a line decided as a read ran a command no line showed:
// `echo 'a/;touch f;#'` (a read) then `echo !!:1:t` (a read) ran `echo ;touch f;#'`. A typed line that
// history-expands is now `unknown` (held for agents) and a refused one does not run (docs/security.md
// class 198). Real OpenSSH client with a terminal → Gatehouse → real sshd and bash.

import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import {
  findSshStatement,
  interactive,
  startSshTestGateway,
  type SshTestGateway,
} from './testkit/ssh-gateway.js';

/** `text` echoed, then a new prompt (the line ran); the emulator may erase the rest of the line. */
const afterPrompt = (text: string): RegExp =>
  new RegExp(`${text}[\\s\\S]*\\$ (${String.fromCharCode(27)}\\[K)?$`);

describe.skipIf(!hasSshd())('history expansion in typed lines', { timeout: 120_000 }, () => {
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

  it.each([
    ['echo !!:1:t', 'hist-a'],
    ['ls !-1:1:t', 'hist-b'],
  ])('%s after a read holding a command is held, and refused runs nothing', async (second, name) => {
    const mark = path.join(sshd.home, name);
    rmSync(mark, { force: true });
    const agent = await gw.token({ subject: `history-${name}`, agent: true });
    const sh = interactive(gw, agent);
    (await gw.approver.next()).approve(); // the shell itself
    await sh.waitFor(/\$ $/m);
    sh.type(`echo 'a/;touch ${name};#'\r`);
    await sh.waitFor(new RegExp(`a/;touch ${name};#\\r?\\n`));
    await findSshStatement(gw, (s) => s.via === 'ssh-shell' && s.text === `echo 'a/;touch ${name};#'`);
    sh.type(`${second}\r`);
    const held = await Promise.race([
      gw.approver.next(),
      sh.waitFor(/\$ $/m, 20_000).then(() => undefined), // the next prompt: the line ran
    ]);
    expect(existsSync(mark), 'bash ran the command the history expansion made').toBe(false);
    if (held === undefined) throw new Error(`${second} was not held: ${sh.output().slice(-300)}`);
    expect(held.ctx.action.kind).toBe('ssh');
    expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-unjudged');
    held.deny();
    expect(await sh.exited).toBe(255);
    expect(existsSync(mark), 'bash ran the command the history expansion made').toBe(false);
    const line = await findSshStatement(gw, (s) => s.via === 'ssh-shell' && s.text === second, {
      withResult: false,
    });
    expect(line.effect).not.toBe('allow');
  });

  // Class 199: with comments turned off, `echo hi # ; touch f` runs touch; the line that turns them
  // off is what is held now (the later line alone is a read).
  it('set +o interactive-comments is held, and refused, the later line runs nothing', async () => {
    const name = 'comments-off';
    const mark = path.join(sshd.home, name);
    rmSync(mark, { force: true });
    const agent = await gw.token({ subject: 'comments-agent', agent: true });
    const sh = interactive(gw, agent);
    (await gw.approver.next()).approve();
    await sh.waitFor(/\$ $/m);
    sh.type('set +o interactive-comments\r');
    const held = await Promise.race([
      gw.approver.next(),
      // The line's echo and then a new prompt: it ran.
      sh.waitFor(afterPrompt('interactive-comments'), 20_000).then(() => undefined),
    ]);
    if (held === undefined) {
      sh.type(`echo hi # ; touch ${name}\r`);
      await sh.waitFor(afterPrompt('touch comments-off'), 20_000);
      expect(existsSync(mark), 'bash ran what followed the #').toBe(false);
      throw new Error('set +o interactive-comments was not held');
    }
    expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-unjudged');
    held.deny();
    expect(await sh.exited).toBe(255);
    expect(existsSync(mark)).toBe(false);
  });
});
