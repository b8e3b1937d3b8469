import { beforeAll, describe, expect, it } from 'vitest';
import type { StatementLineage, ValueLineage } from '../../core/column-lineage.js';
import {
  createLineageAnalyzer,
  type CatalogRelation,
  type CatalogRoutines,
  type LineageAnalyzer,
  type LineageCatalog,
} from './column-lineage.js';
import { PgParserRuntime } from './pg-parser-runtime.js';

const rel = (name: string, columns: string[], extra: Partial<CatalogRelation> = {}): CatalogRelation => ({
  schema: 'public',
  name,
  kind: 'r',
  columns,
  ancestors: [],
  ...extra,
});

const RELATIONS: CatalogRelation[] = [
  rel('customers', ['id', 'name', 'email', 'phone', 'card_number', 'country']),
  rel('api_keys', ['id', 'customer_id', 'service', 'key_id', 'secret']),
  rel('orders', ['id', 'customer_id', 'order_no', 'amount', 'status']),
  rel('api_keys_v', ['service', 'secret'], {
    kind: 'v',
    viewDefinition: 'SELECT api_keys.service, api_keys.secret FROM public.api_keys',
  }),
  rel('upper_v', ['s'], {
    kind: 'v',
    viewDefinition: 'SELECT upper(v.secret) AS s FROM public.api_keys_v v',
  }),
  rel('cards_2024', ['id', 'name', 'email', 'phone', 'card_number', 'country'], {
    ancestors: [{ schema: 'public', name: 'customers' }],
  }),
  rel('pg_stats', ['tablename', 'histogram_bounds'], { schema: 'pg_catalog', kind: 'v' }),
  rel('log_file', ['line'], { kind: 'f' }),
  rel('events', ['id', 'line'], {
    descendants: [{ schema: 'public', name: 'events_remote', foreign: true }],
  }),
  rel('events_local', ['id', 'line'], { descendants: [{ schema: 'public', name: 'events_2024' }] }),
];

const builtin = (volatility = 'i', returnsSet = false): CatalogRoutines => ({
  overloads: [
    { schema: 'pg_catalog', language: 'internal', volatility, ...(returnsSet ? { returnsSet } : {}) },
  ],
  isType: false,
});
const ROUTINES: Record<string, CatalogRoutines> = {
  upper: builtin(),
  lower: builtin(),
  substr: builtin(),
  concat_ws: builtin('s'),
  string_agg: builtin(),
  array_agg: builtin(),
  count: builtin(),
  max: builtin(),
  encode: builtin(),
  convert_to: builtin('s'),
  row_to_json: builtin('s'),
  to_jsonb: builtin('s'),
  json_build_object: builtin('s'),
  xmlelement: builtin(),
  regexp_replace: builtin(),
  set_config: builtin('v'),
  pg_sleep: builtin('v'),
  generate_series: builtin('i', true),
  unnest: builtin('i', true),
  jsonb_each_text: builtin('i', true),
  ascii: builtin(),
  query_to_xml: builtin('s'),
  table_to_xml: builtin('s'),
  pg_stat_get_backend_activity: builtin('s'),
  xpath: builtin(),
  length: builtin(),
  row_number: builtin(),
  get_secret: { overloads: [{ schema: 'public', language: 'plpgsql', volatility: 'v' }], isType: false },
  digest: {
    overloads: [{ schema: 'public', language: 'c', volatility: 'i', extension: 'pgcrypto' }],
    isType: false,
  },
  int8: { overloads: [], isType: true },
  order_status: { overloads: [], isType: true },
  checked_text: { overloads: [], isType: true, userType: true },
  repeat: builtin(),
  lpad: builtin(),
  rpad: builtin(),
  format: builtin('s'),
  translate: builtin(),
  replace: builtin(),
  jsonb_build_array: builtin(),
  jsonb_agg: builtin(),
  array_to_string: builtin('s'),
  array_fill: builtin(),
  to_char: builtin('s'),
  coalesce: builtin(),
  concat: builtin('s'),
  now: {
    overloads: [{ schema: 'pg_catalog', language: 'internal', volatility: 's', resultSize: 'fixed' }],
    isType: false,
  },
  date_trunc: {
    overloads: [
      { schema: 'pg_catalog', language: 'internal', volatility: 'i', resultSize: 'fixed' },
      { schema: 'pg_catalog', language: 'internal', volatility: 's', resultSize: 'fixed' },
    ],
    isType: false,
  },
  round: {
    overloads: [{ schema: 'pg_catalog', language: 'internal', volatility: 'i', resultSize: 'numeric' }],
    isType: false,
  },
  jsonb_pretty: builtin(),
  pg_read_file: builtin('v'),
  regexp_split_to_array: builtin(),
  string_to_array: builtin(),
  current_setting: builtin('s'),
};

class FakeCatalog implements LineageCatalog {
  loaded = new Set<string>();
  relations(schema: string | undefined, name: string) {
    if (!this.loaded.has(`r:${name}`)) return undefined;
    return RELATIONS.filter((r) => r.name === name && (schema === undefined || r.schema === schema));
  }
  routines(kind: 'function' | 'operator', name: string) {
    if (!this.loaded.has(`${kind[0]}:${name}`)) return undefined;
    if (kind === 'operator')
      // Comparisons and matches return a boolean, as the catalog says of each of their overloads.
      return /^(?:[=<>!]+|!?~~?\*?)$/.test(name)
        ? {
            overloads: [
              { schema: 'pg_catalog', language: 'internal', volatility: 'i', resultSize: 'fixed' as const },
            ],
            isType: false,
          }
        : builtin();
    return ROUTINES[name] ?? { overloads: [], isType: false };
  }
}

let analyzer: LineageAnalyzer;
beforeAll(async () => {
  analyzer = createLineageAnalyzer(await PgParserRuntime.create());
});

function analyze(sql: string): StatementLineage {
  const catalog = new FakeCatalog();
  for (let round = 0; round < 10; round++) {
    const o = analyzer.analyze(sql, catalog);
    if (o.kind === 'done') return o.lineage;
    if (o.kind === 'uses') throw new Error('uses');
    for (const r of o.needs.relations) catalog.loaded.add(`r:${r}`);
    for (const f of o.needs.functions) catalog.loaded.add(`f:${f}`);
    for (const f of o.needs.operators) catalog.loaded.add(`o:${f}`);
  }
  throw new Error('did not converge');
}

const cols = (v: ValueLineage) => v.sources.map((s) => `${s.table}.${s.column}`).sort();
const outs = (sql: string) => analyze(sql).outputs!.map(cols);

describe('column lineage', () => {
  it('plain columns, aliases, subqueries and CTEs are direct', () => {
    const l = analyze('SELECT id, x.secret AS s FROM api_keys x');
    expect(l.outputs!.map(cols)).toEqual([['api_keys.id'], ['api_keys.secret']]);
    expect(l.outputs![1]!.direct).toBe(true);
    const sub = analyze('WITH w AS (SELECT secret AS s FROM api_keys) SELECT t.s FROM (SELECT s FROM w) t');
    expect(sub.outputs!.map(cols)).toEqual([['api_keys.secret']]);
    expect(sub.outputs![0]!.direct).toBe(true);
  });

  it('every expression carries its inputs, and is no longer direct', () => {
    for (const sql of [
      'SELECT upper(secret) FROM api_keys',
      "SELECT concat_ws(' ', 'v:', secret) FROM api_keys",
      "SELECT string_agg(secret, ',') FROM api_keys",
      'SELECT ARRAY[secret::text] FROM api_keys',
      'SELECT xmlelement(name v, secret) FROM api_keys',
      "SELECT substr(secret,1,6) || '-' || substr(secret,7) FROM api_keys",
      'SELECT secret::varchar(18) FROM api_keys',
      'SELECT CASE WHEN secret > $1 THEN 1 END FROM api_keys',
      'SELECT (SELECT max(secret) FROM api_keys)',
      'SELECT row(secret, 1) FROM api_keys',
      "SELECT json_build_object('k', secret) FROM api_keys",
      'SELECT secret FROM api_keys UNION SELECT name FROM customers',
    ]) {
      const l = analyze(sql);
      expect(l.outputs, sql).toHaveLength(1);
      expect(cols(l.outputs![0]!), sql).toContain('api_keys.secret');
      expect(l.outputs![0]!.direct, sql).toBe(false);
    }
  });

  it('no-op casts to text keep a column direct', () => {
    expect(analyze('SELECT secret::text FROM api_keys').outputs![0]!.direct).toBe(true);
  });

  it('stars expand in order, joins with USING merge columns', () => {
    expect(outs('SELECT * FROM orders o JOIN customers c ON c.id = o.customer_id').length).toBe(11);
    const l = analyze('SELECT * FROM api_keys JOIN customers USING (id)');
    expect(l.outputs!.map(cols)[0]).toEqual(['api_keys.id', 'customers.id']);
    expect(l.outputs!.length).toBe(1 + 4 + 5);
    expect(outs('SELECT k.*, 1 FROM api_keys k').map((c) => c.join())).toEqual([
      'api_keys.id',
      'api_keys.customer_id',
      'api_keys.service',
      'api_keys.key_id',
      'api_keys.secret',
      '',
    ]);
  });

  it('whole-row references carry every column', () => {
    const l = analyze('SELECT row_to_json(k), to_jsonb(k.*), k FROM api_keys k');
    for (const o of l.outputs!) expect(cols(o)).toContain('api_keys.secret');
    expect(l.outputs![2]!.row).toBe(true);
    expect(l.outputs![0]!.row).toBeUndefined();
  });

  it('views resolve to their base columns, nested too, and carry their own names (class 302)', () => {
    const l = analyze('SELECT secret, service FROM api_keys_v');
    expect(l.outputs!.map(cols)).toEqual([
      ['api_keys.secret', 'api_keys_v.secret'],
      ['api_keys.service', 'api_keys_v.service'],
    ]);
    expect(l.outputs![0]!.direct).toBe(true);
    const u = analyze('SELECT * FROM upper_v');
    expect(u.outputs!.map(cols)).toEqual([['api_keys.secret', 'api_keys_v.secret', 'upper_v.s']]);
    expect(u.outputs![0]!.direct).toBe(false);
  });

  it('partitions and child tables carry their ancestors names', () => {
    expect(outs('SELECT card_number FROM cards_2024')[0]).toEqual([
      'cards_2024.card_number',
      'customers.card_number',
    ]);
  });

  it('recursive CTEs, set operations, VALUES and lateral functions', () => {
    const r = analyze(
      'WITH RECURSIVE r(n, s) AS (SELECT 1, secret FROM api_keys UNION ALL SELECT n + 1, upper(s) FROM r WHERE n < 3) SELECT s, n FROM r',
    );
    expect(r.outputs!.map(cols)).toEqual([['api_keys.secret'], []]);
    const cyc = analyze(
      'WITH RECURSIVE r(n, s) AS (SELECT 1, secret FROM api_keys UNION ALL SELECT n + 1, s FROM r) CYCLE s SET looped USING path SELECT * FROM r',
    );
    expect(cyc.outputs!.map(cols)).toEqual([
      [],
      ['api_keys.secret'],
      ['api_keys.secret'],
      ['api_keys.secret'],
    ]);
    expect(outs("SELECT * FROM (VALUES (1, 'a')) v(a, b) JOIN api_keys k ON k.id = v.a")).toHaveLength(7);
    expect(outs('SELECT u FROM api_keys k, LATERAL unnest(ARRAY[k.secret]) u')).toEqual([
      ['api_keys.secret'],
    ]);
    // jsonb_each_text gives values out of their keys: the value under any key (class 190).
    const anyKey = ['#document.', '.*'];
    expect(outs('SELECT key, value FROM api_keys k, jsonb_each_text(to_jsonb(k))')).toEqual([
      [
        ...anyKey,
        'api_keys.customer_id',
        'api_keys.id',
        'api_keys.key_id',
        'api_keys.secret',
        'api_keys.service',
      ],
      [
        ...anyKey,
        'api_keys.customer_id',
        'api_keys.id',
        'api_keys.key_id',
        'api_keys.secret',
        'api_keys.service',
      ],
    ]);
  });

  it('predicates are told apart from outputs', () => {
    const l = analyze("SELECT id FROM customers WHERE card_number LIKE '4%' ORDER BY email");
    expect(l.outputs!.map(cols)).toEqual([['customers.id']]);
    expect(l.predicates.map((s) => s.column).sort()).toEqual(['card_number', 'email']);
    expect(analyze('SELECT secret FROM api_keys ORDER BY 1').predicates.map((s) => s.column)).toEqual([
      'secret',
    ]);
    expect(analyze('SELECT secret FROM api_keys_v').predicates).toEqual([]);
    // …but the client creating a view writes its WHERE (maskedPredicates cannot be bypassed that way).
    for (const sql of [
      "CREATE VIEW v AS SELECT id FROM api_keys WHERE secret < 'm'",
      'CREATE OR REPLACE VIEW v AS SELECT id FROM api_keys ORDER BY secret',
      "CREATE MATERIALIZED VIEW v AS SELECT id FROM api_keys WHERE secret < 'm'",
    ])
      expect(
        analyze(sql).predicates.map((s) => s.column),
        sql,
      ).toContain('secret');
  });

  it('a foreign table, or a parent with a foreign partition or child, returns untraceable rows (class 347)', () => {
    const f = analyze('SELECT line, upper(line) FROM log_file');
    for (const o of f.outputs!) expect(o.unproven).toMatch(/foreign table public\.log_file returns rows/);
    expect(analyze('SELECT * FROM events').outputs![1]!.unproven).toMatch(
      /foreign table public\.events_remote \(a partition or child of public\.events/,
    );
    const w = analyze('INSERT INTO orders (status) SELECT line FROM log_file');
    expect(w.writes.some((x) => x.lineage.unproven !== undefined)).toBe(true);
    // Rows stored in the database stay traceable.
    expect(analyze('SELECT line FROM events_local').outputs![0]!.unproven).toBeUndefined();
  });

  it('CREATE TABLE AS EXECUTE, and EXPLAIN ANALYZE of it, trace the prepared statement as stored (class 348)', () => {
    const catalog = new FakeCatalog();
    for (const sql of [
      'CREATE TABLE kept AS EXECUTE leak',
      'CREATE TEMP TABLE kept AS EXECUTE leak(1)',
      'EXPLAIN (ANALYZE) CREATE TABLE kept AS EXECUTE leak',
    ])
      expect(analyzer.analyze(sql, catalog), sql).toEqual({
        kind: 'uses',
        object: 'prepared',
        name: 'leak',
        stores: 'a new table (CREATE TABLE AS EXECUTE)',
      });
    // Without ANALYZE nothing is stored; EXECUTE alone returns the rows as they are.
    expect(analyzer.analyze('EXPLAIN CREATE TABLE kept AS EXECUTE leak', catalog).kind).toBe('done');
    expect(analyzer.analyze('EXECUTE leak', catalog)).toEqual({
      kind: 'uses',
      object: 'prepared',
      name: 'leak',
    });
  });

  it("changes of PostgreSQL's own functions are untraceable writes; a user function's are not (class 349)", () => {
    const changed = (sql: string) => analyze(sql).writes.some((w) => w.lineage.unproven !== undefined);
    for (const sql of [
      'ALTER FUNCTION set_config(text, text, boolean) IMMUTABLE',
      'ALTER FUNCTION pg_catalog.upper(text) RENAME TO u',
      'ALTER FUNCTION query_to_xml(text, boolean, boolean, text) SET SCHEMA public',
      'ALTER FUNCTION public.get_secret() SET SCHEMA pg_catalog',
      'ALTER FUNCTION digest(text, text) STABLE',
      "CREATE FUNCTION pg_catalog.leak() RETURNS text LANGUAGE sql AS 'SELECT 1'",
      "CREATE OR REPLACE FUNCTION upper(text) RETURNS text LANGUAGE sql AS 'SELECT 1'",
      'ALTER EXTENSION pgcrypto ADD FUNCTION public.get_secret()',
    ])
      expect(changed(sql), sql).toBe(true);
    for (const sql of [
      'ALTER FUNCTION get_secret() STABLE',
      'ALTER FUNCTION public.get_secret() RENAME TO g',
      "CREATE FUNCTION mine() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    ])
      expect(changed(sql), sql).toBe(false);
  });

  it('functions whose bodies cannot be seen make lineage unproven; trusted extensions do not', () => {
    const l = analyze('SELECT get_secret(id), id FROM api_keys');
    expect(l.outputs![0]!.unproven).toMatch(/get_secret\(\) is defined in schema public .*plpgsql/);
    expect(l.outputs![1]!.unproven).toBeUndefined();
    expect(l.unprovenReads).toBeDefined();
    expect(analyze("SELECT digest(secret, 'sha1') FROM api_keys").unprovenReads).toBeUndefined();
    expect(analyze("SELECT query_to_xml('select 1', true, false, '')").outputs![0]!.unproven).toMatch(
      /runs SQL/,
    );
    expect(analyze('SELECT nosuch(1)').outputs![0]!.unproven).toMatch(/not in the catalog/);
    expect(analyze('SELECT int8(id) FROM api_keys').unprovenReads).toBeUndefined();
  });

  it('volatile functions given a column, writes and statistics catalogs are reported', () => {
    expect(analyze("SELECT set_config('x.y', secret, false) FROM api_keys").sinks[0]!.what).toBe(
      'set_config()',
    );
    expect(analyze('SELECT pg_sleep(1)').sinks).toEqual([]);
    const w = analyze('INSERT INTO orders (order_no) SELECT secret FROM api_keys RETURNING order_no');
    expect(w.writes.map((x) => x.label)).toEqual(['public.orders.order_no']);
    expect(cols(w.writes[0]!.lineage)).toEqual(['api_keys.secret']);
    expect(cols(w.outputs![0]!)).toContain('api_keys.secret');
    const u = analyze('UPDATE customers SET name = card_number WHERE id = 1 RETURNING name');
    expect(u.writes[0]!.label).toBe('public.customers.name');
    expect(cols(u.outputs![0]!)).toContain('customers.card_number');
    expect(analyze('CREATE TABLE t AS SELECT secret FROM api_keys').writes[0]!.label).toBe('a new table');
    expect(analyze('SELECT * FROM pg_stats').statistics).toEqual(['pg_stats']);
  });

  it('COPY, DECLARE and PREPARE return the lineage of their query; EXECUTE and FETCH defer', () => {
    expect(outs('COPY (SELECT upper(secret) FROM api_keys) TO STDOUT')).toEqual([['api_keys.secret']]);
    expect(outs('COPY api_keys (secret) TO STDOUT')).toEqual([['api_keys.secret']]);
    expect(outs('DECLARE c CURSOR FOR SELECT lower(secret) FROM api_keys')).toEqual([['api_keys.secret']]);
    expect(analyzer.analyze('FETCH 10 FROM c', new FakeCatalog())).toEqual({
      kind: 'uses',
      object: 'cursor',
      name: 'c',
    });
  });

  it('holes found attacking it: row counts of set-returning functions are predicates', () => {
    for (const sql of [
      'SELECT count(*) FROM api_keys k, generate_series(1, ascii(k.secret))',
      'SELECT count(*) FROM (SELECT generate_series(1, ascii(secret)) FROM api_keys) s',
      'SELECT count(*) FROM api_keys k, LATERAL unnest(ARRAY[k.secret]) u',
      "SELECT count(*) FROM api_keys k, JSON_TABLE(to_jsonb(k), '$.secret' COLUMNS (s text PATH '$')) jt",
    ])
      expect(
        analyze(sql).predicates.map((s) => s.column),
        sql,
      ).toContain('secret');
    expect(analyze('SELECT g FROM generate_series(1, 3) g').predicates).toEqual([]);
    expect(
      analyze('SELECT id FROM api_keys k, generate_series(1, k.id) g').predicates.map((s) => s.column),
    ).toEqual(['id']);
  });

  it('holes found attacking it: an unnested composite may hold any name, shadowing outer columns', () => {
    const l = analyze(
      "SELECT (SELECT secret FROM unnest(ARRAY(SELECT k FROM api_keys k))) FROM (VALUES ('x')) o(secret)",
    );
    expect(cols(l.outputs![0]!)).toContain('api_keys.secret');
    const s = analyze(
      "SELECT (SELECT secret FROM (SELECT * FROM unnest(ARRAY(SELECT k FROM api_keys k))) s) FROM (VALUES ('x')) o(secret)",
    );
    expect(cols(s.outputs![0]!)).toContain('api_keys.secret');
    // Through a CTE referenced with column aliases too.
    const c = analyze(
      "WITH w AS (SELECT * FROM unnest(ARRAY(SELECT k FROM api_keys k))) SELECT (SELECT secret FROM w w2(a, b)) FROM (VALUES ('x')) o(secret)",
    );
    expect(cols(c.outputs![0]!)).toContain('api_keys.secret');
  });

  it('RETURNING old and new (PostgreSQL 18) name the row before and after the write', () => {
    for (const sql of [
      "UPDATE api_keys SET secret = 'guess' WHERE id = 1 RETURNING old.secret, new.service, new.secret",
      "UPDATE api_keys SET secret = 'guess' WHERE id = 1 RETURNING WITH (OLD AS o, NEW AS n) o.secret, n.service, n.secret",
    ]) {
      const [before, service, after] = analyze(sql).outputs!;
      // The stored value before the write is the column unchanged; the client's guess is not.
      expect(cols(before!), sql).toEqual(['api_keys.secret']);
      expect(before!.direct, sql).toBe(true);
      expect(cols(service!), sql).toEqual(['api_keys.service']);
      expect(after!.direct, sql).toBe(false);
    }
    // Unqualified names still read the row as written.
    expect(
      analyze('UPDATE api_keys SET service = service WHERE id = 1 RETURNING secret').outputs![0]!.direct,
    ).toBe(true);
  });

  it("a LATERAL item on a JOIN's right side sees its left side (class 136)", () => {
    const o = analyze('SELECT t.x FROM api_keys k LEFT JOIN LATERAL (SELECT upper(secret) AS x) t ON true');
    expect(cols(o.outputs![0]!)).toEqual(['api_keys.secret']);
    const p = analyze("SELECT k.id FROM api_keys k CROSS JOIN LATERAL (SELECT 1 WHERE k.secret LIKE 'w%') t");
    expect(p.predicates.map((s) => s.column)).toContain('secret');
  });

  it('plain DISTINCT compares whole rows: a predicate on every output column (class 137)', () => {
    const p = analyze('SELECT DISTINCT substr(secret, 1, 1) FROM api_keys');
    expect(p.predicates.map((s) => s.column)).toContain('secret');
    expect(analyze('SELECT DISTINCT service FROM api_keys').predicates.map((s) => s.column)).not.toContain(
      'secret',
    );
  });

  it("holes found attacking it: a branch of the client's own values makes a column derived", () => {
    for (const sql of [
      "SELECT secret FROM api_keys UNION ALL SELECT 'guess'",
      "SELECT secret FROM api_keys k FULL JOIN (VALUES ('guess')) v(secret) USING (secret)",
      "UPDATE api_keys SET secret = 'guess' WHERE id = 1 RETURNING secret",
    ]) {
      const o = analyze(sql).outputs![0]!;
      expect(cols(o), sql).toEqual(['api_keys.secret']);
      expect(o.direct, sql).toBe(false);
    }
    expect(analyze('SELECT secret FROM api_keys UNION SELECT secret FROM api_keys').outputs![0]!.direct).toBe(
      true,
    );
    // A write's errors may quote the whole target row (a NOT NULL or CHECK violation).
    expect(analyze('UPDATE api_keys SET service = NULL WHERE id = 1').reads.map((s) => s.column)).toContain(
      'secret',
    );
  });

  it('holes found attacking it: UNION, INTERSECT and EXCEPT compare rows; windows sort them', () => {
    const preds = (sql: string) => analyze(sql).predicates.map((s) => s.column);
    for (const sql of [
      "SELECT count(*) FROM (SELECT substr(secret, 1, 1) FROM api_keys UNION SELECT 'w') s",
      "SELECT count(*) FROM (SELECT substr(secret, 1, 1) FROM api_keys INTERSECT ALL SELECT 'w') s",
      "SELECT count(*) FROM (SELECT substr(secret, 1, 1) FROM api_keys EXCEPT SELECT 'w') s",
      'SELECT id FROM (SELECT id, row_number() OVER (ORDER BY secret) FROM api_keys) s',
      'SELECT id, count(*) OVER (PARTITION BY secret) FROM api_keys',
    ])
      expect(preds(sql), sql).toContain('secret');
    expect(preds("SELECT secret FROM api_keys UNION ALL SELECT 'w'")).toEqual([]);
    // EXPLAIN ANALYZE reports what the run measured (rows, memory): everything read is a predicate.
    expect(preds('EXPLAIN ANALYZE SELECT repeat(secret, 1000) FROM api_keys')).toContain('secret');
    expect(preds('EXPLAIN (ANALYZE, COSTS OFF) SELECT repeat(secret, 1000) FROM api_keys')).toContain(
      'secret',
    );
    expect(preds('EXPLAIN (ANALYZE false) SELECT repeat(secret, 1000) FROM api_keys')).toEqual([]);
    expect(preds('EXPLAIN SELECT repeat(secret, 1000) FROM api_keys')).toEqual([]);
    // EXPLAIN ANALYZE EXECUTE ran a prepared statement untraced, and its error quoted the secret.
    expect(analyze('EXPLAIN ANALYZE EXECUTE p').unprovenReads).toMatch(/EXPLAIN EXECUTE/);
    expect(preds('SELECT first_value(secret) OVER (ORDER BY id) FROM api_keys')).toEqual(['id']);
  });

  it('holes found attacking it: a cast to a domain runs its CHECK, which may call any function', () => {
    for (const sql of [
      'SELECT secret::checked_text FROM api_keys',
      'SELECT CAST(secret AS checked_text[]) FROM api_keys',
      'SELECT checked_text(secret) FROM api_keys',
      'SELECT secret::public.order_status FROM api_keys',
    ])
      expect(analyze(sql).unprovenReads, sql).toMatch(/domain or has a cast defined outside pg_catalog/);
    for (const sql of [
      'SELECT secret::order_status FROM api_keys',
      'SELECT secret::int, secret::pg_catalog.text, secret::varchar(3) FROM api_keys',
      "SELECT 'x'::checked_text",
    ])
      expect(analyze(sql).unprovenReads, sql).toBeUndefined();
  });

  it('whether an expression fails is one bit: masked values handed to what can fail are recorded', () => {
    const fails = (sql: string) =>
      [...new Set((analyze(sql).failures ?? []).flatMap((f) => f.columns.map((c) => c.column)))].sort();
    // The operand of an operator that can fail, the argument of a cast or function that can.
    for (const sql of [
      'SELECT 1/(ascii(secret) - 119) FROM api_keys WHERE id = 1',
      'SELECT secret::int FROM api_keys',
      'SELECT secret::regclass FROM api_keys',
      "SELECT convert_to(secret, 'LATIN1') FROM api_keys",
      "SELECT substr('abcdef', ascii(secret) - 119) FROM api_keys",
      "SELECT 'x' LIKE secret FROM api_keys",
      'SELECT json_build_object(secret, 1) FROM api_keys',
      'SELECT xmlparse(document secret) FROM api_keys',
      'SELECT -ascii(secret) FROM api_keys',
    ])
      expect(fails(sql), sql).toEqual(['secret']);
    // A condition deciding whether something that can fail is evaluated, however it is written.
    for (const sql of [
      "SELECT CASE WHEN secret < 'm' THEN 1/0 END FROM api_keys",
      "SELECT CASE secret WHEN 'x' THEN 'a'::int END FROM api_keys",
      "SELECT secret < 'm' OR 1/0 = 1 FROM api_keys",
      "SELECT coalesce(nullif(secret, 'x'), (1/0)::text) FROM api_keys",
      "SELECT secret IN ('a', 'b') AND 'z'::int = 1 FROM api_keys",
      "SELECT count(*) FILTER (WHERE secret < 'm') + 2147483647 FROM api_keys",
      "SELECT CASE WHEN secret < 'm' THEN (SELECT id FROM customers) END FROM api_keys",
      "SELECT secret BETWEEN 'a' AND 'm' OR 1/0 = 1 FROM api_keys",
      // A CTE runs where it is read: inside the condition, however far away it is written.
      "WITH c AS (SELECT 1/0 AS x) SELECT CASE WHEN secret < 'm' THEN (SELECT x FROM c LIMIT 1) END FROM api_keys",
      "WITH c AS (SELECT 1/0 AS x), d AS (SELECT x FROM c) SELECT CASE WHEN secret < 'm' THEN (SELECT x FROM d LIMIT 1) END FROM api_keys",
    ])
      expect(fails(sql), sql).toEqual(['secret']);
    // What cannot fail on its value: transformations, comparisons, the string of substr and LIKE,
    // casts to text types, and a condition where nothing else can fail.
    for (const sql of [
      'SELECT upper(secret), lower(secret), md5(secret), length(secret) FROM api_keys',
      "SELECT substr(secret, 1, 6) || '-' || substr(secret, 7), secret::varchar(18) FROM api_keys",
      "SELECT secret LIKE 'w%', secret = 'x', secret ~ '^w' FROM api_keys",
      "SELECT CASE WHEN secret < 'm' THEN 'a' ELSE 'b' END, coalesce(secret, 'x') FROM api_keys",
      "SELECT json_build_object('k', secret) FROM api_keys",
      'SELECT (SELECT max(secret) FROM api_keys), (SELECT secret FROM api_keys LIMIT 1)',
    ])
      expect(fails(sql), sql).toEqual([]);
    // string_agg cannot fail on a value, but its size grows with the rows: class 212.
    expect(fails("SELECT string_agg(secret, ',' ORDER BY id) FROM api_keys")).toEqual(['id', 'secret']);
    // Writes check constraints on what they write: a condition on a masked value inside one counts.
    expect(
      fails("INSERT INTO orders (order_no) SELECT CASE WHEN secret < 'm' THEN 'a' END FROM api_keys"),
    ).toEqual(['secret']);
    // A view's own expressions are its owner's (as its predicates are).
    expect(fails('SELECT s FROM upper_v')).toEqual([]);
  });

  it('class 212: a value built near the size limits makes every masked value read decide a failure', () => {
    const large = (sql: string) =>
      (analyze(sql).failures ?? []).find((f) => f.what.includes("size can reach the server's limits"));
    const fails = (sql: string) => [...new Set(large(sql)?.columns.map((c) => c.column) ?? [])].sort();
    // The confirmed oracle (PostgreSQL 15: fails exactly when a character is outside the set), and
    // the same limit reached by every other way of building a value or a row.
    for (const sql of [
      "SELECT repeat('a', 1073741819) || translate(substr(secret, 1, 1), 'abc', '') FROM api_keys",
      "SELECT repeat('a', 1073741000), translate(secret, 'abc', '') FROM api_keys",
      "SELECT lpad('', 268435000) || secret FROM api_keys",
      "SELECT rpad('x', ascii(service) * 1000000) || secret FROM api_keys",
      "SELECT jsonb_build_array(repeat('a', 268435000), secret) FROM api_keys",
      // A negative count makes an empty value, not a negative size cancelling the others.
      "SELECT jsonb_build_array(repeat('a', 90000000), repeat('a', 90000000), lpad('', -2000000000), secret) FROM api_keys",
      "SELECT regexp_split_to_array(repeat('a', 134217727) || translate(secret, 'w', ''), '') FROM api_keys",
      "SELECT string_to_array(repeat('a', 134217727) || secret, NULL) FROM api_keys",
      "SELECT format('%1073741000s%s', '', secret) FROM api_keys",
      "SELECT format('%*s%s', 1073741000, '', secret) FROM api_keys",
      "SELECT replace(repeat('a', 40000), 'a', repeat('b', 40000)) || secret FROM api_keys",
      "SELECT string_agg(translate(secret, 'abc', ''), '') FROM api_keys, generate_series(1, 100000000)",
      'SELECT jsonb_agg(secret) FROM api_keys',
      'SELECT ARRAY(SELECT secret FROM api_keys, generate_series(1, 100000000))',
      "SELECT array_to_string(array_fill('x'::text, ARRAY[1000000000]), '') || secret FROM api_keys",
      // A value computed once and referenced many times: a CTE, a subquery, a function in FROM.
      "WITH b AS (SELECT repeat('a', 100000000) AS v) SELECT b.v || b.v || b.v || secret FROM b, api_keys",
      "SELECT s.v || s.v || secret FROM (SELECT repeat('a', 150000000) AS v) s, api_keys",
      "SELECT r.v, r.v, secret FROM repeat('a', 150000000) AS r(v), api_keys",
      "WITH a AS (SELECT repeat('a', 60000000) AS v), b AS (SELECT a.v || a.v AS v FROM a), c AS (SELECT b.v || b.v AS v FROM b) SELECT c.v, secret FROM c, api_keys",
      // A recursive query doubles a value at each step.
      "WITH RECURSIVE r(v) AS (SELECT 'a' UNION ALL SELECT v || v FROM r WHERE length(v) < 1000000000) SELECT max(v) || secret FROM r, api_keys",
      // Parameters: each at most one message (64 MiB by default).
      'SELECT $1 || $2 || $3 || secret FROM api_keys',
      // A function Gatehouse does not size.
      "SELECT pg_read_file('/x') || secret FROM api_keys",
      // A setting's value was set by earlier statements, as long as they made it.
      "SELECT current_setting('app.x'), secret FROM api_keys",
    ])
      expect(fails(sql), sql).toContain('secret');
    // What stays small: columns, constants, parameters, fixed-size and numeric results, the
    // functions that keep or cut their input, aggregates that pick one value.
    for (const sql of [
      'SELECT id, service, secret FROM api_keys',
      "SELECT service || ' <' || upper(secret) || '>', md5(secret), length(secret) FROM api_keys",
      "SELECT concat_ws(' ', service, secret), coalesce(secret, 'none'), secret::varchar(18) FROM api_keys",
      "SELECT now(), date_trunc('day', now()), round(1.5), secret FROM api_keys",
      "SELECT to_char(now(), 'YYYY-MM-DD'), secret FROM api_keys WHERE service = $1::text",
      'SELECT max(secret), min(service), count(*) FROM api_keys',
      "SELECT replace(secret, '-', ''), translate(secret, 'abc', 'xyz'), lpad(secret, 40, '*') FROM api_keys",
      "SELECT format('%s: %s', service, secret), repeat('-', 20), secret FROM api_keys",
      'SELECT t.s, t.s FROM (SELECT secret AS s FROM api_keys) t',
      "WITH k AS (SELECT service, secret FROM api_keys) SELECT k.service || ':' || k.secret FROM k",
      'SELECT $1 || secret FROM api_keys WHERE id = $2',
      'SELECT jsonb_pretty(jsonb_build_array(secret)) FROM api_keys',
    ])
      expect(fails(sql), sql).toEqual([]);
    // EXECUTE's arguments are computed by the server: one larger than a message is not what the
    // prepared statement was traced for.
    expect(analyze("EXECUTE p(repeat('a', 1073741000))").unprovenReads).toMatch(/an argument of EXECUTE/);
    expect(analyze("EXECUTE p(upper(repeat('a', 40000000)) || repeat('b', 40000000))").unprovenReads).toMatch(
      /an argument of EXECUTE/,
    );
    for (const sql of ["EXECUTE p('x', 2)", 'EXECUTE p(now(), $1)']) {
      const catalog = new FakeCatalog();
      let o = analyzer.analyze(sql, catalog);
      // A function's result size is looked up first, as for any statement.
      while (o.kind === 'needs') {
        for (const f of o.needs.functions) catalog.loaded.add(`f:${f}`);
        o = analyzer.analyze(sql, catalog);
      }
      expect(o.kind, sql).toBe('uses');
    }
    // No masked value read, nothing to decide: the size alone is the server's cost.
    expect(analyze("SELECT repeat('a', 1073741000)").failures ?? []).toEqual([]);
  });

  it('class 170: what the planner computes with untraceable code, and rows decided by it, are not clean', () => {
    const activity = 'ascii(substr(pg_stat_get_backend_activity(3), 1, 1))';
    const xml = "length(table_to_xml('public.api_keys', true, false, ''))";
    // The planner folds a STABLE call in LIMIT into the plan's row estimate (`rows=119`), and an
    // IMMUTABLE one with constant arguments anywhere: the plan carries what that code returns.
    for (const sql of [
      `EXPLAIN SELECT * FROM generate_series(1, 1000000) LIMIT ${activity}`,
      `EXPLAIN (FORMAT JSON) SELECT 1 OFFSET ${xml}`,
      `EXPLAIN VERBOSE SELECT ${xml}`,
      'EXPLAIN SELECT * FROM orders WHERE id = length(get_secret(1))',
      `EXPLAIN ANALYZE SELECT 1 LIMIT ${activity}`,
    ]) {
      const l = analyze(sql);
      expect(l.combined.unproven, sql).toMatch(/the plan shows values the planner computes/);
      expect(l.outputs?.[0]?.unproven, sql).toMatch(/cannot trace/);
    }
    // A plan of traceable code holds no column values.
    for (const sql of [
      'EXPLAIN SELECT secret FROM api_keys WHERE id = 1',
      "EXPLAIN VERBOSE SELECT upper(secret) FROM api_keys LIMIT ascii('x')",
    ]) {
      const l = analyze(sql);
      expect(l.combined.unproven, sql).toBeUndefined();
      expect(l.outputs, sql).toBeUndefined();
    }
    // Without EXPLAIN, which rows come back, and how many, still say what the value is: one
    // character per statement through count(*) (the red-team's `rows=` oracle, as a row count).
    for (const sql of [
      `SELECT count(*) FROM (SELECT * FROM generate_series(1, 1000000) LIMIT ${activity}) s`,
      `SELECT 1 AS one WHERE ${activity} > 100`,
      `SELECT count(*) FROM generate_series(1, ${activity})`,
      `SELECT id FROM orders ORDER BY ${xml} - id`,
    ])
      expect(analyze(sql).unprovenPredicate, sql).toMatch(/cannot trace/);
    for (const sql of [
      'SELECT count(*) FROM orders WHERE id = 1 LIMIT 5',
      `SELECT ${activity} AS c`,
      'SELECT s FROM upper_v WHERE s IS NOT NULL',
    ])
      expect(analyze(sql).unprovenPredicate, sql).toBeUndefined();
  });

  it('benign statements stay clean', () => {
    const l = analyze(
      'SELECT o.id, o.amount, c.name FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.status = $1',
    );
    expect(l.outputs!.map(cols)).toEqual([['orders.id'], ['orders.amount'], ['customers.name']]);
    expect(l.unprovenReads).toBeUndefined();
    expect(l.reads.some((r) => r.column === 'card_number')).toBe(false);
  });
});
