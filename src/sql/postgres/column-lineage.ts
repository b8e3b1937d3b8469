// Column lineage from libpg-query's parse tree and the upstream catalog: for each result column of a
// statement, the source columns whose values can reach it through any expression, function, cast,
// aggregate, window, subquery, CTE (recursive too), set operation, VALUES, JSON/XML/array/row
// constructor, RETURNING, or view; plus what the statement writes, hands to volatile functions, and
// filters on. Pure and synchronous: the catalog is asked through an interface, and a missing entry
// makes the analysis ask for it (the engine loads it and runs the analysis again). What cannot be
// resolved is reported as unproven, never guessed as clean.

import {
  JSON_ANY_KEY,
  JSON_DOCUMENT_TABLE,
  JSON_KEY_SCHEMA,
  NO_LINEAGE,
  type ColumnWrite,
  type FallibleUse,
  type SourceColumn,
  type StatementLineage,
  type ValueLineage,
  type ValueSink,
} from '../../core/column-lineage.js';
import { isClosedVocabularySetting } from './closed-settings.js';
import { LruCache } from './lru-cache.js';
import { isObject, lastName, stringList, unwrap, wrapped, type NodeBody } from './parse-tree.js';
import type { PgParserRuntime } from './pg-parser-runtime.js';
import { checkText } from './submitted-text.js';
import { largeParameters, largeValue, type ResultSize, type SizeCatalog } from './value-size.js';

/** A relation as the catalog describes it. */
export interface CatalogRelation {
  readonly schema: string;
  readonly name: string;
  /** pg_class.relkind: r table, p partitioned, v view, m materialized view, f foreign, S sequence… */
  readonly kind: string;
  /** Live columns in attnum order (the fields of `*` and of the row type). */
  readonly columns: readonly string[];
  /** Parents (inheritance and partitioning), nearest first: a rule on a parent covers its children. */
  readonly ancestors: readonly { readonly schema: string; readonly name: string }[];
  /** For a view or materialized view: its query, with every name outside pg_catalog schema-qualified. */
  readonly viewDefinition?: string;
  /**
   * Generated columns (`GENERATED ALWAYS AS (…)`, stored or virtual) and the columns of the same row
   * their expressions read: a generated column carries what it is computed from.
   */
  readonly generated?: ReadonlyMap<string, readonly string[]>;
  /**
   * Partitions and inheritance children at any depth (class 188): a read of this relation returns
   * their rows too, so a rule on a child's column covers the parent's column of that name.
   */
  readonly descendants?: readonly {
    readonly schema: string;
    readonly name: string;
    /** A foreign table: its rows come from outside the database (class 347). */
    readonly foreign?: boolean;
  }[];
  /**
   * Columns whose type holds a composite value (directly, or through a domain, an array, a range or
   * another composite), with every field reached, named by the composite type's relation (class 189):
   * a column of type `api_keys` holds `api_keys.secret`, and `(k).secret` is that field.
   */
  readonly fields?: ReadonlyMap<
    string,
    readonly {
      readonly schema: string;
      readonly table: string;
      readonly column: string;
      /** The composite type is a view's or materialized view's row type. */
      readonly view?: boolean;
    }[]
  >;
  /**
   * Columns whose values are (or hold) JSON, jsonb or hstore documents (class 190): a value taken out
   * of one by key carries that key.
   */
  readonly documents?: ReadonlySet<string>;
}

/** One overload of a function, or the function behind one operator of that name. */
export interface CatalogRoutine {
  readonly schema: string;
  /** pg_language.lanname of its body. */
  readonly language: string;
  /** pg_proc.provolatile: `i`mmutable, `s`table, `v`olatile. */
  readonly volatility: string;
  /** The extension that installed it, if any. */
  readonly extension?: string;
  /** pg_proc.proretset: it returns a set (how many rows it yields depends on its arguments). */
  readonly returnsSet?: boolean;
  /**
   * Its result type's size when bounded whatever the arguments: `fixed` a fixed-length type (an
   * integer, a timestamp, a uuid), `numeric`; absent for any other (text, arrays, JSON, pseudo-types).
   */
  readonly resultSize?: ResultSize;
}

export interface CatalogRoutines {
  readonly overloads: readonly CatalogRoutine[];
  /** A type of that name exists (`int4(x)`, `varchar(x)` are casts written as calls). */
  readonly isType: boolean;
  /**
   * A domain of that name exists outside pg_catalog and information_schema, or a type a cast
   * implemented outside pg_catalog converts to: a cast to it may run code Gatehouse cannot see.
   */
  readonly userType?: boolean;
}

/** The catalog could not be read (the entry is then treated as unproven). */
export const UNAVAILABLE = 'unavailable' as const;

export interface LineageCatalog {
  /** Relations with this name (in this schema, when given); undefined when not loaded yet. */
  relations(
    schema: string | undefined,
    name: string,
  ): readonly CatalogRelation[] | typeof UNAVAILABLE | undefined;
  /** Functions (or operators) with this name in any schema; undefined when not loaded yet. */
  routines(kind: 'function' | 'operator', name: string): CatalogRoutines | typeof UNAVAILABLE | undefined;
  /** The largest parameter value a Bind can carry (the listener's message bound); 64 MiB if absent. */
  readonly maxParameterBytes?: number;
}

/** Catalog entries an analysis needs and did not find loaded. */
export interface CatalogNeeds {
  readonly relations: readonly string[];
  readonly functions: readonly string[];
  readonly operators: readonly string[];
}

export type LineageOutcome =
  | { readonly kind: 'done'; readonly lineage: StatementLineage }
  | { readonly kind: 'needs'; readonly needs: CatalogNeeds }
  /**
   * EXECUTE and FETCH return what a prepared statement or cursor computes: analyse that instead.
   * With `stores`, the statement keeps what the prepared statement returns (CREATE TABLE AS EXECUTE,
   * EXPLAIN ANALYZE of it): its results are a write into what `stores` names (class 348).
   */
  | {
      readonly kind: 'uses';
      readonly object: 'prepared' | 'cursor';
      readonly name: string;
      readonly stores?: string;
    };

export interface LineageAnalyzer {
  analyze(text: string, catalog: LineageCatalog): LineageOutcome;
}

/**
 * Functions of pg_catalog that run SQL given as text, read relations or cursors named by their
 * arguments, or read raw data files: what they return cannot be traced to columns.
 */
const DYNAMIC_FUNCTIONS: ReadonlySet<string> = new Set([
  'query_to_xml',
  'query_to_xmlschema',
  'query_to_xml_and_xmlschema',
  'table_to_xml',
  'table_to_xmlschema',
  'table_to_xml_and_xmlschema',
  'cursor_to_xml',
  'cursor_to_xmlschema',
  'schema_to_xml',
  'schema_to_xmlschema',
  'schema_to_xml_and_xmlschema',
  'database_to_xml',
  'database_to_xmlschema',
  'database_to_xml_and_xmlschema',
  'ts_stat',
  'ts_rewrite',
  'pg_read_file',
  'pg_read_binary_file',
  'pg_logical_slot_get_changes',
  'pg_logical_slot_peek_changes',
  'pg_logical_slot_get_binary_changes',
  'pg_logical_slot_peek_binary_changes',
  // The statement texts of other sessions (pg_stat_activity.query, masked in system views' place by
  // result-masker.ts): what other sessions wrote, not a column.
  'pg_stat_get_activity',
  'pg_stat_get_backend_activity',
  // The session's channels, prepared statements and cursors by name (and their texts): code a
  // statement runs without naming it can LISTEN, PREPARE, open a cursor or take an advisory lock
  // under a name or key it computes from a masked column (docs/security.md, class 269).
  'pg_listening_channels',
  'pg_prepared_statement',
  'pg_cursor',
  // Every setting's value, which code may have set (class 268; pg_settings.setting has a built-in rule).
  'pg_show_all_settings',
  // Every session's locks, advisory ones with the 64-bit keys code chose (pg_advisory_lock of eight
  // bytes of a masked value: `classid` and `objid` in pg_locks).
  'pg_lock_status',
]);

/**
 * pg_catalog functions that store a file of the server's in the database, as COPY … FROM a file does
 * (docs/security.md, class 247): what they store is read later as a value of no column.
 */
const SERVER_FILE_IMPORTS: ReadonlySet<string> = new Set(['lo_import']);
/**
 * Their OIDs, fixed in PostgreSQL's catalog (pg_proc.dat: `lo_import(text)`, `lo_import(text, oid)`),
 * for a fast-path FunctionCall, which names a function only by OID.
 */
export const SERVER_FILE_IMPORT_OIDS: ReadonlySet<number> = new Set([764, 767]);
export const SERVER_FILE_REASON =
  "the server reads a file or a program's output, which can hold masked values it keeps elsewhere (its log quotes the values of failed statements; its data files hold the tables)";

/** Languages of pg_catalog functions Gatehouse trusts to compute only from their arguments. */
export const TRUSTED_LANGUAGES: ReadonlySet<string> = new Set(['internal', 'c', 'sql']);
/**
 * Extensions whose functions and operators compute only from their arguments (types, hashing, text
 * matching). Functions of any other extension (dblink, postgres_fdw, tablefunc's crosstab, xml2,
 * pageinspect…) may reach data by other means, and user-defined functions may read any table.
 */
export const TRUSTED_EXTENSIONS: ReadonlySet<string> = new Set([
  'btree_gin',
  'btree_gist',
  'citext',
  'cube',
  'earthdistance',
  'fuzzystrmatch',
  'hstore',
  'intarray',
  'isn',
  'ltree',
  'pg_trgm',
  'pgcrypto',
  'seg',
  'unaccent',
  'uuid-ossp',
]);

function trustedRoutine(o: CatalogRoutine): boolean {
  if (!TRUSTED_LANGUAGES.has(o.language)) return false;
  return o.schema === 'pg_catalog' || (o.extension !== undefined && TRUSTED_EXTENSIONS.has(o.extension));
}
/** Schemas whose views are not expanded (system views over catalogs; pg_stats is refused by name). */
const SYSTEM_SCHEMAS: ReadonlySet<string> = new Set(['pg_catalog', 'information_schema']);
/** What a detached child's values are written into (class 301). */
const PARENT_LABEL = "the parent's column that reads (and a materialized view over it keeps) the rows of";
/** Objects a RENAME or SET SCHEMA moves with their columns' names (classes 191 and 302). */
const RELATION_OBJECTS: ReadonlySet<string> = new Set([
  'OBJECT_TABLE',
  'OBJECT_FOREIGN_TABLE',
  'OBJECT_VIEW',
  'OBJECT_MATVIEW',
]);
/** Catalog relations and functions that hold samples of column values (docs/masking.md). */
const STATISTICS_RELATIONS: ReadonlySet<string> = new Set([
  'pg_stats',
  'pg_stats_ext',
  'pg_stats_ext_exprs',
  'pg_statistic',
  'pg_statistic_ext_data',
]);
const STATISTICS_FUNCTIONS: ReadonlySet<string> = new Set(['pg_mcv_list_items']);

/** Set-returning functions whose result columns are known (name → column names). */
const SRF_COLUMNS: ReadonlyMap<string, readonly string[]> = new Map([
  ['json_each', ['key', 'value']],
  ['json_each_text', ['key', 'value']],
  ['jsonb_each', ['key', 'value']],
  ['jsonb_each_text', ['key', 'value']],
]);
const ONE_COLUMN_SRFS: ReadonlySet<string> = new Set([
  'generate_series',
  'generate_subscripts',
  'regexp_matches',
  'regexp_split_to_table',
  'string_to_table',
  'json_array_elements',
  'json_array_elements_text',
  'jsonb_array_elements',
  'jsonb_array_elements_text',
  'json_object_keys',
  'jsonb_object_keys',
  'jsonb_path_query',
  'unnest',
]);

/**
 * Which arguments of a trusted function cannot make it fail, whatever their value: `*` all of them,
 * `odd` the values of a key/value list, else their positions. Whether a statement fails is visible
 * (its SQLSTATE too, even with the text withheld), so a masked value handed to an argument not listed
 * here is one bit of it (`1/(ascii(secret) - 119)` fails exactly when the first character is `w`):
 * it counts as a predicate (maskedPredicates). A value over the server's size limits is a failure
 * of its own, modelled for the whole statement (value-size.ts, class 212); other resources (memory,
 * statement_timeout) are not.
 */
type TotalArgs = '*' | 'odd' | readonly number[];
/** Entries giving each of `names` the same safe arguments. */
const each = (names: readonly string[], args: TotalArgs): [string, TotalArgs][] =>
  names.map((n) => [n, args]);
const TOTAL_FUNCTIONS: ReadonlyMap<string, TotalArgs> = new Map<string, TotalArgs>([
  // text in, text out: case, trimming, replacement, quoting, hashing, measuring
  ...each(
    [
      'upper',
      'lower',
      'initcap',
      'reverse',
      'translate',
      'replace',
      'btrim',
      'ltrim',
      'rtrim',
      'concat',
      'concat_ws',
      'textcat',
      'quote_literal',
      'quote_nullable',
      'quote_ident',
      'md5',
      'sha224',
      'sha256',
      'sha384',
      'sha512',
      'length',
      'char_length',
      'character_length',
      'octet_length',
      'bit_length',
      'ascii',
      'pg_column_size',
      'starts_with',
      'strpos',
      'position',
      'hashtext',
      'num_nulls',
      'num_nonnulls',
      'pg_typeof',
      'text',
      'varchar',
      'bpchar',
      'name',
      'to_json',
      'to_jsonb',
      'row_to_json',
      'array_to_json',
      'json_build_array',
      'jsonb_build_array',
      'array_to_string',
      'array_length',
      'cardinality',
      'to_hex',
      'textsend',
      // aggregates and window functions that only collect, count, compare or pick values
      'string_agg',
      'json_agg',
      'jsonb_agg',
      'xmlagg',
      'count',
      'min',
      'max',
      'bool_and',
      'bool_or',
      'every',
      'row_number',
      'rank',
      'dense_rank',
      'percent_rank',
      'cume_dist',
    ],
    '*',
  ),
  // the string (and fill, replacement) positions; a length, position or pattern can fail
  ['substr', [0]],
  ['substring', [0]],
  ['left', [0]],
  ['right', [0]],
  ['lpad', [0, 2]],
  ['rpad', [0, 2]],
  ['overlay', [0, 1]],
  ['split_part', [0, 1]],
  ['regexp_replace', [0, 2]],
  ['regexp_like', [0]],
  ['regexp_match', [0]],
  ['regexp_count', [0]],
  ['regexp_instr', [0]],
  ['regexp_substr', [0]],
  ['encode', [0]],
  ['first_value', [0]],
  ['last_value', [0]],
  ['nth_value', [0]],
  ['lag', [0, 2]],
  ['lead', [0, 2]],
  // An array of more than one dimension is an error (and a NULL start position): the element is safe.
  ['array_position', [1]],
  ['array_append', [1]],
  ['array_prepend', [0]],
  // a NULL key is an error; values are not
  ['json_build_object', 'odd'],
  ['jsonb_build_object', 'odd'],
  ['json_object_agg', [1]],
  ['jsonb_object_agg', [1]],
]);
/** Operators (by name, among trusted code) that cannot fail on the operands at these positions. */
const TOTAL_OPERATORS: ReadonlyMap<string, TotalArgs> = new Map<string, TotalArgs>([
  ...each(['=', '<>', '!=', '<', '>', '<=', '>=', '->', '->>', '#>', '#>>', '^@'], '*'),
  // LIKE and regular expressions: the string never fails, a pattern can
  ...each(['~~', '!~~', '~~*', '!~~*', '~', '!~', '~*', '!~*'], [0]),
]);
/** Casts to these types print a value (or cut it to a length): they cannot fail. */
const TOTAL_CAST_TARGETS: ReadonlySet<string> = new Set(['text', 'varchar', 'bpchar', 'name']);
/** XML expressions that parse or check their input (the others only escape and concatenate). */
const FALLIBLE_XML_OPS: ReadonlySet<string> = new Set([
  'IS_XMLPARSE',
  'IS_XMLPI',
  'IS_XMLROOT',
  'IS_DOCUMENT',
]);
/** SQL/JSON nodes that parse, query or check uniqueness (JSON(), JSON_VALUE, JSON_OBJECT … WITH UNIQUE). */
const FALLIBLE_NODES: ReadonlySet<string> = new Set([
  'JsonFuncExpr',
  'JsonParseExpr',
  'JsonObjectConstructor',
  'JsonObjectAgg',
  'XmlSerialize',
]);

/**
 * Functions and operators that cannot fail on scalars but can on arrays, whose type a parse does not
 * give: `array_agg` of NULL arrays or arrays of other dimensions ("cannot accumulate null arrays"),
 * `||` joining arrays of incompatible dimensions, `length(bytea, name)` with an unknown encoding
 * name. Total only where every argument is one `scalarShaped` vouches for (and `length` with one).
 */
const TOTAL_ON_SCALARS: ReadonlyMap<
  string,
  { readonly kind: 'function' | 'operator'; readonly arity?: number }
> = new Map([
  ['array_agg', { kind: 'function' }],
  ['length', { kind: 'function', arity: 1 }],
  ['||', { kind: 'operator' }],
]);

/**
 * Node types that cannot fail whatever values reach them (structure, tests, comparisons, choices):
 * a masked value reaching any other node type the walker does not handle by name counts as deciding
 * whether the statement fails (JSON_ARRAY(x FORMAT JSON) and JSON_SERIALIZE parse their input).
 */
const TOTAL_NODES: ReadonlySet<string> = new Set([
  'List',
  'RowExpr',
  'NullTest',
  'BooleanTest',
  'MinMaxExpr',
  'GroupingFunc',
  'SortBy',
  'WindowDef',
  'A_Indices',
  'A_Star',
  'Alias',
  'RangeVar',
  'CaseWhen',
  'CurrentOfExpr',
  'MultiAssignRef',
  'JsonIsPredicate',
  'JsonFormat',
  'JsonReturning',
  'JsonOutput',
]);

/** Function names whose result is one scalar (text, a number, a boolean, a hash) whatever they get. */
const SCALAR_FUNCTIONS: ReadonlySet<string> = new Set([
  'upper',
  'lower',
  'initcap',
  'reverse',
  'translate',
  'replace',
  'btrim',
  'ltrim',
  'rtrim',
  'concat',
  'concat_ws',
  'textcat',
  'quote_literal',
  'quote_nullable',
  'quote_ident',
  'md5',
  'length',
  'char_length',
  'character_length',
  'octet_length',
  'bit_length',
  'ascii',
  'strpos',
  'position',
  'starts_with',
  'substr',
  'substring',
  'left',
  'right',
  'lpad',
  'rpad',
  'overlay',
  'split_part',
  'regexp_replace',
  'to_hex',
  'encode',
  'hashtext',
  'string_agg',
  'count',
  'to_json',
  'to_jsonb',
  'row_to_json',
  'array_to_string',
  'array_length',
  'cardinality',
]);

/**
 * The value of this expression is a scalar (not an array) by its form, whatever its inputs: a column
 * or a constant (an array-typed column's own shape is not modelled), a cast to a non-array type, a
 * test, a comparison, a text function, or a choice among such. Anything else may be an array whose
 * NULLness or dimensions a masked value chose (`nullif(ARRAY[secret < 'm'], ARRAY[true])`).
 */
function scalarShaped(node: unknown): boolean {
  const w = wrapped(node);
  if (!w) return false;
  const [type, body] = w;
  switch (type) {
    case 'ColumnRef':
    case 'A_Const':
    case 'ParamRef':
    case 'NullTest':
    case 'BooleanTest':
    case 'BoolExpr':
      return true;
    case 'TypeCast':
      return isObject(body['typeName']) && asArray(body['typeName']['arrayBounds']).length === 0;
    case 'CollateClause':
      return scalarShaped(body['arg']);
    case 'FuncCall': {
      const name = lastName(body['funcname']);
      return name !== undefined && SCALAR_FUNCTIONS.has(name);
    }
    case 'A_Expr': {
      const kind = str(body['kind'], '');
      const name = lastName(body['name']);
      if (kind === 'AEXPR_NULLIF') return scalarShaped(body['lexpr']);
      if (kind !== 'AEXPR_OP') return true; // IN, BETWEEN, LIKE, IS DISTINCT…: booleans
      if (name === '||') return scalarShaped(body['lexpr']) && scalarShaped(body['rexpr']);
      return (
        name !== undefined &&
        [
          '=',
          '<>',
          '!=',
          '<',
          '>',
          '<=',
          '>=',
          '~~',
          '!~~',
          '~~*',
          '!~~*',
          '~',
          '!~',
          '~*',
          '!~*',
          '^@',
        ].includes(name)
      );
    }
    case 'CoalesceExpr':
    case 'MinMaxExpr':
      return asArray(body['args']).every(scalarShaped);
    case 'CaseExpr':
      return (
        asArray(body['args']).every((a) => scalarShaped(unwrap(a, 'CaseWhen')?.['result'])) &&
        (body['defresult'] === undefined || scalarShaped(body['defresult']))
      );
    case 'SubLink':
      return (
        body['subLinkType'] === 'EXISTS_SUBLINK' ||
        str(body['subLinkType'], '').startsWith('ANY') ||
        str(body['subLinkType'], '').startsWith('ALL')
      );
    default:
      return false;
  }
}

function safeArg(spec: TotalArgs, i: number): boolean {
  if (spec === '*') return true;
  if (spec === 'odd') return i % 2 === 1;
  return spec.includes(i);
}

/** Texts longer than this are parsed again rather than having their tree kept. */
const MAX_CACHED_TREE_TEXT = 16 * 1024;
/** How deep views may nest inside each other before the lineage is called unproven. */
const MAX_VIEW_DEPTH = 16;
/** Rounds of a recursive CTE before its lineage is taken as everything seen so far. */
const MAX_RECURSION_ROUNDS = 32;

// ---------------------------------------------------------------- flows

/** What can reach one value: source column keys (`schema\0table\0column`), and how. */
class Flow {
  constructor(
    readonly keys: ReadonlySet<string>,
    readonly direct: boolean,
    readonly unproven?: string,
    readonly row?: boolean,
  ) {}

  get empty(): boolean {
    return this.keys.size === 0 && this.unproven === undefined;
  }

  /** The same sources, no longer a plain copy of one column. */
  derived(): Flow {
    return this.direct || this.row ? new Flow(this.keys, false, this.unproven) : this;
  }
}

const NONE = new Flow(new Set(), false);

function union(flows: readonly Flow[]): Flow {
  const useful = flows.filter((f) => !f.empty);
  if (useful.length === 0) return NONE;
  if (useful.length === 1) return useful[0]!.derived();
  const keys = new Set<string>();
  let unproven: string | undefined;
  for (const f of useful) {
    for (const k of f.keys) keys.add(k);
    unproven ??= f.unproven;
  }
  return new Flow(keys, false, unproven);
}

/**
 * Like union, but branches that are all the same column unchanged stay direct (two branches of one
 * column). A branch carrying no masked column (a constant the client chose: `SELECT email … UNION
 * SELECT 'guess'`, `USING (email)` against VALUES) makes the result derived: shown in the column's
 * own style, the client's constant would come back hashed, an oracle for guesses.
 */
function merge(flows: readonly Flow[]): Flow {
  const useful = flows.filter((f) => !f.empty);
  if (useful.length === 0) return NONE;
  const first = useful[0]!;
  if (useful.length === flows.length && useful.every((f) => f.direct && sameKeys(f.keys, first.keys)))
    return first;
  return union(useful);
}

function sameKeys(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const k of a) if (!b.has(k)) return false;
  return true;
}

function unprovenFlow(reason: string): Flow {
  return new Flow(new Set(), false, reason);
}

const key = (schema: string, table: string, column: string) => `${schema}\u0000${table}\u0000${column}`;

// ---------------------------------------------------------------- values taken out of documents

/** A value that is a JSON, jsonb or hstore document (a column of that type, or a cast to one). */
const DOCUMENT = key(JSON_KEY_SCHEMA, JSON_DOCUMENT_TABLE, '');
const hasDocument = (f: Flow): boolean => f.keys.has(DOCUMENT);
/** Types whose values are documents of keys and values. */
const DOCUMENT_TYPES: ReadonlySet<string> = new Set(['json', 'jsonb', 'hstore']);

/**
 * The value under `keys` of the document `base` carries (class 190): pseudo sources that a key name
 * in the profile's jsonKeys masks, as it masks that key's value inside the document; `undefined`
 * keys: a key the statement does not name, masked whole. Nothing when `base` carries no data.
 */
function keyed(base: Flow, keys: readonly string[] | undefined): Flow {
  if (base.empty) return NONE;
  const names = keys === undefined ? [JSON_ANY_KEY] : keys;
  if (names.length === 0) return NONE;
  return new Flow(new Set([DOCUMENT, ...names.map((k) => key(JSON_KEY_SCHEMA, '', k))]), false);
}

/** A string constant as written, with no cast (a cast such as `::varchar(3)` can change it). */
function bareString(node: unknown): string | undefined {
  const sv = unwrap(node, 'A_Const')?.['sval'];
  return isObject(sv) && typeof sv['sval'] === 'string' ? sv['sval'] : undefined;
}

/**
 * Why a setting's value cannot be traced: code a statement runs without naming it (a function, a DO
 * block, a row-level security policy, a trigger) may have set it from a masked column, and the
 * server keeps it for the session (docs/security.md, class 268).
 */
function settingReason(setting: string | undefined): string {
  const what = setting === undefined ? 'a setting named at run time' : `setting ${setting}`;
  return `the value of ${what}, which code Gatehouse cannot see (a function, a DO block, a row-level security policy) may have set from a masked column`;
}

/**
 * A constant the statement writes: its text, `null` for a number or NULL (an array index, no key),
 * undefined when the node is not a constant (`'x'::text` is one).
 */
function constantKey(node: unknown): string | null | undefined {
  const cast = unwrap(node, 'TypeCast');
  if (cast) return constantKey(cast['arg']);
  const c = unwrap(node, 'A_Const');
  if (!c) return undefined;
  const sv = c['sval'];
  if (isObject(sv)) return typeof sv['sval'] === 'string' ? sv['sval'] : '';
  return null;
}

/** The elements of an array literal (`{a,"b c"}`); undefined when it does not read as one. */
function arrayLiteral(text: string): string[] | undefined {
  const t = text.trim();
  if (!t.startsWith('{') || !t.endsWith('}')) return undefined;
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let any = false;
  for (let i = 1; i < t.length - 1; i++) {
    const c = t[i]!;
    if (c === '\\') {
      cur += t[++i] ?? '';
      any = true;
    } else if (c === '"') {
      quoted = !quoted;
      any = true;
    } else if (c === ',' && !quoted) {
      out.push(any ? cur : cur.trim());
      cur = '';
      any = false;
    } else if (c === '{' || c === '}') {
      if (!quoted) return undefined;
      cur += c;
    } else cur += c;
  }
  if (quoted) return undefined;
  if (cur.trim() !== '' || any || out.length > 0) out.push(any ? cur : cur.trim());
  return out;
}

/**
 * The keys a key operand names: one constant (a key, or an index: none), an `ARRAY[…]` of constants,
 * or a text array literal; undefined when the statement does not name them (computed at run time).
 */
function keysOf(node: unknown, arrayText: boolean): readonly string[] | undefined {
  const arr = unwrap(node, 'A_ArrayExpr');
  if (arr) {
    const out: string[] = [];
    for (const e of asArray(arr['elements'])) {
      const k = constantKey(e);
      if (k === undefined) return undefined;
      if (k !== null) out.push(k);
    }
    return out;
  }
  const cast = unwrap(node, 'TypeCast');
  const asArrayText =
    arrayText || (isObject(cast?.['typeName']) && asArray(cast['typeName']['arrayBounds']).length > 0);
  const k = constantKey(node);
  if (k === undefined) return undefined;
  if (k === null) return [];
  return asArrayText ? arrayLiteral(k) : [k];
}

/**
 * The member names a constant SQL/JSON path names (`$.password`, `$."api key"`, `$.a.b ? (@.c > 1)`);
 * undefined when it is not a constant, or it reaches members it does not name (`.*`, `.**`,
 * `.keyvalue()`).
 */
function pathKeys(node: unknown): readonly string[] | undefined {
  const k = constantKey(node);
  if (k === undefined) return undefined;
  if (k === null) return [];
  if (/\.\s*\*|keyvalue\s*\(/i.test(k)) return undefined;
  const out: string[] = [];
  const re = /\.\s*(?:"((?:[^"\\]|\\.)*)"|([A-Za-z_$][\w$]*))/g;
  for (let m = re.exec(k); m !== null; m = re.exec(k)) {
    const quoted = m[1];
    out.push(quoted !== undefined ? quoted.replace(/\\(.)/g, '$1') : m[2]!);
  }
  // A string literal in the path may name a key too (`$ ? (@ == "password")` compares, but
  // `$.* ? …` is refused above): every quoted string counts.
  for (const m of k.matchAll(/"((?:[^"\\]|\\.)*)"/g)) out.push(m[1]!.replace(/\\(.)/g, '$1'));
  return out;
}

/**
 * The keys a constant JSON document or hstore literal names, at any depth; undefined (every key) when
 * the operand is not a constant or does not parse.
 */
function documentKeys(node: unknown): readonly string[] | undefined {
  const k = constantKey(node);
  if (k === undefined) return undefined;
  if (k === null) return [];
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) for (const x of v) walk(x);
    else if (isObject(v))
      for (const [key, x] of Object.entries(v)) {
        out.push(key);
        walk(x);
      }
  };
  try {
    walk(JSON.parse(k));
    return out;
  } catch {
    // an hstore literal: `"key"=>value, key=>value`
    for (const m of k.matchAll(/(?:"((?:[^"\\]|\\.)*)"|([^\s,=>"]+))\s*=>/g)) out.push(m[1] ?? m[2]!);
    return out.length > 0 ? out : undefined;
  }
}

/** Functions that take a value out of a document by the keys their later arguments name. */
const EXTRACT_PATH_FUNCTIONS: ReadonlySet<string> = new Set([
  'json_extract_path',
  'json_extract_path_text',
  'jsonb_extract_path',
  'jsonb_extract_path_text',
]);
/** Functions that take values out of a document by a SQL/JSON path (their second argument). */
const PATH_QUERY_FUNCTIONS: ReadonlySet<string> = new Set([
  // whether a path's filter holds is a test of the values it names
  'jsonb_path_exists',
  'jsonb_path_match',
  'jsonb_path_exists_tz',
  'jsonb_path_match_tz',
  'jsonb_path_query',
  'jsonb_path_query_array',
  'jsonb_path_query_first',
  'jsonb_path_query_tz',
  'jsonb_path_query_array_tz',
  'jsonb_path_query_first_tz',
]);
/** Functions that give a document's values without their keys, or under keys the data holds. */
const EVERY_KEY_FUNCTIONS: ReadonlySet<string> = new Set([
  'json_each',
  'json_each_text',
  'jsonb_each',
  'jsonb_each_text',
  'each',
  'svals',
  'avals',
  'hstore_to_array',
  'hstore_to_matrix',
  'populate_record',
]);
/** Of those, the ones whose column definition list names the keys they read (`AS x(password text)`). */
const RECORD_FUNCTIONS: ReadonlySet<string> = new Set([
  'json_to_record',
  'jsonb_to_record',
  'json_to_recordset',
  'jsonb_to_recordset',
]);

// ---------------------------------------------------------------- scopes

interface Col {
  readonly name: string;
  readonly flow: Flow;
}

/** A FROM item (relation, subquery, function, join…) as columns can be resolved against it. */
interface Item {
  /** The name it is referenced by (alias or relation name); undefined for a join without alias. */
  readonly name: string | undefined;
  readonly cols: readonly Col[];
  /** Every column it may have is listed in `cols` (else a name not listed may still be one of its). */
  readonly namesKnown: boolean;
  /** `cols` is exactly what `*` expands to. */
  readonly starKnown: boolean;
  /** Everything it can carry (its whole-row value, and any column not listed). */
  readonly any: Flow;
  /** Items visible by name inside an unaliased join. */
  readonly members: readonly Item[];
}

class Scope {
  readonly items: Item[] = [];
  readonly ctes = new Map<string, readonly Col[]>();
  /** CTEs whose query can fail, and what in it can: it runs where (and if) the CTE is read. */
  readonly fallibleCtes = new Map<string, string>();
  constructor(readonly parent?: Scope) {}

  cte(name: string): readonly Col[] | undefined {
    return this.ctes.get(name) ?? this.parent?.cte(name);
  }

  cteFailure(name: string): string | undefined {
    return this.ctes.has(name) ? this.fallibleCtes.get(name) : this.parent?.cteFailure(name);
  }
}

/**
 * A FROM item with these columns. A `*` placeholder among them (a star Gatehouse could not expand)
 * means any other name may be one of its columns too.
 */
function itemOf(
  name: string | undefined,
  cols: readonly Col[],
  known = !cols.some((c) => c.name === '*'),
  members: Item[] = [],
): Item {
  return {
    name,
    cols,
    namesKnown: known,
    starKnown: known,
    any: union(cols.map((c) => c.flow)),
    members,
  };
}

function unknownItem(name: string | undefined, flow: Flow): Item {
  return { name, cols: [], namesKnown: false, starKnown: false, any: flow, members: [] };
}

/** Applies an alias's column names to the first columns. */
function renamed(cols: readonly Col[], alias: unknown): readonly Col[] {
  const names = stringList(isObject(alias) ? alias['colnames'] : undefined);
  if (names.length === 0) return cols;
  // A `*` placeholder stands for columns not listed: an alias does not make them known.
  return cols.map((c, i) => (i < names.length && c.name !== '*' ? { name: names[i]!, flow: c.flow } : c));
}

function aliasName(alias: unknown): string | undefined {
  const n = isObject(alias) ? alias['aliasname'] : undefined;
  return typeof n === 'string' ? n : undefined;
}

// ---------------------------------------------------------------- the analysis of one statement

interface Ctx {
  /** Inside a predicate the client wrote (WHERE, ORDER BY…): column reads count as predicates. */
  readonly predicate: boolean;
  /** Inside a view's definition (its predicates are the owner's, not the client's). */
  readonly view: number;
  readonly viewStack: readonly string[];
}

const TOP: Ctx = { predicate: false, view: 0, viewStack: [] };

/** What an analysis found missing from the catalog, to be fetched before the statement is traced again. */
function needsOf(a: Analysis): LineageOutcome {
  return {
    kind: 'needs',
    needs: {
      relations: [...a.needRelations],
      functions: [...a.needFunctions],
      operators: [...a.needOperators],
    },
  };
}

class Analysis {
  readonly reads = new Set<string>();
  readonly predicates = new Set<string>();
  readonly sinks: { what: string; flow: Flow }[] = [];
  readonly writes: { targets: string[]; label: string; flow: Flow }[] = [];
  readonly statistics = new Set<string>();
  /** Columns handed to something that can fail on them (what → keys): whether it fails is a bit. */
  readonly failures = new Map<string, Set<string>>();
  /** How many things that can fail were met so far, and the last one (to tell what a condition guards). */
  private fallibleCount = 0;
  private lastFallible = '';
  unprovenReads: string | undefined;
  /** Why a value Gatehouse cannot trace decides which rows come back, or how many (the first reason). */
  unprovenPredicate: string | undefined;
  readonly needRelations = new Set<string>();
  readonly needFunctions = new Set<string>();
  readonly needOperators = new Set<string>();

  constructor(
    private readonly catalog: LineageCatalog,
    private readonly parseView: (text: string) => unknown,
  ) {}

  get missing(): boolean {
    return this.needRelations.size + this.needFunctions.size + this.needOperators.size > 0;
  }

  private note(flow: Flow, ctx: Ctx): Flow {
    for (const k of flow.keys) this.reads.add(k);
    if (ctx.predicate && ctx.view === 0) for (const k of flow.keys) this.predicates.add(k);
    if (flow.unproven !== undefined) this.unprovenReads ??= flow.unproven;
    return flow;
  }

  private notePredicate(flow: Flow, ctx: Ctx): void {
    for (const k of flow.keys) this.reads.add(k);
    if (ctx.view > 0) return;
    for (const k of flow.keys) this.predicates.add(k);
    // Code Gatehouse cannot trace computes a value that decides which rows come back, or how many
    // (`LIMIT ascii(substr(pg_stat_get_backend_activity(n), 1, 1))`): the value may be a masked one.
    if (flow.unproven !== undefined) this.unprovenPredicate ??= flow.unproven;
  }

  /**
   * `what` can fail (raise an error) depending on `flow`, the values that decide it. A view's own
   * expressions are the owner's (as its predicates are), but a condition of the client's deciding
   * whether they run still counts.
   */
  private mayFail(what: string, flow: Flow, ctx: Ctx): void {
    this.fallibleCount++;
    this.lastFallible = what;
    if (ctx.view > 0 || flow.keys.size === 0) return;
    let keys = this.failures.get(what);
    if (!keys) {
      keys = new Set();
      this.failures.set(what, keys);
    }
    for (const k of flow.keys) keys.add(k);
  }

  /** A mark to tell, after analysing a part, whether anything in it can fail. */
  private get failMark(): number {
    return this.fallibleCount;
  }

  /**
   * `cond` decides whether the part analysed since `mark` is evaluated (CASE, AND/OR, COALESCE, IN,
   * BETWEEN, FILTER stop or choose by it): when something in that part can fail, whether the
   * statement fails answers the condition.
   */
  private guards(cond: Flow, mark: number, ctx: Ctx): void {
    if (this.fallibleCount > mark && cond.keys.size > 0)
      this.mayFail(`a condition deciding whether ${this.lastFallible} is evaluated`, cond, ctx);
  }

  // -------------------------------------------------------------- statements

  /** Result columns of a top-level statement (undefined when it returns no data). */
  statement(node: unknown): { cols: readonly Col[] | undefined; aligned: boolean } {
    const w = wrapped(node);
    if (!w) return { cols: undefined, aligned: false };
    const [type, body] = w;
    this.builtinChange(type, body);
    switch (type) {
      case 'SelectStmt':
        return this.rows(this.select(body, undefined, TOP));
      case 'InsertStmt':
      case 'UpdateStmt':
      case 'DeleteStmt':
      case 'MergeStmt':
        return this.rows(this.modify(type, body, undefined, TOP));
      case 'DeclareCursorStmt':
      case 'PrepareStmt': {
        const q = body['query'];
        return this.rows(this.query(q, undefined, TOP));
      }
      case 'CopyStmt':
        return this.copy(body);
      case 'VariableShowStmt': {
        // SHOW of a setting code may have set to a text of its choosing (class 268).
        const setting = typeof body['name'] === 'string' ? body['name'] : undefined;
        if (setting !== undefined && isClosedVocabularySetting(setting))
          return { cols: undefined, aligned: false };
        const value = { name: setting ?? '', flow: unprovenFlow(settingReason(setting)) };
        // SHOW ALL: name, setting, description (only the setting is a value code may have chosen).
        if (setting?.toLowerCase() === 'all')
          return {
            cols: [
              { name: 'name', flow: NONE },
              { ...value, name: 'setting' },
              { name: 'description', flow: NONE },
            ],
            aligned: true,
          };
        return { cols: [value], aligned: true };
      }
      case 'ExplainStmt': {
        // The plan holds no column values; EXPLAIN ANALYZE runs the statement (errors, writes), and
        // what it reports of the run (rows, memory of a hash or sort, buffers) depends on the values
        // read: every column read counts as a predicate (`Memory Usage` of a hash over repeat(secret,
        // 1000) measures its length).
        const explained = unwrap(body['query'], 'ExecuteStmt');
        if (explained) {
          this.executeArguments(explained);
          // EXPLAIN [ANALYZE] EXECUTE runs a prepared statement (whose errors quote what it reads)
          // that is not traced here: untraceable, so its error texts are withheld.
          this.unprovenReads ??=
            'EXPLAIN EXECUTE runs a prepared statement that Gatehouse does not trace inside EXPLAIN';
          return { cols: undefined, aligned: false };
        }
        this.statement(body['query']);
        if (asArray(body['options']).some(analyzeOption)) for (const k of this.reads) this.predicates.add(k);
        // The planner runs calls while it plans, ANALYZE or not: a STABLE one in LIMIT or OFFSET, an
        // IMMUTABLE one with constant arguments anywhere. What code Gatehouse cannot trace returns
        // reaches the plan (a row estimate, EXPLAIN VERBOSE's output): the plan is untraceable, as
        // that code's result in a SELECT is (docs/security.md, class 170).
        if (this.unprovenReads !== undefined) {
          const reason = `the plan shows values the planner computes with code Gatehouse cannot trace (${this.unprovenReads})`;
          return { cols: [{ name: 'QUERY PLAN', flow: unprovenFlow(reason) }], aligned: true };
        }
        return { cols: undefined, aligned: false };
      }
      case 'CreateTableAsStmt': {
        const q = body['query'];
        const executed = unwrap(q, 'ExecuteStmt');
        if (executed) {
          this.executeArguments(executed);
          this.unprovenReads ??= 'CREATE TABLE AS EXECUTE runs a prepared statement';
          return { cols: undefined, aligned: false };
        }
        const r = this.query(q, undefined, TOP);
        // A materialized view keeps its query: reading it later is traced through its definition.
        if (body['objtype'] !== 'OBJECT_MATVIEW') this.writeNewTable(r.cols, 'a new table');
        return { cols: undefined, aligned: false };
      }
      case 'CallStmt': {
        const f = this.expr(body['funccall'], new Scope(), TOP);
        const reason = f.unproven ?? 'CALL runs a procedure whose body Gatehouse cannot see';
        this.unprovenReads ??= reason;
        return { cols: [{ name: 'call', flow: unprovenFlow(reason) }], aligned: false };
      }
      case 'ViewStmt': {
        // The view's predicates are the owner's when it is read: at CREATE VIEW the client is the
        // owner, and its WHERE on a masked column is this statement's (maskedPredicates applies).
        const r = this.query(body['query'], undefined, TOP);
        if (body['replace'] === true) this.replacedView(body['view'], r.cols);
        return { cols: undefined, aligned: false };
      }
      case 'DoStmt':
        this.unprovenReads ??= 'a DO block runs procedural code Gatehouse cannot see';
        return { cols: undefined, aligned: false };
      case 'RenameStmt':
      case 'AlterObjectSchemaStmt':
      case 'AlterTableStmt':
        // Column rules name relations and columns: a rename or a move gives every value of the
        // column another name, as a write into that column would (class 191).
        this.renames(type, body);
        if (type === 'AlterTableStmt') {
          this.schemaExpressions(type, body);
          this.defaults(body);
        }
        this.utility(body);
        return { cols: undefined, aligned: false };
      case 'CreateStmt':
      case 'CreateForeignTableStmt':
      case 'CreateDomainStmt':
        // A column's or a domain's default is computed at every later INSERT that leaves it out, a
        // statement whose text does not show it (class 248).
        this.defaults(body);
        this.utility(body);
        return { cols: undefined, aligned: false };
      case 'AlterDomainStmt':
        this.defaults(body, body['subtype'] === 'T' ? body['def'] : undefined);
        // A CHECK added to a domain is validated on every value of every column of the domain's
        // type, which the statement does not name: VALUE is untraceable (class 192).
        if (body['subtype'] === 'C') {
          const scope = new Scope();
          const reason = "a domain's values, in every column of its type";
          scope.items.push(itemOf(undefined, [{ name: 'value', flow: unprovenFlow(reason) }]));
          this.expr(body['def'], scope, TOP);
        }
        this.utility(body);
        return { cols: undefined, aligned: false };
      case 'IndexStmt':
      case 'RuleStmt':
      case 'CreateTrigStmt':
      case 'CreatePolicyStmt':
      case 'AlterPolicyStmt':
      case 'CreateStatsStmt':
        // Expressions over a relation's rows that run now or at every later write (class 192).
        this.schemaExpressions(type, body);
        // `CREATE OR REPLACE RULE "_RETURN" AS ON SELECT TO v DO INSTEAD SELECT …` replaces a view's
        // definition as CREATE OR REPLACE VIEW does (class 301).
        if (type === 'RuleStmt' && body['event'] === 'CMD_SELECT' && body['replace'] === true) {
          const actions = asArray(body['actions']);
          const cols = actions.length === 1 ? this.query(actions[0], undefined, TOP).cols : [];
          this.replacedView(body['relation'], cols);
        }
        this.utility(body);
        return { cols: undefined, aligned: false };
      default:
        // Utility statements: the relations they name may have their values quoted in errors
        // (ALTER TABLE … USING, CREATE INDEX on an expression, a CHECK being validated).
        this.utility(body);
        return { cols: undefined, aligned: false };
    }
  }

  /**
   * A statement that changes what lineage assumes of PostgreSQL's own functions (class 349): that a
   * function of pg_catalog (or of an extension Gatehouse trusts) computes only from its arguments, and
   * that its name and volatility say what it does (`query_to_xml` runs SQL, `setval` keeps its
   * argument). ALTER FUNCTION … IMMUTABLE, a RENAME, a move in or out of pg_catalog, a function
   * created there, a function added to a trusted extension and a write into a pg_catalog table
   * (`UPDATE pg_proc`) each make later statements traced on a false premise: a write of an
   * untraceable value into the catalog, refused under column rules.
   */
  private builtinChange(type: string, body: NodeBody): void {
    const changed = (what: string) =>
      this.writes.push({
        targets: [],
        label: what,
        flow: unprovenFlow(
          "Gatehouse traces later statements by what PostgreSQL's own functions are: their names, schemas, volatility and bodies",
        ),
      });
    const routineKinds = ['OBJECT_FUNCTION', 'OBJECT_PROCEDURE', 'OBJECT_ROUTINE', 'OBJECT_AGGREGATE'];
    // A function named by ObjectWithArgs is PostgreSQL's own when it is written in pg_catalog or,
    // unqualified, a function of that name exists there (search_path reaches pg_catalog first).
    const builtin = (object: unknown): string | undefined => {
      const owa = unwrap(object, 'ObjectWithArgs') ?? asOptBody(object);
      const names = stringList(owa?.['objname']);
      const name = names[names.length - 1];
      if (name === undefined) return undefined;
      if (names.length > 1) return names[names.length - 2] === 'pg_catalog' ? name : undefined;
      const info = this.catalog.routines('function', name);
      if (info === undefined) {
        this.needFunctions.add(name);
        return undefined;
      }
      if (info === UNAVAILABLE) return name;
      return info.overloads.some((o) => o.schema === 'pg_catalog' || trustedRoutine(o)) ? name : undefined;
    };
    switch (type) {
      case 'AlterFunctionStmt': {
        const name = builtin(body['func']);
        if (name !== undefined) changed(`PostgreSQL's own function ${name}() (ALTER FUNCTION)`);
        return;
      }
      case 'RenameStmt':
      case 'AlterObjectSchemaStmt': {
        const kind = str(type === 'RenameStmt' ? body['renameType'] : body['objectType'], '');
        if (!routineKinds.includes(kind)) return;
        const name = builtin(body['object']);
        if (name !== undefined) changed(`PostgreSQL's own function ${name}() (renamed or moved)`);
        else if (body['newschema'] === 'pg_catalog') changed('a function moved into pg_catalog');
        return;
      }
      case 'CreateFunctionStmt':
      case 'DefineStmt': {
        const names = stringList(type === 'CreateFunctionStmt' ? body['funcname'] : body['defnames']);
        if (names.length > 1 && names[names.length - 2] === 'pg_catalog')
          changed(`a function or operator created in pg_catalog (${names[names.length - 1]})`);
        else if (type === 'CreateFunctionStmt' && body['replace'] === true && names.length === 1) {
          const name = builtin({ objname: body['funcname'] });
          if (name !== undefined) changed(`PostgreSQL's own function ${name}() (CREATE OR REPLACE)`);
        }
        return;
      }
      case 'AlterExtensionContentsStmt': {
        const ext = str(body['extname'], '');
        if (TRUSTED_EXTENSIONS.has(ext))
          changed(`the contents of extension ${ext}, whose functions Gatehouse trusts`);
        return;
      }
      case 'InsertStmt':
      case 'UpdateStmt':
      case 'DeleteStmt':
      case 'MergeStmt': {
        const rv = asOptBody(body['relation']);
        const rel = rv ? (unwrap(rv, 'RangeVar') ?? rv) : undefined;
        const name = rel?.['relname'];
        if (typeof name !== 'string') return;
        const schema = typeof rel?.['schemaname'] === 'string' ? rel['schemaname'] : undefined;
        if (schema !== undefined && schema !== 'pg_catalog') return;
        const rels = this.catalog.relations(schema, name);
        if (rels === undefined) {
          this.needRelations.add(name);
          return;
        }
        // Its tables (pg_proc, pg_operator, pg_cast…); views such as pg_settings write no catalog row.
        if (rels !== UNAVAILABLE && rels.some((r) => r.schema === 'pg_catalog' && r.kind === 'r'))
          changed(`catalog table pg_catalog.${name}`);
        return;
      }
    }
  }

  /**
   * EXECUTE's arguments inside EXPLAIN ANALYZE or CREATE TABLE AS: the prepared statement may store
   * them (`INSERT … VALUES ($1)`), so one computed from what Gatehouse cannot trace is a write of it
   * (class 249; a plain EXECUTE is traced in ParseTreeLineageAnalyzer.analyze).
   */
  private executeArguments(exec: NodeBody): void {
    for (const p of asArray(exec['params'])) {
      const flow = this.expr(p, new Scope(), TOP);
      if (!flow.empty)
        this.writes.push({
          targets: [],
          label: 'a parameter of EXECUTE, which the prepared statement may store',
          flow: flow.derived(),
        });
    }
  }

  /**
   * Column and domain defaults a schema statement sets (`DEFAULT …` in CREATE TABLE, ADD COLUMN, SET
   * DEFAULT, CREATE or ALTER DOMAIN): each is a write into the column of what it computes, at every
   * INSERT that leaves the column out, though that INSERT's text does not show it. A default cannot
   * name a column, but it can compute what Gatehouse cannot trace (`query_to_xml('SELECT secret …')`,
   * `pg_read_file(…)`, a user function), which `masking-write` refuses (docs/security.md, class 248).
   */
  private defaults(body: NodeBody, domainDefault?: unknown): void {
    const write = (expr: unknown, label: string) => {
      if (expr === undefined || expr === null) return;
      const flow = this.expr(expr, new Scope(), TOP);
      if (!flow.empty) this.writes.push({ targets: [], label, flow: flow.derived() });
    };
    if (domainDefault !== undefined) write(domainDefault, 'the default of a domain');
    const visit = (v: unknown, column: string | undefined): void => {
      if (Array.isArray(v)) {
        for (const x of v) visit(x, column);
        return;
      }
      if (!isObject(v)) return;
      for (const [k, child] of Object.entries(v)) {
        if (!isObject(child)) {
          if (Array.isArray(child)) visit(child, column);
          continue;
        }
        if (k === 'ColumnDef') {
          const name = str(child['colname'], '?');
          write(child['raw_default'], `the default of column ${name}`);
          visit(child['constraints'], name);
        } else if (k === 'Constraint' && child['contype'] === 'CONSTR_DEFAULT') {
          write(child['raw_expr'], column ? `the default of column ${column}` : 'a default');
        } else if (k === 'AlterTableCmd' && child['subtype'] === 'AT_ColumnDefault') {
          write(child['def'], `the default of column ${str(child['name'], '?')}`);
        } else if (
          k === 'PartitionBoundSpec' ||
          'listdatums' in child ||
          'lowerdatums' in child ||
          'upperdatums' in child
        ) {
          // A partition's bounds are computed once, by CREATE TABLE … PARTITION OF or ATTACH
          // PARTITION, and kept in the catalog as constants (pg_get_expr(relpartbound, …)): a write
          // (class 249).
          for (const list of ['listdatums', 'lowerdatums', 'upperdatums'])
            for (const d of asArray(child[list])) {
              const range = unwrap(d, 'PartitionRangeDatum');
              write(range ? range['value'] : d, 'a partition bound');
            }
        } else visit(child, column);
      }
    };
    visit(body, undefined);
  }

  private rows(r: { cols: readonly Col[]; starKnown: boolean }): {
    cols: readonly Col[];
    aligned: boolean;
  } {
    return { cols: r.cols, aligned: r.starKnown };
  }

  /**
   * `CREATE OR REPLACE VIEW` of an existing view (class 301). A materialized view keeps the rows its
   * query computed when it was last refreshed, and is traced through its definition as it reads
   * today: through the views it names, by their definitions of today. Replacing one of them
   * relabels those stored rows: the values a column computed from a masked column would be read as
   * what the new definition computes (a constant, an unmasked column). So the replacement is a
   * write of what each column of the old definition carried into that column as it will be traced:
   * whatever the new definition's column does not carry as strongly (a masked column it no longer
   * reads, a column it now passes unchanged where the old one transformed it, a value the old one
   * could not trace) is written where a later read would show it, and masking-write refuses it when
   * a rule masks it. A view whose columns keep what they carried can still be replaced.
   */
  private replacedView(viewNode: unknown, newCols: readonly Col[]): void {
    const rv = isObject(viewNode) ? (unwrap(viewNode, 'RangeVar') ?? viewNode) : undefined;
    if (!isObject(rv) || typeof rv['relname'] !== 'string') return;
    const name = rv['relname'];
    const schema = typeof rv['schemaname'] === 'string' ? rv['schemaname'] : undefined;
    const rels = this.catalog.relations(schema, name);
    if (rels === undefined) {
      this.needRelations.add(name);
      return;
    }
    const label = (column: string, rel?: CatalogRelation) =>
      `column ${column} of view ${rel ? `${rel.schema}.${rel.name}` : name} as replaced (a materialized view over it keeps the rows the old definition computed)`;
    if (rels === UNAVAILABLE) {
      this.writes.push({
        targets: [],
        label: label('*'),
        flow: unprovenFlow(`the definition view ${name} had could not be read`),
      });
      return;
    }
    for (const rel of rels) {
      // Only a plain view can be replaced; a name in another schema is one it may be.
      if (rel.kind !== 'v' || SYSTEM_SCHEMAS.has(rel.schema)) continue;
      const oldCols = this.relationCols(rel, TOP);
      oldCols.forEach((old, i) => {
        // The view keeps its name: what a rule on it masks stays masked (class 302).
        const now = this.ownName(rel, old.name, newCols[i]?.flow ?? NONE);
        if (old.flow.unproven !== undefined && now.unproven === undefined) {
          this.writes.push({
            targets: [],
            label: label(old.name, rel),
            flow: unprovenFlow(old.flow.unproven),
          });
          return;
        }
        // A column the old definition transformed (`upper(secret)`) and the new one passes unchanged
        // would show the stored, transformed value in the column's own style (partial, hash).
        const lost =
          !old.flow.direct && now.direct
            ? [...old.flow.keys]
            : [...old.flow.keys].filter((k) => !now.keys.has(k));
        if (lost.length > 0)
          this.writes.push({
            targets: [],
            label: label(old.name, rel),
            flow: new Flow(new Set(lost), false),
          });
      });
    }
  }

  /**
   * A statement that gives a relation's values other names (class 191): RENAME of a table or a
   * column, SET SCHEMA, a schema's or a composite type attribute's RENAME, DETACH PARTITION and NO
   * INHERIT (the child loses its parent's names). Each column's values are written, unchanged, under
   * the names they will have; masking-write refuses it when those names are not masked as strongly.
   */
  private renames(type: string, body: NodeBody): void {
    const relation = (node: unknown): { schema?: string; name: string } | undefined => {
      const rv = isObject(node) ? (unwrap(node, 'RangeVar') ?? node) : undefined;
      if (!isObject(rv) || typeof rv['relname'] !== 'string') return undefined;
      return {
        ...(typeof rv['schemaname'] === 'string' ? { schema: rv['schemaname'] } : {}),
        name: rv['relname'],
      };
    };
    const untraceable = (what: string) =>
      this.writes.push({
        targets: [],
        label: what,
        flow: unprovenFlow(`${what} renames what column rules name, and Gatehouse does not follow it`),
      });
    /** Each column of `ref` (own rows only: a view is traced through its definition) moved by `to`. */
    const move = (
      ref: { schema?: string; name: string } | undefined,
      to: (rel: CatalogRelation, column: string) => string[],
      only?: string,
      what = 'the new name of',
    ): void => {
      if (ref === undefined) return;
      const rels = this.catalog.relations(ref.schema, ref.name);
      if (rels === undefined) {
        this.needRelations.add(ref.name);
        return;
      }
      if (rels === UNAVAILABLE) {
        untraceable(`a rename of ${ref.name}`);
        return;
      }
      for (const rel of rels) {
        // A view is traced through its definition, which keeps the rules of what it reads: only the
        // names a rule may give the view itself move with it (class 302).
        const cols = isView(rel)
          ? rel.columns.map((name) => ({
              name,
              flow: new Flow(new Set([key(rel.schema, rel.name, name)]), true),
            }))
          : this.relationCols(rel, TOP);
        for (const c of cols) {
          if (only !== undefined && c.name !== only) continue;
          const targets = to(rel, c.name);
          const label = `${what} ${rel.schema}.${rel.name}.${c.name}`;
          this.writes.push({ targets, label, flow: c.flow });
        }
      }
    };
    const descendants = (rel: CatalogRelation) => [rel, ...(rel.descendants ?? [])];
    if (type === 'RenameStmt') {
      const kind = str(body['renameType'], '');
      const newname = str(body['newname'], '');
      if (RELATION_OBJECTS.has(kind))
        move(relation(body['relation']), (rel, c) => [key(rel.schema, newname, c)]);
      else if (kind === 'OBJECT_COLUMN')
        move(
          relation(body['relation']),
          (rel) => descendants(rel).map((d) => key(d.schema, d.name, newname)),
          str(body['subname'], ''),
        );
      else if (kind === 'OBJECT_SCHEMA') untraceable(`ALTER SCHEMA ${str(body['subname'], '')} RENAME`);
      else if (kind === 'OBJECT_ATTRIBUTE') untraceable(`a rename of an attribute of a composite type`);
      // A composite type's fields are named by its relation (class 189).
      else if (kind === 'OBJECT_TYPE') untraceable(`a rename of a type`);
      return;
    }
    if (type === 'AlterObjectSchemaStmt') {
      const kind = str(body['objectType'], '');
      const newschema = str(body['newschema'], '');
      if (RELATION_OBJECTS.has(kind))
        move(relation(body['relation']), (rel, c) => [key(newschema, rel.name, c)]);
      else if (kind === 'OBJECT_TYPE') untraceable(`a move of a type to another schema`);
      return;
    }
    for (const cmd of asArray(body['cmds'])) {
      const c = unwrap(cmd, 'AlterTableCmd');
      if (!c) continue;
      const sub = c['subtype'];
      // The child keeps its own names and its descendants', not the parent's.
      const own = (rel: CatalogRelation, col: string) =>
        descendants(rel).map((d) => key(d.schema, d.name, col));
      // The parent's names no longer carry the child's (class 301): rows of the child read through
      // the parent and stored (a materialized view over the parent keeps them) would be read under
      // the parent's names alone. The child's values are written into them.
      const intoParent =
        (parent: { schema?: string; name: string } | undefined) =>
        (_rel: CatalogRelation, col: string): string[] => {
          if (parent === undefined) return [];
          const ps = this.catalog.relations(parent.schema, parent.name);
          if (ps === undefined) {
            this.needRelations.add(parent.name);
            return [];
          }
          if (ps === UNAVAILABLE) return [];
          return ps.flatMap((p) => [
            key(p.schema, p.name, col),
            ...p.ancestors.map((a) => key(a.schema, a.name, col)),
          ]);
        };
      if (sub === 'AT_DetachPartition') {
        const pc = isObject(c['def']) ? unwrap(c['def'], 'PartitionCmd') : undefined;
        move(relation(pc?.['name']), own);
        move(relation(pc?.['name']), intoParent(relation(body['relation'])), undefined, PARENT_LABEL);
      } else if (sub === 'AT_DropInherit') {
        move(relation(body['relation']), own);
        move(relation(body['relation']), intoParent(relation(c['def'])), undefined, PARENT_LABEL);
      }
    }
  }

  /**
   * A schema statement's expressions over a relation's rows (class 192): a CHECK constraint, a
   * generated column, `ALTER COLUMN … TYPE … USING`, an index's expressions and predicate, a rule's
   * condition and actions, a trigger's WHEN and function, a row-level security policy, extended
   * statistics. They run on every row now (validation, an index build, a rewrite) or at every later
   * write, each value handed to what they call: traced as a query over the relation is, so a masked
   * value handed to code Gatehouse cannot see is a sink, a rule action's write of one is a write, and
   * `USING` writes its value into the column.
   */
  private schemaExpressions(type: string, body: NodeBody): void {
    const rv = type === 'CreatePolicyStmt' || type === 'AlterPolicyStmt' ? body['table'] : body['relation'];
    const relations = type === 'CreateStatsStmt' ? asArray(body['relations']) : [rv];
    const scope = new Scope();
    for (const r of relations) {
      if (!isObject(r)) continue;
      const item = this.rangeVar(r, scope, TOP, false);
      scope.items.push(item);
      if (type === 'RuleStmt' || type === 'CreateTrigStmt') {
        // OLD and NEW are the row before and after the write.
        scope.items.push(itemOf('old', item.cols), itemOf('new', item.cols));
      }
    }
    const walk = (node: unknown) => {
      if (node !== undefined) this.expr(node, scope, TOP);
    };
    switch (type) {
      case 'AlterTableStmt':
        for (const cmd of asArray(body['cmds'])) {
          const c = unwrap(cmd, 'AlterTableCmd');
          if (!c) continue;
          const def = c['def'];
          if (c['subtype'] === 'AT_AlterColumnType') {
            // USING computes the column's new values from the row: a write into that column.
            const col = unwrap(def, 'ColumnDef');
            const flow = this.expr(col?.['raw_default'], scope, TOP);
            const name = str(c['name'], '?');
            const item = scope.items[0];
            const targets = item?.cols.find((x) => x.name === name)?.flow.keys;
            if (!flow.empty)
              this.writes.push({
                targets: targets ? [...targets] : [],
                label: `column ${name} rewritten by USING`,
                flow: flow.direct && targets !== undefined ? flow : flow.derived(),
              });
          } else if (c['subtype'] === 'AT_SetExpression') {
            // A generated column computed anew (class 301): a materialized view over it keeps the
            // values the old expression computed, which would be traced by the new one. What the old
            // expression read and the new one does not is written into the column.
            const name = str(c['name'], '?');
            const now = this.expr(def, scope, TOP);
            const old = scope.items[0]?.cols.find((x) => x.name === name)?.flow ?? NONE;
            const lost = [...old.keys].filter((k) => !now.keys.has(k) && k.split('\u0000')[2] !== name);
            if (old.unproven !== undefined && now.unproven === undefined)
              this.writes.push({
                targets: [],
                label: `generated column ${name} as computed anew`,
                flow: unprovenFlow(old.unproven),
              });
            else if (lost.length > 0)
              this.writes.push({
                targets: [],
                label: `generated column ${name} as computed anew (a materialized view over it keeps the old values)`,
                flow: new Flow(new Set(lost), false),
              });
          } else if (
            c['subtype'] !== 'AT_DetachPartition' &&
            c['subtype'] !== 'AT_AttachPartition' &&
            c['subtype'] !== 'AT_AddInherit' &&
            c['subtype'] !== 'AT_DropInherit'
          )
            walk(def);
        }
        return;
      case 'IndexStmt':
        walk(body['indexParams']);
        walk(body['indexIncludingParams']);
        walk(body['whereClause']);
        return;
      case 'RuleStmt':
        walk(body['whereClause']);
        for (const action of asArray(body['actions'])) {
          const w = wrapped(action);
          if (!w) continue;
          const [t, b] = w;
          if (t === 'InsertStmt' || t === 'UpdateStmt' || t === 'DeleteStmt') this.modify(t, b, scope, TOP);
          else if (t === 'SelectStmt') this.select(b, scope, TOP);
          else walk(action);
        }
        return;
      case 'CreateTrigStmt': {
        walk(body['whenClause']);
        // The trigger function gets the whole row (NEW, OLD) whatever its arguments say.
        const names = stringList(body['funcname']);
        const name = names[names.length - 1];
        const any = scope.items[0]?.any ?? NONE;
        if (name !== undefined)
          this.routine(
            'function',
            name,
            names.length > 1 ? names[names.length - 2] : undefined,
            any,
            `trigger function ${name}()`,
            TOP,
          );
        return;
      }
      case 'CreatePolicyStmt':
      case 'AlterPolicyStmt':
        walk(body['qual']);
        walk(body['with_check']);
        return;
      case 'CreateStatsStmt':
        walk(body['exprs']);
        return;
    }
  }

  private utility(body: NodeBody): void {
    const visit = (v: unknown): void => {
      if (Array.isArray(v)) {
        for (const x of v) visit(x);
        return;
      }
      if (!isObject(v)) return;
      for (const [k, child] of Object.entries(v)) {
        if (k === 'RangeVar' && isObject(child)) this.utilityRelation(child);
        else if (k === 'relation' && isObject(child) && typeof child['relname'] === 'string')
          this.utilityRelation(child);
        else visit(child);
      }
    };
    visit(body);
  }

  private utilityRelation(rv: NodeBody): void {
    const name = rv['relname'];
    if (typeof name !== 'string') return;
    const schema = typeof rv['schemaname'] === 'string' ? rv['schemaname'] : undefined;
    if (STATISTICS_RELATIONS.has(name) && (schema === undefined || schema === 'pg_catalog'))
      this.statistics.add(name);
    const rels = this.catalog.relations(schema, name);
    if (rels === undefined) {
      this.needRelations.add(name);
      return;
    }
    if (rels === UNAVAILABLE) {
      this.unprovenReads ??= `the catalog entry of relation ${name} could not be read`;
      return;
    }
    for (const rel of rels) {
      for (const c of rel.columns) this.reads.add(key(rel.schema, rel.name, c));
      // A view's or materialized view's query runs too (REFRESH MATERIALIZED VIEW): what it reads
      // is read, and its errors may quote it.
      if (isView(rel)) for (const c of this.relationCols(rel, TOP)) this.note(c.flow, TOP);
    }
  }

  private copy(body: NodeBody): { cols: readonly Col[] | undefined; aligned: boolean } {
    if (body['is_from'] === true) {
      // COPY … FROM a server file or program stores what the server reads there — its own log, which
      // quotes the values of failed statements, or a data file — in a table a later read shows
      // (docs/security.md, class 247).
      if (typeof body['filename'] === 'string' || body['is_program'] === true) {
        const rv = body['relation'];
        const rel = isObject(rv) && typeof rv['relname'] === 'string' ? rv['relname'] : 'a table';
        this.writes.push({
          targets: [],
          label: `${rel} (COPY FROM a server file or program)`,
          flow: unprovenFlow(SERVER_FILE_REASON),
        });
      }
      return { cols: undefined, aligned: false };
    }
    let r: { cols: readonly Col[]; starKnown: boolean };
    if (body['query'] !== undefined) r = this.query(body['query'], undefined, TOP);
    else {
      const item = this.rangeVar(body['relation'], new Scope(), TOP, false);
      const att = stringList(body['attlist']);
      const cols =
        att.length === 0
          ? item.cols
          : att.map((n) => item.cols.find((c) => c.name === n) ?? { name: n, flow: item.any });
      r = { cols, starKnown: att.length > 0 || item.starKnown };
      for (const c of cols) this.note(c.flow, TOP);
    }
    if (typeof body['filename'] === 'string' || body['is_program'] === true) {
      // COPY … TO a server file or program: the data leaves through the server, not the client.
      for (const c of r.cols) this.sink('COPY to a server file or program', c.flow);
      return { cols: undefined, aligned: false };
    }
    return this.rows(r);
  }

  private sink(what: string, flow: Flow): void {
    if (!flow.empty) this.sinks.push({ what, flow });
  }

  private writeNewTable(cols: readonly Col[], label: string): void {
    for (const c of cols) if (!c.flow.empty) this.writes.push({ targets: [], label, flow: c.flow });
  }

  /** Any query node (SelectStmt, or a data-modifying statement in a CTE). */
  query(node: unknown, outer: Scope | undefined, ctx: Ctx): { cols: readonly Col[]; starKnown: boolean } {
    const w = wrapped(node);
    if (!w) return { cols: [], starKnown: false };
    const [type, body] = w;
    if (type === 'SelectStmt') return this.select(body, outer, ctx);
    if (type === 'InsertStmt' || type === 'UpdateStmt' || type === 'DeleteStmt' || type === 'MergeStmt')
      return this.modify(type, body, outer, ctx);
    const reason = `a ${type} inside a query`;
    this.unprovenReads ??= reason;
    return { cols: [], starKnown: false };
  }

  private withClause(withClause: unknown, scope: Scope, ctx: Ctx): void {
    if (!isObject(withClause)) return;
    const ctes = Array.isArray(withClause['ctes']) ? withClause['ctes'] : [];
    const recursive = withClause['recursive'] === true;
    for (const node of ctes) {
      const cte = unwrap(node, 'CommonTableExpr');
      if (!cte) continue;
      const name = cte['ctename'];
      if (typeof name !== 'string') continue;
      const names = stringList(cte['aliascolnames']);
      // SEARCH and CYCLE add columns computed from the CTE's own (the path holds their values).
      const search = isObject(cte['search_clause']) ? cte['search_clause'] : undefined;
      const cycle = isObject(cte['cycle_clause']) ? cte['cycle_clause'] : undefined;
      const named = (cols: readonly Col[]): Col[] => {
        const out = cols.map((c, i) => ({ name: names[i] ?? c.name, flow: c.flow }));
        const all = union(out.map((c) => c.flow));
        if (search) out.push({ name: str(search['search_seq_column'], '?column?'), flow: all });
        if (cycle) {
          out.push({ name: str(cycle['cycle_mark_column'], '?column?'), flow: all });
          out.push({ name: str(cycle['cycle_path_column'], '?column?'), flow: all });
        }
        return out;
      };
      const mark = this.failMark;
      if (!recursive) {
        scope.ctes.set(name, named(this.query(cte['ctequery'], scope, ctx).cols));
        if (this.failMark > mark) scope.fallibleCtes.set(name, this.lastFallible);
        continue;
      }
      // A recursive CTE refers to itself: start from its non-recursive branch and widen until
      // nothing new flows in.
      const q = unwrap(cte['ctequery'], 'SelectStmt');
      let cols: Col[] =
        q && q['op'] !== 'SETOP_NONE' && q['op'] !== undefined
          ? named(this.select(asBody(q['larg']), scope, ctx).cols)
          : [];
      scope.ctes.set(name, cols);
      for (let round = 0; round < MAX_RECURSION_ROUNDS; round++) {
        const next = named(this.query(cte['ctequery'], scope, ctx).cols);
        const widened = next.map((c, i) => ({
          name: c.name,
          flow: cols[i] ? merge([cols[i].flow, c.flow]) : c.flow,
        }));
        const stable =
          widened.length === cols.length &&
          widened.every(
            (c, i) => sameKeys(c.flow.keys, cols[i]!.flow.keys) && c.flow.direct === cols[i]!.flow.direct,
          );
        cols = widened;
        scope.ctes.set(name, cols);
        if (stable) break;
      }
      if (this.failMark > mark) scope.fallibleCtes.set(name, this.lastFallible);
    }
  }

  select(body: NodeBody, outer: Scope | undefined, ctx: Ctx): { cols: readonly Col[]; starKnown: boolean } {
    const scope = new Scope(outer);
    this.withClause(body['withClause'], scope, ctx);
    const pred: Ctx = { ...ctx, predicate: true };
    const out: Ctx = { ...ctx, predicate: false };
    let result: { cols: readonly Col[]; starKnown: boolean };
    const op = body['op'];
    if (op !== undefined && op !== 'SETOP_NONE') {
      const l = this.select(asBody(body['larg']), scope, ctx);
      const r = this.select(asBody(body['rarg']), scope, ctx);
      const n = Math.max(l.cols.length, r.cols.length);
      const cols: Col[] = [];
      for (let i = 0; i < n; i++) {
        const a = l.cols[i];
        const b = r.cols[i];
        cols.push({
          name: a?.name ?? b?.name ?? '?column?',
          flow: merge([a?.flow ?? NONE, b?.flow ?? NONE]),
        });
      }
      result = { cols, starKnown: l.starKnown && r.starKnown };
      // UNION removes duplicates, INTERSECT and EXCEPT compare rows: how many come back says whether
      // values are equal (`count(*) FROM (SELECT substr(secret, 1, 1) … UNION SELECT 'w')`).
      if (op !== 'SETOP_UNION' || body['all'] !== true)
        for (const c of cols) this.notePredicate(c.flow, pred);
      this.outputPredicates(body['sortClause'], cols, scope, pred, 'sort');
    } else if (Array.isArray(body['valuesLists'])) {
      const rows = body['valuesLists'].map((row) => {
        const items = unwrap(row, 'List')?.['items'];
        return Array.isArray(items) ? items.map((e) => this.expr(e, scope, out)) : [];
      });
      const n = Math.max(0, ...rows.map((r) => r.length));
      const cols: Col[] = [];
      for (let i = 0; i < n; i++)
        cols.push({ name: `column${i + 1}`, flow: merge(rows.map((r) => r[i] ?? NONE)) });
      result = { cols, starKnown: true };
      this.outputPredicates(body['sortClause'], cols, scope, pred, 'sort');
    } else {
      for (const from of asArray(body['fromClause'])) scope.items.push(this.fromItem(from, scope, ctx));
      this.predicate(body['whereClause'], scope, pred);
      result = this.targetList(body['targetList'], scope, out);
      this.outputPredicates(body['groupClause'], result.cols, scope, pred, 'group');
      this.predicate(body['havingClause'], scope, pred);
      this.predicate(body['windowClause'], scope, pred);
      const clause = asArray(body['distinctClause']);
      const distinct = clause.filter((d) => isObject(d) && Object.keys(d).length > 0);
      // Plain DISTINCT (an empty entry) compares whole rows, as UNION does: how many come back says
      // whether values are equal (`count(*) FROM (SELECT DISTINCT x FROM (SELECT substr(secret, 1, 1)
      // … UNION ALL SELECT 'w') t)` is 1 exactly for a right guess; docs/security.md class 137).
      if (distinct.length < clause.length) for (const c of result.cols) this.notePredicate(c.flow, pred);
      this.outputPredicates(distinct, result.cols, scope, pred, 'sort');
      this.outputPredicates(body['sortClause'], result.cols, scope, pred, 'sort');
    }
    this.predicate(body['limitCount'], scope, pred);
    this.predicate(body['limitOffset'], scope, pred);
    if (isObject(body['intoClause'])) this.writeNewTable(result.cols, 'a new table (SELECT INTO)');
    return result;
  }

  private predicate(node: unknown, scope: Scope, ctx: Ctx): void {
    if (node === undefined) return;
    const f = this.expr(node, scope, ctx);
    this.notePredicate(f, ctx);
  }

  /**
   * ORDER BY, GROUP BY and DISTINCT ON may name an output column by position or by its name, else
   * they are expressions over the FROM items.
   */
  private outputPredicates(
    list: unknown,
    cols: readonly Col[],
    scope: Scope,
    ctx: Ctx,
    kind: 'sort' | 'group',
  ): void {
    for (const raw of asArray(list)) {
      const node = kind === 'sort' ? (unwrap(raw, 'SortBy')?.['node'] ?? raw) : raw;
      const position = unwrap(node, 'A_Const')?.['ival'];
      if (isObject(position)) {
        const i = typeof position['ival'] === 'number' ? position['ival'] : 0;
        const col = cols[i - 1];
        if (col) this.notePredicate(col.flow, ctx);
        continue;
      }
      const ref = unwrap(node, 'ColumnRef');
      const names = ref ? stringList({ List: { items: ref['fields'] } }) : [];
      if (names.length === 1) {
        // ORDER BY prefers an output column of that name, GROUP BY a column of the FROM items.
        const named = cols.filter((c) => c.name === names[0]);
        if (named.length > 0 && (kind === 'sort' || !findColumn(scope, names[0]!))) {
          for (const c of named) this.notePredicate(c.flow, ctx);
          continue;
        }
      }
      this.predicate(node, scope, ctx);
    }
  }

  private targetList(list: unknown, scope: Scope, ctx: Ctx): { cols: Col[]; starKnown: boolean } {
    const cols: Col[] = [];
    let starKnown = true;
    for (const entry of asArray(list)) {
      const rt = unwrap(entry, 'ResTarget');
      if (!rt) continue;
      const val = rt['val'];
      const star = this.starExpansion(val, scope);
      if (star) {
        for (const c of star.cols) cols.push({ name: c.name, flow: this.note(c.flow, ctx) });
        if (!star.known) {
          starKnown = false;
          cols.push({ name: '*', flow: this.note(star.rest, ctx) });
        }
        continue;
      }
      const flow = this.expr(val, scope, ctx);
      const name = typeof rt['name'] === 'string' ? rt['name'] : figureName(val);
      cols.push({ name, flow });
    }
    return { cols, starKnown };
  }

  /** `*`, `t.*` and `(expr).*` in a target list: the columns they expand to. */
  private starExpansion(
    val: unknown,
    scope: Scope,
  ): { cols: readonly Col[]; known: boolean; rest: Flow } | undefined {
    const ref = unwrap(val, 'ColumnRef');
    if (ref) {
      const fields = asArray(ref['fields']);
      if (!unwrap(fields[fields.length - 1], 'A_Star') && !isStar(fields[fields.length - 1]))
        return undefined;
      const names = stringList({ List: { items: fields.slice(0, -1) } });
      if (names.length === 0) {
        const cols: Col[] = [];
        let known = true;
        const rest: Flow[] = [];
        for (const item of scope.items) {
          cols.push(...item.cols);
          if (!item.starKnown) {
            known = false;
            rest.push(item.any);
          }
        }
        return { cols, known, rest: union(rest) };
      }
      const item = findItem(scope, names[names.length - 1]!);
      if (!item) return { cols: [], known: false, rest: everythingIn(scope) };
      return { cols: item.cols, known: item.starKnown, rest: item.any };
    }
    const ind = unwrap(val, 'A_Indirection');
    if (ind) {
      const path = asArray(ind['indirection']);
      if (!isStar(path[path.length - 1])) return undefined;
      const arg = unwrap(ind['arg'], 'ColumnRef');
      const names = arg ? stringList({ List: { items: arg['fields'] } }) : [];
      if (path.length === 1 && names.length === 1) {
        const item = findItem(scope, names[0]!);
        if (item && !findColumn(scope, names[0]!))
          return { cols: item.cols, known: item.starKnown, rest: item.any };
      }
      return { cols: [], known: false, rest: this.expr(ind['arg'], scope, TOP).derived() };
    }
    return undefined;
  }

  // -------------------------------------------------------------- FROM items

  private fromItem(node: unknown, scope: Scope, ctx: Ctx): Item {
    const w = wrapped(node);
    if (!w) return unknownItem(undefined, unprovenFlow('an unrecognised FROM item'));
    const [type, body] = w;
    switch (type) {
      case 'RangeVar':
        return this.rangeVar(body, scope, ctx, true);
      case 'RangeSubselect': {
        const r = this.query(body['subquery'], scope, ctx);
        const cols = renamed(r.cols, body['alias']);
        const item = itemOf(aliasName(body['alias']), cols);
        // Columns Gatehouse could not list: a name not found may still be one of them.
        return r.starKnown ? item : { ...item, starKnown: false, namesKnown: false };
      }
      case 'JoinExpr':
        return this.join(body, scope, ctx);
      case 'RangeFunction':
        return this.rangeFunction(body, scope, ctx);
      case 'RangeTableSample': {
        this.predicate(body['args'], scope, { ...ctx, predicate: true });
        this.predicate(body['repeatable'], scope, { ...ctx, predicate: true });
        return this.fromItem(body['relation'], scope, ctx);
      }
      case 'RangeTableFunc': {
        const flow = union([
          this.expr(body['docexpr'], scope, ctx),
          this.expr(body['rowexpr'], scope, ctx),
          this.expr(body['namespaces'], scope, ctx),
        ]);
        // How many rows it yields depends on the document: a count of them tells about it.
        this.notePredicate(flow, ctx);
        const cols: Col[] = [];
        for (const c of asArray(body['columns'])) {
          const col = unwrap(c, 'RangeTableFuncCol');
          if (!col) continue;
          const f =
            col['for_ordinality'] === true
              ? NONE
              : union([
                  flow,
                  this.expr(col['colexpr'], scope, ctx),
                  this.expr(col['coldefexpr'], scope, ctx),
                ]);
          cols.push({ name: str(col['colname'], '?column?'), flow: f });
        }
        return itemOf(aliasName(body['alias']), renamed(cols, body['alias']));
      }
      case 'JsonTable': {
        const flow = union([
          this.expr(body['context_item'], scope, ctx),
          this.expr(body['passing'], scope, ctx),
          this.expr(body['pathspec'], scope, ctx),
        ]);
        this.notePredicate(flow, ctx);
        const cols: Col[] = [];
        const walk = (list: unknown): void => {
          for (const c of asArray(list)) {
            const col = unwrap(c, 'JsonTableColumn');
            if (!col) continue;
            if (col['coltype'] === 'JTC_NESTED') walk(col['columns']);
            else
              cols.push({
                name: str(col['name'], '?column?'),
                // A column is the value at its path (or under its own name): class 190.
                flow:
                  col['coltype'] === 'JTC_FOR_ORDINALITY'
                    ? NONE
                    : union([flow, this.note(keyed(flow, jsonTableColumnKeys(col)), ctx)]),
              });
          }
        };
        walk(body['columns']);
        return itemOf(aliasName(body['alias']), renamed(cols, body['alias']));
      }
      default: {
        const reason = `an unrecognised FROM item (${type})`;
        return unknownItem(undefined, unprovenFlow(reason));
      }
    }
  }

  /**
   * A view's or materialized view's column carries its own name besides what its definition computes
   * it from (class 302): a rule may name it (`public.customer_summary.email`, `billing.*.card_*`), and
   * it then holds for everything derived from the column, as a rule on a table's column does, not only
   * for the column read as is. Its own name comes last: the rule of a column it passes unchanged wins.
   */
  private ownName(rel: CatalogRelation, column: string, flow: Flow): Flow {
    const own = key(rel.schema, rel.name, column);
    if (flow.keys.has(own)) return flow;
    return new Flow(
      new Set([...flow.keys, own]),
      flow.keys.size === 0 || flow.direct,
      flow.unproven,
      flow.row,
    );
  }

  /** A relation, CTE or view named in FROM (or the target of a data-modifying statement). */
  rangeVar(node: unknown, scope: Scope, ctx: Ctx, allowCte: boolean): Item {
    const rv = isObject(node) ? (unwrap(node, 'RangeVar') ?? node) : undefined;
    const name = rv?.['relname'];
    if (!rv || typeof name !== 'string') return unknownItem(undefined, unprovenFlow('an unnamed relation'));
    const schema = typeof rv['schemaname'] === 'string' ? rv['schemaname'] : undefined;
    const alias = aliasName(rv['alias']) ?? name;
    if (allowCte && schema === undefined) {
      const cte = scope.cte(name);
      if (cte) {
        // A CTE's query runs when it is read (lazily, inside a condition too): what in it can fail
        // fails here.
        const fails = scope.cteFailure(name);
        if (fails !== undefined) this.mayFail(fails, NONE, ctx);
        return itemOf(alias, renamed(cte, rv['alias']));
      }
    }
    if (STATISTICS_RELATIONS.has(name) && (schema === undefined || schema === 'pg_catalog'))
      this.statistics.add(schema === undefined ? name : `${schema}.${name}`);
    const rels = this.catalog.relations(schema, name);
    const written = schema === undefined ? name : `${schema}.${name}`;
    if (rels === undefined) {
      this.needRelations.add(name);
      return unknownItem(alias, unprovenFlow(`relation ${written} is being looked up`));
    }
    if (rels === UNAVAILABLE)
      return unknownItem(alias, unprovenFlow(`the catalog entry of relation ${written} could not be read`));
    if (rels.length === 0) {
      return unknownItem(
        alias,
        unprovenFlow(
          `relation ${written} is not in the upstream catalog (it does not exist, or it was created in a transaction that is still open)`,
        ),
      );
    }
    const perCandidate = rels.map((rel) => this.relationCols(rel, ctx));
    const first = perCandidate[0]!;
    let cols: Col[];
    let starKnown = true;
    if (perCandidate.length === 1) cols = [...first];
    else {
      // The same name in several schemas: search_path decides which; every candidate is assumed.
      const byName = new Map<string, Flow[]>();
      for (const cand of perCandidate) {
        for (const c of cand) {
          const list = byName.get(c.name);
          if (list) list.push(c.flow);
          else byName.set(c.name, [c.flow]);
        }
        if (cand.length !== first.length || cand.some((c, i) => c.name !== first[i]!.name)) starKnown = false;
      }
      cols = [...byName].map(([n, flows]) => ({ name: n, flow: merge(flows) }));
    }
    cols = [...renamed(cols, rv['alias'])];
    const any = union(cols.map((c) => c.flow));
    // A whole row of one base table is masked field by field by its columns' rules, which a
    // generated column computed from a masked one has none of: such a row is masked as derived.
    // The same holds for a row with composite-typed columns (their fields have rules the row's table
    // has not: class 189), and for a parent's row, whose rows may be a child's (class 188).
    const base =
      rels.length === 1 &&
      !isView(rels[0]!) &&
      rels[0]!.generated === undefined &&
      rels[0]!.descendants === undefined &&
      rels[0]!.fields === undefined;
    return {
      name: alias,
      cols,
      namesKnown: true,
      starKnown,
      any: base ? new Flow(any.keys, false, any.unproven, true) : any,
      members: [],
    };
  }

  private relationCols(rel: CatalogRelation, ctx: Ctx): readonly Col[] {
    if (isView(rel) && !SYSTEM_SCHEMAS.has(rel.schema)) {
      const id = `${rel.schema}.${rel.name}`;
      if (ctx.viewStack.includes(id) || ctx.viewStack.length >= MAX_VIEW_DEPTH) {
        const f = unprovenFlow(`view ${id} nests too deeply`);
        return rel.columns.map((name) => ({ name, flow: f }));
      }
      const tree = rel.viewDefinition === undefined ? undefined : this.parseView(rel.viewDefinition);
      if (tree === undefined) {
        const f = unprovenFlow(`the definition of view ${id} could not be read`);
        return rel.columns.map((name) => ({ name, flow: f }));
      }
      const inner: Ctx = { predicate: false, view: ctx.view + 1, viewStack: [...ctx.viewStack, id] };
      const r = this.query(tree, undefined, inner);
      if (r.cols.length === rel.columns.length && r.starKnown)
        return rel.columns.map((name, i) => ({ name, flow: this.ownName(rel, name, r.cols[i]!.flow) }));
      const f = union(r.cols.map((c) => c.flow));
      return rel.columns.map((name) => ({ name, flow: this.ownName(rel, name, f) }));
    }
    // A column's names: its own, its parents' (a rule on a parent covers its children), and its
    // descendants' (a read of a parent returns their rows: class 188).
    const names = (name: string): string[] => [
      key(rel.schema, rel.name, name),
      ...rel.ancestors.map((a) => key(a.schema, a.name, name)),
      ...(rel.descendants ?? []).map((d) => key(d.schema, d.name, name)),
    ];
    // The fields a composite-typed column holds (class 189).
    // A field of a view's row type holds what that view's column is computed from.
    let unprovenField: string | undefined;
    const viewField = (f: { schema: string; table: string; column: string }): string[] => {
      const rels = this.catalog.relations(f.schema, f.table);
      if (rels === undefined) {
        this.needRelations.add(f.table);
        unprovenField ??= `relation ${f.schema}.${f.table} is being looked up`;
        return [];
      }
      const view = rels === UNAVAILABLE ? undefined : rels.find((r) => r.schema === f.schema);
      if (view === undefined || ctx.viewStack.length >= MAX_VIEW_DEPTH) {
        unprovenField ??= `the row type of view ${f.schema}.${f.table} could not be traced`;
        return [];
      }
      const col = this.relationCols(view, ctx).find((c) => c.name === f.column);
      if (col?.flow.unproven !== undefined) unprovenField ??= col.flow.unproven;
      return col ? [...col.flow.keys] : [];
    };
    const fieldsOf = (name: string): string[] =>
      (rel.fields?.get(name) ?? []).flatMap((f) =>
        f.view === true
          ? [key(f.schema, f.table, f.column), ...viewField(f)]
          : [key(f.schema, f.table, f.column)],
      );
    const cols = rel.columns.map((name) => {
      const reads = rel.generated?.get(name);
      // A generated column is an expression over its row, as a view's column is: derived from the
      // columns it reads (`right(secret, 12)` stored as secret_tail), and from itself.
      if (reads !== undefined)
        return {
          name,
          flow: new Flow(new Set([name, ...reads].flatMap((n) => [...names(n), ...fieldsOf(n)])), false),
        };
      // A composite value holds its fields: it is derived from each of them (masked whole by the
      // strongest of their rules), as a whole row of their table is when taken as a value.
      const fields = fieldsOf(name);
      if (fields.length > 0) {
        const doc = rel.documents?.has(name) ? [DOCUMENT] : [];
        return { name, flow: new Flow(new Set([...names(name), ...fields, ...doc]), false) };
      }
      // A document column carries the mark that its values are documents (class 190).
      if (rel.documents?.has(name))
        return { name, flow: new Flow(new Set([...names(name), DOCUMENT]), true) };
      return { name, flow: new Flow(new Set(names(name)), true) };
    });
    // A foreign table's rows are not stored in the database: its wrapper reads them from a server
    // file, a program's output or another server, any of which can hold masked values in clear (the
    // data files, the log, a loopback connection to the ruled table itself). So are a parent's, when
    // a partition or inheritance child of it is foreign (class 347).
    const foreign = this.foreignRows(rel);
    const withForeign =
      foreign === undefined
        ? cols
        : cols.map((c) => ({ name: c.name, flow: union([c.flow, unprovenFlow(foreign)]) }));
    if (unprovenField === undefined) return withForeign;
    const why = unprovenField;
    return withForeign.map((c) =>
      rel.fields?.has(c.name) === true ? { name: c.name, flow: union([c.flow, unprovenFlow(why)]) } : c,
    );
  }

  /**
   * Why a read of `rel` returns rows a foreign-data wrapper produced (it is a foreign table, or one of
   * its partitions or inheritance children is), or undefined when all its rows are stored here.
   */
  private foreignRows(rel: CatalogRelation): string | undefined {
    if (rel.kind === FOREIGN_TABLE) return foreignReason(`${rel.schema}.${rel.name}`);
    const d = rel.descendants?.find((x) => x.foreign === true);
    return d === undefined ? undefined : foreignReason(`${d.schema}.${d.name}`, `${rel.schema}.${rel.name}`);
  }

  private join(body: NodeBody, scope: Scope, ctx: Ctx): Item {
    const l = this.fromItem(body['larg'], scope, ctx);
    // A LATERAL item on the right sees the join's left side as well as the items before the join
    // (`FROM api_keys k LEFT JOIN LATERAL (SELECT upper(k.secret)) t ON true`). Evaluated without
    // it, its references to the left side resolved to nothing, so the value came back unmasked and a
    // filter on it counted as no predicate (docs/security.md class 136).
    const right = new Scope(scope);
    right.items.push(l);
    const r = this.fromItem(body['rarg'], right, ctx);
    // The join condition sees both sides (and, as a lateral reference, the items before the join).
    const inner = new Scope(scope);
    inner.items.push(l, r);
    this.predicate(body['quals'], inner, { ...ctx, predicate: true });
    let using = stringList(body['usingClause']);
    if (body['isNatural'] === true) {
      using = l.cols.filter((c) => r.cols.some((d) => d.name === c.name)).map((c) => c.name);
    }
    const cols: Col[] = [];
    for (const name of using) {
      const flows = [...l.cols, ...r.cols].filter((c) => c.name === name).map((c) => c.flow);
      const f = flows.length > 0 ? merge(flows) : union([l.any, r.any]);
      this.notePredicate(f, { ...ctx, predicate: true });
      cols.push({ name, flow: f });
    }
    for (const c of l.cols) if (!using.includes(c.name)) cols.push(c);
    for (const c of r.cols) if (!using.includes(c.name)) cols.push(c);
    const known =
      l.starKnown && r.starKnown && (body['isNatural'] !== true || (l.namesKnown && r.namesKnown));
    const alias = aliasName(body['alias']);
    return {
      name: alias,
      cols: renamed(cols, body['alias']),
      namesKnown: l.namesKnown && r.namesKnown,
      starKnown: known,
      any: union([l.any, r.any]),
      members: alias === undefined ? [l, r] : [],
    };
  }

  private rangeFunction(body: NodeBody, scope: Scope, ctx: Ctx): Item {
    const alias = body['alias'];
    const name = aliasName(alias);
    const cols: Col[] = [];
    let known = true;
    const flows: Flow[] = [];
    const list = asArray(body['functions']);
    for (const entry of list) {
      const items = asArray(unwrap(entry, 'List')?.['items']);
      const call = items[0];
      const f = this.expr(call, scope, ctx);
      flows.push(f);
      const defs = asArray(
        unwrap(items[1], 'List')?.['items'] ?? (list.length === 1 ? body['coldeflist'] : undefined),
      );
      const fname = lastName(unwrap(call, 'FuncCall')?.['funcname']);
      const nargs = asArray(unwrap(call, 'FuncCall')?.['args']).length;
      if (defs.length > 0) {
        // jsonb_to_record(doc) AS x(password text): each column is the value under its own name.
        const byName = fname !== undefined && RECORD_FUNCTIONS.has(fname);
        for (const d of defs) {
          const colname = str(unwrap(d, 'ColumnDef')?.['colname'], '?column?');
          cols.push({ name: colname, flow: byName ? union([f, this.note(keyed(f, [colname]), ctx)]) : f });
        }
      } else if (fname !== undefined && SRF_COLUMNS.has(fname)) {
        for (const n of SRF_COLUMNS.get(fname)!) cols.push({ name: n, flow: f });
      } else if (fname === 'unnest') {
        // An array of a composite type unnests into the type's columns: names not listed may be
        // among them (`SELECT secret FROM unnest(ARRAY(SELECT k FROM api_keys k))`).
        for (let i = 0; i < Math.max(1, nargs); i++)
          cols.push({
            name: list.length === 1 && nargs === 1 && name !== undefined ? name : 'unnest',
            flow: f,
          });
        known = false;
      } else if (fname !== undefined && ONE_COLUMN_SRFS.has(fname)) {
        cols.push({ name: list.length === 1 && name !== undefined ? name : fname, flow: f });
      } else {
        known = false;
      }
    }
    if (body['ordinality'] === true) cols.push({ name: 'ordinality', flow: NONE });
    const any = union(flows);
    const named = renamed(cols, alias);
    return { name, cols: named, namesKnown: known, starKnown: known, any, members: [] };
  }

  // -------------------------------------------------------------- data-modifying statements

  private modify(
    type: string,
    body: NodeBody,
    outer: Scope | undefined,
    ctx: Ctx,
  ): { cols: readonly Col[]; starKnown: boolean } {
    const scope = new Scope(outer);
    this.withClause(body['withClause'], scope, ctx);
    const pred: Ctx = { ...ctx, predicate: true };
    const out: Ctx = { ...ctx, predicate: false };
    const target = this.rangeVar(body['relation'], scope, ctx, false);
    const targetRels = this.targetRelations(body['relation']);
    // A constraint the write breaks quotes the whole row in its error (`Failing row contains (…)`,
    // `Key (email)=(…) already exists`): every column of the target counts as read.
    for (const c of target.cols) for (const k of c.flow.keys) this.reads.add(k);
    const assigned = new Set<string>();
    const written = new Map<string, Flow[]>();
    const write = (column: string, flow: Flow): void => {
      assigned.add(column);
      if (flow.empty) return;
      const list = written.get(column);
      if (list) list.push(flow);
      else written.set(column, [flow]);
    };
    if (type === 'InsertStmt') {
      const source = body['selectStmt'];
      const r = source === undefined ? { cols: [], starKnown: true } : this.query(source, scope, out);
      const names = asArray(body['cols']).map((c) => str(unwrap(c, 'ResTarget')?.['name'], '?'));
      const columns = names.length > 0 ? names : target.cols.map((c) => c.name);
      r.cols.forEach((c, i) => write(columns[i] ?? '?', c.flow));
      const conflict =
        unwrap(body['onConflictClause'], 'OnConflictClause') ?? asOptBody(body['onConflictClause']);
      if (conflict) {
        const s = new Scope(scope);
        s.items.push(target);
        s.items.push(
          itemOf(
            'excluded',
            target.cols.map((c) => {
              const i = columns.indexOf(c.name);
              return { name: c.name, flow: i >= 0 && r.cols[i] ? r.cols[i].flow : NONE };
            }),
          ),
        );
        this.assignments(conflict['targetList'], s, out, write);
        this.predicate(conflict['whereClause'], s, pred);
      }
      scope.items.push(target);
    } else if (type === 'UpdateStmt') {
      scope.items.push(target);
      for (const from of asArray(body['fromClause'])) scope.items.push(this.fromItem(from, scope, ctx));
      this.predicate(body['whereClause'], scope, pred);
      this.assignments(body['targetList'], scope, out, write);
    } else if (type === 'DeleteStmt') {
      scope.items.push(target);
      for (const from of asArray(body['usingClause'])) scope.items.push(this.fromItem(from, scope, ctx));
      this.predicate(body['whereClause'], scope, pred);
    } else {
      // MERGE
      const source = this.fromItem(body['sourceRelation'], scope, ctx);
      scope.items.push(target, source);
      this.predicate(body['joinCondition'], scope, pred);
      for (const clause of asArray(body['mergeWhenClauses'])) {
        const w = unwrap(clause, 'MergeWhenClause');
        if (!w) continue;
        this.predicate(w['condition'], scope, pred);
        if (w['commandType'] === 'CMD_INSERT') {
          const names = asArray(w['targetList']).map((c) => str(unwrap(c, 'ResTarget')?.['name'], '?'));
          const columns = names.length > 0 ? names : target.cols.map((c) => c.name);
          asArray(w['values']).forEach((v, i) => write(columns[i] ?? '?', this.expr(v, scope, out)));
        } else {
          this.assignments(w['targetList'], scope, out, write);
        }
      }
    }
    for (const [column, flows] of written) {
      // One column's value unchanged stays direct (the masking rules let it go back into a column
      // masked as strongly, a hashed or partial one included); anything else is derived.
      const flow = merge(flows);
      const targets: string[] = [];
      for (const rel of targetRels) {
        targets.push(key(rel.schema, rel.name, column));
        for (const a of rel.ancestors) targets.push(key(a.schema, a.name, column));
      }
      const rel = targetRels[0];
      const label = rel ? `${rel.schema}.${rel.name}.${column}` : column;
      this.writes.push({ targets, label, flow });
    }
    // RETURNING sees the row as written.
    const returned: Item = {
      ...target,
      cols: target.cols.map((c) => {
        const w = written.get(c.name);
        if (w) return { name: c.name, flow: union([c.flow, ...w]) };
        // A value the client wrote (a constant) is not the column as stored: hashed in the column's
        // style it would be an oracle for guesses, so it is masked as derived.
        return assigned.has(c.name) ? { name: c.name, flow: c.flow.derived() } : c;
      }),
    };
    const idx = scope.items.indexOf(target);
    if (idx >= 0) scope.items[idx] = returned;
    const returning = asOptBody(body['returningClause']);
    const list = returning ? returning['exprs'] : body['returningList'];
    if (asArray(list).length === 0) return { cols: [], starKnown: true };
    // PostgreSQL 18: `RETURNING old.x, new.y` (or the names `WITH (OLD AS o, NEW AS n)` gives) name
    // the row before and after the write. Unknown to the scope, they read as any column of it, and
    // every column came back masked whole.
    let oldName = 'old';
    let newName = 'new';
    for (const o of asArray(returning?.['options'])) {
      const opt = unwrap(o, 'ReturningOption');
      if (opt?.['option'] === 'RETURNING_OPTION_OLD') oldName = str(opt['value'], oldName);
      if (opt?.['option'] === 'RETURNING_OPTION_NEW') newName = str(opt['value'], newName);
    }
    // Visible by qualified name only (as an unaliased join's members are), so an unqualified name
    // still resolves to the row as written.
    const rows: Item = {
      name: undefined,
      cols: [],
      namesKnown: true,
      starKnown: true,
      any: NONE,
      members: [
        itemOf(oldName, target.cols, target.starKnown),
        itemOf(newName, returned.cols, target.starKnown),
      ],
    };
    scope.items.push(rows);
    return this.targetList(list, scope, out);
  }

  private targetRelations(node: unknown): readonly CatalogRelation[] {
    const rv = isObject(node) ? (unwrap(node, 'RangeVar') ?? node) : undefined;
    const name = rv?.['relname'];
    if (typeof name !== 'string') return [];
    const schema = typeof rv?.['schemaname'] === 'string' ? rv['schemaname'] : undefined;
    const rels = this.catalog.relations(schema, name);
    return rels === undefined || rels === UNAVAILABLE ? [] : rels;
  }

  /** SET col = expr lists (UPDATE, ON CONFLICT DO UPDATE, MERGE … UPDATE), multi-column forms too. */
  private assignments(
    list: unknown,
    scope: Scope,
    ctx: Ctx,
    write: (column: string, flow: Flow) => void,
  ): void {
    const multi = new Map<unknown, readonly Col[]>();
    for (const entry of asArray(list)) {
      const rt = unwrap(entry, 'ResTarget');
      if (!rt) continue;
      const column = str(rt['name'], '?');
      const val = rt['val'];
      const m = unwrap(val, 'MultiAssignRef');
      if (m) {
        const source = m['source'];
        let cols = multi.get(source);
        if (!cols) {
          const sub = unwrap(source, 'SubLink');
          if (sub) cols = this.query(sub['subselect'], scope, ctx).cols;
          else {
            const row = unwrap(source, 'RowExpr');
            cols = asArray(row?.['args']).map((a) => ({ name: '?', flow: this.expr(a, scope, ctx) }));
            if (!row) cols = [{ name: '?', flow: this.expr(source, scope, ctx) }];
          }
          multi.set(source, cols);
        }
        const n = typeof m['colno'] === 'number' ? m['colno'] : 1;
        write(column, cols[n - 1]?.flow ?? union(cols.map((c) => c.flow)));
        continue;
      }
      write(column, this.expr(val, scope, ctx));
    }
  }

  // -------------------------------------------------------------- expressions

  expr(node: unknown, scope: Scope, ctx: Ctx): Flow {
    if (Array.isArray(node)) return union(node.map((n) => this.expr(n, scope, ctx)));
    if (!isObject(node)) return NONE;
    const w = wrapped(node);
    if (!w || !/^[A-Z]/.test(w[0])) return this.children(node, scope, ctx);
    const [type, body] = w;
    switch (type) {
      case 'ColumnRef':
        return this.note(this.columnRef(asArray(body['fields']), scope, ctx), ctx);
      case 'A_Const':
      case 'ParamRef':
      case 'SQLValueFunction':
      case 'SetToDefault':
      case 'String':
      case 'Integer':
      case 'Float':
      case 'Boolean':
      case 'BitString':
      case 'TypeName':
        return NONE;
      case 'FuncCall':
        return this.funcCall(body, scope, ctx);
      case 'SubLink':
        return this.subLink(body, scope, ctx);
      case 'TypeCast': {
        const f = this.expr(body['arg'], scope, ctx);
        const code = this.castCode(body['typeName'], f);
        if (code) return code;
        if (!totalCast(body['typeName'])) this.mayFail(`a cast to ${typeLabel(body['typeName'])}`, f, ctx);
        // A text cast to a document type is a document: keys taken out of it are followed (class 190).
        if (!f.empty && isDocumentType(body['typeName']))
          return new Flow(new Set([...f.keys, DOCUMENT]), false, f.unproven);
        return identityCast(body['typeName']) ? f : f.derived();
      }
      case 'CollateClause':
        return this.expr(body['arg'], scope, ctx);
      case 'A_Indirection':
        return this.indirection(body, scope, ctx);
      case 'A_Expr': {
        const op = stringList(body['name']);
        const name = op[op.length - 1];
        const l = this.expr(body['lexpr'], scope, ctx);
        const mark = this.failMark;
        const r = this.expr(body['rexpr'], scope, ctx);
        const f = union([l, r]);
        // BETWEEN forms name no operator (they become >= and <=, evaluated in turn), and IN stops at
        // the first match: what the tested value is decides what else is evaluated.
        const kind = str(body['kind'], '');
        if (kind === 'AEXPR_IN' || kind.includes('BETWEEN')) this.guards(f, mark, ctx);
        if (name === undefined || kind.includes('BETWEEN')) return f.derived();
        const out = this.routine(
          'operator',
          name,
          op.length > 1 ? op[op.length - 2] : undefined,
          f,
          `operator ${name}`,
          ctx,
          [l, r],
          [body['lexpr'], body['rexpr']].filter((n) => n !== undefined),
        );
        const taken = kind === 'AEXPR_OP' ? documentOperator(name, body, l, r) : NONE;
        return taken.empty ? out : union([out, this.note(taken, ctx)]);
      }
      case 'BoolExpr':
      case 'CoalesceExpr': {
        // AND and OR stop at the first operand that decides them, COALESCE at the first non-NULL.
        const list = asArray(body['args']);
        const first = this.expr(list[0], scope, ctx);
        const mark = this.failMark;
        const args = [first, ...list.slice(1).map((a) => this.expr(a, scope, ctx))];
        const f = union(args);
        this.guards(f, mark, ctx);
        return f;
      }
      case 'CaseExpr':
        return this.caseExpr(body, scope, ctx);
      case 'XmlExpr': {
        const f = this.children(body, scope, ctx);
        const xop = str(body['op'], '');
        if (FALLIBLE_XML_OPS.has(xop)) this.mayFail(`XML ${xop.slice(5).toLowerCase()}`, f, ctx);
        return f;
      }
      case 'SelectStmt':
        return union(this.select(body, scope, ctx).cols.map((c) => c.flow));
      case 'ResTarget':
        return this.expr(body['val'], scope, ctx);
      case 'A_ArrayExpr': {
        // ARRAY[a, b] of arrays needs them to have the same dimensions: a masked value choosing one's
        // shape (or NULL) decides whether it fails. One element, or scalars, cannot.
        const elements = asArray(body['elements']);
        const f = this.expr(elements, scope, ctx);
        if (elements.length > 1 && !elements.every(scalarShaped)) this.mayFail('an ARRAY of arrays', f, ctx);
        return f.derived();
      }
      default: {
        const f = this.children(body, scope, ctx);
        if (FALLIBLE_NODES.has(type) || !TOTAL_NODES.has(type)) this.mayFail(type, f, ctx);
        // JSON_VALUE, JSON_QUERY: the value at a path of the document (class 190).
        if (type === 'JsonFuncExpr') return union([f, this.note(keyed(f, pathKeys(body['pathspec'])), ctx)]);
        return f;
      }
    }
  }

  /** CASE: the tested value and each WHEN decide which of the rest is evaluated. */
  private caseExpr(body: NodeBody, scope: Scope, ctx: Ctx): Flow {
    const conds: Flow[] = [];
    const flows: Flow[] = [];
    let mark: number | undefined;
    const cond = (node: unknown) => {
      const c = this.expr(node, scope, ctx);
      conds.push(c);
      flows.push(c);
      mark ??= this.failMark; // the first condition is evaluated whatever happens
    };
    if (body['arg'] !== undefined) cond(body['arg']);
    for (const w of asArray(body['args'])) {
      const when = unwrap(w, 'CaseWhen');
      if (!when) {
        flows.push(this.expr(w, scope, ctx));
        continue;
      }
      cond(when['expr']);
      flows.push(this.expr(when['result'], scope, ctx));
    }
    flows.push(this.expr(body['defresult'], scope, ctx));
    if (mark !== undefined) this.guards(union(conds), mark, ctx);
    return union(flows);
  }

  /** Every value below a node flows into it (operators, CASE, COALESCE, ROW, ARRAY, XML, JSON…). */
  private children(body: NodeBody, scope: Scope, ctx: Ctx): Flow {
    const flows: Flow[] = [];
    for (const k in body) {
      const v = body[k];
      if (typeof v === 'object' && v !== null) {
        const f = this.expr(v, scope, ctx);
        if (!f.empty) flows.push(f);
      }
    }
    return union(flows);
  }

  private funcCall(body: NodeBody, scope: Scope, ctx: Ctx): Flow {
    const names = stringList(body['funcname']);
    const name = names[names.length - 1];
    const schema = names.length > 1 ? names[names.length - 2] : undefined;
    if (name !== undefined && STATISTICS_FUNCTIONS.has(name)) this.statistics.add(`${name}()`);
    const args: Flow[] = [];
    // A window's PARTITION BY and ORDER BY sort the rows the statement returns, as ORDER BY does.
    if (body['over'] !== undefined) this.predicate(body['over'], scope, { ...ctx, predicate: true });
    const filter = this.expr(body['agg_filter'], scope, ctx);
    const mark = this.failMark;
    const positional = asArray(body['args']).map((a) => this.expr(a, scope, ctx));
    args.push(filter, ...positional);
    for (const k in body) {
      if (k === 'funcname' || k === 'args' || k === 'agg_filter') continue;
      const v = body[k];
      if (typeof v === 'object' && v !== null) args.push(this.expr(v, scope, ctx));
    }
    const f = union(args);
    if (name === undefined) return this.note(union([f, unprovenFlow('a function call without a name')]), ctx);
    const label = `${schema ? `${schema}.` : ''}${name}()`;
    let out = this.routine('function', name, schema, f, label, ctx, positional, asArray(body['args']));
    // A setting's value may have been set by code the statement never named (class 268).
    if (name === 'current_setting' && (schema === undefined || schema === 'pg_catalog')) {
      const setting = bareString(asArray(body['args'])[0]);
      if (setting === undefined || !isClosedVocabularySetting(setting))
        out = union([out, unprovenFlow(settingReason(setting))]);
    }
    // FILTER decides which rows the arguments, and the aggregate, are computed over.
    this.guards(filter, mark, ctx);
    const taken = documentFunction(name, asArray(body['args']), positional);
    return taken.empty ? out : union([out, this.note(taken, ctx)]);
  }

  /** A function or operator applied to `args`: its result carries them, if Gatehouse can vouch for it. */
  private routine(
    kind: 'function' | 'operator',
    name: string,
    schema: string | undefined,
    args: Flow,
    label: string,
    ctx: Ctx,
    positional?: readonly Flow[],
    /** The argument expressions, for the functions total only on scalars. */
    nodes?: readonly unknown[],
  ): Flow {
    const info = this.catalog.routines(kind, name);
    if (info === undefined) {
      (kind === 'function' ? this.needFunctions : this.needOperators).add(name);
      return union([args, unprovenFlow(`${label} is being looked up`)]);
    }
    if (info === UNAVAILABLE) {
      const reason = `the catalog entry of ${label} could not be read`;
      this.unprovenReads ??= reason;
      return union([args, unprovenFlow(reason)]);
    }
    const overloads =
      schema === undefined ? info.overloads : info.overloads.filter((o) => o.schema === schema);
    let reason: string | undefined;
    if (overloads.length === 0) {
      if (!(kind === 'function' && info.isType && schema === undefined))
        reason = `${label} is not in the catalog Gatehouse reads`;
      else if (info.userType === true && !args.empty) reason = userTypeReason(name);
    } else if (kind === 'function' && DYNAMIC_FUNCTIONS.has(name)) {
      reason = `${label} runs SQL or reads data that Gatehouse cannot trace`;
    } else {
      const foreign = overloads.find((o) => !trustedRoutine(o));
      if (foreign) {
        const by = foreign.extension === undefined ? '' : ` by extension ${foreign.extension}`;
        reason = `${label} is defined in schema ${foreign.schema}${by} (language ${foreign.language}), and Gatehouse cannot see what its body reads`;
      }
    }
    if (reason !== undefined) {
      this.unprovenReads ??= reason;
      // Code Gatehouse cannot see may keep what it is given (insert it into a table, set it): masking
      // the statement's results does not undo that, so a masked value handed to it is a sink.
      this.sink(`${label} (code Gatehouse cannot see)`, args);
      return union([args, unprovenFlow(reason)]);
    }
    // lo_import stores a server file in a large object that lo_get and loread show (class 247).
    if (kind === 'function' && SERVER_FILE_IMPORTS.has(name))
      this.writes.push({
        targets: [],
        label: `a large object (${label})`,
        flow: unprovenFlow(SERVER_FILE_REASON),
      });
    if (overloads.some((o) => o.volatility === 'v')) this.sink(label, args);
    const onScalars = TOTAL_ON_SCALARS.get(name);
    if (onScalars !== undefined && onScalars.kind === kind) {
      // Total only on scalars (and at its arity): else every argument may decide a failure.
      const fine =
        nodes !== undefined &&
        (onScalars.arity === undefined || nodes.length === onScalars.arity) &&
        nodes.every(scalarShaped);
      if (!fine) this.mayFail(label, args, ctx);
      if (overloads.some((o) => o.returnsSet === true)) this.notePredicate(args, ctx);
      return args.derived();
    }
    const total = (kind === 'function' ? TOTAL_FUNCTIONS : TOTAL_OPERATORS).get(name);
    if (total !== '*') {
      const risky =
        total === undefined || positional === undefined
          ? args
          : union(positional.filter((_, i) => !safeArg(total, i)));
      this.mayFail(label, risky, ctx);
    }
    // A set-returning function yields as many rows as its arguments say: counting them reads the
    // value (`count(*) FROM generate_series(1, ascii(secret))`), like a predicate does.
    if (overloads.some((o) => o.returnsSet === true)) this.notePredicate(args, ctx);
    return args.derived();
  }

  /**
   * A cast of a value carrying masked columns to a type defined outside pg_catalog: the domain's
   * CHECK or the type's cast and input functions run on the value, in code Gatehouse cannot see (a
   * CHECK calling a plpgsql function can store it in a table). Undefined when the cast runs only
   * built-in code.
   */
  private castCode(typeName: unknown, f: Flow): Flow | undefined {
    if (f.keys.size === 0 || !isObject(typeName)) return undefined;
    const names = stringList(typeName['names']);
    const name = names[names.length - 1];
    if (name === undefined) return undefined;
    const schema = names.length > 1 ? names[names.length - 2] : undefined;
    if (schema === 'pg_catalog' || schema === 'information_schema') return undefined;
    const unproven = (reason: string): Flow => {
      this.unprovenReads ??= reason;
      this.sink(`a cast to type ${name} (code Gatehouse cannot see)`, f);
      return union([f, unprovenFlow(reason)]);
    };
    if (schema !== undefined) return unproven(userTypeReason(`${schema}.${name}`));
    const info = this.catalog.routines('function', name);
    if (info === undefined) {
      this.needFunctions.add(name);
      return union([f, unprovenFlow(`type ${name} is being looked up`)]);
    }
    if (info === UNAVAILABLE) return unproven(`the catalog entry of type ${name} could not be read`);
    return info.userType === true ? unproven(userTypeReason(name)) : undefined;
  }

  private subLink(body: NodeBody, scope: Scope, ctx: Ctx): Flow {
    const mark = this.failMark;
    const sub = this.query(body['subselect'], scope, ctx);
    const cols = sub.cols.map((c) => c.flow);
    switch (body['subLinkType']) {
      case 'EXISTS_SUBLINK':
        return NONE;
      case 'EXPR_SUBLINK':
      case 'MULTIEXPR_SUBLINK':
        // More than one row is an error.
        if (!atMostOneRow(body['subselect'])) this.mayFail('a scalar subquery', NONE, ctx);
        return cols.length === 1 && body['subLinkType'] === 'EXPR_SUBLINK' ? cols[0]! : union(cols);
      case 'ARRAY_SUBLINK': {
        // ARRAY(SELECT x …) of arrays needs them non-NULL and of one shape: a masked value choosing
        // either decides whether it fails (as an ARRAY of arrays does).
        const q = unwrap(body['subselect'], 'SelectStmt');
        const target = asArray(q?.['targetList']);
        const only = target.length === 1 ? unwrap(target[0], 'ResTarget')?.['val'] : undefined;
        const f = union(cols);
        if (q?.['op'] !== undefined && q['op'] !== 'SETOP_NONE')
          this.mayFail('an ARRAY of a subquery', f, ctx);
        else if (!scalarShaped(only)) this.mayFail('an ARRAY of a subquery', f, ctx);
        return f;
      }
      default: {
        // x IN (subquery), x op ANY/ALL (subquery): the rows are compared until one decides.
        const test = this.expr(body['testexpr'], scope, ctx);
        this.guards(test, mark, ctx);
        return union([test, ...cols]);
      }
    }
  }

  /** `(x).field`, `x[1]`, `(t).*`: a field of a whole-row value is that column. */
  private indirection(body: NodeBody, scope: Scope, ctx: Ctx): Flow {
    const path = asArray(body['indirection']);
    const ref = unwrap(body['arg'], 'ColumnRef');
    const names = ref ? stringList({ List: { items: ref['fields'] } }) : [];
    const field = path.length >= 1 ? unwrap(path[0], 'String')?.['sval'] : undefined;
    if (names.length === 1 && typeof field === 'string' && !findColumn(scope, names[0]!)) {
      const item = findItem(scope, names[0]!);
      const col = item?.cols.find((c) => c.name === field);
      if (col) {
        const rest = this.children({ indirection: path.slice(1) }, scope, ctx);
        const f = this.note(col.flow, ctx);
        return path.length === 1 ? f : union([f, rest]);
      }
    }
    const base = this.expr(body['arg'], scope, ctx);
    const all = union([base, this.children({ indirection: path }, scope, ctx)]);
    const fields = path.map((p) => unwrap(p, 'String')?.['sval']).filter((n) => typeof n === 'string');
    // A subscript of a document takes the value under that key (`doc['password']`, class 190).
    if (!hasDocument(base)) return this.fieldCalls(fields, all, ctx);
    const keys: string[] = [];
    let unnamed = false;
    for (const step of path) {
      const ix = unwrap(step, 'A_Indices');
      if (!ix) continue;
      if (ix['is_slice'] === true) continue;
      const k = constantKey(ix['uidx']);
      if (k === undefined) unnamed = true;
      else if (k !== null) keys.push(k);
    }
    return this.fieldCalls(
      fields,
      union([all, this.note(keyed(base, unnamed ? undefined : keys), ctx)]),
      ctx,
    );
  }

  /**
   * `(x).f` is f(x) for any value x with no field f, and `t.f` is f(t) (functional notation,
   * PostgreSQL docs 8.16.5; ParseFuncOrColumn): a field named as a function the catalog has is
   * decided as that call, whatever x is (docs/security.md, class 172). A name no function has is a
   * field of a composite value, which carries the value.
   */
  private fieldCalls(names: readonly string[], f: Flow, ctx: Ctx): Flow {
    let flow = f;
    for (const name of names) {
      const info = this.catalog.routines('function', name);
      if (info !== undefined && info !== UNAVAILABLE && info.overloads.length === 0) continue;
      flow = this.routine('function', name, undefined, flow, `${name}() (called as a field)`, ctx, [flow]);
      // `('application_name'::text).current_setting`: a setting named by a value, not a bare string.
      if (name === 'current_setting') flow = union([flow, unprovenFlow(settingReason(undefined))]);
    }
    return flow;
  }

  /**
   * A column reference, resolved against the FROM items in scope, innermost first. A reference that
   * cannot be placed makes the server fail the statement (unless the catalog changed since it was
   * read): as an output it is taken to carry everything in scope; in a predicate, nothing (no row
   * will be filtered by it).
   */
  private columnRef(fields: readonly unknown[], scope: Scope, ctx: Ctx): Flow {
    const everything = (s: Scope) => (ctx.predicate ? NONE : everythingIn(s));
    const last = fields[fields.length - 1];
    const star = isStar(last);
    const names = stringList({ List: { items: star ? fields.slice(0, -1) : fields } });
    if (star) {
      if (names.length === 0) return union(scope.items.map((i) => i.any));
      const item = findItem(scope, names[names.length - 1]!);
      return item ? item.any : everything(scope);
    }
    if (names.length === 1) {
      const n = names[0]!;
      const col = findColumn(scope, n);
      if (col) return col;
      // Not a column: a whole-row reference to a FROM item (`SELECT c FROM customers c`).
      const item = findItem(scope, n);
      return item ? item.any : everything(scope);
    }
    const q = names[names.length - 2]!;
    const c = names[names.length - 1]!;
    const item = findItem(scope, q);
    if (item) {
      const col = item.cols.find((x) => x.name === c);
      if (col) return col.flow;
      // `t.name` may be `name(t)` (functional notation) or a column not listed: the whole row.
      return this.fieldCalls([c], item.any.derived(), ctx);
    }
    // `composite_column.field`
    const col = findColumn(scope, names[0]!);
    return col ? col.derived() : everything(scope);
  }
}

// ---------------------------------------------------------------- helpers

function findItem(scope: Scope, name: string): Item | undefined {
  for (let s: Scope | undefined = scope; s; s = s.parent) {
    const found = findIn(s.items, name);
    if (found) return found;
  }
  return undefined;
}

function findIn(items: readonly Item[], name: string): Item | undefined {
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i]!;
    if (item.name === name) return item;
    const inner = findIn(item.members, name);
    if (inner) return inner;
  }
  return undefined;
}

/** An unqualified column: the FROM items of the nearest scope that has one (or may have one). */
function findColumn(scope: Scope, name: string): Flow | undefined {
  for (let s: Scope | undefined = scope; s; s = s.parent) {
    const flows: Flow[] = [];
    for (const item of s.items) {
      let hit = false;
      for (const c of item.cols) {
        if (c.name === name) {
          flows.push(c.flow);
          hit = true;
        }
      }
      if (!hit && !item.namesKnown) flows.push(item.any);
    }
    if (flows.length === 1) return flows[0];
    if (flows.length > 1) return merge(flows);
  }
  return undefined;
}

/** Everything any FROM item in scope can carry: for references Gatehouse cannot place. */
function everythingIn(scope: Scope): Flow {
  const flows: Flow[] = [];
  for (let s: Scope | undefined = scope; s; s = s.parent) for (const item of s.items) flows.push(item.any);
  const f = union(flows);
  return f.empty ? NONE : f;
}

function userTypeReason(type: string): string {
  return `type ${type} is a domain or has a cast defined outside pg_catalog, and a cast to it may run code Gatehouse cannot see (a domain's CHECK, a user-defined cast function)`;
}

/** `ANALYZE` (or `ANALYZE true`/`on`) among EXPLAIN's options. */
function analyzeOption(option: unknown): boolean {
  const d = unwrap(option, 'DefElem');
  if (!d || d['defname'] !== 'analyze') return false;
  const arg = d['arg'];
  if (arg === undefined) return true;
  const b = unwrap(arg, 'Boolean');
  if (b) return b['boolval'] === true;
  const v = unwrap(arg, 'String')?.['sval'];
  return typeof v !== 'string' || !['false', 'off', '0', 'no'].includes(v.toLowerCase());
}

/**
 * The prepared statement whose rows the statement stores in a new table: `CREATE TABLE … AS EXECUTE
 * p`, `SELECT … INTO` cannot name one; under EXPLAIN only with ANALYZE, which runs it.
 */
function storedExecute(tree: unknown): string | undefined {
  let node = tree;
  const explain = unwrap(node, 'ExplainStmt');
  if (explain) {
    if (!asArray(explain['options']).some(analyzeOption)) return undefined;
    node = explain['query'];
  }
  const ctas = unwrap(node, 'CreateTableAsStmt');
  const exec = ctas ? unwrap(ctas['query'], 'ExecuteStmt') : undefined;
  return exec ? str(exec['name'], '') : undefined;
}

/** pg_class.relkind of a foreign table. */
const FOREIGN_TABLE = 'f';

/** Why the rows of a foreign table (read directly, or through `parent`) cannot be traced (class 347). */
export function foreignReason(table: string, parent?: string): string {
  const through =
    parent === undefined ? '' : ` (a partition or child of ${parent}, whose reads return its rows)`;
  return `foreign table ${table}${through} returns rows its foreign-data wrapper reads from outside the database (a server file, a program's output, another server), which can hold masked values Gatehouse cannot trace`;
}

function isView(rel: CatalogRelation): boolean {
  return rel.kind === 'v' || rel.kind === 'm';
}

function isStar(node: unknown): boolean {
  return isObject(node) && isObject(node['A_Star']);
}

function str(v: unknown, fallback: string): string {
  return typeof v === 'string' ? v : fallback;
}

function asArray(v: unknown): readonly unknown[] {
  return Array.isArray(v) ? v : [];
}

function asBody(v: unknown): NodeBody {
  if (!isObject(v)) return {};
  return unwrap(v, 'SelectStmt') ?? v;
}

function asOptBody(v: unknown): NodeBody | undefined {
  return isObject(v) ? v : undefined;
}

/** Casts that keep a value as it is (a text column shown as text): the column's own style still fits. */
/** A cast that cannot fail: to text or a character type, not to an array. */
function totalCast(typeName: unknown): boolean {
  if (!isObject(typeName) || asArray(typeName['arrayBounds']).length > 0) return false;
  const name = lastName(typeName['names']);
  return name !== undefined && TOTAL_CAST_TARGETS.has(name);
}

function typeLabel(typeName: unknown): string {
  return (isObject(typeName) ? lastName(typeName['names']) : undefined) ?? 'a type';
}

/**
 * A subquery that returns at most one row: `LIMIT 1` (or 0), or an aggregate over all its rows
 * (no GROUP BY, no set-returning function Gatehouse knows of in the select list).
 */
function atMostOneRow(node: unknown): boolean {
  const q = unwrap(node, 'SelectStmt');
  if (!q || (q['op'] !== undefined && q['op'] !== 'SETOP_NONE')) return false;
  // libpg-query gives `LIMIT 1` as A_Const { ival: { ival: 1 } } (a zero has no inner ival).
  const limit = unwrap(q['limitCount'], 'A_Const')?.['ival'];
  if (
    isObject(limit) &&
    (limit['ival'] === undefined || (typeof limit['ival'] === 'number' && limit['ival'] <= 1))
  )
    return true;
  if (q['groupClause'] !== undefined || q['havingClause'] !== undefined) return false;
  const targets = asArray(q['targetList']);
  return (
    targets.length > 0 &&
    targets.every((t) => {
      const call = unwrap(unwrap(t, 'ResTarget')?.['val'], 'FuncCall');
      const n = call ? lastName(call['funcname']) : undefined;
      return n !== undefined && ONE_ROW_AGGREGATES.has(n) && call?.['over'] === undefined;
    })
  );
}

/** Aggregates that, without GROUP BY, return exactly one row. */
const ONE_ROW_AGGREGATES: ReadonlySet<string> = new Set([
  'count',
  'min',
  'max',
  'sum',
  'avg',
  'array_agg',
  'string_agg',
  'json_agg',
  'jsonb_agg',
  'bool_and',
  'bool_or',
  'every',
  'xmlagg',
]);

/** The keys a JSON_TABLE column reads: its PATH's, or its own name when it has none. */
function jsonTableColumnKeys(col: NodeBody): readonly string[] | undefined {
  const raw = col['pathspec'];
  const spec = isObject(raw) ? (unwrap(raw, 'JsonTablePathSpec') ?? raw) : undefined;
  const path = spec ? spec['string'] : undefined;
  const name = str(col['name'], '');
  if (path === undefined) return [name];
  const keys = pathKeys(path);
  return keys === undefined ? undefined : [...keys, name];
}

/** A cast to json, jsonb or hstore (not an array of them). */
function isDocumentType(typeName: unknown): boolean {
  if (!isObject(typeName) || asArray(typeName['arrayBounds']).length > 0) return false;
  const name = lastName(typeName['names']);
  return name !== undefined && DOCUMENT_TYPES.has(name);
}

/**
 * What a document operator takes out of its left operand by key (class 190): `->` and `->>` (json,
 * jsonb; hstore's `->` by a key or an array of keys), `#>` and `#>>` by a path of keys, hstore's `%%`
 * and `%#` every value. NONE for other operators.
 */
function documentOperator(name: string, body: NodeBody, l: Flow, r: Flow): Flow {
  switch (name) {
    case '->':
    case '->>':
      return keyed(l, keysOf(body['rexpr'], false));
    case '#>':
    case '#>>':
      return keyed(l, keysOf(body['rexpr'], true));
    case '%%':
    case '%#':
      return keyed(body['lexpr'] === undefined ? r : l, undefined);
    // jsonpath tests: the keys their path names
    case '@?':
    case '@@':
      return hasDocument(l) ? keyed(l, pathKeys(body['rexpr'])) : NONE;
    // containment: the keys of the document it is compared with (a test of their values)
    case '@>':
      return hasDocument(l) ? keyed(l, documentKeys(body['rexpr'])) : NONE;
    case '<@':
      return hasDocument(r) ? keyed(r, documentKeys(body['lexpr'])) : NONE;
    default:
      return NONE;
  }
}

/** What a document function takes out of its first argument by key (class 190); NONE for others. */
function documentFunction(name: string, args: readonly unknown[], flows: readonly Flow[]): Flow {
  const doc = flows[0] ?? NONE;
  if (EXTRACT_PATH_FUNCTIONS.has(name)) {
    const keys: string[] = [];
    for (const a of args.slice(1)) {
      const k = keysOf(a, false);
      if (k === undefined) return keyed(doc, undefined);
      keys.push(...k);
    }
    return keyed(doc, keys);
  }
  if (PATH_QUERY_FUNCTIONS.has(name)) return keyed(doc, pathKeys(args[1]));
  if (name.endsWith('populate_record') || name.endsWith('populate_recordset'))
    // the record to fill comes first, the document second
    return keyed(flows[1] ?? NONE, undefined);
  // Without a column definition list (which names the keys: rangeFunction), every key.
  if (RECORD_FUNCTIONS.has(name)) return NONE;
  if (EVERY_KEY_FUNCTIONS.has(name)) return keyed(doc, undefined);
  return NONE;
}

function identityCast(typeName: unknown): boolean {
  if (!isObject(typeName)) return false;
  if (asArray(typeName['typmods']).length > 0 || asArray(typeName['arrayBounds']).length > 0) return false;
  const name = lastName(typeName['names']);
  return name === 'text' || name === 'varchar';
}

/** PostgreSQL's FigureColname, for the cases a reference by name can reach. */
function figureName(node: unknown): string {
  const w = wrapped(node);
  if (!w) return '?column?';
  const [type, body] = w;
  switch (type) {
    case 'ColumnRef': {
      const names = stringList({ List: { items: body['fields'] } });
      return names[names.length - 1] ?? '?column?';
    }
    case 'FuncCall':
      return lastName(body['funcname']) ?? '?column?';
    case 'TypeCast': {
      const inner = figureName(body['arg']);
      const type = isObject(body['typeName']) ? lastName(body['typeName']['names']) : undefined;
      return inner !== '?column?' ? inner : (type ?? '?column?');
    }
    case 'A_Indirection': {
      const path = asArray(body['indirection']);
      for (let i = path.length - 1; i >= 0; i--) {
        const s = unwrap(path[i], 'String')?.['sval'];
        if (typeof s === 'string') return s;
      }
      return figureName(body['arg']);
    }
    case 'CaseExpr':
      return 'case';
    case 'A_ArrayExpr':
      return 'array';
    case 'RowExpr':
      return 'row';
    case 'CoalesceExpr':
      return 'coalesce';
    case 'SubLink':
      return body['subLinkType'] === 'EXISTS_SUBLINK'
        ? 'exists'
        : body['subLinkType'] === 'ARRAY_SUBLINK'
          ? 'array'
          : '?column?';
    default:
      return '?column?';
  }
}

// ---------------------------------------------------------------- the analyzer

function toLineage(flow: Flow, sources: (k: string) => SourceColumn): ValueLineage {
  if (flow.empty) return NO_LINEAGE;
  return {
    sources: [...flow.keys].map(sources),
    direct: flow.direct,
    ...(flow.row ? { row: true } : {}),
    ...(flow.unproven !== undefined ? { unproven: flow.unproven } : {}),
  };
}

class ParseTreeLineageAnalyzer implements LineageAnalyzer {
  /**
   * Parse trees of recent texts (an analysis that waited for the catalog runs again on the same
   * text; view definitions recur). A tree is many times its text, so only short texts are kept.
   */
  private readonly trees = new LruCache<unknown>({ maxEntries: 1_000, maxTotalKeyLength: 1024 * 1024 });
  private readonly sources = new Map<string, SourceColumn>();

  constructor(private readonly runtime: PgParserRuntime) {}

  private parse(text: string): unknown {
    const cached = this.trees.get(text);
    if (cached !== undefined) return cached;
    if (!checkText(text).ok) return null;
    const outcome = this.runtime.parse(Buffer.from(text, 'utf8'));
    let tree: unknown = null;
    if (outcome.ok) {
      const parsed: unknown = JSON.parse(outcome.json);
      const stmts = isObject(parsed) && Array.isArray(parsed['stmts']) ? parsed['stmts'] : [];
      tree = stmts.length === 1 && isObject(stmts[0]) ? (stmts[0]['stmt'] ?? null) : null;
    }
    if ((outcome.ok || !('crashed' in outcome)) && text.length <= MAX_CACHED_TREE_TEXT)
      this.trees.set(text, tree);
    return tree;
  }

  private source(k: string): SourceColumn {
    let s = this.sources.get(k);
    if (!s) {
      const [schema, table, column] = k.split('\u0000') as [string, string, string];
      s = Object.freeze({ schema, table, column });
      if (this.sources.size > 100_000) this.sources.clear();
      this.sources.set(k, s);
    }
    return s;
  }

  analyze(text: string, catalog: LineageCatalog): LineageOutcome {
    const tree = this.parse(text);
    if (tree === null) return done(unprovenStatement('the statement could not be parsed for lineage'));
    const fetch = unwrap(tree, 'FetchStmt');
    if (fetch) return { kind: 'uses', object: 'cursor', name: str(fetch['portalname'], '') };
    const execute = unwrap(tree, 'ExecuteStmt');
    if (execute) {
      // The prepared statement's analysis counts each parameter as at most one message; EXECUTE's
      // arguments are expressions the server computes, which may be larger (class 212).
      const missing = { functions: new Set<string>(), operators: new Set<string>() };
      const large = largeParameters(
        execute['params'],
        sizeCatalog(catalog, missing),
        catalog.maxParameterBytes ?? DEFAULT_PARAMETER_BYTES,
      );
      if (missing.functions.size + missing.operators.size > 0)
        return {
          kind: 'needs',
          needs: { relations: [], functions: [...missing.functions], operators: [...missing.operators] },
        };
      // The prepared statement is traced with its parameters as the client's own values; EXECUTE's
      // arguments are expressions, and one the server computes from what Gatehouse cannot trace
      // (`query_to_xml('SELECT secret …')`) may be stored by a prepared INSERT (class 249).
      const args = asArray(execute['params']);
      if (args.length > 0) {
        const a = new Analysis(catalog, (t) => this.parse(t) ?? undefined);
        const flows = args.map((p) => a.expr(p, new Scope(), TOP));
        if (a.missing) return needsOf(a);
        const traced = flows.find((f) => !f.empty);
        if (traced !== undefined) {
          const reason = traced.unproven ?? 'an argument of EXECUTE computed from a masked column';
          return done({
            ...unprovenStatement(reason),
            writes: [
              {
                targets: [],
                label: 'a parameter of EXECUTE, which the prepared statement may store',
                lineage: toLineage(traced.derived(), (k) => this.source(k)),
              },
            ],
          });
        }
      }
      if (large !== undefined)
        return done(
          unprovenStatement(
            `an argument of EXECUTE (${large}) can be larger than the parameter the prepared statement was traced for`,
          ),
        );
      return { kind: 'uses', object: 'prepared', name: str(execute['name'], '') };
    }
    const a = new Analysis(catalog, (t) => {
      const v = this.parse(t);
      return v === null ? undefined : v;
    });
    let result: { cols: readonly Col[] | undefined; aligned: boolean };
    try {
      result = a.statement(tree);
    } catch (error) {
      const reason = error instanceof RangeError ? 'the statement is nested too deeply' : String(error);
      return done(unprovenStatement(`lineage could not be computed: ${reason}`));
    }
    if (a.missing) return needsOf(a);
    // CREATE TABLE AS EXECUTE stores the prepared statement's rows in a new table: trace that statement
    // and write its results there (class 348). Arguments computed from what Gatehouse traces are
    // writes already (class 249), refused on their own.
    const stores = storedExecute(tree);
    if (stores !== undefined && a.writes.length === 0)
      return {
        kind: 'uses',
        object: 'prepared',
        name: stores,
        stores: 'a new table (CREATE TABLE AS EXECUTE)',
      };
    const src = (k: string) => this.source(k);
    const cols = result.cols;
    const combined = cols === undefined ? NONE : union(cols.map((c) => c.flow));
    const lineage: StatementLineage = {
      outputs: cols !== undefined && result.aligned ? cols.map((c) => toLineage(c.flow, src)) : undefined,
      combined: toLineage(combined, src),
      reads: [...a.reads].map(src),
      predicates: [...a.predicates].map(src),
      ...(a.unprovenReads !== undefined ? { unprovenReads: a.unprovenReads } : {}),
      ...(a.unprovenPredicate !== undefined ? { unprovenPredicate: a.unprovenPredicate } : {}),
      sinks: a.sinks.map((s): ValueSink => ({ what: s.what, lineage: toLineage(s.flow, src) })),
      writes: a.writes.map((w): ColumnWrite => ({
        targets: w.targets.map(src),
        label: w.label,
        lineage: toLineage(w.flow, src),
      })),
      statistics: [...a.statistics],
    };
    const failures: FallibleUse[] = [...a.failures].map(([what, keys]) => ({
      what,
      columns: [...keys].map(src),
    }));
    // A value the statement can build near the server's size limits makes whether it fails depend on
    // the size of every other value it reads (class 212).
    if (a.reads.size > 0) {
      const large = largeValue(
        tree,
        sizeCatalog(catalog),
        catalog.maxParameterBytes ?? DEFAULT_PARAMETER_BYTES,
      );
      if (large !== undefined)
        failures.push({
          what: `${large.what}, a value whose size can reach the server's limits (1 GB for a value or a result row, 256 MB for jsonb, 134,217,727 array elements), next to it`,
          columns: [...a.reads].map(src),
        });
    }
    // The column's type and constraints check every value written (a length, a CHECK, a key).
    for (const w of a.writes)
      if (w.flow.keys.size > 0)
        failures.push({ what: `the checks of ${w.label}`, columns: [...w.flow.keys].map(src) });
    return done(failures.length > 0 ? { ...lineage, failures } : lineage);
  }
}

/** Bind's parameters when the catalog does not say: the listener's default message bound. */
const DEFAULT_PARAMETER_BYTES = 64 * 1024 * 1024;

/** Result sizes from the catalog: bounded only when every overload's is. */
function sizeCatalog(
  catalog: LineageCatalog,
  missing?: { functions: Set<string>; operators: Set<string> },
): SizeCatalog {
  return {
    resultSize(kind, name) {
      const info = catalog.routines(kind, name);
      if (info === undefined) (kind === 'function' ? missing?.functions : missing?.operators)?.add(name);
      if (info === undefined || info === UNAVAILABLE || info.overloads.length === 0) return undefined;
      let size: ResultSize = 'fixed';
      for (const o of info.overloads) {
        if (o.resultSize === undefined) return undefined;
        if (o.resultSize === 'numeric') size = 'numeric';
      }
      return size;
    },
  };
}

function done(lineage: StatementLineage): LineageOutcome {
  return { kind: 'done', lineage };
}

function unprovenStatement(reason: string): StatementLineage {
  const flow: ValueLineage = { sources: [], direct: false, unproven: reason };
  return {
    outputs: undefined,
    combined: flow,
    reads: [],
    predicates: [],
    unprovenReads: reason,
    sinks: [],
    writes: [],
    statistics: [],
  };
}

/** An analyzer over the shared PostgreSQL parser (the classifier's runtime). */
export function createLineageAnalyzer(runtime: PgParserRuntime): LineageAnalyzer {
  return new ParseTreeLineageAnalyzer(runtime);
}
