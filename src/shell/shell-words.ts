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
  const acc = { value: '', dynamic: false, expands: false };
  addPart(node, src, acc, false);
  return { value: acc.dynamic ? text : acc.value, dynamic: acc.dynamic, expands: acc.expands, text };
}

interface Acc {
  value: string;
  dynamic: boolean;
  expands: boolean;
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
        acc.value += raw;
        return;
      }
      // Anything else inside a word is not understood: treat the word as dynamic (fail closed).
      acc.dynamic = true;
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
