// An archive extraction writes the names the archive holds, not the command line's (class 107).
// `tar xf - -C ~` was a plain `write` of the home directory: a rule that lets a principal write let
// the archive on its input write `.bashrc` (refused as privilege when written by name). Now extraction
// is `unknown` too, as scp -t is (class 90). Real OpenSSH ssh and sshd, real tar and unzip.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { hasCommand } from './testkit/commands.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';

/** Agents may read and write (nothing else) by exec. */
const WRITERS: PolicyConfig = {
  id: 'writers',
  subjects: { agent: true },
  connections: ['prod-bastion'],
  rules: [
    {
      id: 'writers-allow',
      effect: 'allow',
      match: { sshRequests: ['exec'], commandCategories: ['read', 'write'] },
    },
  ],
};

describe.skipIf(!hasSshd() || !hasCommand('tar') || !hasCommand('zip'))(
  'archive extraction (class 107)',
  { timeout: 90_000 },
  () => {
    let sshd: TestSshd;
    let gw: SshTestGateway;
    let tarball: Buffer;

    beforeAll(async () => {
      sshd = await startSshd();
      gw = await startSshTestGateway({ sshd, policies: [WRITERS] });
      const src = path.join(gw.dir, 'archive-src');
      mkdirSync(src);
      writeFileSync(path.join(src, '.bashrc'), 'touch /tmp/gatehouse-archive-pwned\n');
      tarball = execFileSync('tar', ['cf', '-', '-C', src, '.bashrc']);
      execFileSync('zip', ['-q', path.join(sshd.work, 'a.zip'), '.bashrc'], { cwd: src });
      execFileSync('chown', [`${sshd.user}`, path.join(sshd.work, 'a.zip')]);
    });

    afterAll(async () => {
      await gw?.stop();
      await sshd?.stop();
    });

    it('tar -x and unzip into the home directory are not allowed as plain writes', async () => {
      const agent = await gw.token({ subject: 'archiver', agent: true });
      const w = sshd.work;
      rmSync(path.join(w, '.bashrc'), { force: true });
      const t = await gw.ssh(agent, ['--', `tar xf - -C ${w}`], { input: tarball.toString('latin1') });
      expect(existsSync(path.join(w, '.bashrc')), 'tar wrote .bashrc').toBe(false);
      expect(t.code).toBe(126);
      const z = await gw.ssh(agent, ['--', `unzip -o ${w}/a.zip -d ${w}`]);
      expect(existsSync(path.join(w, '.bashrc')), 'unzip wrote .bashrc').toBe(false);
      expect(z.code).toBe(126);
      // A write the command line names is still a plain write.
      const ok = await gw.ssh(agent, ['--', `touch ${w}/notes.txt`]);
      expect(ok.code).toBe(0);
      expect(readFileSync(path.join(w, 'notes.txt'), 'utf8')).toBe('');
    });
  },
);
