// A sensitive name was masked only where it began a line or followed a blank, `?`, `&`, `;`, `,`, `(`
// or `-`: `grep -n DB_PASSWORD .env` (`2:DB_PASSWORD=…`), grep over several files or a tree
// (`.env:DB_PASSWORD=…`, `./app/.env:…`), a compose file's `- "DB_PASSWORD=…"` and a shell's `ls:
// cannot access 'DB_PASSWORD=…'` showed a masked agent the value in clear, as plain reads
// (docs/security.md class 237), and after `cat -n`'s or grep's prefix a value with blanks was
// masked to its first blank only (class 238), and after any other prefix (a log line's timestamp) too
// (class 262). Real OpenSSH client → Gatehouse → real sshd.

import { describe, expect, it } from 'vitest';
import { maskedSshHost } from './testkit/ssh-masked-host.js';
import { hasSshd } from './testkit/sshd.js';

const PASSWORD = 'correct-horse-battery-7';
/** A value with blanks in it: `cat` masks it whole; after a prefix only its first word was (class 238). */
const WORDS = 'staple-drift-81';

describe.skipIf(!hasSshd())('ssh output: a sensitive name after a prefix', { timeout: 120_000 }, () => {
  const host = maskedSshHost('app', {
    '.env': `APP_ENV=production\nDB_PASSWORD=${PASSWORD}\nAPI_TOKEN=tok en ${WORDS}\n`,
    'app.log':
      `2026-12-07T14:00:00.000000000Z DB_PASSWORD=tok en ${WORDS}\n` +
      `Dec 07 14:00:01 web1 app[812]: API_TOKEN=tok en ${WORDS}\n` +
      `     7 SECRET_KEY=tok en ${WORDS}\n` +
      `2026-12-07 14:00:02 INFO exec app --api-token=tok en ${WORDS} --port 8080\n` +
      `2026-12-07 14:00:03 INFO level=info password=tok en ${WORDS} user=bob\n`,
    'compose.yml': `services:\n  db:\n    environment:\n      - "DB_PASSWORD=${PASSWORD}"\n      - 'API_TOKEN=${PASSWORD}'\n`,
  });

  it.each([
    'grep -n DB_PASSWORD DIR/.env',
    'grep DB_PASSWORD DIR/.env DIR/compose.yml',
    'grep -rn PASSWORD DIR',
    'cat DIR/compose.yml',
    'ls "$(grep DB_ DIR/.env)"',
  ])('%s shows the name, masks the value', async (template) => {
    const command = template.replaceAll('DIR', host.dir);
    const r = await host.run(command);
    expect(r.stdout + r.stderr, command).toContain('DB_PASSWORD=');
    expect(r.stdout, command).not.toContain(PASSWORD);
    expect(r.stderr, command).not.toContain(PASSWORD);
  });

  it.each(['cat -n DIR/.env', 'grep -n TOKEN DIR/.env', 'grep -r TOKEN DIR'])(
    '%s masks a value with blanks whole, as cat does (class 238)',
    async (template) => {
      const command = template.replaceAll('DIR', host.dir);
      const r = await host.run(command);
      expect(r.stdout, command).toContain('API_TOKEN=');
      expect(r.stdout, command).not.toContain(WORDS);
    },
  );

  it('masks a value with blanks whole after any prefix a log line has, to the next field (class 262)', async () => {
    // `docker logs -t`'s timestamp, journalctl's, `less -N`'s number and blank, a logged command line,
    // logfmt: each value was masked to its first blank, and `en staple-drift-81` was shown.
    const r = await host.run(`cat ${host.dir}/app.log`);
    for (const name of ['DB_PASSWORD=', 'API_TOKEN=', 'SECRET_KEY=', '--api-token=', 'password=']) {
      expect(r.stdout).toContain(name);
    }
    expect(r.stdout).not.toContain(WORDS);
    expect(r.stdout).not.toContain(' en ');
    // What follows the value on its line and is not part of it stays.
    expect(r.stdout).toContain(' --port 8080');
    expect(r.stdout).toContain(' user=bob');
  });
});
