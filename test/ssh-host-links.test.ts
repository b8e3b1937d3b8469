// A link the host already has carried an exec's or a shell line's write elsewhere (class 120). Class
// 108 asked the host where an sftp write lands; exec commands and typed lines were still judged on their
// text, so with `~/notes` a dangling link to `.bashrc` (made earlier by an approved line, a script,
// someone else), `echo … > ~/notes` was a plain write and created the start-up file. Now the host is
// asked (REALPATH, LSTAT, READLINK on an sftp channel of Gatehouse's own) where each write lands, and
// that is judged too. Real OpenSSH ssh and sshd.

import {
  chownSync,
  existsSync,
  lchownSync,
  mkdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import {
  findSshStatement,
  interactive,
  startSshTestGateway,
  type SshTestGateway,
} from './testkit/ssh-gateway.js';

/** Agents may open a shell and read and write (nothing else) by exec and typed lines. */
const WRITERS: PolicyConfig = {
  id: 'writers',
  subjects: { agent: true },
  connections: ['prod-bastion'],
  rules: [
    { id: 'writers-shell', effect: 'allow', match: { sshRequests: ['shell'] } },
    {
      id: 'writers-allow',
      effect: 'allow',
      match: { sshRequests: ['exec', 'line'], commandCategories: ['read', 'write'] },
    },
  ],
};

describe.skipIf(!hasSshd())(
  'exec and shell writes through links the host has (class 120)',
  { timeout: 120_000 },
  () => {
    let sshd: TestSshd;
    let gw: SshTestGateway;

    beforeAll(async () => {
      sshd = await startSshd();
      gw = await startSshTestGateway({ sshd, policies: [WRITERS] });
      const w = sshd.work;
      const st = statSync(w);
      mkdirSync(path.join(w, 'repo/.git/hooks'), { recursive: true });
      for (const p of ['repo', 'repo/.git', 'repo/.git/hooks']) chownSync(path.join(w, p), st.uid, st.gid);
      writeFileSync(path.join(w, 'payload'), '#!/bin/sh\ntouch /tmp/gatehouse-link-pwned\n');
      chownSync(path.join(w, 'payload'), st.uid, st.gid);
      // Links made earlier: the gateway never saw them made.
      symlinkSync('.bashrc', path.join(w, 'notes'));
      symlinkSync(path.join(w, 'repo/.git/hooks'), path.join(w, 'conf'));
      symlinkSync('.profile', path.join(w, 'todo'));
      for (const p of ['notes', 'conf', 'todo']) lchownSync(path.join(w, p), st.uid, st.gid);
    });

    afterAll(async () => {
      await gw?.stop();
      await sshd?.stop();
    });

    it('an exec writing through a link to a start-up file or a hook directory is refused; a plain write is not', async () => {
      const agent = await gw.token({ subject: 'linker', agent: true });
      const w = sshd.work;
      const redirect = await gw.ssh(agent, ['--', `echo 'touch /tmp/pwned' > ${w}/notes`]);
      expect(existsSync(path.join(w, '.bashrc')), 'the write landed on .bashrc').toBe(false);
      expect(redirect.code).toBe(126);
      const echo = await findSshStatement(
        gw,
        (s) => s.text.startsWith('echo ') && s.text.endsWith('/notes'),
        {
          withResult: false,
        },
      );
      expect(echo.effect).toBe('deny');
      expect(echo.kind).toContain(`lands on ${w}/.bashrc`);
      const cp = await gw.ssh(agent, ['--', `cp ${w}/payload ${w}/conf/post-checkout`]);
      expect(existsSync(path.join(w, 'repo/.git/hooks/post-checkout')), 'the hook was written').toBe(false);
      expect(cp.code).toBe(126);
      const st = await findSshStatement(gw, (s) => s.text.startsWith('cp ') && s.text.includes('/conf/'), {
        withResult: false,
      });
      expect(st.effect).toBe('deny');
      expect(st.categories).toContain('privilege');
      // A write the host says lands where its text says is an ordinary write, allowed.
      const ok = await gw.ssh(agent, ['--', `echo hi > ${w}/plain.txt`]);
      expect(ok.code).toBe(0);
      expect(readFileSync(path.join(w, 'plain.txt'), 'utf8')).toBe('hi\n');
    });

    it('a typed line writing through such a link is refused, and the shell ended', async () => {
      const agent = await gw.token({ subject: 'typist', agent: true });
      const w = sshd.work;
      const sh = interactive(gw, agent);
      await sh.waitFor(/\$ (\x1b\[K)?$/m); // eslint-disable-line no-control-regex
      sh.type(`echo hello > ${w}/hello.txt\r`);
      await sh.waitFor(/\$ (\x1b\[K)?$/m); // eslint-disable-line no-control-regex
      sh.type(`echo 'touch /tmp/pwned' >> ${w}/todo\r`);
      const code = await sh.exited;
      expect(code).toBe(255);
      expect(existsSync(path.join(w, '.profile')), 'the write landed on .profile').toBe(false);
      expect(readFileSync(path.join(w, 'hello.txt'), 'utf8')).toBe('hello\n');
      const line = await findSshStatement(gw, (s) => s.via === 'ssh-shell' && s.text.includes('/todo'), {
        withResult: false,
      });
      expect(line.effect).toBe('deny');
      expect(line.kind).toContain(`lands on ${w}/.profile`);
    });
  },
);
