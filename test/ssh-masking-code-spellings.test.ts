// A value under a sensitive name in the spellings code and tools use that no reader read: heredocs
// (`db_password = <<-EOF`, Terraform's `default = <<EOT`, a shell's `DB_PASSWORD=$(cat <<'EOF'`),
// subscripts with blanks around `=` (`os.environ["DB_PASSWORD"] = "…"`, PHP's `$config['…'] = '…';`),
// property lists' `<key>…</key><string>…</string>`, Hadoop's `<name>…</name><value>…</value>`, a Ruby
// symbol at a line's start, Make's `?=`, R's `<-`, a command line's `--db-password VALUE`, Ansible
// Vault's `password: !vault |` (docs/security.md class 398). Real OpenSSH client → Gatehouse (default
// agent policy, masked) → real sshd, `cat` on the host.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { maskedSshHost } from './testkit/ssh-masked-host.js';
import { hasSshd } from './testkit/sshd.js';

const PASSWORD = 'marigold-anvil-5531';

const FILES: Record<string, string> = {
  'main.tf': `variable "db_password" {\n  type    = string\n  default = <<EOT\n${PASSWORD}\nEOT\n}\n`,
  'locals.hcl': `db_password = <<-EOF\n  ${PASSWORD}\n  EOF\nregion = "eu-west-1"\n`,
  'setup.sh': `#!/bin/sh\nexport DB_PASSWORD=$(cat <<'EOF'\n${PASSWORD}\nEOF\n)\n`,
  'settings.py': `import os\nos.environ["DB_PASSWORD"] = "${PASSWORD}"\n`,
  'config.php': `<?php\n$config['db_password'] = '${PASSWORD}';\n`,
  'com.example.agent.plist':
    '<?xml version="1.0" encoding="UTF-8"?>\n<plist version="1.0">\n<dict>\n' +
    `\t<key>Label</key>\n\t<string>com.example.agent</string>\n\t<key>APIToken</key>\n\t<string>${PASSWORD}</string>\n</dict>\n</plist>\n`,
  'core-site.xml': `<configuration>\n  <property>\n    <name>db.password</name>\n    <value>${PASSWORD}</value>\n  </property>\n</configuration>\n`,
  'database.rb': `DB = {\n  :adapter => "postgresql",\n  :password => "${PASSWORD}",\n}\n`,
  Makefile: `PASSWORD ?= ${PASSWORD}\nall:\n\t@echo ok\n`,
  'setup.R': `password <- "${PASSWORD}"\n`,
  'run.txt': `/usr/bin/myapp --db-password ${PASSWORD} --port 5432\n`,
  'vault.yml': `db:\n  password: !vault |\n    ${PASSWORD}\n  user: app\n`,
};

describe.skipIf(!hasSshd())(
  'ssh output: a value under a sensitive name in the spellings code and tools use',
  { timeout: 120_000 },
  () => {
    const host = maskedSshHost('code-spellings', FILES);

    it.each(Object.keys(FILES))('cat %s masks the value', async (file) => {
      const r = await host.run(`cat ${path.join(host.dir, file)}`);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('[REDACTED:');
      expect(r.stdout, file).not.toContain(PASSWORD);
    });

    it('leaves what is not a sensitive value', async () => {
      const r = await host.run(
        `cat ${host.dir}/locals.hcl ${host.dir}/com.example.agent.plist ${host.dir}/database.rb ${host.dir}/run.txt`,
      );
      expect(r.stdout).toContain('region = "eu-west-1"');
      expect(r.stdout).toContain('<string>com.example.agent</string>');
      expect(r.stdout).toContain(':adapter => "postgresql"');
      expect(r.stdout).toContain('--port 5432');
      expect(r.stdout).toContain('  EOF\n');
    });
  },
);
