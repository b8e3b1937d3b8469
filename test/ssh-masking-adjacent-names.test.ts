// A sensitive name right after another name's `:` or `=` was not read as one: the pattern that finds a
// name consumed the character before it, so after a first match (`app.yml:`, `1=`) the next name had
// no character left to start after. `grep -r password config/` (`config/app.yml:  password: …`),
// `grep -H api_key app.yml` (`app.yml:api_key: …`) and `nl -s= .env` (`1=DB_PASSWORD=…`) showed a
// masked agent the value in clear, as plain reads (docs/security.md class 282). Real OpenSSH client →
// Gatehouse → real sshd.

import { describe, expect, it } from 'vitest';
import { maskedSshHost } from './testkit/ssh-masked-host.js';
import { hasSshd } from './testkit/sshd.js';

const PASSWORD = 'tangerine-lattice-42';
const API_KEY = 'quartz-meadow-9071';

describe.skipIf(!hasSshd())(
  'ssh output: a sensitive name right after another name',
  { timeout: 120_000 },
  () => {
    const host = maskedSshHost('adjacent', {
      'config/app.yml': `db:\n  host: db.internal\n  password: ${PASSWORD}\n`,
      'config/keys.yml': `api_key: ${API_KEY}\n`,
      '.env': `DB_PASSWORD=${PASSWORD}\n`,
    });

    it.each([
      ['grep -r password DIR/config', 'password:', PASSWORD],
      ['grep -H api_key DIR/config/keys.yml', 'api_key:', API_KEY],
      ['grep -h -H api_key DIR/config/keys.yml DIR/config/app.yml', 'api_key:', API_KEY],
      ['nl -s= DIR/.env', 'DB_PASSWORD=', PASSWORD],
      ['nl -s: DIR/config/keys.yml', 'api_key:', API_KEY],
    ])('%s shows the name, masks the value', async (template, name, secret) => {
      const command = template.replaceAll('DIR', host.dir);
      const r = await host.run(command);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout, command).toContain(name);
      expect(r.stdout, command).not.toContain(secret);
      expect(r.stderr, command).not.toContain(secret);
    });
  },
);
