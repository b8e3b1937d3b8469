// Protocol-neutral description of one SQL statement, as the SQL classifiers (src/sql) compute it
// from a real parse tree. Policy matches on this; nothing here is derived from regular expressions.

/** The documented SQL risk taxonomy (docs/policy.md). A statement carries every category it touches. */
export const SQL_CATEGORIES = [
  'read',
  'write',
  'write-unbounded',
  'ddl-create',
  'ddl-alter',
  'ddl-drop',
  'truncate',
  'drop-database',
  'privilege',
  'admin',
  'file-and-program',
  'procedural',
  'transaction',
  'session',
  'lock',
  'secrets',
  'unknown',
] as const;
export type SqlCategory = (typeof SQL_CATEGORIES)[number];

export interface TableRef {
  /** Schema as written; undefined when unqualified (resolved through search_path at run time). */
  readonly schema?: string;
  readonly name: string;
}

/**
 * A run-time setting a statement changes where the parse shows it: SET/RESET (`set`, `reset`), SET
 * nested in another statement such as CREATE FUNCTION … SET (`nested`), ALTER ROLE/DATABASE/SYSTEM
 * … SET (`alter`), set_config() (`set_config`), or an UPDATE of pg_settings (`pg_settings`).
 * `name` is lower-case, `*` when the statement may change any setting (RESET ALL, pg_settings) and
 * `?` when the name is not a constant; `value` is the constant value given, when there is one.
 */
export interface SettingChange {
  readonly name: string;
  readonly via: 'set' | 'reset' | 'nested' | 'alter' | 'set_config' | 'pg_settings';
  readonly value?: string;
  readonly local?: boolean;
}

/**
 * A session object a statement creates, uses or removes by name: SQL prepared statements (PREPARE,
 * EXECUTE, DEALLOCATE) and cursors (DECLARE, FETCH, MOVE, CLOSE, WHERE CURRENT OF). `*` is "all"
 * (DEALLOCATE ALL, CLOSE ALL, DISCARD ALL). Engines keep these in their model of the session.
 */
export interface SessionObjectRef {
  readonly kind: 'prepared' | 'cursor';
  readonly op: 'create' | 'use' | 'drop';
  readonly name: string;
  /** DECLARE … WITH HOLD: the cursor outlives its transaction. */
  readonly holdable?: boolean;
}

export interface SqlStatement {
  /** The statement's own text (one statement, sliced from the submitted string). */
  readonly text: string;
  /**
   * Statement kind in lower-case words, derived from the parse node and its object type, e.g.
   * `select`, `insert`, `update`, `delete`, `drop table`, `drop database`, `truncate`, `copy`,
   * `create function`, `explain`, `set`, `begin`. `unparsed` when parsing failed.
   */
  readonly kind: string;
  readonly categories: readonly SqlCategory[];
  /** Every table/relation the tree names, including in CTEs, subqueries, EXPLAIN, COPY and PREPARE bodies. */
  readonly tables: readonly TableRef[];
  /** Every function name called anywhere in the tree, lower-case, schema-qualified when written so (`pg_catalog.pg_sleep`). */
  readonly functions: readonly string[];
  /**
   * Every operator name PostgreSQL looks up for the statement (written, or implied by IN, CASE,
   * NULLIF, IS DISTINCT FROM, JOIN USING, BETWEEN, ORDER BY … USING), schema-qualified when written
   * so (`OPERATOR(public.+)`); absent when none. The engine checks unqualified ones, and unqualified
   * built-in function names, against the overloads the catalog has (docs/security.md, class 125).
   */
  readonly operators?: readonly string[];
  /**
   * Names written as a field of a row value (`t.name`, `(row).name`): PostgreSQL reads such a name
   * as a call name(t) when the row has no column so named (functional notation, PostgreSQL docs
   * 8.16.5); absent when none. The engine checks them against the catalog's functions (class 125).
   */
  readonly fields?: readonly string[];
  /**
   * Type names the statement writes (casts, typed literals, column definition lists), the last part
   * of each; absent when none. The engine checks them against the types whose input runs code outside
   * pg_catalog, a domain's CHECK (docs/security.md, class 225).
   */
  readonly types?: readonly string[];
  /** Set when the statement could not be parsed; such statements are always denied. */
  readonly parseError?: string;
  /** 0-based character position of the parse error in the submitted text, as PostgreSQL reports it. */
  readonly parseErrorPosition?: number;
  /** Settings the statement visibly changes (SET, set_config …); absent when none. */
  readonly settings?: readonly SettingChange[];
  /** Prepared statements and cursors the statement creates, uses or removes; absent when none. */
  readonly sessionObjects?: readonly SessionObjectRef[];
  /** For PREPARE, EXECUTE and DEALLOCATE: the prepared statement's name (`*` for DEALLOCATE ALL). */
  readonly preparedName?: string;
  /**
   * For SAVEPOINT, RELEASE and ROLLBACK TO: the savepoint's name as PostgreSQL reads it. The engine
   * follows the savepoints to record which statements a transaction kept (docs/recording.md).
   */
  readonly savepoint?: string;
  /** COMMIT AND CHAIN, ROLLBACK AND CHAIN: a new transaction starts as this one ends. */
  readonly chain?: true;
  /**
   * The statement creates or names a temporary relation (CREATE TEMP …, SELECT INTO TEMP, a name in
   * pg_temp): the session then has names other sessions do not, which its unqualified names reach
   * first (docs/security.md, class 66).
   */
  readonly temporary?: true;
  /**
   * A function the statement calls writes, locks or administers something given as its argument (a
   * sequence by name, an index, a large object, a backend, other sessions: `setval`, `pg_notify`,
   * `pg_advisory_lock`…) rather than a table in `tables`: a policy rule restricted to tables cannot
   * tell where that effect lands (docs/security.md, class 101).
   */
  readonly untargeted?: true;
  /**
   * A function the statement calls returns data stored outside the tables in `tables` (a large object,
   * other sessions' statement texts, a sequence's state): a policy rule restricted to tables does not
   * grant that read (docs/security.md, class 103).
   */
  readonly readsElsewhere?: true;
  /**
   * The PostgreSQL major version the statement needs to be read as the classifier (PostgreSQL 18's
   * grammar) read it; absent when any supported release reads it so. An older server reads SQL/JSON
   * syntax as calls of user functions so named, a newer built-in as a user's function or column, and
   * RETURNING's `old`/`new` as FROM items (docs/security.md, class 115).
   */
  readonly sinceMajor?: number;
  /**
   * The relations an INSERT, UPDATE, DELETE or MERGE (also nested in a CTE) writes, as named; absent
   * when none. Used to tell which of a statement's relations fire triggers and rules (class 113).
   */
  readonly targets?: readonly TableRef[];
  /**
   * For each call of a function that acts on a relation given as its argument (`setval`, `nextval`,
   * `currval`, `pg_sequence_last_value`, index maintenance): the argument's text when it is a string
   * constant (as `regclass` reads it), or null when it is not (class 113).
   */
  readonly relationArgs?: readonly (string | null)[];
  /**
   * Relations the statement reaches without naming them, as the engine resolved them in the catalog
   * (a view's base tables, partitions and inheritance children or parents, a sequence's owner, tables a
   * foreign key cascades to). Deny and review rules restricted to tables match them (class 113).
   */
  readonly reaches?: readonly TableRef[];
  /**
   * The statement may reach relations Gatehouse cannot place (a trigger or rule of a written table, a
   * relation argument that is not a constant, VACUUM of every table, a catalog that did not answer):
   * every deny or review rule restricted to tables whose categories it has matches it (class 113).
   */
  readonly reachesUnknown?: true;
  /**
   * The relations a write reaches that an allow rule restricted to tables must also name to grant it
   * (class 129): a view's or rule's base relations, a sequence's or index's owner, tables a foreign key
   * cascades to, as the catalog gives them. Not the partitions or inheritance children of a written
   * parent (its own rows), nor its parents, nor a sequence its column default advances.
   */
  readonly grantReaches?: readonly TableRef[];
  /**
   * What the write reaches could not be read from the catalog (it did not answer, DDL or hidden code
   * ran in this transaction, a relation argument is not a constant): no allow rule restricted to
   * tables grants its categories beyond read, transaction and session (class 129).
   */
  readonly grantReachUnknown?: true;
  /** sqlcommenter-style key/value pairs found in comments (prompt lineage); not used for policy. */
  readonly comments?: Readonly<Record<string, string>>;
}

/** The result of classifying a whole submitted string (which may hold several statements). */
export interface SqlClassification {
  readonly statements: readonly SqlStatement[];
  /** Set when the whole text failed to parse, or parsed to zero statements from non-empty input. */
  readonly parseError?: string;
  /** 0-based character position of the parse error, when the parser gave one. */
  readonly parseErrorPosition?: number;
}

/** A classifier for one SQL dialect. Pure and synchronous once initialised. */
export interface SqlClassifier {
  classify(text: string): SqlClassification;
  /**
   * classify() for a text a client sent: a long one may be classified away from the event loop, in
   * turn with other owners' long texts and for a bounded time (then answered as unparsed), so that
   * one client's text never holds every other session. `owner` names the principal that sent it.
   * Short texts are answered at once, as classify() answers them.
   */
  classifyBounded(text: string, owner: string): SqlClassification | Promise<SqlClassification>;
}
