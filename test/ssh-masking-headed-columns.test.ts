// Terminal output read no table headers: a CSV, TSV, psql, MySQL or sqlite3 table whose header row
// names a `password` column showed the values below it to a masked principal in clear (`cat
// users.csv`, `sqlite3 -header -csv app.db 'select * from users'`), where the same table in an HTTP
// answer was masked (class 152). A line naming a sensitive column is now read as a header wherever it
// is in the stream, and the cells under that column in the rows after it are masked, the header
// carried from one write to the next (docs/security.md class 379).
// Real OpenSSH client → Gatehouse (default agent policy, masked) → real sshd; `cat` and real sqlite3
// on the host.

import { spawnSync } from 'node:child_process';
import { chownSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { hasCommand } from './testkit/commands.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';

const PASSWORD = 'marigold-anvil-5531';
const OTHER = 'quartz-lantern-0417';

describe.skipIf(!hasSshd())('ssh output: values under a header naming a secret', { timeout: 120_000 }, () => {
  let sshd: TestSshd;
  let gw: SshTestGateway;
  let masked: string;
  let dir: string;

  beforeAll(async () => {
    sshd = await startSshd();
    gw = await startSshTestGateway({ sshd, policies: defaultSshPolicies(['prod-bastion'], { mask: true }) });
    masked = await gw.token({ subject: 'masked-agent', agent: true });
    dir = path.join(sshd.work, 'tables');
    sshd.put(
      'tables/users.csv',
      `id,email,password\n1,ann@example.com,${PASSWORD}\n2,bob@example.com,"${OTHER},x"\n`,
    );
    sshd.put('tables/users.tsv', `id\temail\tpassword\n1\tann@example.com\t${PASSWORD}\n`);
    sshd.put(
      'tables/psql.txt',
      ` id |      email      |      password\n----+-----------------+---------------------\n  1 | ann@example.com | ${PASSWORD}\n(1 row)\n`,
    );
    if (hasCommand('sqlite3')) {
      const db = path.join(dir, 'app.db');
      spawnSync('sqlite3', [
        db,
        `create table users(id integer, email text, password text); insert into users values (1, 'ann@example.com', '${PASSWORD}'), (2, 'bob@example.com', '${OTHER}');`,
      ]);
      const owner = statSync(dir);
      chownSync(db, owner.uid, owner.gid);
    }
  });

  afterAll(async () => {
    await gw?.stop();
    await sshd?.stop();
  });

  it.each(['users.csv', 'users.tsv', 'psql.txt'])(
    'cat %s shows the header and masks the column',
    async (file) => {
      const r = await gw.ssh(masked, ['--', `cat ${path.join(dir, file)}`], { timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/password/);
      expect(r.stdout, file).not.toContain(PASSWORD);
      expect(r.stdout, file).not.toContain(OTHER);
      expect(r.stdout).toContain('[REDACTED:password]');
    },
  );

  it
    .skipIf(!hasCommand('sqlite3'))
    .each(['-csv', '-list', '-tabs', '-table', '-box', '-markdown', '-column'])(
    'real sqlite3 -header %s: the password column is masked',
    async (mode) => {
      const result = gw.ssh(
        masked,
        ['--', `sqlite3 -readonly -header ${mode} ${path.join(dir, 'app.db')} 'select * from users'`],
        { timeoutMs: 60_000 },
      );
      // sqlite3 can run a shell (`.shell`): reviewed for agents; the approval keeps the masking.
      const held = await gw.approver.next();
      held.approve();
      const r = await result;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/password/);
      expect(r.stdout, mode).not.toContain(PASSWORD);
      expect(r.stdout, mode).not.toContain(OTHER);
    },
  );
});
