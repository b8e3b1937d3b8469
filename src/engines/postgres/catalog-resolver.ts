// Resolves RowDescription origins (table OID + column number) to schema.table.column names through
// the gateway's own upstream connection, so column masking rules follow a column through aliases and
// subqueries; and, for column lineage (sql/postgres/column-lineage.ts), relations and functions by
// name: columns, parents, view definitions, and who wrote each function. Shared per connection
// target, bounded, refreshed after DDL. Client text never reaches it: names are sent hex-encoded.

import type { StatementLineage } from '../../core/column-lineage.js';
import type { ColumnRef } from '../../core/masking.js';
import {
  UNAVAILABLE,
  type CatalogNeeds,
  type CatalogRelation,
  type CatalogRoutine,
  type CatalogRoutines,
  type LineageCatalog,
  TRUSTED_EXTENSIONS,
  TRUSTED_LANGUAGES,
} from '../../sql/postgres/column-lineage.js';
import { LruCache } from '../../sql/postgres/lru-cache.js';
import type { ColumnSource, ResolvedColumnRef } from '../../masking/result-masker.js';
import { BackendCode, decodeDataRow, decodeErrorFields, encode } from '../../wire/postgres/index.js';
import { openUpstream, type UpstreamSession, type UpstreamTarget } from './upstream-connection.js';

export interface CatalogColumn {
  readonly name: string;
  readonly typeOid: number;
}

interface TableEntry {
  readonly at: number;
  readonly schema: string;
  readonly table: string;
  readonly columns: ReadonlyMap<number, CatalogColumn>;
  /** Live (not dropped) columns in attnum order: the fields of the table's row type. */
  readonly ordered: readonly CatalogColumn[];
}

export interface CatalogResolverOptions {
  /** Entries older than this are fetched again (another session's ALTER TABLE is seen within it). */
  readonly ttlMs?: number;
  /** Tables kept per connection target; the oldest are dropped beyond it. */
  readonly maxTables?: number;
  /** Longest wait for one catalog query. */
  readonly queryTimeoutMs?: number;
  /** The catalog connection is closed after this long without a query. */
  readonly idleMs?: number;
  /** How old the overloaded names (class 125) may be when a statement is decided on them. */
  readonly overloadTtlMs?: number;
  /** The largest parameter value a client's Bind can carry (the listener's message bound, class 212). */
  readonly maxParameterBytes?: number;
  readonly now?: () => number;
}

/** A minimal simple-query client over the gateway's own login (55.2.2), text results only. */
class CatalogConnection {
  private pending:
    | {
        rows: (string | null)[][];
        error?: string;
        resolve: (r: (string | null)[][]) => void;
        reject: (e: Error) => void;
      }
    | undefined;
  closed = false;

  constructor(private readonly up: UpstreamSession) {
    // Never keeps the process alive, and never outlives a dropped upstream quietly.
    up.socket.unref();
    up.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    up.socket.on('error', () => this.close());
    up.socket.on('close', () => this.close());
  }

  query(sql: string, timeoutMs: number): Promise<(string | null)[][]> {
    if (this.closed) return Promise.reject(new Error('catalog connection closed'));
    if (this.pending) return Promise.reject(new Error('catalog query already running'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.close();
      }, timeoutMs);
      timer.unref();
      this.pending = {
        rows: [],
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.up.socket.write(encode.query(sql));
    });
  }

  private onData(chunk: Buffer): void {
    try {
      this.up.reader.push(chunk);
      for (let f = this.up.reader.next(); f; f = this.up.reader.next()) {
        const p = this.pending;
        if (!p) continue;
        if (f.type === BackendCode.DataRow)
          p.rows.push(decodeDataRow(f.body).map((c) => (c === null ? null : c.toString('utf8'))));
        else if (f.type === BackendCode.ErrorResponse) p.error = decodeErrorFields(f.body).M ?? 'error';
        else if (f.type === BackendCode.ReadyForQuery) {
          this.pending = undefined;
          if (p.error !== undefined) p.reject(new Error(`catalog query failed: ${p.error}`));
          else p.resolve(p.rows);
        }
      }
    } catch {
      this.close();
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const p = this.pending;
    this.pending = undefined;
    p?.reject(new Error('catalog connection closed'));
    if (!this.up.socket.destroyed) {
      this.up.socket.end(encode.terminate());
      this.up.socket.destroySoon?.();
    }
  }
}

const DEFAULTS = {
  ttlMs: 60_000,
  maxTables: 10_000,
  queryTimeoutMs: 5_000,
  idleMs: 30_000,
  overloadTtlMs: 2_000,
};
/** OIDs asked for in one catalog query at most. */
const MAX_OIDS_PER_QUERY = 500;
/** Names asked for in one catalog query at most. */
const MAX_NAMES_PER_QUERY = 200;
/** A lookup that failed is tried again after this long. */
const UNAVAILABLE_TTL_MS = 5_000;
/** Statement texts longer than this have their lineage worked out each time (as the classifier does). */
const MAX_CACHED_LINEAGE_TEXT = 64 * 1024;
/** Names kept per kind (relations, functions, operators) per target. */
const MAX_NAMES = 20_000;

interface Named<T> {
  readonly at: number;
  readonly value: T | typeof UNAVAILABLE;
}

/** A name as a SQL expression that cannot be anything else: hex, decoded by the server. */
function nameLiteral(name: string): string {
  return `pg_catalog.convert_from(pg_catalog.decode('${Buffer.from(name, 'utf8').toString('hex')}', 'hex'), 'UTF8')`;
}

function nameArray(names: readonly string[]): string {
  return `ARRAY[${names.map(nameLiteral).join(', ')}]::pg_catalog.text[]`;
}

/** A relation a statement names (`name` as parsed) or gives as a regclass string (`text`), and whether it writes it. */
export type ReachSeed =
  | { readonly schema?: string; readonly name: string; readonly target: boolean }
  | { readonly text: string; readonly target: boolean };

/** What a statement's relations reach (class 113). */
export interface Reach {
  readonly tables: readonly { readonly schema: string; readonly name: string }[];
  /** A written relation (or one a write reaches) has a user trigger or a non-SELECT rule. */
  readonly unplaceable: boolean;
  /**
   * What a write reaches that a grant restricted to tables must name too (class 129): relations reached
   * from a written one through a view's or rule's dependencies, a sequence's or index's ownership or a
   * cascading foreign key; not through inheritance (a parent's partitions and children hold its rows,
   * a partition's parents hold its rows), and no sequence or index itself (its owner counts).
   */
  readonly grantTables: readonly { readonly schema: string; readonly name: string }[];
}

/** Seeds reached more than this many relations' worth: not cached, and so many are not kept per statement. */
const MAX_REACH_SEEDS = 200;

/**
 * The closure of relations a statement reaches from the ones it names (class 113): a view's (or rule's)
 * relations through pg_rewrite's dependencies; partitions and inheritance children of a relation (down)
 * and its parents (up), never a sibling; a sequence's or index's owning table (pg_depend `a`, `i`);
 * for a written relation, the relations its column defaults use (a sequence, then its owner) and the
 * tables whose foreign keys cascade to it (ON DELETE/UPDATE CASCADE, SET NULL, SET DEFAULT; any
 * foreign key under TRUNCATE). An unqualified name starts from every relation of that name in any
 * schema (a superset of what search_path resolves); the named relations themselves are not returned
 * as reached (`s`). `t` follows what a write reaches; a user trigger or non-SELECT rule there is code
 * Gatehouse cannot place. `k` says the last step was not through inheritance (class 129's grants).
 * An INSERT cascades through no foreign key (ON DELETE and ON UPDATE actions fire on the referenced
 * row's delete or update).
 */
const REACH_SQL = (seeds: string, truncate: boolean, insertOnly: boolean) =>
  "SET search_path = ''; " +
  `WITH RECURSIVE seed(id, t) AS (VALUES ${seeds}), ` +
  'start AS (SELECT DISTINCT c.oid, s.t FROM seed s JOIN pg_catalog.pg_class c ' +
  '  ON c.relname = s.id[pg_catalog.array_length(s.id, 1)] ' +
  '  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace ' +
  '  WHERE pg_catalog.array_length(s.id, 1) = 1 OR n.nspname = s.id[pg_catalog.array_length(s.id, 1) - 1]), ' +
  'reach(oid, dir, t, s, k) AS (SELECT oid, $$b$$::text, t, true, false FROM start UNION ' +
  ' SELECT e.oid, e.dir, r.t, false, e.g FROM reach r CROSS JOIN LATERAL (' +
  '  SELECT d.refobjid AS oid, $$b$$::text AS dir, true AS g FROM pg_catalog.pg_rewrite w JOIN pg_catalog.pg_depend d ' +
  "   ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND d.objid = w.oid " +
  "   AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass WHERE w.ev_class = r.oid AND d.refobjid <> r.oid " +
  '  UNION ALL SELECT i.inhparent, $$u$$, false FROM pg_catalog.pg_inherits i WHERE i.inhrelid = r.oid AND r.dir <> $$d$$ ' +
  '  UNION ALL SELECT i.inhrelid, $$d$$, false FROM pg_catalog.pg_inherits i WHERE i.inhparent = r.oid AND r.dir <> $$u$$ ' +
  // An INSERT into an inheritance parent stays there; into a partitioned table it reaches a partition.
  (insertOnly ? "   AND (SELECT p.relkind FROM pg_catalog.pg_class p WHERE p.oid = r.oid) = 'p' " : '') +
  '  UNION ALL SELECT d.refobjid, $$b$$, true FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class o ON o.oid = d.objid ' +
  "   WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = r.oid " +
  "   AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjsubid >= 0 " +
  "   AND d.deptype IN ('a', 'i') AND o.relkind IN ('S', 'i', 'I') " +
  // the relations a written relation's column defaults use (a default's nextval of a sequence)
  '  UNION ALL SELECT d.refobjid, $$b$$, true FROM pg_catalog.pg_attrdef ad JOIN pg_catalog.pg_depend d ' +
  "   ON d.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND d.objid = ad.oid " +
  "   AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass WHERE ad.adrelid = r.oid AND r.t " +
  '   AND d.refobjid <> r.oid ' +
  '  UNION ALL SELECT k.conrelid, $$d$$, true FROM pg_catalog.pg_constraint k ' +
  "   WHERE k.contype = 'f' AND k.confrelid = r.oid AND r.t AND k.conrelid <> r.oid " +
  (insertOnly ? '   AND false ' : '') +
  (truncate ? '' : "   AND (k.confdeltype IN ('c', 'n', 'd') OR k.confupdtype IN ('c', 'n', 'd')) ") +
  ' ) e) ' +
  'SELECT n.nspname, c.relname, pg_catalog.bool_or(r.t AND (' +
  '  EXISTS (SELECT 1 FROM pg_catalog.pg_trigger g WHERE g.tgrelid = c.oid AND NOT g.tgisinternal) OR ' +
  "  EXISTS (SELECT 1 FROM pg_catalog.pg_rewrite w WHERE w.ev_class = c.oid AND w.ev_type <> '1')))::text, " +
  '  pg_catalog.bool_or(NOT r.s)::text, ' +
  "  pg_catalog.bool_or(r.t AND r.k AND NOT r.s AND c.relkind NOT IN ('S', 'i', 'I'))::text " +
  'FROM reach r JOIN pg_catalog.pg_class c ON c.oid = r.oid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace ' +
  'GROUP BY n.nspname, c.relname';

function seedRow(seed: ReachSeed): string {
  const id =
    'text' in seed
      ? `pg_catalog.parse_ident(${nameLiteral(seed.text)})`
      : `ARRAY[${[...(seed.schema === undefined ? [] : [seed.schema]), seed.name].map(nameLiteral).join(', ')}]::pg_catalog.text[]`;
  return `(${id}, ${seed.target ? 'true' : 'false'})`;
}

// pg_get_viewdef qualifies every name not visible in search_path: with an empty one, every name
// outside pg_catalog comes back schema-qualified, so the definition reads the same anywhere.
const RELATIONS_SQL = (names: string) =>
  "SET search_path = ''; " +
  'SELECT n.nspname, c.relname, c.relkind, ' +
  '(SELECT pg_catalog.json_agg(a.attname ORDER BY a.attnum) FROM pg_catalog.pg_attribute a ' +
  '  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), ' +
  "CASE WHEN c.relkind IN ('v', 'm') THEN pg_catalog.pg_get_viewdef(c.oid) END, " +
  '(WITH RECURSIVE up(oid, depth) AS (' +
  '   SELECT i.inhparent, 1 FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid' +
  '   UNION ALL SELECT i.inhparent, up.depth + 1 FROM pg_catalog.pg_inherits i JOIN up ON i.inhrelid = up.oid' +
  '   WHERE up.depth < 64)' +
  ' SELECT pg_catalog.json_agg(pg_catalog.json_build_array(pn.nspname, pc.relname) ORDER BY up.depth)' +
  ' FROM up JOIN pg_catalog.pg_class pc ON pc.oid = up.oid JOIN pg_catalog.pg_namespace pn ON pn.oid = pc.relnamespace), ' +
  // Generated columns and the columns their expressions read (pg_depend records each one, from the
  // column's pg_attrdef entry). Read through to_jsonb: attgenerated exists from PostgreSQL 12, and
  // before it no column is generated.
  '(SELECT pg_catalog.json_agg(pg_catalog.json_build_array(a.attname, (SELECT pg_catalog.json_agg(r.attname) ' +
  '   FROM pg_catalog.pg_attrdef ad JOIN pg_catalog.pg_depend d ' +
  "   ON d.classid = 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND d.objid = ad.oid " +
  "   AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjid = c.oid AND d.refobjsubid > 0 " +
  '   JOIN pg_catalog.pg_attribute r ON r.attrelid = c.oid AND r.attnum = d.refobjsubid ' +
  '   WHERE ad.adrelid = c.oid AND ad.adnum = a.attnum AND r.attnum <> a.attnum))) ' +
  '  FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ' +
  "  AND COALESCE(pg_catalog.to_jsonb(a) OPERATOR(pg_catalog.->>) 'attgenerated', '') <> ''), " +
  // Partitions and inheritance children, at any depth (class 188): a read of the parent returns
  // their rows, under the parent's column names.
  '(WITH RECURSIVE down(oid) AS (' +
  '   SELECT i.inhrelid FROM pg_catalog.pg_inherits i WHERE i.inhparent = c.oid' +
  '   UNION SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN down ON i.inhparent = down.oid)' +
  ' SELECT pg_catalog.json_agg(pg_catalog.json_build_array(dn.nspname, dc.relname, dc.relkind))' +
  ' FROM down JOIN pg_catalog.pg_class dc ON dc.oid = down.oid JOIN pg_catalog.pg_namespace dn ON dn.oid = dc.relnamespace), ' +
  // Columns whose values hold fields of a composite type (class 189): through domains, arrays,
  // ranges and multiranges, and fields that are composite in turn, every field reached, named by the
  // composite type's relation (a table's row type is the table's).
  '(WITH RECURSIVE ty(col, typ) AS (' +
  '   SELECT a.attname, a.atttypid FROM pg_catalog.pg_attribute a ' +
  '   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped' +
  '   UNION SELECT ty.col, s.typ FROM ty JOIN pg_catalog.pg_type t ON t.oid = ty.typ CROSS JOIN LATERAL (' +
  "     SELECT t.typbasetype AS typ WHERE t.typtype = 'd' " +
  '     UNION ALL SELECT t.typelem WHERE t.typelem <> 0 ' +
  '     UNION ALL SELECT r.rngsubtype FROM pg_catalog.pg_range r WHERE r.rngtypid = t.oid ' +
  '     UNION ALL SELECT r.rngtypid FROM pg_catalog.pg_range r ' +
  "       WHERE pg_catalog.to_jsonb(r) OPERATOR(pg_catalog.->>) 'rngmultitypid' = t.oid::pg_catalog.text " +
  '     UNION ALL SELECT f.atttypid FROM pg_catalog.pg_attribute f ' +
  '       WHERE t.typrelid <> 0 AND f.attrelid = t.typrelid AND f.attnum > 0 AND NOT f.attisdropped) s)' +
  ' SELECT pg_catalog.jsonb_agg(DISTINCT e) FROM (' +
  '  SELECT pg_catalog.jsonb_build_array(ty.col, fn.nspname, fr.relname, f.attname, fr.relkind) AS e' +
  '  FROM ty JOIN pg_catalog.pg_type t ON t.oid = ty.typ JOIN pg_catalog.pg_class fr ON fr.oid = t.typrelid' +
  '  JOIN pg_catalog.pg_namespace fn ON fn.oid = fr.relnamespace' +
  '  JOIN pg_catalog.pg_attribute f ON f.attrelid = fr.oid AND f.attnum > 0 AND NOT f.attisdropped' +
  // and, alone, each column whose values are or hold a document (json, jsonb, hstore: class 190)
  '  UNION ALL SELECT pg_catalog.jsonb_build_array(ty.col) FROM ty JOIN pg_catalog.pg_type t ON t.oid = ty.typ' +
  "  WHERE t.typname IN ('json', 'jsonb', 'hstore')) x) " +
  'FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace ' +
  `WHERE c.relname = ANY (${names}) AND c.relkind NOT IN ('i', 'I', 't', 'c')`;

const ROUTINE_JOINS =
  'LEFT JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace ' +
  'LEFT JOIN pg_catalog.pg_language l ON l.oid = p.prolang ' +
  "LEFT JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid AND d.deptype = 'e' " +
  'LEFT JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid';

// The result type's size when bounded (class 212): a fixed-length type other than a pseudo-type
// (anyelement is four bytes long and stands for any type), or numeric.
const RESULT_SIZE =
  "(SELECT CASE WHEN t.typtype = 'p' THEN NULL WHEN t.typlen > 0 THEN 'fixed' WHEN t.typname = 'numeric' " +
  "AND t.typnamespace = 'pg_catalog'::pg_catalog.regnamespace THEN 'numeric' END " +
  'FROM pg_catalog.pg_type t WHERE t.oid = p.prorettype)';

/**
 * The schema of a function or operator's code, as lineage reads it: pg_catalog only for what initdb
 * made (below FirstNormalObjectId 16384). A function created in pg_catalog later (`CREATE FUNCTION
 * pg_catalog.f`, or unqualified with pg_catalog first in search_path; an extension installed there)
 * is not PostgreSQL's own (class 349).
 */
const ROUTINE_SCHEMA =
  "CASE WHEN n.nspname = 'pg_catalog' AND p.oid >= 16384 THEN 'pg_catalog (not built in)' ELSE n.nspname END";

const FUNCTIONS_SQL = (names: string) =>
  `SELECT q.name, ${ROUTINE_SCHEMA}, l.lanname, p.provolatile, e.extname, ` +
  'EXISTS (SELECT 1 FROM pg_catalog.pg_type t WHERE t.typname = q.name), p.proretset, ' +
  // A domain outside the system schemas (its CHECK may call any function), or a type that a cast
  // implemented by a function outside pg_catalog converts to: a cast to it runs code unseen.
  'EXISTS (SELECT 1 FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace tn ON tn.oid = t.typnamespace ' +
  "WHERE t.typname = q.name AND tn.nspname NOT IN ('pg_catalog', 'information_schema') AND (t.typtype = 'd' " +
  'OR EXISTS (SELECT 1 FROM pg_catalog.pg_cast k JOIN pg_catalog.pg_proc kp ON kp.oid = k.castfunc ' +
  "JOIN pg_catalog.pg_namespace kn ON kn.oid = kp.pronamespace WHERE k.casttarget = t.oid AND kn.nspname <> 'pg_catalog'))), " +
  RESULT_SIZE +
  ' ' +
  `FROM pg_catalog.unnest(${names}) AS q(name) LEFT JOIN pg_catalog.pg_proc p ON p.proname = q.name ` +
  ROUTINE_JOINS;

const OPERATORS_SQL = (names: string) =>
  `SELECT q.name, ${ROUTINE_SCHEMA}, l.lanname, p.provolatile, e.extname, false, p.proretset, false, ${RESULT_SIZE} ` +
  `FROM pg_catalog.unnest(${names}) AS q(name) LEFT JOIN pg_catalog.pg_operator o ON o.oprname = q.name ` +
  'LEFT JOIN pg_catalog.pg_proc p ON p.oid = o.oprcode ' +
  ROUTINE_JOINS;

/**
 * SQL that is true when an extension Gatehouse trusts installed the object `oid` of catalog `cls` and
 * its language (`lang`, a language name) is one Gatehouse trusts; NULL (a shell operator, an unknown
 * language) counts as false. Shared by OVERLOADED_SQL and DOMAIN_CODE_SQL.
 */
function trustedExtensionCode(lang: string, cls: string, oid: string): string {
  return (
    `COALESCE(${lang} IN (${[...TRUSTED_LANGUAGES].map((x) => `'${x}'`).join(', ')}) AND EXISTS (` +
    '  SELECT 1 FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid ' +
    `  WHERE d.classid = ${cls} AND d.objid = ${oid} AND d.deptype = 'e' ` +
    `  AND e.extname IN (${[...TRUSTED_EXTENSIONS].map((x) => `'${x}'`).join(', ')})), false)`
  );
}

/**
 * Names of functions and operators defined outside what PostgreSQL ships (class 125): every
 * function or operator in a schema other than pg_catalog (information_schema's own, created by
 * initdb below FirstNormalObjectId 16384, excepted), unless an extension Gatehouse trusts installed
 * it in a language that computes only from its arguments (the lineage's rule, column-lineage.ts).
 * Any schema counts, not only the session's search_path: a role default or a SET can put one there.
 */
export const OVERLOADED_SQL =
  "SET search_path = ''; " +
  'SELECT DISTINCT k, name FROM (' +
  " SELECT 'f' AS k, p.proname AS name, p.prolang AS lang, p.oid AS oid, p.pronamespace AS ns, " +
  "   'pg_catalog.pg_proc'::pg_catalog.regclass AS cls FROM pg_catalog.pg_proc p " +
  " UNION ALL SELECT 'o', o.oprname, p.prolang, o.oid, o.oprnamespace, 'pg_catalog.pg_operator'::pg_catalog.regclass " +
  '   FROM pg_catalog.pg_operator o LEFT JOIN pg_catalog.pg_proc p ON p.oid = o.oprcode) r ' +
  'JOIN pg_catalog.pg_namespace n ON n.oid = r.ns ' +
  'LEFT JOIN pg_catalog.pg_language l ON l.oid = r.lang ' +
  // pg_catalog's and information_schema's own, created by initdb below FirstNormalObjectId 16384;
  // anything created there later is not (class 349).
  "WHERE (n.nspname NOT IN ('pg_catalog', 'information_schema') OR r.oid >= 16384) " +
  // A shell operator (no function) or an unknown language is not trusted: NULL counts as false.
  `AND NOT ${trustedExtensionCode('l.lanname', 'r.cls', 'r.oid')}`;

/**
 * The names of the types whose input runs code outside pg_catalog (class 225): a domain with a
 * constraint that calls a function or operator defined outside pg_catalog, either side of a cast
 * implemented by such a function, and every type that holds one — a domain over it, an array, a range
 * or multirange of it, a composite type (a table's or a view's row type) with a field of it — each by
 * its type name, its OID (a Parse's parameter types) and, for a row type, its relation's name.
 * PostgreSQL runs the CHECK whenever a value is read into the domain: a literal or a parameter compared
 * with such a column (`tags = '{x}'` runs it for each element), a cast, a record function.
 */
export const DOMAIN_CODE_SQL =
  "SET search_path = ''; " +
  'WITH RECURSIVE reach(typ) AS (' +
  ' SELECT c.contypid FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_depend d ' +
  "  ON d.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass AND d.objid = c.oid " +
  ' LEFT JOIN pg_catalog.pg_proc p ' +
  "  ON d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND p.oid = d.refobjid " +
  ' LEFT JOIN pg_catalog.pg_operator o ' +
  "  ON d.refclassid = 'pg_catalog.pg_operator'::pg_catalog.regclass AND o.oid = d.refobjid " +
  ' LEFT JOIN pg_catalog.pg_proc op ON op.oid = o.oprcode ' +
  " WHERE c.contypid <> 0 AND (p.pronamespace <> 'pg_catalog'::pg_catalog.regnamespace " +
  "  OR o.oprnamespace <> 'pg_catalog'::pg_catalog.regnamespace OR op.pronamespace <> 'pg_catalog'::pg_catalog.regnamespace) " +
  // A cast implemented by a function outside pg_catalog (unless an extension Gatehouse trusts
  // installed it in a language it trusts, as for class 125): converting to or from it runs it.
  ' UNION SELECT x.typ FROM pg_catalog.pg_cast k JOIN pg_catalog.pg_proc kp ON kp.oid = k.castfunc ' +
  ' LEFT JOIN pg_catalog.pg_language kl ON kl.oid = kp.prolang ' +
  // Each side that is a type of the database's own: a cast from int4 to such a type runs only where
  // that type is named or its column compared (a cast between two of PostgreSQL's types is left).
  ' CROSS JOIN LATERAL (SELECT ct.oid FROM pg_catalog.pg_type ct WHERE ct.oid IN (k.castsource, k.casttarget) ' +
  "  AND ct.typnamespace NOT IN ('pg_catalog'::pg_catalog.regnamespace, " +
  "  'information_schema'::pg_catalog.regnamespace)) x(typ) " +
  " WHERE kp.pronamespace <> 'pg_catalog'::pg_catalog.regnamespace " +
  `AND NOT ${trustedExtensionCode('kl.lanname', "'pg_catalog.pg_proc'::pg_catalog.regclass", 'kp.oid')} ` +
  ' UNION SELECT s.typ FROM reach r CROSS JOIN LATERAL (' +
  "   SELECT t.oid AS typ FROM pg_catalog.pg_type t WHERE t.typtype = 'd' AND t.typbasetype = r.typ " +
  '   UNION ALL SELECT t.oid FROM pg_catalog.pg_type t WHERE t.typelem = r.typ ' +
  '   UNION ALL SELECT g.rngtypid FROM pg_catalog.pg_range g WHERE g.rngsubtype = r.typ ' +
  "   UNION ALL SELECT (pg_catalog.to_jsonb(g) OPERATOR(pg_catalog.->>) 'rngmultitypid')::pg_catalog.oid " +
  "     FROM pg_catalog.pg_range g WHERE g.rngtypid = r.typ AND pg_catalog.to_jsonb(g) OPERATOR(pg_catalog.?) 'rngmultitypid' " +
  '   UNION ALL SELECT t.oid FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.typrelid = a.attrelid ' +
  '     WHERE a.atttypid = r.typ AND a.attnum > 0 AND NOT a.attisdropped) s) ' +
  'SELECT t.typname FROM reach r JOIN pg_catalog.pg_type t ON t.oid = r.typ ' +
  'UNION SELECT r.typ::pg_catalog.text FROM reach r ' +
  'UNION SELECT c.relname FROM reach r JOIN pg_catalog.pg_class c ON c.reltype = r.typ';

/**
 * The views and materialized views outside pg_catalog and information_schema, each with its rule's
 * oid and xmin (class 130): the definition, which pg_get_viewdef has to rebuild, is asked again only
 * for a rule that is new or changed since it was last read.
 */
export const VIEW_RULES_SQL =
  "SET search_path = ''; " +
  'SELECT c.relname, w.oid::text, w.xmin::text FROM pg_catalog.pg_rewrite w ' +
  'JOIN pg_catalog.pg_class c ON c.oid = w.ev_class JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace ' +
  "WHERE c.relkind IN ('v', 'm') AND w.ev_type = '1' AND n.nspname NOT IN ('pg_catalog', 'information_schema') " +
  "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'";

// With an empty search_path every name outside pg_catalog comes back schema-qualified.
const VIEW_DEFINITIONS_SQL = (oids: string) =>
  "SET search_path = ''; " +
  `SELECT w.oid::text, pg_catalog.pg_get_viewdef(w.ev_class) FROM pg_catalog.pg_rewrite w WHERE w.oid = ANY (ARRAY[${oids}]::pg_catalog.oid[])`;

/** Function and operator names some code outside pg_catalog is defined under (class 125). */
export interface OverloadedNames {
  readonly functions: ReadonlySet<string>;
  readonly operators: ReadonlySet<string>;
  /**
   * Each view's and materialized view's name (any schema outside the system's) with the definitions
   * of that name (class 130); absent when not read.
   */
  readonly views?: ReadonlyMap<string, readonly string[]>;
  /**
   * The names of types (and of relations by their row types) whose input runs code outside
   * pg_catalog, a domain's CHECK (DOMAIN_CODE_SQL, class 225); absent when not read.
   */
  readonly codeTypes?: ReadonlySet<string>;
}

function jsonArray(text: string | null | undefined): unknown[] {
  if (text === null || text === undefined) return [];
  const v: unknown = JSON.parse(text);
  return Array.isArray(v) ? v : [];
}

/** `[[column, [read, …]], …]` from RELATIONS_SQL: each generated column and what it is computed from. */
function generatedColumns(text: string | null | undefined): Pick<CatalogRelation, 'generated'> {
  const out = new Map<string, string[]>();
  for (const g of jsonArray(text)) {
    if (!Array.isArray(g) || typeof g[0] !== 'string') continue;
    const reads: unknown[] = Array.isArray(g[1]) ? (g[1] as unknown[]) : [];
    out.set(
      g[0],
      reads.filter((r): r is string => typeof r === 'string'),
    );
  }
  return out.size > 0 ? { generated: out } : {};
}

function descendantRelations(text: string | null | undefined): Pick<CatalogRelation, 'descendants'> {
  const out = jsonArray(text)
    .filter(
      (a): a is [string, string, unknown?] =>
        Array.isArray(a) && typeof a[0] === 'string' && typeof a[1] === 'string',
    )
    // A foreign partition or child returns rows its wrapper reads from outside (class 347).
    .map(([schema, name, kind]) => ({ schema, name, ...(kind === 'f' ? { foreign: true } : {}) }));
  return out.length > 0 ? { descendants: out } : {};
}

function compositeFields(text: string | null | undefined): Pick<CatalogRelation, 'fields' | 'documents'> {
  const out = new Map<string, { schema: string; table: string; column: string; view?: boolean }[]>();
  const documents = new Set<string>();
  for (const f of jsonArray(text)) {
    if (Array.isArray(f) && f.length === 1 && typeof f[0] === 'string') {
      documents.add(f[0]);
      continue;
    }
    if (!Array.isArray(f) || f.length < 4 || !f.every((x) => typeof x === 'string')) continue;
    const [column, schema, table, field, kind] = f as [string, string, string, string, string?];
    const list = out.get(column);
    const entry = { schema, table, column: field, ...(kind === 'v' || kind === 'm' ? { view: true } : {}) };
    if (list) list.push(entry);
    else out.set(column, [entry]);
  }
  return {
    ...(out.size > 0 ? { fields: out } : {}),
    ...(documents.size > 0 ? { documents } : {}),
  };
}

export class CatalogResolver implements LineageCatalog {
  private readonly cache = new Map<number, TableEntry>();
  private readonly reaches = new Map<string, { at: number; reach: Reach }>();
  private readonly relationNames = new Map<string, Named<readonly CatalogRelation[]>>();
  private readonly functionNames = new Map<string, Named<CatalogRoutines>>();
  private readonly operatorNames = new Map<string, Named<CatalogRoutines>>();
  /** Lineage of statement texts computed against this catalog (dropped with it). */
  private readonly lineages = new LruCache<{ at: number; lineage: StatementLineage }>({
    maxEntries: 10_000,
    maxTotalKeyLength: 8 * 1024 * 1024,
  });
  private overloadedNames: { at: number; value: OverloadedNames | typeof UNAVAILABLE } | undefined;
  private overloadedLoad: Promise<OverloadedNames | typeof UNAVAILABLE> | undefined;
  /** pg_get_ruledef of each user view's rule, by `oid:xmin` (class 130). */
  private ruleDefinitions = new Map<string, string>();
  private conn: CatalogConnection | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private idleTimer: NodeJS.Timeout | undefined;
  private readonly opts: Required<Omit<CatalogResolverOptions, 'now' | 'maxParameterBytes'>>;
  private readonly now: () => number;

  constructor(
    private readonly open: () => Promise<UpstreamSession>,
    options: CatalogResolverOptions = {},
  ) {
    this.opts = { ...DEFAULTS, ...options };
    this.now = options.now ?? Date.now;
    this.maxParameterBytes = options.maxParameterBytes;
  }

  readonly maxParameterBytes: number | undefined;

  /** Table OIDs of these columns whose names are not cached (or are stale or lack that column). */
  missing(columns: readonly ColumnRef[]): number[] {
    const out = new Set<number>();
    const now = this.now();
    for (const c of columns) {
      if (c.tableOid === 0) continue;
      const e = this.cache.get(c.tableOid);
      if (!e || now - e.at > this.opts.ttlMs || (c.columnNumber > 0 && !e.columns.has(c.columnNumber)))
        out.add(c.tableOid);
    }
    return [...out];
  }

  /** Fetches these tables' columns. Never rejects: a failure leaves them unresolved (masked whole). */
  load(oids: readonly number[]): Promise<void> {
    const asked = this.now();
    // Sessions asking for the same new table at once share one query: what a queued load already
    // fetched after this request was made is not fetched again.
    const run = this.queue.then(() =>
      this.fetch(oids.filter((o) => (this.cache.get(o)?.at ?? -Infinity) < asked)),
    );
    this.queue = run.catch(() => undefined);
    return run.catch(() => undefined);
  }

  /** The columns with their sources; `'unresolved'` for a table OID the catalog did not give. */
  resolve(columns: readonly ColumnRef[]): ResolvedColumnRef[] {
    return columns.map((c) => {
      if (c.tableOid === 0) return c;
      const e = this.cache.get(c.tableOid);
      let source: ColumnSource | 'unresolved' = 'unresolved';
      if (e) {
        if (c.columnNumber === 0)
          source = { schema: e.schema, table: e.table, column: '', rowColumns: e.ordered };
        else {
          const col = e.columns.get(c.columnNumber);
          if (col) source = { schema: e.schema, table: e.table, column: col.name };
        }
      }
      return { ...c, source };
    });
  }

  /**
   * What these relations reach without being named (class 113); undefined when the catalog did not
   * answer (a name regclass would refuse, a timeout): the caller cannot place the statement.
   */
  reach(
    seeds: readonly ReachSeed[],
    how: { readonly truncate: boolean; readonly insertOnly: boolean },
  ): Promise<Reach | undefined> {
    if (seeds.length === 0) return Promise.resolve({ tables: [], unplaceable: false, grantTables: [] });
    if (seeds.length > MAX_REACH_SEEDS) return Promise.resolve(undefined);
    const key = JSON.stringify([how.truncate, how.insertOnly, seeds]);
    const hit = this.reaches.get(key);
    if (hit !== undefined && this.now() - hit.at <= this.opts.ttlMs) return Promise.resolve(hit.reach);
    const run = this.queue.then(async (): Promise<Reach | undefined> => {
      try {
        const conn = await this.connection();
        const rows = await conn.query(
          REACH_SQL(seeds.map(seedRow).join(', '), how.truncate, how.insertOnly),
          this.opts.queryTimeoutMs,
        );
        const reach: Reach = {
          // Only what a named relation reaches: the named ones are the statement's own tables, which
          // policy resolves as it resolves names (an unqualified one by the connection's search path).
          tables: rows.flatMap(([schema, name, , reached]) =>
            schema == null || name == null || reached !== 'true' ? [] : [{ schema, name }],
          ),
          unplaceable: rows.some((row) => row[2] === 'true'),
          grantTables: rows.flatMap(([schema, name, , , grant]) =>
            schema == null || name == null || grant !== 'true' ? [] : [{ schema, name }],
          ),
        };
        this.reaches.set(key, { at: this.now(), reach });
        while (this.reaches.size > MAX_NAMES) this.reaches.delete(this.reaches.keys().next().value as string);
        this.armIdle();
        return reach;
      } catch {
        return undefined;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * The function and operator names code outside pg_catalog is defined under (class 125), at most
   * `overloadTtlMs` old, or UNAVAILABLE when the catalog did not answer (every name is then taken
   * as overloaded). Sessions asking at once share one query; a fresh answer costs no query.
   */
  overloaded(): OverloadedNames | typeof UNAVAILABLE | Promise<OverloadedNames | typeof UNAVAILABLE> {
    const e = this.overloadedNames;
    if (e !== undefined && this.now() - e.at <= this.opts.overloadTtlMs) return e.value;
    if (this.overloadedLoad !== undefined) return this.overloadedLoad;
    const asked = this.now();
    const run = this.queue.then(async (): Promise<OverloadedNames | typeof UNAVAILABLE> => {
      let value: OverloadedNames | typeof UNAVAILABLE;
      try {
        const conn = await this.connection();
        const rows = await conn.query(OVERLOADED_SQL, this.opts.queryTimeoutMs);
        const functions = new Set<string>();
        const operators = new Set<string>();
        for (const [k, name] of rows) if (name != null) (k === 'o' ? operators : functions).add(name);
        const views = await this.viewDefinitions(conn);
        const codeTypes = new Set<string>();
        for (const [name] of await conn.query(DOMAIN_CODE_SQL, this.opts.queryTimeoutMs))
          if (name != null) codeTypes.add(name);
        value = { functions, operators, views, codeTypes };
        this.armIdle();
      } catch {
        value = UNAVAILABLE;
      }
      // Stamped with when it was asked: DDL committed before this moment is in the answer.
      if (this.overloadedLoad === run) {
        this.overloadedNames = { at: asked, value };
        this.overloadedLoad = undefined;
      }
      return value;
    });
    this.overloadedLoad = run;
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Every user view's definitions by name, reading only the rules new or changed since the last time. */
  private async viewDefinitions(conn: {
    query(sql: string, timeoutMs: number): Promise<(string | null)[][]>;
  }) {
    const rules = await conn.query(VIEW_RULES_SQL, this.opts.queryTimeoutMs);
    const key = (oid: string, xmin: string | null | undefined) => `${oid}:${xmin ?? ''}`;
    const missing = rules.filter(([, oid, xmin]) => oid != null && !this.ruleDefinitions.has(key(oid, xmin)));
    const fresh = new Map<string, string>();
    for (let i = 0; i < missing.length; i += 500) {
      const chunk = missing.slice(i, i + 500);
      const rows = await conn.query(
        VIEW_DEFINITIONS_SQL(chunk.map(([, oid]) => `'${Number(oid)}'`).join(', ')),
        this.opts.queryTimeoutMs,
      );
      for (const [oid, def] of rows) if (oid != null && def != null) fresh.set(oid, def);
    }
    const next = new Map<string, string>();
    const views = new Map<string, string[]>();
    for (const [name, oid, xmin] of rules) {
      if (name == null || oid == null) continue;
      const k = key(oid, xmin);
      // A rule dropped between the two queries has no definition: it no longer runs.
      const def = this.ruleDefinitions.get(k) ?? fresh.get(oid);
      if (def === undefined) continue;
      next.set(k, def);
      views.set(name, [...(views.get(name) ?? []), def]);
    }
    this.ruleDefinitions = next;
    return views;
  }

  /** Forget everything (after DDL in a session of this target). */
  invalidate(): void {
    this.overloadedNames = undefined;
    this.overloadedLoad = undefined;
    this.reaches.clear();
    this.cache.clear();
    this.relationNames.clear();
    this.functionNames.clear();
    this.operatorNames.clear();
    this.lineages.clear();
  }

  // ---------------------------------------------------------------- lineage: lookups by name

  private fresh<T>(map: Map<string, Named<T>>, name: string): T | typeof UNAVAILABLE | undefined {
    const e = map.get(name);
    if (!e) return undefined;
    const age = this.now() - e.at;
    // Failures and names that were not found are asked again soon (a table created since).
    const short = e.value === UNAVAILABLE || (Array.isArray(e.value) && e.value.length === 0);
    if (age > this.opts.ttlMs || (short && age > UNAVAILABLE_TTL_MS)) return undefined;
    return e.value;
  }

  relations(
    schema: string | undefined,
    name: string,
  ): readonly CatalogRelation[] | typeof UNAVAILABLE | undefined {
    const all = this.fresh(this.relationNames, name);
    if (all === undefined || all === UNAVAILABLE || schema === undefined) return all;
    return all.filter((r) => r.schema === schema);
  }

  routines(kind: 'function' | 'operator', name: string): CatalogRoutines | typeof UNAVAILABLE | undefined {
    return this.fresh(kind === 'function' ? this.functionNames : this.operatorNames, name);
  }

  /** A statement's lineage computed earlier against the current catalog, if still fresh. */
  lineageOf(text: string): StatementLineage | undefined {
    const e = this.lineages.get(text);
    if (!e || this.now() - e.at > this.opts.ttlMs) return undefined;
    return e.lineage;
  }

  rememberLineage(text: string, lineage: StatementLineage): void {
    if (text.length > MAX_CACHED_LINEAGE_TEXT) return;
    this.lineages.set(text, { at: this.now(), lineage });
  }

  /** Loads what a lineage analysis asked for. Never rejects: a failure marks the names unavailable. */
  loadNames(needs: CatalogNeeds): Promise<void> {
    const run = this.queue.then(() => this.fetchNames(needs));
    this.queue = run.catch(() => undefined);
    return run.catch(() => undefined);
  }

  private async fetchNames(needs: CatalogNeeds): Promise<void> {
    const todo = <T>(map: Map<string, Named<T>>, names: readonly string[]) =>
      names.filter((n) => this.fresh(map, n) === undefined);
    const kinds: [Map<string, Named<never>>, string[], (names: string) => string, 'rel' | 'fn' | 'op'][] = [
      [
        this.relationNames as Map<string, Named<never>>,
        todo(this.relationNames, needs.relations),
        RELATIONS_SQL,
        'rel',
      ],
      [
        this.functionNames as Map<string, Named<never>>,
        todo(this.functionNames, needs.functions),
        FUNCTIONS_SQL,
        'fn',
      ],
      [
        this.operatorNames as Map<string, Named<never>>,
        todo(this.operatorNames, needs.operators),
        OPERATORS_SQL,
        'op',
      ],
    ];
    for (const [map, names, sql, kind] of kinds) {
      for (let i = 0; i < names.length; i += MAX_NAMES_PER_QUERY) {
        const chunk = names.slice(i, i + MAX_NAMES_PER_QUERY);
        let rows: (string | null)[][];
        try {
          const conn = await this.connection();
          rows = await conn.query(sql(nameArray(chunk)), this.opts.queryTimeoutMs);
        } catch {
          const at = this.now();
          for (const n of chunk) (map as Map<string, Named<unknown>>).set(n, { at, value: UNAVAILABLE });
          continue;
        }
        const at = this.now();
        if (kind === 'rel') this.storeRelations(chunk, rows, at);
        else this.storeRoutines(kind === 'fn' ? this.functionNames : this.operatorNames, chunk, rows, at);
      }
    }
    for (const map of [this.relationNames, this.functionNames, this.operatorNames] as Map<
      string,
      unknown
    >[]) {
      while (map.size > MAX_NAMES) map.delete(map.keys().next().value as string);
    }
    this.armIdle();
  }

  private storeRelations(names: readonly string[], rows: (string | null)[][], at: number): void {
    const found = new Map<string, CatalogRelation[]>(names.map((n) => [n, []]));
    for (const [
      schema,
      name,
      kind,
      columns,
      viewDefinition,
      ancestors,
      generated,
      descendants,
      fields,
    ] of rows) {
      if (schema == null || name == null) continue;
      const rel: CatalogRelation = {
        schema,
        name,
        kind: kind ?? 'r',
        columns: jsonArray(columns).filter((c): c is string => typeof c === 'string'),
        ancestors: jsonArray(ancestors)
          .filter(
            (a): a is [string, string] =>
              Array.isArray(a) && typeof a[0] === 'string' && typeof a[1] === 'string',
          )
          .map(([s, n]) => ({ schema: s, name: n })),
        ...(viewDefinition != null ? { viewDefinition } : {}),
        ...generatedColumns(generated),
        ...descendantRelations(descendants),
        ...compositeFields(fields),
      };
      found.get(name)?.push(rel);
    }
    for (const [n, rels] of found) {
      this.relationNames.delete(n);
      this.relationNames.set(n, { at, value: rels });
    }
  }

  private storeRoutines(
    map: Map<string, Named<CatalogRoutines>>,
    names: readonly string[],
    rows: (string | null)[][],
    at: number,
  ): void {
    const found = new Map<string, { overloads: CatalogRoutine[]; isType: boolean; userType: boolean }>(
      names.map((n) => [n, { overloads: [], isType: false, userType: false }]),
    );
    for (const [
      name,
      schema,
      language,
      volatility,
      extension,
      isType,
      returnsSet,
      userType,
      resultSize,
    ] of rows) {
      const e = name == null ? undefined : found.get(name);
      if (!e) continue;
      if (isType === 't') e.isType = true;
      if (userType === 't') e.userType = true;
      if (schema == null) continue;
      e.overloads.push({
        schema,
        language: language ?? '?',
        volatility: volatility ?? 'v',
        ...(extension != null ? { extension } : {}),
        // Unknown (no pg_proc row) counts as set-returning: the row count may carry a value.
        ...(returnsSet !== 'f' ? { returnsSet: true } : {}),
        ...(resultSize === 'fixed' || resultSize === 'numeric' ? { resultSize } : {}),
      });
    }
    for (const [n, v] of found) {
      map.delete(n);
      map.set(n, { at, value: v });
    }
  }

  get size(): number {
    return this.cache.size;
  }

  close(): void {
    clearTimeout(this.idleTimer);
    this.conn?.close();
    this.conn = undefined;
  }

  private async connection(): Promise<CatalogConnection> {
    if (this.conn && !this.conn.closed) return this.conn;
    this.conn = new CatalogConnection(await this.open());
    return this.conn;
  }

  private async fetch(oids: readonly number[]): Promise<void> {
    if (oids.length === 0) return;
    const wanted = oids.filter((o) => Number.isInteger(o) && o > 0 && o <= 0xffffffff);
    for (let i = 0; i < wanted.length; i += MAX_OIDS_PER_QUERY) {
      const chunk = wanted.slice(i, i + MAX_OIDS_PER_QUERY);
      // OIDs are integers checked above, so they are written into the text directly.
      const sql =
        'SELECT c.oid, n.nspname, c.relname, a.attnum, a.attname, a.atttypid ' +
        'FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace ' +
        'LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ' +
        `WHERE c.oid IN (${chunk.join(',')}) ORDER BY c.oid, a.attnum`;
      const conn = await this.connection();
      const rows = await conn.query(sql, this.opts.queryTimeoutMs);
      const at = this.now();
      const tables = new Map<
        number,
        { schema: string; table: string; columns: Map<number, CatalogColumn>; ordered: CatalogColumn[] }
      >();
      for (const [oid, schema, table, attnum, attname, atttypid] of rows) {
        const key = Number(oid);
        let t = tables.get(key);
        if (!t) {
          t = { schema: schema ?? '', table: table ?? '', columns: new Map(), ordered: [] };
          tables.set(key, t);
        }
        if (attnum !== null && attnum !== undefined && attname !== null && attname !== undefined) {
          const col = { name: attname, typeOid: Number(atttypid) };
          t.columns.set(Number(attnum), col);
          t.ordered.push(col);
        }
      }
      for (const [oid, t] of tables) {
        this.cache.delete(oid);
        this.cache.set(oid, { at, ...t });
      }
      while (this.cache.size > this.opts.maxTables) {
        const oldest = this.cache.keys().next().value as number;
        this.cache.delete(oldest);
      }
    }
    this.armIdle();
  }

  private armIdle(): void {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.conn?.close();
      this.conn = undefined;
    }, this.opts.idleMs);
    this.idleTimer.unref();
  }
}

const resolvers = new WeakMap<UpstreamTarget, CatalogResolver>();

/**
 * The resolver for a connection target, shared by its sessions. Targets are rebuilt on config reload,
 * so a changed upstream gets a fresh resolver (the old one closes its connection when idle).
 */
export function catalogResolverFor(target: UpstreamTarget, maxMessageBytes: number): CatalogResolver {
  let r = resolvers.get(target);
  if (!r) {
    r = new CatalogResolver(
      () => openUpstream(target, { application_name: 'gatehouse-catalog' }, maxMessageBytes),
      { maxParameterBytes: maxMessageBytes },
    );
    resolvers.set(target, r);
  }
  return r;
}
