// A table drawn with `|` whose rows pair a name with its value — psql's aligned output of
// `select name, value from settings`, a MySQL box of `show variables` — showed ` db_password | …` to a
// masked principal in clear: terminal output reads no table headers, and no reader took a cell for a
// name. A row's cell that is a sensitive name now has the next cell masked (docs/security.md class
// 336). Real OpenSSH client → Gatehouse (default agent policy, masked) → real sshd, `cat` on the host.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { maskedSshHost } from './testkit/ssh-masked-host.js';
import { hasSshd } from './testkit/sshd.js';

const PASSWORD = 'marigold-anvil-5531';
const TOKEN = 'obsidian-ferry-2208';

describe.skipIf(!hasSshd())(
  'ssh output: a table row pairing a secret’s name with its value',
  { timeout: 120_000 },
  () => {
    const host = maskedSshHost('rows', {
      'psql.txt': `    name     |        value\n-------------+---------------------\n log_level   | info\n db_password | ${PASSWORD}\n api_token   | ${TOKEN}\n(3 rows)\n`,
      'mysql.txt': `+---------------+---------------------+\n| Variable_name | Value               |\n+---------------+---------------------+\n| port          | 3306                |\n| password      | ${PASSWORD} |\n+---------------+---------------------+\n`,
    });

    it.each(['psql.txt', 'mysql.txt'])('cat %s shows the names, masks the values', async (file) => {
      const r = await host.run(`cat ${path.join(host.dir, file)}`);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/password/);
      expect(r.stdout, file).not.toContain(PASSWORD);
      expect(r.stdout, file).not.toContain(TOKEN);
    });

    it('leaves the values of names that are not sensitive', async () => {
      const r = await host.run(`cat ${host.dir}/psql.txt ${host.dir}/mysql.txt`);
      expect(r.stdout).toMatch(/log_level\s+\| info/);
      expect(r.stdout).toMatch(/port\s+\| 3306/);
    });
  },
);
