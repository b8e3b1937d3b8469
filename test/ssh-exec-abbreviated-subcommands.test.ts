// iproute2 resolves an abbreviated verb by each object's own order of verbs, and single-dash long
// options by prefix: `ip l s dev X down` is `ip link set dev X down` (set comes before show for links),
// and `ip -n NS l s …` sets a link in another namespace. Gatehouse read `s`, `l` and `sh` as show and
// `-n NS` as flags, so the line was allowed as a read and ran on the host (docs/security.md class 284).
// Real OpenSSH client → Gatehouse → real sshd, real `ip` on the host. The device named does not exist:
// the host's answer ("Cannot find device") shows which verb ip ran, and nothing changes.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { hasCommand } from './testkit/commands.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
}

describe.skipIf(!hasSshd() || !hasCommand('ip'))(
  'ip: an abbreviated verb or option is resolved by iproute2, not read as show (class 284)',
  { timeout: 120_000 },
  () => {
    let sshd: TestSshd;
    let gw: SshTestGateway;
    let agent: string;

    beforeAll(async () => {
      sshd = await startSshd();
      gw = await startSshTestGateway({ sshd, policies: defaultSshPolicies(['prod-bastion']) });
      agent = await gw.token({ subject: 'ip-agent', agent: true });
    });

    afterAll(async () => {
      await gw?.stop();
      await sshd?.stop();
    });

    it.each([
      ['ip l s dev gh-absent0 down', 'refused'],
      ['ip link s dev gh-absent0 down', 'refused'],
      ['ip li s dev gh-absent0 mtu 1400', 'held'],
      ['ip -n gh-absent-ns l s dev gh-absent0 mtu 1400', 'held'],
      ['ip -4 l s dev gh-absent0 mtu 1400', 'held'],
    ])('%s is %s and never runs', async (command, how) => {
      const asked = gw.approver.seen.length;
      const running = gw.ssh(agent, ['--', command]);
      const first = await Promise.race([
        running.then((r) => (r.code === 126 ? 'refused' : `ran: ${r.stderr.trim()}`)),
        until(() => gw.approver.seen.length > asked).then(() => 'held'),
      ]);
      expect(first, `${command} ran without review`).toBe(how);
      if (first === 'held') {
        const held = await gw.approver.next();
        expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-unjudged');
        held.deny();
      }
      const r = await running;
      expect(r.code).toBe(126);
      expect(r.stderr).not.toMatch(/Cannot find device|Cannot open network namespace|RTNETLINK/);
    });

    it.each(['ip link show lo', 'ip addr show dev lo', 'ip -4 addr show lo', 'ip route list'])(
      '%s stays a read',
      async (command) => {
        const r = await gw.ssh(agent, ['--', command]);
        expect(r.code, r.stderr).toBe(0);
      },
    );
  },
);
