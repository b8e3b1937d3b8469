// A value under a name no reader took for a secret's: redis-cli's numbered answer to `CONFIG GET *` or
// `HGETALL` (`1) "requirepass"` then `2) "…"`), a label of two words (`Secret Key: …`, as MinIO's and
// other tools' listings print it), a header whose name ends in a sensitive one (`X-Api-Key: …`,
// `X-Auth-Token: …` in `curl -v`'s trace), and an element named for its value holding it in an attribute
// (`<password value="…"/>`) (docs/security.md class 399). Real OpenSSH client → Gatehouse (default agent
// policy, masked) → real sshd, `cat` on the host.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { maskedSshHost } from './testkit/ssh-masked-host.js';
import { hasSshd } from './testkit/sshd.js';

const PASSWORD = 'marigold-anvil-5531';

const FILES: Record<string, string> = {
  'config-get.txt': `1) "port"\n2) "6379"\n3) "requirepass"\n4) "${PASSWORD}"\n5) "masterauth"\n6) ""\n`,
  'hgetall.txt': `1) "user"\n2) "app"\n3) "password"\n4) "${PASSWORD}"\n`,
  'access-key.txt': `Endpoint:   http://minio:9000\nAccess Key: minio-admin\nSecret Key: ${PASSWORD}\n`,
  'curl-trace.txt': `> GET /v1/items HTTP/1.1\n> Host: api.internal\n> X-Api-Key: ${PASSWORD}\n> X-Auth-Token: ${PASSWORD}\n>\n`,
  'settings.xml': `<settings>\n  <user value="app"/>\n  <password value="${PASSWORD}"/>\n</settings>\n`,
};

describe.skipIf(!hasSshd())(
  'ssh output: a value under a label, a header or a numbered item',
  { timeout: 120_000 },
  () => {
    const host = maskedSshHost('labels', FILES);

    it.each(Object.keys(FILES))('cat %s masks the value', async (file) => {
      const r = await host.run(`cat ${path.join(host.dir, file)}`);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('[REDACTED:');
      expect(r.stdout, file).not.toContain(PASSWORD);
    });

    it('leaves what is not a sensitive value', async () => {
      const r = await host.run(
        `cd ${host.dir} && cat config-get.txt hgetall.txt access-key.txt curl-trace.txt settings.xml`,
      );
      expect(r.stdout).toContain('2) "6379"');
      expect(r.stdout).toContain('2) "app"');
      expect(r.stdout).toContain('Access Key: minio-admin');
      expect(r.stdout).toContain('> Host: api.internal');
      expect(r.stdout).toContain('<user value="app"/>');
    });
  },
);
