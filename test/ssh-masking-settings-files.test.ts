// A value a settings file names by an attribute: .NET's `<add key="DbPassword" value="…"/>`, Ant's
// and Spring's `<property name="…" value="…"/>`, phpunit's `<env name="…" value="…"/>`, Tomcat's
// `<Parameter name="…" value="…"/>` and Java's XML properties `<entry key="…">…</entry>`. Masking
// read such name/value attributes only in HTML's form tags (class 210), so `cat web.config` showed
// a masked agent the password (docs/security.md class 343). And Terraform's `variable "db_password" {
// default = "…" }`, whose block label names the value (class 344). Real OpenSSH client → Gatehouse (default
// agent policy, masked) → real sshd, `cat` on the host.

import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';

const PASSWORD = 'marigold-anvil-5531';
const TOKEN = 'obsidian-ferry-2208';

const FILES: Record<string, string> = {
  'web.config':
    '<configuration>\n  <appSettings>\n' +
    `    <add key="Region" value="eu-west-1" />\n    <add key="DbPassword" value="${PASSWORD}" />\n` +
    `    <add key="ApiToken" value="${TOKEN}" />\n  </appSettings>\n</configuration>\n`,
  'build.xml': `<project>\n  <property name="db.user" value="app"/>\n  <property name="db.password" value="${PASSWORD}"/>\n</project>\n`,
  'phpunit.xml': `<phpunit>\n  <php>\n    <env name="APP_ENV" value="testing"/>\n    <env name="DB_PASSWORD" value="${PASSWORD}"/>\n  </php>\n</phpunit>\n`,
  'context.xml': `<Context>\n  <Parameter name="api_token" value="${TOKEN}" override="false"/>\n</Context>\n`,
  'app.exe.config':
    '<configuration>\n  <applicationSettings>\n    <App.Properties.Settings>\n' +
    `      <setting name="DbPassword" serializeAs="String">\n        <value>${PASSWORD}</value>\n      </setting>\n` +
    '    </App.Properties.Settings>\n  </applicationSettings>\n</configuration>\n',
  'variables.tf':
    `variable "region" {\n  default = "eu-west-1"\n}\n\nvariable "db_password" {\n  type      = string\n  sensitive = true\n  default   = "${PASSWORD}"\n}\n\n` +
    `variable "api_token" { default = "${TOKEN}" }\n`,
  'app.properties.xml':
    '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE properties SYSTEM "http://java.sun.com/dtd/properties.dtd">\n' +
    `<properties>\n  <entry key="db.url">jdbc:postgresql://db/app</entry>\n  <entry key="db.password">${PASSWORD}</entry>\n</properties>\n`,
};

describe.skipIf(!hasSshd())(
  'ssh output: a value a settings file names by an attribute or a block label',
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
      dir = path.join(sshd.work, 'settings-files');
      for (const [name, text] of Object.entries(FILES)) sshd.put(`settings-files/${name}`, text);
    });

    afterAll(async () => {
      await gw?.stop();
      await sshd?.stop();
    });

    it.each(Object.keys(FILES))('cat %s shows the names, masks the values', async (file) => {
      const r = await gw.ssh(masked, ['--', `cat ${path.join(dir, file)}`], { timeoutMs: 60_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/[Pp]assword|[Tt]oken/);
      expect(r.stdout, file).not.toContain(PASSWORD);
      expect(r.stdout, file).not.toContain(TOKEN);
    });

    it('leaves the values of names that are not sensitive', async () => {
      const r = await gw.ssh(
        masked,
        ['--', `cat ${dir}/web.config ${dir}/build.xml ${dir}/app.properties.xml ${dir}/variables.tf`],
        {
          timeoutMs: 60_000,
        },
      );
      expect(r.stdout).toContain('<add key="Region" value="eu-west-1" />');
      expect(r.stdout).toContain('<property name="db.user" value="app"/>');
      expect(r.stdout).toContain('<entry key="db.url">jdbc:postgresql://db/app</entry>');
      expect(r.stdout).toContain('default = "eu-west-1"');
      expect(r.stdout).toContain('default = "eu-west-1"');
    });
  },
);
