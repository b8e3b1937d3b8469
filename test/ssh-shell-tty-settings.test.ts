// The shell-line gate reads typed keys as readline does on a terminal with the usual settings: CR
// ends a line, Ctrl-U/W/V/C are what they always are, printable keys are text. `stty` with settings
// was a read ("the shell gate follows what is typed either way"), yet a setting can make the host's
// terminal read the same bytes otherwise: after `stty igncr` the tty drops every CR, so `echo a` CR
// was decided (a read) while bash kept the text, and `# ; touch F` then LF — decided as a comment —
// ran as `echo a# ; touch F` (docs/security.md class 403). Real OpenSSH client (`ssh -tt`) →
// Gatehouse → real sshd, bash with readline.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { hasSshd, startSshd } from './testkit/sshd.js';
import { findSshStatement, interactive, startSshTestGateway } from './testkit/ssh-gateway.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!hasSshd())('terminal settings changed from the shell', { timeout: 120_000 }, () => {
  it('stty igncr is held: a line decided at CR does not stay in bash to run with the next one', async () => {
    const sshd = await startSshd();
    const gw = await startSshTestGateway({ sshd, policies: defaultSshPolicies(['prod-bastion']) });
    try {
      const agent = await gw.token({ subject: 'igncr-agent', agent: true });
      const sh = interactive(gw, agent);
      (await gw.approver.next()).approve(); // the shell itself
      await sh.waitFor(/\$ $/m);
      const mark = path.join(sshd.work, 'igncr-made');
      sh.type('stty igncr\r');
      const held = await Promise.race([gw.approver.next(), sleep(4_000).then(() => undefined)]);
      if (held !== undefined) {
        expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-unjudged');
        expect((held.ctx.action as { command?: string }).command).toBe('stty igncr');
        held.deny();
        expect(await sh.exited).toBe(255);
        return;
      }
      await sleep(1_000);
      sh.type('echo a\r'); // decided as `echo a`; the tty drops the CR
      await sleep(1_500);
      sh.type(`# ; touch ${mark}\n`); // decided as a comment; bash runs `echo a# ; touch …`
      await sleep(2_000);
      const st = await findSshStatement(gw, (s) => s.via === 'ssh-shell' && s.text.includes('stty'), {
        withResult: false,
      });
      throw new Error(
        `stty igncr was decided ${st.effect}; a line no decision showed ran the touch: ${existsSync(mark)}`,
      );
    } finally {
      await gw.stop();
      await sshd.stop();
    }
  });

  it('stty that rebinds a key readline reads (lnext, werase, kill) is held', async () => {
    const sshd = await startSshd();
    const gw = await startSshTestGateway({ sshd, policies: defaultSshPolicies(['prod-bastion']) });
    try {
      const agent = await gw.token({ subject: 'rebind-agent', agent: true });
      const sh = interactive(gw, agent);
      (await gw.approver.next()).approve();
      await sh.waitFor(/\$ $/m);
      sh.type('stty lnext q werase x\r');
      const held = await Promise.race([gw.approver.next(), sleep(4_000).then(() => undefined)]);
      if (held === undefined) {
        const st = await findSshStatement(gw, (s) => s.via === 'ssh-shell' && s.text.includes('stty'), {
          withResult: false,
        });
        throw new Error(`stty lnext q werase x was decided ${st.effect} (${st.text})`);
      }
      expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-unjudged');
      held.deny();
      expect(await sh.exited).toBe(255);
    } finally {
      await gw.stop();
      await sshd.stop();
    }
  });

  it('stty -echo and stty size stay reads', async () => {
    const sshd = await startSshd();
    const gw = await startSshTestGateway({ sshd, policies: defaultSshPolicies(['prod-bastion']) });
    try {
      const agent = await gw.token({ subject: 'stty-read-agent', agent: true });
      const sh = interactive(gw, agent);
      (await gw.approver.next()).approve();
      await sh.waitFor(/\$ $/m);
      sh.type('stty size; stty -echo; stty echo; echo done-$((40+2))\r');
      await sh.waitFor(/done-42/);
      const st = await findSshStatement(gw, (s) => s.via === 'ssh-shell' && s.text.includes('done-'));
      expect(st.effect).toBe('allow');
      sh.child.kill();
    } finally {
      await gw.stop();
      await sshd.stop();
    }
  });
});
