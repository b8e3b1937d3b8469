// Column rules name relations and columns; a rename or a move takes a column's values out from under
// the rule that named them (docs/security.md class 191). Before, a masked person's `ALTER TABLE
// api_keys RENAME COLUMN val TO s2` (or an agent's, once an approver let the schema change through)
// ran, and `SELECT s2 FROM api_keys` then returned every value in clear; so did renaming the table,
// moving it to another schema, renaming the schema, renaming a column named like a secret, and
// detaching a partition from the parent a rule names. Now each is a write of the column's values under
// their new name, refused (masking-write) when that name is not masked as strongly; renames that move
// no masked value still run.

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const SECRET = 'renamePlainSecret5';
const PW = 'renamePlainPw8';
const PART = 'renamePartSecret3';

const SETUP = `
  CREATE SCHEMA vaults;
  CREATE TABLE api_keys (id int PRIMARY KEY, service text, val text);
  INSERT INTO api_keys VALUES (1, 'aws', '${SECRET}');
  CREATE TABLE app_users (id int, login text, password text);
  INSERT INTO app_users VALUES (1, 'ann', '${PW}');
  CREATE TABLE ledger (id int, code text) PARTITION BY RANGE (id);
  CREATE TABLE ledger_a PARTITION OF ledger FOR VALUES FROM (0) TO (100);
  INSERT INTO ledger VALUES (1, '${PART}');
  CREATE TABLE things (id int, code text);
  CREATE TABLE secret_things () INHERITS (things);
  INSERT INTO secret_things VALUES (2, '${PART}');
  CREATE TABLE plain_items (id int, name text);
  CREATE TYPE cred AS (login text, password text);
`;

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
    extra: {
      masking: {
        columns: [
          { column: 'public.api_keys.val', tag: 'api_secret' },
          { column: 'public.ledger.code', tag: 'ledger_code' },
          { column: 'public.things.code', tag: 'thing_code' },
        ],
      },
    },
  });
}, 120_000);
afterAll(async () => gw?.stop());

async function connect(agent: boolean): Promise<{ client: pg.Client; wire: () => string }> {
  const client = gw.client(
    await gw.token(
      agent
        ? { subject: 'claude', groups: ['ai-agents'], agent: true }
        : { subject: 'ana', groups: ['analysts'], agent: false },
    ),
  );
  client.on('notice', () => undefined);
  await client.connect();
  const chunks: Buffer[] = [];
  (client as unknown as { connection: { stream: NodeJS.ReadableStream } }).connection.stream.on(
    'data',
    (d: Buffer) => chunks.push(d),
  );
  return { client, wire: () => Buffer.concat(chunks.splice(0)).toString('latin1') };
}

const EVASIONS = [
  'ALTER TABLE api_keys RENAME COLUMN val TO s2',
  'ALTER TABLE api_keys RENAME val TO s2',
  'ALTER TABLE api_keys RENAME TO old_keys',
  'ALTER TABLE public.api_keys SET SCHEMA vaults',
  'ALTER SCHEMA public RENAME TO attic',
  'ALTER TABLE app_users RENAME COLUMN password TO pw',
  'ALTER TABLE ledger DETACH PARTITION ledger_a',
  'ALTER TABLE secret_things NO INHERIT things',
  'ALTER TYPE cred RENAME ATTRIBUTE password TO pw',
  'ALTER TYPE cred RENAME TO cred2',
  'ALTER TYPE cred SET SCHEMA vaults',
];

describe('class 191: renaming or moving what a rule names', () => {
  for (const agent of [false, true]) {
    it(`is refused for a masked ${agent ? 'agent' : 'person'} (before: the values read in clear under the new name)`, async () => {
      const t = await connect(agent);
      try {
        for (const sql of EVASIONS) {
          // The agent's DDL is held for review by its policy, some of it refused outright: the
          // lineage's refusal wins over review, and never lets it run.
          const refusal = await t.client.query(sql).then(
            () => undefined,
            (e: pg.DatabaseError) => e,
          );
          expect(refusal?.code, sql).toBe('42501');
          if (!agent || !refusal?.detail?.includes('agents-deny'))
            expect(refusal?.detail ?? '', sql).toMatch(/masking-write|agents-no-/);
        }
        // Nothing moved: the values are still read masked under the names the rules give.
        for (const sql of [
          'SELECT val FROM api_keys',
          'SELECT password FROM app_users',
          'SELECT code FROM ledger_a',
          'SELECT code FROM secret_things',
        ]) {
          await t.client.query(sql);
          const seen = t.wire();
          for (const s of [SECRET, PW, PART]) expect(seen, sql).not.toContain(s);
        }
      } finally {
        await t.client.end();
      }
    }, 60_000);
  }

  it('renames that move no masked value run', async () => {
    const t = await connect(false);
    try {
      await t.client.query('ALTER TABLE plain_items RENAME COLUMN name TO title');
      await t.client.query('ALTER TABLE plain_items RENAME TO items');
      await t.client.query('ALTER TABLE api_keys RENAME COLUMN service TO provider');
      // A column named like a secret stays masked by its name under any table's name.
      await t.client.query('ALTER TABLE app_users RENAME TO people');
      await t.client.query('SELECT password FROM people');
      expect(t.wire()).not.toContain(PW);
      const r = await t.client.query('SELECT provider FROM api_keys');
      expect(r.rows).toEqual([{ provider: 'aws' }]);
    } finally {
      await t.client.end();
    }
  });
});
