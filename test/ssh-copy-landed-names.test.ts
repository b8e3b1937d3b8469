// `cp SRC DIR/` writes `DIR/NAME`, NAME the source's own last name; `mv`, `ln`, `install` and rsync
// do the same. Only DIR was judged, so `cp /tmp/x/.bash_completion ~/` (a start-up file every
// interactive shell sources) or `mv /tmp/x/.kube ~` (a kubeconfig whose exec command `kubectl get`
// runs) were ordinary writes, held for review as one, where writing the same file by its full name is
// refused as privilege (docs/security.md classes 93, 333, 378).
// Real OpenSSH client → Gatehouse → real sshd.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';

describe.skipIf(!hasSshd())(
  'a copy into a directory, judged under the name it lands as',
  { timeout: 120_000 },
  () => {
    let sshd: TestSshd;
    let gw: SshTestGateway;
    let agent: string;

    beforeAll(async () => {
      sshd = await startSshd();
      gw = await startSshTestGateway({ sshd, policies: defaultSshPolicies(['prod-bastion']) });
      agent = await gw.token({ subject: 'landed-names-agent', agent: true });
      sshd.put('src/.bash_completion', 'touch /tmp/never\n');
      sshd.put('src/.kube/config', 'users: []\n');
      sshd.put('src/notes.txt', 'notes\n');
    });

    afterAll(async () => {
      await gw?.stop();
      await sshd?.stop();
    });

    // First: a refusal below leaves the approver's wait behind.
    it('a file of another name copied into a directory stays a write, held for review', async () => {
      const result = gw.ssh(agent, ['--', `cp ${sshd.work}/src/notes.txt ${sshd.work}/`], {
        timeoutMs: 30_000,
      });
      const held = await gw.approver.next();
      expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-unjudged');
      held.deny();
      await result;
    });

    it.each([
      ['cp FILE ~/', (w: string) => `cp ${w}/src/.bash_completion ~/`, '.bash_completion'],
      ['cp -t ~ FILE', (w: string) => `cp -t ~ ${w}/src/.bash_completion`, '.bash_completion'],
      ['cp -r DIR ~', (w: string) => `cp -r ${w}/src/.kube ~`, '.kube'],
      ['mv DIR ~/', (w: string) => `mv ${w}/src/.kube ~/`, '.kube'],
      ['ln -s DIR ~/', (w: string) => `ln -s ${w}/src/.kube ~/`, '.kube'],
      ['install FILE HOME', (w: string) => `install -m 644 ${w}/src/.bash_completion ~/`, '.bash_completion'],
      ['rsync -a DIR ~/', (w: string) => `rsync -a ${w}/src/.kube ~/`, '.kube'],
    ])('%s is refused as privilege; nothing lands', async (what, line, landed) => {
      const target = path.join(sshd.home, landed);
      const before = existsSync(target);
      const result = gw.ssh(agent, ['--', line(sshd.work)], { timeoutMs: 30_000 });
      const held = await Promise.race([gw.approver.next(), result.then(() => undefined)]);
      if (held !== undefined) {
        held.deny();
        await result;
        throw new Error(`${what} was held by ${held.ctx.decision.ruleId}, not refused as privilege`);
      }
      const r = await result;
      expect(r.code).toBe(126);
      expect(r.stderr).toMatch(/refused by rule ssh-agents-no-privilege/);
      if (!before) expect(existsSync(target), `~/${landed} was written`).toBe(false);
      expect(existsSync(path.join(sshd.work, 'src', '.kube', 'config')), 'the source stayed').toBe(true);
    });
  },
);
