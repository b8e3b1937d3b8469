// A table drawn with `|` whose rows pair a name with its value — psql's aligned output of
// `select name, value from settings`, a MySQL box of `show variables` — showed ` db_password | …` to a
// masked principal in clear: terminal output reads no table headers, and no reader took a cell for a
// name. A row's cell that is a sensitive name now has the next cell masked (docs/security.md class
// 336). Real OpenSSH client → Gatehouse (default agent policy, masked) → real sshd, `cat` on the host.

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';

const PASSWORD = 'marigold-anvil-5531';
const TOKEN = 'obsidian-ferry-2208';

describe.skipIf(!hasSshd())(
  'ssh output: a table row pairing a secret’s name with its value',
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
      dir = path.join(sshd.work, 'rows');
      sshd.put(
        'rows/psql.txt',
        `    name     |        value\n-------------+---------------------\n log_level   | info\n db_password | ${PASSWORD}\n api_token   | ${TOKEN}\n(3 rows)\n`,
      );
      sshd.put(
        'rows/mysql.txt',
        `+---------------+---------------------+\n| Variable_name | Value               |\n+---------------+---------------------+\n| port          | 3306                |\n| password      | ${PASSWORD} |\n+---------------+---------------------+\n`,
      );
    });

    afterAll(async () => {
      await gw?.stop();
      await sshd?.stop();
    });

    it.each(['psql.txt', 'mysql.txt'])('cat %s shows the names, masks the values', async (file) => {
      const r = await gw.ssh(masked, ['--', `cat ${path.join(dir, file)}`], { timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/password/);
      expect(r.stdout, file).not.toContain(PASSWORD);
      expect(r.stdout, file).not.toContain(TOKEN);
    });

    it('leaves the values of names that are not sensitive', async () => {
      const r = await gw.ssh(masked, ['--', `cat ${dir}/psql.txt ${dir}/mysql.txt`], { timeoutMs: 60_000 });
      expect(r.stdout).toMatch(/log_level\s+\| info/);
      expect(r.stdout).toMatch(/port\s+\| 3306/);
    });
  },
);
