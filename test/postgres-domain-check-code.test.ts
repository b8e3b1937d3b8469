// A domain's CHECK constraint is code (and so is a user-defined cast's function): PostgreSQL runs the
// CHECK whenever a value is read into the domain, and into an array, a range or a row type holding
// it — a literal compared with a column of such a type (`tags = '{x}'` runs it for each element), a bound parameter, a cast, a record function's
// column list. Code that runs there can replace what the session holds (a prepared statement, a
// cursor, a setting) behind Gatehouse's back. Through the real wire against a real PostgreSQL: such
// statements are code Gatehouse cannot see into (docs/security.md, class 225) — `procedural` for
// policy, and what they may have replaced is no longer trusted; a domain whose CHECK is PostgreSQL's
// own code stays an ordinary read.

import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { BackendCode, decodeErrorFields, encode, type Frame } from '../src/wire/postgres/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { RawPgClient, msg } from './testkit/raw-pg-client.js';

const SEED = readFileSync(new URL('../src/demo/seed.sql', import.meta.url), 'utf8');
const TOKEN = 'zebraQuokkaToken77xx';

const SETUP = `
  CREATE TABLE vault (id int PRIMARY KEY, note text, token text NOT NULL);
  INSERT INTO vault VALUES (1, 'n1', '${TOKEN}');
  -- An application's validation function that, as a side effect, replaces the session's prepared
  -- statement q with a read of the token under another name (the token's origin column lost).
  CREATE FUNCTION valid_tag(v text) RETURNS boolean LANGUAGE plpgsql AS $$
    BEGIN
      BEGIN EXECUTE 'DEALLOCATE q'; EXCEPTION WHEN OTHERS THEN NULL; END;
      EXECUTE 'PREPARE q AS SELECT token || '''' AS note FROM vault';
      RETURN true;
    END $$;
  CREATE DOMAIN tag AS text CHECK (valid_tag(VALUE));
  CREATE TABLE items (id int, tags tag[]);
  CREATE TYPE pair AS (a tag, b int);
  -- A user-defined cast whose function does the same.
  CREATE TYPE boxed AS (v int);
  CREATE FUNCTION box_int(i int) RETURNS boxed LANGUAGE plpgsql AS $$
    BEGIN PERFORM valid_tag('x'); RETURN ROW(i)::boxed; END $$;
  CREATE CAST (int AS boxed) WITH FUNCTION box_int(int);
  -- A domain whose CHECK is PostgreSQL's own code only.
  CREATE DOMAIN code AS text CHECK (VALUE ~ '^[a-z]+$');
  CREATE TABLE codes (id int, c code);
  INSERT INTO codes VALUES (1, 'abc');
`;

const MASKING = {
  style: 'redact',
  columns: [{ column: 'public.vault.token', style: 'redact', tag: 'vault_token' }],
};

/** A person whose results are masked and who may run anything (user code included). */
const MASKED_PERSON: PolicyConfig = {
  id: 'masked-people',
  subjects: { groups: ['analysts'] },
  connections: ['app'],
  rules: [{ id: 'analysts-all-masked', effect: 'allow', match: {}, mask: true }],
};

/** Statements that read a value into the domain `tag` (simple-protocol texts). */
const TRIGGERS = [
  `SELECT 'x'::tag`,
  `SELECT '{x}'::tag[]`,
  `SELECT count(*) FROM items WHERE tags = '{x}'`,
  `SELECT '(x,1)'::pair`,
  `SELECT * FROM json_to_record('{"a":"x"}') AS r(a tag)`,
  `SELECT 1::boxed`,
];

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: [...defaultAgentPolicies(['app'], { mask: true }), MASKED_PERSON],
    setupSql: SEED + SETUP,
    extra: {
      masking: MASKING,
      // A held statement expires at once: nobody approves in these tests.
      approvals: { rules: { default: { approverGroups: ['dba'], holdTimeout: '1s' } } },
    },
  });
});
afterAll(async () => gw?.stop());

interface Answer {
  rows: string[];
  error?: { code: string; message: string };
  text: string;
}

function answer(frames: readonly Frame[]): Answer {
  const rows: string[] = [];
  let error: Answer['error'];
  for (const f of frames) {
    if (f.type === BackendCode.DataRow) {
      const len = f.body.readInt32BE(2);
      rows.push(len < 0 ? 'NULL' : f.body.toString('utf8', 6, 6 + len));
    } else if (f.type === BackendCode.ErrorResponse && error === undefined) {
      const e = decodeErrorFields(f.body);
      error = { code: e.C ?? '', message: e.M ?? '' };
    }
  }
  return { rows, ...(error ? { error } : {}), text: frames.map((f) => f.body.toString('latin1')).join('|') };
}

async function query(c: RawPgClient, sql: string): Promise<Answer> {
  c.send(msg.query(sql));
  return answer(await c.ready());
}

/** The statement through the extended protocol, with text parameters (and their types' OIDs). */
async function extended(
  c: RawPgClient,
  sql: string,
  params: string[],
  paramTypes: number[] = [],
): Promise<Answer> {
  c.send(encode.parse('', sql, paramTypes), msg.bind('', '', params), msg.execute(''), msg.sync());
  return answer(await c.ready());
}

/** The OID of the domain `tag`, which a Parse may name as a parameter's type. */
async function tagOid(): Promise<number> {
  const d = new pg.Client({ connectionString: gw.directUrl });
  await d.connect();
  try {
    return Number((await d.query(`SELECT 'tag'::regtype::oid AS o`)).rows[0].o);
  } finally {
    await d.end();
  }
}

async function open(person: boolean): Promise<RawPgClient> {
  const token = person
    ? await gw.token({ subject: 'ana', groups: ['analysts'], agent: false })
    : await gw.token({ subject: 'claude', groups: ['ai-agents'], agent: true });
  return RawPgClient.open(gw.port, gw.connection, token);
}

type Trigger = { name: string; run: (c: RawPgClient) => Promise<Answer> };
const ALL_TRIGGERS: Trigger[] = [
  ...TRIGGERS.map((sql) => ({ name: sql, run: (c: RawPgClient) => query(c, sql) })),
  {
    name: 'extended: tags = $1',
    run: (c: RawPgClient) => extended(c, 'SELECT count(*) FROM items WHERE tags = $1', ['{x}']),
  },
  {
    name: 'extended: a parameter whose type the Parse gives as the domain',
    run: async (c: RawPgClient) => extended(c, 'SELECT $1 IS NULL', ['x'], [await tagOid()]),
  },
];

describe('class 225: a domain CHECK that calls code outside pg_catalog is code Gatehouse cannot see into', () => {
  it('an agent: a value read into such a domain is procedural (held, here expired), and nothing is replaced', async () => {
    const c = await open(false);
    try {
      for (const t of ALL_TRIGGERS) {
        expect((await query(c, 'PREPARE q AS SELECT note FROM vault')).error, t.name).toBeUndefined();
        const a = await t.run(c);
        // Held for review as user code, and expired: it did not run.
        expect(a.error?.code, t.name).toBe('42501');
        expect(a.text, t.name).toContain('procedural');
        const after = await query(c, 'EXECUTE q');
        expect(after.rows, t.name).toEqual(['n1']);
        expect(after.text, t.name).not.toContain(TOKEN);
        await query(c, 'DEALLOCATE q');
      }
    } finally {
      c.close();
    }
  });

  it('a person who may run user code: what the CHECK may have replaced is not run as it was decided', async () => {
    const c = await open(true);
    try {
      for (const t of ALL_TRIGGERS) {
        expect((await query(c, 'PREPARE q AS SELECT note FROM vault')).error, t.name).toBeUndefined();
        const a = await t.run(c);
        expect(a.error, t.name).toBeUndefined();
        // The CHECK ran and replaced q upstream; Gatehouse no longer trusts q and refuses it.
        const after = await query(c, 'EXECUTE q');
        expect(after.text, t.name).not.toContain(TOKEN);
        expect(after.error?.message, t.name).toMatch(/runs code Gatehouse cannot see into/);
        await query(c, 'DEALLOCATE q');
      }
    } finally {
      c.close();
    }
  });

  it('a domain whose CHECK is built-in code stays an ordinary read', async () => {
    const c = await open(false);
    try {
      expect((await query(c, 'PREPARE q AS SELECT note FROM vault')).error).toBeUndefined();
      expect((await query(c, `SELECT 'abc'::code`)).rows).toEqual(['abc']);
      expect((await query(c, `SELECT count(*) FROM codes WHERE c = 'abc'`)).rows).toEqual(['1']);
      expect((await extended(c, 'SELECT id FROM codes WHERE c = $1', ['abc'])).rows).toEqual(['1']);
      expect((await query(c, 'EXECUTE q')).rows).toEqual(['n1']);
      await query(c, 'DEALLOCATE q');
    } finally {
      c.close();
    }
  });
});
