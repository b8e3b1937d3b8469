// A value in a triple-quoted string (TOML's and Python's `"""…"""` or `'''…'''`) after a sensitive
// name: the masking read the string as the empty `""` it begins with, masked that, and showed the
// value after it (`password = [REDACTED:password]"marigold-anvil-5531"""`). It is now read to its
// closing three quotes (docs/security.md class 334). Real OpenSSH client → Gatehouse (default agent
// policy, masked) → real sshd, `cat` on the host.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { maskedSshHost } from './testkit/ssh-masked-host.js';
import { hasSshd } from './testkit/sshd.js';

const PASSWORD = 'marigold-anvil-5531';
const TOKEN = 'obsidian-ferry-2208';

describe.skipIf(!hasSshd())(
  'ssh output: a triple-quoted value after a sensitive name',
  { timeout: 120_000 },
  () => {
    const host = maskedSshHost('triple', {
      'app.toml': `[db]\nuser = "app"\npassword = """${PASSWORD}"""\napi_token = '''${TOKEN}'''\n`,
      'settings.py': `DB_PASSWORD = """\n${PASSWORD}\n"""\nDEBUG = False\n`,
    });

    it.each(['app.toml', 'settings.py'])('cat %s shows the names, masks the values', async (file) => {
      const r = await host.run(`cat ${path.join(host.dir, file)}`);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/PASSWORD|password/);
      expect(r.stdout, file).not.toContain(PASSWORD);
      expect(r.stdout, file).not.toContain(TOKEN);
    });

    it('leaves the values of names that are not sensitive', async () => {
      const r = await host.run(`cat ${host.dir}/app.toml ${host.dir}/settings.py`);
      expect(r.stdout).toContain('user = "app"');
      expect(r.stdout).toContain('DEBUG = False');
    });
  },
);
