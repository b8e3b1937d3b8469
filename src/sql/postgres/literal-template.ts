// Literal templates: a text that differs from one already classified only in the digits of its integer
// constants (pgbench's `… WHERE aid = 48213`, an ORM's `… LIMIT 50`) reuses that classification
// instead of being parsed again. The simple protocol sends constants inline, so without this every
// such statement is a new text and a cache miss.
//
// Why the reuse is exact, not a guess (the client is hostile and knows this code):
// - Only texts of plain ASCII with no quote of any kind (' " `), no `$`, no backslash, no `--` or `/*`
//   are templated. In such a text PostgreSQL's scanner meets only whitespace, identifiers and
//   keywords, numbers, operators and punctuation: no string, quoted identifier, dollar quote,
//   comment, parameter or escape whose extent could depend on a digit.
// - A "literal run" is a maximal run of 1–9 ASCII digits with neither neighbour a letter, digit, `_`,
//   `$` or `.`. The scanner reads it as one integer token (nothing before it can absorb it, nothing
//   after it can extend it into a float, a hex/octal/binary or underscored number, or trailing junk)
//   and nine digits always fit an int4, so it is an ICONST whatever its digits. Two texts equal
//   outside their literal runs therefore scan to the same tokens, differing only in ICONST values,
//   and the grammar builds the same tree but for those values.
// - A template is made only when every literal run of the text it was made from is an `A_Const`
//   integer in the parse tree, at the run's offset, with the run's value. Where the grammar consumes
//   an integer itself (`float(30)` picks float8, `int[3]`, `EXPLAIN (ANALYZE 1)`, `FETCH 5`, a negated
//   `-5`), no `A_Const` starts at the run, and the text is not templated.
// - Only classifications that do not read constant values are templated: one statement of kind
//   select / insert / update / delete with no settings (the walker reads constants only for
//   settings: SET, set_config, transaction modes), no session objects, no prepared name and no
//   comments. The statement's text is always the new text's own.
// Column lineage (masking) reads some constants (LIMIT 1, ORDER BY 2) and keeps its own cache by
// exact text; it is not served from here. The differential test (literal-template.test.ts) checks
// templated results against full classification over generated texts.

import type { SqlClassification, SqlStatement } from '../../core/sql-statement.js';
import { isObject } from './parse-tree.js';

/** Stands for a literal run in a template key; never in a templatable text (a control character). */
const RUN_MARK = '\u0001';
const MAX_RUN_DIGITS = 9;
const TEMPLATED_KINDS: ReadonlySet<string> = new Set(['select', 'insert', 'update', 'delete']);

export interface LiteralRun {
  /** Offset of the first digit (UTF-16 units; the text is ASCII, so also bytes). */
  readonly at: number;
  readonly digits: string;
}

export interface TemplateKey {
  /** The text with each literal run replaced by one mark. */
  readonly key: string;
  readonly runs: readonly LiteralRun[];
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

/** Letters, digits, `_`, `$` and `.`: a character that would join a digit run next to it into another token. */
function joinsNumber(code: number): boolean {
  return (
    isDigit(code) ||
    (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x61 && code <= 0x7a) ||
    code === 0x5f ||
    code === 0x24 ||
    code === 0x2e
  );
}

/**
 * The template key of `text`, or undefined when the text may not be templated (a character outside
 * the plain set, a comment opener, a literal run longer than nine digits, or no literal run at all).
 */
export function templateKey(text: string): TemplateKey | undefined {
  const runs: LiteralRun[] = [];
  let key = '';
  let copied = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const code = text.charCodeAt(i);
    if (code >= 0x7f || (code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d)) return undefined;
    switch (code) {
      case 0x22: // "
      case 0x24: // $
      case 0x27: // '
      case 0x5c: // \
      case 0x60: // `
        return undefined;
      case 0x2d: // --
        if (text.charCodeAt(i + 1) === 0x2d) return undefined;
        continue;
      case 0x2f: // /*
        if (text.charCodeAt(i + 1) === 0x2a) return undefined;
        continue;
    }
    if (!isDigit(code)) continue;
    let end = i + 1;
    while (end < n && isDigit(text.charCodeAt(end))) end++;
    const safe =
      (i === 0 || !joinsNumber(text.charCodeAt(i - 1))) && (end === n || !joinsNumber(text.charCodeAt(end)));
    if (safe) {
      if (end - i > MAX_RUN_DIGITS) return undefined;
      runs.push({ at: i, digits: text.slice(i, end) });
      key += text.slice(copied, i) + RUN_MARK;
      copied = end;
    }
    i = end - 1;
  }
  if (runs.length === 0) return undefined;
  return { key: key + text.slice(copied), runs };
}

/** A classification that texts with the same key share, with where the statement's own text lies. */
export interface LiteralTemplate {
  readonly statement: SqlStatement;
  /** Characters before the statement's text, and after it, in every text with this key. */
  readonly before: number;
  readonly after: number;
}

/**
 * The template `classification` of `text` (whose parse tree is `tree`) gives, or undefined when it may
 * not be reused for other constants (see the header for each condition).
 */
export function makeTemplate(
  text: string,
  runs: readonly LiteralRun[],
  classification: SqlClassification,
  tree: unknown,
): LiteralTemplate | undefined {
  if (classification.parseError !== undefined || classification.statements.length !== 1) return undefined;
  const statement = classification.statements[0]!;
  if (
    !TEMPLATED_KINDS.has(statement.kind) ||
    statement.settings !== undefined ||
    statement.sessionObjects !== undefined ||
    statement.preparedName !== undefined ||
    statement.comments !== undefined ||
    statement.parseError !== undefined
  )
    return undefined;
  const before = text.indexOf(statement.text);
  if (before < 0) return undefined;
  const afterStart = before + statement.text.length;
  // Around the one statement there is only what PostgreSQL skips (whitespace, semicolons).
  if (!/^[\s;]*$/.test(text.slice(0, before)) || !/^[\s;]*$/.test(text.slice(afterStart))) return undefined;
  const first = runs[0]!;
  const last = runs[runs.length - 1]!;
  if (first.at < before || last.at + last.digits.length > afterStart) return undefined;
  const constants = integerConstants(tree);
  if (constants === undefined) return undefined;
  for (const run of runs) {
    if (constants.get(run.at) !== Number(run.digits)) return undefined;
  }
  return { statement, before, after: text.length - afterStart };
}

/** The classification of `text` from a template its key found. */
export function fromTemplate(text: string, template: LiteralTemplate): SqlClassification {
  const statement: SqlStatement = Object.freeze({
    ...template.statement,
    text: text.slice(template.before, text.length - template.after),
  });
  return Object.freeze({ statements: Object.freeze([statement]) });
}

/**
 * Offset → value of every integer `A_Const` in a libpg_query JSON tree (`{"ival":{}}` is a zero);
 * undefined when one appears without a numeric location.
 */
function integerConstants(tree: unknown): Map<number, number> | undefined {
  const out = new Map<number, number>();
  const stack: unknown[] = [tree];
  while (stack.length > 0) {
    const value = stack.pop();
    if (Array.isArray(value)) {
      for (const item of value) stack.push(item);
      continue;
    }
    if (!isObject(value)) continue;
    for (const k in value) {
      const child = value[k];
      if (k === 'A_Const' && isObject(child) && isObject(child['ival'])) {
        const location = child['location'];
        const ival = child['ival']['ival'];
        if (typeof location !== 'number') return undefined;
        const v = ival === undefined ? 0 : ival;
        if (typeof v !== 'number') return undefined;
        // Two constants at one offset would make the check ambiguous: refuse the template.
        if (out.has(location)) return undefined;
        out.set(location, v);
      }
      stack.push(child);
    }
  }
  return out;
}
