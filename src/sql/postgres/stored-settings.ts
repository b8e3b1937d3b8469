// Which catalog reads return the values of settings the server stores (ALTER DATABASE/ROLE … SET,
// postgresql.conf): category `secrets` (docs/security.md, class 112). Decided on the parse: the
// relations a statement names, and for the role views the columns it can reach.
import type { TableRef } from '../../core/sql-statement.js';
import { isObject } from './parse-tree.js';

/**
 * Relations whose rows are settings and their values (or pg_hba.conf's options, LDAP bind passwords
 * among them, and pg_ident.conf's user name maps).
 */
const SETTINGS_RELATIONS: ReadonlySet<string> = new Set([
  'pg_settings',
  'pg_file_settings',
  'pg_db_role_setting',
  'pg_hba_file_rules',
  'pg_ident_file_mappings',
]);

/**
 * Role views with a column of the role's stored settings (`rolconfig`, `useconfig`), and pg_proc with
 * a function's (`proconfig`). psql's `\du` and `\df` and most tools read them without that column,
 * so only a statement that can reach it counts.
 */
const ROLE_VIEWS: ReadonlySet<string> = new Set(['pg_roles', 'pg_user', 'pg_shadow', 'pg_authid', 'pg_proc']);
// pg_proc.proconfig: a function's own SET clause (`CREATE FUNCTION … SET app.key = '…'`, class 130).
const CONFIG_COLUMNS: ReadonlySet<string> = new Set(['rolconfig', 'useconfig', 'setconfig', 'proconfig']);

function inCatalog(t: TableRef, names: ReadonlySet<string>): boolean {
  return (t.schema === undefined || t.schema === 'pg_catalog') && names.has(t.name);
}

/**
 * True when the statement (its tables, and its parse tree `stmt`) reads stored settings' values: it
 * names a settings relation, or a role view and reaches its settings column: by name (`r.rolconfig`,
 * `rolconfig(r)`, `(r).rolconfig`), through `*`, or as a whole row (`SELECT r FROM pg_roles r`,
 * `to_json(pg_roles)`). A whole-row reference is any one-name column reference that is also the name
 * or alias of a relation in the statement, which may flag a whole row of another table (fail closed).
 */
export function readsStoredSettings(tables: readonly TableRef[], stmt: unknown): boolean {
  if (tables.some((t) => inCatalog(t, SETTINGS_RELATIONS))) return true;
  if (!tables.some((t) => inCatalog(t, ROLE_VIEWS))) return false;
  const scan: Scan = { star: false, config: false, relations: new Set(), bare: new Set() };
  visit(stmt, scan);
  if (scan.star || scan.config) return true;
  for (const name of scan.bare) if (scan.relations.has(name)) return true;
  return false;
}

interface Scan {
  star: boolean;
  config: boolean;
  /** Names and aliases of relations and subqueries. */
  readonly relations: Set<string>;
  /** One-name column references. */
  readonly bare: Set<string>;
}

function visit(node: unknown, scan: Scan): void {
  if (Array.isArray(node)) {
    for (const item of node) visit(item, scan);
    return;
  }
  if (!isObject(node)) return;
  for (const key in node) {
    const value = node[key];
    if (key === 'A_Star') scan.star = true;
    else if (key === 'sval' && typeof value === 'string' && CONFIG_COLUMNS.has(value)) scan.config = true;
    else if (key === 'relname' && typeof value === 'string') scan.relations.add(value);
    else if (key === 'aliasname' && typeof value === 'string') scan.relations.add(value);
    else if (key === 'ctename' && typeof value === 'string') scan.relations.add(value);
    else if (key === 'ColumnRef' && isObject(value)) {
      const fields = value['fields'];
      if (Array.isArray(fields) && fields.length === 1) {
        const only: unknown = fields[0];
        const str = isObject(only) ? only['String'] : undefined;
        if (isObject(str) && typeof str['sval'] === 'string') scan.bare.add(str['sval']);
      }
    }
    if (typeof value === 'object' && value !== null) visit(value, scan);
  }
}
