// An agent cannot lift the limits its session starts with (docs/security.md, class 131), through
// the real wire against a real PostgreSQL: the operator sets statement_timeout, lock_timeout and
// idle_in_transaction_session_timeout for the database, and an agent may lower them but not raise or
// turn them off, by SET, SET LOCAL, set_config(), ALTER ROLE … SET, a startup parameter, `options`
// or PGOPTIONS (psql). A person may change them as before.

import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultAgentPolicies } from '../src/policy/default-agent-policy.js';
import { hasCommand, run } from './testkit/commands.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const SEED = readFileSync(new URL('../src/demo/seed.sql', import.meta.url), 'utf8');

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: defaultAgentPolicies(['app'], { mask: true }),
    setupSql:
      SEED +
      `DO $$ BEGIN
         EXECUTE format('ALTER DATABASE %I SET statement_timeout = %L', current_database(), '3s');
         EXECUTE format('ALTER DATABASE %I SET lock_timeout = %L', current_database(), '2s');
         EXECUTE format('ALTER DATABASE %I SET idle_in_transaction_session_timeout = %L', current_database(), '20s');
       END $$;`,
  });
});
afterAll(async () => gw?.stop());

async function outcome(c: pg.Client, sql: string): Promise<string> {
  try {
    const r = await c.query(sql);
    return `ok ${JSON.stringify(r.rows ?? [])}`;
  } catch (e) {
    const x = e as pg.DatabaseError;
    return `error ${x.code} ${x.message}`;
  }
}

async function show(c: pg.Client, name: string): Promise<string> {
  const r = await c.query(`SHOW ${name}`);
  return String((r.rows[0] as Record<string, unknown>)[name]);
}

describe('class 131: the limits an agent session starts with are the gateway’s', () => {
  it('an agent lowers them but cannot lift them', async () => {
    const c = gw.client(await gw.token({ subject: 'claude', groups: [], agent: true }));
    c.on('notice', () => undefined);
    await c.connect();
    try {
      expect(await show(c, 'statement_timeout')).toBe('3s');
      for (const sql of [
        'SET statement_timeout = 0',
        "SET statement_timeout = '1h'",
        'SET SESSION statement_timeout TO 100000',
        "SELECT set_config('statement_timeout', '0', false)",
        "SELECT set_config('lock_timeout', '0', true)",
        'SET lock_timeout = 0',
        'SET idle_in_transaction_session_timeout = 0',
        "SET statement_timeout = '0x7fffffff'",
        "SET statement_timeout = '0.4ms'",
        'ALTER ROLE CURRENT_USER SET statement_timeout = 0',
      ]) {
        expect(await outcome(c, sql), sql).toMatch(/^error 42501 .*session-limit/);
      }
      await c.query('BEGIN');
      expect(await outcome(c, 'SET LOCAL statement_timeout = 0')).toMatch(/^error 42501/);
      await c.query('ROLLBACK');
      expect(await show(c, 'statement_timeout')).toBe('3s');
      expect(await show(c, 'lock_timeout')).toBe('2s');
      expect(await show(c, 'idle_in_transaction_session_timeout')).toBe('20s');

      // Lowering, and going back, run.
      await c.query("SET statement_timeout = '1s'");
      expect(await show(c, 'statement_timeout')).toBe('1s');
      await c.query("SELECT set_config('lock_timeout', '500ms', false)");
      expect(await show(c, 'lock_timeout')).toBe('500ms');
      await c.query('RESET statement_timeout');
      expect(await show(c, 'statement_timeout')).toBe('3s');
      await c.query('SET statement_timeout TO DEFAULT');
      expect(await outcome(c, 'SELECT pg_sleep(3.5)')).toMatch(/^error 57014/);
    } finally {
      await c.end();
    }
  });

  it('a startup parameter or options cannot lift them; a lower one applies', async () => {
    const token = await gw.token({ subject: 'claude', groups: [], agent: true });
    for (const extra of [
      { options: '-c statement_timeout=0' },
      { statement_timeout: 3_600_000 } as Partial<pg.ClientConfig>,
      { options: '--lock_timeout=1d' },
    ]) {
      const c = gw.client(token, extra);
      c.on('error', () => undefined);
      const got = await c.connect().then(
        () => 'connected',
        (e: Error) => e.message,
      );
      await c.end().catch(() => undefined);
      expect(got, JSON.stringify(extra)).toMatch(/session-limit|cannot raise/);
    }
    const c = gw.client(token, { options: '-c statement_timeout=1500' });
    await c.connect();
    try {
      expect(await show(c, 'statement_timeout')).toBe('1500ms');
      expect(await show(c, 'lock_timeout')).toBe('2s');
    } finally {
      await c.end();
    }
  });

  it.skipIf(!hasCommand('psql'))('psql with PGOPTIONS cannot lift them', async () => {
    const token = await gw.token({ subject: 'claude-psql', groups: [], agent: true });
    const env = {
      PGPASSWORD: token,
      PGHOST: '127.0.0.1',
      PGPORT: String(gw.port),
      PGUSER: 'claude',
      PGDATABASE: gw.connection,
      PGCONNECT_TIMEOUT: '5',
      PGSSLMODE: 'disable',
      PGOPTIONS: '-c statement_timeout=0',
    };
    const r = await run('psql', ['-X', '-v', 'ON_ERROR_STOP=1', '-c', 'SHOW statement_timeout'], { env });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/session-limit|cannot raise/);
  });

  it('a person still changes them', async () => {
    const c = gw.client(await gw.token({ subject: 'dana', groups: ['dba'] }));
    await c.connect();
    try {
      await c.query('SET statement_timeout = 0');
      expect(await show(c, 'statement_timeout')).toBe('0');
    } finally {
      await c.end();
    }
  });
});
