// Which catalog reads return the values of settings the server stores (ALTER DATABASE/ROLE … SET,
// postgresql.conf): category `secrets` (docs/security.md, classes 112 and 171). Decided on the parse:
// the relations a statement names, and for the role views the columns it can reach under any name.
import type { TableRef } from '../../core/sql-statement.js';
import { isObject, type NodeBody } from './parse-tree.js';

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

/**
 * The other columns of the role views and pg_proc (PostgreSQL 13 to 18, system columns included).
 * `r.name` where `r` is a row of one of them and `name` is none of these is a call of `name` with the
 * whole row (functional notation, PostgreSQL docs 8.16.5: `r.to_json` is `to_json(r)`).
 */
const ROW_COLUMNS: ReadonlySet<string> = new Set(
  [
    'oid tableoid ctid xmin xmax cmin cmax',
    // pg_roles, pg_authid (rolcatupdate: before 9.5)
    'rolname rolsuper rolinherit rolcreaterole rolcreatedb rolcanlogin rolreplication rolconnlimit',
    'rolpassword rolvaliduntil rolbypassrls rolcatupdate',
    // pg_user, pg_shadow
    'usename usesysid usecreatedb usesuper userepl usebypassrls passwd valuntil usecatupd',
    // pg_proc (proisagg, proiswindow: before 11; protransform: before 12)
    'proname pronamespace proowner prolang procost prorows provariadic prosupport prokind prosecdef',
    'proleakproof proisstrict proretset provolatile proparallel pronargs pronargdefaults prorettype',
    'proargtypes proallargtypes proargmodes proargnames proargdefaults protrftypes prosrc probin',
    'prosqlbody proacl proisagg proiswindow protransform',
  ].flatMap((line) => line.split(' ')),
);

function inCatalog(t: TableRef, names: ReadonlySet<string>): boolean {
  return (t.schema === undefined || t.schema === 'pg_catalog') && names.has(t.name);
}

/**
 * True when the statement (its tables, and its parse tree `stmt`) reads stored settings' values: it
 * names a settings relation, or a role view and can reach its settings column, under its own name or
 * another:
 * - by name (`r.rolconfig`, `rolconfig(r)`, `(r).rolconfig`, `COPY pg_proc (proconfig)`);
 * - through `*` (`TABLE pg_roles` too), or a COPY of a whole relation (`COPY pg_proc TO STDOUT`);
 * - as a whole row (`SELECT r FROM pg_roles r`, `to_json(pg_roles)`): any one-name column reference
 *   that is also the name or alias of a relation in the statement, which may flag a whole row of
 *   another table (fail closed);
 * - as a whole row handed to a function in functional notation (`r.to_json`, `j.to_jsonb` of a join
 *   alias): a field of a role view's row, or of a join's over one, that is none of their columns;
 * - under a column alias list, which renames columns by position, so that the column's name appears
 *   nowhere (`pg_roles AS r(c1, …, c12)`): an alias list on a role view, on a join, or on a subquery
 *   or CTE over one (docs/security.md, class 171).
 */
export function readsStoredSettings(tables: readonly TableRef[], stmt: unknown): boolean {
  if (tables.some((t) => inCatalog(t, SETTINGS_RELATIONS))) return true;
  if (!tables.some((t) => inCatalog(t, ROLE_VIEWS))) return false;
  const scan: Scan = {
    reaches: false,
    relations: new Set(),
    rows: new Set(),
    bare: new Set(),
    fields: [],
  };
  visit(stmt, undefined, scan);
  if (scan.reaches) return true;
  for (const name of scan.bare) if (scan.relations.has(name)) return true;
  for (const [row, field] of scan.fields) if (scan.rows.has(row) && !ROW_COLUMNS.has(field)) return true;
  return false;
}

interface Scan {
  /** A `*`, a settings column's name, a COPY of a whole relation, or a column alias list that renames one. */
  reaches: boolean;
  /** Names and aliases of relations, subqueries and CTEs. */
  readonly relations: Set<string>;
  /** Names and aliases of role views and of joins over one: a row of them may carry a settings column. */
  readonly rows: Set<string>;
  /** One-name column references. */
  readonly bare: Set<string>;
  /** `row.field` of column references of two names or more. */
  readonly fields: [string, string][];
}

/**
 * Visits `node` (the body of a node of type `type`, or a list, or a wrapped node) and returns whether
 * a role view is named inside it.
 */
function visit(node: unknown, type: string | undefined, scan: Scan): boolean {
  if (Array.isArray(node)) {
    let seen = false;
    for (const item of node) if (visit(item, undefined, scan)) seen = true;
    return seen;
  }
  if (!isObject(node)) return false;
  let seen = false;
  if (type === 'RangeVar') seen = rangeVar(node, scan);
  else if (type === 'ColumnRef') columnRef(node, scan);
  else if (type === 'CopyStmt' && isObject(node['relation']) && !Array.isArray(node['attlist']))
    scan.reaches = true;
  for (const key in node) {
    const value = node[key];
    if (key === 'A_Star') scan.reaches = true;
    else if (key === 'sval' && typeof value === 'string' && CONFIG_COLUMNS.has(value)) scan.reaches = true;
    else if (key === 'relname' && typeof value === 'string') scan.relations.add(value);
    else if (key === 'aliasname' && typeof value === 'string') scan.relations.add(value);
    else if (key === 'ctename' && typeof value === 'string') scan.relations.add(value);
    if (typeof value !== 'object' || value === null) continue;
    // A key that starts with a capital letter wraps a node of that type (`{"RangeVar": {…}}`); the
    // `relation` of INSERT, UPDATE, DELETE, MERGE and COPY is a bare RangeVar.
    const childType = /^[A-Z]/.test(key) ? key : key === 'relation' ? 'RangeVar' : undefined;
    if (visit(value, childType, scan)) seen = true;
  }
  if (type === 'JoinExpr' || type === 'RangeSubselect' || type === 'CommonTableExpr') {
    const alias = type === 'CommonTableExpr' ? undefined : aliasOf(node);
    if (type === 'JoinExpr' && alias?.name !== undefined && seen) scan.rows.add(alias.name);
    const renames =
      type === 'CommonTableExpr' ? Array.isArray(node['aliascolnames']) : alias?.renames === true;
    if (renames && seen) scan.reaches = true;
  }
  return seen;
}

function aliasOf(node: NodeBody): { name: string | undefined; renames: boolean } | undefined {
  const alias = node['alias'];
  if (!isObject(alias)) return undefined;
  const name = alias['aliasname'];
  const colnames = alias['colnames'];
  return {
    name: typeof name === 'string' ? name : undefined,
    renames: Array.isArray(colnames) && colnames.length > 0,
  };
}

/** Records a relation; true when it is a role view. */
function rangeVar(node: NodeBody, scan: Scan): boolean {
  const name = node['relname'];
  if (typeof name !== 'string') return false;
  scan.relations.add(name);
  const schema = node['schemaname'];
  if (!ROLE_VIEWS.has(name) || (schema !== undefined && schema !== 'pg_catalog')) return false;
  const alias = aliasOf(node);
  scan.rows.add(name);
  if (alias?.name !== undefined) scan.rows.add(alias.name);
  if (alias?.renames === true) scan.reaches = true;
  return true;
}

function columnRef(node: NodeBody, scan: Scan): void {
  const fields = node['fields'];
  if (!Array.isArray(fields)) return;
  const names = fields.map((f) => {
    const str = isObject(f) ? f['String'] : undefined;
    return isObject(str) && typeof str['sval'] === 'string' ? str['sval'] : undefined;
  });
  const last = names[names.length - 1];
  if (names.length === 1 && last !== undefined) scan.bare.add(last);
  const row = names[names.length - 2];
  if (names.length >= 2 && last !== undefined && row !== undefined) scan.fields.push([row, last]);
}
