// Column rules every masked profile has, whether or not the operator wrote any: columns of the
// server's own catalogs and statistics views that hold other sessions' statement texts or
// credentials. No detector can judge them (a statement quotes whatever was written, split, encoded
// or in pieces; `password=hunter2` in a foreign server's options looks like nothing), so they are
// masked whole, by lineage, like a column rule (docs/security.md classes 77, 230 and 231).

import type { ColumnRule } from './column-rules.js';
import { sensitiveKeyTag } from './json-masking.js';

/** Tag of other sessions' statement texts (`pg_stat_activity.query` and the like). */
export const STATEMENT_TEXT_TAG = 'statement_text';
/** Tag of session settings' values code may have set (`pg_stat_activity.application_name`; class 268). */
export const SETTING_TAG = 'setting';
/**
 * Tag of the names of the session's prepared statements and cursors, which code may have chosen
 * (`pg_prepared_statements.name`, `pg_cursors.name`; class 269).
 */
export const SESSION_NAME_TAG = 'session_name';
/** Tag of credentials the server keeps (password verifiers, foreign servers' and mappings' options). */
export const CREDENTIAL_TAG = 'credential';

const text = (column: string): ColumnRule => ({ column, style: 'redact', tag: STATEMENT_TEXT_TAG });
const cred = (column: string): ColumnRule => ({ column, style: 'redact', tag: CREDENTIAL_TAG });
const setting = (column: string): ColumnRule => ({ column, style: 'redact', tag: SETTING_TAG });
const sessionName = (column: string): ColumnRule => ({ column, style: 'redact', tag: SESSION_NAME_TAG });

/** Checked after the profile's own rules (which win). */
export const BUILTIN_RULES: readonly ColumnRule[] = [
  // The last statement of every session, idle ones included.
  text('pg_catalog.pg_stat_activity.query'),
  // Every session's application_name, which code a statement ran without naming it (a function, a
  // DO block, a row-level security policy) can set from a masked column, as SHOW shows it (class 268).
  setting('pg_catalog.pg_stat_activity.application_name'),
  // Every setting's current value, free-text ones included (pg_settings is `secrets`, refused for
  // agents by default, so this is for people whose policy lets them read it).
  setting('pg_catalog.pg_settings.setting'),
  // The session's own prepared statements and cursors (the texts a pooled upstream session keeps
  // from an earlier client too).
  text('pg_catalog.pg_prepared_statements.statement'),
  text('pg_catalog.pg_cursors.statement'),
  // Their names: code a statement runs without naming it (a function, a DO block, a row-level
  // security policy) can PREPARE or open a cursor under a name computed from a masked column (class 269).
  sessionName('pg_catalog.pg_prepared_statements.name'),
  sessionName('pg_catalog.pg_cursors.name'),
  // An advisory lock's key (bigint: classid and objid; two int4: each), every session's: code can
  // take one keyed by eight bytes of a masked value, and session locks outlive the statement.
  sessionName('pg_catalog.pg_locks.classid'),
  sessionName('pg_catalog.pg_locks.objid'),
  // The extension's view, in whatever schema it was installed (its function is untraceable anyway).
  text('*.pg_stat_statements.query'),
  // Password verifiers (SCRAM, and the older md5 form no detector reads as a hash).
  cred('pg_catalog.pg_authid.rolpassword'),
  cred('pg_catalog.pg_shadow.passwd'),
  // Options of foreign servers, wrappers and user mappings (`password 'hunter2'`), and a
  // subscription's connection string.
  cred('pg_catalog.pg_user_mapping.umoptions'),
  cred('pg_catalog.pg_user_mappings.umoptions'),
  cred('pg_catalog.pg_foreign_server.srvoptions'),
  cred('pg_catalog.pg_foreign_data_wrapper.fdwoptions'),
  cred('pg_catalog.pg_subscription.subconninfo'),
  cred('information_schema.user_mapping_options.option_value'),
  cred('information_schema.foreign_server_options.option_value'),
  cred('information_schema.foreign_data_wrapper_options.option_value'),
  cred('information_schema._pg_user_mappings.umoptions'),
  cred('information_schema._pg_foreign_servers.srvoptions'),
  cred('information_schema._pg_foreign_data_wrappers.fdwoptions'),
];

/** Relations a built-in rule covers, by name (schema in SYSTEM, or any for the extension's view). */
const SYSTEM_SCHEMAS: ReadonlySet<string> = new Set(['pg_catalog', 'information_schema']);

/**
 * `jsonKeys` entries whose values the content detectors recognise by their form (a card number's
 * digits and Luhn check, an SSN's groups): a column of that name keeps the detectors (which mask a
 * card partially, and a number inside a record or range by its type) rather than being masked whole.
 */
const DETECTED_BY_CONTENT: ReadonlySet<string> = new Set([
  'card',
  'card_number',
  'cc_number',
  'credit_card',
  'ssn',
]);

/**
 * Columns named like a secret: a user column whose name is one of the profile's `jsonKeys` entries
 * (`password`, `api_key`, `*_secret`, `token`, `cvv`…, matched as a JSON key is), other than those
 * the detectors recognise by content, is masked whole under the tag of the entry
 * (`[REDACTED:password]`), as a JSON key or a text's field of that name is. Outside the system schemas
 * (their credentials have the rules above). One rule object per tag, so the lineage compares rules by
 * identity as it does for written ones.
 */
export function namedColumnRule(
  keyNames: readonly string[],
): (schema: string, table: string, column: string) => ColumnRule | undefined {
  const tagOf = sensitiveKeyTag(keyNames.filter((k) => !DETECTED_BY_CONTENT.has(k.toLowerCase())));
  const rules = new Map<string, ColumnRule>();
  // Per column name (null: no entry matches); bounded, as the written rules' cache is.
  const byName = new Map<string, ColumnRule | null>();
  return (schema, _table, column) => {
    if (SYSTEM_SCHEMAS.has(schema) || schema === 'pg_toast') return undefined;
    let rule = byName.get(column);
    if (rule === undefined) {
      const tag = tagOf(column);
      rule = tag === undefined ? null : (rules.get(tag) ?? Object.freeze({ column: `*.*.${tag}`, tag }));
      if (rule !== null) rules.set(rule.tag!, rule);
      if (byName.size >= 10_000) byName.clear();
      byName.set(column, rule);
    }
    return rule ?? undefined;
  };
}
const BUILTIN_RELATIONS: ReadonlySet<string> = new Set(
  BUILTIN_RULES.map((r) => r.column.split('.')[1] as string),
);
/**
 * Functions that return what those relations show: the ones behind pg_stat_activity and
 * pg_stat_statements; pg_catalog's functions that run SQL given as text or read a relation or cursor
 * named by a string (`query_to_xml('SELECT query FROM pg_stat_activity', …)`: the name is not in the
 * parse), and logical decoding (other sessions' writes). All are untraceable for lineage, so refused
 * for agents or masked whole for people. And any function named only by OID (a fast-path call).
 */
const BUILTIN_FUNCTIONS: ReadonlySet<string> = new Set([
  'pg_stat_get_activity',
  'pg_stat_get_backend_activity',
  'pg_stat_statements',
  'pg_cursor',
  'pg_prepared_statement',
  'pg_listening_channels',
  'pg_lock_status',
  'pg_show_all_settings',
  'query_to_xml',
  'query_to_xmlschema',
  'query_to_xml_and_xmlschema',
  'table_to_xml',
  'table_to_xmlschema',
  'table_to_xml_and_xmlschema',
  'cursor_to_xml',
  'cursor_to_xmlschema',
  'schema_to_xml',
  'schema_to_xmlschema',
  'schema_to_xml_and_xmlschema',
  'database_to_xml',
  'database_to_xmlschema',
  'database_to_xml_and_xmlschema',
  'ts_stat',
  'ts_rewrite',
  'pg_logical_slot_get_changes',
  'pg_logical_slot_peek_changes',
  'pg_logical_slot_get_binary_changes',
  'pg_logical_slot_peek_binary_changes',
]);

/** What a statement names, as the classifier gives it. */
export interface NamedSources {
  readonly tables: readonly { readonly schema?: string; readonly name: string }[];
  readonly functions: readonly string[];
}

/**
 * Does the statement name a relation or function a built-in rule covers? A profile without column
 * rules traces a statement's lineage only then (the rules apply to nothing else).
 */
export function namesBuiltinSource(s: NamedSources): boolean {
  for (const t of s.tables) {
    const name = t.name.toLowerCase();
    if (!BUILTIN_RELATIONS.has(name)) continue;
    if (name === 'pg_stat_statements' || t.schema === undefined || SYSTEM_SCHEMAS.has(t.schema.toLowerCase()))
      return true;
  }
  for (const f of s.functions) {
    if (f.startsWith('oid:')) return true;
    const name = f.slice(f.lastIndexOf('.') + 1).toLowerCase();
    if (BUILTIN_FUNCTIONS.has(name)) return true;
  }
  return false;
}

/** Tag of a value taken out of a JSON or hstore document under a key the statement does not name. */
export const JSON_KEY_TAG = 'json_key';

/**
 * The rule of a value taken out of a JSON or hstore document by key (docs/security.md class 190):
 * under a key the profile's jsonKeys names (`password`, `*_secret`…), the tag of that entry, as the
 * value is masked inside the document; under a key the statement does not name (`*`: computed at run
 * time, or every key, as `jsonb_each` gives them), masked whole as `json_key`. One rule object per tag.
 */
export function jsonKeyRule(keyNames: readonly string[]): (key: string) => ColumnRule | undefined {
  const tagOf = sensitiveKeyTag(keyNames);
  const rules = new Map<string, ColumnRule>();
  const ruleOf = (tag: string): ColumnRule => {
    let r = rules.get(tag);
    if (r === undefined) {
      r = Object.freeze({ column: `*.*.${tag}`, tag });
      if (rules.size < 10_000) rules.set(tag, r);
    }
    return r;
  };
  return (key) => {
    if (key === '*') return ruleOf(JSON_KEY_TAG);
    const tag = tagOf(key);
    return tag === undefined ? undefined : ruleOf(tag);
  };
}
