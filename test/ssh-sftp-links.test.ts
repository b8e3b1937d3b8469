// A link the host already has carried an sftp write elsewhere (class 108). sftp requests were judged on
// their text: `put payload ~/hooks/post-checkout`, where ~/hooks is a link to a git repository's hooks
// directory, read as a plain write at home and was held for review like any; a dangling link `~/notes`
// to `~/.bashrc` made `put x ~/notes` create the start-up file. Now the host is asked (REALPATH, on the
// same sftp channel) where each path leads, and that is judged too. Real OpenSSH sftp and sshd.

import {
  chownSync,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { run } from './testkit/commands.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { findSshStatement, startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';

describe.skipIf(!hasSshd())(
  'sftp writes through links the host has (class 108)',
  { timeout: 120_000 },
  () => {
    let sshd: TestSshd;
    let gw: SshTestGateway;
    let local: string;

    beforeAll(async () => {
      sshd = await startSshd();
      gw = await startSshTestGateway({ sshd, policies: defaultSshPolicies(['prod-bastion']) });
      const w = sshd.work;
      const st = statSync(w);
      mkdirSync(path.join(w, 'repo/.git/hooks'), { recursive: true });
      for (const p of ['repo', 'repo/.git', 'repo/.git/hooks']) chownSync(path.join(w, p), st.uid, st.gid);
      // Links made earlier (by an approved line, a script, someone else): the gateway never saw them.
      symlinkSync(path.join(w, 'repo/.git/hooks'), path.join(w, 'hooks'));
      symlinkSync('.bashrc', path.join(w, 'notes'));
      for (const p of ['hooks', 'notes']) lchownSync(path.join(w, p), st.uid, st.gid);
      local = path.join(gw.dir, 'payload.sh');
      writeFileSync(local, '#!/bin/sh\ntouch /tmp/gatehouse-sftp-pwned\n', { mode: 0o755 });
    });

    afterAll(async () => {
      await gw?.stop();
      await sshd?.stop();
    });

    it('judges where the write lands on the host: a hook directory, a start-up file', async () => {
      const w = sshd.work;
      const agent = await gw.token({ subject: 'sftp-linker', agent: true });
      const running = run(
        'sftp',
        [
          '-F',
          '/dev/null',
          '-P',
          String(gw.port),
          '-o',
          'StrictHostKeyChecking=no',
          '-o',
          'UserKnownHostsFile=/dev/null',
          '-o',
          'PreferredAuthentications=keyboard-interactive,password',
          '-o',
          'PubkeyAuthentication=no',
          '-o',
          'LogLevel=ERROR',
          'prod-bastion@127.0.0.1',
        ],
        {
          env: gw.sshEnv(agent),
          input: [`put ${local} ${w}/hooks/post-checkout`, `put ${local} ${w}/notes`, ''].join('\n'),
          timeoutMs: 60_000,
        },
      );
      const subsystem = await gw.approver.next();
      subsystem.approve();
      // Nothing else is held: both writes are refused as privilege.
      const asked = gw.approver.seen.length;
      const r = await Promise.race([
        running,
        (async () => {
          while (gw.approver.seen.length === asked) await new Promise((res) => setTimeout(res, 20));
        })(),
      ]);
      if (!r) {
        const held = await gw.approver.next();
        held.deny();
        await running;
        throw new Error(`held for approval: ${held.ctx.action.describe.text}`);
      }
      expect(existsSync(path.join(w, 'repo/.git/hooks/post-checkout'))).toBe(false);
      expect(existsSync(path.join(w, '.bashrc'))).toBe(false);
      expect(lstatSync(path.join(w, 'notes')).isSymbolicLink()).toBe(true);
      const hook = await findSshStatement(
        gw,
        (s) => s.text.startsWith(`sftp open-write ${w}/hooks/post-checkout`),
        {
          withResult: false,
        },
      );
      expect(hook.effect).toBe('deny');
      expect(hook.text).toContain(`(on the host: ${w}/repo/.git/hooks/post-checkout)`);
      const rc = await findSshStatement(gw, (s) => s.text.startsWith(`sftp open-write ${w}/notes`), {
        withResult: false,
      });
      expect(rc.effect).toBe('deny');
      expect(rc.text).toContain(`${w}/.bashrc`);
    });
  },
);
