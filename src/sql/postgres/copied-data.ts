// Relations and functions through which a statement reads copies of other tables' column values
// that PostgreSQL keeps outside those tables: the planner's statistics (most common values,
// histogram bounds, extended statistics' MCV lists) and TOAST tables (a table's long values, in
// chunks). Pure: it reads names the classifier found; docs/security.md, class 174.

import type { TableRef } from '../../core/sql-statement.js';

/** System relations that hold samples of any table's column values (PostgreSQL docs 53.51, 54.27). */
const STATISTICS_RELATIONS: ReadonlySet<string> = new Set([
  'pg_stats',
  'pg_stats_ext',
  'pg_stats_ext_exprs',
  'pg_statistic',
  'pg_statistic_ext_data',
]);

/** Functions that decode such samples (pg_mcv_list_items reads an extended statistics MCV list). */
const STATISTICS_FUNCTIONS: ReadonlySet<string> = new Set(['pg_mcv_list_items']);

/** A TOAST table or its index, as initdb and CREATE TABLE name them (`pg_toast_<oid>[_index]`). */
const TOAST_NAME = /^pg_toast_\d+(?:_index)?$/;

/** A schema that holds TOAST tables: `pg_toast`, and a session's `pg_toast_temp_<n>`. */
const TOAST_SCHEMA = /^pg_toast(?:_temp_\d+)?$/;

/**
 * Whether a statement naming `tables` and calling `functions` (as the classifier gives them) reads
 * copies of column values of tables it does not name: which tables, only the catalog and the rows
 * read could say, so the engine and policy treat it as reaching every user table and reading data
 * kept elsewhere.
 */
export function readsCopiedData(tables: readonly TableRef[], functions: readonly string[]): boolean {
  for (const t of tables) {
    if (t.schema !== undefined && TOAST_SCHEMA.test(t.schema)) return true;
    if (TOAST_NAME.test(t.name)) return true;
    if ((t.schema === undefined || t.schema === 'pg_catalog') && STATISTICS_RELATIONS.has(t.name))
      return true;
  }
  for (const f of functions) {
    const parts = f.split('.');
    const name = parts[parts.length - 1]!;
    const schema = parts.length > 1 ? parts[parts.length - 2] : undefined;
    if ((schema === undefined || schema === 'pg_catalog') && STATISTICS_FUNCTIONS.has(name)) return true;
  }
  return false;
}
