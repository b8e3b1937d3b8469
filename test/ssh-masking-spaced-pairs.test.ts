// A sensitive name written `name = value` (INI, TOML, .properties, Python settings) was read only where
// it began a line: after the prefix a program puts before a line — diff's `> `, git diff's `+`, grep's
// `file:` and tab (`-T`) or NUL (`-Z`), paste's column — its value reached a masked agent in clear, as a
// plain read (docs/security.md class 283). Real OpenSSH client → Gatehouse → real sshd.

import { describe, expect, it } from 'vitest';
import { hasCommand } from './testkit/commands.js';
import { maskedSshHost } from './testkit/ssh-masked-host.js';
import { hasSshd } from './testkit/sshd.js';

const OLD = 'saffron-quarry-3318';
const NEW = 'juniper-vector-6402';
const TOKEN = 'cobalt-harbor-5127';

describe.skipIf(!hasSshd())('ssh output: `name = value` after a prefix', { timeout: 120_000 }, () => {
  const host = maskedSshHost('spaced', {
    'settings.ini.orig': `[database]\nhost = db.internal\npassword = ${OLD}\n`,
    'settings.ini': `[database]\nhost = db.internal\npassword = ${NEW}\n`,
    'app.toml': `[api]\napi_token   =   ${TOKEN}\n`,
  });

  it.each([
    'diff DIR/settings.ini.orig DIR/settings.ini',
    'diff -u DIR/settings.ini.orig DIR/settings.ini',
    'grep -r -T password DIR',
    'grep -r -Z password DIR',
    'paste DIR/settings.ini.orig DIR/settings.ini',
  ])('%s shows the name, masks the value', async (template) => {
    const command = template.replaceAll('DIR', host.dir);
    const r = await host.run(command);
    expect(r.stdout, `${command}\n${r.stderr}`).toContain('password =');
    for (const secret of [OLD, NEW]) {
      expect(r.stdout, command).not.toContain(secret);
      expect(r.stderr, command).not.toContain(secret);
    }
  });

  it.skipIf(!hasCommand('git'))('git diff --no-index shows `+password = …` masked', async () => {
    const command = `git diff --no-index ${host.dir}/settings.ini.orig ${host.dir}/settings.ini; grep -r -T api_token ${host.dir}`;
    const r = await host.run(command);
    expect(r.stdout, r.stderr).toContain('+password =');
    expect(r.stdout).toContain('api_token   =');
    for (const secret of [OLD, NEW, TOKEN]) expect(r.stdout).not.toContain(secret);
  });
});
