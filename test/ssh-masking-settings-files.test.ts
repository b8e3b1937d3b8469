// A value a settings file names by an attribute: .NET's `<add key="DbPassword" value="…"/>`, Ant's
// and Spring's `<property name="…" value="…"/>`, phpunit's `<env name="…" value="…"/>`, Tomcat's
// `<Parameter name="…" value="…"/>` and Java's XML properties `<entry key="…">…</entry>`. Masking
// read such name/value attributes only in HTML's form tags (class 210), so `cat web.config` showed
// a masked agent the password (docs/security.md class 343). And Terraform's `variable "db_password" {
// default = "…" }`, whose block label names the value (class 344). Real OpenSSH client → Gatehouse (default
// agent policy, masked) → real sshd, `cat` on the host.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { maskedSshHost } from './testkit/ssh-masked-host.js';
import { hasSshd } from './testkit/sshd.js';

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
    const host = maskedSshHost('settings-files', FILES);

    it.each(Object.keys(FILES))('cat %s shows the names, masks the values', async (file) => {
      const r = await host.run(`cat ${path.join(host.dir, file)}`);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/[Pp]assword|[Tt]oken/);
      expect(r.stdout, file).not.toContain(PASSWORD);
      expect(r.stdout, file).not.toContain(TOKEN);
    });

    it('leaves the values of names that are not sensitive', async () => {
      const r = await host.run(
        `cat ${host.dir}/web.config ${host.dir}/build.xml ${host.dir}/app.properties.xml ${host.dir}/variables.tf`,
      );
      expect(r.stdout).toContain('<add key="Region" value="eu-west-1" />');
      expect(r.stdout).toContain('<property name="db.user" value="app"/>');
      expect(r.stdout).toContain('<entry key="db.url">jdbc:postgresql://db/app</entry>');
      expect(r.stdout).toContain('default = "eu-west-1"');
      expect(r.stdout).toContain('default = "eu-west-1"');
    });
  },
);
