// Defence in depth (issue 11 §8): a connection maps principals to their own upstream logins, so
// agents run as a least-privilege role. Even with a policy that lets everything through (standing in
// for a classifier bug), the agent's DROP fails at the server, and the DBA keeps the owner's login.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const AGENT_ROLE = `gh_agent_${randomBytes(3).toString('hex')}`;
const AGENT_PASSWORD = `AgPw-${randomBytes(12).toString('hex')}`;
let gw: TestGateway;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-logins-'));
  const passwordFile = path.join(dir, 'agent-password');
  writeFileSync(passwordFile, `${AGENT_PASSWORD}\n`, { mode: 0o600 });
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: [
      {
        id: 'everything',
        subjects: [{ groups: ['testers'] }, { agent: true }],
        connections: ['*'],
        rules: [{ id: 'allow-everything', effect: 'allow', match: {} }],
      },
    ],
    setupSql: `
      CREATE TABLE precious (id int PRIMARY KEY);
      INSERT INTO precious VALUES (1), (2);
      DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${AGENT_ROLE}') THEN
        CREATE ROLE ${AGENT_ROLE} LOGIN PASSWORD '${AGENT_PASSWORD}'; END IF; END $$;
      GRANT SELECT, INSERT, UPDATE, DELETE ON precious TO ${AGENT_ROLE};`,
  });
  // The per-principal login is part of the connection: add it and reload.
  const { readFileSync } = await import('node:fs');
  const text = readFileSync(gw.configFile, 'utf8').replace(
    /password:\n\s+file: upstream-password\n/,
    (m) =>
      `${m}      logins:\n        - subjects: { agent: true }\n          user: ${AGENT_ROLE}\n          password: { file: ${passwordFile} }\n`,
  );
  writeFileSync(gw.configFile, text);
  expect(await gw.gateway.reload()).toEqual({ ok: true });
});
afterAll(async () => {
  await gw?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function as<T>(token: string, f: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = gw.client(token);
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end();
  }
}

describe('per-principal upstream logins', () => {
  it('agents log in as their own role; people keep the connection default', async () => {
    const agent = await gw.token({ subject: 'claude', agent: true, groups: [] });
    const person = await gw.token({ subject: 'dana' });
    expect(await as(agent, async (c) => (await c.query('SELECT current_user AS u')).rows[0].u)).toBe(
      AGENT_ROLE,
    );
    expect(await as(person, async (c) => (await c.query('SELECT current_user AS u')).rows[0].u)).not.toBe(
      AGENT_ROLE,
    );
  });

  it('whatever user name the client gives, the record and the server say which role it got', async () => {
    const agent = await gw.token({ subject: 'named-agent', agent: true, groups: [] });
    const c = gw.client(agent, { user: 'postgres' });
    await c.connect();
    const r = await c.query("SELECT current_user AS u, current_setting('session_authorization') AS a");
    await c.end();
    expect(r.rows[0]).toEqual({ u: AGENT_ROLE, a: AGENT_ROLE });
    const [s] = await gw.gateway.store.listSessions({ subject: 'named-agent', limit: 1 });
    expect(s?.clientUser).toBe('postgres');
    const login = (await gw.gateway.store.getEvents(s!.id)).find((e) => e.type === 'upstream.login');
    expect(login?.data.user).toBe(AGENT_ROLE);
    expect(JSON.stringify(login?.data)).not.toContain(AGENT_PASSWORD);
  });

  it('a DROP that gets past the policy still fails at the server for the agent', async () => {
    const agent = await gw.token({ subject: 'claude', agent: true, groups: [] });
    await as(agent, async (c) => {
      expect((await c.query('SELECT count(*)::int AS n FROM precious')).rows[0].n).toBe(2);
      const e = (await c.query('DROP TABLE precious').catch((x: unknown) => x)) as pg.DatabaseError;
      expect(e.code).toBe('42501');
      expect(e.message).toMatch(/must be owner/);
    });
    const direct = new pg.Client({ connectionString: gw.directUrl });
    await direct.connect();
    expect((await direct.query('SELECT count(*)::int AS n FROM precious')).rows[0].n).toBe(2);
    await direct.end();
  });

  it("the agent role's password appears in no log line", () => {
    expect(gw.logs.join('\n')).not.toContain(AGENT_PASSWORD);
  });
});
