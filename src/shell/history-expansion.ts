// History expansion in a line typed at an interactive bash prompt: before bash parses a typed line it
// replaces `!!`, `!-2`, `!str`, `!#`, word designators and modifiers (`!!:1:t`, `!$:s/a/b/`) and a
// leading `^old^new^` with text from earlier lines, then runs the result. What runs is then not the
// text the classifier was given: `echo !!:1:t` after `echo 'a/;touch x;#'` runs `echo ;touch x;#'`.
// This finds where bash (5.x, `set -H`, the interactive default) would expand, erring towards yes.
// It must not say no where bash expands; it may say yes where bash would not.

/** Characters after `!` that bash never expands (history_no_expand_chars, bash's own exceptions). */
const NO_EXPAND_AFTER = new Set([' ', '\t', '\n', '\r', '=']);

type Quote = 'none' | 'single' | 'double';

/**
 * The text of the first history expansion bash may perform on `line` (`!!:1:t`, `^a^b`), or
 * undefined when it performs none. Each physical line of a line typed over several is expanded as
 * readline reads it; whether its quoting carries over from the line before is bash's to say, so each
 * is read both ways.
 */
export function historyExpansionIn(line: string): string | undefined {
  // Quick substitution: `^old^new^` as the line's first character is `!!:s^old^new^`.
  if (line.startsWith('^')) return line.slice(0, 40);
  let carried: Quote = 'none';
  for (const physical of line.split('\n')) {
    if (physical.startsWith('^')) return physical.slice(0, 40);
    const fresh = scan(physical, 'none');
    if (fresh.found !== undefined) return fresh.found;
    const cont = scan(physical, carried);
    if (cont.found !== undefined) return cont.found;
    carried = cont.end;
  }
  return undefined;
}

function scan(line: string, start: Quote): { found?: string; end: Quote } {
  let single = start === 'single';
  let double = start === 'double';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (single) {
      if (c === "'") single = false;
      continue;
    }
    if (c === '\\') {
      i++; // `\!` is not expanded; a backslash quotes whatever follows
      continue;
    }
    if (c === "'" && !double) {
      single = true;
      continue;
    }
    if (c === '"') {
      double = !double;
      continue;
    }
    if (c !== '!') continue;
    const next = line[i + 1];
    if (next === undefined || NO_EXPAND_AFTER.has(next)) continue;
    // `!` just before the closing quote of a double-quoted string is not expanded (bash(1), QUOTING).
    if (double && next === '"') continue;
    // bash_history_inhibit_expansion: `$!`, `${!name}`, and `[!…]` in a bracket expression.
    const prev = line[i - 1];
    // (bash tests `i > 1` for `$!`: at the start of a line, `$!!` is `$` and `!!`.)
    if (prev === '$' && i > 1) continue;
    if (prev === '{' && line[i - 2] === '$' && line.includes('}', i + 1)) continue;
    if (prev === '[' && line.includes(']', i + 1)) continue;
    return { found: line.slice(i, i + 40).split(/\s/, 1)[0], end: 'none' };
  }
  return { end: single ? 'single' : double ? 'double' : 'none' };
}
