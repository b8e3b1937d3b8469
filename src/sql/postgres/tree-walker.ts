// Walks one statement's whole libpg-query parse tree and collects its categories, tables and functions.
// Every node is visited; a node type or tree shape it does not recognise adds `unknown` (fail closed).
import type { SessionObjectRef, SettingChange, TableRef } from '../../core/sql-statement.js';
import { bit, maskOf, type CategoryMask } from './category-mask.js';
import { functionRisk, readsElsewhere, isBuiltinFunction } from './function-risks.js';
import { BARE_FIELD_TYPES, KNOWN_NODE_TYPES } from './node-field-types.js';
import { NODE_SINCE_MAJOR, functionSinceMajor, returningSinceMajor } from './server-versions.js';
import {
  constantString,
  constantValue,
  isObject,
  lastName,
  stringList,
  unwrap,
  wrapped,
  type NodeBody,
} from './parse-tree.js';
import { isSecretSettingRead, setConfigCategory } from './setting-risks.js';
import { STATEMENT_RULES } from './statement-rules.js';

const UNKNOWN = maskOf('unknown');
const LOCK = maskOf('lock');
const ADMIN = maskOf('admin');
const PROCEDURAL = maskOf('procedural');
const SECRETS = maskOf('secrets');

/**
 * Functions whose categories depend on their arguments, decided by the walker (#funcCall) rather than
 * by function-risks.ts: `current_setting` of a custom name is `secrets`, `set_config` is SET.
 */
export const ARGUMENT_RISK_FUNCTIONS: readonly string[] = ['current_setting', 'set_config'];

/** Fields a rule visits itself are skipped by `visitFields(…, skip)`. */
export type FieldSet = ReadonlySet<string>;
const NO_FIELDS: FieldSet = new Set();
const CTES: FieldSet = new Set(['ctes']);

/**
 * One walk over one top-level statement. Statement rules (statement-rules.ts) call back into it to
 * add categories, record relations and visit children with the right scope.
 */
export class TreeWalker {
  #mask: CategoryMask = 0;
  readonly #tables = new Map<string, TableRef>();
  readonly #functions = new Set<string>();
  /** Operators the statement names or implies (IN, CASE, JOIN USING, BETWEEN look them up by name). */
  readonly #operators = new Set<string>();
  /** Field names of a row (`t.name`, `(row).name`): a call name(t) when the row has no such column. */
  readonly #fields = new Set<string>();
  /** Type names the statement writes (a cast, a column definition list): the last part of each. */
  readonly #types = new Set<string>();
  /** Names of the common table expressions in scope (unqualified references to them are not tables). */
  readonly #cteNames: string[] = [];
  /**
   * Inside EXPLAIN without ANALYZE: the inner statement is planned, not run, so what running it does
   * (a write, DDL, a row lock) does not count. What a function call adds still does (`addCall`): the
   * planner runs functions while it plans (docs/security.md, classes 62 and 170).
   */
  #planOnly = false;
  /** How many statement nodes enclose the current node (1 inside the top-level statement). */
  #statementDepth = 0;
  #preparedName: string | undefined;
  #savepoint: string | undefined;
  #chain = false;
  #temporary = false;
  #untargeted = false;
  #readsElsewhere = false;
  #sinceMajor = 0;
  readonly #targets = new Map<string, TableRef>();
  readonly #relationArgs: (string | null)[] = [];
  readonly #settings: SettingChange[] = [];
  readonly #objects: SessionObjectRef[] = [];

  get categories(): CategoryMask {
    return this.#mask;
  }

  get tables(): TableRef[] {
    return [...this.#tables.values()];
  }

  get functions(): string[] {
    return [...this.#functions];
  }

  /** Names written as a field of a row, which PostgreSQL may read as a function call (8.16.5). */
  get fields(): string[] {
    return [...this.#fields];
  }

  /**
   * The types the statement names (`x::t`, `CAST(x AS t[])`, `t 'literal'`, `AS r(a t)`), by their
   * last name: the input of a value to such a type may run a domain's CHECK (docs/security.md,
   * class 225).
   */
  get types(): string[] {
    return [...this.#types];
  }

  /** Operator names, schema-qualified when written so (`OPERATOR(public.+)` is `public.+`). */
  get operators(): string[] {
    return [...this.#operators];
  }

  /** The statement creates or names a temporary relation. */
  get temporary(): boolean {
    return this.#temporary;
  }

  /** A function call adds categories for an object given as its argument, not a table named here. */
  get untargeted(): boolean {
    return this.#untargeted;
  }

  /**
   * The PostgreSQL major the statement needs to be read as this parse reads it (0: any): an older
   * server reads SQL/JSON syntax as calls of functions so named, and newer built-ins as user code.
   */
  get sinceMajor(): number {
    return this.#sinceMajor;
  }

  /** A function call reads data stored outside the tables the statement names (a large object…). */
  get readsElsewhere(): boolean {
    return this.#readsElsewhere;
  }

  /** Relations an INSERT, UPDATE, DELETE or MERGE writes (addRelation). */
  get targets(): TableRef[] {
    return [...this.#targets.values()];
  }

  /** Arguments naming a relation of calls such as `setval` (null when not a constant). */
  get relationArgs(): readonly (string | null)[] {
    return this.#relationArgs;
  }

  /** For a top-level PREPARE, EXECUTE or DEALLOCATE: the prepared statement's name (`*` for ALL). */
  get preparedName(): string | undefined {
    return this.#preparedName;
  }

  /** For a top-level SAVEPOINT, RELEASE or ROLLBACK TO: the savepoint's name as the parser read it. */
  get savepoint(): string | undefined {
    return this.#savepoint;
  }

  /** A top-level COMMIT or ROLLBACK AND CHAIN: it starts a new transaction as it ends one. */
  get chain(): boolean {
    return this.#chain;
  }

  /** Records what a top-level transaction statement does to the savepoints and the next transaction. */
  setTransactionControl(savepoint: unknown, chain: unknown): void {
    if (!this.atTopLevel) return;
    if (typeof savepoint === 'string') this.#savepoint = savepoint;
    if (chain === true) this.#chain = true;
  }

  /** Settings the statement visibly changes. */
  get settings(): readonly SettingChange[] {
    return this.#settings;
  }

  /** Prepared statements and cursors the statement creates, uses or removes. */
  get sessionObjects(): readonly SessionObjectRef[] {
    return this.#objects;
  }

  noteSetting(change: SettingChange): void {
    if (!this.#planOnly) this.#settings.push(Object.freeze(change));
  }

  /** Records a use of a named session object; EXPLAIN's plan-only body still names what it would use. */
  noteObject(ref: SessionObjectRef): void {
    this.#objects.push(Object.freeze(ref));
  }

  /** Records the prepared statement name of the top-level statement (ignored for nested ones). */
  setPreparedName(name: unknown): void {
    if (this.atTopLevel && typeof name === 'string') this.#preparedName = name;
  }

  /** True while visiting the top-level statement itself (not a statement nested inside it). */
  get atTopLevel(): boolean {
    return this.#statementDepth === 1;
  }

  /** Classifies the top-level wrapped statement node and returns its kind. */
  walkStatement(node: unknown): string {
    const entry = wrapped(node);
    if (entry === undefined) {
      this.add(UNKNOWN);
      return 'unknown';
    }
    const [type, body] = entry;
    const kind = this.#visitStatement(type, body);
    if (this.#mask === 0) this.add(UNKNOWN);
    return kind ?? 'unknown';
  }

  /**
   * Adds what the statement does when it runs; inside EXPLAIN without ANALYZE only `unknown` counts
   * (`EXPLAIN DELETE FROM t` writes nothing).
   */
  add(mask: CategoryMask): void {
    this.#mask |= this.#planOnly ? mask & UNKNOWN : mask;
  }

  /**
   * Adds what a function call (or a construct that calls one) does: also inside EXPLAIN without
   * ANALYZE, whatever the function's volatility. The planner evaluates a call it can fold or estimate
   * with: a STABLE one in LIMIT or OFFSET (`preprocess_limit`), compared with a column, or an
   * IMMUTABLE one with constant arguments anywhere, and the value reaches the client in the plan's
   * row estimates, in EXPLAIN VERBOSE's output, or in the error a cast of it raises
   * (`EXPLAIN SELECT 1 LIMIT current_setting('app.jwt_secret')::int`; docs/security.md, class 170).
   * Which functions it runs depends on their volatility and on where they are called, which the
   * classifier does not read from the catalog, so every call counts as run.
   */
  addCall(mask: CategoryMask): void {
    this.#mask |= mask;
  }

  has(mask: CategoryMask): boolean {
    return (this.#mask & mask) !== 0;
  }

  /** Visits a wrapped node, or each element of an array of wrapped nodes. */
  visit(value: unknown): void {
    if (Array.isArray(value)) {
      for (const item of value) this.#visitNode(item);
    } else {
      this.#visitNode(value);
    }
  }

  #visitNode(value: unknown): void {
    if (!isObject(value)) {
      if (Array.isArray(value)) this.visit(value);
      return;
    }
    const entry = wrapped(value);
    if (entry === undefined) {
      // `{}` is a NULL pointer inside a list (e.g. RangeFunction's absent column definition list).
      if (isEmpty(value)) return;
      // Not the `{"Type": {...}}` shape where a Node is expected: the tree is not what we understand.
      this.add(UNKNOWN);
      for (const key in value) this.visit(value[key]);
      return;
    }
    this.visitAs(entry[0], entry[1]);
  }

  /** Visits a node body of a known type (a bare struct field, or an unwrapped Node). */
  visitAs(type: string, body: NodeBody): void {
    if (OPERATOR_NODES.has(type)) this.#noteOperators(type, body);
    if (STATEMENT_RULES[type] !== undefined) {
      this.#visitStatement(type, body);
      return;
    }
    switch (type) {
      case 'RangeVar':
        this.#rangeVar(body);
        return;
      case 'FuncCall':
        this.#funcCall(body);
        return;
      case 'CurrentOfExpr': {
        // WHERE CURRENT OF names a cursor (or a protocol portal: the same namespace on the server).
        const name = body['cursor_name'];
        this.noteObject({ kind: 'cursor', op: 'use', name: typeof name === 'string' ? name : '?' });
        this.visitFields(type, body, NO_FIELDS);
        return;
      }
      case 'TypeName': {
        const last = lastName(body['names']);
        if (last !== undefined) this.#types.add(last);
        this.visitFields(type, body, NO_FIELDS);
        return;
      }
      case 'LockingClause':
        // FOR UPDATE/SHARE; its `lockedRels` name FROM items already recorded, not new relations.
        this.add(LOCK);
        return;
      case 'ReturningClause':
        this.#needs(returningSinceMajor(body));
        this.visitFields(type, body, NO_FIELDS);
        return;
      default:
        // A statement type without a rule, or a node type this parser release does not declare.
        if (type.endsWith('Stmt') || !KNOWN_NODE_TYPES.has(type)) this.add(UNKNOWN);
        this.#needs(NODE_SINCE_MAJOR[type] ?? 0);
        this.visitFields(type, body, NO_FIELDS);
    }
  }

  /** Visits every child of `body` except the fields in `skip`. */
  visitFields(type: string, body: NodeBody, skip: FieldSet): void {
    const bare = BARE_FIELD_TYPES[type];
    for (const key in body) {
      const value = body[key];
      if (typeof value !== 'object' || value === null || skip.has(key)) continue;
      const bareType = bare?.[key];
      if (bareType === undefined) {
        if (Array.isArray(value)) for (const item of value) this.#visitNode(item);
        else this.#visitNode(value);
      } else if (Array.isArray(value)) {
        for (const item of value) if (isObject(item)) this.visitAs(bareType, item);
      } else {
        this.visitAs(bareType, value as NodeBody);
      }
    }
  }

  /** Records the target relation of a statement; it names a real relation even when a CTE shares its name. */
  addRelation(rangeVar: unknown): void {
    if (!isObject(rangeVar)) return;
    const name = rangeVar['relname'];
    const schema = rangeVar['schemaname'];
    if (typeof name !== 'string') return;
    const s = typeof schema === 'string' ? schema : undefined;
    this.addTable(s, name);
    const key = s === undefined ? name : `${s}\u0000${name}`;
    if (!this.#targets.has(key))
      this.#targets.set(key, Object.freeze(s === undefined ? { name } : { schema: s, name }));
  }

  /** Records a relation given as a qualified name list (`[schema, name]` or `[name]`). */
  addQualifiedName(names: readonly string[]): void {
    const name = names[names.length - 1];
    if (name === undefined) return;
    this.addTable(names.length >= 2 ? names[names.length - 2] : undefined, name);
  }

  addTable(schema: string | undefined, name: string): void {
    const key = schema === undefined ? name : `${schema}\u0000${name}`;
    if (this.#tables.has(key)) return;
    this.#tables.set(key, Object.freeze(schema === undefined ? { name } : { schema, name }));
  }

  /** Records a function referenced by name (a call, a trigger function) and the categories it adds. */
  addFunction(names: readonly string[]): void {
    if (names.length === 0) return;
    const lower = names.map((part) => part.toLowerCase());
    this.#functions.add(lower.join('.'));
    const risk = functionRisk(lower[lower.length - 1]!);
    // What such a function writes, locks or administers (a sequence, an index, a large object, a
    // backend, other sessions) is an argument, not a table the statement names (class 101). Both
    // marks and the categories hold inside EXPLAIN too, where the planner may run the call (addCall).
    if (risk !== 0) this.#untargeted = true;
    if (readsElsewhere(lower[lower.length - 1]!)) this.#readsElsewhere = true;
    this.addCall(risk);
  }

  /**
   * Visits a WITH clause (CTE bodies) and brings its names into scope. Returns the scope mark to pass
   * to `leaveScope` after the rest of the statement is visited. A non-recursive CTE sees only the CTEs
   * before it; a recursive WITH sees all of them (PostgreSQL docs 7.8).
   */
  enterWith(withClause: unknown): number {
    const mark = this.#cteNames.length;
    if (!isObject(withClause)) return mark;
    const ctes = Array.isArray(withClause['ctes']) ? withClause['ctes'] : [];
    const names = ctes.map((cte) => unwrap(cte, 'CommonTableExpr')?.['ctename']);
    const recursive = withClause['recursive'] === true;
    if (recursive) for (const name of names) if (typeof name === 'string') this.#cteNames.push(name);
    ctes.forEach((cte, index) => {
      this.visit(cte);
      const name = names[index];
      if (!recursive && typeof name === 'string') this.#cteNames.push(name);
    });
    this.visitFields('WithClause', withClause, CTES);
    return mark;
  }

  leaveScope(mark: number): void {
    this.#cteNames.length = mark;
  }

  /**
   * Visits `body` as planned-but-not-run (EXPLAIN without ANALYZE): names are kept, and the
   * categories of the calls it makes (addCall), not those of running the statement (add).
   */
  visitPlanOnly(node: unknown): void {
    const saved = this.#planOnly;
    this.#planOnly = true;
    try {
      this.visit(node);
    } finally {
      this.#planOnly = saved;
    }
  }

  #visitStatement(type: string, body: NodeBody): string | undefined {
    const rule = STATEMENT_RULES[type];
    if (rule === undefined) {
      this.add(UNKNOWN);
      this.visitFields(type, body, NO_FIELDS);
      return undefined;
    }
    // No try/finally: a throw abandons the whole walk (the classifier then denies the text).
    this.#statementDepth += 1;
    const kind = rule(this, body);
    this.#statementDepth -= 1;
    return kind;
  }

  #rangeVar(body: NodeBody): void {
    const name = body['relname'];
    if (typeof name !== 'string') return;
    const schema = body['schemaname'];
    // CREATE TEMP … (relpersistence t), or a name in the session's temporary schema.
    if (body['relpersistence'] === 't' || (typeof schema === 'string' && /^pg_temp/i.test(schema)))
      this.#temporary = true;
    if (typeof schema !== 'string' && this.#cteNames.includes(name)) return;
    this.addTable(typeof schema === 'string' ? schema : undefined, name);
  }

  #needs(major: number): void {
    if (major > this.#sinceMajor) this.#sinceMajor = major;
  }

  /**
   * The operators a node makes PostgreSQL look up by name through search_path (10.2): written ones,
   * `=` for IN, NULLIF, IS DISTINCT FROM, a CASE with an operand and JOIN USING / NATURAL, the
   * comparisons BETWEEN becomes, a sublink's (`=` for IN), ORDER BY … USING. One named in a schema
   * other than pg_catalog runs code PostgreSQL does not ship: `procedural`, as for functions. Also
   * the field names that may be calls (ColumnRef, A_Indirection). The engine checks the rest against
   * the catalog (docs/security.md, class 125).
   */
  #noteOperators(type: string, body: NodeBody): void {
    const note = (names: readonly string[]) => {
      if (names.length === 0) return;
      this.#operators.add(names.join('.'));
      if (names.length > 1 && names[names.length - 2] !== 'pg_catalog') this.#mask |= PROCEDURAL;
    };
    switch (type) {
      case 'A_Expr': {
        const kind = typeof body['kind'] === 'string' ? body['kind'] : '';
        if (kind.includes('BETWEEN')) for (const op of ['<', '<=', '>', '>=']) note([op]);
        else note(stringList(body['name']));
        return;
      }
      case 'CaseExpr':
        if (body['arg'] !== undefined) note(['=']);
        return;
      case 'JoinExpr':
        if (body['isNatural'] === true || body['usingClause'] !== undefined) note(['=']);
        return;
      case 'SubLink': {
        const t = body['subLinkType'];
        if (t === 'ANY_SUBLINK' || t === 'ALL_SUBLINK' || t === 'ROWCOMPARE_SUBLINK') {
          const op = stringList(body['operName']);
          note(op.length > 0 ? op : ['=']);
        }
        return;
      }
      case 'SortBy':
        note(stringList(body['useOp']));
        return;
      case 'ColumnRef': {
        // `t.f` is f(t) when t has no column f ("functional notation", PostgreSQL docs 8.16.5).
        const f = body['fields'];
        const last =
          Array.isArray(f) && f.length >= 2 ? unwrap(f[f.length - 1], 'String')?.['sval'] : undefined;
        if (typeof last === 'string') this.#fieldCall(last);
        return;
      }
      case 'A_Indirection':
        // `(expr).f` is f(expr) for any expression whose type has no field f: `(4242::bigint)
        // .pg_advisory_lock`, `('app.jwt_secret'::text).current_setting` (class 172).
        for (const i of Array.isArray(body['indirection']) ? body['indirection'] : []) {
          const name = unwrap(i, 'String')?.['sval'];
          if (typeof name === 'string') this.#fieldCall(name);
        }
        return;
    }
  }

  /**
   * A field name that PostgreSQL calls as a one-argument function when the value before it has no
   * such field (functional notation, 8.16.5; ParseFuncOrColumn). The engine checks the name against
   * functions outside pg_catalog (class 125); a built-in name that adds categories or marks adds them
   * here, as a call whose argument is not known, since the parse cannot tell a field from a call
   * (docs/security.md, class 172). A real column so named is decided as the call (fail closed).
   */
  #fieldCall(name: string): void {
    this.#fields.add(name);
    // The parser has folded the name as PostgreSQL does: a quoted one with capitals names no built-in.
    const setting = name === 'current_setting';
    if (functionRisk(name) === 0 && !readsElsewhere(name) && !setting) return;
    this.addFunction([name]);
    // As a call (#funcCall): a name pg_catalog lacks (adminpack, dblink) is an extension's code.
    if (!isBuiltinFunction([name])) this.#mask |= PROCEDURAL;
    // The argument is the value before the field, not a constant the walker can read.
    if (setting) this.addCall(SECRETS);
    if (RELATION_ARG_FUNCTIONS.has(name)) this.#relationArgs.push(null);
  }

  #funcCall(body: NodeBody): void {
    const names = stringList(body['funcname']);
    this.addFunction(names);
    this.#needs(functionSinceMajor(names));
    // A function PostgreSQL does not ship runs code no statement shows (it may write, or change a
    // setting): fail closed, as for DO and CALL. Also inside EXPLAIN without ANALYZE: the planner
    // itself runs such a function when it folds an IMMUTABLE call with constant arguments, or
    // estimates a STABLE one's selectivity, so planning the statement runs its code.
    if (!isBuiltinFunction(names)) this.#mask |= PROCEDURAL;
    const last = names[names.length - 1]?.toLowerCase();
    if (last !== undefined && RELATION_ARG_FUNCTIONS.has(last)) {
      // The relation it acts on, as regclass will read the constant; null when not a constant
      // (an OID, an expression, a parameter): the engine cannot place it (class 113).
      const args = body['args'];
      this.#relationArgs.push(Array.isArray(args) ? relationConstant(args[0]) : null);
    }
    if (last === 'current_setting') {
      // current_setting(name [, missing_ok]) reads a setting's value: stored secrets unless the name
      // is a bare constant naming a built-in one (class 112). No cast is looked through: a cast to
      // varchar(n) would cut the name the server reads.
      const args = body['args'];
      const sval = Array.isArray(args) ? unwrap(args[0], 'A_Const')?.['sval'] : undefined;
      const name = isObject(sval) && typeof sval['sval'] === 'string' ? sval['sval'] : undefined;
      if (name === undefined || isSecretSettingRead(name)) this.addCall(SECRETS);
    }
    if (last === 'set_config') {
      // set_config(name, value, is_local) is SET in function form; a name we cannot read is admin.
      const args = body['args'];
      const name = Array.isArray(args) ? constantString(args[0]) : undefined;
      this.addCall(name === undefined ? ADMIN : bit(setConfigCategory(name)));
      this.addCall(maskOf('session'));
      const value = Array.isArray(args) ? constantValue(args[1]) : undefined;
      const local = Array.isArray(args) ? constantValue(args[2]) : undefined;
      this.noteSetting({
        name: name === undefined ? '?' : name.toLowerCase(),
        via: 'set_config',
        ...(value === undefined ? {} : { value }),
        ...(local === undefined ? {} : { local: local === 'on' || local === 'true' }),
      });
    }
    this.visitFields('FuncCall', body, NO_FIELDS);
  }
}

/** Node types whose operators are looked up by name (#noteOperators). */
const OPERATOR_NODES: ReadonlySet<string> = new Set([
  'A_Expr',
  'CaseExpr',
  'JoinExpr',
  'SubLink',
  'SortBy',
  'ColumnRef',
  'A_Indirection',
]);

/** Functions whose first argument is a relation (regclass) they read or change (9.17, 9.28.8). */
const RELATION_ARG_FUNCTIONS: ReadonlySet<string> = new Set([
  'nextval',
  'setval',
  'currval',
  'pg_sequence_last_value',
  'pg_get_sequence_data',
  'brin_summarize_new_values',
  'brin_summarize_range',
  'brin_desummarize_range',
  'gin_clean_pending_list',
]);

/** A string constant, bare or cast to regclass or text, as the relation name regclass reads; else null. */
function relationConstant(node: unknown): string | null {
  let current = node;
  const cast = unwrap(current, 'TypeCast');
  if (cast !== undefined) {
    const type = stringList(
      unwrap(cast['typeName'], 'TypeName')?.['names'] ??
        (cast['typeName'] as NodeBody | undefined)?.['names'],
    );
    const last = type[type.length - 1];
    if (
      (last !== 'regclass' && last !== 'text') ||
      (cast['typeName'] as NodeBody | undefined)?.['typmods'] !== undefined
    )
      return null;
    current = cast['arg'];
  }
  const sval = unwrap(current, 'A_Const')?.['sval'];
  return isObject(sval) && typeof sval['sval'] === 'string' ? sval['sval'] : null;
}

function isEmpty(value: NodeBody): boolean {
  for (const key in value) if (Object.hasOwn(value, key)) return false;
  return true;
}
