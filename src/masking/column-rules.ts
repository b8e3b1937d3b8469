// Column rules: which result columns are masked whole (or scanned with chosen detectors), matched by
// "schema.table.column" patterns with `*` wildcards. Pure; the engine resolves column names itself.

import type { MaskStyle } from './finding.js';

export interface ColumnRule {
  /** `schema.table.column`, `table.column` (any schema) or `column` (any table); `*` matches any run. */
  readonly column: string;
  /** Style for this column (default: the masking style). */
  readonly style?: MaskStyle;
  /** Name in `[REDACTED:<tag>]` and in counts (default `column`). */
  readonly tag?: string;
  /**
   * When given, the column is scanned with only these detectors (and `ssn` then also accepts the bare
   * 9-digit form) instead of being masked whole.
   */
  readonly detectors?: readonly string[];
}

type PartMatcher = (s: string) => boolean;

function partMatcher(pattern: string): PartMatcher {
  const p = pattern.toLowerCase();
  if (p === '*') return () => true;
  if (!p.includes('*')) return (s) => s.toLowerCase() === p;
  const re = new RegExp(
    `^${p
      .split('*')
      .map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    's',
  );
  return (s) => re.test(s.toLowerCase());
}

const CACHE_LIMIT = 10_000;

/**
 * Returns a function giving the first rule that matches a column (names compared case-insensitively,
 * as PostgreSQL folds unquoted identifiers), or undefined. Results are cached per column.
 */
export function createColumnMatcher<R extends { readonly column: string }>(
  rules: readonly R[],
): (schema: string, table: string, column: string) => R | undefined {
  const compiled = rules.map((rule) => {
    const parts = rule.column.split('.');
    while (parts.length < 3) parts.unshift('*');
    const [s, t, c] = parts.map(partMatcher) as [PartMatcher, PartMatcher, PartMatcher];
    return { rule, s, t, c };
  });
  const cache = new Map<string, R | undefined>();
  return (schema, table, column) => {
    const key = `${schema}\u0000${table}\u0000${column}`;
    if (cache.has(key)) return cache.get(key);
    let found: R | undefined;
    for (const r of compiled) {
      if (r.c(column) && r.t(table) && r.s(schema)) {
        found = r.rule;
        break;
      }
    }
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(key, found);
    return found;
  };
}
