// A value in a triple-quoted string (TOML's and Python's `"""…"""` or `'''…'''`) after a sensitive
// name: the masking read the string as the empty `""` it begins with, masked that, and showed the
// value after it (`password = [REDACTED:password]"marigold-anvil-5531"""`). It is now read to its
// closing three quotes (docs/security.md class 334). Real OpenSSH client → Gatehouse (default agent
// policy, masked) → real sshd, `cat` on the host.

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';

const PASSWORD = 'marigold-anvil-5531';
const TOKEN = 'obsidian-ferry-2208';

describe.skipIf(!hasSshd())(
  'ssh output: a triple-quoted value after a sensitive name',
  { timeout: 120_000 },
  () => {
    let sshd: TestSshd;
    let gw: SshTestGateway;
    let masked: string;
    let dir: string;

    beforeAll(async () => {
      sshd = await startSshd();
      gw = await startSshTestGateway({
        sshd,
        policies: defaultSshPolicies(['prod-bastion'], { mask: true }),
      });
      masked = await gw.token({ subject: 'masked-agent', agent: true });
      dir = path.join(sshd.work, 'triple');
      sshd.put(
        'triple/app.toml',
        `[db]\nuser = "app"\npassword = """${PASSWORD}"""\napi_token = '''${TOKEN}'''\n`,
      );
      sshd.put('triple/settings.py', `DB_PASSWORD = """\n${PASSWORD}\n"""\nDEBUG = False\n`);
    });

    afterAll(async () => {
      await gw?.stop();
      await sshd?.stop();
    });

    it.each(['app.toml', 'settings.py'])('cat %s shows the names, masks the values', async (file) => {
      const r = await gw.ssh(masked, ['--', `cat ${path.join(dir, file)}`], { timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/PASSWORD|password/);
      expect(r.stdout, file).not.toContain(PASSWORD);
      expect(r.stdout, file).not.toContain(TOKEN);
    });

    it('leaves the values of names that are not sensitive', async () => {
      const r = await gw.ssh(masked, ['--', `cat ${dir}/app.toml ${dir}/settings.py`], { timeoutMs: 60_000 });
      expect(r.stdout).toContain('user = "app"');
      expect(r.stdout).toContain('DEBUG = False');
    });
  },
);
