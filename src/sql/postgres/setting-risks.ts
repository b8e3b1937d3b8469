// Which run-time settings (GUCs) a session may change as ordinary `session` work, and which are
// `privilege` or `admin`. An allow-list: a setting not named here is `admin` (fail closed).
import type { SqlCategory } from '../../core/sql-statement.js';

/**
 * Settings that change only how this session formats, plans, times out or labels its work. Chosen from
 * PostgreSQL 18's user-settable (PGC_USERSET) parameters; `search_path` is here for `SET` because it is
 * routine for drivers and ORMs, but it can shadow unqualified names (see docs/sql-taxonomy.md), so it is
 * kept out of the `set_config()` list below and its `SET` gets its own kind, `set search_path`.
 */
const ORDINARY_SETTINGS: ReadonlySet<string> = new Set([
  // client connection defaults, formatting and locale
  'application_name',
  'client_encoding',
  'client_min_messages',
  'datestyle',
  'intervalstyle',
  'timezone',
  'timezone_abbreviations',
  'extra_float_digits',
  'bytea_output',
  'xmlbinary',
  'xmloption',
  'lc_monetary',
  'lc_numeric',
  'lc_time',
  'default_text_search_config',
  // pinned by the engine (pinned-settings.ts): only their pinned value gets this far
  'standard_conforming_strings',
  'backslash_quote',
  'escape_string_warning',
  'quote_all_identifiers',
  'gin_fuzzy_search_limit',
  'search_path',
  // timeouts and transaction defaults
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'idle_session_timeout',
  'transaction_timeout',
  'default_transaction_isolation',
  'default_transaction_read_only',
  'default_transaction_deferrable',
  'transaction_isolation',
  'transaction_read_only',
  'transaction_deferrable',
  'synchronous_commit',
  'check_function_bodies',
  'exit_on_error',
  // resource use and planner tuning
  'work_mem',
  'hash_mem_multiplier',
  'maintenance_work_mem',
  'temp_buffers',
  'effective_cache_size',
  'effective_io_concurrency',
  'maintenance_io_concurrency',
  'io_combine_limit',
  'default_statistics_target',
  'constraint_exclusion',
  'cursor_tuple_fraction',
  'from_collapse_limit',
  'join_collapse_limit',
  'plan_cache_mode',
  'recursive_worktable_factor',
  'random_page_cost',
  'seq_page_cost',
  'cpu_tuple_cost',
  'cpu_index_tuple_cost',
  'cpu_operator_cost',
  'parallel_setup_cost',
  'parallel_tuple_cost',
  'min_parallel_table_scan_size',
  'min_parallel_index_scan_size',
  'max_parallel_workers_per_gather',
  'max_parallel_maintenance_workers',
  'parallel_leader_participation',
  'jit',
  'jit_above_cost',
  'jit_inline_above_cost',
  'jit_optimize_above_cost',
  'geqo',
  'geqo_threshold',
  'geqo_effort',
  'geqo_pool_size',
  'geqo_generations',
  'geqo_selection_bias',
  'geqo_seed',
  'enable_async_append',
  'enable_bitmapscan',
  'enable_distinct_reordering',
  'enable_gathermerge',
  'enable_group_by_reordering',
  'enable_hashagg',
  'enable_hashjoin',
  'enable_incremental_sort',
  'enable_indexonlyscan',
  'enable_indexscan',
  'enable_material',
  'enable_memoize',
  'enable_mergejoin',
  'enable_nestloop',
  'enable_parallel_append',
  'enable_parallel_hash',
  'enable_partition_pruning',
  'enable_partitionwise_aggregate',
  'enable_partitionwise_join',
  'enable_presorted_aggregate',
  'enable_self_join_elimination',
  'enable_seqscan',
  'enable_sort',
  'enable_tidscan',
  // storage defaults for objects this session creates
  'default_table_access_method',
  'default_tablespace',
  'default_toast_compression',
  'temp_tablespaces',
  'gin_pending_list_limit',
  'vacuum_cost_delay',
  'vacuum_cost_limit',
  'vacuum_cost_page_hit',
  'vacuum_cost_page_miss',
  'vacuum_cost_page_dirty',
  'vacuum_buffer_usage_limit',
  // keep-alives of this connection
  'tcp_keepalives_idle',
  'tcp_keepalives_interval',
  'tcp_keepalives_count',
  'tcp_user_timeout',
  'client_connection_check_interval',
]);

// Not listed, so `admin` (refused for agents by the default policy) because they change what a
// statement means while its text stays the same: transform_null_equals (`x = NULL` becomes
// `x IS NULL`), array_nulls (whether '{NULL}' holds a NULL), session_replication_role (turns off
// triggers and foreign keys), row_security, and every custom `prefix.name` setting.

/** Settings that change who the session acts as. */
const IDENTITY_SETTINGS: ReadonlySet<string> = new Set(['role', 'session_authorization']);

/**
 * The category of changing `name` (case-insensitive, as PostgreSQL compares setting names) with SET or
 * RESET: `privilege` for the role settings, `session` for the allow-list, `admin` for anything else
 * (superuser-only settings such as session_replication_role and allow_system_table_mods, logging and
 * auditing settings, library loading, and every custom `prefix.name` setting, which row-level security
 * policies often read).
 */
export function settingCategory(name: string): SqlCategory {
  const lower = name.toLowerCase();
  if (IDENTITY_SETTINGS.has(lower)) return 'privilege';
  return ORDINARY_SETTINGS.has(lower) ? 'session' : 'admin';
}

/**
 * The category of `set_config(name, …)` with a constant name. Same as SET, except `search_path`:
 * through set_config it is `admin`, because a policy cannot tell it apart from other calls by kind.
 */
export function setConfigCategory(name: string): SqlCategory {
  const lower = name.toLowerCase();
  if (lower === 'search_path') return 'admin';
  return settingCategory(lower);
}

/**
 * Settings that change what a statement's text means (how literals, names and NULL comparisons are
 * read, and who runs it) or what it computes. An approval is bound to their values, and an impact
 * preview runs under them; settings that change only planning or timeouts are left out, so a
 * client's incidental settings do not void an approval. Output formats count: the cast of a float,
 * a bytea or a reg* value to text, quote_ident() and format('%I'), and xmlelement() of a bytea print
 * the value as the session prints it, so `WHERE r::text = '0.1'` matches other rows under another
 * extra_float_digits (docs/security.md, class 63); gin_fuzzy_search_limit caps the rows a GIN index
 * scan returns. The pinned settings (pinned-settings.ts) cannot vary, so they are not listed.
 */
export const MEANING_SETTINGS: ReadonlySet<string> = new Set([
  'datestyle',
  'intervalstyle',
  'timezone',
  'timezone_abbreviations',
  'search_path',
  'transform_null_equals',
  'array_nulls',
  'default_text_search_config',
  'lc_monetary',
  'lc_numeric',
  'lc_time',
  'xmloption',
  'role',
  'session_authorization',
  'session_replication_role',
  'row_security',
  'extra_float_digits',
  'bytea_output',
  'xmlbinary',
  'quote_all_identifiers',
  'gin_fuzzy_search_limit',
]);

/**
 * A custom `prefix.name` setting: an application's (`app.tenant`, which row-level security policies
 * and functions read with current_setting) or an extension's. What it changes Gatehouse cannot know,
 * so each is bound to an approval as the listed ones are (docs/security.md, class 71).
 */
export function isCustomSetting(name: string): boolean {
  return name.includes('.');
}

/** Whether changing `name` may change what a statement means or computes (MEANING_SETTINGS, custom ones). */
export function isMeaningSetting(name: string): boolean {
  const lower = name.toLowerCase();
  return MEANING_SETTINGS.has(lower) || isCustomSetting(lower);
}

/** The settings among `all` (lower-case names) that change meaning, sorted by name. */
export function meaningSettings(all: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(all).sort()) {
    const lower = name.toLowerCase();
    if (isMeaningSetting(lower)) out[lower] = all[name]!;
  }
  return out;
}

/**
 * Built-in settings whose value can hold a credential: a replication connection string with its
 * password, and commands run by the server (which may carry keys). Readable by superusers and
 * pg_read_all_settings, which the gateway's upstream role may be.
 */
const SECRET_BUILTIN_SETTINGS: ReadonlySet<string> = new Set([
  'primary_conninfo',
  'ssl_passphrase_command',
  'archive_command',
  'restore_command',
  'archive_cleanup_command',
  'recovery_end_command',
]);

/**
 * Whether reading the value of setting `name` (SHOW, current_setting) is a read of stored secrets
 * (category `secrets`, docs/security.md class 112): every custom `prefix.name` setting, whose value
 * a deployment may keep in `ALTER DATABASE … SET app.jwt_secret` or postgresql.conf and Gatehouse
 * cannot tell from a tenant id; `all` (SHOW ALL lists them); and the built-ins above. Other built-in
 * settings (server_version, search_path, transaction_isolation…) are read freely, as drivers do.
 */
export function isSecretSettingRead(name: string): boolean {
  const lower = name.toLowerCase();
  return lower === 'all' || isCustomSetting(lower) || SECRET_BUILTIN_SETTINGS.has(lower);
}
