// A value under a sensitive name written as a bracketed key: bash's `declare -p` of an associative
// array prints `declare -A creds=([password]="…" [user]="app" )`, and a script sets `a[token]=…`.
// The masking read a name only right before its `=`, and `]` stood between: the value reached a masked
// principal in clear. A bracketed name before `]=` is now read as the name (docs/security.md class
// 335); a quoted one too, as bash prints a key holding a blank (`["db password"]="…"`, class 346).
// Real OpenSSH client → Gatehouse (default agent policy, masked) → real sshd; the file holds what
// real bash printed.

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';

const PASSWORD = 'marigold-anvil-5531';
const TOKEN = 'obsidian-ferry-2208';

describe.skipIf(!hasSshd())('ssh output: a bracketed key naming a secret', { timeout: 120_000 }, () => {
  let sshd: TestSshd;
  let gw: SshTestGateway;
  let masked: string;
  let dir: string;

  beforeAll(async () => {
    sshd = await startSshd();
    gw = await startSshTestGateway({ sshd, policies: defaultSshPolicies(['prod-bastion'], { mask: true }) });
    masked = await gw.token({ subject: 'masked-agent', agent: true });
    dir = path.join(sshd.work, 'arrays');
    const printed = spawnSync(
      'bash',
      ['-c', `declare -A creds=([user]=app [password]=${PASSWORD} [region]=eu); declare -p creds`],
      { encoding: 'utf8' },
    ).stdout;
    expect(printed).toContain(`[password]="${PASSWORD}"`);
    sshd.put('arrays/declare.txt', printed);
    const quoted = spawnSync(
      'bash',
      [
        '-c',
        `declare -A creds=([user]=app ["db password"]=${PASSWORD} ['api token']=${TOKEN}); declare -p creds`,
      ],
      { encoding: 'utf8' },
    ).stdout;
    expect(quoted).toContain(`["db password"]="${PASSWORD}"`);
    sshd.put('arrays/quoted.txt', quoted);
    sshd.put('arrays/env.sh', `cfg[user]=app\ncfg[api_token]=${TOKEN}\n`);
  });

  afterAll(async () => {
    await gw?.stop();
    await sshd?.stop();
  });

  it.each(['declare.txt', 'env.sh', 'quoted.txt'])(
    'cat %s shows the keys, masks the values',
    async (file) => {
      const r = await gw.ssh(masked, ['--', `cat ${path.join(dir, file)}`], { timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/\[(password|api_token|"db password"|"api token")\]=/);
      expect(r.stdout, file).not.toContain(PASSWORD);
      expect(r.stdout, file).not.toContain(TOKEN);
      expect(r.stdout).toMatch(/\[user\]="?app/);
    },
  );
});
