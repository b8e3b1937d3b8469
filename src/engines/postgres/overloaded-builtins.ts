// Which built-in function and operator names a statement uses that code outside pg_catalog is also
// defined under (docs/security.md, class 125). PostgreSQL resolves an unqualified name among every
// function or operator of that name its search_path reaches (10.2, 10.3): a user overload with other
// argument types, or the same ones in a schema searched before pg_catalog, then runs instead of the
// built-in the classifier assumed. Pure: the names come from the catalog (catalog-resolver.ts).

import { SQL_CATEGORIES, type SqlStatement } from '../../core/sql-statement.js';
import { isBuiltinFunction } from '../../sql/postgres/function-risks.js';
import type { OverloadedNames } from './catalog-resolver.js';

/** True when the statement names something an overload could take: an unqualified built-in or operator. */
export function mayBeOverloaded(st: SqlStatement): boolean {
  return (
    st.functions.some((f) => !f.includes('.') && isBuiltinFunction([f])) ||
    (st.operators ?? []).some((o) => !o.includes('.')) ||
    (st.fields ?? []).length > 0
  );
}

/**
 * The calls of the statement that may run code outside pg_catalog, as labels (`lower()`,
 * `operator +`): an unqualified built-in function name, or an unqualified operator, that such code
 * is defined under, or a row's field named as a function outside pg_catalog (`t.f`, which is f(t)
 * when t has no column f). `'every'` when the names cannot be known (the catalog did not answer, or the
 * session changed it in a way not yet committed): then every such call counts.
 */
export function overloadedCalls(st: SqlStatement, names: OverloadedNames | 'every'): string[] {
  const out: string[] = [];
  for (const f of st.functions) {
    if (f.includes('.') || !isBuiltinFunction([f])) continue;
    if (names === 'every' || names.functions.has(f)) out.push(`${f}()`);
  }
  for (const o of st.operators ?? []) {
    if (o.includes('.')) continue;
    if (names === 'every' || names.operators.has(o)) out.push(`operator ${o}`);
  }
  // t.f is f(t) when t has no column f: a field named as some function outside pg_catalog may be one.
  for (const f of st.fields ?? [])
    if (names === 'every' || names.functions.has(f))
      out.push(`.${f} (a call of function ${f} in field notation)`);
  return out;
}

/** The statement as user code: `procedural` added, in the taxonomy's order. */
export function asUserCode(st: SqlStatement): SqlStatement {
  if (st.categories.includes('procedural')) return st;
  const has = new Set([...st.categories, 'procedural']);
  return { ...st, categories: SQL_CATEGORIES.filter((c) => has.has(c)) };
}
