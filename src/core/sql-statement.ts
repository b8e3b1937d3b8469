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
  'unknown',
] as const;
export type SqlCategory = (typeof SQL_CATEGORIES)[number];

export interface TableRef {
  /** Schema as written; undefined when unqualified (resolved through search_path at run time). */
  readonly schema?: string;
  readonly name: string;
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
  /** Set when the statement could not be parsed; such statements are always denied. */
  readonly parseError?: string;
  /** For PREPARE, EXECUTE and DEALLOCATE: the prepared statement's name (`*` for DEALLOCATE ALL). */
  readonly preparedName?: string;
  /** sqlcommenter-style key/value pairs found in comments (prompt lineage); not used for policy. */
  readonly comments?: Readonly<Record<string, string>>;
}

/** The result of classifying a whole submitted string (which may hold several statements). */
export interface SqlClassification {
  readonly statements: readonly SqlStatement[];
  /** Set when the whole text failed to parse, or parsed to zero statements from non-empty input. */
  readonly parseError?: string;
}

/** A classifier for one SQL dialect. Pure and synchronous once initialised. */
export interface SqlClassifier {
  classify(text: string): SqlClassification;
}
