// Masked values reaching a masked client by a way the statement's own text does not show (docs/
// security.md classes 80–81), through the real wire against a real PostgreSQL: a constraint error
// about a row of a table the statement reaches without naming it (a foreign key's cascade, a
// trigger), a value derived from a masked column written into a hashed column and read back as its
// hash, the statement texts of other sessions in pg_stat_activity, a value derived from a column
// whose rule scans with chosen detectors, numbers inside binary records, arrays and ranges, and
// generated columns computed from a masked column; and PostgreSQL's own SCRAM password verifiers.

import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const SEED = readFileSync(new URL('../src/demo/seed.sql', import.meta.url), 'utf8');

const TOKENS = ['zebraQuokkaToken77xx', 'zebraQuokkaToken88yy', 'zebraQuokkaToken99zz'];

const EXTRA = `
  CREATE TABLE accounts (code text PRIMARY KEY);
  INSERT INTO accounts VALUES ('a1'), ('a2'), ('a3');
  CREATE TABLE vault (
    id int PRIMARY KEY,
    acct text NOT NULL REFERENCES accounts (code) ON UPDATE CASCADE ON DELETE SET NULL,
    token text NOT NULL,
    CHECK (acct <> 'closed')
  );
  INSERT INTO vault VALUES (1, 'a1', '${TOKENS[0]}'), (2, 'a2', '${TOKENS[1]}'), (3, 'a3', '${TOKENS[2]}');
  -- Columns the table computes from its masked one.
  ALTER TABLE vault ADD COLUMN token_tail text GENERATED ALWAYS AS (right(token, 10)) STORED;
  ALTER TABLE vault ADD COLUMN token_head text GENERATED ALWAYS AS (upper(left(token, 12))) STORED;
  ALTER TABLE vault ADD COLUMN acct_upper text GENERATED ALWAYS AS (upper(acct)) STORED;
  -- A trigger on a table without rules that writes a row of a ruled one.
  CREATE TABLE audit_events (id serial PRIMARY KEY, what text);
  CREATE FUNCTION touch_vault() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN UPDATE vault SET acct = 'closed' WHERE id = 3; RETURN NEW; END $$;
  CREATE TRIGGER audit_touch AFTER INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION touch_vault();
  -- Columns whose rules scan with the ssn detector (which then also takes the bare 9-digit form).
  CREATE TABLE hr (id int PRIMARY KEY, notes text, ssn_num bigint);
  INSERT INTO hr VALUES (1, 'employee ssn 536227384 on file', 536227384), (2, 'nothing', NULL);
  CREATE TABLE memo (id serial PRIMARY KEY, body text);
  -- No rule: cards stored as numbers, found by the content detectors.
  CREATE TABLE pay (id int, card bigint, cardn numeric);
  INSERT INTO pay VALUES (1, 4111111111111111, 5555555555554444);
`;

const MASKING = {
  style: 'redact',
  columns: [
    { column: 'public.customers.card_number', style: 'partial', tag: 'card_number' },
    { column: 'public.customers.email', style: 'hash', tag: 'customer_email' },
    { column: 'public.customers.phone', style: 'redact', tag: 'customer_phone' },
    { column: 'public.api_keys.secret', style: 'redact', tag: 'api_secret' },
    { column: 'public.vault.token', style: 'redact', tag: 'vault_token' },
    { column: 'public.hr.notes', detectors: ['ssn'] },
    { column: 'public.hr.ssn_num', detectors: ['ssn'] },
  ],
};

/** A person whose results are masked and who may run anything (writes included). */
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
    setupSql: SEED + EXTRA,
    extra: { masking: MASKING },
  });
});
afterAll(async () => gw?.stop());

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

/** The simple protocol, then the extended protocol with text and with binary results. */
const modes = (sql: string): (string | pg.QueryConfig)[] => [
  sql,
  { text: sql, queryMode: 'extended' } as pg.QueryConfig,
  { text: sql, queryMode: 'extended', binary: true } as pg.QueryConfig,
];

function expectNone(bytes: string, values: readonly string[], label: string): void {
  for (const v of values) {
    expect(bytes.includes(v), `${label} leaked ${v}`).toBe(false);
    expect(bytes.includes(v.slice(0, 8)), `${label} leaked part of ${v}`).toBe(false);
  }
}

describe('class 75: a constraint error about a row of a table the statement does not name', () => {
  it('a foreign key cascade, SET NULL and a trigger: the text is withheld, the SQLSTATE kept', async () => {
    const person = await connect(['analysts'], false, 'ana');
    try {
      for (const [sql, code] of [
        // ON UPDATE CASCADE rewrites vault.acct; the CHECK fails on vault's row: before, DETAIL was
        // `Failing row contains (1, closed, zebraQuokkaToken77xx).`
        ["UPDATE accounts SET code = 'closed' WHERE code = 'a1'", '23514'],
        // ON DELETE SET NULL into a NOT NULL column: `Failing row contains (2, null, zebraQuokka…)`.
        ["DELETE FROM accounts WHERE code = 'a2'", '23502'],
        // A trigger writes vault: the same error, from a statement that names only audit_events.
        ["INSERT INTO audit_events (what) VALUES ('x')", '23514'],
      ] as const) {
        for (const q of modes(sql)) {
          person.take();
          const o = await attempt(person, q);
          expectNone(person.take(), TOKENS, sql);
          expect(o.ok, sql).toBe(false);
          if (!o.ok) {
            expect(o.error.code, sql).toBe(code);
            expect(o.error.message, sql).toMatch(/^Gatehouse withheld the text of this error \(SQLSTATE /);
            expect(o.error.message, sql).toContain('public.vault');
            expect(o.error.detail, sql).toBeUndefined();
          }
        }
      }
      // Inside a transaction, as in autocommit.
      await person.client.query('BEGIN');
      person.take();
      const o = await attempt(person, "UPDATE accounts SET code = 'closed' WHERE code = 'a1'");
      expectNone(person.take(), TOKENS, 'in a transaction');
      expect(!o.ok && o.error.detail).toBeFalsy();
      await person.client.query('ROLLBACK');
      // Errors about a row of the table the statement names, which no rule covers, keep their text.
      const dup = await attempt(person, "INSERT INTO accounts VALUES ('a1')");
      expect(!dup.ok && dup.error.detail).toBe('Key (code)=(a1) already exists.');
      const chk = await attempt(
        person,
        "INSERT INTO orders (customer_id, order_no, amount, status) VALUES (1, 'o-x', 1, 'bogus')",
      );
      expect(!chk.ok && chk.error.message).toBe(
        'new row for relation "orders" violates check constraint "orders_status_check"',
      );
    } finally {
      await person.client.end();
    }
  });
});

describe('class 76: a derived value written into a hashed column', () => {
  it('is refused: read back, its hash would be a dictionary of its pieces', async () => {
    const person = await connect(['analysts'], false, 'ana');
    try {
      for (const sql of [
        // Before: allowed; `SELECT email … WHERE id = 1` then gave hmac('a@x.io') exactly when the
        // address starts with `a`, comparable with the hash of a chosen 'a@x.io' in another row.
        "UPDATE customers SET email = substr(email, 1, 1) || '@x.io' WHERE id = 1",
        'UPDATE customers SET email = lower(email) WHERE id = 1',
        'UPDATE customers SET email = secret FROM api_keys WHERE api_keys.id = 1 AND customers.id = 1',
        "INSERT INTO customers (name, email) SELECT 'n', left(email, 3) || '@y.io' FROM customers WHERE id = 2",
      ]) {
        const o = await attempt(person, sql);
        expect(o.ok, sql).toBe(false);
        if (!o.ok) {
          expect(o.error.code, sql).toBe('42501');
          expect(o.error.detail, sql).toContain('masking-write');
        }
      }
      // The column's own value unchanged, or a chosen value, may still go in (it is hashed whole).
      for (const sql of [
        'UPDATE customers SET email = email WHERE id = 1',
        "UPDATE customers SET email = 'someone@example.org' WHERE id = 99",
      ]) {
        const o = await attempt(person, sql);
        expect(o.ok, `${sql}: ${o.ok ? '' : o.error.message}`).toBe(true);
      }
    } finally {
      await person.client.end();
    }
  });
});

describe("class 77: other sessions' statement texts", () => {
  /** A value written by the DBA into a masked column, in a statement of its own. */
  const NEW_SECRET = 'yakWombatSecret4242';

  it('pg_stat_activity.query is masked like a column rule; the functions behind it are untraceable', async () => {
    const dba = await connect(['dba'], false, 'dana');
    const agent = await connect(['ai-agents'], true, 'claude');
    const person = await connect(['analysts'], false, 'ana');
    try {
      // The DBA's session stays idle with this as its last statement.
      await dba.client.query(`UPDATE api_keys SET secret = '${NEW_SECRET}' WHERE id = 4`);
      for (const who of [agent, person]) {
        for (const q of modes('SELECT pid, state, query FROM pg_stat_activity')) {
          who.take();
          const o = await attempt(who, q);
          expectNone(who.take(), [NEW_SECRET], 'pg_stat_activity');
          expect(o.ok).toBe(true);
          if (o.ok) {
            expect(o.rows.length).toBeGreaterThan(1);
            for (const r of o.rows) expect(r.query).toBe('[REDACTED:statement_text]');
          }
        }
        for (const sql of [
          'SELECT a.* FROM pg_catalog.pg_stat_activity a',
          'SELECT upper(query) FROM pg_stat_activity',
          'SELECT to_jsonb(a) FROM pg_stat_activity a',
          'SELECT query FROM pg_stat_get_activity(NULL)',
          'SELECT pg_stat_get_backend_activity(s) FROM pg_stat_get_backend_idset() s',
          "SELECT pid FROM pg_stat_activity WHERE query LIKE '%yakWombat%'",
          'COPY (SELECT query FROM pg_stat_activity) TO STDOUT',
        ]) {
          for (const q of modes(sql)) {
            if (sql.startsWith('COPY') && typeof q !== 'string') continue;
            who.take();
            await attempt(who, q);
            expectNone(who.take(), [NEW_SECRET], sql);
          }
        }
      }
      // The agent: the functions are untraceable (refused), a predicate on the text is held.
      const f = await attempt(agent, 'SELECT query FROM pg_stat_get_activity(NULL)');
      expect(!f.ok && f.error.detail).toContain('masking-lineage-unproven');
      const p = await attempt(agent, "SELECT pid FROM pg_stat_activity WHERE query LIKE '%yak%'");
      expect(!p.ok && p.error.detail).toContain('masking-predicate');
      // Monitoring without the texts is untouched.
      const m = await attempt(agent, 'SELECT pid, state, wait_event FROM pg_stat_activity');
      expect(m.ok).toBe(true);
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

describe('class 78: a value derived from a column whose rule scans with chosen detectors', () => {
  const SSN = '536227384';

  it("is scanned with the rule's detectors too, and may not be written where a read scans with fewer", async () => {
    const agent = await connect(['ai-agents'], true, 'claude');
    const person = await connect(['analysts'], false, 'ana');
    try {
      for (const who of [agent, person]) {
        for (const sql of [
          // Before: each came back with the bare SSN in clear (only `SELECT notes` was scanned with
          // the rule's ssn detector; anything derived got the content detectors, which do not take
          // the bare form).
          "SELECT notes || '' AS v FROM hr WHERE id = 1",
          'SELECT upper(notes) AS v FROM hr WHERE id = 1',
          'SELECT notes::varchar(100) AS v FROM hr WHERE id = 1',
          "SELECT string_agg(notes, ',') AS v FROM hr",
          'SELECT h::text AS v FROM hr h WHERE id = 1',
          "SELECT notes AS v FROM hr WHERE id = 1 UNION ALL SELECT 'a'",
          'SELECT ssn_num + 0 AS v FROM hr WHERE id = 1',
          'SELECT ssn_num::text AS v FROM hr WHERE id = 1',
        ]) {
          for (const q of modes(sql)) {
            who.take();
            const o = await attempt(who, q);
            expect(o.ok, `${sql}: ${o.ok ? '' : o.error.message}`).toBe(true);
            expect(who.take().includes(SSN), sql).toBe(false);
          }
        }
        // The column itself, as before.
        const o = await attempt(who, 'SELECT notes FROM hr WHERE id = 1');
        expect(o.ok && o.rows[0]!.notes).toBe('employee ssn [REDACTED:ssn] on file');
        // Benign rows of the same column are untouched.
        const b = await attempt(who, 'SELECT upper(notes) AS v FROM hr WHERE id = 2');
        expect(b.ok && b.rows[0]!.v).toBe('NOTHING');
      }
      // Writing it where a later read would scan with fewer detectors is refused.
      for (const sql of [
        'INSERT INTO memo (body) SELECT notes FROM hr',
        'INSERT INTO memo (body) SELECT upper(notes) FROM hr',
        'CREATE TEMP TABLE hr_copy AS SELECT notes FROM hr',
      ]) {
        const o = await attempt(person, sql);
        expect(!o.ok && o.error.detail, sql).toContain('masking-write');
      }
      // Back into a column scanned the same way: allowed.
      const ok = await attempt(person, "UPDATE hr SET notes = notes || '' WHERE id = 2");
      expect(ok.ok).toBe(true);
    } finally {
      await agent.client.end();
      await person.client.end();
    }
  });
});

describe('class 79: a number inside a binary record, array of records or range', () => {
  /** The forms a card stored as a number takes on the wire: decimal, int8 and numeric binary. */
  const CARD = 4111111111111111n;
  const CARDN = '5555555555554444';
  const int8Bytes = Buffer.alloc(8);
  int8Bytes.writeBigInt64BE(CARD);
  // numeric binary: base-10000 digit groups 5555 5555 5555 4444 (numeric.c numeric_send).
  const numericDigits = Buffer.from([0x15, 0xb3, 0x15, 0xb3, 0x15, 0xb3, 0x11, 0x5c]);

  it('is decoded by its type and scanned, as in text format', async () => {
    const agent = await connect(['ai-agents'], true, 'claude');
    try {
      for (const sql of [
        // Before, in binary format: the card's eight bytes (or numeric digit groups) in clear; the
        // text form of each was masked.
        'SELECT row(card, 1) AS v FROM pay',
        'SELECT row(cardn, 1) AS v FROM pay',
        'SELECT ARRAY[row(card, 1)] AS v FROM pay',
        'SELECT row(row(card)) AS v FROM pay',
        'SELECT row(ARRAY[cardn]) AS v FROM pay',
        // Before, in text format too: int8range and numrange were relayed untouched.
        'SELECT int8range(card, card + 1) AS v FROM pay',
        'SELECT numrange(cardn, cardn + 1) AS v FROM pay',
        'SELECT int8multirange(int8range(card, card + 1)) AS v FROM pay',
        'SELECT ARRAY[int8range(card, card + 1)] AS v FROM pay',
      ]) {
        for (const q of modes(sql)) {
          agent.take();
          const o = await attempt(agent, q);
          const bytes = Buffer.from(agent.take(), 'latin1');
          expect(o.ok, `${sql}: ${o.ok ? '' : o.error.message}`).toBe(true);
          for (const form of [Buffer.from(CARD.toString()), Buffer.from(CARDN), int8Bytes, numericDigits])
            expect(bytes.includes(form), `${sql} (${JSON.stringify(q)})`).toBe(false);
        }
      }
      // Values without a finding are relayed as they are, in both formats.
      for (const sql of [
        "SELECT row(1, 'hello') AS v",
        'SELECT int8range(1, 10) AS v',
        "SELECT ARRAY[row(1, 'x')] AS v",
      ]) {
        for (const q of modes(sql)) {
          const o = await attempt(agent, q);
          expect(o.ok && o.rows[0]!.v, sql).not.toBeNull();
        }
      }
    } finally {
      await agent.client.end();
    }
  });
});

describe('class 80: a generated column computed from a masked column', () => {
  it('carries what it is computed from', async () => {
    const agent = await connect(['ai-agents'], true, 'claude');
    const person = await connect(['analysts'], false, 'ana');
    // Every 8-character piece of the tokens, as stored and upper-cased (token_head).
    const pieces = TOKENS.flatMap((t) =>
      [t, t.toUpperCase()].flatMap((v) => [...Array(v.length - 7).keys()].map((i) => v.slice(i, i + 8))),
    );
    try {
      for (const who of [agent, person]) {
        for (const sql of [
          // Before: `zebraQuokkaToken77xx`'s last ten characters, `Token77xx`, in clear.
          'SELECT token_tail FROM vault',
          'SELECT token_head FROM vault',
          'SELECT * FROM vault',
          'SELECT v.* FROM vault v',
          'SELECT v FROM vault v',
          'SELECT upper(token_tail) AS t FROM vault',
        ]) {
          for (const q of modes(sql)) {
            who.take();
            const o = await attempt(who, q);
            const bytes = who.take();
            expect(o.ok, `${sql}: ${o.ok ? '' : o.error.message}`).toBe(true);
            for (const p of pieces) expect(bytes.includes(p), `${sql} leaked ${p}`).toBe(false);
          }
        }
        // A generated column computed from columns without rules stays readable.
        const o = await attempt(who, 'SELECT acct_upper FROM vault WHERE id = 2');
        expect(o.ok && o.rows[0]!.acct_upper).toBe('A2');
        const t = await attempt(who, 'SELECT token_tail FROM vault WHERE id = 1');
        expect(t.ok && t.rows[0]!.token_tail).toBe('[REDACTED:vault_token]');
      }
      // A predicate on it is a predicate on the masked column (held for agents).
      const p = await attempt(agent, "SELECT id FROM vault WHERE token_tail LIKE 'T%'");
      expect(!p.ok && p.error.detail).toContain('masking-predicate');
    } finally {
      await agent.client.end();
      await person.client.end();
    }
  });
});

describe("class 81: PostgreSQL's SCRAM verifiers", () => {
  it('are password hashes for the content detectors', async () => {
    const person = await connect(['analysts'], false, 'ana');
    const dba = await connect(['dba'], false, 'dana');
    try {
      // The DBA (no mask obligation) sees verifiers: the test reads something real.
      const d = await attempt(dba, 'SELECT rolpassword FROM pg_authid WHERE rolpassword IS NOT NULL');
      expect(d.ok && d.rows.some((r) => String(r.rolpassword).startsWith('SCRAM-SHA-256$'))).toBe(true);
      for (const sql of [
        // Before: every role's verifier in clear (offline-crackable, as a bcrypt hash is).
        'SELECT rolname, rolpassword FROM pg_authid WHERE rolpassword IS NOT NULL',
        'SELECT usename, passwd FROM pg_shadow WHERE passwd IS NOT NULL',
        "SELECT 'verifier: ' || rolpassword AS v FROM pg_authid WHERE rolpassword IS NOT NULL",
      ]) {
        for (const q of modes(sql)) {
          person.take();
          const o = await attempt(person, q);
          expect(o.ok, sql).toBe(true);
          expect(person.take().includes('SCRAM-SHA-256$'), sql).toBe(false);
          // The verifier columns are masked whole by the built-in rule (class 117); the detector
          // still finds a verifier copied anywhere else (src/masking/detectors.test.ts).
          if (o.ok) expect(JSON.stringify(o.rows)).toContain('[REDACTED:credential]');
        }
      }
    } finally {
      await person.client.end();
      await dba.client.end();
    }
  });
});
