// A variable's value listed as a `name`/`value` pair — a Kubernetes container's `env` (`- name:
// DB_PASSWORD` then `value: …`), an ECS task definition's `{"name": "DB_PASSWORD", "value": "…"}` — has
// its sensitive name as the value of `name`, and its value under the key `value`, which no field name
// masks: `cat deploy.yaml` or `cat task.json` showed a masked agent the password in clear, as a plain
// read (docs/security.md class 287). Real OpenSSH client → Gatehouse → real sshd.

import { describe, expect, it } from 'vitest';
import { maskedSshHost } from './testkit/ssh-masked-host.js';
import { hasSshd } from './testkit/sshd.js';

const PASSWORD = 'marigold-anvil-5531';
const TOKEN = 'obsidian-ferry-2208';

describe.skipIf(!hasSshd())('ssh output: a name/value pair naming a secret', { timeout: 120_000 }, () => {
  const host = maskedSshHost('pairs', {
    'deploy.yaml':
      'spec:\n  containers:\n    - name: app\n      env:\n        - name: LOG_LEVEL\n          value: info\n' +
      `        - name: DB_PASSWORD\n          value: ${PASSWORD}\n` +
      `        - value: "${TOKEN}"\n          name: API_TOKEN\n`,
    'task.json': `{"environment": [{"name": "LOG_LEVEL", "value": "info"}, {"name": "DB_PASSWORD", "value": "${PASSWORD}"}, {"value": "${TOKEN}", "name": "API_TOKEN"}]}\n`,
  });

  it.each(['cat DIR/deploy.yaml', 'cat DIR/task.json', 'grep -A1 DB_PASSWORD DIR/deploy.yaml'])(
    '%s shows the names, masks the values',
    async (template) => {
      const command = template.replaceAll('DIR', host.dir);
      const r = await host.run(command);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout, command).toContain('DB_PASSWORD');
      expect(r.stdout, command).not.toContain(PASSWORD);
      expect(r.stdout, command).not.toContain(TOKEN);
    },
  );

  it('leaves the values of names that are not sensitive', async () => {
    const r = await host.run(`cat ${host.dir}/deploy.yaml ${host.dir}/task.json`);
    expect(r.stdout).toMatch(/value: info/);
    expect(r.stdout).toMatch(/"value": "info"/);
  });
});
