// How large a value a statement can build (class 212). PostgreSQL refuses a value past 1 GB (a text,
// a bytea, an array: "invalid memory alloc request size"), a jsonb value past 256 MB, and a result row
// past 1 GB (the DataRow buffer: "Cannot enlarge string buffer"). A statement that builds a value
// near such a limit next to a value taken from a masked column fails or not by the masked value's
// size: `repeat('a', 1073741819) || translate(substr(secret, 1, 1), 'abc', '')` fails exactly when the
// first character is not a, b or c. One bit per statement, so the masked value is not masked.
//
// This module bounds, for each expression of the statement's own text, the size in bytes of any
// form of its value (text or binary), from the sizes of its inputs: a constant is its length, a
// parameter at most one message, a column of a table what is stored (counted as nothing: see
// docs/security.md class 212 for that assumption), and every function and operator by a rule of its
// own, unknown ones as unbounded. The statement can build a large value when any bound reaches
// LARGE_VALUE_BYTES; the lineage then counts every masked value the statement reads as deciding
// whether it fails.

import {
  constantString,
  constantValue,
  isObject,
  lastName,
  listItems,
  unwrap,
  wrapped,
  type NodeBody,
} from './parse-tree.js';

/**
 * A bound at or past this many bytes counts as large: below jsonb's 256 MB and an array's element
 * limit (134,217,727, which a text of that many characters reaches when split), the lowest of the
 * server's limits; what is left under them is for stored values (docs/security.md class 212).
 */
export const LARGE_VALUE_BYTES = 96 * 1024 * 1024;
/** The text of a numeric: 131,072 digits before the point, 16,383 after, a sign and a point. */
const NUMERIC_BYTES = 160 * 1024;
/** Per element or field of an array or record: its header, quotes and separators. */
const ELEMENT_OVERHEAD = 16;
/** The slack every computed bound gets (a header, a terminator, a sign). */
const SLACK = 64;

/** How large a function's result can be, as the catalog tells: `fixed` a fixed-length type, `numeric`. */
export type ResultSize = 'fixed' | 'numeric';

export interface SizeCatalog {
  /** The result sizes of a function's or operator's overloads; undefined when one is unbounded or unknown. */
  resultSize(kind: 'function' | 'operator', name: string): ResultSize | undefined;
}

/** The first construct found whose value can be large, and why. */
export interface LargeValue {
  readonly what: string;
}

/** Functions whose result is at most `factor` × the sum of their arguments' sizes. */
const PROPORTIONAL: ReadonlyMap<string, number> = new Map([
  ...[
    'concat',
    'textcat',
    'substr',
    'substring',
    'left',
    'right',
    'btrim',
    'ltrim',
    'rtrim',
    'translate',
    'reverse',
    'split_part',
    'overlay',
    'array_append',
    'array_prepend',
    'array_cat',
    'array_remove',
    'jsonb_set',
    'jsonb_set_lax',
    'jsonb_insert',
    'jsonb_strip_nulls',
    'json_strip_nulls',
    'jsonb_extract_path',
    'jsonb_extract_path_text',
    'json_extract_path',
    'json_extract_path_text',
    'text',
    'varchar',
    'bpchar',
    'name',
    'unistr',
    'decode',
    'textsend',
    'bytea',
    'trim_array',
    'trim_scale',
    'abs',
    'unnest',
    'string_to_table',
    'regexp_split_to_table',
    'regexp_match',
    'regexp_matches',
    'regexp_substr',
    'json_array_elements',
    'json_array_elements_text',
    'jsonb_array_elements',
    'jsonb_array_elements_text',
    'json_each',
    'json_each_text',
    'jsonb_each',
    'jsonb_each_text',
    'json_object_keys',
    'jsonb_object_keys',
    'svals',
    'akeys',
    'avals',
    'skeys',
    'each',
    'hstore_to_array',
  ].map((n): [string, number] => [n, 1]),
  // Unicode case mapping changes a character's length in UTF-8 (ⱥ is three bytes, Ⱥ two).
  ...['upper', 'lower', 'initcap', 'casefold'].map((n): [string, number] => [n, 2]),
  // Encoding conversions, and quoting, escaping and printing as JSON, XML, hex or a literal.
  ...[
    'convert',
    'convert_from',
    'convert_to',
    'quote_literal',
    'quote_ident',
    'quote_nullable',
    'to_json',
    'to_jsonb',
    'row_to_json',
    'array_to_json',
    'json_build_array',
    'jsonb_build_array',
    'json_build_object',
    'jsonb_build_object',
    'json_object',
    'jsonb_object',
    'json_array',
    'encode',
    'hstore',
    'hstore_to_json',
    'hstore_to_jsonb',
    'to_tsvector',
    'jsonb_to_tsvector',
    'json_to_tsvector',
    'string_to_array',
    'regexp_split_to_array',
    'array_positions',
    'jsonb_to_record',
    'jsonb_to_recordset',
    'json_to_record',
    'json_to_recordset',
    'jsonb_populate_record',
    'jsonb_populate_recordset',
    'json_populate_record',
    'json_populate_recordset',
    'jsonb_populate_record_valid',
    'populate_record',
    'jsonb_path_query',
    'jsonb_path_query_first',
    'jsonb_path_query_array',
  ].map((n): [string, number] => [n, 8]),
  // Unicode normalisation: one character decomposes into up to 18 (U+FDFA).
  ['normalize', 18],
]);

/** Functions whose result is one of their arguments (or a part of one): at most the largest. */
const ONE_OF_ARGS: ReadonlySet<string> = new Set([
  'min',
  'max',
  'any_value',
  'mode',
  'percentile_disc',
  'first_value',
  'last_value',
  'nth_value',
  'lag',
  'lead',
  'coalesce',
  'greatest',
  'least',
  'nullif',
]);

/** Functions whose result is small whatever they get (a hash, a count, a name, the server's text). */
const SMALL: ReadonlySet<string> = new Set([
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
  'chr',
  'strpos',
  'position',
  'hashtext',
  'to_hex',
  'pg_typeof',
  'count',
  'version',
  'pg_size_pretty',
  'format_type',
  'json_typeof',
  'jsonb_typeof',
  'current_schema',
  'current_database',
  'inet_server_addr',
  'inet_client_addr',
  'gen_random_uuid',
]);

/**
 * Aggregates that collect every row's value into one: their size grows with the number of rows,
 * which a cross join with generate_series makes what the client likes.
 */
const COLLECTING: ReadonlySet<string> = new Set([
  'string_agg',
  'array_agg',
  'json_agg',
  'jsonb_agg',
  'json_agg_strict',
  'jsonb_agg_strict',
  'json_object_agg',
  'jsonb_object_agg',
  'json_object_agg_strict',
  'jsonb_object_agg_strict',
  'json_object_agg_unique',
  'jsonb_object_agg_unique',
  'json_object_agg_unique_strict',
  'jsonb_object_agg_unique_strict',
  'xmlagg',
  'range_agg',
  'tsvector_agg',
]);

/** Casts to these types keep the value's text (or cut it: varchar(n)); char(n) pads, see castBound. */
const TEXT_TYPES: ReadonlySet<string> = new Set(['text', 'varchar', 'bpchar', 'name', 'citext', 'bytea']);
/** Types whose values print in a few dozen bytes. */
const FIXED_TYPES: ReadonlySet<string> = new Set([
  'bool',
  'int2',
  'int4',
  'int8',
  'float4',
  'float8',
  'date',
  'time',
  'timetz',
  'timestamp',
  'timestamptz',
  'interval',
  'uuid',
  'oid',
  'regclass',
  'regtype',
  'regproc',
  'regprocedure',
  'regoper',
  'regoperator',
  'regnamespace',
  'regrole',
  'regconfig',
  'regdictionary',
  'money',
  'inet',
  'cidr',
  'macaddr',
  'macaddr8',
  'char',
  'xid',
  'xid8',
  'cid',
  'tid',
  'pg_lsn',
  'point',
  'lseg',
  'box',
  'line',
  'circle',
]);

/** Operators whose result is a part of their left operand (JSON and hstore access, deletion). */
const PART_OF_LEFT: ReadonlySet<string> = new Set(['->', '->>', '#>', '#>>', '-', '#-']);

const sat = (n: number): number => (Number.isFinite(n) && n < Number.MAX_SAFE_INTEGER ? n : Infinity);
const sum = (ns: readonly number[]): number => sat(ns.reduce((a, b) => a + b, 0));

/**
 * The count a constant (or a cast of one) holds, or undefined. A negative count makes repeat and
 * lpad return nothing: 0, never less (a negative bound would cancel out others in a sum).
 */
function constantInt(node: unknown): number | undefined {
  const v = constantValue(node);
  if (v === undefined || !/^\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*$/.test(v)) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? Math.max(0, Math.ceil(n)) : undefined;
}

/**
 * format()'s result for a constant format string: its arguments (doubled for %I and %L quoting),
 * the text, and each width written in it; a width taken from an argument (`%*s`) is unbounded.
 */
function formatBound(fmt: string, args: readonly number[]): number {
  if (fmt.includes('*')) return Infinity;
  let widths = 0;
  for (const m of fmt.matchAll(/%(?:\d+\$)?-?(\d+)/g)) widths += Number(m[1]);
  return sat(2 * sum(args) + Buffer.byteLength(fmt) + 4 * widths + SLACK);
}

/** The statement's node types that make a column reference name a value the statement computed. */
const DERIVED_SOURCES: ReadonlySet<string> = new Set([
  'RangeSubselect',
  'RangeFunction',
  'RangeTableFunc',
  'JsonTable',
  'CommonTableExpr',
  'InsertStmt',
  'UpdateStmt',
  'MergeStmt',
]);

class SizeWalk {
  /** The first construct at or past the limit. */
  large: LargeValue | undefined;
  /** The largest row of a relation the statement computes (a column referring to one is at most this). */
  sourceMax = 0;

  constructor(
    private readonly catalog: SizeCatalog,
    private readonly paramBytes: number,
    private readonly refBytes: number,
  ) {}

  private seen(n: number, what: () => string): number {
    if (n >= LARGE_VALUE_BYTES && this.large === undefined) this.large = { what: what() };
    return n;
  }

  /** Looks for large values anywhere below `node` (a statement, a clause, a list). */
  visit(node: unknown): void {
    if (Array.isArray(node)) {
      for (const n of node) this.visit(n);
      return;
    }
    const w = wrapped(node);
    if (!w) {
      if (isObject(node)) for (const k in node) this.visit(node[k]);
      return;
    }
    const [type, body] = w;
    if (EXPRESSIONS.has(type)) {
      this.bound(node);
      return;
    }
    let source: number | undefined;
    switch (type) {
      case 'CommonTableExpr':
        source = this.bound(body['ctequery']);
        this.visitExcept(body, ['ctequery']);
        break;
      case 'RangeSubselect':
        source = this.bound(body['subquery']);
        this.visitExcept(body, ['subquery']);
        break;
      case 'RangeFunction': {
        // functions: [[call, column definitions], …]; ROWS FROM joins them side by side.
        const calls = listItems(body['functions']).map((f) => this.bound(listItems(f)[0]));
        source = sum(calls);
        this.visitExcept(body, ['functions']);
        break;
      }
      case 'InsertStmt':
      case 'UpdateStmt':
      case 'MergeStmt': {
        // RETURNING (and a later reference to a CTE holding the statement) reads what was written.
        const written: number[] = [this.bound(body['selectStmt'])];
        written.push(sum(this.bounds(body['targetList'])));
        const oc = body['onConflictClause'];
        const conflict = unwrap(oc, 'OnConflictClause') ?? (isObject(oc) ? oc : undefined);
        if (conflict) written.push(sum(this.bounds(conflict['targetList'])));
        for (const c of listItems(body['mergeWhenClauses'])) {
          const when = unwrap(c, 'MergeWhenClause');
          if (!when) continue;
          written.push(sum(this.bounds(when['targetList'])), sum(this.bounds(when['values'])));
        }
        source = Math.max(...written);
        this.visitExcept(body, ['selectStmt', 'targetList', 'onConflictClause', 'mergeWhenClauses']);
        this.visit(conflict?.['whereClause']);
        for (const c of listItems(body['mergeWhenClauses']))
          this.visit(unwrap(c, 'MergeWhenClause')?.['condition']);
        break;
      }
      case 'RangeTableFunc':
      case 'JsonTable': {
        // XMLTABLE, JSON_TABLE: rows cut out of a document, printed again.
        const parts: number[] = [];
        for (const k in body) parts.push(this.boundAll(body[k]));
        source = this.seen(
          sat(8 * sum(parts) + SLACK),
          () => `a ${type === 'JsonTable' ? 'JSON_TABLE' : 'XMLTABLE'}`,
        );
        break;
      }
      default:
        for (const k in body) this.visit(body[k]);
        return;
    }
    if (source > this.sourceMax) this.sourceMax = source;
  }

  /** The sum of the bounds of every expression below `node`, whatever clause holds it. */
  private boundAll(node: unknown): number {
    if (Array.isArray(node)) return sum(node.map((n) => this.boundAll(n)));
    const w = wrapped(node);
    if (!w) {
      if (!isObject(node)) return 0;
      let t = 0;
      for (const k in node) t = sat(t + this.boundAll(node[k]));
      return t;
    }
    if (EXPRESSIONS.has(w[0])) return this.bound(node);
    let t = 0;
    for (const k in w[1]) t = sat(t + this.boundAll(w[1][k]));
    return t;
  }

  private visitExcept(body: NodeBody, keys: readonly string[]): void {
    for (const k in body) if (!keys.includes(k)) this.visit(body[k]);
  }

  private bounds(list: unknown): number[] {
    return listItems(list).map((n) => this.bound(n));
  }

  /** An upper bound, in bytes, on any form of the value of the expression `node`. */
  bound(node: unknown): number {
    const w = wrapped(node);
    if (!w) {
      if (Array.isArray(node)) return sum(node.map((n) => this.bound(n)));
      return 0;
    }
    const [type, body] = w;
    switch (type) {
      case 'A_Const': {
        const s = body['sval'] ?? body['bsval'] ?? body['fval'];
        if (isObject(s)) {
          const text = s['sval'] ?? s['bsval'] ?? s['fval'];
          return typeof text === 'string' ? Buffer.byteLength(text) : 0;
        }
        return 32;
      }
      case 'ColumnRef':
        return this.seen(
          this.refBytes,
          () => 'a value of a subquery, a function in FROM or a recursive query',
        );
      case 'ParamRef':
        return this.paramBytes;
      case 'TypeCast':
        return this.seen(this.castBound(body), () => 'a cast');
      case 'CollateClause':
        return this.bound(body['arg']);
      case 'NamedArgExpr':
      case 'MultiAssignRef':
        return this.bound(body['arg'] ?? body['source']);
      case 'ResTarget':
        this.visit(body['indirection']);
        return this.bound(body['val']);
      case 'A_Indirection':
        this.visit(body['indirection']);
        return this.bound(body['arg']);
      case 'BoolExpr':
      case 'NullTest':
      case 'BooleanTest':
      case 'CurrentOfExpr':
      case 'GroupingFunc':
      case 'JsonIsPredicate':
        this.visit(body);
        return 16;
      case 'SQLValueFunction':
      case 'SetToDefault':
        return 128;
      case 'A_Expr':
        return this.operator(body);
      case 'CaseExpr': {
        this.visit(body['arg']);
        const results: number[] = [this.bound(body['defresult'])];
        for (const c of listItems(body['args'])) {
          const when = unwrap(c, 'CaseWhen');
          if (!when) continue;
          this.visit(when['expr']);
          results.push(this.bound(when['result']));
        }
        return Math.max(...results);
      }
      case 'CoalesceExpr':
      case 'MinMaxExpr':
        return Math.max(0, ...this.bounds(body['args']));
      case 'RowExpr':
      case 'A_ArrayExpr': {
        const items = this.bounds(body['args'] ?? body['elements']);
        const what = type === 'RowExpr' ? 'a ROW' : 'an ARRAY';
        return this.seen(sat(2 * sum(items) + ELEMENT_OVERHEAD * items.length + SLACK), () => what);
      }
      case 'SubLink':
        return this.subLink(body);
      case 'SelectStmt':
        return this.select(body);
      case 'FuncCall':
        return this.funcCall(body);
      case 'XmlExpr':
      case 'XmlSerialize':
      case 'JsonObjectConstructor':
      case 'JsonArrayConstructor':
      case 'JsonParseExpr':
      case 'JsonScalarExpr':
      case 'JsonSerializeExpr':
      case 'JsonFuncExpr':
      case 'JsonValueExpr':
      case 'JsonKeyValue': {
        const parts: number[] = [];
        for (const k in body) parts.push(this.bound(body[k]));
        const what = type.startsWith('Xml') ? 'an XML expression' : 'a JSON expression';
        return this.seen(sat(8 * sum(parts) + SLACK), () => what);
      }
      case 'JsonArrayQueryConstructor':
      case 'JsonArrayAgg':
      case 'JsonObjectAgg':
        this.visit(body);
        return this.seen(Infinity, () => 'a JSON aggregate (its size grows with the number of rows)');
      default:
        // Not an expression Gatehouse sizes: unbounded (a clause inside one is only looked into).
        this.visit(body);
        return this.seen(Infinity, () => `a ${type} expression`);
    }
  }

  private castBound(body: NodeBody): number {
    const arg = this.bound(body['arg']);
    const typeName = body['typeName'];
    if (!isObject(typeName)) return Infinity;
    const name = lastName(typeName['names']) ?? '';
    const arrays = listItems(typeName['arrayBounds']).length > 0;
    const mod = constantInt(listItems(typeName['typmods'])[0]);
    if (!arrays && (name === 'bpchar' || name === 'bit')) {
      // char(n) pads to n characters (four bytes each at most); bit(n) to n bits.
      const padded = mod === undefined ? 0 : name === 'bit' ? Math.ceil(mod / 8) : 4 * mod;
      return sat(Math.max(arg, padded) + SLACK);
    }
    if (!arrays && TEXT_TYPES.has(name)) return sat(arg + SLACK);
    if (!arrays && name === 'numeric') return NUMERIC_BYTES;
    if (!arrays && FIXED_TYPES.has(name)) return 128;
    // json, jsonb, xml, arrays, records, ranges, tsvector: read from text and printed again, with
    // quotes and separators added.
    return sat(3 * arg + SLACK);
  }

  private operator(body: NodeBody): number {
    const kind = typeof body['kind'] === 'string' ? body['kind'] : '';
    const l = this.bound(body['lexpr']);
    const r = this.bound(body['rexpr']);
    if (kind === 'AEXPR_NULLIF') return l;
    if (kind !== 'AEXPR_OP') return 16; // IN, LIKE, BETWEEN, DISTINCT, ANY/ALL: a boolean
    const name = lastName(body['name']) ?? '';
    const label = () => `operator ${name}`;
    if (name === '||') return this.seen(sat(l + r + SLACK), label);
    if (PART_OF_LEFT.has(name)) return this.seen(l, label);
    const size = this.catalog.resultSize('operator', name);
    if (size === 'fixed') return 128;
    if (size === 'numeric') return NUMERIC_BYTES;
    // A built-in operator on other types (paths, ranges, text search): at most twice its operands.
    return this.seen(sat(2 * (l + r) + SLACK), label);
  }

  private subLink(body: NodeBody): number {
    this.visit(body['testexpr']);
    const sub = this.bound(body['subselect']);
    switch (body['subLinkType']) {
      case 'EXPR_SUBLINK':
      case 'MULTIEXPR_SUBLINK':
        return sub;
      case 'ARRAY_SUBLINK':
        return this.seen(Infinity, () => 'ARRAY(subquery) (its size grows with the number of rows)');
      default:
        return 16;
    }
  }

  /** A SELECT's value is one of its rows: the sum of its columns (a VALUES row's, a branch's). */
  private select(body: NodeBody): number {
    if (body['op'] !== undefined && body['op'] !== 'SETOP_NONE') {
      this.visitExcept(body, ['larg', 'rarg']);
      return Math.max(this.bound({ SelectStmt: body['larg'] }), this.bound({ SelectStmt: body['rarg'] }));
    }
    this.visitExcept(body, ['targetList', 'valuesLists']);
    let row = sum(this.bounds(body['targetList']));
    for (const values of listItems(body['valuesLists'])) row = Math.max(row, sum(this.bounds(values)));
    return this.seen(row, () => 'a row of the result');
  }

  private funcCall(body: NodeBody): number {
    this.visitExcept(body, ['funcname', 'args']);
    const name = lastName(body['funcname']) ?? '';
    const argNodes = listItems(body['args']);
    const args = argNodes.map((a) => this.bound(a));
    const label = () => `${name}()`;
    if (COLLECTING.has(name))
      return this.seen(Infinity, () => `${name}() (its size grows with the number of rows)`);
    if (SMALL.has(name)) return 128;
    if (ONE_OF_ARGS.has(name)) return Math.max(0, ...args);
    const factor = PROPORTIONAL.get(name);
    if (factor !== undefined) return this.seen(sat(factor * sum(args) + SLACK), label);
    switch (name) {
      case 'concat_ws':
        return this.seen(sat((args[0] ?? 0) * args.length + sum(args) + SLACK), label);
      case 'repeat': {
        const n = constantInt(argNodes[1]);
        return this.seen(n === undefined ? Infinity : sat((args[0] ?? 0) * n + SLACK), label);
      }
      case 'lpad':
      case 'rpad': {
        const n = constantInt(argNodes[1]);
        return this.seen(n === undefined ? Infinity : sat(4 * n + SLACK), label);
      }
      case 'replace':
      case 'regexp_replace': {
        // Every match (an empty pattern matches between characters) becomes the replacement, whose
        // back-references each copy a match.
        const s = args[0] ?? 0;
        const rep = args[2] ?? 0;
        return this.seen(sat(2 * (s + 1) * (rep + 1) + SLACK), label);
      }
      case 'array_to_string': {
        const separators = (args[1] ?? 0) + (args[2] ?? 0);
        return this.seen(sat((args[0] ?? 0) * 8 * (1 + separators) + SLACK), label);
      }
      case 'format': {
        const fmt = constantString(argNodes[0]);
        return this.seen(fmt === undefined ? Infinity : formatBound(fmt, args.slice(1)), label);
      }
      case 'to_char':
        return this.seen(sat(16 * (args[1] ?? 0) + 256), label);
      case 'jsonb_pretty': {
        // Each nesting level indents every line below it.
        const doc = args[0] ?? 0;
        return this.seen(sat(4 * doc * doc + SLACK), label);
      }
      default: {
        const size = this.catalog.resultSize('function', name);
        if (size === 'fixed') return 128;
        if (size === 'numeric') return NUMERIC_BYTES;
        return this.seen(Infinity, () => `${name}() (Gatehouse does not bound the size of its result)`);
      }
    }
  }
}

/** Node types `bound` sizes (any other type met by `visit` is looked into, not sized). */
const EXPRESSIONS: ReadonlySet<string> = new Set([
  'A_Const',
  'ColumnRef',
  'ParamRef',
  'TypeCast',
  'CollateClause',
  'NamedArgExpr',
  'MultiAssignRef',
  'ResTarget',
  'A_Indirection',
  'BoolExpr',
  'NullTest',
  'BooleanTest',
  'CurrentOfExpr',
  'GroupingFunc',
  'JsonIsPredicate',
  'SQLValueFunction',
  'SetToDefault',
  'A_Expr',
  'CaseExpr',
  'CoalesceExpr',
  'MinMaxExpr',
  'RowExpr',
  'A_ArrayExpr',
  'SubLink',
  'SelectStmt',
  'FuncCall',
  'XmlExpr',
  'XmlSerialize',
  'JsonObjectConstructor',
  'JsonArrayConstructor',
  'JsonParseExpr',
  'JsonScalarExpr',
  'JsonSerializeExpr',
  'JsonFuncExpr',
  'JsonValueExpr',
  'JsonKeyValue',
  'JsonArrayQueryConstructor',
  'JsonArrayAgg',
  'JsonObjectAgg',
]);

/** How many relations the statement computes below `node`, and whether a WITH is recursive. */
function scan(node: unknown, found: { derived: number; recursive: boolean }): void {
  if (Array.isArray(node)) {
    for (const n of node) scan(n, found);
    return;
  }
  if (!isObject(node)) return;
  for (const k in node) {
    if (DERIVED_SOURCES.has(k)) found.derived++;
    const v = node[k];
    if ((k === 'withClause' || k === 'WithClause') && isObject(v) && v['recursive'] === true)
      found.recursive = true;
    scan(v, found);
  }
}

/**
 * The first expression of `tree` (a statement's parse tree) whose value can reach LARGE_VALUE_BYTES,
 * or undefined. A column reference counts as a stored value (nothing) unless the statement computes
 * relations of its own (subqueries and functions in FROM, WITH, what it writes and returns): then it
 * counts as the largest row of those, worked out again until that stops growing (each round follows
 * one more level of relations built on relations). A recursive WITH grows its values at each step.
 */
export function largeValue(tree: unknown, catalog: SizeCatalog, paramBytes: number): LargeValue | undefined {
  const found = { derived: 0, recursive: false };
  scan(tree, found);
  if (found.recursive) {
    const walk = new SizeWalk(catalog, paramBytes, Infinity);
    walk.visit(tree);
    return walk.large ?? { what: 'a recursive WITH query (its values can grow at each step)' };
  }
  // A relation at nesting level L is computed from relations below it: after L rounds refBytes bounds
  // it. A relation that reads another (or, through an unqualified name, seems to read itself) only
  // makes the bound grow from round to round, never fall short of it.
  let refBytes = 0;
  for (let round = 0; ; round++) {
    const walk = new SizeWalk(catalog, paramBytes, refBytes);
    walk.visit(tree);
    if (
      walk.large !== undefined ||
      found.derived === 0 ||
      walk.sourceMax <= refBytes ||
      round > found.derived
    )
      return walk.large;
    refBytes = walk.sourceMax;
  }
}

/**
 * The first of EXECUTE's arguments (expressions the server computes) whose value can be larger than
 * a bound parameter (`paramBytes`), described; undefined when none can. The prepared statement's
 * analysis counted its parameters at that size.
 */
export function largeParameters(
  params: unknown,
  catalog: SizeCatalog,
  paramBytes: number,
): string | undefined {
  for (const p of listItems(params)) {
    const walk = new SizeWalk(catalog, paramBytes, 0);
    if (walk.bound(p) > paramBytes) return walk.large?.what ?? 'a computed value';
  }
  return undefined;
}
