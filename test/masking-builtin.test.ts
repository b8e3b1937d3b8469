// A masked profile without column rules of its own (masking by the content detectors only) still
// masks what no detector can judge: other sessions' statement texts and the server's credentials
// (docs/security.md classes 116 and 231), through the real wire against a real PostgreSQL, in the
// simple protocol and the extended protocol with text and binary results.

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const ROLE = 'rt231_md5_role';
const ROLE_PASSWORD = 'hunter2hunter2xq';
const SERVER_PASSWORD = 'srvPassw0rdZedQ';
const MAPPING_PASSWORD = 'umPassw0rdZedQ';

const SETUP = `
  CREATE TABLE people (id int PRIMARY KEY, name text, born date, amount numeric);
  INSERT INTO people VALUES (1, 'ada', '1815-12-10', 12.50), (2, 'alan', '1912-06-23', 7.25);
  DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${ROLE}') THEN EXECUTE 'DROP ROLE ${ROLE}'; END IF;
  END $$;
  SET password_encryption = 'md5';
  CREATE ROLE ${ROLE} LOGIN PASSWORD '${ROLE_PASSWORD}';
  RESET password_encryption;
  CREATE FOREIGN DATA WRAPPER fdw231;
  CREATE SERVER srv231 FOREIGN DATA WRAPPER fdw231 OPTIONS (host 'db.internal', password '${SERVER_PASSWORD}');
  CREATE USER MAPPING FOR PUBLIC SERVER srv231 OPTIONS (user 'app', password '${MAPPING_PASSWORD}');
`;

/** A person whose results are masked and who may run anything. */
const MASKED_PERSON: PolicyConfig = {
  id: 'masked-people',
  subjects: { groups: ['analysts'] },
  connections: ['app'],
  rules: [{ id: 'analysts-all-masked', effect: 'allow', match: {}, mask: true }],
};

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: [...defaultAgentPolicies(['app'], { mask: true }), MASKED_PERSON],
    setupSql: SETUP,
    // No column rules: the content detectors only.
    extra: { masking: { style: 'redact' } },
  });
});
afterAll(async () => {
  await gw?.stop();
});

interface Tapped {
  readonly client: pg.Client;
  /** Everything received since the last call, as text. */
  readonly take: () => string;
}

async function connect(groups: string[], agent: boolean, subject: string): Promise<Tapped> {
  const client = gw.client(await gw.token({ subject, groups, agent }));
  const chunks: Buffer[] = [];
  client.on('notice', () => undefined);
  await client.connect();
  (client as unknown as { connection: { stream: NodeJS.ReadableStream } }).connection.stream.on(
    'data',
    (d: Buffer) => chunks.push(d),
  );
  return { client, take: () => Buffer.concat(chunks.splice(0)).toString('latin1') };
}

type Outcome =
  | { readonly ok: true; readonly rows: Record<string, unknown>[] }
  | { readonly ok: false; readonly error: pg.DatabaseError };

async function attempt(t: Tapped, sql: string | pg.QueryConfig): Promise<Outcome> {
  try {
    const r = await t.client.query(sql);
    return { ok: true, rows: r.rows as Record<string, unknown>[] };
  } catch (e) {
    return { ok: false, error: e as pg.DatabaseError };
  }
}

const modes = (sql: string): (string | pg.QueryConfig)[] => [
  sql,
  { text: sql, queryMode: 'extended' } as pg.QueryConfig,
  { text: sql, queryMode: 'extended', binary: true } as pg.QueryConfig,
];

function expectNone(bytes: string, values: readonly string[], label: string): void {
  const lower = bytes.toLowerCase();
  for (const v of values) expect(lower.includes(v.toLowerCase()), `${label} leaked ${v}`).toBe(false);
}

describe("class 116: other sessions' statement texts under a profile without column rules", () => {
  // Values no detector recognises: a word, and a card written in two literals.
  const SECRET = 'yakWombatSecret4242';
  const CARD_TAIL = '411111111111';

  it('pg_stat_activity.query and its kin are masked whole; ordinary queries are untouched', async () => {
    const dba = await connect(['dba'], false, 'dana');
    const agent = await connect(['ai-agents'], true, 'claude');
    const person = await connect(['analysts'], false, 'ana');
    try {
      // The DBA's session stays idle with this as its last statement.
      await dba.client.query(`SELECT '${SECRET}' AS w, '4111' || '${CARD_TAIL}1111' AS c`);
      const leaks = [
        SECRET,
        CARD_TAIL,
        [...SECRET].reverse().join(''),
        Buffer.from(SECRET).toString('base64'),
      ];
      for (const who of [agent, person]) {
        for (const q of modes('SELECT pid, state, query FROM pg_stat_activity')) {
          who.take();
          const o = await attempt(who, q);
          expectNone(who.take(), leaks, 'pg_stat_activity');
          expect(o.ok).toBe(true);
          if (o.ok) for (const r of o.rows) expect(r.query).toBe('[REDACTED:statement_text]');
        }
        for (const sql of [
          'SELECT a.* FROM pg_catalog.pg_stat_activity a',
          'SELECT upper(query) FROM pg_stat_activity',
          "SELECT translate(query, 'abcdefghijklmnopqrstuvwxyz0123456789', 'bcdefghijklmnopqrstuvwxyz0123456789a') FROM pg_stat_activity",
          "SELECT encode(convert_to(query, 'UTF8'), 'base64') FROM pg_stat_activity",
          'SELECT reverse(query) FROM pg_stat_activity',
          'SELECT to_jsonb(a) FROM pg_stat_activity a',
          'SELECT (SELECT string_agg(query, $$;$$) FROM pg_stat_activity) AS q',
          'SELECT query FROM pg_stat_get_activity(NULL)',
          'SELECT pg_stat_get_backend_activity(s) FROM pg_stat_get_backend_idset() s',
          'COPY (SELECT query FROM pg_stat_activity) TO STDOUT',
          'COPY (SELECT upper(query) FROM pg_stat_activity) TO STDOUT',
          // SQL given as text, and relations named by a string: the names are not in the parse.
          "SELECT query_to_xml('SELECT upper(query) AS q FROM pg_stat_activity', false, false, '')",
          "SELECT table_to_xml('pg_catalog.pg_stat_activity', false, false, '')",
          "SELECT cursor_to_xml('c', 10, false, false, '')",
        ]) {
          for (const q of modes(sql)) {
            if (sql.startsWith('COPY') && typeof q !== 'string') continue;
            who.take();
            await attempt(who, q);
            expectNone(who.take(), leaks, sql);
          }
        }
        // A prepared statement and a cursor over the view, run by name.
        who.take();
        await attempt(who, 'PREPARE p230 AS SELECT upper(query) AS q FROM pg_stat_activity');
        await attempt(who, 'EXECUTE p230');
        await attempt(who, 'DEALLOCATE p230');
        await attempt(who, 'BEGIN');
        await attempt(who, 'DECLARE c230 CURSOR FOR SELECT lower(query) AS q FROM pg_stat_activity');
        await attempt(who, 'FETCH ALL FROM c230');
        await attempt(who, 'COMMIT');
        // In one query string: the cursor is not the session's yet when FETCH is decided.
        await attempt(
          who,
          'BEGIN; DECLARE c231 CURSOR FOR SELECT upper(query) AS q FROM pg_stat_activity; FETCH ALL FROM c231; COMMIT',
        );
        await attempt(who, 'PREPARE p231 AS SELECT reverse(query) AS q FROM pg_stat_activity; EXECUTE p231');
        expectNone(who.take(), leaks, 'PREPARE/EXECUTE, DECLARE/FETCH');
      }
      // The agent: the functions behind the view are untraceable (refused).
      for (const sql of [
        'SELECT query FROM pg_stat_get_activity(NULL)',
        "SELECT query_to_xml('SELECT upper(query) AS q FROM pg_stat_activity', false, false, '')",
      ]) {
        const f = await attempt(agent, sql);
        expect(!f.ok && f.error.detail, sql).toContain('masking-lineage-unproven');
      }
      // Monitoring without the texts, and ordinary queries, are untouched: no rule, no lineage.
      const m = await attempt(agent, 'SELECT pid, state, wait_event FROM pg_stat_activity');
      expect(m.ok).toBe(true);
      const plain = await attempt(
        agent,
        "SELECT upper(name) AS n, count(*) AS c, sum(amount) AS s, max(born) AS b, string_agg(name, ',') AS all FROM people GROUP BY name ORDER BY name",
      );
      expect(plain.ok && plain.rows).toEqual([
        { n: 'ADA', c: '1', s: '12.50', b: new Date(1815, 11, 10), all: 'ada' },
        { n: 'ALAN', c: '1', s: '7.25', b: new Date(1912, 5, 23), all: 'alan' },
      ]);
      // The DBA (no mask obligation) still sees the texts.
      const d = await attempt(dba, 'SELECT query FROM pg_stat_activity');
      expect(d.ok && d.rows.some((r) => String(r.query).includes('pg_stat_activity'))).toBe(true);
    } finally {
      await dba.client.end();
      await agent.client.end();
      await person.client.end();
    }
  });
});

describe("class 117: the server's credentials under a profile without column rules", () => {
  it('password verifiers and foreign options are masked for people and refused to agents', async () => {
    const dba = await connect(['dba'], false, 'dana');
    const agent = await connect(['ai-agents'], true, 'claude');
    const person = await connect(['analysts'], false, 'ana');
    try {
      // The DBA sees the md5 verifier and the options: the test reads something real.
      const v = await attempt(dba, `SELECT rolpassword FROM pg_authid WHERE rolname = '${ROLE}'`);
      const verifier = v.ok ? String(v.rows[0]?.rolpassword) : '';
      expect(verifier).toMatch(/^md5[0-9a-f]{32}$/);
      const leaks = [verifier, verifier.slice(3, 20), SERVER_PASSWORD, MAPPING_PASSWORD];
      const reads = [
        `SELECT rolname, rolpassword FROM pg_authid WHERE rolname = '${ROLE}'`,
        `SELECT usename, passwd FROM pg_shadow WHERE usename = '${ROLE}'`,
        `SELECT upper(rolpassword) FROM pg_authid WHERE rolname = '${ROLE}'`,
        'SELECT umoptions FROM pg_user_mappings',
        "SELECT array_to_string(umoptions, ',') FROM pg_catalog.pg_user_mapping",
        'SELECT * FROM information_schema.user_mapping_options',
        'SELECT srvname, srvoptions FROM pg_foreign_server',
        'SELECT reverse(srvoptions::text) FROM pg_foreign_server',
        'SELECT * FROM information_schema.foreign_server_options',
        'SELECT umoptions FROM information_schema._pg_user_mappings',
        'SELECT to_jsonb(s) FROM pg_foreign_server s',
      ];
      for (const sql of reads) {
        for (const q of modes(sql)) {
          person.take();
          const o = await attempt(person, q);
          expectNone(person.take(), leaks, sql);
          expect(o.ok, sql).toBe(true);
        }
        // Agents are refused these catalogs by the default policy.
        const a = await attempt(agent, sql);
        expect(!a.ok && a.error.detail, sql).toContain('agents-no-credential-catalogs');
      }
      // An md5 verifier copied anywhere else is a password hash for the content detectors.
      const copy = await attempt(person, `SELECT 'v: ' || '${verifier}' AS v`);
      expect(copy.ok && copy.rows[0]?.v).toBe('v: [REDACTED:password_hash]');
      // Server names stay readable.
      const names = await attempt(person, 'SELECT srvname FROM pg_foreign_server');
      expect(names.ok && names.rows).toEqual([{ srvname: 'srv231' }]);
    } finally {
      await dba.client.end();
      await agent.client.end();
      await person.client.end();
    }
  });
});
