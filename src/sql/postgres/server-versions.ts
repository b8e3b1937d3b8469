// What PostgreSQL releases before the parser's (18) read differently in the same text. Gatehouse
// parses every statement with PostgreSQL 18's grammar; an upstream of an older major reads some of
// that text as something else, without a syntax error (docs/security.md, class 115):
// - SQL/JSON constructors and functions (16 and 17) are, to an older server, calls of whatever
//   function of that name its search path finds: `JSON_ARRAY(1, 2)` ran a user's `json_array(int, int)`
//   on PostgreSQL 15 while Gatehouse saw a constructor that runs no code;
// - a function PostgreSQL 18 ships but PostgreSQL 15 does not (`any_value`, `uuidv7`, `SYSTEM_USER`,
//   which 15 reads as a column of that name) is, to the older server, a user's function or a column.
// The walker notes the release a statement needs (SqlStatement.sinceMajor); the engine refuses a
// statement that needs a newer server than the connection's (src/engines/postgres/client-connection.ts).

/** Parse-tree nodes whose syntax an older server reads as a plain function call, by the release that added them. */
export const NODE_SINCE_MAJOR: Readonly<Record<string, number>> = Object.freeze({
  JsonArrayConstructor: 16,
  JsonArrayQueryConstructor: 16,
  JsonObjectConstructor: 16,
  JsonArrayAgg: 16,
  JsonObjectAgg: 16,
  JsonIsPredicate: 16,
  JsonFuncExpr: 17,
  JsonParseExpr: 17,
  JsonScalarExpr: 17,
  JsonSerializeExpr: 17,
  JsonTable: 17,
  MergeSupportFunc: 17,
});

/**
 * Functions in PostgreSQL 18's pg_catalog that PostgreSQL 15's lacks (the 18.4 list in
 * builtin-function-names.ts less `SELECT proname FROM pg_proc WHERE oid < 16384` on 15.20). Which of
 * 16, 17 or 18 added each is not recorded here, so each counts as 18: on 16 and 17 a call of one is
 * refused even where that release has it (a refusal, never a wrong reading).
 */
const ABSENT_FROM_15: ReadonlySet<string> = new Set(
  `
  any_value any_value_transfn array_agg_array_combine array_agg_array_deserialize
  array_agg_array_serialize array_agg_combine array_agg_deserialize array_agg_serialize
  array_append_support array_prepend_support array_reverse array_sample array_shuffle array_sort
  array_subscript_handler_support binary_upgrade_add_sub_rel_state
  binary_upgrade_logical_slot_has_caught_up binary_upgrade_replorigin_advance btboolskipsupport
  btcharskipsupport btint2skipsupport btint4skipsupport btint8skipsupport btoidskipsupport bytea
  bytea_larger bytea_smaller casefold crc32 crc32c date_add date_skipsupport date_subtract
  elem_contained_by_range_support erf erfc gamma generate_series_numeric_support
  generate_series_timestamp_support gist_translate_cmptype_common has_largeobject_privilege
  hashbool hashboolextended hashbytea hashbyteaextended hashcid hashcidextended hashdate
  hashdateextended hashxid hashxid8 hashxid8extended hashxidextended icu_unicode_version
  interval_avg_accum interval_avg_accum_inv interval_avg_combine interval_avg_deserialize
  interval_avg_serialize interval_sum json_agg_strict json_agg_strict_transfn
  json_object_agg_strict json_object_agg_strict_transfn json_object_agg_unique
  json_object_agg_unique_strict json_object_agg_unique_strict_transfn
  json_object_agg_unique_transfn jsonb_agg_strict jsonb_agg_strict_transfn jsonb_object_agg_strict
  jsonb_object_agg_strict_transfn jsonb_object_agg_unique jsonb_object_agg_unique_strict
  jsonb_object_agg_unique_strict_transfn jsonb_object_agg_unique_transfn
  jsonb_populate_record_valid lgamma pg_available_wal_summaries pg_basetype
  pg_clear_attribute_stats pg_clear_relation_stats pg_column_toast_chunk_id pg_get_acl pg_get_aios
  pg_get_loaded_modules pg_get_sequence_data pg_get_shmem_allocations_numa pg_get_wait_events
  pg_get_wal_summarizer_state pg_input_error_info pg_input_is_valid pg_log_standby_snapshot
  pg_ls_summariesdir pg_numa_available pg_restore_attribute_stats pg_restore_relation_stats
  pg_split_walfile_name pg_stat_get_backend_io pg_stat_get_backend_subxact pg_stat_get_backend_wal
  pg_stat_get_checkpointer_buffers_written pg_stat_get_checkpointer_num_performed
  pg_stat_get_checkpointer_num_requested pg_stat_get_checkpointer_num_timed
  pg_stat_get_checkpointer_restartpoints_performed
  pg_stat_get_checkpointer_restartpoints_requested pg_stat_get_checkpointer_restartpoints_timed
  pg_stat_get_checkpointer_slru_written pg_stat_get_checkpointer_stat_reset_time
  pg_stat_get_checkpointer_sync_time pg_stat_get_checkpointer_write_time
  pg_stat_get_db_conflict_logicalslot pg_stat_get_db_parallel_workers_launched
  pg_stat_get_db_parallel_workers_to_launch pg_stat_get_io pg_stat_get_lastscan
  pg_stat_get_total_analyze_time pg_stat_get_total_autoanalyze_time
  pg_stat_get_total_autovacuum_time pg_stat_get_total_vacuum_time
  pg_stat_get_tuples_newpage_updated pg_stat_get_xact_tuples_newpage_updated
  pg_stat_reset_backend_stats pg_sync_replication_slots pg_timezone_abbrevs_abbrevs
  pg_timezone_abbrevs_zone pg_wal_summary_contents random_normal range_contains_elem_support
  range_sortsupport record_larger record_smaller string_agg_combine string_agg_deserialize
  string_agg_serialize system_user timestamp_skipsupport timestamptz_hash
  timestamptz_hash_extended to_bin to_oct to_regtypemod unicode_assigned unicode_version
  uuid_extract_timestamp uuid_extract_version uuid_skipsupport uuidv4 uuidv7
  window_cume_dist_support window_ntile_support window_percent_rank_support xmltext
`
    .trim()
    .split(/\s+/),
);

/**
 * RETURNING's OLD and NEW (18): `RETURNING old.card` reads the row before the change there; to 17 and
 * earlier `old` is any FROM item so named (or an error). A RETURNING clause with options, or one that
 * names a column through `old` or `new`, needs 18.
 */
export function returningSinceMajor(clause: Readonly<Record<string, unknown>>): number {
  const options = clause['options'];
  if (Array.isArray(options) && options.length > 0) return 18;
  return namesOldOrNew(clause['exprs']) ? 18 : 0;
}

function namesOldOrNew(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(namesOldOrNew);
  if (typeof value !== 'object' || value === null) return false;
  const ref = (value as Record<string, unknown>)['ColumnRef'] as { fields?: unknown } | undefined;
  if (ref !== undefined && Array.isArray(ref.fields) && ref.fields.length > 1) {
    const first = (ref.fields[0] as { String?: { sval?: unknown } } | undefined)?.String?.sval;
    if (typeof first === 'string' && (first.toLowerCase() === 'old' || first.toLowerCase() === 'new'))
      return true;
  }
  for (const key in value) if (namesOldOrNew((value as Record<string, unknown>)[key])) return true;
  return false;
}

/** The release a call of this function needs to be the built-in Gatehouse decided, or 0 for any. */
export function functionSinceMajor(names: readonly string[]): number {
  if (names.length > 2) return 0;
  if (names.length === 2 && names[0]!.toLowerCase() !== 'pg_catalog') return 0;
  return ABSENT_FROM_15.has(names[names.length - 1]!.toLowerCase()) ? 18 : 0;
}

/**
 * The major version in a server's `server_version` ParameterStatus (`15.20 (Debian 15.20-0+deb12u1)`,
 * `18.4`, `9.6.24`: 9), or 0 when it does not start with a number (then every statement that needs a
 * release is refused).
 */
export function serverMajor(serverVersion: string | undefined): number {
  const m = /^(\d+)/.exec(serverVersion ?? '');
  return m ? Number(m[1]) : 0;
}
