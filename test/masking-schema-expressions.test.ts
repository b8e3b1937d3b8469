// Schema statements carry expressions over a relation's rows that run on every row now (a CHECK's
// validation, an index build, a generated column, a USING rewrite) or at every later write (a rule's
// actions, a trigger, a row-level security policy) — docs/security.md class 192. Before, lineage only
// noted which relations such a statement named: a masked person's `ALTER TABLE api_keys ADD CONSTRAINT c
// CHECK (keep(secret))`, where keep() (plpgsql) stores its argument, filled a table with every secret,
// readable in clear; `CREATE RULE … ON UPDATE TO api_keys DO ALSO INSERT INTO box SELECT OLD.secret`
// copied them at the next harmless UPDATE; a trigger did the same; `ALTER COLUMN email TYPE text USING
// substr(email, 1, 1)` put a piece into a hashed column (class 76's dictionary). Now the expressions are
// traced as a query over the relation: masked values handed to code Gatehouse cannot see are
// `masking-sink`, rule actions' writes and USING rewrites are `masking-write`.

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const SECRET = 'schemaExprSecret4';

const SETUP = `
  CREATE TABLE api_keys (id int PRIMARY KEY, service text, val text);
  INSERT INTO api_keys VALUES (1, 'aws', '${SECRET}');
  CREATE TABLE customers (id int PRIMARY KEY, email text);
  INSERT INTO customers VALUES (1, 'ada@example.com');
  CREATE TABLE box (v text);
  CREATE FUNCTION keep(text) RETURNS bool LANGUAGE plpgsql IMMUTABLE
    AS $$ BEGIN INSERT INTO box VALUES ($1); RETURN true; END $$;
  CREATE FUNCTION keep_v(text) RETURNS bool LANGUAGE plpgsql
    AS $$ BEGIN INSERT INTO box VALUES ($1); RETURN true; END $$;
  CREATE FUNCTION keep_row() RETURNS trigger LANGUAGE plpgsql
    AS $$ BEGIN INSERT INTO box VALUES (NEW.val); RETURN NEW; END $$;
  CREATE TABLE plain_items (id int, name text);
  CREATE DOMAIN secret_text AS text;
  CREATE TABLE vault (id int, d secret_text);
  INSERT INTO vault VALUES (1, '${SECRET}');
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
          { column: 'public.customers.email', style: 'hash', tag: 'customer_email' },
          { column: 'public.vault.d', tag: 'vault_d' },
        ],
      },
    },
  });
}, 120_000);
afterAll(async () => gw?.stop());

async function connect(agent: boolean): Promise<pg.Client> {
  const client = gw.client(
    await gw.token(
      agent
        ? { subject: 'claude', groups: ['ai-agents'], agent: true }
        : { subject: 'ana', groups: ['analysts'], agent: false },
    ),
  );
  client.on('notice', () => undefined);
  await client.connect();
  return client;
}

const SINKS = [
  'ALTER TABLE api_keys ADD CONSTRAINT c_keep CHECK (keep(val))',
  'ALTER TABLE api_keys ADD COLUMN g bool GENERATED ALWAYS AS (keep(val)) STORED',
  'CREATE INDEX ON api_keys ((keep(val)))',
  'CREATE INDEX ON api_keys (id) WHERE keep(val)',
  'CREATE TRIGGER t_keep BEFORE UPDATE ON api_keys FOR EACH ROW EXECUTE FUNCTION keep_row()',
  'CREATE POLICY p_keep ON api_keys USING (keep(val))',
  // validated on vault.d, which the statement does not name
  'ALTER DOMAIN secret_text ADD CONSTRAINT d_keep CHECK (keep_v(VALUE))',
];
const WRITES = [
  'CREATE RULE r_copy AS ON UPDATE TO api_keys DO ALSO INSERT INTO box SELECT OLD.val',
  'CREATE RULE r_copy2 AS ON UPDATE TO api_keys DO ALSO INSERT INTO box VALUES (upper(NEW.val))',
  'ALTER TABLE api_keys ALTER COLUMN val TYPE text USING (keep(val))::text',
  'ALTER TABLE customers ALTER COLUMN email TYPE text USING substr(email, 1, 1)',
];

describe('class 192: expressions of schema statements over a ruled relation', () => {
  for (const agent of [false, true]) {
    it(`are refused when they hand a masked value on, for a masked ${agent ? 'agent' : 'person'} (before: the values were stored in clear)`, async () => {
      const c = await connect(agent);
      try {
        for (const [list, rule] of [
          [SINKS, 'masking-sink'],
          [WRITES, 'masking-write'],
        ] as const) {
          for (const sql of list) {
            const refusal = await c.query(sql).then(
              () => undefined,
              (e: pg.DatabaseError) => e,
            );
            expect(refusal?.code, sql).toBe('42501');
            // (The agent's policy refuses some of them outright, before lineage: privileges.)
            expect(refusal?.detail ?? '', sql).toMatch(
              agent ? new RegExp(`${rule}|agents-no-`) : new RegExp(rule),
            );
          }
        }
        if (!agent) {
          // A write that would have fired a rule or trigger: nothing was stored.
          await c.query("UPDATE api_keys SET service = 'aws' WHERE id = 1");
          const box = await c.query('SELECT count(*)::int AS n FROM box');
          expect(box.rows).toEqual([{ n: 0 }]);
        }
      } finally {
        await c.end();
      }
    }, 60_000);
  }

  it('schema statements that hand no masked value on still run', async () => {
    const c = await connect(false);
    try {
      for (const sql of [
        'CREATE INDEX ON api_keys (upper(val))',
        "ALTER TABLE api_keys ADD CONSTRAINT nn CHECK (val <> '')",
        'CREATE RULE r_note AS ON UPDATE TO api_keys DO ALSO NOTIFY api_keys_changed',
        'ALTER TABLE plain_items ADD CONSTRAINT pos CHECK (id >= 0)',
        'CREATE INDEX ON plain_items ((keep(name)))',
        'ALTER TABLE api_keys ALTER COLUMN val TYPE varchar(100)',
        "ALTER DOMAIN secret_text ADD CONSTRAINT d_nonempty CHECK (VALUE <> '')",
      ])
        await c.query(sql);
    } finally {
      await c.end();
    }
  });
});
