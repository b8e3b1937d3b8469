// A variable set by an instruction that names it and its value apart by a blank — a Dockerfile's
// legacy `ENV DB_PASSWORD value`, csh's `setenv DB_PASSWORD value` — was not read: not `key=value`, and
// not a directive of one word after the name (the instruction comes first). `cat Dockerfile .cshrc`
// showed a masked agent the values in clear, as a plain read (docs/security.md class 288). Real
// OpenSSH client → Gatehouse → real sshd.

import { describe, expect, it } from 'vitest';
import { maskedSshHost } from './testkit/ssh-masked-host.js';
import { hasSshd } from './testkit/sshd.js';

const PASSWORD = 'thistle-carbon-7719';
const WORDS = 'amber lantern 4410';
const TOKEN = 'velvet-osprey-3086';

describe.skipIf(!hasSshd())('ssh output: ENV NAME value, setenv NAME value', { timeout: 120_000 }, () => {
  const host = maskedSshHost('envdirectives', {
    Dockerfile: `FROM debian:12\nENV LOG_LEVEL info\nENV DB_PASSWORD ${PASSWORD}\nenv API_SECRET ${WORDS}\nRUN true\n`,
    '.cshrc': `setenv EDITOR vi\nsetenv GITHUB_TOKEN ${TOKEN}\n`,
  });

  it('cat shows the names, masks the values', async () => {
    const r = await host.run(`cat ${host.dir}/Dockerfile ${host.dir}/.cshrc`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('ENV DB_PASSWORD');
    expect(r.stdout).toContain('setenv GITHUB_TOKEN');
    for (const secret of [PASSWORD, TOKEN, 'lantern']) expect(r.stdout).not.toContain(secret);
    // Names that are not sensitive keep their values.
    expect(r.stdout).toContain('ENV LOG_LEVEL info');
    expect(r.stdout).toContain('setenv EDITOR vi');
  });
});
