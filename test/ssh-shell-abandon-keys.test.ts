// On a terminal, the shell-line gate took Ctrl-C, Ctrl-D, Ctrl-U and Ctrl-G as abandoning the line
// being typed, and began the next line where the cursor was after them. readline does not always drop
// the text: Ctrl-D on a line with text deletes the character under the cursor (at its end, nothing),
// Ctrl-G only rings the bell. So `touch F; ` Ctrl-D `ls /` Enter was decided as `ls /` (a read,
// allowed for agents) and bash ran `touch F; ls /` (docs/security.md class 380). Now, once text was
// typed on a line, such a key keeps the line's start, and the next line is decided from there as
// `unknown`. Real OpenSSH client (`ssh -tt`) → Gatehouse → real sshd, bash with readline.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { hasSshd, startSshd } from './testkit/sshd.js';
import { findSshStatement, interactive, startSshTestGateway } from './testkit/ssh-gateway.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!hasSshd())('keys the gate took as abandoning a line', { timeout: 120_000 }, () => {
  it.each([
    ['Ctrl-D', '\x04'],
    ['Ctrl-G', '\x07'],
  ])('%s after text: the next line is decided with that text, not alone', async (name, key) => {
    // Its own gateway: a case that fails leaves an approver's wait behind.
    const sshd = await startSshd();
    const gw = await startSshTestGateway({ sshd, policies: defaultSshPolicies(['prod-bastion']) });
    try {
      const agent = await gw.token({ subject: 'abandon-agent', agent: true });
      const sh = interactive(gw, agent);
      (await gw.approver.next()).approve(); // the shell itself
      await sh.waitFor(/\$ $/m);
      const mark = path.join(sshd.work, 'kept');
      sh.type(`touch ${mark}; `);
      await sleep(400);
      sh.type(key);
      await sleep(400);
      sh.type('ls /\r');
      const held = await Promise.race([gw.approver.next(), sleep(8_000).then(() => undefined)]);
      if (held === undefined) {
        const st = await findSshStatement(gw, (s) => s.via === 'ssh-shell' && s.text.includes('ls /'), {
          withResult: false,
        });
        throw new Error(
          `${name}: the line was decided as ${JSON.stringify(st.text)} (${st.effect}), and the touch ran: ${existsSync(mark)}`,
        );
      }
      expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-unjudged');
      const command = (held.ctx.action as { command?: string }).command ?? '';
      expect(command).toContain(`touch ${mark}`);
      expect(command).toContain('ls /');
      held.deny();
      expect(await sh.exited).toBe(255);
      expect(existsSync(mark), 'the touch ran').toBe(false);
    } finally {
      await gw.stop();
      await sshd.stop();
    }
  });

  it('Ctrl-C on an empty line, or after a command, still starts the next line afresh', async () => {
    const sshd = await startSshd();
    const gw = await startSshTestGateway({ sshd, policies: defaultSshPolicies(['prod-bastion']) });
    try {
      const agent = await gw.token({ subject: 'abandon-agent-2', agent: true });
      const sh = interactive(gw, agent);
      (await gw.approver.next()).approve();
      await sh.waitFor(/\$ $/m);
      sh.type('\x03');
      await sleep(400);
      sh.type('echo fresh-$((40+2))\r');
      await sh.waitFor(/fresh-42/);
      const st = await findSshStatement(gw, (s) => s.via === 'ssh-shell' && s.text.includes('fresh-'));
      expect(st.text).toBe('echo fresh-$((40+2))');
      expect(st.effect).toBe('allow');
      sh.child.kill();
    } finally {
      await gw.stop();
      await sshd.stop();
    }
  });
});
