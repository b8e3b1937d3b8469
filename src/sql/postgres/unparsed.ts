// The classification of a text Gatehouse could not read as SQL (a parse error, a text too long or not
// valid, a parser thread that failed or ran out of time): the whole text as one `unknown` statement
// with its reason, which every policy denies (DESIGN: what cannot be parsed is not forwarded). One
// shape for the in-thread classifier and the off-thread one.

import type { SqlCategory, SqlClassification, SqlStatement } from '../../core/sql-statement.js';

const UNKNOWN: readonly SqlCategory[] = Object.freeze(['unknown']);
const NO_NAMES: readonly never[] = Object.freeze([]);

/** The whole text as one statement that could not be parsed: always `unknown`, always denied. */
export function unparsed(text: string, message: string, position?: number): SqlClassification {
  const at = position === undefined ? {} : { parseErrorPosition: position };
  const statement: SqlStatement = Object.freeze({
    text: text.trim(),
    kind: 'unparsed',
    categories: UNKNOWN,
    tables: NO_NAMES,
    functions: NO_NAMES,
    parseError: message,
    ...at,
  });
  return Object.freeze({ statements: Object.freeze([statement]), parseError: message, ...at });
}
