// Masking that follows the data (issue 12), through the real wire: the demo's schema and column
// rules in a real PostgreSQL, the `pg` client as the demo agent, and every probe of the issue (the 15
// adversarial ones, the hand-found ones, and more of each kind). Each probe's received bytes are
// searched for every sensitive value, its case variants, its digits, base64 and hex, and every
// 6-character piece of it. Benign queries over the same tables must come back exactly as the DBA
// sees them.

import { readFileSync } from 'node:fs';
import { Client as McpClient } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { defaultAgentPolicies } from '../src/policy/index.js';
import { hasCommand, run } from './testkit/commands.js';
import { RawPgClient, errorsIn, msg } from './testkit/raw-pg-client.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const SEED = readFileSync(new URL('../src/demo/seed.sql', import.meta.url), 'utf8');

/** The demo's column rules (src/demo/demo-config.ts). */
const MASKING = {
  style: 'redact',
  columns: [
    { column: 'public.customers.card_number', style: 'partial', tag: 'card_number' },
    { column: 'public.customers.email', style: 'hash', tag: 'customer_email' },
    { column: 'public.customers.phone', style: 'redact', tag: 'customer_phone' },
    { column: 'public.api_keys.secret', style: 'redact', tag: 'api_secret' },
  ],
};

const EXTRA = `
  CREATE VIEW api_keys_v AS SELECT id, service, secret FROM api_keys;
  CREATE VIEW shouting AS SELECT id, upper(v.secret) AS s FROM api_keys_v v;
  CREATE MATERIALIZED VIEW customer_cards AS SELECT id, name, card_number FROM customers;
  CREATE FUNCTION get_secret(k int) RETURNS text LANGUAGE plpgsql STABLE
    AS $$ BEGIN RETURN (SELECT secret FROM api_keys WHERE id = k); END $$;
  CREATE TABLE vip_customers () INHERITS (customers);
  INSERT INTO vip_customers (name, email, phone, card_number)
    VALUES ('Vera Vip', 'vera@example.com', '+1 212 555 0199', '4000056655665556');
  ANALYZE customers; ANALYZE api_keys; ANALYZE vip_customers;
`;

/** A person whose results are masked and who may run anything (the `mask` mode for people). */
const MASKED_PERSON: PolicyConfig = {
  id: 'masked-people',
  subjects: { groups: ['analysts'] },
  connections: ['app'],
  rules: [{ id: 'analysts-all-masked', effect: 'allow', match: {}, mask: true }],
};

let gw: TestGateway;
let SECRETS: string[] = [];

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: [...defaultAgentPolicies(['app'], { mask: true }), MASKED_PERSON], // its `dba` group is unmasked
    setupSql: SEED + EXTRA,
    extra: {
      masking: MASKING,
      recording: { inlineSampleBytes: 1_000_000 },
      listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
    },
  });
  const direct = new pg.Client({ connectionString: gw.directUrl });
  await direct.connect();
  const c = await direct.query<{ v: string }>(
    `SELECT card_number AS v FROM customers UNION ALL SELECT email FROM customers
     UNION ALL SELECT phone FROM customers UNION ALL SELECT secret FROM api_keys`,
  );
  await direct.end();
  SECRETS = c.rows.map((r) => r.v);
  expect(SECRETS.length).toBe(7 * 3 + 4);
});
afterAll(async () => gw?.stop());

// ---------------------------------------------------------------- clients and leak checks

interface Tapped {
  readonly client: pg.Client;
  /** Bytes received since the last call. */
  readonly take: () => Buffer;
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
  return { client, take: () => Buffer.concat(chunks.splice(0)) };
}

function windows(s: string, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i + n <= s.length; i++) {
    const w = s.slice(i, i + n);
    if (new Set(w).size >= 3) out.push(w); // runs like 000000 say nothing about one value
  }
  return out;
}

/** Every form of every sensitive value a probe must not return. */
function forms(): string[] {
  const out = new Set<string>();
  for (const s of SECRETS) {
    const digits = s.replace(/\D/g, '');
    for (const v of [s, s.toUpperCase(), s.toLowerCase(), [...s].reverse().join('')]) out.add(v);
    out.add(Buffer.from(s).toString('base64').replace(/=+$/, ''));
    out.add(Buffer.from(s).toString('hex'));
    for (const w of windows(s, 6)) out.add(w);
    if (digits.length >= 8) for (const w of windows(digits, 6)) out.add(w);
  }
  return [...out];
}

function expectNoLeak(bytes: Buffer, label: string): void {
  const text = bytes.toString('latin1');
  for (const f of forms()) expect(text.includes(f), `${label} leaked "${f}"`).toBe(false);
}

/**
 * A cell that shows nothing of a value: NULL, a redaction tag, a hash, or a JSON string of one (a
 * binary jsonb keeps its version byte, stripped before matching).
 */
const MASKED = /^"?(\[REDACTED:[a-z_:]+\]|hmac:[0-9a-f]{16})"?$/;

function expectMaskedCells(rows: Record<string, unknown>[], label: string): void {
  expect(rows.length, label).toBeGreaterThan(0);
  for (const row of rows) {
    for (const [k, v] of Object.entries(row)) {
      if (v === null) continue;
      const s = Buffer.isBuffer(v) ? v.toString('utf8') : typeof v === 'string' ? v : JSON.stringify(v);
      expect(s.startsWith('\u0001') ? s.slice(1) : s, `${label}: ${k}`).toMatch(MASKED);
    }
  }
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

let agent: Tapped;
let person: Tapped;
beforeAll(async () => {
  agent = await connect(['ai-agents'], true, 'claude');
  person = await connect(['analysts'], false, 'ana');
});
afterAll(async () => {
  await agent?.client.end();
  await person?.client.end();
});

type Expectation = 'masked' | 'refused' | 'withheld' | 'safe' | 'any';

/**
 * Runs a probe as the agent, through the simple protocol, then the extended protocol with text and
 * with binary results: each time it must come back masked whole, or refused, and leak nothing.
 * Returns what the simple protocol gave.
 */
async function probe(sql: string, expectation: Expectation = 'any', who = agent) {
  const simple = await probeOnce(sql, expectation, who);
  for (const binary of [false, true]) {
    const o = await probeOnce(
      { text: sql, queryMode: 'extended', ...(binary ? { binary: true } : {}) } as pg.QueryConfig,
      expectation,
      who,
    );
    // The same answer whichever protocol carried it (rows masked, or the same refusal).
    expect(o.ok, `${sql} (extended${binary ? ', binary' : ''})`).toBe(simple.ok);
    if (!o.ok && !simple.ok) expect(o.error.code, sql).toBe(simple.error.code);
  }
  return simple;
}

async function probeOnce(sql: string | pg.QueryConfig, expectation: Expectation, who: Tapped) {
  who.take();
  const o = await attempt(who, sql);
  const label =
    typeof sql === 'string'
      ? sql
      : `${sql.text} (extended${(sql as { binary?: boolean }).binary ? ', binary' : ''})`;
  expectNoLeak(who.take(), label);
  if (expectation === 'masked') {
    expect(o.ok, `${label}: ${o.ok ? '' : o.error.message}`).toBe(true);
    if (o.ok) expectMaskedCells(o.rows, label);
  } else if (expectation === 'refused') {
    expect(o.ok, label).toBe(false);
    if (!o.ok) expect(o.error.code, `${label}: ${o.error.message}`).toBe('42501');
  } else if (expectation === 'withheld' || (expectation === 'safe' && !o.ok)) {
    expect(o.ok, label).toBe(false);
    if (!o.ok)
      expect(o.error.message, label).toMatch(/^Gatehouse withheld the text of this error \(SQLSTATE /);
  } else if (expectation === 'safe' && o.ok) {
    expectMaskedCells(o.rows, label);
  }
  return o;
}

/** A probe refused in every protocol (42501), naming `rule` in DETAIL. */
async function refusedBy(sql: string, rule: string, who = agent): Promise<void> {
  const o = await probe(sql, 'refused', who);
  expect(!o.ok && o.error.detail, sql).toContain(rule);
}

// ---------------------------------------------------------------- the probes

describe('the adversarial probes of issue 12 come back masked whole', () => {
  it('the 15 that returned values before, and their neighbours', async () => {
    for (const sql of [
      'SELECT upper(secret) FROM api_keys',
      'SELECT lower(secret) FROM api_keys',
      "SELECT concat_ws(' ', 'v:', secret) FROM api_keys",
      'SELECT ARRAY[secret::text] FROM api_keys',
      'SELECT xmlelement(name v, secret) FROM api_keys',
      "SELECT substr(card_number, 1, 6) || '-' || substr(card_number, 7) FROM customers",
      "SELECT regexp_replace(card_number, '(.)', '\\1 ', 'g') FROM customers",
      "SELECT encode(textsend(email), 'base64') FROM customers",
      "SELECT encode(textsend(email), 'hex') FROM customers",
      'SELECT reverse(card_number) FROM customers',
      "SELECT translate(secret, 'abcdef', 'ABCDEF') FROM api_keys",
      "SELECT overlay(card_number placing 'X' from 1 for 1) FROM customers",
      'SELECT initcap(email) FROM customers',
      "SELECT replace(phone, ' ', '') FROM customers",
      'SELECT md5(secret) FROM api_keys',
      'SELECT length(secret), ascii(secret) FROM api_keys',
      "SELECT split_part(email, '@', 2) FROM customers",
      'SELECT jsonb_build_array(secret) FROM api_keys',
      "SELECT json_build_object('s', secret) FROM api_keys",
      'SELECT xmlforest(secret) FROM api_keys',
      "SELECT lpad(card_number, 30, '*') FROM customers",
      'SELECT coalesce(NULL, phone) FROM customers',
      "SELECT CASE WHEN secret LIKE 'w%' THEN 'yes' ELSE 'no' END FROM api_keys",
      'SELECT secret = secret FROM api_keys',
    ])
      await probe(sql, 'masked');
    // Aggregates that collect every row grow with the rows a join multiplies, to the server's size
    // limits (class 212): held for the agent, masked whole for a masked person.
    for (const sql of [
      'SELECT array_agg(secret) FROM api_keys',
      "SELECT string_agg(secret, ',') FROM api_keys",
      'SELECT json_agg(secret) FROM api_keys',
      'SELECT xmlagg(xmlelement(name v, secret)) FROM api_keys',
    ]) {
      await refusedBy(sql, 'masking-predicate');
      await probe(sql, 'masked', person);
    }
  });

  it('the rest of them hand the value to something that can fail on it: a one-bit predicate', async () => {
    // Whether a statement fails (and its SQLSTATE, kept when the text is withheld) is a bit of the
    // value: these count as predicates (held for review for agents; masked or withheld for people).
    for (const sql of [
      "SELECT encode(convert_to(email, 'UTF8'), 'base64') FROM customers",
      "SELECT encode(convert_to(email, 'UTF8'), 'hex') FROM customers",
      "SELECT format('%s', secret) FROM api_keys",
      'SELECT secret::bytea FROM api_keys',
      'SELECT to_tsvector(secret) FROM api_keys',
      'SELECT secret::tsquery FROM api_keys WHERE id = 1',
    ]) {
      await refusedBy(sql, 'masking-predicate');
      await probe(sql, 'safe', person);
    }
  });

  it('hand-found: a truncating cast (15 digits and Luhn give the card) and whole-value casts', async () => {
    const o = await probe('SELECT card_number::varchar(18) AS c FROM customers', 'masked');
    // Transformed values are never shown in part: partial degrades to redact.
    if (o.ok) expect(o.rows[0]!.c).toBe('[REDACTED:card_number]');
    await probe('SELECT card_number::char(15) FROM customers', 'masked');
    await probe('SELECT left(card_number, 15) FROM customers', 'masked');
  });

  it('hand-found: values echoed in errors (reg* casts, failing casts, parsers) are withheld', async () => {
    for (const sql of [
      'SELECT secret::regproc FROM api_keys',
      'SELECT quote_ident(secret)::regclass FROM api_keys',
      'SELECT secret::regclass FROM api_keys',
      'SELECT secret::regtype FROM api_keys',
      'SELECT secret::regnamespace FROM api_keys',
      'SELECT secret::regrole FROM api_keys',
      'SELECT secret::regconfig FROM api_keys',
      'SELECT secret::int FROM api_keys',
      'SELECT secret::json FROM api_keys',
      'SELECT secret::jsonpath FROM api_keys',
      'SELECT secret::xml FROM api_keys',
      'SELECT xmlparse(document secret) FROM api_keys',
      'SELECT to_tsquery(secret) FROM api_keys',
      'SELECT current_setting(secret) FROM api_keys',
      "SELECT has_table_privilege(secret, 'select') FROM api_keys",
      "SELECT decode(secret, 'base64') FROM api_keys",
      'SELECT card_number::int FROM customers',
      "SELECT to_date(card_number, 'YYYY-MM-DD') FROM customers",
      'SELECT (SELECT secret FROM api_keys WHERE id = 1)::numeric',
    ]) {
      // For people (maskedPredicates: allow) the statement runs and its error text is withheld; for
      // agents, whether it fails is itself a bit of the value: refused as a predicate.
      await probe(sql, 'safe', person);
      // A setting named by a column is a read of stored settings (class 112), refused before lineage.
      await refusedBy(
        sql,
        sql.includes('current_setting') ? 'agents-no-stored-settings' : 'masking-predicate',
      );
    }
    // In a predicate too (people may filter on masked columns by default).
    await probe('SELECT id FROM api_keys WHERE secret::regclass IS NOT NULL', 'withheld', person);
    // The SQLSTATE is kept, so the client knows what kind of error it was.
    const o = await probe('SELECT secret::regclass FROM api_keys', 'withheld', person);
    if (!o.ok) {
      expect(o.error.code).toBe('42P01');
      expect(o.error.message).toContain('public.api_keys.secret');
      expect(o.error.detail).toBeUndefined();
    }
    // An error PostgreSQL raises while analysing the text itself quotes only the text: kept.
    const typo = await probe('SELECT secrett FROM api_keys');
    expect(typo.ok).toBe(false);
    if (!typo.ok) expect(typo.error.message).toBe('column "secrett" does not exist');
  });

  it('statistics catalogs that hold samples are refused (after ANALYZE they hold the values)', async () => {
    for (const sql of [
      "SELECT histogram_bounds::text, most_common_vals::text FROM pg_stats WHERE tablename = 'api_keys'",
      'SELECT stavalues1::text FROM pg_statistic',
      'SELECT * FROM pg_catalog.pg_stats',
      'SELECT * FROM pg_stats_ext',
      'SELECT * FROM pg_stats_ext_exprs',
      'SELECT * FROM pg_statistic_ext_data',
    ]) {
      await refusedBy(sql, 'masking-statistics');
    }
    const dba = await connect(['dba'], false, 'dana-stats');
    try {
      const r = await dba.client.query(
        "SELECT count(*)::int AS n FROM pg_stats WHERE tablename = 'api_keys'",
      );
      expect(r.rows[0].n).toBeGreaterThan(0);
    } finally {
      await dba.client.end();
    }
  });
});

describe('lineage follows the data through every construct', () => {
  it('subqueries, CTEs (recursive too), set operations, VALUES and LATERAL', async () => {
    for (const sql of [
      'SELECT (SELECT upper(secret) FROM api_keys LIMIT 1)',
      'SELECT x FROM (SELECT lower(secret) AS x FROM api_keys) s',
      'WITH w AS (SELECT secret || $$!$$ AS s FROM api_keys) SELECT s FROM w',
      `WITH RECURSIVE r(i, c) AS (
         SELECT 1, substr(secret, 1, 1) FROM api_keys WHERE id = 1
         UNION ALL
         SELECT i + 1, (SELECT substr(secret, i + 1, 1) FROM api_keys WHERE id = 1) FROM r WHERE i < 45)
       SELECT string_agg(c, '') FROM r`,
      'SELECT name FROM customers UNION ALL SELECT secret FROM api_keys',
      'SELECT secret FROM api_keys INTERSECT SELECT secret FROM api_keys',
      'SELECT s FROM api_keys k, LATERAL (VALUES (k.secret)) v(s)',
      'SELECT u FROM api_keys k, LATERAL unnest(string_to_array(k.secret, NULL)) u',
      'SELECT substr(secret, g, 1) FROM api_keys, generate_series(1, 45) g',
      'SELECT value FROM api_keys k, jsonb_each_text(to_jsonb(k)) WHERE key = $$secret$$',
      'SELECT jsonb_path_query(to_jsonb(k), $$$.secret$$) FROM api_keys k',
      `SELECT * FROM api_keys k, JSON_TABLE(to_jsonb(k), '$' COLUMNS (s text PATH '$.secret')) jt`,
      'SELECT first_value(secret) OVER (), lag(secret) OVER (ORDER BY id) FROM api_keys',
      'SELECT max(secret), min(email) FROM api_keys, customers',
      'SELECT (SELECT array_agg(secret) FROM api_keys)::text',
      'SELECT (k).secret FROM api_keys k',
      'SELECT upper((k).secret) FROM api_keys k',
      'SELECT row_to_json(k), to_jsonb(k), to_json(k.*) FROM api_keys k',
      'SELECT row(k.*)::text FROM api_keys k',
      'SELECT k::text FROM api_keys k',
      'SELECT k.text FROM api_keys k',
      'SELECT secret FROM api_keys TABLESAMPLE SYSTEM (100)',
    ]) {
      const o = await probe(sql);
      if (o.ok)
        expectMaskedCells(
          o.rows.map((r) =>
            Object.fromEntries(
              Object.entries(r).filter(
                ([k]) => !['id', 'customer_id', 'service', 'key_id', 'created_at'].includes(k),
              ),
            ),
          ),
          sql,
        );
    }
  });

  it('views and materialized views resolve to their base columns; child tables take their parent rules', async () => {
    const v = await probe('SELECT secret FROM api_keys_v', 'masked');
    if (v.ok) expect(v.rows.every((r) => r.secret === '[REDACTED:api_secret]')).toBe(true);
    await probe('SELECT upper(secret) FROM api_keys_v', 'masked');
    await probe('SELECT s FROM shouting', 'masked');
    // Unchanged through the materialized view: the rule's own style (partial) applies.
    const m = await probe('SELECT card_number FROM customer_cards ORDER BY id');
    expect(m.ok && m.rows[0]!.card_number).toBe('**** **** **** 1111');
    const c = await probe('SELECT card_number, email FROM vip_customers');
    expect(c.ok && c.rows[0]!.card_number).toBe('************5556');
    expect(c.ok && c.rows[0]!.email).toMatch(/^hmac:/);
    await probe('SELECT upper(card_number) FROM vip_customers', 'masked');
  });

  it('a whole row keeps field-by-field masking; the benign fields stay readable', async () => {
    agent.take();
    const r = await agent.client.query('SELECT k FROM api_keys k WHERE id = 1');
    expect(r.rows[0].k).toMatch(/^\(1,1,aws,.*,\[REDACTED:api_secret\],/);
    expectNoLeak(agent.take(), 'whole row');
  });

  it('cursors, prepared statements, the extended protocol and binary results', async () => {
    agent.take();
    await agent.client.query('BEGIN');
    await agent.client.query(
      'DECLARE c CURSOR FOR SELECT upper(secret) AS u, lower(email) AS e FROM api_keys, customers',
    );
    const f = await agent.client.query('FETCH ALL FROM c');
    await agent.client.query('COMMIT');
    expectMaskedCells(f.rows, 'FETCH');
    await agent.client.query('PREPARE p AS SELECT reverse(card_number) AS r FROM customers WHERE id > $1');
    const e = await agent.client.query('EXECUTE p(0)');
    expectMaskedCells(e.rows, 'EXECUTE');
    await agent.client.query('DEALLOCATE p');
    const x = await agent.client.query({
      text: 'SELECT upper(secret) AS u, md5(secret) AS m FROM api_keys WHERE id > $1',
      values: [0],
    });
    expectMaskedCells(x.rows, 'extended');
    const b = await agent.client.query({
      text: 'SELECT upper(secret) AS u, textsend(secret) AS raw, to_jsonb(k) AS j FROM api_keys k WHERE id > $1',
      values: [0],
      binary: true,
    } as pg.QueryConfig);
    expectMaskedCells(b.rows, 'binary');
    expectNoLeak(agent.take(), 'cursor / prepared / extended / binary');
  });

  it('RETURNING of a masked person carries the masking', async () => {
    person.take();
    const r = await person.client.query(
      'UPDATE api_keys SET service = service WHERE id = 1 RETURNING upper(secret) AS u, secret',
    );
    expectMaskedCells(r.rows, 'RETURNING');
    expectNoLeak(person.take(), 'RETURNING');
  });

  it('a statement longer than lineage traces on the event loop: refused for agents, masked whole for people', async () => {
    // Parsing for lineage happens on the event loop; past the length the classifier parses there,
    // the columns are untraceable (masking.unprovenLineage: agents refuse, people mask).
    const ids = Array.from({ length: 4000 }, (_, i) => i).join(', ');
    const long = `SELECT name, upper(card_number) AS c FROM customers WHERE id IN (${ids})`;
    expect(long.length).toBeGreaterThan(16 * 1024);
    agent.take();
    await expect(agent.client.query(long)).rejects.toThrow(/longer than 16384 characters/);
    expectNoLeak(agent.take(), 'long statement, agent');
    person.take();
    const r = await person.client.query(long);
    expectMaskedCells(r.rows, 'long statement, person');
    expectNoLeak(person.take(), 'long statement, person');
  });
});

describe('variants of each class, as the brief of the attack names them', () => {
  it('JSON, rows, format, translate, reverse, hex, windows, VALUES joins', async () => {
    for (const sql of [
      'SELECT json_agg(secret) FROM api_keys',
      'SELECT jsonb_agg(k)::text FROM api_keys k',
      'SELECT to_jsonb(k) FROM api_keys k',
      'SELECT row_to_json(k.*) FROM api_keys k',
      'SELECT row_to_json(t.*) FROM (SELECT * FROM api_keys) t',
      'SELECT row_to_json(t) FROM (SELECT secret FROM api_keys) t',
      'SELECT to_json(t) FROM api_keys_v t',
      "SELECT format('%I', secret), format('%L', email) FROM api_keys, customers",
      "SELECT translate(card_number, '0123456789', 'abcdefghij') FROM customers",
      'SELECT reverse(secret), reverse(reverse(secret)) FROM api_keys',
      "SELECT encode(secret::bytea, 'hex') FROM api_keys",
      "SELECT encode(card_number::bytea, 'escape') FROM customers",
      "SELECT encode(decode(md5(secret), 'hex'), 'base64') FROM api_keys",
      'SELECT nth_value(secret, 1) OVER (), lead(email) OVER (ORDER BY customers.id) FROM api_keys, customers',
      'SELECT s FROM (VALUES (1)) v(i) JOIN LATERAL (SELECT secret AS s FROM api_keys WHERE id = v.i) q ON true',
      'SELECT k.secret FROM api_keys k JOIN (VALUES (1), (2)) v(i) ON v.i = k.id',
      'SELECT x FROM api_keys k, LATERAL (SELECT k.secret AS x) s',
      'SELECT (SELECT x FROM (SELECT k.secret AS x) s) FROM api_keys k',
      'SELECT e FROM api_keys AS t(a, b, c, d, e)',
      'SELECT upper(e) FROM api_keys AS t(a, b, c, d, e)',
      'SELECT (k.*).secret, upper((k.*).secret) FROM api_keys k',
      'SELECT (jsonb_populate_record(NULL::api_keys, to_jsonb(k))).secret FROM api_keys k',
      'SELECT text(secret), "varchar"(secret), name(secret) FROM api_keys',
      'SELECT secret::name, secret::char(10), secret::varchar(10) FROM api_keys',
      'SELECT secret FROM ONLY public.api_keys',
      'SELECT pg_catalog.upper(secret) FROM public.api_keys',
      'SELECT/**/upper(secret)FROM api_keys',
      "SELECT string_agg(secret, '' ORDER BY id) FROM api_keys",
      "SELECT array_to_string(array_agg(secret), ',') FROM api_keys",
      'SELECT quote_literal(secret) || quote_nullable(email) FROM api_keys, customers',
      `WITH RECURSIVE r(n, s) AS (SELECT 1, secret FROM api_keys WHERE id = 1
         UNION ALL SELECT n + 1, substr(s, 2) FROM r WHERE n < 3) SELECT s FROM r`,
      'SELECT secret FROM api_keys UNION SELECT upper(email) FROM customers',
      'SELECT upper(secret) FROM api_keys_v',
      'SELECT lower(s) FROM shouting',
    ]) {
      const o = await probe(sql);
      if (o.ok) expectMaskedCells(o.rows, sql);
    }
  });

  it('paths into JSON, XML and arrays, and values echoed in errors of any size', async () => {
    for (const sql of [
      "SELECT to_jsonb(k) ->> 'secret' FROM api_keys k",
      'SELECT (SELECT k FROM api_keys k LIMIT 1).secret',
      'SELECT pg_column_size(secret), octet_length(secret) FROM api_keys',
    ])
      await probe(sql, 'masked');
    // Collecting aggregates: held for the agent (class 212), masked for the person.
    for (const sql of [
      'SELECT (array_agg(k))[1].secret FROM api_keys k',
      "SELECT string_agg(id::text, ',' ORDER BY secret) FROM api_keys",
    ]) {
      await refusedBy(sql, 'masking-predicate');
      await probe(sql, 'masked', person);
    }
    // A path query, an XML parser, a text search parser can fail on the data they are given.
    for (const sql of [
      "SELECT jsonb_path_query_first(to_jsonb(k), '$.secret') FROM api_keys k",
      "SELECT (xpath('/v/text()', xmlelement(name v, secret)))[1]::text FROM api_keys",
      "SELECT ts_headline(secret, to_tsquery('x')) FROM api_keys",
      "SELECT repeat('x', ascii(secret) * 10000000) FROM api_keys WHERE id = 1",
    ]) {
      await refusedBy(sql, 'masking-predicate');
      await probe(sql, 'safe', person);
    }
    await probe(
      "SELECT repeat('x', ascii(secret) * 10000000) FROM api_keys WHERE id = 1",
      'withheld',
      person,
    );
    // Functional notation names no catalog function (`secret(k)` is `k.secret`): untraceable, and
    // handed a masked row, refused for people too (code Gatehouse cannot see could keep it).
    await probe('SELECT secret(k) FROM api_keys k', 'refused');
    const p = await probe('SELECT secret(k) AS s FROM api_keys k', 'refused', person);
    expect(!p.ok && p.error.detail).toContain('masking-sink');
    await probe('SELECT hstore(k) FROM api_keys k', 'refused'); // not installed: not in the catalog
    for (const sql of [
      'SELECT id FROM api_keys WHERE id IN (SELECT id FROM api_keys ORDER BY secret LIMIT 1)',
      "SELECT * FROM api_keys NATURAL JOIN (VALUES ('x')) v(secret)",
    ]) {
      await refusedBy(sql, 'masking-predicate');
    }
    // A side effect done or not under a condition on a secret is one bit too: the agent policy holds
    // or refuses the effects themselves.
    for (const [sql, rule] of [
      [
        "SELECT CASE WHEN secret < 'm' THEN pg_advisory_lock(1) END FROM api_keys WHERE id = 1",
        'agents-review-locks',
      ],
      [
        "SELECT CASE WHEN secret < 'm' THEN set_config('x.y', '1', false) END FROM api_keys WHERE id = 1",
        'agents-no-admin',
      ],
      [
        "SELECT CASE WHEN secret < 'm' THEN nextval('orders_id_seq') END FROM api_keys WHERE id = 1",
        'agents-review-writes',
      ],
    ] as const) {
      const o = await probe(sql, 'refused');
      if (!o.ok) expect(o.error.detail, sql).toContain(rule);
    }
    // Whether an expression fails is one bit (SQLSTATE 22012 here exactly when the first character is
    // `w`): for agents a predicate (refused here, where no approval service is configured); for people
    // (maskedPredicates: allow) the text is withheld, the failure is not.
    const bit = await probe('SELECT 1/(ascii(secret) - 119) FROM api_keys WHERE id = 1', 'withheld', person);
    expect(!bit.ok && bit.error.code).toBe('22012');
    for (const sql of [
      'SELECT 1/(ascii(secret) - 119) FROM api_keys WHERE id = 1',
      "SELECT CASE WHEN secret < 'm' THEN 1/0 END FROM api_keys WHERE id = 1",
      "SELECT CASE WHEN secret < 'm' THEN 'x'::int END FROM api_keys WHERE id = 1",
      "SELECT secret < 'm' OR 1/0 = 1 FROM api_keys WHERE id = 1",
      "SELECT coalesce(nullif(substr(secret, 1, 1), 'w'), (1/0)::text) FROM api_keys WHERE id = 1",
      "SELECT CASE WHEN secret < 'm' THEN (SELECT id FROM customers) END FROM api_keys WHERE id = 1",
      "SELECT count(*) FILTER (WHERE secret < 'm') / 0 FROM api_keys",
      "SELECT 'x' LIKE secret FROM api_keys WHERE id = 1",
      "SELECT substr('abc', ascii(secret) - 119) FROM api_keys WHERE id = 1",
      "WITH c AS (SELECT 1/0 AS x) SELECT CASE WHEN secret < 'm' THEN (SELECT x FROM c LIMIT 1) END FROM api_keys WHERE id = 1",
      "SELECT CASE WHEN secret < 'm' THEN 1 ELSE 1/0 END FROM api_keys WHERE id = 1",
      'SELECT secret::varchar(3)::int FROM api_keys WHERE id = 1',
      'SELECT ntile(ascii(secret) - 119) OVER () FROM api_keys WHERE id = 1',
      'SELECT * FROM (SELECT 1/(ascii(secret) - 119) FROM api_keys WHERE id = 1) s',
      'VALUES ((SELECT 1/(ascii(secret) - 119) FROM api_keys WHERE id = 1))',
      "SELECT CASE WHEN secret < 'm' THEN pg_sleep(0) END FROM api_keys WHERE id = 1",
    ]) {
      await refusedBy(sql, 'masking-predicate');
    }
  });

  it('cursors and prepared statements in one query string, and a name prepared again', async () => {
    for (const who of [agent, person]) {
      who.take();
      const r = (await who.client.query(
        'BEGIN; DECLARE c CURSOR FOR SELECT upper(secret) AS u FROM api_keys; FETCH ALL c; COMMIT',
      )) as unknown as pg.QueryResult[];
      expectMaskedCells(r[2]!.rows, 'FETCH in one query string');
      const q = (await who.client.query(
        'PREPARE pp AS SELECT reverse(secret) AS u FROM api_keys; EXECUTE pp; DEALLOCATE pp',
      )) as unknown as pg.QueryResult[];
      expectMaskedCells(q[1]!.rows, 'EXECUTE in one query string');
      await who.client.query('PREPARE p2 AS SELECT 1 AS u');
      await who.client.query('DEALLOCATE p2');
      await who.client.query('PREPARE p2 AS SELECT lower(secret) AS u FROM api_keys');
      expectMaskedCells((await who.client.query('EXECUTE p2')).rows, 'EXECUTE of a name prepared again');
      await who.client.query('DEALLOCATE p2');
      expectNoLeak(who.take(), 'one query string');
    }
  });

  it('cursors: WITH HOLD, BINARY, quoted names, FETCH through the extended protocol', async () => {
    agent.take();
    await agent.client.query(
      'DECLARE "Held" CURSOR WITH HOLD FOR SELECT upper(secret) AS u, to_jsonb(k) AS j FROM api_keys k',
    );
    expectMaskedCells((await agent.client.query('FETCH 2 FROM "Held"')).rows, 'FETCH WITH HOLD');
    expectMaskedCells(
      (await agent.client.query({ text: 'FETCH ALL FROM "Held"', queryMode: 'extended' } as pg.QueryConfig))
        .rows,
      'FETCH extended',
    );
    await agent.client.query('CLOSE "Held"');
    await agent.client.query('BEGIN');
    await agent.client.query(
      "DECLARE b BINARY CURSOR FOR SELECT reverse(card_number) AS r, encode(textsend(secret), 'hex') AS h FROM customers, api_keys",
    );
    const b = await agent.client.query('FETCH ALL IN b');
    await agent.client.query('COMMIT');
    expectMaskedCells(b.rows, 'BINARY cursor');
    expectNoLeak(agent.take(), 'cursors');
  });

  it('statistics catalogs whatever the spelling, and the admin still reads them', async () => {
    for (const sql of [
      'TABLE pg_stats',
      'SELECT * FROM "pg_catalog"."pg_stats"',
      'SELECT (SELECT array_agg(s.most_common_vals::text) FROM pg_stats s)',
      'WITH s AS (SELECT * FROM pg_statistic) SELECT count(*) FROM s',
      'SELECT * FROM pg_stats s JOIN api_keys k ON true',
      'SELECT * FROM pg_mcv_list_items(NULL)',
    ])
      await probe(sql, 'refused');
  });

  it('the MCP query tool: derived values masked whole, predicates and statistics refused', async () => {
    const token = await gw.token({ subject: 'claude-mcp', groups: ['ai-agents'], agent: true });
    const mcp = new McpClient({ name: 'lineage-probes', version: '1' });
    await mcp.connect(
      new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${gw.gateway.http!.port}/mcp`), {
        requestInit: { headers: { Authorization: `Bearer ${token}` } },
      }),
    );
    type ToolResult = { content: { text?: string }[]; isError?: boolean };
    const call = async (sql: string) =>
      (await mcp.callTool({
        name: 'query',
        arguments: { connection: gw.connection, sql, reason: 'lineage probe' },
      })) as ToolResult;
    try {
      for (const sql of [
        'SELECT upper(secret) AS u, lower(secret) AS l FROM api_keys',
        "SELECT upper(secret) || ',' AS s, ARRAY[email] AS a FROM api_keys, customers",
        "SELECT substr(card_number, 1, 6) || '-' || substr(card_number, 7) AS c FROM customers",
        "SELECT encode(textsend(email), 'base64') AS b, encode(textsend(secret), 'hex') AS h FROM customers, api_keys",
        'SELECT card_number::varchar(18) AS c FROM customers',
        'SELECT row_to_json(k) AS j FROM api_keys k',
        'SELECT secret FROM api_keys_v',
      ]) {
        const r = await call(sql);
        expectNoLeak(Buffer.from(JSON.stringify(r)), `MCP ${sql}`);
        expect(JSON.stringify(r), sql).toMatch(/REDACTED|withheld/);
      }
      for (const sql of [
        "SELECT id FROM customers WHERE card_number LIKE '4%'",
        'SELECT count(*) FROM api_keys k, generate_series(1, ascii(k.secret))',
        "SELECT histogram_bounds::text FROM pg_stats WHERE tablename = 'api_keys'",
        'SELECT secret::regproc FROM api_keys',
        "SELECT encode(convert_to(email, 'UTF8'), 'base64') AS b FROM customers",
        "SELECT string_agg(secret, ',') AS s, array_agg(email) AS a FROM api_keys, customers",
      ]) {
        const r = await call(sql);
        expect(r.isError, sql).toBe(true);
        expectNoLeak(Buffer.from(JSON.stringify(r)), `MCP ${sql}`);
      }
    } finally {
      await mcp.close();
    }
  });
});

describe('raw protocol frames, the paths drivers hide', () => {
  it('SQL PREPARE bound by the protocol, protocol names used by SQL, suspended portals, pipelines', async () => {
    const raw = await RawPgClient.open(
      gw.port,
      gw.connection,
      await gw.token({ subject: 'claude-raw', groups: ['ai-agents'], agent: true }),
    );
    const bodies = (frames: { body: Buffer }[]) => Buffer.concat(frames.map((f) => f.body));
    const rows = (frames: { type: number; body: Buffer }[]) =>
      frames.filter((f) => f.type === 0x44 /* DataRow */).length;
    try {
      // A statement prepared by SQL, then bound and executed by the protocol.
      raw.send(msg.query('PREPARE sqlp AS SELECT upper(secret) AS u, md5(secret) AS m FROM api_keys'));
      expectNoLeak(bodies(await raw.ready()), 'PREPARE');
      raw.send(msg.bind('', 'sqlp'), msg.describePortal(''), msg.execute(''), msg.sync());
      let f = await raw.ready();
      expectNoLeak(bodies(f), 'Bind of a SQL-prepared statement');
      expect(errorsIn(f).length + rows(f)).toBeGreaterThan(0);
      // A protocol statement named, then EXECUTE by SQL (upstream it has Gatehouse's own name).
      raw.send(msg.parse('protop', 'SELECT lower(secret) AS l FROM api_keys'), msg.sync());
      expectNoLeak(bodies(await raw.ready()), 'Parse');
      raw.send(msg.query('EXECUTE protop'));
      expectNoLeak(bodies(await raw.ready()), 'EXECUTE of a protocol statement');
      // A portal suspended after one row and executed again; a named portal FETCHed by SQL.
      raw.send(msg.query('BEGIN'));
      await raw.ready();
      raw.send(
        msg.parse(
          '',
          "SELECT reverse(card_number) AS r, encode(textsend(secret), 'hex') AS h FROM customers, api_keys",
        ),
        msg.bind('P1', ''),
        msg.execute('P1', 1),
        msg.execute('P1', 2),
        msg.flush(),
      );
      raw.send(msg.query('FETCH ALL FROM "P1"'));
      f = await raw.ready();
      raw.send(msg.execute('P1', 0), msg.sync());
      f = [...f, ...(await raw.ready())];
      expectNoLeak(bodies(f), 'suspended portal');
      raw.send(msg.query('ROLLBACK'));
      await raw.ready();
      // A pipeline of three statements without Sync between them.
      raw.send(
        msg.parse('a', 'SELECT upper(secret) FROM api_keys'),
        msg.parse('b', "SELECT left(email, 3) || ',' FROM customers"),
        msg.bind('', 'a'),
        msg.execute(''),
        msg.bind('', 'b'),
        msg.execute(''),
        msg.bind('', 'protop'),
        msg.execute(''),
        msg.sync(),
      );
      f = await raw.ready();
      expectNoLeak(bodies(f), 'pipeline');
      expect(rows(f)).toBeGreaterThan(0);
      expect(bodies(f).toString('latin1')).toContain('[REDACTED:');
    } finally {
      raw.close();
    }
  });
});

describe('holes found attacking the landed lineage, closed', () => {
  it('a hashed derived value was a dictionary: derived values are redacted, never hashed', async () => {
    // hmac(substr(email, 1, 1)) equalled hmac(left(email, 0) || 'a'): each character by comparison.
    const o = await probe(
      "SELECT substr(email, 1, 1) AS c, left(email, 0) || 'a' AS a, upper(email) AS u FROM customers",
      'masked',
    );
    if (o.ok)
      for (const r of o.rows) for (const v of Object.values(r)) expect(v).toBe('[REDACTED:customer_email]');
    // The column unchanged is still hashed (equal values join and group).
    const d = await probe('SELECT email FROM customers ORDER BY id', 'any', person);
    expect(d.ok && d.rows[0]!.email).toMatch(/^hmac:[0-9a-f]{16}$/);
  });

  it('a derived value came back NULL or masked as a condition on the value said: its NULLs are masked too', async () => {
    // Before: `CASE WHEN secret < 'm' THEN 'x' END` was `[REDACTED:api_secret]` or NULL, a bit per row,
    // and `nullif(secret, 'guess')` was NULL exactly for a right guess.
    for (const sql of [
      "SELECT CASE WHEN secret < 'm' THEN 'x' END AS v FROM api_keys",
      "SELECT nullif(secret, 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY') AS v FROM api_keys",
      "SELECT substring(secret from '^w') AS v FROM api_keys",
      "SELECT to_jsonb(CASE WHEN secret < 'm' THEN 'x' END) AS v FROM api_keys",
      "SELECT max(secret) FILTER (WHERE id = 1 AND secret < 'm') AS v FROM api_keys",
      "SELECT (ARRAY['a', 'b'])[ascii(secret)] AS v FROM api_keys",
      "SELECT greatest(secret, 'm') AS v FROM api_keys",
    ]) {
      const o = await probe(sql, 'masked');
      if (o.ok) {
        expect(o.rows.length, sql).toBeGreaterThan(0);
        expect(
          o.rows.every((r) => r.v !== null),
          sql,
        ).toBe(true);
      }
    }
    // A number cannot hold a mask: it is NULL whatever it was, and the notice counts every row, not
    // only the rows where the expression gave a value.
    const notices: string[] = [];
    const listen = (n: { message?: string }) => notices.push(n.message ?? '');
    agent.client.on('notice', listen);
    try {
      const r = await agent.client.query("SELECT CASE WHEN secret < 'm' THEN 1 END AS v FROM api_keys");
      expect(r.rows.every((row) => row.v === null)).toBe(true);
      expect(notices.join('\n')).toContain(`Gatehouse masked ${r.rows.length} values as NULL`);
    } finally {
      agent.client.removeListener('notice', listen);
    }
    // A column unchanged keeps its NULLs (they are the column's own, not an expression's answer).
    const d = await probe('SELECT phone FROM customers WHERE phone IS NULL', 'any', person);
    expect(d.ok && d.rows.every((r) => r.phone === null)).toBe(true);
  });

  it("the client's own values next to a hashed column were hashed too: an oracle for guesses", async () => {
    for (const sql of [
      "SELECT email FROM customers UNION ALL SELECT 'ada@example.com'",
      "SELECT email FROM customers UNION ALL SELECT x FROM (VALUES ('ada@example.com'), ('bob@example.com')) v(x)",
    ]) {
      const o = await probe(sql, 'masked');
      if (o.ok)
        expect(
          o.rows.every((r) => r.email === '[REDACTED:customer_email]'),
          sql,
        ).toBe(true);
    }
    // (UNION without ALL compares rows: refused for agents, masked for people.)
    const u = await probe("SELECT email FROM customers UNION SELECT 'ada@example.com'", 'masked', person);
    if (u.ok) expect(u.rows.every((r) => r.email === '[REDACTED:customer_email]')).toBe(true);
    const j = await probe(
      "SELECT email FROM customers FULL JOIN (VALUES ('ada@example.com')) v(email) USING (email)",
      'masked',
      person,
    );
    if (j.ok) expect(j.rows.every((r) => r.email === '[REDACTED:customer_email]')).toBe(true);
    await person.client.query('BEGIN');
    try {
      const r = await person.client.query(
        "INSERT INTO customers (name, email) VALUES ('Probe', 'probe-guess@example.org') RETURNING email, name",
      );
      expect(r.rows[0]).toEqual({ email: '[REDACTED:customer_email]', name: 'Probe' });
    } finally {
      await person.client.query('ROLLBACK');
    }
  });

  it('a construct called unable to fail failed on arrays, encodings or JSON a masked value shaped: a one-bit predicate', async () => {
    // Each fails (22004, 2202E, 22023, 22P02) exactly when the condition on the secret holds, while
    // the analysis counted it as total: by name for a function whose failure depends on its argument
    // types (array_agg of arrays, || of arrays, length(bytea, name), array_position's start), or as
    // a node type it did not know (an ARRAY of arrays, JSON_ARRAY … FORMAT JSON, JSON_SERIALIZE).
    const c = 'ascii(substr(secret, 1, 1)) < 109';
    for (const sql of [
      `SELECT array_agg(nullif(ARRAY[${c}], ARRAY[true])) FROM api_keys WHERE id = 1`,
      `SELECT array_position(ARRAY[1], 1, length(nullif(${c}, true)::text)) FROM api_keys WHERE id = 1`,
      `SELECT ARRAY[ARRAY[true, true], coalesce(nullif(ARRAY[${c}], ARRAY[false]), ARRAY[true, true])] FROM api_keys WHERE id = 1`,
      `SELECT ARRAY[[true, true]] || coalesce(nullif(ARRAY[[${c}]], ARRAY[[false]]), ARRAY[[true, true]]) FROM api_keys WHERE id = 1`,
      `SELECT JSON_ARRAY(coalesce(nullif(${c}, true)::text, 'x') FORMAT JSON) FROM api_keys WHERE id = 1`,
      `SELECT JSON_SERIALIZE(coalesce(nullif(${c}, true)::text, 'x')) FROM api_keys WHERE id = 1`,
      `SELECT length(textsend('x'), replace(replace((${c})::text, 'true', 'nope'), 'false', 'UTF8')) FROM api_keys WHERE id = 1`,
      `SELECT array_append(coalesce(nullif(ARRAY[[${c}]], ARRAY[[false]]), ARRAY[true]), true) FROM api_keys WHERE id = 1`,
      `SELECT ARRAY(SELECT nullif(ARRAY[${c}], ARRAY[true]) FROM api_keys k WHERE k.id = 1)`,
    ]) {
      await refusedBy(sql, 'masking-predicate');
      await probe(sql, 'safe', person);
    }
    // The same functions over the column itself (a scalar) cannot fail: masked whole, as before.
    for (const sql of [
      "SELECT secret || '' FROM api_keys",
      'SELECT length(secret) FROM api_keys',
      'SELECT ARRAY[secret, upper(secret)] FROM api_keys',
      "SELECT array_position(ARRAY['a'], secret) FROM api_keys",
    ])
      await probe(sql, 'masked');
  });

  it('set-returning functions counted a value out: their masked arguments are predicates', async () => {
    // count(*) was 119, the code of the secret's first character; next 6 queries, next character.
    for (const sql of [
      'SELECT count(*) FROM api_keys k, generate_series(1, ascii(substr(k.secret, 1, 1))) WHERE k.id = 1',
      'SELECT count(*) FROM (SELECT generate_series(1, ascii(substr(secret, 1, 1))) FROM api_keys WHERE id = 1) s',
      "SELECT count(*) FROM api_keys k, regexp_matches(k.secret, '.', 'g') WHERE k.id = 1",
      'SELECT count(*) FROM api_keys k, unnest(string_to_array(k.secret, NULL)) WHERE k.id = 1',
      'SELECT count(*) FROM api_keys k, jsonb_array_elements(to_jsonb(string_to_array(k.secret, NULL)))',
      "SELECT count(*) FROM api_keys k, JSON_TABLE(to_jsonb(string_to_array(k.secret, NULL)), '$[*]' COLUMNS (c text PATH '$')) jt",
      'SELECT count(*) FROM customers c, LATERAL (SELECT generate_series(1, length(c.phone))) g',
    ]) {
      await refusedBy(sql, 'masking-predicate');
    }
    // Benign set-returning functions are untouched.
    const g = await probe('SELECT count(*)::int AS n FROM api_keys k, generate_series(1, k.id) g');
    expect(g.ok && g.rows[0]!.n).toBe(10);
  });

  it('UNION, INTERSECT and EXCEPT compared a value with a guess; windows sorted rows by it; EXPLAIN ANALYZE measured it', async () => {
    const union = (c: string) =>
      `SELECT count(*)::int AS n FROM (SELECT substr(secret, 1, 1) FROM api_keys WHERE id = 1 UNION SELECT '${c}') s`;
    // The channel, as the admin sees it: one row when the guess is right, two when it is wrong.
    const dba = await connect(['dba'], false, 'dana-union');
    try {
      expect((await dba.client.query(union('w'))).rows[0].n).toBe(1);
      expect((await dba.client.query(union('x'))).rows[0].n).toBe(2);
    } finally {
      await dba.client.end();
    }
    for (const sql of [
      union('w'),
      "SELECT count(*) FROM (SELECT substr(secret, 1, 1) FROM api_keys WHERE id = 1 INTERSECT ALL SELECT 'w') s",
      "SELECT count(*) FROM (SELECT substr(secret, 1, 1) FROM api_keys WHERE id = 1 EXCEPT SELECT 'w') s",
      'SELECT id FROM (SELECT id, row_number() OVER (ORDER BY secret) FROM api_keys) s',
      'SELECT id, count(*) OVER (PARTITION BY substr(card_number, 1, 1)) FROM customers',
      // What EXPLAIN ANALYZE measures of the run (a hash's memory here) depends on the values.
      'EXPLAIN ANALYZE SELECT * FROM orders o JOIN (SELECT id, repeat(secret, 1000) AS r FROM api_keys) k ON k.id = o.customer_id',
    ]) {
      await refusedBy(sql, 'masking-predicate');
    }
    // UNION ALL compares nothing: masked, not refused.
    await probe("SELECT secret FROM api_keys UNION ALL SELECT 'w'", 'masked');
  });

  it('an unnested composite let an outer column shadow its fields: names it may hold are its own', async () => {
    for (const sql of [
      "SELECT (SELECT substr(secret, 2, 20) FROM unnest(ARRAY(SELECT k FROM api_keys k)) LIMIT 1) AS x FROM (VALUES ('x')) o(secret)",
      "SELECT (SELECT substr(secret, 2, 20) FROM (SELECT * FROM unnest(ARRAY(SELECT k FROM api_keys k))) s LIMIT 1) AS x FROM (VALUES ('x')) o(secret)",
      // Through a CTE given column aliases (before: `JalrXUtnFEMI/K7MDENG`, for a masked person).
      "WITH w AS (SELECT * FROM unnest(ARRAY(SELECT k FROM api_keys k))) SELECT (SELECT substr(secret, 2, 20) FROM w w2(a, b) LIMIT 1) AS x FROM (VALUES ('x')) o(secret)",
    ]) {
      await probe(sql, 'refused'); // agents: the unnest's row count is a predicate on the secret
      const o = await probe(sql, 'masked', person);
      if (o.ok) expect(o.rows[0]!.x, sql).toBe('[REDACTED:api_secret]');
    }
  });

  it('EXPLAIN ANALYZE EXECUTE ran a prepared statement untraced: its error quoted the secret', async () => {
    // Before: `invalid input syntax for type integer: "wJalr…"` for a masked person (agents are
    // refused EXPLAIN EXECUTE by the classifier's unknown category).
    await person.client.query('PREPARE pz AS SELECT secret::int FROM api_keys');
    try {
      const o = await probe('EXPLAIN ANALYZE EXECUTE pz', 'withheld', person);
      expect(!o.ok && o.error.code).toBe('22P02');
    } finally {
      await person.client.query('DEALLOCATE pz');
    }
    await person.client.query('PREPARE pz AS SELECT id FROM api_keys');
    try {
      const p = await probe(
        'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) EXECUTE pz',
        'any',
        person,
      );
      expect(p.ok && String(p.rows[0]!['QUERY PLAN'])).toMatch(/Scan on api_keys/);
    } finally {
      await person.client.query('DEALLOCATE pz');
    }
    await probe('EXPLAIN ANALYZE EXECUTE nosuch', 'refused');
  });

  it("REFRESH MATERIALIZED VIEW ran the view's query untraced: its error quoted the secret", async () => {
    await person.client.query(
      'CREATE MATERIALIZED VIEW mvx AS SELECT id, secret::int AS n FROM api_keys WITH NO DATA',
    );
    try {
      // Before: `invalid input syntax for type integer: "wJalr…"`.
      const o = await probe('REFRESH MATERIALIZED VIEW mvx', 'withheld', person);
      expect(!o.ok && o.error.code).toBe('22P02');
      // DDL on a ruled table's expressions likewise.
      for (const sql of [
        'CREATE INDEX ON api_keys ((secret::int))',
        'ALTER TABLE api_keys ADD CONSTRAINT ck CHECK (secret::int > 0)',
      ])
        await probe(sql, 'withheld', person);
    } finally {
      await person.client.query('DROP MATERIALIZED VIEW mvx');
    }
  });

  it('a deferred check at COMMIT quoted a piece of the secret: a transaction that read one withholds every later text', async () => {
    // An exclusion constraint over 20 characters of the secret, checked at COMMIT: before, COMMIT's
    // error said `Key (substr(secret, 2, 20))=(JalrXUtnFEMI/K7MDENG) conflicts…`, a piece no content
    // detector recognises, because COMMIT itself reads nothing.
    await person.client.query(
      'ALTER TABLE api_keys ADD CONSTRAINT ex_secret EXCLUDE USING btree (substr(secret, 2, 20) WITH =) DEFERRABLE INITIALLY DEFERRED',
    );
    const copy = 'INSERT INTO api_keys (service, secret) SELECT service, secret FROM api_keys WHERE id = 1';
    try {
      for (const end of ['COMMIT', 'END', 'SET CONSTRAINTS ALL IMMEDIATE']) {
        person.take();
        await person.client.query('BEGIN');
        await person.client.query(copy);
        const o = await attempt(person, end);
        await person.client.query('ROLLBACK');
        expectNoLeak(person.take(), end);
        expect(o.ok, end).toBe(false);
        if (!o.ok) {
          expect(o.error.code, end).toBe('23P01');
          expect(o.error.message, end).toMatch(/^Gatehouse withheld the text of this error/);
        }
      }
      // In one query string, and in the implicit transaction of the extended protocol (checked at Sync).
      // The implicit commit after the last statement of a query string reports it after a statement
      // that reads nothing (before: the 20 characters, after `SELECT 1`).
      for (const sql of [
        `BEGIN; ${copy}; COMMIT`,
        `${copy}; SELECT 1 AS one`,
        `${copy}; SET application_name = 'x'`,
        { text: copy, queryMode: 'extended' } as pg.QueryConfig,
      ]) {
        person.take();
        const o = await attempt(person, sql);
        expectNoLeak(person.take(), JSON.stringify(sql));
        expect(!o.ok && o.error.code).toBe('23P01');
      }
    } finally {
      await person.client.query('ALTER TABLE api_keys DROP CONSTRAINT ex_secret');
    }
  });

  it('code Gatehouse cannot see kept what it was given: a masked value handed to it is refused', async () => {
    // Before, for a masked person: `SELECT keep(substr(secret, 2, 20))` came back masked, and keep()
    // had stored the piece in a table that `SELECT v FROM leak_box` then showed clear; a domain whose
    // CHECK calls keep() did the same for `secret::dd`.
    await person.client.query(`CREATE TABLE leak_box (v text);
      CREATE FUNCTION keep(v text) RETURNS bool LANGUAGE plpgsql AS $$BEGIN INSERT INTO leak_box VALUES (v); RETURN true; END$$;
      CREATE DOMAIN dd AS text CHECK (keep(VALUE))`);
    try {
      for (const sql of [
        'SELECT keep(substr(secret, 2, 20)) AS x FROM api_keys WHERE id = 1',
        'SELECT secret::dd AS x FROM api_keys WHERE id = 1',
        'SELECT CAST(email AS dd) AS x FROM customers WHERE id = 1',
        'SELECT dd(phone) AS x FROM customers WHERE id = 1',
      ]) {
        await refusedBy(sql, 'masking-sink', person);
        await probe(sql, 'refused');
      }
      const box = await person.client.query('SELECT count(*)::int AS n FROM leak_box');
      expect(box.rows[0].n).toBe(0);
      // Values that come from no masked column still go through (masked whole, as untraceable).
      const p = await probe(
        "SELECT keep(service) AS x, 'a'::dd AS y FROM api_keys WHERE id = 1",
        'any',
        person,
      );
      expect(p.ok).toBe(true);
    } finally {
      await person.client.query('DROP DOMAIN dd; DROP FUNCTION keep(text); DROP TABLE leak_box');
    }
  });

  it("a write's constraint error quoted the whole row: writes to a table with rules withhold error texts", async () => {
    const o = await probe('UPDATE customers SET name = NULL WHERE id = 1', 'withheld', person);
    if (!o.ok) {
      expect(o.error.code).toBe('23502');
      expect(o.error.detail).toBeUndefined();
    }
    const u = await probe("UPDATE customers SET email = 'ada@example.com' WHERE id = 2", 'withheld', person);
    expect(!u.ok && u.error.code).toBe('23505');
  });
});

describe('where lineage cannot be proven, agents are refused and people masked', () => {
  it('a function whose body Gatehouse cannot see', async () => {
    const o = await probe('SELECT get_secret(1)', 'refused');
    if (!o.ok) {
      expect(o.error.message).toMatch(/get_secret\(\) is defined in schema public .*plpgsql/);
      expect(o.error.detail).toContain('masking-lineage-unproven');
    }
    const p = await probe('SELECT get_secret(id) AS s, id FROM api_keys', 'any', person);
    if (p.ok)
      expect(p.rows.every((r) => r.s === '[REDACTED:lineage]' && typeof r.id === 'number')).toBe(true);
  });

  it('dynamic SQL builtins', async () => {
    await probe("SELECT query_to_xml('SELECT secret FROM api_keys', true, false, '')", 'refused');
    await probe("SELECT query_to_xml('SELECT secret FROM api_keys', true, false, '')", 'masked', person);
  });
});

describe('the catalog as the session sees it', () => {
  it('a relation created in an open transaction, or by code Gatehouse cannot see, is not trusted', async () => {
    person.take();
    // A temporary view shadowing `customers` exists only in this session, uncommitted: Gatehouse's
    // catalog cannot see it, so until the transaction ends nothing is traced, everything is masked.
    await person.client.query('BEGIN');
    await person.client.query('CREATE TEMP VIEW customers AS SELECT id, secret AS name FROM api_keys');
    const r = await person.client.query('SELECT upper(name) AS n, name FROM customers');
    expectMaskedCells(r.rows, 'shadowing view in a transaction');
    await person.client.query('ROLLBACK');
    // The same in one query string.
    const q = (await person.client.query(
      'CREATE TEMP VIEW customers AS SELECT id, secret AS name FROM api_keys; SELECT upper(name) AS n FROM customers',
    )) as unknown as pg.QueryResult[];
    expectMaskedCells(q[1]!.rows, 'shadowing view in one query string');
    // Committed now (the temporary view lives on in this session): read afresh and traced.
    const after = await person.client.query('SELECT upper(name) AS n FROM customers');
    expectMaskedCells(after.rows, 'committed shadowing view');
    await person.client.query('DROP VIEW customers');
    // Created by a DO block (no DDL command tag): the catalog is read afresh after it too.
    await person.client.query(
      `DO $$ BEGIN EXECUTE 'CREATE TEMP VIEW customers AS SELECT id, secret AS name FROM api_keys'; END $$`,
    );
    const viaDo = await person.client.query('SELECT lower(name) AS n FROM customers');
    expectMaskedCells(viaDo.rows, 'view created by a DO block');
    await person.client.query('DROP VIEW customers');
    // And once the transaction is over, ordinary reads are clear again.
    const clear = await person.client.query('SELECT name FROM customers WHERE id = 1');
    expect(clear.rows[0].name).toBe('Ada Lovelace');
    expectNoLeak(person.take(), 'catalog changes');
  });
});

describe('what a masked value may not flow into', () => {
  it('settings, locks, sleeps: volatile functions whose effect outlives the statement', async () => {
    for (const sql of [
      "SELECT set_config('probe.v', secret, false) FROM api_keys WHERE id = 1",
      'SELECT pg_advisory_lock(ascii(secret)) FROM api_keys WHERE id = 1',
      'SELECT pg_sleep(ascii(secret) / 1000.0) FROM api_keys WHERE id = 1',
    ]) {
      const o = await probe(sql, 'refused');
      // set_config of a custom setting is also an admin action, refused by the agent policy first.
      if (!o.ok) expect(o.error.detail, sql).toMatch(/masking-sink|agents-no-admin/);
    }
    const o = await probe(
      "SELECT set_config('probe.v', secret, false) FROM api_keys WHERE id = 1",
      'refused',
      person,
    );
    if (!o.ok) expect(o.error.message).toContain('public.api_keys.secret');
  });

  it('other columns and new tables', async () => {
    for (const sql of [
      'UPDATE customers SET name = card_number WHERE id = 1',
      "INSERT INTO orders (customer_id, order_no, amount, status) SELECT 1, secret, 1, 'paid' FROM api_keys WHERE id = 1",
      'CREATE TABLE leak AS SELECT secret FROM api_keys',
      'SELECT secret INTO leak2 FROM api_keys',
      'UPDATE customers SET card_number = reverse(card_number) WHERE id = 1',
    ]) {
      await refusedBy(sql, 'masking-write', person);
    }
    // Writing a masked column back into itself, or into a column masked as strongly, is fine.
    const ok = await attempt(person, "UPDATE api_keys SET secret = secret || '' WHERE id = 99");
    expect(ok.ok).toBe(true);
  });
});

describe('predicates on masked columns are an inference channel: held for review for agents', () => {
  it('WHERE, ORDER BY, GROUP BY and joins on a masked column', async () => {
    for (const sql of [
      "SELECT id FROM customers WHERE card_number LIKE '4%'",
      'SELECT id FROM customers ORDER BY email',
      'SELECT count(*) FROM customers GROUP BY phone',
      'SELECT c.id FROM customers c JOIN api_keys k ON k.secret = c.email',
      "SELECT count(*) FROM api_keys WHERE secret > 'm'",
      "SELECT EXISTS (SELECT 1 FROM api_keys WHERE secret LIKE 'w%')",
    ]) {
      const o = await probe(sql, 'refused');
      // No approval service in this test: the review is refused, naming the rule.
      if (!o.ok) expect(o.error.detail, sql).toContain('masking-predicate');
    }
    // People default to allow: the rows come back (masked where they carry values).
    const p = await attempt(
      person,
      "SELECT id, card_number FROM customers WHERE card_number LIKE '4%' ORDER BY id",
    );
    expect(p.ok).toBe(true);
  });
});

describe('benign queries over the same tables are untouched', () => {
  it('return exactly what the DBA sees, and never a redaction', async () => {
    const dba = await connect(['dba'], false, 'dana');
    try {
      for (const sql of [
        'SELECT id, name, country FROM customers ORDER BY id',
        'SELECT upper(name) AS n, length(name) AS l FROM customers ORDER BY id',
        `SELECT o.order_no, o.amount, c.name FROM orders o JOIN customers c ON c.id = o.customer_id
          WHERE o.status = 'paid' ORDER BY o.order_no`,
        'SELECT status, count(*) AS n, sum(amount) AS s FROM orders GROUP BY status ORDER BY status',
        'SELECT count(*) AS n FROM api_keys',
        'SELECT id, service FROM api_keys ORDER BY id',
        'SELECT service FROM api_keys_v ORDER BY 1',
        `WITH t AS (SELECT customer_id, sum(amount) AS s FROM orders GROUP BY 1)
          SELECT c.name, t.s FROM t JOIN customers c ON c.id = t.customer_id ORDER BY c.name`,
        `SELECT c.name, o.amount FROM customers c,
          LATERAL (SELECT amount FROM orders WHERE customer_id = c.id ORDER BY id LIMIT 1) o ORDER BY c.id`,
        'SELECT name FROM customers UNION SELECT service FROM api_keys ORDER BY 1',
        'SELECT id, name FROM customer_cards ORDER BY id',
        'SELECT row_number() OVER (ORDER BY name) AS r, name FROM customers ORDER BY r',
        "SELECT json_build_object('name', name, 'country', country) AS j FROM customers ORDER BY id",
      ]) {
        agent.take();
        const mine = await agent.client.query(sql);
        const theirs = await dba.client.query(sql);
        expect(mine.rows, sql).toEqual(theirs.rows);
        expect(agent.take().toString('latin1'), sql).not.toContain('[REDACTED');
      }
    } finally {
      await dba.client.end();
    }
  });

  it('the admin still sees clear values', async () => {
    const dba = await connect(['dba'], false, 'dana-2');
    try {
      const r = await dba.client.query('SELECT upper(secret) AS u FROM api_keys WHERE id = 1');
      expect(r.rows[0].u).toBe('WJALRXUTNFEMI/K7MDENG/BPXRFICYEXAMPLEKEY');
      const e = await attempt(dba, 'SELECT secret::regclass FROM api_keys WHERE id = 1');
      expect(!e.ok && e.error.message).toContain('wjalrxutnfemi');
    } finally {
      await dba.client.end();
    }
  });
});

describe('random expression trees over masked columns', () => {
  const leaf = fc.constantFrom('secret', 'card_number', 'email', 'phone');
  const expr: fc.Arbitrary<string> = fc.letrec<{ e: string }>((tie) => ({
    e: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leaf,
      fc
        .tuple(
          fc.constantFrom('upper', 'lower', 'reverse', 'initcap', 'md5', 'trim', 'quote_literal'),
          tie('e'),
        )
        .map(([f, x]) => `${f}(${x})`),
      fc
        .tuple(tie('e'), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 20 }))
        .map(([x, a, b]) => `substr(${x}, ${a}, ${b})`),
      fc.tuple(tie('e'), tie('e')).map(([x, y]) => `(${x} || '-' || ${y})`),
      fc.tuple(tie('e'), fc.integer({ min: 1, max: 30 })).map(([x, n]) => `${x}::varchar(${n})`),
      fc.tuple(tie('e'), tie('e')).map(([x, y]) => `coalesce(${x}, ${y})`),
      fc.tuple(tie('e'), tie('e')).map(([x, y]) => `CASE WHEN length(${x}) > 3 THEN ${y} ELSE ${x} END`),
      tie('e').map((x) => `(SELECT max(${x}) FROM customers, api_keys)`),
      tie('e').map((x) => `translate(${x}, '0123456789', 'abcdefghij')`),
      tie('e').map((x) => `regexp_replace(${x}, '(.)', '\\1.', 'g')`),
      tie('e').map((x) => `array_to_string(ARRAY[${x}, 'x'], ',')`),
      tie('e').map((x) => `to_jsonb(${x})::text`),
      tie('e').map((x) => `encode(convert_to(${x}, 'UTF8'), 'base64')`),
      tie('e').map((x) => `split_part(${x}, '@', 1)`),
      fc
        .tuple(
          tie('e'),
          fc.constantFrom('bytea', 'name', 'char(12)', 'varchar', 'text', 'json', 'xml', 'citext'),
        )
        .map(([x, t]) =>
          t === 'json'
            ? `to_json(${x})::text`
            : t === 'xml'
              ? `xmlelement(name v, ${x})::text`
              : t === 'citext'
                ? `${x}::text COLLATE "C"`
                : `${x}::${t}::text`,
        ),
      tie('e').map((x) => `encode(${x}::bytea, 'hex')`),
      tie('e').map((x) => `format('%s|%I|%L', ${x}, ${x}, ${x})`),
      tie('e').map((x) => `concat_ws(',', 'a', ${x}, 'b')`),
      tie('e').map((x) => `(SELECT string_agg(v, '') FROM (SELECT ${x} AS v FROM customers, api_keys) s)`),
      tie('e').map((x) => `(SELECT y FROM (VALUES (1)) v(i), LATERAL (SELECT ${x} AS y) l LIMIT 1)`),
      tie('e').map((x) => `(WITH w AS (SELECT ${x} AS y) SELECT y FROM w)`),
      tie('e').map((x) => `(SELECT row_to_json(t)::text FROM (SELECT ${x} AS y) t)`),
      tie('e').map((x) => `(SELECT y FROM (SELECT ${x} AS y UNION ALL SELECT 'z') u LIMIT 1)`),
      tie('e').map((x) => `array_to_string(ARRAY(SELECT ${x} FROM customers), ';')`),
      // NULL or not as a condition on the value says (the NULL is masked too)
      fc.tuple(tie('e'), tie('e')).map(([x, y]) => `nullif(${x}, ${y})`),
      tie('e').map((x) => `CASE WHEN ${x} < 'm' THEN 'lo' END`),
      tie('e').map((x) => `substring(${x} from '^[a-m]')`),
      // things that can fail on the value, or under a condition on it: a one-bit predicate
      tie('e').map((x) => `(ascii(${x}) / (ascii(${x}) - 119))::text`),
      tie('e').map((x) => `CASE WHEN ${x} < 'm' THEN (1/0)::text ELSE 'hi' END`),
      tie('e').map((x) => `coalesce(nullif(${x}, 'a'), 'x'::int::text)`),
      tie('e').map((x) => `(${x} LIKE 'w%' OR 'x'::int = 1)::text`),
    ),
  })).e;

  it('no output cell holds a value, a 6-character piece of it, or its digits', async () => {
    let answered = 0;
    let predicates = 0;
    const runs = Number(process.env.LINEAGE_RUNS ?? 100);
    await fc.assert(
      fc.asyncProperty(expr, async (e) => {
        // Simple protocol, then extended with text and binary results (probe runs all three).
        const sql = `SELECT ${e} AS v FROM customers, api_keys`;
        const o = await probe(sql);
        if (o.ok) {
          answered++;
          // Every cell is fed by a masked column: masked whole (a bare card column keeps its partial
          // rule), and never NULL (no column of the seed is NULL, so a NULL is an expression's answer).
          const whole = o.rows.filter((r) => typeof r.v !== 'string' || !/^[* -]{8,}\d{4}$/.test(r.v));
          if (whole.length > 0) expectMaskedCells(whole, sql);
          expect(
            o.rows.every((r) => r.v !== null),
            sql,
          ).toBe(true);
        } else if (o.error.code === '42501') {
          // Refused for agents: a predicate (a condition or something that can fail on the value),
          // or code Gatehouse cannot see.
          expect(o.error.detail, `${sql}: ${o.error.message}`).toMatch(/masking-(predicate|sink|lineage)/);
          if (o.error.detail?.includes('masking-predicate')) predicates++;
        } else {
          // An error whose text is withheld: never a bare server text.
          expect(o.error.message, sql).toMatch(/^Gatehouse withheld the text/);
        }
      }),
      { numRuns: runs, seed: Number(process.env.LINEAGE_SEED ?? 12) },
    );
    // Not vacuous: a good share of the expressions run and come back masked, and a good share are
    // refused as predicates (about half and a third with the default seed).
    expect(answered).toBeGreaterThan(runs / 3);
    expect(predicates).toBeGreaterThan(runs / 6);
  });
});

describe('random expressions that may fail over a masked column', () => {
  // Differential, against the real server: whether a statement fails is a bit of what it reads. For
  // every expression over `secret` that the gateway lets an agent run (not refused as a predicate,
  // a sink or untraceable), PostgreSQL must fail (or not, with the same SQLSTATE) whatever the value:
  // run directly over a set of values chosen to trip parsers, casts, arrays and encodings.
  const VALUES = ['a', 'w', 'zzzz', '', 'm1', '{1,2}', '[1]', 'UTF8', 'true', '1', '{"k":1}', 'x\\y'];
  const text = fc.letrec<{ t: string; b: string; a: string }>((tie) => ({
    t: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constant('$X'),
      tie('t').map((x) => `upper(${x})`),
      tie('t').map((x) => `substr(${x}, 1, 1)`),
      tie('t').map((x) => `(${x} || 'k')`),
      tie('b').map((b) => `(${b})::text`),
      tie('a').map((a) => `array_to_string(${a}, ',')`),
      tie('a').map((a) => `${a}::text`),
      fc.tuple(tie('b'), tie('t')).map(([b, x]) => `CASE WHEN ${b} THEN ${x} END`),
      fc.tuple(tie('t'), tie('t')).map(([x, y]) => `coalesce(nullif(${x}, 'a'), ${y})`),
    ),
    b: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      tie('t').map((x) => `${x} < 'm'`),
      tie('t').map((x) => `ascii(${x}) < 100`),
      tie('t').map((x) => `${x} IS NULL`),
      tie('t').map((x) => `${x} LIKE 'a%'`),
      tie('a').map((a) => `cardinality(${a}) > 1`),
    ),
    a: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      tie('b').map((b) => `ARRAY[${b}]`),
      tie('b').map((b) => `ARRAY[[${b}]]`),
      tie('b').map((b) => `nullif(ARRAY[${b}], ARRAY[true])`),
      tie('b').map((b) => `coalesce(nullif(ARRAY[${b}], ARRAY[false]), ARRAY[true, true])`),
      tie('b').map((b) => `coalesce(nullif(ARRAY[[${b}]], ARRAY[[false]]), ARRAY[true])`),
      tie('b').map((b) => `CASE WHEN ${b} THEN NULL ELSE ARRAY[true] END`),
      tie('t').map((x) => `string_to_array(${x}, '1')`),
      tie('a').map((a) => `ARRAY[ARRAY[true, true], ${a}]`),
      tie('a').map((a) => `(ARRAY[[true, true]] || ${a})`),
      tie('a').map((a) => `array_append(${a}, true)`),
      tie('a').map((a) => `(SELECT array_agg(${a}))`),
      tie('a').map((a) => `ARRAY(SELECT ${a})`),
    ),
  }));
  const failing: fc.Arbitrary<string> = fc.oneof(
    text.t,
    text.a.map((a) => `${a}::text`),
    text.t.map((x) => `JSON_ARRAY(${x} FORMAT JSON)::text`),
    text.t.map((x) => `JSON_SERIALIZE(${x})::text`),
    text.t.map((x) => `length(textsend('x'), ${x})::text`),
    text.b.map((b) => `array_position(ARRAY[1], 1, length(nullif(${b}, true)::text))::text`),
    text.t.map((x) => `to_json(${x})::text`),
    text.t.map((x) => `json_build_array(${x}, 1)::text`),
  );

  it('never fails on some values and not others unless the analysis said it could', async () => {
    const direct = new pg.Client({ connectionString: gw.directUrl });
    await direct.connect();
    let ran = 0;
    let refused = 0;
    try {
      await fc.assert(
        fc.asyncProperty(failing, async (e) => {
          const o = await attempt(
            agent,
            `SELECT ${e.replaceAll('$X', 'secret')} AS v FROM api_keys WHERE id = 1`,
          );
          agent.take();
          if (!o.ok && o.error.code === '42501') {
            refused++;
            return;
          }
          ran++;
          const outcomes = new Set<string>();
          for (const v of VALUES) {
            const sql = `SELECT ${e.replaceAll('$X', 't.v')} AS v FROM (VALUES ($1::text)) t(v)`;
            outcomes.add(
              await direct.query(sql, [v]).then(
                () => 'ok',
                (err: pg.DatabaseError) => err.code ?? 'error',
              ),
            );
          }
          expect([...outcomes], `${e}: allowed, but its failure depends on the value`).toHaveLength(1);
        }),
        { numRuns: Number(process.env.LINEAGE_RUNS ?? 100), seed: Number(process.env.LINEAGE_SEED ?? 12) },
      );
    } finally {
      await direct.end();
    }
    // Not vacuous: some run, some are refused.
    expect(ran).toBeGreaterThan(5);
    expect(refused).toBeGreaterThan(5);
  });
});

describe.skipIf(!hasCommand('psql'))('COPY through psql', () => {
  it('COPY of a derived masked value is withheld; COPY of benign columns of a ruled table is scanned and sent', async () => {
    const token = await gw.token({ subject: 'claude-psql', groups: ['ai-agents'], agent: true });
    const env = {
      PGPASSWORD: token,
      PGHOST: '127.0.0.1',
      PGPORT: String(gw.port),
      PGUSER: 'claude',
      PGDATABASE: gw.connection,
      PGCONNECT_TIMEOUT: '5',
      PGSSLMODE: 'disable',
    };
    for (const sql of [
      '\\copy (SELECT upper(secret) FROM api_keys) TO STDOUT',
      '\\copy (SELECT secret FROM api_keys_v) TO STDOUT',
      '\\copy (SELECT reverse(card_number) FROM customers) TO STDOUT WITH (FORMAT csv)',
      "\\copy (SELECT encode(textsend(secret), 'hex'), to_jsonb(k) FROM api_keys k) TO STDOUT",
      "\\copy (SELECT encode(textsend(email), 'base64') FROM customers) TO STDOUT WITH (FORMAT binary)",
      '\\copy (SELECT s FROM (VALUES (1)) v(i) JOIN LATERAL (SELECT secret AS s FROM api_keys WHERE id = v.i) q ON true) TO STDOUT',
      '\\copy api_keys TO STDOUT',
      '\\copy customers (card_number) TO STDOUT',
    ]) {
      const r = await run('psql', ['-X', '-c', sql], { env });
      expect(r.code, sql).toBe(0);
      expect(r.stdout, sql).toBe('');
      expect(r.stderr, sql).toMatch(/Gatehouse withheld \d+ rows of COPY output/);
      expectNoLeak(Buffer.from(r.stdout + r.stderr), sql);
    }
    for (const sql of [
      '\\copy pg_statistic TO STDOUT',
      '\\copy (SELECT most_common_vals::text FROM pg_stats) TO STDOUT',
      '\\copy (SELECT count(*) FROM api_keys k, generate_series(1, ascii(k.secret))) TO STDOUT',
    ]) {
      const r = await run('psql', ['-X', '-c', sql], { env });
      expect(r.code, sql).not.toBe(0);
      expect(r.stdout, sql).toBe('');
      expect(r.stderr, sql).toMatch(/masking-statistics|masking-predicate|is refused|refused/);
      expectNoLeak(Buffer.from(r.stdout + r.stderr), sql);
    }
    const ok = await run(
      'psql',
      ['-X', '-c', '\\copy (SELECT id, name FROM customers ORDER BY id) TO STDOUT'],
      { env },
    );
    expect(ok.stdout.split('\n')[0]).toBe('1\tAda Lovelace');
  });
});

describe('the record', () => {
  it('holds no value in any result sample or error of the masked principals', async () => {
    const events: unknown[] = [];
    for (const subject of ['claude', 'ana', 'claude-mcp']) {
      for (const session of await gw.gateway.store.listSessions({ subject })) {
        events.push(await gw.gateway.store.getSession(session.id));
        events.push(await gw.gateway.store.getEvents(session.id));
      }
    }
    // What the client wrote (statement texts, parameters) and the record's own ids and chain are
    // not data; the benign columns' values (names, countries…) may share six letters with an address.
    const skip = new Set([
      'text',
      'params',
      'reason',
      'id',
      'sessionId',
      'statement',
      'session',
      'prev',
      'hash',
      'at',
    ]);
    let text = JSON.stringify(events, (k, v: unknown) => (skip.has(k) ? undefined : v));
    expect(text).toContain('[REDACTED:api_secret]');
    const direct = new pg.Client({ connectionString: gw.directUrl });
    await direct.connect();
    const benign = await direct.query<{ v: string }>(
      `SELECT name AS v FROM customers UNION SELECT country FROM customers UNION SELECT service FROM api_keys
       UNION SELECT key_id FROM api_keys`,
    );
    await direct.end();
    for (const { v } of benign.rows)
      if (v) for (const f of [v, v.toUpperCase(), v.toLowerCase()]) text = text.split(f).join('');
    expectNoLeak(Buffer.from(text), 'record');
  });
});
