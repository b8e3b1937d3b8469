// A password in a URL's userinfo (`DATABASE_URL=postgres://app:<password>@db/app`) names no field: the
// key `DATABASE_URL` is not a sensitive name, and no detector read the password, so a masked principal
// saw it in clear in a `.env` file over SSH and in a text or json column (docs/security.md class 263).
// Real wire: PostgreSQL (text and binary format, the bytes the client received checked) and the real
// OpenSSH client against a real sshd.

import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultAgentPolicies, defaultSshPolicies } from '../src/policy/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';

// Nothing a detector reads by its shape: only its place in the URL says it is a password.
const PG_PW = 'Sup3r-s3cret-pg';
const REDIS_PW = 'r3dis-pass-word';
const GIT_PW = 'g1t-h0st-pass';

const ENV =
  `DATABASE_URL=postgres://app:${PG_PW}@db.internal:5432/app\n` +
  `REDIS_URL=redis://:${REDIS_PW}@cache:6379/0\n` +
  `REPO=https://deploy:${GIT_PW}@git.internal/app.git\n` +
  'HOME_PAGE=https://example.com/a?b=1\n';

describe('a password in a URL, in PostgreSQL values', () => {
  let gw: TestGateway;
  let direct: pg.Client;
  let agent: pg.Client;
  const received: Buffer[] = [];

  beforeAll(async () => {
    gw = await startTestGateway({
      superUrl: inject('pgUrl'),
      policies: defaultAgentPolicies(['app'], { mask: true }),
      setupSql: `
        CREATE TABLE services (id int PRIMARY KEY, env text, doc jsonb, link text);
        INSERT INTO services VALUES
          (1, $env$${ENV}$env$, '{"dsn":"mysql://root:${PG_PW}@db/x"}', 'https://example.com/docs?x=1'),
          (2, 'no urls here', '{"n":1}', 'https://example.com/org/repo.git');
      `,
    });
    direct = new pg.Client({ connectionString: gw.directUrl });
    await direct.connect();
    agent = gw.client(await gw.token({ subject: 'claude-urls', groups: ['ai-agents'], agent: true }));
    await agent.connect();
    (agent as unknown as { connection: { stream: NodeJS.ReadableStream } }).connection.stream.on(
      'data',
      (d: Buffer) => received.push(d),
    );
  }, 120_000);

  afterAll(async () => {
    await agent?.end();
    await direct?.end();
    await gw?.stop();
  });

  for (const binary of [false, true])
    it(`masks the password only, in ${binary ? 'binary' : 'text'} format`, async () => {
      received.length = 0;
      const sql = 'SELECT id, env, doc, link FROM services ORDER BY id';
      const r = await agent.query({ text: sql, binary } as pg.QueryConfig);
      const bytes = Buffer.concat(received).toString('latin1');
      for (const pw of [PG_PW, REDIS_PW, GIT_PW]) expect(bytes).not.toContain(pw);
      const [one, two] = r.rows as Record<string, unknown>[];
      expect(one!.env).toBe(
        'DATABASE_URL=postgres://app:[REDACTED:url_password]@db.internal:5432/app\n' +
          'REDIS_URL=redis://:[REDACTED:url_password]@cache:6379/0\n' +
          'REPO=https://deploy:[REDACTED:url_password]@git.internal/app.git\n' +
          'HOME_PAGE=https://example.com/a?b=1\n',
      );
      expect(one!.doc).toEqual({ dsn: 'mysql://root:[REDACTED:url_password]@db/x' });
      expect(one!.link).toBe('https://example.com/docs?x=1');
      // No password in a URL: as a direct connection returns it.
      const d = await direct.query({
        text: `${sql.replace('ORDER BY', 'WHERE id = 2 ORDER BY')}`,
        binary,
      } as pg.QueryConfig);
      expect(two).toEqual(d.rows[0]);
    });
});

describe.skipIf(!hasSshd())('a password in a URL, in ssh output', { timeout: 120_000 }, () => {
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
    sshd.put('app/.env', ENV);
  });

  afterAll(async () => {
    await gw?.stop();
    await sshd?.stop();
  });

  it.each(['cat DIR/.env', 'grep -rn :// DIR'])(
    '%s shows the URLs with their passwords masked',
    async (template) => {
      const command = template.replaceAll('DIR', `${sshd.work}/app`);
      const r = await gw.ssh(masked, ['--', command], { timeoutMs: 60_000 });
      for (const pw of [PG_PW, REDIS_PW, GIT_PW]) {
        expect(r.stdout, command).not.toContain(pw);
        expect(r.stderr, command).not.toContain(pw);
      }
      expect(r.stdout, command).toContain('postgres://app:[REDACTED:url_password]@db.internal:5432/app');
      expect(r.stdout, command).toContain('https://deploy:[REDACTED:url_password]@git.internal/app.git');
    },
  );
});
