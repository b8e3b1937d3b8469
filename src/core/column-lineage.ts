// Data lineage of one SQL statement: which source columns can flow into each result column, into
// what the statement writes, into functions with lasting effects, and into its predicates. Computed by
// the SQL layer from the parse tree and the upstream catalog; the masking layer applies column rules
// to it. Pure data: no rules here (one lineage serves every masking profile).

/** A column of a relation, as the upstream catalog names it. */
export interface SourceColumn {
  readonly schema: string;
  readonly table: string;
  readonly column: string;
}

/**
 * The schema of pseudo source columns that stand for a value taken out of a JSON or hstore document
 * by key (class 190): `{ schema: JSON_KEY_SCHEMA, table: '', column: 'password' }` is the value under
 * the key `password`; column `*` is a value under a key the statement does not name (a key computed
 * at run time, or every key: `jsonb_each`, `svals`, a path wildcard). Table `#document` marks a
 * value that is such a document; no rule matches it.
 */
export const JSON_KEY_SCHEMA = '\u0001json';
export const JSON_DOCUMENT_TABLE = '#document';
export const JSON_ANY_KEY = '*';

/** What can flow into one value (a result column, a written column, a function argument). */
export interface ValueLineage {
  /**
   * Source columns whose values can reach this one (a partition's or child table's column is listed
   * with the same column of each ancestor, so a rule on the parent covers it).
   */
  readonly sources: readonly SourceColumn[];
  /** The value is one source column's value, unchanged (through aliases, subqueries, CTEs, views). */
  readonly direct: boolean;
  /** A whole-row value of one base relation, unchanged (its fields can be masked one by one). */
  readonly row?: boolean;
  /** Why Gatehouse cannot tell what flows in (an unseen function body, an unresolved relation…). */
  readonly unproven?: string;
}

/** A value the statement hands to something whose effect outlives it (a volatile function, a file). */
export interface ValueSink {
  /** What receives it, for messages: `set_config()`, `a server file`. */
  readonly what: string;
  readonly lineage: ValueLineage;
}

/** A value the statement writes into a column (INSERT, UPDATE, MERGE, CREATE TABLE AS, SELECT INTO). */
export interface ColumnWrite {
  /** The column written, under each name a rule could give it (empty for a table not created yet). */
  readonly targets: readonly SourceColumn[];
  /** For messages: `public.orders.order_no`, `a new table`. */
  readonly label: string;
  readonly lineage: ValueLineage;
}

/**
 * Source columns whose values decide whether something in the statement fails: an operator, function
 * or cast that can raise an error on them (`1/(ascii(secret) - 119)`), or a condition deciding whether
 * something that can fail is evaluated (`CASE WHEN secret < 'm' THEN 1/0 END`). Whether a statement
 * fails is visible (its SQLSTATE too), so this is a predicate of one bit.
 */
export interface FallibleUse {
  /** For messages: `operator /`, `a cast to int4`, `a condition deciding whether … is evaluated`. */
  readonly what: string;
  readonly columns: readonly SourceColumn[];
}

export interface StatementLineage {
  /**
   * One entry per result column, in order (for PREPARE and DECLARE: the rows EXECUTE and FETCH will
   * return); undefined when the result's columns could not be lined up with the statement's.
   */
  readonly outputs: readonly ValueLineage[] | undefined;
  /** Every output together: what any column may carry when they could not be lined up. */
  readonly combined: ValueLineage;
  /** Every column the statement reads anywhere (its errors and notices may quote their values). */
  readonly reads: readonly SourceColumn[];
  /**
   * Columns the client's own predicates read: WHERE, JOIN … ON, ORDER BY, GROUP BY, HAVING, LIMIT,
   * DISTINCT ON, window definitions, at any depth (not inside views).
   */
  readonly predicates: readonly SourceColumn[];
  /** Columns whose values decide whether the statement fails (absent when none). */
  readonly failures?: readonly FallibleUse[];
  /** Code whose reads Gatehouse cannot see runs somewhere in the statement (absent when none). */
  readonly unprovenReads?: string;
  /**
   * A value Gatehouse cannot trace decides which rows come back, or how many (a WHERE, a LIMIT, the
   * arguments of a set-returning function): why (absent when none). It may be a masked value, so it
   * counts as a predicate on one.
   */
  readonly unprovenPredicate?: string;
  readonly sinks: readonly ValueSink[];
  readonly writes: readonly ColumnWrite[];
  /** Catalog relations and functions the statement reads that hold samples of column values. */
  readonly statistics: readonly string[];
}

export const NO_LINEAGE: ValueLineage = Object.freeze({ sources: Object.freeze([]), direct: false });

/** A statement that reads nothing and returns no data (SET, BEGIN, SHOW …). */
export const EMPTY_STATEMENT_LINEAGE: StatementLineage = Object.freeze({
  outputs: undefined,
  combined: NO_LINEAGE,
  reads: Object.freeze([]),
  predicates: Object.freeze([]),
  sinks: Object.freeze([]),
  writes: Object.freeze([]),
  statistics: Object.freeze([]),
});
