// Static evaluation of bash words: the value a word will have when bash runs it, when the text alone
// fixes it (quotes removed, escapes decoded), or "dynamic" when it depends on run time (expansions,
// command substitution, globs, brace expansion). Pure; never guesses a dynamic value.

import type { SyntaxNode } from './bash-parser.js';

export interface WordValue {
  /** The word's value with quoting removed; for a dynamic word, its text as written. */
  readonly value: string;
  /** The value is known only at run time (parameter/command/arithmetic expansion, process substitution). */
  readonly dynamic: boolean;
  /** Unquoted glob characters or brace expansion: bash may turn it into other words, or several. */
  readonly expands: boolean;
  /** The word's source text. */
  readonly text: string;
  /**
   * An expansion outside double quotes (`$x`, `$(…)`, `{a,$x}`): bash may split its value into
   * several words, any of which may be an option. Absent: false.
   */
  readonly splits?: boolean;
}

/** Node types that can be the whole of a word or a part of one. */
const DYNAMIC_PARTS: ReadonlySet<string> = new Set([
  'simple_expansion',
  'expansion',
  'command_substitution',
  'arithmetic_expansion',
  'process_substitution',
  'brace_expression',
]);

export function wordValue(node: SyntaxNode, src: string): WordValue {
  const text = src.slice(node.start, node.end);
  const acc = { value: '', dynamic: false, expands: false, splits: false };
  addPart(node, src, acc, false);
  return {
    value: acc.dynamic ? text : acc.value,
    dynamic: acc.dynamic,
    expands: acc.expands,
    text,
    ...(acc.splits ? { splits: true } : {}),
  };
}

interface Acc {
  value: string;
  dynamic: boolean;
  expands: boolean;
  splits: boolean;
}

function addPart(node: SyntaxNode, src: string, acc: Acc, inDoubleQuotes: boolean): void {
  const raw = src.slice(node.start, node.end);
  switch (node.type) {
    case 'word':
    case 'number':
    case 'variable_name':
    case 'extglob_pattern':
    case 'regex':
    case 'special_variable_name':
    case 'file_descriptor':
    case 'test_operator': {
      if (node.type === 'word' || node.type === 'extglob_pattern') {
        if (/[*?[]/.test(raw) || node.type === 'extglob_pattern') acc.expands = true;
        if (raw.includes('{') || raw.includes('}')) acc.expands = true;
      }
      acc.value += unescapeUnquoted(raw);
      return;
    }
    case 'raw_string':
      acc.value += raw.slice(1, -1);
      return;
    case 'ansi_c_string':
      acc.value += decodeAnsiC(raw.slice(2, -1));
      return;
    case 'string':
    case 'translated_string':
      for (const c of node.children) {
        if (!c.named) continue;
        addPart(c, src, acc, true);
      }
      return;
    case 'string_content':
      acc.value += inDoubleQuotes ? unescapeDoubleQuoted(raw) : raw;
      return;
    case 'concatenation':
      for (const c of node.children) if (c.named) addPart(c, src, acc, inDoubleQuotes);
      // Unquoted `{` … `}` pieces (tree-sitter splits `{a,b}` into words) may brace-expand.
      return;
    default:
      if (DYNAMIC_PARTS.has(node.type)) {
        acc.dynamic = true;
        if (node.type === 'brace_expression') acc.expands = true;
        // `<(…)` is one word (/dev/fd/N); any other expansion outside double quotes is split.
        if (!inDoubleQuotes && node.type !== 'process_substitution') acc.splits = true;
        acc.value += raw;
        return;
      }
      // Anything else inside a word is not understood: treat the word as dynamic (fail closed).
      acc.dynamic = true;
      acc.splits = true;
      acc.value += raw;
  }
}

/** Backslash removal outside quotes: `\x` → `x`, backslash-newline → nothing. */
function unescapeUnquoted(s: string): string {
  if (!s.includes('\\')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '\\' && i + 1 < s.length) {
      const next = s[++i]!;
      if (next !== '\n') out += next;
    } else out += ch;
  }
  return out;
}

/** Inside double quotes a backslash escapes only `$`, backquote, `"`, `\` and newline (bash manual 3.1.2.3). */
function unescapeDoubleQuoted(s: string): string {
  if (!s.includes('\\')) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    const next = s[i + 1];
    if (ch === '\\' && next !== undefined && '$`"\\\n'.includes(next)) {
      i++;
      if (next !== '\n') out += next;
    } else out += ch;
  }
  return out;
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  a: '\x07',
  b: '\b',
  e: '\x1b',
  E: '\x1b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
  '\\': '\\',
  "'": "'",
  '"': '"',
  '?': '?',
};

/** Decodes the body of a `$'…'` string (bash manual 3.1.2.4). */
export function decodeAnsiC(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch !== '\\' || i + 1 >= s.length) {
      out += ch;
      continue;
    }
    const e = s[++i]!;
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      out += simple;
      continue;
    }
    const take = (re: RegExp, max: number): string => {
      let digits = '';
      while (digits.length < max && i + 1 < s.length && re.test(s[i + 1]!)) digits += s[++i]!;
      return digits;
    };
    if (e >= '0' && e <= '7') {
      i--;
      const d = take(/[0-7]/, 3);
      out += String.fromCharCode(parseInt(d, 8) & 0xff);
    } else if (e === 'x') {
      const d = take(/[0-9a-fA-F]/, 2);
      out += d === '' ? '\\x' : String.fromCharCode(parseInt(d, 16));
    } else if (e === 'u' || e === 'U') {
      const d = take(/[0-9a-fA-F]/, e === 'u' ? 4 : 8);
      const cp = d === '' ? NaN : parseInt(d, 16);
      out += Number.isNaN(cp) || cp > 0x10ffff ? `\\${e}${d}` : String.fromCodePoint(cp);
    } else if (e === 'c' && i + 1 < s.length) {
      out += String.fromCharCode(s[++i]!.charCodeAt(0) & 0x1f);
    } else {
      out += `\\${e}`;
    }
  }
  return out;
}

/** Quotes a word for display so that it reads back as the same word (`'…'` when needed). */
export function shellQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

// ---------------------------------------------------------------------------------------------------
// Brace expansion, done as bash does it (bash manual 3.5.1; bash's braces.c): `-{delete,true}` is the
// two words `-delete -true`, `{-o,.bashrc}` is `-o .bashrc`. It is purely textual, so the words it
// makes are known from the text, and rules judge those words rather than the one written.

/** More words than this from one word, and the word is judged as any words instead. */
export const MAX_BRACE_WORDS = 256;

/**
 * The words bash's brace expansion makes of a word, each with its value (quotes removed); the word
 * itself when bash expands no braces in it; undefined when it cannot be done from the text: the word
 * holds a `$`, a backquote, a parenthesis (an expansion, an extglob, a process substitution) or a
 * line break, a sequence term is not plain letters or numbers, or it makes more than MAX_BRACE_WORDS
 * words. For a word parsed from a command line (`expands` or `dynamic`); argv words are not expanded.
 */
export function braceExpand(word: WordValue): readonly WordValue[] | undefined {
  const text = word.text;
  if (!text.includes('{')) return [word];
  if (!bracePlainText(text)) return mayBraceExpand(text) ? undefined : [word];
  const pieces = braceExpandText(text, { words: 0 });
  if (pieces === undefined) return undefined;
  // A word of plain text a rule made dynamic (find's `{}`, xargs' replace string) stays so.
  const made = word.dynamic;
  if (pieces.length === 1 && pieces[0] === text) {
    // No brace expansion: its braces are plain characters (`{}`), and only a glob still expands.
    const plain = made ? word : plainWordValue(text);
    return plain === undefined ? undefined : [plain];
  }
  const out: WordValue[] = [];
  for (const p of pieces) {
    // An unquoted empty word is removed (bash: `{,}` gives no word); `""` stays.
    if (p === '') continue;
    const v = plainWordValue(p);
    if (v === undefined) return undefined;
    out.push(made ? { ...v, value: p, dynamic: true } : v);
  }
  return out;
}

/** No `$`, backquote, parenthesis or line break outside single quotes: nothing but literal text. */
function bracePlainText(text: string): boolean {
  if (text.includes('\n')) return false;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      continue;
    }
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '$' || c === '`') return false;
    if (quote === '"') {
      if (c === '"') quote = undefined;
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '(' || c === ')' || c === '<' || c === '>') return false;
  }
  return quote === undefined;
}

/**
 * Whether a word bracePlainText refuses may still hold a brace expansion: a `{` outside quotes that
 * does not open a `${…}`.
 */
function mayBraceExpand(text: string): boolean {
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
    } else if (c === '\\') i++;
    else if (quote === '"') {
      if (c === '"') quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '{' && text[i - 1] !== '$') return true;
  }
  return false;
}

/** A word made only of literal text, quotes and backslashes: its value, and whether it globs. */
function plainWordValue(text: string): WordValue | undefined {
  let value = '';
  let expands = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\') {
      if (i + 1 < text.length) value += text[++i];
      else value += c;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end === -1) return undefined;
      value += text.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < text.length && text[j] !== '"'; j++) {
        if (text[j] === '\\' && j + 1 < text.length && '$`"\\'.includes(text[j + 1]!)) j++;
        value += text[j];
      }
      if (j >= text.length) return undefined;
      i = j;
    } else {
      if (c === '*' || c === '?' || c === '[') expands = true;
      value += c;
    }
  }
  return { value, dynamic: false, expands, text };
}

const braceBlank = (c: string | undefined): boolean =>
  c === undefined || c === ' ' || c === '\t' || c === '\n';

/**
 * bash's brace_gobbler: the index of the first `satisfy` outside quotes and escapes at nesting level
 * 0, or -1. Looking for `}`, one counts only after a `,` or a `..` at that level; looking for `{`,
 * one with a blank (or nothing) before it and a blank, nothing or `}` after it is not one.
 */
function gobble(text: string, start: number, satisfy: string): number {
  let level = 0;
  let quoted: string | undefined;
  let commas = satisfy === '}' ? 0 : 1;
  for (let i = start; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && (quoted === undefined || quoted === '"')) {
      i++;
      continue;
    }
    if (quoted !== undefined) {
      if (c === quoted) quoted = undefined;
      continue;
    }
    if (c === '"' || c === "'") {
      quoted = c;
      continue;
    }
    if (c === satisfy && level === 0 && commas > 0) {
      if (
        c === '{' &&
        (i === 0 || braceBlank(text[i - 1])) &&
        (braceBlank(text[i + 1]) || text[i + 1] === '}')
      )
        continue;
      return i;
    }
    if (c === '{') level++;
    else if (c === '}' && level > 0) level--;
    else if (satisfy === '}' && c === ',' && level === 0) commas++;
    else if (satisfy === '}' && text.startsWith('..', i) && text[i + 2] !== satisfy && level === 0) commas++;
  }
  return -1;
}

/** bash's brace_expand over raw text (quotes kept): the words, or undefined past the limits. */
function braceExpandText(text: string, budget: { words: number }): string[] | undefined {
  // The first `{` that opens a brace expansion (one with a matching `}` after a `,` or `..`).
  let i = 0;
  let open = -1;
  for (;;) {
    const c = gobble(text, i, '{');
    if (c === -1) break;
    if (gobble(text, c + 1, '}') !== -1) {
      open = c;
      break;
    }
    i = c + 1;
  }
  if (open === -1) return [text];
  const preamble = text.slice(0, open);
  const close = gobble(text, open + 1, '}');
  const amble = text.slice(open + 1, close);
  let tack: string[] | undefined;
  // An unescaped comma anywhere in the amble (quoted too: bash looks for one without quotes here).
  let comma = false;
  for (let j = 0; j < amble.length; j++) {
    if (amble[j] === '\\') j++;
    else if (amble[j] === ',') {
      comma = true;
      break;
    }
  }
  if (!comma) {
    const seq = sequence(amble);
    if (seq === null) return undefined;
    if (seq !== undefined) tack = seq;
    else if (close + 1 < text.length) tack = [text.slice(open, close + 1)];
    else return [text];
  } else {
    tack = [];
    let start = 0;
    for (;;) {
      const comma = gobble(amble, start, ',');
      const piece = braceExpandText(amble.slice(start, comma === -1 ? amble.length : comma), budget);
      if (piece === undefined) return undefined;
      tack.push(...piece);
      if (comma === -1) break;
      start = comma + 1;
    }
  }
  let result = concat([preamble], tack, budget);
  if (result === undefined) return undefined;
  const postamble = text.slice(close + 1);
  if (postamble !== '') {
    const rest = braceExpandText(postamble, budget);
    if (rest === undefined) return undefined;
    result = concat(result, rest, budget);
  }
  return result;
}

/** Every word of `a` followed by every word of `b`, within the budget. */
function concat(a: readonly string[], b: readonly string[], budget: { words: number }): string[] | undefined {
  if (a.length * b.length > MAX_BRACE_WORDS) return undefined;
  budget.words += a.length * b.length;
  if (budget.words > MAX_BRACE_WORDS * 8) return undefined;
  const out: string[] = [];
  for (const x of a) for (const y of b) out.push(x + y);
  return out;
}

/**
 * bash's expand_seqterm: `{1..5}`, `{05..1..2}`, `{a..e}`. undefined when the amble is not a
 * sequence (the braces are then literal); null when it is one this does not make (too many words,
 * or letters between which lie characters that are not letters).
 */
function sequence(amble: string): string[] | null | undefined {
  const dots = amble.indexOf('..');
  if (dots === -1) return undefined;
  const lhs = amble.slice(0, dots);
  const rhsAll = amble.slice(dots + 2);
  if (lhs === '' || rhsAll === '') return undefined;
  const m = /^([+-]?\d+|[A-Za-z])(?:\.\.([+-]?\d+))?$/.exec(rhsAll);
  if (m === null) return undefined;
  const rhs = m[1]!;
  const lhsInt = /^[+-]?\d+$/.test(lhs);
  const rhsInt = /^[+-]?\d/.test(rhs);
  if (lhsInt !== rhsInt) return undefined;
  if (!lhsInt && !/^[A-Za-z]$/.test(lhs)) return undefined;
  let incr = m[2] === undefined ? 1 : Number(m[2]);
  if (!Number.isSafeInteger(incr)) return null;
  if (incr === 0) incr = 1;
  const start = lhsInt ? Number(lhs) : lhs.charCodeAt(0);
  const end = lhsInt ? Number(rhs) : rhs.charCodeAt(0);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end)) return null;
  if (start > end && incr > 0) incr = -incr;
  else if (start < end && incr < 0) incr = -incr;
  if (Math.abs(end - start) / Math.abs(incr) + 1 > MAX_BRACE_WORDS) return null;
  let width = 0;
  if (lhsInt) {
    // Zero-padded when either end is written with a leading zero (`-` counts in the width).
    const padded = (s: string): boolean => /^-?0\d/.test(s);
    if (padded(lhs) || padded(rhs)) width = Math.max(lhs.length, rhs.length);
  }
  const out: string[] = [];
  for (let n = start; incr > 0 ? n <= end : n >= end; n += incr) {
    if (!lhsInt) {
      const ch = String.fromCharCode(n);
      // Between `Z` and `a` lie `[\]^_` and a backquote, which bash's later steps read as syntax.
      if (!/^[A-Za-z]$/.test(ch)) return null;
      out.push(ch);
    } else if (width > 0) {
      const digits = String(Math.abs(n)).padStart(n < 0 ? width - 1 : width, '0');
      out.push(n < 0 ? `-${digits}` : digits);
    } else out.push(String(n));
  }
  return out;
}
