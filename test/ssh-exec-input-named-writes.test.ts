// A write program given no file on its command line was a read: `patch -p1 < x.diff` (or with the diff
// in a here-document) writes the files the diff names, and `split < f` writes xaa, xab… in the working
// directory. Now a write, and `unknown` where the input names the files (docs/security.md class 223).
// Real OpenSSH client → Gatehouse → real sshd, real patch and split on the host.

import { chownSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { hasCommand } from './testkit/commands.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { findSshStatement, startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';

describe.skipIf(!hasSshd() || !hasCommand('patch') || !hasCommand('split'))(
  'a write program whose input names what it writes (class 223)',
  { timeout: 120_000 },
  () => {
    let sshd: TestSshd;
    let gw: SshTestGateway;
    let agent: string;
    let dir: string;

    beforeAll(async () => {
      sshd = await startSshd();
      gw = await startSshTestGateway({ sshd, policies: defaultSshPolicies(['prod-bastion']) });
      agent = await gw.token({ subject: 'patch-agent', agent: true });
      dir = mkdtempSync(path.join(sshd.work, 'patched-'));
      const st = statSync(sshd.work);
      chownSync(dir, st.uid, st.gid);
    });

    afterAll(async () => {
      rmSync(dir, { recursive: true, force: true });
      await gw?.stop();
      await sshd?.stop();
    });

    it.each([
      [
        'patch -d DIR -p1 with a diff on its input',
        `patch -s -d DIR -p1 <<'EOF'\n--- /dev/null\n+++ b/created-by-patch\n@@ -0,0 +1 @@\n+hello\nEOF`,
        'created-by-patch',
      ],
      ['split with its input from a file', `cd DIR && split < /etc/hostname`, 'xaa'],
    ])('%s is held; refused, it writes nothing', async (_label, template, file) => {
      const command = template.replace('DIR', dir);
      const result = gw.ssh(agent, ['--', command], { timeoutMs: 60_000 });
      const held = await Promise.race([gw.approver.next(), result.then(() => undefined)]);
      const written = existsSync(path.join(dir, file));
      rmSync(path.join(dir, file), { force: true });
      if (held === undefined) throw new Error(`${command} was not held: it ran (wrote ${file}: ${written})`);
      held.deny();
      expect((await result).code).toBe(126);
      expect(existsSync(path.join(dir, file))).toBe(false);
      const st = await findSshStatement(gw, (s) => s.text === command, { withResult: false });
      expect(st.categories).toContain('write');
    });
  },
);
