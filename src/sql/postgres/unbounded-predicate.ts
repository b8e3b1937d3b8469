// Decides whether an UPDATE/DELETE/MERGE condition may match every row of its target (`write-unbounded`).
// Conservative for accidents, not proof against intent: only conditions that ignore the row count.
import { isObject, unwrap } from './parse-tree.js';

/**
 * True when `condition` is absent, or does not depend on the row: no column reference anywhere in it
 * (`true`, `1 = 1`, `'a' = 'a'`, `NOT false`, `$1`, `random() < 0.5`, `(SELECT true)`), or an OR with
 * such a branch, or an AND whose every branch is such. `WHERE CURRENT OF c` is one row. Conditions that
 * read a column but still match everything (`id = id`, `id IS NOT NULL`) are not caught (see docs).
 */
export function mayMatchEveryRow(condition: unknown): boolean {
  if (condition === undefined || condition === null) return true;
  if (unwrap(condition, 'CurrentOfExpr') !== undefined) return false;
  const bool = unwrap(condition, 'BoolExpr');
  if (bool !== undefined) {
    const args = Array.isArray(bool['args']) ? bool['args'] : [];
    switch (bool['boolop']) {
      case 'OR_EXPR':
        return args.some(mayMatchEveryRow);
      case 'AND_EXPR':
        return args.every(mayMatchEveryRow);
      default:
        return !referencesColumn(condition);
    }
  }
  return !referencesColumn(condition);
}

/** Whether any ColumnRef occurs in the subtree (iterative: trees can be thousands of levels deep). */
function referencesColumn(root: unknown): boolean {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (Array.isArray(value)) {
      for (const item of value) stack.push(item);
    } else if (isObject(value)) {
      for (const key in value) {
        if (key === 'ColumnRef') return true;
        stack.push(value[key]);
      }
    }
  }
  return false;
}
