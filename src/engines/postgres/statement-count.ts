// How many statements a simple Query holds at least, counted without parsing it, so that a Query of
// far more statements than listeners.postgres.maxStatementsPerQuery is refused before it is parsed
// (docs/security.md, class 169); the bound itself is checked again on the classification. Pure.
//
// The count is a lower bound of what PostgreSQL's grammar reads in a text that parses: it counts a
// semicolon only where PostgreSQL's lexer reads one outside every string, quoted identifier,
// comment and parenthesis, after something that is not empty (the grammar drops empty statements),
// and it stops counting at anything it does not read exactly so: an unterminated string or comment,
// or the word ATOMIC (a `BEGIN ATOMIC … END` body holds statements of its own, each ended by a
// semicolon). Reading too little only leaves the decision to the count after parsing; reading a
// string where the server reads none could only make the count smaller. A text that does not parse
// is refused whatever the count.

/** PostgreSQL's ident_start ([A-Za-z\200-\377_]); in UTF-16, every code unit from 0x80 up. */
function identStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c >= 0x80;
}

/** PostgreSQL's ident_cont: ident_start, digits and `$`. */
function identCont(c: number): boolean {
  return identStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x24;
}

/** PostgreSQL's `space`: [ \t\n\r\f\v]. */
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

const QUOTE = 0x27;
const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const DOLLAR = 0x24;

/**
 * At least how many statements `text` holds, counting no further than `stopAt + 1` (enough to tell
 * it is past `stopAt`) and reading no further than `maxChars` characters (a statement cut there is
 * not counted): the cost is bounded, whatever the text.
 */
export function statementsAtLeast(
  text: string,
  stopAt = Number.POSITIVE_INFINITY,
  maxChars = text.length,
): number {
  const end = Math.min(text.length, maxChars);
  let n = 0;
  let depth = 0;
  let content = false;
  let i = 0;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    const next = i + 1 < end ? text.charCodeAt(i + 1) : -1;
    if (c === 0x3b /* ; */) {
      if (depth === 0 && content) {
        n++;
        content = false;
        if (n > stopAt) return n;
      }
      i++;
      continue;
    }
    if (c === 0x2d /* - */ && next === 0x2d) {
      // A comment to the end of the line.
      i += 2;
      while (i < end && text.charCodeAt(i) !== 0x0a && text.charCodeAt(i) !== 0x0d) i++;
      continue;
    }
    if (c === 0x2f /* / */ && next === 0x2a /* * */) {
      // A comment, nested as PostgreSQL nests them.
      let nest = 1;
      i += 2;
      while (i < end && nest > 0) {
        const a = text.charCodeAt(i);
        const b = i + 1 < end ? text.charCodeAt(i + 1) : -1;
        if (a === 0x2f && b === 0x2a) {
          nest++;
          i += 2;
        } else if (a === 0x2a && b === 0x2f) {
          nest--;
          i += 2;
        } else i++;
      }
      if (nest > 0) return n;
      continue;
    }
    content = true;
    if (c === 0x28 /* ( */) {
      depth++;
      i++;
    } else if (c === 0x29 /* ) */) {
      if (depth > 0) depth--;
      i++;
    } else if (c === QUOTE) {
      const after = quoted(text, i + 1, end, QUOTE, false);
      if (after < 0) return n;
      i = after;
    } else if (c === DQUOTE) {
      const after = quoted(text, i + 1, end, DQUOTE, false);
      if (after < 0) return n;
      i = after;
    } else if ((c === 0x45 || c === 0x65) /* E e */ && next === QUOTE) {
      const after = quoted(text, i + 2, end, QUOTE, true);
      if (after < 0) return n;
      i = after;
    } else if (c === DOLLAR) {
      const delimiter = dollarDelimiter(text, i, end);
      if (delimiter === undefined) i++;
      else {
        const close = text.indexOf(delimiter, i + delimiter.length);
        if (close < 0 || close + delimiter.length > end) return n;
        i = close + delimiter.length;
      }
    } else if (identStart(c)) {
      // A word, whole (a `$` or a quote inside or after it belongs to it, or starts a new token).
      const start = i;
      while (i < end && identCont(text.charCodeAt(i))) i++;
      if (i - start === 6 && text.slice(start, i).toLowerCase() === 'atomic') return n;
    } else i++;
  }
  // A last statement without its semicolon counts, unless the text was cut inside it.
  if (content && end === text.length) n++;
  return n;
}

/**
 * The index after the closing quote of a string or quoted identifier whose text starts at `from`
 * (a doubled quote stands for one; with `escapes`, as in E'…', a backslash takes the next
 * character); -1 when it does not end.
 */
function quoted(text: string, from: number, end: number, quote: number, escapes: boolean): number {
  let i = from;
  while (i < end) {
    const c = text.charCodeAt(i);
    if (escapes && c === BACKSLASH) {
      i += 2;
      continue;
    }
    if (c === quote) {
      if (i + 1 < end && text.charCodeAt(i + 1) === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return -1;
}

/** The dollar-quote delimiter (`$$`, `$tag$`) that starts at `i`, or undefined (`$1`, a lone `$`). */
function dollarDelimiter(text: string, i: number, end: number): string | undefined {
  let j = i + 1;
  if (j < end && identStart(text.charCodeAt(j))) {
    j++;
    while (j < end && identCont(text.charCodeAt(j)) && text.charCodeAt(j) !== DOLLAR) j++;
  }
  if (j < end && text.charCodeAt(j) === DOLLAR) return text.slice(i, j + 1);
  return undefined;
}
