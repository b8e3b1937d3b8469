// A read run on a terminal that `script -c` makes reads its keys from the exec's input: with input
// `!touch f` and `q`, `script -qc 'less /etc/hostname' /dev/null` — allowed as a read — ran touch
// through less's shell escape, and `man ls` did the same through its pager. Such an exec is now
// `unknown`: held for agents, and refused it runs nothing (docs/security.md class 200). Real OpenSSH
// client, no terminal, → Gatehouse (default agent policy) → real sshd.

import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { findSshStatement, startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';

describe.skipIf(!hasSshd())('a read given a terminal by script', { timeout: 120_000 }, () => {
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
    ["script -qc 'less /etc/hostname' /dev/null", 'pager-less'],
    ["script -qc 'man ls' /dev/null", 'pager-man'],
  ])('%s with keys on its input is held, and refused runs nothing', async (command, name) => {
    const mark = path.join(sshd.work, name);
    rmSync(mark, { force: true });
    const agent = await gw.token({ subject: `pty-${name}`, agent: true });
    const result = gw.ssh(agent, ['--', command], { input: `!touch ${mark}\nq\n`, timeoutMs: 30_000 });
    const held = await Promise.race([gw.approver.next(), result.then(() => undefined)]);
    if (held === undefined) {
      expect(existsSync(mark), 'the pager ran the command typed on its input').toBe(false);
      throw new Error(`${command} was not held: it ran`);
    }
    expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-unjudged');
    held.deny();
    const r = await result;
    expect(r.code).toBe(126);
    expect(existsSync(mark)).toBe(false);
    const st = await findSshStatement(gw, (s) => s.text === command, { withResult: false });
    expect(st.categories).toContain('unknown');
  });
});
