// One rule per PostgreSQL statement node type: its kind and the categories it adds (docs/sql-taxonomy.md).
// A statement type with no rule here is `unknown`; rules must visit every child they do not inspect.
import type { SqlCategory } from '../../core/sql-statement.js';
import { maskOf, type CategoryMask } from './category-mask.js';
import { OUTWARD_EXTENSIONS, UNTRUSTED_LANGUAGES } from './function-risks.js';
import { objectTypeWords, ON_RELATION_OBJECT_TYPES, RELATION_OBJECT_TYPES } from './object-types.js';
import {
  constantValue,
  defElemIsTrue,
  defElems,
  defElemString,
  isObject,
  stringList,
  unwrap,
  type NodeBody,
} from './parse-tree.js';
import { isSecretSettingRead, settingCategory } from './setting-risks.js';
import type { FieldSet, TreeWalker } from './tree-walker.js';
import { mayMatchEveryRow } from './unbounded-predicate.js';

/** Adds the statement's categories, visits its children, and returns its kind. */
export type StatementRule = (walker: TreeWalker, body: NodeBody) => string;

const NONE: FieldSet = new Set();
const fields = (...names: string[]): FieldSet => new Set(names);
const m = maskOf;

/** A rule for statements that add fixed categories and need no scope for their children. */
function simple(type: string, kind: string, categories: readonly SqlCategory[]): StatementRule {
  const mask = m(...categories);
  const replaceable = REPLACEABLE.has(type);
  return (walker, body) => {
    walker.add(mask | (replaceable ? replaceMask(body) : 0));
    walker.visitFields(type, body, NONE);
    return kind;
  };
}

/** Statement types among the simple ones that have a CREATE OR REPLACE form. */
const REPLACEABLE: ReadonlySet<string> = new Set(['ViewStmt', 'RuleStmt', 'CreateTransformStmt']);

/** `CREATE OR REPLACE …` also changes an existing object. */
function replaceMask(body: NodeBody): CategoryMask {
  return body['replace'] === true ? m('ddl-alter') : 0;
}

// ---------------------------------------------------------------- queries and data changes

const SELECT_SKIP = fields('withClause');
const select: StatementRule = (walker, body) => {
  walker.add(m('read'));
  if (isObject(body['intoClause'])) walker.add(m('write', 'ddl-create'));
  const mark = walker.enterWith(body['withClause']);
  walker.visitFields('SelectStmt', body, SELECT_SKIP);
  walker.leaveScope(mark);
  // SELECT … INTO creates a table; in a UNION the INTO sits on the leftmost branch.
  if (walker.atTopLevel && walker.has(m('ddl-create'))) return 'select into';
  return Array.isArray(body['valuesLists']) && body['op'] === 'SETOP_NONE' ? 'values' : 'select';
};

/** INSERT … VALUES: the VALUES list is not a read (a subquery inside it still is). */
function isPlainValues(select: NodeBody | undefined): select is NodeBody {
  return (
    select !== undefined &&
    Array.isArray(select['valuesLists']) &&
    select['withClause'] === undefined &&
    select['op'] === 'SETOP_NONE'
  );
}

/** A write into pg_settings runs set_config() on every row it reaches: any setting may change. */
function noteSettingsWrite(walker: TreeWalker, relation: unknown): void {
  if (!isObject(relation) || relation['relname'] !== 'pg_settings') return;
  const schema = relation['schemaname'];
  if (schema === undefined || schema === 'pg_catalog') walker.noteSetting({ name: '*', via: 'pg_settings' });
}

/** UPDATE, DELETE and INSERT into a system catalog, or into pg_settings (which calls set_config). */
function catalogTargetMask(relation: unknown): CategoryMask {
  if (!isObject(relation)) return 0;
  const name = relation['relname'];
  const schema = relation['schemaname'];
  if (typeof name !== 'string') return 0;
  const inCatalog = schema === undefined ? name.startsWith('pg_') : schema === 'pg_catalog';
  return inCatalog || schema === 'information_schema' ? m('admin') : 0;
}

const DML_SKIP = fields('withClause', 'relation', 'selectStmt');
const insert: StatementRule = (walker, body) => {
  walker.add(m('write') | catalogTargetMask(body['relation']));
  noteSettingsWrite(walker, body['relation']);
  if (isObject(body['returningClause'])) walker.add(m('read'));
  const mark = walker.enterWith(body['withClause']);
  walker.addRelation(body['relation']);
  const source = unwrap(body['selectStmt'], 'SelectStmt');
  if (isPlainValues(source)) walker.visitFields('SelectStmt', source, NONE);
  else walker.visit(body['selectStmt']);
  walker.visitFields('InsertStmt', body, DML_SKIP);
  walker.leaveScope(mark);
  return 'insert';
};

function updateOrDelete(type: 'UpdateStmt' | 'DeleteStmt', kind: string, readFrom: string): StatementRule {
  return (walker, body) => {
    walker.add(m('write') | catalogTargetMask(body['relation']));
    noteSettingsWrite(walker, body['relation']);
    if (mayMatchEveryRow(body['whereClause'])) walker.add(m('write-unbounded'));
    const from = body[readFrom];
    if (isObject(body['returningClause']) || (Array.isArray(from) && from.length > 0)) walker.add(m('read'));
    const mark = walker.enterWith(body['withClause']);
    walker.addRelation(body['relation']);
    walker.visitFields(type, body, DML_SKIP);
    walker.leaveScope(mark);
    return kind;
  };
}

/**
 * MERGE changes every target row a WHEN MATCHED action reaches when the join condition ignores the
 * row, and every unmatched target row for WHEN NOT MATCHED BY SOURCE (no join condition bounds it).
 */
function mergeIsUnbounded(body: NodeBody): boolean {
  const joinUnbounded = mayMatchEveryRow(body['joinCondition']);
  const clauses = Array.isArray(body['mergeWhenClauses']) ? body['mergeWhenClauses'] : [];
  return clauses.some((clause) => {
    const when = unwrap(clause, 'MergeWhenClause');
    if (when === undefined) return true;
    const command = when['commandType'];
    if (command !== 'CMD_UPDATE' && command !== 'CMD_DELETE') return false;
    if (!mayMatchEveryRow(when['condition'])) return false;
    if (when['matchKind'] === 'MERGE_WHEN_NOT_MATCHED_BY_SOURCE') return true;
    return when['matchKind'] === 'MERGE_WHEN_MATCHED' && joinUnbounded;
  });
}

const merge: StatementRule = (walker, body) => {
  walker.add(m('write', 'read') | catalogTargetMask(body['relation']));
  noteSettingsWrite(walker, body['relation']);
  if (mergeIsUnbounded(body)) walker.add(m('write-unbounded'));
  const mark = walker.enterWith(body['withClause']);
  walker.addRelation(body['relation']);
  walker.visitFields('MergeStmt', body, DML_SKIP);
  walker.leaveScope(mark);
  return 'merge';
};

/** COPY: FROM is a write, TO a read; a server file or PROGRAM (anything but STDIN/STDOUT) is file-and-program. */
const copy: StatementRule = (walker, body) => {
  walker.add(m(body['is_from'] === true ? 'write' : 'read'));
  if (typeof body['filename'] === 'string' || body['is_program'] === true) walker.add(m('file-and-program'));
  walker.visitFields('CopyStmt', body, NONE);
  return 'copy';
};

/**
 * EXPLAIN runs its statement only with ANALYZE; without it the inner statement is only planned: what
 * running it would do (write, DDL, lock) does not count, but what its function calls add does, since
 * the planner runs calls it can fold or estimate with (TreeWalker.addCall; docs/security.md class 170).
 */
const explain: StatementRule = (walker, body) => {
  walker.add(m('read'));
  const analyze = defElemIsTrue(defElems(body['options']).get('analyze'));
  if (analyze) walker.visit(body['query']);
  else walker.visitPlanOnly(body['query']);
  walker.visitFields('ExplainStmt', body, fields('query'));
  return analyze ? 'explain analyze' : 'explain';
};

// ---------------------------------------------------------------- session and transaction control

const TRANSACTION_KINDS: Readonly<Record<string, string>> = {
  TRANS_STMT_BEGIN: 'begin',
  TRANS_STMT_START: 'start transaction',
  TRANS_STMT_COMMIT: 'commit',
  TRANS_STMT_ROLLBACK: 'rollback',
  TRANS_STMT_SAVEPOINT: 'savepoint',
  TRANS_STMT_RELEASE: 'release savepoint',
  TRANS_STMT_ROLLBACK_TO: 'rollback to savepoint',
  TRANS_STMT_PREPARE: 'prepare transaction',
  TRANS_STMT_COMMIT_PREPARED: 'commit prepared',
  TRANS_STMT_ROLLBACK_PREPARED: 'rollback prepared',
};

/**
 * The access mode a transaction-mode list sets (BEGIN READ WRITE, SET TRANSACTION READ ONLY, SET
 * SESSION CHARACTERISTICS AS TRANSACTION …), noted as the setting it changes: `transaction_read_only`
 * (for this transaction), or `default_transaction_read_only` (for the session's next ones). Gatehouse
 * runs some sessions' reads read-only (docs/security.md) and must see every way to change that.
 */
function noteTransactionMode(walker: TreeWalker, options: unknown, scope: 'transaction' | 'session'): void {
  const mode = defElems(options).get('transaction_read_only');
  if (mode === undefined) return;
  const value = constantValue(mode['arg']);
  walker.noteSetting({
    name: scope === 'session' ? 'default_transaction_read_only' : 'transaction_read_only',
    via: walker.atTopLevel ? 'set' : 'nested',
    ...(value === undefined ? {} : { value }),
    ...(scope === 'transaction' ? { local: true } : {}),
  });
}

/**
 * Two-phase commit reaches past the session: PREPARE TRANSACTION leaves the transaction, its locks
 * held, for any session of the role to finish (it outlives this one), and COMMIT/ROLLBACK PREPARED
 * finish one that any session prepared — someone else's writes, made durable or thrown away. Not the
 * session's own transaction control: admin (docs/security.md class 69).
 */
const TWO_PHASE: ReadonlySet<string> = new Set([
  'prepare transaction',
  'commit prepared',
  'rollback prepared',
]);

const transaction: StatementRule = (walker, body) => {
  const kind = typeof body['kind'] === 'string' ? TRANSACTION_KINDS[body['kind']] : undefined;
  walker.add(kind === undefined ? m('unknown') : TWO_PHASE.has(kind) ? m('admin') : m('transaction'));
  if (kind === 'begin' || kind === 'start transaction')
    noteTransactionMode(walker, body['options'], 'transaction');
  walker.setTransactionControl(body['savepoint_name'], body['chain']);
  walker.visitFields('TransactionStmt', body, NONE);
  return kind ?? 'unknown';
};

/**
 * SET/RESET: kind `set <name>` / `reset <name>` / `reset all` so policy can single out settings such as
 * search_path; the category comes from setting-risks.ts (role settings are privilege, unknown ones admin).
 */
/** `session_authorization` reads as the SQL syntax that sets it; other settings keep their own name. */
function settingWords(name: string): string {
  return name === 'session_authorization' ? 'session authorization' : name;
}

/** Records the setting a VariableSetStmt changes (at top level, nested in a definition, or in ALTER … SET). */
/**
 * Settings whose value is a list of names (GUC_LIST_QUOTE): PostgreSQL stores each string or
 * identifier given to SET quoted as an identifier, so `SET search_path = 'a, b'` names one schema
 * `a, b` and `SET search_path = "Archive"` the schema Archive, where the same text given to
 * set_config() (or an approval's preview) would name two schemas, or archive.
 */
const LIST_QUOTE_SETTINGS: ReadonlySet<string> = new Set([
  'search_path',
  'temp_tablespaces',
  'session_preload_libraries',
  'shared_preload_libraries',
  'local_preload_libraries',
  'unix_socket_directories',
]);

/** PostgreSQL's quote_identifier(), but for keywords, which read the same quoted or not in a list. */
function quoteListName(name: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/**
 * One argument of `SET name = …` as the server stores it (flatten_set_variable_args in guc_funcs.c),
 * or undefined when Gatehouse cannot tell: a string in a list setting is quoted as an identifier,
 * and `SET TIME ZONE INTERVAL '…'` is stored as the normalised interval, not as the text written
 * (read as a time zone name, '+02:00' is two hours west, the interval two hours east).
 */
function setArgument(name: string, arg: unknown): string | undefined {
  if (unwrap(arg, 'TypeCast') !== undefined) return undefined;
  const value = constantValue(arg);
  if (value === undefined || !LIST_QUOTE_SETTINGS.has(name)) return value;
  const c = unwrap(arg, 'A_Const');
  return c !== undefined && isObject(c['sval']) ? quoteListName(value) : value;
}

function noteVariableSet(walker: TreeWalker, body: NodeBody, context: 'top' | 'alter'): void {
  const name = typeof body['name'] === 'string' ? body['name'].toLowerCase() : '?';
  const local = body['is_local'] === true;
  const via = context === 'alter' ? 'alter' : walker.atTopLevel ? 'set' : 'nested';
  switch (body['kind']) {
    case 'VAR_RESET_ALL':
      walker.noteSetting({ name: '*', via: context === 'alter' ? 'alter' : 'reset' });
      return;
    case 'VAR_RESET':
    case 'VAR_SET_DEFAULT':
      walker.noteSetting({ name, via: context === 'alter' ? 'alter' : 'reset', ...(local ? { local } : {}) });
      return;
    case 'VAR_SET_VALUE': {
      const args = Array.isArray(body['args']) ? body['args'] : [];
      const values = args.map((arg) => setArgument(name, arg));
      const known = values.every((v): v is string => v !== undefined);
      walker.noteSetting({
        name,
        via,
        ...(known ? { value: values.join(', ') } : {}),
        ...(local ? { local } : {}),
      });
      return;
    }
    case 'VAR_SET_MULTI':
      // SET TRANSACTION …, SET SESSION CHARACTERISTICS …: transaction modes; the access mode is
      // noted as the setting it changes (the others are not named settings).
      if (name === 'transaction' || name === 'session characteristics')
        noteTransactionMode(walker, body['args'], name === 'transaction' ? 'transaction' : 'session');
      return;
    default:
      // SET … FROM CURRENT and anything newer: the value is not known.
      walker.noteSetting({ name, via, ...(local ? { local } : {}) });
  }
}

const variableSet: StatementRule = (walker, body) => {
  const name = typeof body['name'] === 'string' ? body['name'].toLowerCase() : '';
  noteVariableSet(walker, body, 'top');
  let kind: string;
  switch (body['kind']) {
    case 'VAR_RESET_ALL':
      walker.add(m('session'));
      return 'reset all';
    case 'VAR_RESET':
      kind = `reset ${settingWords(name)}`;
      break;
    case 'VAR_SET_VALUE':
    case 'VAR_SET_DEFAULT':
    case 'VAR_SET_CURRENT':
      kind = `set ${settingWords(name)}`;
      break;
    case 'VAR_SET_MULTI':
      // SET TRANSACTION … and SET SESSION CHARACTERISTICS AS TRANSACTION …
      walker.visitFields('VariableSetStmt', body, NONE);
      if (name === 'transaction') {
        walker.add(m('transaction'));
        return 'set transaction';
      }
      walker.add(m(name === 'session characteristics' ? 'session' : 'unknown'));
      return `set ${name}`;
    default:
      walker.add(m('unknown'));
      return 'set';
  }
  walker.add(m(name === '' ? 'unknown' : settingCategory(name)));
  walker.visitFields('VariableSetStmt', body, NONE);
  return kind;
};

/** EXECUTE of a prepared statement; nested (CREATE TABLE AS EXECUTE, EXPLAIN EXECUTE) it hides what runs. */
const execute: StatementRule = (walker, body) => {
  walker.add(m('session'));
  walker.setPreparedName(body['name']);
  walker.noteObject({
    kind: 'prepared',
    op: 'use',
    name: typeof body['name'] === 'string' ? body['name'] : '?',
  });
  if (!walker.atTopLevel) walker.add(m('unknown'));
  walker.visitFields('ExecuteStmt', body, NONE);
  return 'execute';
};

// ---------------------------------------------------------------- definitions (DDL)

const alterTableCommandMasks: Readonly<Record<string, CategoryMask>> = {
  AT_DropColumn: m('ddl-drop'),
  AT_DropConstraint: m('ddl-drop'),
  AT_DetachPartition: m('ddl-drop'),
  AT_DetachPartitionFinalize: m('ddl-drop'),
  AT_DropIdentity: m('ddl-drop'),
  AT_ChangeOwner: m('privilege'),
  AT_EnableRowSecurity: m('privilege'),
  AT_DisableRowSecurity: m('privilege'),
  AT_ForceRowSecurity: m('privilege'),
  AT_NoForceRowSecurity: m('privilege'),
  // DISABLE TRIGGER ALL also turns off foreign-key enforcement (superuser only).
  AT_DisableTrigAll: m('admin'),
};

const alterTable: StatementRule = (walker, body) => {
  walker.add(m('ddl-alter'));
  const cmds = Array.isArray(body['cmds']) ? body['cmds'] : [];
  for (const cmd of cmds) {
    const subtype = unwrap(cmd, 'AlterTableCmd')?.['subtype'];
    if (typeof subtype === 'string') walker.add(alterTableCommandMasks[subtype] ?? 0);
  }
  walker.visitFields('AlterTableStmt', body, NONE);
  return `alter ${objectTypeWords(body['objtype'])}`;
};

/** Object types whose rename/owner/schema changes touch the whole cluster or identities. */
function objectMask(objectType: unknown): CategoryMask {
  switch (objectType) {
    case 'OBJECT_DATABASE':
    case 'OBJECT_TABLESPACE':
      return m('admin');
    case 'OBJECT_ROLE':
      return m('privilege');
    case 'OBJECT_POLICY':
      return m('privilege');
    case 'OBJECT_FDW':
    case 'OBJECT_FOREIGN_SERVER':
    case 'OBJECT_USER_MAPPING':
      return m('file-and-program');
    case 'OBJECT_SUBSCRIPTION':
    case 'OBJECT_PUBLICATION':
      return m('admin');
    default:
      return 0;
  }
}

/** Records the relation named by a qualified-name object (COMMENT ON, SECURITY LABEL ON, DROP). */
function recordObjectRelation(walker: TreeWalker, objectType: unknown, object: unknown): void {
  if (typeof objectType !== 'string') return;
  const names = stringList(object);
  if (RELATION_OBJECT_TYPES.has(objectType)) walker.addQualifiedName(names);
  else if (ON_RELATION_OBJECT_TYPES.has(objectType)) walker.addQualifiedName(names.slice(0, -1));
}

const RENAMED_RELATIONS = RELATION_OBJECT_TYPES;
const rename: StatementRule = (walker, body) => {
  const renameType = body['renameType'];
  walker.add(renameType === 'OBJECT_ROLE' ? m('privilege') : m('ddl-alter') | objectMask(renameType));
  const relation = body['relation'];
  if (typeof renameType === 'string' && !isObject(relation))
    recordObjectRelation(walker, renameType, body['object']);
  walker.visitFields('RenameStmt', body, NONE);
  // The new name is a relation too (the old one is the `relation` just visited).
  if (typeof renameType === 'string' && RENAMED_RELATIONS.has(renameType) && isObject(relation)) {
    const newName = body['newname'];
    const schema = relation['schemaname'];
    if (typeof newName === 'string')
      walker.addTable(typeof schema === 'string' ? schema : undefined, newName);
  }
  // ALTER TABLE t RENAME COLUMN / CONSTRAINT is still `alter table`.
  const kindType =
    renameType === 'OBJECT_COLUMN' || renameType === 'OBJECT_TABCONSTRAINT'
      ? body['relationType']
      : renameType;
  return `alter ${objectTypeWords(kindType)}`;
};

const drop: StatementRule = (walker, body) => {
  const removeType = body['removeType'];
  walker.add(m('ddl-drop') | (removeType === 'OBJECT_POLICY' ? m('privilege') : 0));
  const objects = Array.isArray(body['objects']) ? body['objects'] : [];
  for (const object of objects) recordObjectRelation(walker, removeType, object);
  walker.visitFields('DropStmt', body, NONE);
  return `drop ${objectTypeWords(removeType)}`;
};

const comment: StatementRule = (walker, body) => {
  walker.add(m('ddl-alter'));
  recordObjectRelation(walker, body['objtype'], body['object']);
  walker.visitFields('CommentStmt', body, NONE);
  return 'comment';
};

const securityLabel: StatementRule = (walker, body) => {
  walker.add(m('privilege'));
  recordObjectRelation(walker, body['objtype'], body['object']);
  walker.visitFields('SecLabelStmt', body, NONE);
  return 'security label';
};

/** LANGUAGE c or an untrusted language reaches the server's files and programs; SECURITY DEFINER lends rights. */
function routineOptionsMask(options: unknown): CategoryMask {
  const defs = defElems(options);
  let mask = 0;
  const language = defElemString(defs.get('language'));
  if (language !== undefined && UNTRUSTED_LANGUAGES.has(language)) mask |= m('file-and-program');
  if (defs.has('security') && defElemIsTrue(defs.get('security'))) mask |= m('privilege');
  return mask;
}

const createFunction: StatementRule = (walker, body) => {
  walker.add(m('procedural', 'ddl-create') | replaceMask(body) | routineOptionsMask(body['options']));
  walker.visitFields('CreateFunctionStmt', body, NONE);
  return body['is_procedure'] === true ? 'create procedure' : 'create function';
};

const alterFunction: StatementRule = (walker, body) => {
  walker.add(m('ddl-alter') | routineOptionsMask(body['actions']));
  walker.visitFields('AlterFunctionStmt', body, NONE);
  return `alter ${objectTypeWords(body['objtype'])}`;
};

const doBlock: StatementRule = (walker, body) => {
  walker.add(m('procedural') | routineOptionsMask(body['args']));
  walker.visitFields('DoStmt', body, NONE);
  return 'do';
};

const createTrigger: StatementRule = (walker, body) => {
  walker.add(m('procedural', 'ddl-create') | replaceMask(body));
  walker.addFunction(stringList(body['funcname']));
  walker.visitFields('CreateTrigStmt', body, fields('funcname'));
  return 'create trigger';
};

const createEventTrigger: StatementRule = (walker, body) => {
  walker.add(m('procedural', 'ddl-create'));
  walker.addFunction(stringList(body['funcname']));
  walker.visitFields('CreateEventTrigStmt', body, fields('funcname'));
  return 'create event trigger';
};

const createLanguage: StatementRule = (walker, body) => {
  walker.add(m('procedural', 'ddl-create') | replaceMask(body));
  if (body['pltrusted'] !== true) walker.add(m('file-and-program'));
  walker.visitFields('CreatePLangStmt', body, NONE);
  return 'create language';
};

const createExtension: StatementRule = (walker, body) => {
  walker.add(m('ddl-create'));
  const name = body['extname'];
  if (typeof name === 'string' && OUTWARD_EXTENSIONS.has(name.toLowerCase()))
    walker.add(m('file-and-program'));
  walker.visitFields('CreateExtensionStmt', body, NONE);
  return 'create extension';
};

const createTableAs: StatementRule = (walker, body) => {
  walker.add(m('ddl-create', 'write'));
  walker.visitFields('CreateTableAsStmt', body, NONE);
  return body['objtype'] === 'OBJECT_MATVIEW' ? 'create materialized view' : 'create table as';
};

const define: StatementRule = (walker, body) => {
  walker.add(m('ddl-create') | replaceMask(body));
  walker.visitFields('DefineStmt', body, NONE);
  return `create ${objectTypeWords(body['kind'])}`;
};

const createRole: StatementRule = (walker, body) => {
  walker.add(m('privilege'));
  walker.visitFields('CreateRoleStmt', body, NONE);
  switch (body['stmt_type']) {
    case 'ROLESTMT_USER':
      return 'create user';
    case 'ROLESTMT_GROUP':
      return 'create group';
    default:
      return 'create role';
  }
};

const alterDomain: StatementRule = (walker, body) => {
  // subtype 'X' is DROP CONSTRAINT (AlterDomainStmt in parsenodes.h)
  walker.add(m('ddl-alter') | (body['subtype'] === 'X' ? m('ddl-drop') : 0));
  walker.visitFields('AlterDomainStmt', body, NONE);
  return 'alter domain';
};

const alterOwner: StatementRule = (walker, body) => {
  walker.add(m('privilege', 'ddl-alter') | objectMask(body['objectType']));
  walker.visitFields('AlterOwnerStmt', body, NONE);
  return `alter ${objectTypeWords(body['objectType'])}`;
};

const alterObjectSchema: StatementRule = (walker, body) => {
  walker.add(m('ddl-alter'));
  walker.visitFields('AlterObjectSchemaStmt', body, NONE);
  return `alter ${objectTypeWords(body['objectType'])}`;
};

const alterObjectDepends: StatementRule = (walker, body) => {
  walker.add(m('ddl-alter'));
  walker.visitFields('AlterObjectDependsStmt', body, NONE);
  return `alter ${objectTypeWords(body['objectType'])}`;
};

/** Statements that embed a SET whose own rule must not run (ALTER SYSTEM/DATABASE/ROLE … SET). */
function settingHolder(kind: string, type: string, ...categories: SqlCategory[]): StatementRule {
  const mask = m(...categories);
  const skip = fields('setstmt');
  return (walker, body) => {
    walker.add(mask);
    const set = body['setstmt'];
    if (isObject(set)) noteVariableSet(walker, set, 'alter');
    walker.visitFields(type, body, skip);
    return kind;
  };
}

const grant: StatementRule = (walker, body) => {
  walker.add(m('privilege'));
  walker.visitFields('GrantStmt', body, NONE);
  return body['is_grant'] === true ? 'grant' : 'revoke';
};

const grantRole: StatementRule = (walker, body) => {
  walker.add(m('privilege'));
  walker.visitFields('GrantRoleStmt', body, NONE);
  return body['is_grant'] === true ? 'grant role' : 'revoke role';
};

const vacuum: StatementRule = (walker, body) => {
  // VACUUM FULL rewrites each table under an ACCESS EXCLUSIVE lock; plain VACUUM/ANALYZE only
  // update visibility data and statistics.
  const full = defElemIsTrue(defElems(body['options']).get('full'));
  walker.add(full ? m('admin', 'lock') : m('write'));
  walker.visitFields('VacuumStmt', body, NONE);
  return body['is_vacuumcmd'] === true ? 'vacuum' : 'analyze';
};

const fetch: StatementRule = (walker, body) => {
  walker.add(m('read'));
  const name = body['portalname'];
  walker.noteObject({ kind: 'cursor', op: 'use', name: typeof name === 'string' ? name : '?' });
  walker.visitFields('FetchStmt', body, NONE);
  return body['ismove'] === true ? 'move' : 'fetch';
};

/** CURSOR_OPT_HOLD in parsenodes.h: DECLARE … WITH HOLD. */
const CURSOR_OPT_HOLD = 0x0020;

const declareCursor: StatementRule = (walker, body) => {
  // The cursor's query decides the categories (read, lock for FOR UPDATE).
  const name = body['portalname'];
  const options = typeof body['options'] === 'number' ? body['options'] : 0;
  walker.noteObject({
    kind: 'cursor',
    op: 'create',
    name: typeof name === 'string' ? name : '?',
    ...((options & CURSOR_OPT_HOLD) !== 0 ? { holdable: true } : {}),
  });
  walker.visitFields('DeclareCursorStmt', body, NONE);
  return 'declare cursor';
};

const deallocate: StatementRule = (walker, body) => {
  walker.add(m('session'));
  walker.setPreparedName(body['isall'] === true ? '*' : body['name']);
  const name = body['isall'] === true || typeof body['name'] !== 'string' ? '*' : body['name'];
  walker.noteObject({ kind: 'prepared', op: 'drop', name });
  walker.visitFields('DeallocateStmt', body, NONE);
  return 'deallocate';
};

const prepare: StatementRule = (walker, body) => {
  // The prepared statement is decided now; EXECUTE reuses that decision (the engine tracks names).
  walker.add(m('session'));
  walker.setPreparedName(body['name']);
  walker.noteObject({
    kind: 'prepared',
    op: 'create',
    name: typeof body['name'] === 'string' ? body['name'] : '?',
  });
  walker.visitFields('PrepareStmt', body, NONE);
  return 'prepare';
};

/** SHOW of a custom setting, of ALL, or of a built-in that can hold a credential reads stored secrets (class 112). */
const show: StatementRule = (walker, body) => {
  walker.add(m('read'));
  const name = body['name'];
  if (typeof name !== 'string' || isSecretSettingRead(name)) walker.add(m('secrets'));
  walker.visitFields('VariableShowStmt', body, NONE);
  return 'show';
};

const SIMPLE: Readonly<Record<string, [string, ...SqlCategory[]]>> = {
  // queries
  RefreshMatViewStmt: ['refresh materialized view', 'write'],
  TruncateStmt: ['truncate', 'truncate'],
  LockStmt: ['lock', 'lock'],
  // session

  ListenStmt: ['listen', 'session'],
  UnlistenStmt: ['unlisten', 'session'],
  // A notification is read by other sessions (whatever program LISTENs: a job queue, a cache,
  // PostgREST's `reload schema`) and passes read-only transactions: a write to them, not session state
  // (docs/security.md, class 97).
  NotifyStmt: ['notify', 'write'],

  ConstraintsSetStmt: ['set constraints', 'transaction'],
  // definitions
  CreateStmt: ['create table', 'ddl-create'],
  ViewStmt: ['create view', 'ddl-create'],
  IndexStmt: ['create index', 'ddl-create'],
  CreateSchemaStmt: ['create schema', 'ddl-create'],
  CreateSeqStmt: ['create sequence', 'ddl-create'],
  AlterSeqStmt: ['alter sequence', 'ddl-alter'],
  CreateDomainStmt: ['create domain', 'ddl-create'],
  CreateEnumStmt: ['create type', 'ddl-create'],
  CreateRangeStmt: ['create type', 'ddl-create'],
  CompositeTypeStmt: ['create type', 'ddl-create'],
  AlterEnumStmt: ['alter type', 'ddl-alter'],
  AlterTypeStmt: ['alter type', 'ddl-alter'],
  AlterCollationStmt: ['alter collation', 'ddl-alter'],
  AlterOperatorStmt: ['alter operator', 'ddl-alter'],
  AlterTSConfigurationStmt: ['alter text search configuration', 'ddl-alter'],
  AlterTSDictionaryStmt: ['alter text search dictionary', 'ddl-alter'],
  CreateCastStmt: ['create cast', 'ddl-create'],
  CreateConversionStmt: ['create conversion', 'ddl-create'],
  CreateOpClassStmt: ['create operator class', 'ddl-create'],
  CreateOpFamilyStmt: ['create operator family', 'ddl-create'],
  AlterOpFamilyStmt: ['alter operator family', 'ddl-alter'],
  CreateStatsStmt: ['create statistics', 'ddl-create'],
  AlterStatsStmt: ['alter statistics', 'ddl-alter'],
  AlterExtensionStmt: ['alter extension', 'ddl-alter'],
  AlterExtensionContentsStmt: ['alter extension', 'ddl-alter'],
  ReplicaIdentityStmt: ['alter table', 'ddl-alter'],
  CreateAmStmt: ['create access method', 'ddl-create', 'admin'],
  // procedural
  CallStmt: ['call', 'procedural'],
  RuleStmt: ['create rule', 'procedural', 'ddl-create'],
  CreateTransformStmt: ['create transform', 'procedural', 'ddl-create'],
  AlterEventTrigStmt: ['alter event trigger', 'procedural', 'ddl-alter'],
  // reaching outside the database: foreign data, other servers, replication
  CreateFdwStmt: ['create foreign data wrapper', 'ddl-create', 'file-and-program'],
  AlterFdwStmt: ['alter foreign data wrapper', 'ddl-alter', 'file-and-program'],
  CreateForeignServerStmt: ['create server', 'ddl-create', 'file-and-program'],
  AlterForeignServerStmt: ['alter server', 'ddl-alter', 'file-and-program'],
  CreateForeignTableStmt: ['create foreign table', 'ddl-create', 'file-and-program'],
  CreateUserMappingStmt: ['create user mapping', 'ddl-create', 'file-and-program'],
  AlterUserMappingStmt: ['alter user mapping', 'ddl-alter', 'file-and-program'],
  DropUserMappingStmt: ['drop user mapping', 'ddl-drop', 'file-and-program'],
  ImportForeignSchemaStmt: ['import foreign schema', 'ddl-create', 'file-and-program'],
  CreateSubscriptionStmt: ['create subscription', 'ddl-create', 'admin', 'file-and-program'],
  AlterSubscriptionStmt: ['alter subscription', 'ddl-alter', 'admin', 'file-and-program'],
  DropSubscriptionStmt: ['drop subscription', 'ddl-drop', 'admin'],
  CreatePublicationStmt: ['create publication', 'ddl-create', 'admin'],
  AlterPublicationStmt: ['alter publication', 'ddl-alter', 'admin'],
  // privileges and identities
  CreatePolicyStmt: ['create policy', 'ddl-create', 'privilege'],
  AlterPolicyStmt: ['alter policy', 'ddl-alter', 'privilege'],
  AlterRoleStmt: ['alter role', 'privilege'],
  DropRoleStmt: ['drop role', 'privilege', 'ddl-drop'],
  AlterDefaultPrivilegesStmt: ['alter default privileges', 'privilege'],
  ReassignOwnedStmt: ['reassign owned', 'privilege'],
  DropOwnedStmt: ['drop owned', 'privilege', 'ddl-drop'],
  // cluster administration
  CreateTableSpaceStmt: ['create tablespace', 'ddl-create', 'admin', 'file-and-program'],
  AlterTableSpaceOptionsStmt: ['alter tablespace', 'ddl-alter', 'admin'],
  DropTableSpaceStmt: ['drop tablespace', 'ddl-drop', 'admin'],
  AlterTableMoveAllStmt: ['alter table', 'ddl-alter', 'admin'],
  CreatedbStmt: ['create database', 'ddl-create', 'admin'],
  AlterDatabaseStmt: ['alter database', 'ddl-alter', 'admin'],
  AlterDatabaseRefreshCollStmt: ['alter database', 'ddl-alter', 'admin'],
  DropdbStmt: ['drop database', 'drop-database', 'admin'],
  ClusterStmt: ['cluster', 'admin', 'lock'],
  ReindexStmt: ['reindex', 'admin'],
  CheckPointStmt: ['checkpoint', 'admin'],
  LoadStmt: ['load', 'admin', 'file-and-program'],
};

const closePortal: StatementRule = (walker, body) => {
  walker.add(m('session'));
  const name = body['portalname'];
  walker.noteObject({ kind: 'cursor', op: 'drop', name: typeof name === 'string' ? name : '*' });
  walker.visitFields('ClosePortalStmt', body, NONE);
  return 'close';
};

const discard: StatementRule = (walker, body) => {
  walker.add(m('session'));
  if (body['target'] === 'DISCARD_ALL') {
    walker.noteObject({ kind: 'prepared', op: 'drop', name: '*' });
    walker.noteObject({ kind: 'cursor', op: 'drop', name: '*' });
    walker.noteSetting({ name: '*', via: 'reset' });
  }
  walker.visitFields('DiscardStmt', body, NONE);
  return 'discard';
};

function buildRules(): Readonly<Record<string, StatementRule>> {
  const rules: Record<string, StatementRule> = {};
  for (const [type, [kind, ...categories]] of Object.entries(SIMPLE))
    rules[type] = simple(type, kind, categories);
  Object.assign(rules, {
    SelectStmt: select,
    InsertStmt: insert,
    UpdateStmt: updateOrDelete('UpdateStmt', 'update', 'fromClause'),
    DeleteStmt: updateOrDelete('DeleteStmt', 'delete', 'usingClause'),
    MergeStmt: merge,
    CopyStmt: copy,
    ExplainStmt: explain,
    TransactionStmt: transaction,
    VariableSetStmt: variableSet,
    PrepareStmt: prepare,
    ExecuteStmt: execute,
    DeallocateStmt: deallocate,
    DeclareCursorStmt: declareCursor,
    ClosePortalStmt: closePortal,
    DiscardStmt: discard,
    FetchStmt: fetch,
    VariableShowStmt: show,
    VacuumStmt: vacuum,
    AlterTableStmt: alterTable,
    RenameStmt: rename,
    DropStmt: drop,
    CommentStmt: comment,
    SecLabelStmt: securityLabel,
    CreateFunctionStmt: createFunction,
    AlterFunctionStmt: alterFunction,
    DoStmt: doBlock,
    CreateTrigStmt: createTrigger,
    CreateEventTrigStmt: createEventTrigger,
    CreatePLangStmt: createLanguage,
    CreateExtensionStmt: createExtension,
    CreateTableAsStmt: createTableAs,
    DefineStmt: define,
    CreateRoleStmt: createRole,
    AlterDomainStmt: alterDomain,
    AlterOwnerStmt: alterOwner,
    AlterObjectSchemaStmt: alterObjectSchema,
    AlterObjectDependsStmt: alterObjectDepends,
    GrantStmt: grant,
    GrantRoleStmt: grantRole,
    AlterSystemStmt: settingHolder('alter system', 'AlterSystemStmt', 'admin'),
    AlterDatabaseSetStmt: settingHolder('alter database', 'AlterDatabaseSetStmt', 'ddl-alter', 'admin'),
    AlterRoleSetStmt: settingHolder('alter role', 'AlterRoleSetStmt', 'privilege'),
  } satisfies Record<string, StatementRule>);
  return Object.freeze(rules);
}

/** The rule for each statement node type the classifier understands. */
export const STATEMENT_RULES: Readonly<Record<string, StatementRule | undefined>> = buildRules();

/** Used by tests and docs: every statement node type that has a rule. */
export function ruleTypes(): string[] {
  return Object.keys(STATEMENT_RULES).sort();
}
