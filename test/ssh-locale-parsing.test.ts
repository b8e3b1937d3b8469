// A locale whose characters may end in the byte of `\` or a backquote (GBK, BIG5, BIG5-HKSCS, GB18030)
// makes bash read a command line otherwise than the classifier, which reads it as UTF-8:
// `echo "中\" ; rm -f victim #"` is one echo in UTF-8, and under GBK the backslash is the second byte
// of a character, so the quote closes and rm runs. Such a locale, asked for by an env request or set by
// an earlier line of the same command, is refused or judged `unknown` (docs/security.md class 139).
// Real OpenSSH client → Gatehouse → real sshd, whose sessions find a GBK locale compiled here
// (LOCPATH, as a host with the locale installed).

import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { hasCommand } from './testkit/commands.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { findSshStatement, startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';

/** Compiles zh_CN.GBK into a fresh directory; undefined when localedef cannot. */
function gbkLocale(): string | undefined {
  if (!hasCommand('localedef')) return undefined;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-locale-'));
  chmodSync(dir, 0o755);
  spawnSync('localedef', ['-f', 'GBK', '-i', 'zh_CN', path.join(dir, 'zh_CN.GBK')], { stdio: 'ignore' });
  if (!existsSync(path.join(dir, 'zh_CN.GBK'))) {
    rmSync(dir, { recursive: true, force: true });
    return undefined;
  }
  return dir;
}

const locales = hasSshd() ? gbkLocale() : undefined;

describe.skipIf(locales === undefined)(
  'a locale that reads a command otherwise',
  { timeout: 120_000 },
  () => {
    let sshd: TestSshd;
    let gw: SshTestGateway;
    let agent: string;
    let victim: string;

    /** One echo read as UTF-8; under GBK, an echo and then `rm -f victim`. */
    const split = () => `echo "中\\" ; rm -f ${victim} #"`;

    beforeAll(async () => {
      sshd = await startSshd({ extraConfig: [`SetEnv LOCPATH=${locales!}`] });
      gw = await startSshTestGateway({ sshd, policies: defaultSshPolicies(['prod-bastion']) });
      agent = await gw.token({ subject: 'claude', agent: true });
      victim = path.join(sshd.work, 'victim');
    });

    afterAll(async () => {
      await gw?.stop();
      await sshd?.stop();
      rmSync(locales!, { recursive: true, force: true });
    });

    function plant(): void {
      writeFileSync(victim, 'precious\n');
      const st = statSync(sshd.work);
      chownSync(victim, st.uid, st.gid);
    }

    it('the host does read the line otherwise under GBK (the premise)', () => {
      plant();
      const bash = spawnSync('bash', ['-c', split()], {
        env: { ...process.env, LOCPATH: locales!, LC_ALL: 'zh_CN.GBK' },
      });
      expect(bash.status).toBe(0);
      expect(existsSync(victim)).toBe(false);
    });

    it('an env request for such a locale is not passed: the line is read as it was decided', async () => {
      plant();
      const r = await gw.ssh(agent, ['-o', 'SetEnv=LC_ALL=zh_CN.GBK', '--', split()]);
      expect(existsSync(victim), 'rm ran on the host while an echo was decided').toBe(true);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`中" ; rm -f ${victim} #\n`);
      expect(r.stderr).toMatch(/LC_ALL is not passed \(a locale/);
      for (const name of ['LANG', 'LC_CTYPE'])
        expect(
          (await gw.ssh(agent, ['-o', `SetEnv=${name}=zh_TW`, '--', `printenv ${name}; echo .`])).stdout,
        ).toBe('.\n');
      // UTF-8 locales, C and POSIX pass as before.
      const ok = await gw.ssh(agent, [
        '-o',
        'SetEnv=LC_ALL=C.UTF-8 LANG=en_US.utf8',
        '--',
        'printenv LC_ALL LANG',
      ]);
      expect(ok.stdout).toBe('C.UTF-8\nen_US.utf8\n');
    });

    it('a line that sets such a locale for the lines after it is not judged by their UTF-8 reading', async () => {
      for (const set of ['export LC_ALL=zh_CN.GBK', 'LC_CTYPE=zh_CN.GBK', 'declare -x LANG=zh_CN.gbk']) {
        plant();
        const running = gw.ssh(agent, ['--', `${set}\n${split()}`]);
        const held = await gw.approver.next();
        expect(held.ctx.decision.ruleId).toBe('ssh-agents-review-unjudged');
        held.deny();
        expect((await running).code).toBe(126);
        expect(existsSync(victim), `${set}: rm ran on the host`).toBe(true);
      }
      // So is a shell started with one, and a locale directory of the caller's own.
      for (const cmd of [
        `LC_ALL=zh_CN.GBK bash -c '${split()}'`,
        `env LC_ALL=zh_CN.GBK bash -c '${split()}'`,
        `export LOCPATH=${sshd.work}`,
      ]) {
        plant();
        const running = gw.ssh(agent, ['--', cmd]);
        const held = await gw.approver.next();
        held.deny();
        expect((await running).code).toBe(126);
        expect(existsSync(victim)).toBe(true);
      }
      // A UTF-8 locale is an ordinary setting.
      const ok = await gw.ssh(agent, ['--', 'export LC_ALL=C.UTF-8\necho ok']);
      expect(ok.stdout).toBe('ok\n');
      const st = await findSshStatement(gw, (s) => s.text === 'export LC_ALL=C.UTF-8\necho ok');
      expect(st.effect).toBe('allow');
    });
  },
);
