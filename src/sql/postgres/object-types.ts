// Words for PostgreSQL's ObjectType enum (parsenodes.h), used to build statement kinds like `drop table`.
// Pure lookup tables: no decisions about risk are made here.

const OBJECT_TYPE_WORDS: Readonly<Record<string, string>> = {
  OBJECT_ACCESS_METHOD: 'access method',
  OBJECT_AGGREGATE: 'aggregate',
  OBJECT_AMOP: 'operator',
  OBJECT_AMPROC: 'function',
  OBJECT_ATTRIBUTE: 'attribute',
  OBJECT_CAST: 'cast',
  OBJECT_COLUMN: 'column',
  OBJECT_COLLATION: 'collation',
  OBJECT_CONVERSION: 'conversion',
  OBJECT_DATABASE: 'database',
  OBJECT_DEFAULT: 'default',
  OBJECT_DEFACL: 'default privileges',
  OBJECT_DOMAIN: 'domain',
  OBJECT_DOMCONSTRAINT: 'domain constraint',
  OBJECT_EVENT_TRIGGER: 'event trigger',
  OBJECT_EXTENSION: 'extension',
  OBJECT_FDW: 'foreign data wrapper',
  OBJECT_FOREIGN_SERVER: 'server',
  OBJECT_FOREIGN_TABLE: 'foreign table',
  OBJECT_FUNCTION: 'function',
  OBJECT_INDEX: 'index',
  OBJECT_LANGUAGE: 'language',
  OBJECT_LARGEOBJECT: 'large object',
  OBJECT_MATVIEW: 'materialized view',
  OBJECT_OPCLASS: 'operator class',
  OBJECT_OPERATOR: 'operator',
  OBJECT_OPFAMILY: 'operator family',
  OBJECT_PARAMETER_ACL: 'parameter',
  OBJECT_POLICY: 'policy',
  OBJECT_PROCEDURE: 'procedure',
  OBJECT_PUBLICATION: 'publication',
  OBJECT_PUBLICATION_NAMESPACE: 'publication',
  OBJECT_PUBLICATION_REL: 'publication',
  OBJECT_ROLE: 'role',
  OBJECT_ROUTINE: 'routine',
  OBJECT_RULE: 'rule',
  OBJECT_SCHEMA: 'schema',
  OBJECT_SEQUENCE: 'sequence',
  OBJECT_SUBSCRIPTION: 'subscription',
  OBJECT_STATISTIC_EXT: 'statistics',
  OBJECT_TABCONSTRAINT: 'constraint',
  OBJECT_TABLE: 'table',
  OBJECT_TABLESPACE: 'tablespace',
  OBJECT_TRANSFORM: 'transform',
  OBJECT_TRIGGER: 'trigger',
  OBJECT_TSCONFIGURATION: 'text search configuration',
  OBJECT_TSDICTIONARY: 'text search dictionary',
  OBJECT_TSPARSER: 'text search parser',
  OBJECT_TSTEMPLATE: 'text search template',
  OBJECT_TYPE: 'type',
  OBJECT_USER_MAPPING: 'user mapping',
  OBJECT_VIEW: 'view',
};

/** `OBJECT_MATVIEW` → `materialized view`; an unknown value gives `object`. */
export function objectTypeWords(objectType: unknown): string {
  return (typeof objectType === 'string' ? OBJECT_TYPE_WORDS[objectType] : undefined) ?? 'object';
}

/** Object types whose names are relations (they appear in `tables`). */
export const RELATION_OBJECT_TYPES: ReadonlySet<string> = new Set([
  'OBJECT_TABLE',
  'OBJECT_VIEW',
  'OBJECT_MATVIEW',
  'OBJECT_INDEX',
  'OBJECT_SEQUENCE',
  'OBJECT_FOREIGN_TABLE',
]);

/** Object types named `name ON relation`, whose qualified name list ends with the object's own name. */
export const ON_RELATION_OBJECT_TYPES: ReadonlySet<string> = new Set([
  'OBJECT_TRIGGER',
  'OBJECT_RULE',
  'OBJECT_POLICY',
  'OBJECT_TABCONSTRAINT',
  'OBJECT_COLUMN',
]);
