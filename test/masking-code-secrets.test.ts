// Secrets named in forms the field readers did not read, shown to a masked principal in clear
// (docs/security.md class 265): a quoted value after its name in code (`define('DB_PASSWORD', '…')` in
// wp-config.php, `$password = '…'`, `const apiKey = "…"`, `os.environ.get("API_TOKEN", "…")`), in SQL
// (`ALTER USER … PASSWORD '…'`, `IDENTIFIED BY '…'`), and `.env` names outside the built-in list
// (`DB_PASS`, `SECRET_KEY_BASE`, `JWT_SIGNING_KEY`); over SSH, config directives (`requirepass …`, a
// `.netrc`'s `password …`, class 266). Real wire: PostgreSQL (text
// and binary format, the bytes the client received checked) and the real OpenSSH client against a real sshd.

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultAgentPolicies, defaultSshPolicies } from '../src/policy/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';

// Nothing a detector reads by its shape: only the names before them say they are secrets.
const SECRETS = {
  wp: 'wp-db-pass-4417',
  php: 'php-var-pass-5521',
  js: 'js-api-key-6630',
  py: 'py-env-token-7741',
  sql: 'sql-role-pass-8852',
  my: 'mysql-user-pass-9963',
  dbpass: 'env-db-pass-1174',
  rails: 'rails-key-base-2285',
  jwt: 'jwt-sign-key-3396',
};

const CODE =
  `<?php\ndefine( 'DB_USER', 'wordpress' );\ndefine( 'DB_PASSWORD', '${SECRETS.wp}' );\n` +
  `$password = '${SECRETS.php}';\n` +
  `const apiKey = "${SECRETS.js}";\n` +
  `token = os.environ.get("API_TOKEN", "${SECRETS.py}")\n`;
const SQL =
  `ALTER ROLE app WITH LOGIN PASSWORD '${SECRETS.sql}';\n` +
  `CREATE USER 'app'@'%' IDENTIFIED WITH mysql_native_password BY '${SECRETS.my}';\n`;
const ENV =
  `DB_HOST=db.internal\nDB_PASS=${SECRETS.dbpass}\nSECRET_KEY_BASE=${SECRETS.rails}\n` +
  `JWT_SIGNING_KEY=${SECRETS.jwt}\n`;
const CONF = `bind 127.0.0.1\nport 6379\n`;

const ALL = Object.values(SECRETS);

/** Config directives, name and value apart by a blank: read in terminal output (class 266). */
const DIRECTIVES = { redis: 'redis-require-4407', netrc: 'netrc-pass-5518', pgpass: 'pgpass-pass-8841' };

/** Docker's config.json: base64 of `user:password` under `auth` (class 266). */
const REGISTRY_AUTH = Buffer.from('deploy:registry-pass-9952').toString('base64');

/** Passwords given to programs on their command line: a backup script, a crontab (class 267). */
const COMMANDS = { mysql: 'mysqldump-pass-6629', curl: 'curl-user-pass-7730' };

describe('secrets in code, SQL and .env names, in PostgreSQL values', () => {
  let gw: TestGateway;
  let agent: pg.Client;
  const received: Buffer[] = [];

  beforeAll(async () => {
    gw = await startTestGateway({
      superUrl: inject('pgUrl'),
      policies: defaultAgentPolicies(['app'], { mask: true }),
      setupSql: `
        CREATE TABLE files (id int PRIMARY KEY, body text);
        INSERT INTO files VALUES (1, $b$${CODE}$b$), (2, $b$${SQL}$b$), (3, $b$${ENV}$b$),
          (4, $b$${CONF}$b$), (5, 'SELECT ''plain'' AS note, "col" FROM t');
      `,
    });
    agent = gw.client(await gw.token({ subject: 'claude-code-secrets', groups: ['ai-agents'], agent: true }));
    await agent.connect();
    (agent as unknown as { connection: { stream: NodeJS.ReadableStream } }).connection.stream.on(
      'data',
      (d: Buffer) => received.push(d),
    );
  }, 120_000);

  afterAll(async () => {
    await agent?.end();
    await gw?.stop();
  });

  for (const binary of [false, true])
    it(`masks each value, and leaves the names and the rest, in ${binary ? 'binary' : 'text'} format`, async () => {
      received.length = 0;
      const r = await agent.query({
        text: 'SELECT id, body FROM files ORDER BY id',
        binary,
      } as pg.QueryConfig);
      const bytes = Buffer.concat(received).toString('latin1');
      for (const s of ALL) expect(bytes).not.toContain(s);
      const body = (r.rows as { body: string }[]).map((x) => x.body);
      expect(body[0]).toContain("define( 'DB_USER', 'wordpress' );");
      expect(body[0]).toContain("define( 'DB_PASSWORD', ");
      expect(body[1]).toContain('ALTER ROLE app WITH LOGIN PASSWORD ');
      expect(body[2]).toContain('DB_HOST=db.internal');
      expect(body[3]).toContain('port 6379');
      expect(body[4]).toBe('SELECT \'plain\' AS note, "col" FROM t');
    });
});

describe.skipIf(!hasSshd())(
  'secrets in code, SQL and .env names, in ssh output',
  { timeout: 120_000 },
  () => {
    let sshd: TestSshd;
    let gw: SshTestGateway;
    let masked: string;

    beforeAll(async () => {
      sshd = await startSshd();
      gw = await startSshTestGateway({
        sshd,
        policies: defaultSshPolicies(['prod-bastion'], { mask: true }),
      });
      masked = await gw.token({ subject: 'masked-agent', agent: true });
      sshd.put('site/wp-config.php', CODE);
      sshd.put('site/schema.sql', SQL);
      sshd.put('site/.env', ENV);
      sshd.put('site/redis.conf', `bind 127.0.0.1\nrequirepass ${DIRECTIVES.redis}\nport 6379\n`);
      sshd.put('site/.netrc', `machine api.example.com login deploy password ${DIRECTIVES.netrc}\n`);
      sshd.put('site/.pgpass', `db.internal:5432:app:deploy:${DIRECTIVES.pgpass}\n`);
      sshd.put(
        'site/config.json',
        `{\n  "auths": {\n    "registry.example.com": { "auth": "${REGISTRY_AUTH}" }\n  }\n}\n`,
      );
      sshd.put(
        'site/backup.sh',
        `#!/bin/sh\n/usr/bin/mysqldump -uroot -p${COMMANDS.mysql} app > /backup/app.sql\n` +
          `curl -s -u deploy:${COMMANDS.curl} -T /backup/app.sql https://backup.example.com/\n`,
      );
    });

    afterAll(async () => {
      await gw?.stop();
      await sshd?.stop();
    });

    it.each(['cat DIR/wp-config.php DIR/schema.sql DIR/.env', 'grep -rn -i pass DIR'])(
      '%s shows the names with their values masked',
      async (template) => {
        const command = template.replaceAll('DIR', `${sshd.work}/site`);
        const r = await gw.ssh(masked, ['--', command], { timeoutMs: 60_000 });
        expect(r.code, command).toBe(0);
        for (const s of ALL) {
          expect(r.stdout, command).not.toContain(s);
          expect(r.stderr, command).not.toContain(s);
        }
        expect(r.stdout, command).toContain("define( 'DB_PASSWORD', ");
        expect(r.stdout, command).toContain('DB_PASS=');
      },
    );

    it('a config directive names its value with a blank or by its place: redis.conf, .netrc, .pgpass, Docker config.json (class 266)', async () => {
      const command = ['redis.conf', '.netrc', '.pgpass', 'config.json']
        .map((f) => `${sshd.work}/site/${f}`)
        .join(' ');
      const r = await gw.ssh(masked, ['--', `cat ${command}`], { timeoutMs: 60_000 });
      expect(r.code).toBe(0);
      for (const s of [...Object.values(DIRECTIVES), REGISTRY_AUTH]) expect(r.stdout).not.toContain(s);
      expect(r.stdout).toContain('"registry.example.com"');
      expect(r.stdout).toContain('requirepass ');
      expect(r.stdout).toContain('port 6379');
      expect(r.stdout).toContain('machine api.example.com login deploy password ');
      expect(r.stdout).toContain('db.internal:5432:app:deploy:[REDACTED:password]');
    });

    it('a password given to a program on its command line (class 267)', async () => {
      const r = await gw.ssh(masked, ['--', `cat ${sshd.work}/site/backup.sh`], { timeoutMs: 60_000 });
      expect(r.code).toBe(0);
      for (const s of Object.values(COMMANDS)) expect(r.stdout).not.toContain(s);
      expect(r.stdout).toContain('/usr/bin/mysqldump -uroot -p[REDACTED:password] app > /backup/app.sql');
      expect(r.stdout).toContain('curl -s -u deploy:[REDACTED:password] -T /backup/app.sql');
    });
  },
);
