// A ParameterStatus carries whatever value a setting the server reports was given, and code
// Gatehouse cannot see into can give it one: `set_config('application_name', <a masked column>,
// false)` in a DO block, a function, or a row-level security policy that a plain read runs. The
// client's own values (startup, SET, set_config, RESET) are relayed as they are; any other value of
// a setting whose report can hold text is masked whole under column rules, as a notification's
// payload is (docs/security.md, class 244). Through the real listener, the `pg` client and a real
// server; the agent logs in as a least-privilege role, as docs/config.md recommends, so the row-level
// security policy applies to it.

import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const SECRET = 'zebraQuokkaToken77xx';
const AGENT_ROLE = `gh_agent_${randomBytes(3).toString('hex')}`;
const AGENT_PASSWORD = `AgPw-${randomBytes(12).toString('hex')}`;

/** A person whose results are masked and who may run anything, DO blocks included. */
const MASKED_PERSON: PolicyConfig = {
  id: 'masked-people',
  subjects: { groups: ['analysts'] },
  connections: ['app'],
  rules: [{ id: 'analysts-all-masked', effect: 'allow', match: {}, mask: true }],
};

let gw: TestGateway;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-param-status-'));
  const passwordFile = path.join(dir, 'agent-password');
  writeFileSync(passwordFile, `${AGENT_PASSWORD}\n`, { mode: 0o600 });
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: [...defaultAgentPolicies(['app'], { mask: true }), MASKED_PERSON],
    // The owner planted a row-level security policy whose function (SECURITY DEFINER, as audit
    // helpers are) sets application_name from the vault: a plain read of `notes` runs it.
    setupSql: `
      CREATE TABLE vault (id int PRIMARY KEY, token text NOT NULL);
      INSERT INTO vault VALUES (1, '${SECRET}');
      CREATE TABLE notes (id int PRIMARY KEY, body text);
      INSERT INTO notes VALUES (1, 'hello'), (2, 'world');
      CREATE FUNCTION tag_session() RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER AS $$ BEGIN
        PERFORM set_config('application_name', (SELECT token FROM vault WHERE id = 1), false);
        RETURN true; END $$;
      ALTER TABLE notes ENABLE ROW LEVEL SECURITY;
      CREATE POLICY visible ON notes FOR SELECT USING (tag_session());
      DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${AGENT_ROLE}') THEN
        CREATE ROLE ${AGENT_ROLE} LOGIN PASSWORD '${AGENT_PASSWORD}'; END IF; END $$;
      GRANT SELECT ON notes TO ${AGENT_ROLE};
      CREATE FUNCTION name_session() RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER AS $$
        DECLARE t text := (SELECT token FROM vault WHERE id = 1); c refcursor := t; BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_prepared_statements WHERE name = t) THEN
          EXECUTE format('LISTEN %I', t);
          EXECUTE format('PREPARE %I AS SELECT 1', t);
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_cursors WHERE name = t) THEN OPEN c FOR SELECT 1; END IF;
        PERFORM pg_advisory_lock(('x' || encode(substr(convert_to(t, 'UTF8'), 1, 8), 'hex'))::bit(64)::bigint);
        RETURN true; END $$;
      CREATE TABLE memos (id int PRIMARY KEY, body text);
      INSERT INTO memos VALUES (1, 'memo');
      ALTER TABLE memos ENABLE ROW LEVEL SECURITY;
      CREATE POLICY visible ON memos FOR SELECT USING (name_session());
      GRANT SELECT ON memos TO ${AGENT_ROLE};`,
    extra: {
      masking: { columns: [{ column: 'public.vault.token', style: 'redact', tag: 'vault_token' }] },
    },
  });
  // Agents log in as their own least-privilege role (docs/config.md): add it and reload.
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
  const c = new pg.Client({ connectionString: inject('pgUrl') });
  await c.connect();
  await c.query(`DROP ROLE IF EXISTS ${AGENT_ROLE}`).catch(() => undefined);
  await c.end();
  rmSync(dir, { recursive: true, force: true });
});

interface Tapped {
  readonly client: pg.Client;
  /** ParameterStatus messages received since the last call, as [name, value]. */
  readonly reports: () => [string, string][];
  /** Every byte received so far. */
  readonly bytes: () => string;
}

async function connect(token: string): Promise<Tapped> {
  const client = gw.client(token);
  const chunks: Buffer[] = [];
  const reports: [string, string][] = [];
  client.on('notice', () => undefined);
  await client.connect();
  const connection = (
    client as unknown as {
      connection: NodeJS.EventEmitter & { stream: NodeJS.ReadableStream };
    }
  ).connection;
  connection.stream.on('data', (d: Buffer) => chunks.push(d));
  connection.on('parameterStatus', (m: { parameterName: string; parameterValue: string }) =>
    reports.push([m.parameterName, m.parameterValue]),
  );
  return {
    client,
    reports: () => reports.splice(0),
    bytes: () => Buffer.concat(chunks).toString('latin1'),
  };
}

describe('ParameterStatus values code chose, to a masked principal', { timeout: 60_000 }, () => {
  it('a DO block that sets application_name or TimeZone from a masked column: masked whole', async () => {
    const t = await connect(await gw.token({ subject: 'ann', groups: ['analysts'] }));
    try {
      await t.client.query(
        `DO $$ BEGIN PERFORM set_config('application_name', (SELECT token FROM vault WHERE id = 1), false); END $$`,
      );
      expect(t.reports()).toEqual([['application_name', '[REDACTED:parameter]']]);
      await t.client.query(
        `DO $$ BEGIN PERFORM set_config('TimeZone', '<' || (SELECT token FROM vault WHERE id = 1) || '>+3', false); END $$`,
      );
      expect(t.reports()).toEqual([['TimeZone', '[REDACTED:parameter]']]);
      expect(t.bytes()).not.toContain(SECRET);
    } finally {
      await t.client.end();
    }
  });

  it("an agent's plain read that runs a row-level security policy's code: the value masked whole", async () => {
    const t = await connect(await gw.token({ subject: 'claude', agent: true, groups: [] }));
    try {
      const r = await t.client.query('SELECT id, body FROM notes ORDER BY id');
      expect(r.rows).toEqual([
        { id: 1, body: 'hello' },
        { id: 2, body: 'world' },
      ]);
      expect(t.reports()).toEqual([['application_name', '[REDACTED:parameter]']]);
      expect(t.bytes()).not.toContain(SECRET);
    } finally {
      await t.client.end();
    }
  });

  it("the client's own values come back as the server reports them", async () => {
    const t = await connect(await gw.token({ subject: 'ann2', groups: ['analysts'] }));
    try {
      await t.client.query("SET application_name = 'reporting'");
      await t.client.query("SET TIME ZONE 'europe/paris'");
      await t.client.query("SELECT set_config('application_name', 'nightly', false)");
      expect(t.reports()).toEqual([
        ['application_name', 'reporting'],
        ['TimeZone', 'Europe/Paris'],
        ['application_name', 'nightly'],
      ]);
      await t.client.query('BEGIN');
      await t.client.query("SET LOCAL application_name = 'inside'");
      await t.client.query('COMMIT');
      await t.client.query('RESET ALL');
      const back = t.reports();
      expect(back).toContainEqual(['application_name', 'inside']);
      expect(back).toContainEqual(['application_name', 'nightly']);
      expect(back.some(([, v]) => v.startsWith('[REDACTED'))).toBe(false);
    } finally {
      await t.client.end();
    }
  });

  it('a principal without a mask obligation gets the value as the server reports it', async () => {
    const t = await connect(await gw.token({ subject: 'olga', groups: ['dba'] }));
    try {
      await t.client.query(
        `DO $$ BEGIN PERFORM set_config('application_name', (SELECT token FROM vault WHERE id = 1), false); END $$`,
      );
      expect(t.reports()).toEqual([['application_name', SECRET]]);
    } finally {
      await t.client.end();
    }
  });
});

// The same values read back by asking: SHOW, current_setting() and pg_stat_activity return what code
// set, and Gatehouse cannot tell it from the client's own value. Under column rules a free-text
// setting's value is untraceable (refused for agents, masked whole for people); settings of a closed
// vocabulary read as before (docs/security.md, class 268).
async function answer(c: pg.Client, sql: string, extended = false): Promise<string> {
  try {
    const r = await c.query(
      extended ? ({ text: sql, values: [], queryMode: 'extended' } as pg.QueryConfig) : sql,
    );
    return `rows ${JSON.stringify(r.rows)}`;
  } catch (e) {
    const x = e as pg.DatabaseError;
    return `error ${x.code} ${x.message}`;
  }
}

describe('setting values code chose, read back by a masked principal', { timeout: 60_000 }, () => {
  const READS = [
    'SHOW application_name',
    "SELECT current_setting('application_name') AS v",
    "SELECT pg_catalog.current_setting('search_path', true) AS v",
    'SHOW search_path',
    "SELECT 'x' || current_setting('application_' || 'name') AS v",
    "SELECT ('application_name'::text).current_setting AS v",
  ];

  it("an agent's plain read runs a policy that sets them: SHOW and current_setting are refused", async () => {
    const t = await connect(await gw.token({ subject: 'claude2', agent: true, groups: [] }));
    try {
      await t.client.query('SELECT id, body FROM notes ORDER BY id');
      for (const sql of READS)
        for (const extended of [false, true]) {
          const got = await answer(t.client, sql, extended);
          expect(got, sql).toMatch(/^error 42501 /);
        }
      expect(
        await answer(t.client, 'SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()'),
      ).toBe('rows [{"application_name":"[REDACTED:setting]"}]');
      // Settings of a closed vocabulary read as before.
      expect(await answer(t.client, 'SHOW TRANSACTION ISOLATION LEVEL')).toBe(
        'rows [{"transaction_isolation":"read committed"}]',
      );
      expect(await answer(t.client, "SELECT current_setting('server_version_num') ~ '^[0-9]+$' AS v")).toBe(
        'rows [{"v":true}]',
      );
      expect(t.bytes()).not.toContain(SECRET);
    } finally {
      await t.client.end();
    }
  });

  it('a masked person whose DO block set them gets them masked whole', async () => {
    const t = await connect(await gw.token({ subject: 'ann3', groups: ['analysts'] }));
    try {
      await t.client.query(
        `DO $$ BEGIN PERFORM set_config('application_name', (SELECT token FROM vault WHERE id = 1), false);
           PERFORM set_config('search_path', (SELECT token FROM vault WHERE id = 1) || ', public', false); END $$`,
      );
      for (const sql of READS) {
        const got = await answer(t.client, sql);
        expect(got, sql).toMatch(/^rows \[\{"[a-z_]+":"\[REDACTED:lineage\]"\}\]$/);
      }
      expect(await answer(t.client, 'SHOW DateStyle')).toBe('rows [{"DateStyle":"ISO, MDY"}]');
      // Every setting at once, for a person whose policy allows reading them (`secrets`).
      const all = (await t.client.query('SHOW ALL')).rows as { name: string; setting: string }[];
      expect(all.find((r) => r.name === 'application_name')?.setting).toBe('[REDACTED:lineage]');
      expect(
        await answer(t.client, "SELECT name, setting FROM pg_settings WHERE name = 'application_name'"),
      ).toBe('rows [{"name":"application_name","setting":"[REDACTED:setting]"}]');
      expect(
        await answer(t.client, "SELECT setting FROM pg_show_all_settings() WHERE name = 'application_name'"),
      ).toBe('rows [{"setting":"[REDACTED:lineage]"}]');
      expect(t.bytes()).not.toContain(SECRET);
    } finally {
      await t.client.end();
    }
  });

  it('a principal without a mask obligation reads them as they are', async () => {
    const t = await connect(await gw.token({ subject: 'olga2', groups: ['dba'] }));
    try {
      await t.client.query(
        `DO $$ BEGIN PERFORM set_config('application_name', (SELECT token FROM vault WHERE id = 1), false); END $$`,
      );
      expect(await answer(t.client, 'SHOW application_name')).toBe(`rows [{"application_name":"${SECRET}"}]`);
    } finally {
      await t.client.end();
    }
  });
});

// The session's channels, prepared statements and cursors are listed by name, and code a statement
// runs without naming it can LISTEN, PREPARE or open a cursor under a name computed from a masked
// column: the functions that list them are untraceable, and the names in their views are masked
// whole by built-in rules (docs/security.md, class 269).
describe('names code chose for session objects, read back by a masked principal', { timeout: 60_000 }, () => {
  it("an agent's plain read runs a policy that LISTENs, PREPAREs and opens a cursor under the token", async () => {
    const t = await connect(await gw.token({ subject: 'claude3', agent: true, groups: [] }));
    try {
      // In a transaction block, so the cursor the policy opens lives on after the read.
      await t.client.query('BEGIN');
      expect((await t.client.query('SELECT id, body FROM memos')).rows).toEqual([{ id: 1, body: 'memo' }]);
      expect(await answer(t.client, 'SELECT name, is_holdable FROM pg_cursors')).toBe(
        'rows [{"name":"[REDACTED:session_name]","is_holdable":false}]',
      );
      expect(await answer(t.client, 'SELECT name, from_sql FROM pg_prepared_statements')).toBe(
        'rows [{"name":"[REDACTED:session_name]","from_sql":true}]',
      );
      expect(await answer(t.client, 'SELECT count(*)::int AS n FROM pg_prepared_statements')).toBe(
        'rows [{"n":1}]',
      );
      await t.client.query('COMMIT');
      // A session's advisory lock keyed by the token's first eight bytes ('zebraQuo': 2053464690, 1632728431).
      expect(
        await answer(t.client, "SELECT classid, objid, objsubid FROM pg_locks WHERE locktype = 'advisory'"),
      ).toBe('rows [{"classid":null,"objid":null,"objsubid":1}]');
      for (const sql of [
        "SELECT * FROM pg_lock_status() WHERE locktype = 'advisory'",
        'SELECT pg_listening_channels() AS c',
        'SELECT * FROM pg_prepared_statement()',
        'SELECT name FROM pg_cursor()',
      ])
        for (const extended of [false, true])
          expect(await answer(t.client, sql, extended), sql).toMatch(
            /^error 42501 Gatehouse: Gatehouse cannot tell which columns/,
          );
      expect(t.bytes()).not.toContain(SECRET);
      expect(t.bytes()).not.toContain('2053464690');
    } finally {
      await t.client.end();
    }
  });
});
