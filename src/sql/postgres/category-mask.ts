// A set of SQL categories as a bit mask, so a tree walk can collect them without allocating.
// Order of bits is SQL_CATEGORIES order; converting back yields that documented order.
import { SQL_CATEGORIES, type SqlCategory } from '../../core/sql-statement.js';

export type CategoryMask = number;

const BITS = new Map<SqlCategory, number>(SQL_CATEGORIES.map((category, index) => [category, 1 << index]));

/** The bit for one category. */
export function bit(category: SqlCategory): CategoryMask {
  return BITS.get(category)!;
}

/** The mask holding all of `categories`. */
export function maskOf(...categories: SqlCategory[]): CategoryMask {
  let mask = 0;
  for (const category of categories) mask |= bit(category);
  return mask;
}

const cache = new Map<CategoryMask, readonly SqlCategory[]>();

/** The categories in `mask`, in SQL_CATEGORIES order, as a frozen (shared) array. */
export function categoriesOf(mask: CategoryMask): readonly SqlCategory[] {
  let list = cache.get(mask);
  if (list === undefined) {
    list = Object.freeze(SQL_CATEGORIES.filter((category) => (mask & bit(category)) !== 0));
    cache.set(mask, list);
  }
  return list;
}
