// A sensitive name written `name = value` (INI, TOML, .properties, Python settings) was read only where
// it began a line: after the prefix a program puts before a line — diff's `> `, git diff's `+`, grep's
// `file:` and tab (`-T`) or NUL (`-Z`), paste's column — its value reached a masked agent in clear, as a
// plain read (docs/security.md class 283). Real OpenSSH client → Gatehouse → real sshd.

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { hasCommand } from './testkit/commands.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';

const OLD = 'saffron-quarry-3318';
const NEW = 'juniper-vector-6402';
const TOKEN = 'cobalt-harbor-5127';

describe.skipIf(!hasSshd())('ssh output: `name = value` after a prefix', { timeout: 120_000 }, () => {
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
    dir = path.join(sshd.work, 'spaced');
    sshd.put('spaced/settings.ini.orig', `[database]\nhost = db.internal\npassword = ${OLD}\n`);
    sshd.put('spaced/settings.ini', `[database]\nhost = db.internal\npassword = ${NEW}\n`);
    sshd.put('spaced/app.toml', `[api]\napi_token   =   ${TOKEN}\n`);
  });

  afterAll(async () => {
    await gw?.stop();
    await sshd?.stop();
  });

  it.each([
    'diff DIR/settings.ini.orig DIR/settings.ini',
    'diff -u DIR/settings.ini.orig DIR/settings.ini',
    'grep -r -T password DIR',
    'grep -r -Z password DIR',
    'paste DIR/settings.ini.orig DIR/settings.ini',
  ])('%s shows the name, masks the value', async (template) => {
    const command = template.replaceAll('DIR', dir);
    const r = await gw.ssh(masked, ['--', command], { timeoutMs: 60_000 });
    expect(r.stdout, `${command}\n${r.stderr}`).toContain('password =');
    for (const secret of [OLD, NEW]) {
      expect(r.stdout, command).not.toContain(secret);
      expect(r.stderr, command).not.toContain(secret);
    }
  });

  it.skipIf(!hasCommand('git'))('git diff --no-index shows `+password = …` masked', async () => {
    const command = `git diff --no-index ${dir}/settings.ini.orig ${dir}/settings.ini; grep -r -T api_token ${dir}`;
    const r = await gw.ssh(masked, ['--', command], { timeoutMs: 60_000 });
    expect(r.stdout, r.stderr).toContain('+password =');
    expect(r.stdout).toContain('api_token   =');
    for (const secret of [OLD, NEW, TOKEN]) expect(r.stdout).not.toContain(secret);
  });
});
