// Categories that calling a built-in PostgreSQL function adds to a statement, wherever the call appears.
// Matched on the function's own name in any schema (a same-named user function is treated alike).
import { INFORMATION_SCHEMA_FUNCTION_NAMES, PG_CATALOG_FUNCTION_NAMES } from './builtin-function-names.js';
import { maskOf, type CategoryMask } from './category-mask.js';

const ADMIN = maskOf('admin');
const FILE = maskOf('file-and-program');
const WRITE = maskOf('write');
const HIDDEN_SQL = maskOf('procedural');

/**
 * Functions with effects beyond reading the tables a statement names. Sources: PostgreSQL 18 docs,
 * "System Administration Functions" (9.28, index maintenance included), "Large Objects" (33.4), sequence functions (9.17),
 * XML/text-search functions that run a query given as text, and the dblink/adminpack extensions.
 */
const FUNCTION_RISKS: ReadonlyMap<string, CategoryMask> = new Map<string, CategoryMask>([
  // server signalling, configuration reload, WAL, backups, replication (9.28)
  ...[
    'pg_cancel_backend',
    'pg_terminate_backend',
    'pg_reload_conf',
    'pg_rotate_logfile',
    // PostgreSQL 11–15's pg_catalog keeps adminpack's old names (not in 18's, so also `procedural`)
    'pg_rotate_logfile_old',
    'pg_log_backend_memory_contexts',
    'pg_promote',
    'pg_switch_wal',
    'pg_switch_xlog',
    'pg_create_restore_point',
    'pg_log_standby_snapshot',
    'pg_backup_start',
    'pg_backup_stop',
    'pg_start_backup',
    'pg_stop_backup',
    'pg_wal_replay_pause',
    'pg_wal_replay_resume',
    'pg_xlog_replay_pause',
    'pg_xlog_replay_resume',
    'pg_create_physical_replication_slot',
    'pg_create_logical_replication_slot',
    'pg_drop_replication_slot',
    'pg_copy_physical_replication_slot',
    'pg_copy_logical_replication_slot',
    'pg_replication_slot_advance',
    'pg_sync_replication_slots',
    'pg_logical_slot_get_changes',
    'pg_logical_slot_get_binary_changes',
    'pg_logical_slot_peek_changes',
    'pg_logical_slot_peek_binary_changes',
    'pg_logical_emit_message',
    'pg_replication_origin_create',
    'pg_replication_origin_drop',
    'pg_replication_origin_advance',
    'pg_replication_origin_session_setup',
    'pg_replication_origin_session_reset',
    'pg_replication_origin_xact_setup',
    'pg_replication_origin_xact_reset',
    'pg_stat_reset',
    'pg_stat_reset_shared',
    'pg_stat_reset_single_table_counters',
    'pg_stat_reset_single_function_counters',
    'pg_stat_reset_slru',
    'pg_stat_reset_replication_slot',
    'pg_stat_reset_subscription_stats',
    'pg_stat_reset_backend_stats',
    'pg_stat_statements_reset',
    'pg_import_system_collations',
    'pg_clear_attribute_stats',
    'pg_clear_relation_stats',
    'pg_restore_attribute_stats',
    'pg_restore_relation_stats',
  ].map((name): [string, CategoryMask] => [name, ADMIN]),
  // the server's file system (9.28.9 generic file access, adminpack) and server-side large object files
  ...[
    'pg_read_file',
    'pg_read_binary_file',
    'pg_read_file_old',
    'pg_stat_file',
    'pg_ls_dir',
    'pg_ls_logdir',
    'pg_ls_waldir',
    'pg_ls_archive_statusdir',
    'pg_ls_tmpdir',
    'pg_ls_logicalsnapdir',
    'pg_ls_logicalmapdir',
    'pg_ls_replslotdir',
    'pg_ls_summariesdir',
    'pg_file_write',
    'pg_file_rename',
    'pg_file_unlink',
    'pg_file_sync',
    'pg_logdir_ls',
  ].map((name): [string, CategoryMask] => [name, FILE]),
  ['lo_import', FILE | WRITE],
  ['lo_export', FILE],
  // changes to data outside any table the statement names: large objects (33.4) and sequences (9.17)
  ...[
    'lo_unlink',
    'lo_create',
    'lo_creat',
    'lo_from_bytea',
    'lo_put',
    'lo_truncate',
    'lo_truncate64',
    'lowrite',
    'nextval',
    'setval',
    // index maintenance (9.28.8): WAL-logged changes to an index's pages, which PostgreSQL does not
    // refuse in a read-only transaction (docs/security.md, class 67); a write, as VACUUM is
    'brin_summarize_new_values',
    'brin_summarize_range',
    'brin_desummarize_range',
    'gin_clean_pending_list',
  ].map((name): [string, CategoryMask] => [name, WRITE]),
  // run SQL given as a string, which the classifier cannot see: treated like a DO block
  ...[
    'query_to_xml',
    'query_to_xmlschema',
    'query_to_xml_and_xmlschema',
    'cursor_to_xml',
    'cursor_to_xmlschema',
    'table_to_xml',
    'table_to_xmlschema',
    'table_to_xml_and_xmlschema',
    'schema_to_xml',
    'schema_to_xmlschema',
    'schema_to_xml_and_xmlschema',
    'database_to_xml',
    'database_to_xmlschema',
    'database_to_xml_and_xmlschema',
    'ts_stat',
    'ts_rewrite',
  ].map((name): [string, CategoryMask] => [name, HIDDEN_SQL]),
  // advisory locks (9.28.10)
  ...[
    'pg_advisory_lock',
    'pg_advisory_lock_shared',
    'pg_advisory_xact_lock',
    'pg_advisory_xact_lock_shared',
    'pg_try_advisory_lock',
    'pg_try_advisory_lock_shared',
    'pg_try_advisory_xact_lock',
    'pg_try_advisory_xact_lock_shared',
  ].map((name): [string, CategoryMask] => [name, maskOf('lock')]),
  // a notification to other sessions, as NOTIFY (statement-rules.ts; docs/security.md, class 97)
  ['pg_notify', WRITE],
  // every setting's value, custom ones included, and postgresql.conf's, pg_hba.conf's and
  // pg_ident.conf's contents (the functions behind pg_settings, pg_file_settings, pg_hba_file_rules,
  // pg_ident_file_mappings; class 112) and a function's definition with its SET clause (proconfig;
  // class 130)
  ...[
    'pg_show_all_settings',
    'pg_show_all_file_settings',
    'pg_hba_file_rules',
    'pg_ident_file_mappings',
    'pg_get_functiondef',
  ].map((name): [string, CategoryMask] => [name, maskOf('secrets')]),
]);

/**
 * Built-in functions that return data stored outside any table a statement names: large objects
 * (33.4), other sessions' statement texts (27.2), a sequence's state (9.17; pg_get_sequence_data is
 * PostgreSQL 18's). A policy rule restricted to tables does not grant these reads (docs/security.md,
 * class 103).
 */
const READS_ELSEWHERE: ReadonlySet<string> = new Set([
  'lo_get',
  'loread',
  'pg_stat_get_activity',
  'pg_stat_get_backend_activity',
  'pg_sequence_last_value',
  'pg_get_sequence_data',
  'currval',
  'lastval',
]);

/** True when calling `name` (unqualified, lower-case) reads data outside the statement's tables. */
export function readsElsewhere(name: string): boolean {
  return READS_ELSEWHERE.has(name);
}

/** The dblink extension's functions all start so; they connect to (and run SQL on) other servers. */
const DBLINK_PREFIX = 'dblink';

/**
 * Every function name this file gives categories or marks (FUNCTION_RISKS, READS_ELSEWHERE, and the
 * dblink prefix as `dblink`), for tests that compare each call's decision in different places (an
 * EXPLAIN's query and the query itself: docs/security.md, class 170).
 */
export function riskyFunctionNames(): readonly string[] {
  return [...FUNCTION_RISKS.keys(), ...READS_ELSEWHERE, DBLINK_PREFIX];
}

/**
 * The categories calling `name` adds, given only its own (unqualified, lower-case) name. `set_config`
 * depends on its arguments and is handled by the walker; every other function is decided here.
 */
export function functionRisk(name: string): CategoryMask {
  const risk = FUNCTION_RISKS.get(name);
  if (risk !== undefined) return risk;
  return name.startsWith(DBLINK_PREFIX) ? FILE : 0;
}

const PG_CATALOG_FUNCTIONS: ReadonlySet<string> = new Set(PG_CATALOG_FUNCTION_NAMES);
const INFORMATION_SCHEMA_FUNCTIONS: ReadonlySet<string> = new Set(INFORMATION_SCHEMA_FUNCTION_NAMES);

/**
 * True when a call of `names` (as the parser gives them: `[name]`, `[schema, name]` or
 * `[catalog, schema, name]`, case as PostgreSQL folds it) reaches a function PostgreSQL itself ships:
 * an unqualified or `pg_catalog.`-qualified name that pg_catalog has, or an `information_schema.`
 * one. Anything else runs code the classifier cannot see (a user-defined or extension function, or
 * a same-named function in another schema), and is `procedural` (docs/sql-taxonomy.md).
 * An unqualified name resolves through search_path, where pg_catalog comes first unless the path
 * names it later; a user function overloading a built-in name with other argument types can still
 * win overload resolution: the PostgreSQL engine checks unqualified built-in names against the
 * catalog's overloads (engines/postgres/overloaded-builtins.ts; docs/security.md, class 125).
 */
export function isBuiltinFunction(names: readonly string[]): boolean {
  const name = names[names.length - 1];
  if (name === undefined) return false;
  if (names.length === 1) return PG_CATALOG_FUNCTIONS.has(name);
  const schema = names[names.length - 2];
  if (schema === 'pg_catalog') return PG_CATALOG_FUNCTIONS.has(name);
  if (schema === 'information_schema') return INFORMATION_SCHEMA_FUNCTIONS.has(name);
  return false;
}

/** The extensions whose installation opens the server file system, other servers or untrusted code. */
export const OUTWARD_EXTENSIONS: ReadonlySet<string> = new Set([
  'dblink',
  'postgres_fdw',
  'file_fdw',
  'adminpack',
  'plperlu',
  'plpythonu',
  'plpython2u',
  'plpython3u',
  'pltclu',
]);

/** Procedural languages that are untrusted (run code with the server's operating-system rights). */
export const UNTRUSTED_LANGUAGES: ReadonlySet<string> = new Set([
  'c',
  'plperlu',
  'plpythonu',
  'plpython2u',
  'plpython3u',
  'pltclu',
]);
