// A sensitive name right after another name's `:` or `=` was not read as one: the pattern that finds a
// name consumed the character before it, so after a first match (`app.yml:`, `1=`) the next name had
// no character left to start after. `grep -r password config/` (`config/app.yml:  password: …`),
// `grep -H api_key app.yml` (`app.yml:api_key: …`) and `nl -s= .env` (`1=DB_PASSWORD=…`) showed a
// masked agent the value in clear, as plain reads (docs/security.md class 282). Real OpenSSH client →
// Gatehouse → real sshd.

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';

const PASSWORD = 'tangerine-lattice-42';
const API_KEY = 'quartz-meadow-9071';

describe.skipIf(!hasSshd())(
  'ssh output: a sensitive name right after another name',
  { timeout: 120_000 },
  () => {
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
      dir = path.join(sshd.work, 'adjacent');
      sshd.put('adjacent/config/app.yml', `db:\n  host: db.internal\n  password: ${PASSWORD}\n`);
      sshd.put('adjacent/config/keys.yml', `api_key: ${API_KEY}\n`);
      sshd.put('adjacent/.env', `DB_PASSWORD=${PASSWORD}\n`);
    });

    afterAll(async () => {
      await gw?.stop();
      await sshd?.stop();
    });

    it.each([
      ['grep -r password DIR/config', 'password:', PASSWORD],
      ['grep -H api_key DIR/config/keys.yml', 'api_key:', API_KEY],
      ['grep -h -H api_key DIR/config/keys.yml DIR/config/app.yml', 'api_key:', API_KEY],
      ['nl -s= DIR/.env', 'DB_PASSWORD=', PASSWORD],
      ['nl -s: DIR/config/keys.yml', 'api_key:', API_KEY],
    ])('%s shows the name, masks the value', async (template, name, secret) => {
      const command = template.replaceAll('DIR', dir);
      const r = await gw.ssh(masked, ['--', command], { timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout, command).toContain(name);
      expect(r.stdout, command).not.toContain(secret);
      expect(r.stderr, command).not.toContain(secret);
    });
  },
);
