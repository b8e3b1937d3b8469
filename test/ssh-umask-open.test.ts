// `umask 000` read as harmless: it was allowed for agents without review, and every file the shell
// made after it — on that line, or in an interactive shell on later lines decided without it — was
// writable by every account on the host (docs/security.md class 381; class 331 left it). A mask that
// leaves others' write bit open, a symbolic one, or one made at run time is now a write.
// Real OpenSSH client → Gatehouse (default agent policy) → real sshd.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!hasSshd())('umask over ssh', { timeout: 120_000 }, () => {
  let sshd: TestSshd;
  let gw: SshTestGateway;
  let agent: string;

  beforeAll(async () => {
    sshd = await startSshd();
    gw = await startSshTestGateway({ sshd, policies: defaultSshPolicies(['prod-bastion']) });
    agent = await gw.token({ subject: 'umask-agent', agent: true });
  });

  afterAll(async () => {
    await gw?.stop();
    await sshd?.stop();
  });

  it('printing the mask, or closing it, stays a read', async () => {
    const r = await gw.ssh(agent, ['--', 'umask 077; umask'], { timeoutMs: 30_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('0077');
  });

  it.each(['umask 000', 'umask 0', 'umask u=rwx,g=rwx,o=rwx'])(
    '%s is held for review as a write',
    async (line) => {
      const result = gw.ssh(agent, ['--', `${line}; umask`], { timeoutMs: 30_000 });
      const held = await Promise.race([gw.approver.next(), sleep(8_000).then(() => undefined)]);
      if (held === undefined) {
        const r = await result;
        throw new Error(`${line} ran without review (exit ${r.code}, mask ${r.stdout.trim()})`);
      }
      expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-unjudged');
      held.deny();
      const r = await result;
      expect(r.code).toBe(126);
    },
  );
});
