// Real clients through the gateway: psql (\d, \copy both ways, Ctrl-C cancelling a running query,
// TLS) and pgbench in simple, extended and prepared modes.

import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hasCommand, run } from './testkit/commands.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const psql = hasCommand('psql');
const pgbench = hasCommand('pgbench');

let gw: TestGateway;
let token: string;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    setupSql: `CREATE TABLE notes (id int PRIMARY KEY, body text);
               INSERT INTO notes VALUES (1, 'first'), (2, 'second, with comma'), (3, 'tab	inside');`,
  });
  token = await gw.token();
});
afterAll(async () => gw?.stop());

const env = () => ({
  PGPASSWORD: token,
  PGHOST: '127.0.0.1',
  PGPORT: String(gw.port),
  PGUSER: 'tester',
  PGDATABASE: gw.connection,
  PGCONNECT_TIMEOUT: '5',
  PGSSLMODE: 'disable',
});

describe.skipIf(!psql)('psql', () => {
  it('describes tables with \\d', async () => {
    const r = await run('psql', ['-X', '-c', '\\d', '-c', '\\d notes'], { env: env() });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('notes');
    expect(r.stdout).toMatch(/body\s+\|\s+text/);
  });

  it('copies out and back in with \\copy', async () => {
    const out = await run('psql', ['-X', '-c', '\\copy notes TO STDOUT'], { env: env() });
    expect(out.code).toBe(0);
    expect(out.stdout).toBe('1\tfirst\n2\tsecond, with comma\n3\ttab\\tinside\n');
    const back = await run('psql', ['-X', '-c', '\\copy notes FROM STDIN'], {
      env: env(),
      input: '10\tten\n11\televen\n\\.\n',
    });
    expect(back.stderr).toBe('');
    expect(back.stdout).toContain('COPY 2');
    const c = new pg.Client({ connectionString: gw.directUrl });
    await c.connect();
    const rows = (await c.query('SELECT body FROM notes WHERE id >= 10 ORDER BY id')).rows;
    await c.end();
    expect(rows).toEqual([{ body: 'ten' }, { body: 'eleven' }]);
  });

  it('Ctrl-C cancels a running SELECT pg_sleep(30)', async () => {
    const t0 = Date.now();
    const r = await run('psql', ['-X', '-c', 'SELECT pg_sleep(30)'], {
      env: env(),
      onSpawn: (p) => setTimeout(() => p.kill('SIGINT'), 1500),
    });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.stderr).toContain('canceling statement due to user request');
  });

  it('refuses a DROP with the rule and the SQLSTATE in psql', async () => {
    const g2 = await startTestGateway({
      superUrl: inject('pgUrl'),
      policies: [
        {
          id: 'p',
          subjects: { groups: ['testers'] },
          connections: ['*'],
          rules: [
            { id: 'deny-drop', effect: 'deny', match: { categories: ['ddl-drop'] }, message: 'No drops.' },
            { id: 'ok', effect: 'allow', match: {} },
          ],
        },
      ],
      setupSql: 'CREATE TABLE t (x int)',
    });
    try {
      const tok = await g2.token();
      const r = await run(
        'psql',
        ['-X', '-v', 'VERBOSITY=verbose', '-c', 'DROP TABLE t', '-c', 'SELECT 7 AS still_ok'],
        {
          env: { ...env(), PGPASSWORD: tok, PGPORT: String(g2.port) },
        },
      );
      expect(r.stderr).toContain('42501');
      expect(r.stderr).toContain('No drops.');
      expect(r.stdout).toContain('still_ok');
    } finally {
      await g2.stop();
    }
  });
});

describe.skipIf(!pgbench)('pgbench', () => {
  beforeAll(async () => {
    const u = new URL(gw.directUrl);
    const r = await run('pgbench', ['-i', '-s', '1', '-q', gw.directUrl], {
      env: { PGPASSWORD: decodeURIComponent(u.password) },
    });
    expect(r.code).toBe(0);
  });

  for (const mode of ['simple', 'extended', 'prepared']) {
    it(`runs in ${mode} mode`, async () => {
      const r = await run('pgbench', ['-n', '-M', mode, '-c', '4', '-t', '50', '-S'], { env: env() });
      expect(r.stderr).not.toMatch(/error|FATAL/i);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('number of transactions actually processed: 200/200');
    });
  }

  it('re-uses its prepared statements across a DO block (prepared again, silently, after it)', async () => {
    // Code Gatehouse cannot see into could have replaced them: after the DO block, each Bind of a
    // statement prepared before it prepares it again upstream (docs/security.md §2); pgbench must
    // see only the answers PostgreSQL gives its own messages.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-pgbench-'));
    const script = path.join(dir, 'do-block.sql');
    writeFileSync(
      script,
      [
        '\\set aid random(1, 100000)',
        'SELECT abalance FROM pgbench_accounts WHERE aid = :aid;',
        'DO $$ BEGIN PERFORM 1; END $$;',
        'SELECT abalance FROM pgbench_accounts WHERE aid = :aid;',
        '',
      ].join('\n'),
    );
    const r = await run('pgbench', ['-n', '-M', 'prepared', '-c', '2', '-t', '30', '-f', script], {
      env: env(),
    });
    expect(r.stderr).not.toMatch(/error|FATAL/i);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('number of transactions actually processed: 60/60');
  });

  it('runs the read-write TPC-B-like script', async () => {
    const r = await run('pgbench', ['-n', '-c', '2', '-t', '30'], { env: env() });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('number of transactions actually processed: 60/60');
  });
});
