// Where a text that is not JSON names its sensitive values: the places a field name stands before a
// value in the representations an API may answer with instead of JSON (docs/security.md class 144,
// docs/masking.md "Field names in text"). Each place is a span of the text and how its masked value is
// written back, so that every form is read over the same original text and a value two forms both see
// is masked once:
//
// - JSON-style keys anywhere: `"password": value` (a string, a number or word, an object or array);
// - delimited tables (CSV, TSV, `;` or `|` separated) whose header row names a sensitive column: that
//   column's cell in every record (RFC 4180 quoting, newlines inside quotes); a record whose number of
//   cells is not the header's cannot be placed, so all of its cells are masked;
// - `key: value` and `key = value` lines (YAML, .env, properties, HTTP-style headers), the key bare
//   or quoted, after optional indentation or a YAML `- `; a value that is a YAML block (`|`, `>`, or
//   nothing and the lines indented below it) is masked with those lines;
// - `key=value` pairs anywhere (form encoding, query strings, log lines, command lines): after the start
//   of a line, whitespace, a NUL (`/proc/<pid>/environ`) or one of `?&;,-` (`--db-password=…`), the
//   key percent-decoded.
//
// Fail-safe where forms are unclear: more is masked rather than less (a word in prose that reads as a
// key, a malformed record). Matching keys is the caller's (`password`, `*_secret`…: json-masking.ts).

import { NO_ECHO_TAG, noEchoDefaultSpans } from './no-echo-defaults.js';

/** The tag a key matches (`password`), or undefined when it is not sensitive. */
export type KeyTagOf = (key: string) => string | undefined;

/** How a span's masked value is written back. */
export type SpanForm =
  /** A JSON value: `"…"`, or `null`. */
  | 'json'
  /** A YAML-safe scalar after `key:`: `"…"`, or `null`. */
  | 'yaml'
  /** A single-quoted YAML scalar. */
  | 'single'
  /** As it is (after `key=`, a block's only line): the empty text for null. */
  | 'bare'
  /** A CSV cell in this delimiter: quoted when it needs to be, empty for null. */
  | { readonly csv: string };

export interface TextFieldSpan {
  readonly start: number;
  readonly end: number;
  readonly tag: string;
  /** The value as read (unquoted), which the masking style sees. */
  readonly value: string;
  readonly form: SpanForm;
  /** Written before the masked value (a block's indentation). */
  readonly prefix?: string;
}

/** Writes a masked value back in its span's form (`null`: the style's null). */
export function writeMasked(masked: string | null, span: TextFieldSpan): string {
  const prefix = span.prefix ?? '';
  const form = span.form;
  if (typeof form === 'object') {
    if (masked === null) return prefix;
    const d = form.csv;
    const quote = masked.includes(d) || /["\r\n]/.test(masked) || /^\s|\s$/.test(masked);
    return prefix + (quote ? `"${masked.replace(/"/g, '""')}"` : masked);
  }
  switch (form) {
    case 'json':
    case 'yaml':
      return prefix + (masked === null ? 'null' : JSON.stringify(masked));
    case 'single':
      return prefix + (masked === null ? "''" : `'${masked.replace(/'/g, "''")}'`);
    case 'bare':
      return prefix + (masked ?? '');
  }
}

/**
 * Every span of `text` holding a sensitive value, in text order, none overlapping (where two forms see
 * overlapping values, the one starting first is kept, and of two starting together the longer).
 */
export function textFieldSpans(
  text: string,
  keys: KeyTagOf,
  /**
   * `tables: false` for a text that may start anywhere in a stream (terminal output, masked a line at
   * a time): its first line cannot be told to be a table's header.
   */
  options: { readonly tables?: boolean } = {},
): TextFieldSpan[] {
  const found: TextFieldSpan[] = [];
  jsonKeySpans(text, keys, found);
  literalKeySpans(text, keys, found);
  escapedJsonKeySpans(text, keys, found);
  escapedFormKeySpans(text, keys, found);
  encodedPairSpans(text, keys, found);
  htmlFieldSpans(text, keys, found);
  hclBlockSpans(text, keys, found);
  if (options.tables !== false) tableSpans(text, keys, found);
  lineSpans(text, keys, found);
  pairSpans(text, keys, found);
  quotedBracketKeySpans(text, keys, found);
  colonPairSpans(text, keys, found);
  xmlElementSpans(text, keys, found);
  codeStringSpans(text, keys, found);
  nameValueSpans(text, keys, found);
  pipeRowSpans(text, keys, found);
  heredocSpans(text, keys, found);
  xmlKeySiblingSpans(text, keys, found);
  optionValueSpans(text, keys, found);
  numberedPairSpans(text, keys, found);
  noEchoSpans(text, found);
  found.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: TextFieldSpan[] = [];
  let reached = -1;
  for (const s of found) {
    if (s.start < reached) continue;
    out.push(s);
    reached = Math.max(s.end, s.start + 1);
  }
  return out;
}

// ---- a CloudFormation NoEcho parameter's default (docs/security.md, class 368) ----

/** Each `Default` of a template parameter declared `NoEcho: true`, whatever the parameter is named. */
function noEchoSpans(text: string, out: TextFieldSpan[]): void {
  for (const [start, end] of noEchoDefaultSpans(text)) {
    const raw = text.slice(start, end);
    const q = raw[0];
    const value = (q === '"' || q === "'") && raw.endsWith(q) && raw.length > 1 ? raw.slice(1, -1) : raw;
    out.push({ start, end, tag: NO_ECHO_TAG, value, form: 'yaml' });
  }
}

// ---- JSON-style keys ----

/**
 * `"key"` then `:` — a key of an object, wherever it is in a text; or then `=>`, as an hstore value
 * prints its pairs (`"password"=>"…"`, class 190), and Perl and Ruby print theirs.
 */
const KEY_BEFORE_VALUE = /"((?:[^"\\\r\n]|\\.){1,256})"[ \t\r\n]*(?::|=>)[ \t\r\n]*/g;

/** A character that ends a number, literal or bare word (a line break, or what follows a JSON value). */
const PRIMITIVE_END = /[,}\]\r\n]/;

/** Where the JSON-ish value starting at `start` ends (strings and brackets followed; the text's end if unterminated). */
export function valueEnd(t: string, start: number): number {
  const c = t.charCodeAt(start);
  // A triple-quoted string (TOML's and Python's `"""…"""`, `'''…'''`, lines included) ends at the
  // next three of its quotes, not at the empty `""` it begins with (docs/security.md class 334).
  if ((c === 34 || c === 39) && t.charCodeAt(start + 1) === c && t.charCodeAt(start + 2) === c) {
    const triple = t.slice(start, start + 3);
    for (let i = start + 3; i + 2 < t.length; i++) {
      if (c === 34 && t.charCodeAt(i) === 92) i++;
      else if (t.startsWith(triple, i)) {
        // A closing run longer than three quotes ends with the string's own quotes (`"""a""""`).
        let j = i + 3;
        while (t.charCodeAt(j) === c) j++;
        return j;
      }
    }
    return t.length;
  }
  if (c === 34 || c === 39) {
    for (let i = start + 1; i < t.length; i++) {
      const d = t.charCodeAt(i);
      if (d === 92 && c === 34) i++;
      // In a single-quoted (YAML) string, `''` is a quote inside it.
      else if (d === 39 && c === 39 && t.charCodeAt(i + 1) === 39) i++;
      else if (d === c) return i + 1;
    }
    return t.length;
  }
  if (c === 123 || c === 91) {
    let depth = 0;
    for (let i = start; i < t.length; i++) {
      const d = t.charCodeAt(i);
      if (d === 34) {
        i = valueEnd(t, i) - 1;
        continue;
      }
      if (d === 123 || d === 91) depth++;
      else if (d === 125 || d === 93) {
        depth--;
        if (depth === 0) return i + 1;
      }
    }
    return t.length;
  }
  let i = start;
  while (i < t.length && !PRIMITIVE_END.test(t[i]!)) i++;
  // A bare word of a text that is not JSON may go on after a space (`"password": hunter 2`): it ends
  // where a JSON value would be followed by something else, not at the space.
  while (i > start && /\s/.test(t[i - 1]!)) i--;
  return i;
}

function jsonString(raw: string): string {
  try {
    return JSON.parse(raw) as string;
  } catch {
    return raw.slice(1, raw.endsWith('"') && raw.length > 1 ? -1 : undefined);
  }
}

function jsonKeySpans(text: string, keys: KeyTagOf, out: TextFieldSpan[]): void {
  const re = new RegExp(KEY_BEFORE_VALUE.source, 'g');
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const key = jsonString(`"${m[1]!}"`);
    const tag = keys(key);
    if (tag === undefined) continue;
    const start = re.lastIndex;
    const end = valueEnd(text, start);
    if (end <= start) continue;
    const raw = text.slice(start, end);
    out.push({ start, end, tag, value: raw.startsWith('"') ? jsonString(raw) : raw, form: 'json' });
    re.lastIndex = end;
  }
}

// ---- object-literal keys: Python reprs, JavaScript and JSON5 literals (docs/security.md, class 209) ----

/**
 * A key of an object literal, where one begins (after `{`, `,`, `(` or `[` and blanks, which the match
 * includes: no look-behind, whose cost grows with a run of blanks at every position): single-quoted
 * (a Python dict's repr, JS), bare (JS, JSON5) or double-quoted with a comment before its `:` (JSON5),
 * then `:` followed by a blank, a quote, `[`, `{` or the end (what text-features.ts's pre-filter
 * counts; a bare key with `:` at once is MINIFIED_KEY's, class 219). Blanks and `/* … *\/` comments
 * may stand between the key and the `:`.
 */
const LITERAL_KEY =
  /[{,([][ \t\r\n]*(?:'((?:[^'\\\r\n]|\\.){1,256})'|"((?:[^"\\\r\n]|\\.){1,256})"|([A-Za-z_$][A-Za-z0-9_$]{0,255}))(?:[ \t\r\n]|\/\*[^*]*\*+(?:[^/*][^*]*\*+)*\/)*:(?=[ \t\r\n'"`[{]|$)[ \t\r\n]*/g;

/** Where a quoted value starting at `start` ends, a backslash escaping the next character in either quote. */
function escapedQuoteEnd(t: string, start: number): number {
  const q = t.charCodeAt(start);
  for (let i = start + 1; i < t.length; i++) {
    const d = t.charCodeAt(i);
    if (d === 92) i++;
    else if (d === q) return i + 1;
  }
  return t.length;
}

/** A single- or double-quoted literal key's text, its backslash escapes read (`\x77`, `\u0077` too). */
function literalKey(raw: string): string {
  return raw.replace(
    /\\(?:x([0-9a-fA-F]{2})|u([0-9a-fA-F]{4})|(.))/g,
    (_e, x?: string, u?: string, c?: string) =>
      x !== undefined || u !== undefined ? String.fromCharCode(parseInt((x ?? u)!, 16)) : c!,
  );
}

/**
 * A bare key of a minified literal (`{password:1}`, `{a:1,token:x}`): after `{`, `,`, `(` or `[` and
 * blanks, at once `:`, then any value but a blank (LITERAL_KEY's) or a second `:` (C++'s
 * `std::password::x`). text-features.ts counts such a `:` (class 219).
 */
const MINIFIED_KEY = /[{,([][ \t\r\n]*([A-Za-z_$][A-Za-z0-9_$]{0,255}):(?![:\s])/g;

/**
 * A bare key after the text's start, a line's or a blank, then `:` and at once a quote: Go's compact
 * protobuf text (`user:"ann" password:"…"`, what gRPC services log) and logfmt-like lines (class 219).
 */
const COMPACT_KEY = /(?:^|[ \t])([A-Za-z_$][A-Za-z0-9_$.-]{0,255}):(?=["'`])/gm;

/**
 * A Ruby symbol key as `Hash#inspect` prints it before Ruby 3.4 (`{:user=>"ann", :password=>"…"}`,
 * what a Ruby app logs and a console shows), after `{`, `,`, `(` or `[` and blanks (class 219), or at
 * a line's start, as a hash written one key to a line has it (`  :password => "…",`, class 398).
 */
const SYMBOL_KEY = /(?:[{,([]|^)[ \t\r\n]*:([A-Za-z_][A-Za-z0-9_]{0,255}[?!]?)[ \t\r\n]*=>[ \t\r\n]*/gm;

function literalKeySpans(text: string, keys: KeyTagOf, out: TextFieldSpan[]): void {
  for (const source of [LITERAL_KEY, MINIFIED_KEY, COMPACT_KEY, SYMBOL_KEY]) {
    const re = new RegExp(source.source, source.flags);
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const key =
        source !== LITERAL_KEY
          ? m[1]!
          : m[1] !== undefined
            ? literalKey(m[1])
            : m[2] !== undefined
              ? jsonString(`"${m[2]}"`)
              : m[3]!;
      const tag = keys(key);
      if (tag === undefined) continue;
      const end = literalValueSpan(text, re.lastIndex, tag, out);
      if (end > re.lastIndex) re.lastIndex = end;
    }
  }
}

/** The value of a literal's key, from `start`: pushed on `out` as a span; returns where it ends. */
function literalValueSpan(text: string, start: number, tag: string, out: TextFieldSpan[]): number {
  const c = text.charCodeAt(start);
  // A template literal (`…`) is quoted too; it is written back double-quoted.
  const quoted = c === 34 || c === 39 || c === 96;
  // A quoted value to its closing quote past backslash escapes (`'a\'b'`), and never less than the
  // JSON reading's end: where the two differ, more is masked.
  const end = quoted ? Math.max(escapedQuoteEnd(text, start), valueEnd(text, start)) : valueEnd(text, start);
  if (end <= start) return end;
  const raw = text.slice(start, end);
  const value = !quoted
    ? raw
    : c === 34
      ? jsonString(raw)
      : literalKey(raw.slice(1, raw.endsWith(String.fromCharCode(c)) ? -1 : undefined));
  out.push({ start, end, tag, value, form: c === 39 ? 'single' : 'json' });
  return end;
}

/**
 * A JSON key whose quotes are escaped (class 193): a document printed inside an array's text
 * (`{"{\\"password\\": \\"…\\"}"}`), a record's (`("{""password"": ""…""}")`), a CSV cell, or
 * deeper (`\\\\""`, `\\"\\"`). The quote token is two or more backslashes and quotes ending in a quote; the
 * key ends with the same token, and so does a string value (a quote inside it is escaped once more).
 */
const ESCAPED_KEY_BEFORE_VALUE = /([\\"]*[\\"]")([^"\\\r\n]{1,256})\1[ \t\r\n]*:[ \t\r\n]*/g;

function escapedJsonKeySpans(text: string, keys: KeyTagOf, out: TextFieldSpan[]): void {
  const re = new RegExp(ESCAPED_KEY_BEFORE_VALUE.source, 'g');
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const quote = m[1]!;
    const tag = keys(m[2]!);
    if (tag === undefined) continue;
    const at = re.lastIndex;
    let start = at;
    let end: number;
    if (text.startsWith(quote, at)) {
      // A string: to the same quote token (a quote inside it is escaped once more: a longer token).
      start = at + quote.length;
      const close = text.indexOf(quote, start);
      end = close < 0 ? text.length : close;
    } else if (text[at] === '{' || text[at] === '[') {
      let depth = 0;
      end = text.length;
      for (let i = at; i < text.length; i++) {
        const c = text[i];
        if (c === '{' || c === '[') depth++;
        else if (c === '}' || c === ']') {
          depth--;
          if (depth === 0) {
            end = i + 1;
            break;
          }
        }
      }
    } else {
      end = at;
      while (end < text.length && !/[,}\]\\"\r\n]/.test(text[end]!)) end++;
      while (end > at && /\s/.test(text[end - 1]!)) end--;
    }
    if (end <= start) continue;
    out.push({ start, end, tag, value: text.slice(start, end), form: 'bare' });
    re.lastIndex = end;
  }
}

// ---- keys and values written in an escaped form (docs/security.md, class 219) ----

/**
 * A quote as a format escapes it: an HTML character reference (`&quot;`, `&#34;`, `&#x22;`: JSON in an
 * attribute, `data-props="{&quot;password&quot;:…}"`), a JSON or JavaScript `\u0022` (behind one or more
 * backslashes), or percent-encoding (`%22`: JSON in a query parameter or a cookie).
 */
const ESC_QUOTE = String.raw`&quot;|&#0*34;|&#x0*22;|\\+u0022|%22`;
/**
 * A character of a key escaped the same ways (`pass&#119;ord`, `pass\u0077ord`, `pass%77ord`; class
 * 241): the key is read with them decoded (`decodeKeyEscapes`). Never a quote's escape: a key cannot
 * run on past its closing quote token (which kept the search linear).
 */
const KEY_CHAR_ESCAPE = String.raw`&#(?!0*34;)0*[0-9]{2,3};|&#x(?!0*22;)0*[0-9a-f]{2};|&(?:lowbar|period|hyphen|dash);|\\+u00(?!22)[0-9a-f]{2}|\\+x(?!22)[0-9a-f]{2}|%(?!22)[0-9a-f]{2}`;

const HTML_NAMED: Readonly<Record<string, string>> = { lowbar: '_', period: '.', hyphen: '-', dash: '-' };

/** A key with the escapes KEY_CHAR_ESCAPE matches decoded. */
function decodeKeyEscapes(key: string): string {
  if (!/[&\\%]/.test(key)) return key;
  return key.replace(new RegExp(KEY_CHAR_ESCAPE, 'gi'), (e) => {
    const lower = e.toLowerCase();
    if (lower.startsWith('&#x')) return String.fromCharCode(parseInt(lower.slice(3, -1), 16));
    if (lower.startsWith('&#')) return String.fromCharCode(parseInt(lower.slice(2, -1), 10));
    if (lower.startsWith('&')) return HTML_NAMED[lower.slice(1, -1)] ?? e;
    if (lower.startsWith('%')) return String.fromCharCode(parseInt(lower.slice(1), 16));
    return String.fromCharCode(parseInt(lower.slice(-2), 16));
  });
}

/** A `:` escaped the same ways, or as it is. */
const ESC_COLON = String.raw`:|&#0*58;|&#x0*3a;|\\+u003a|%3a`;
/** `"key"` then `:` with the quotes escaped (the same token on both sides), the `:` escaped or not. */
const ESCAPED_FORM_KEY = new RegExp(
  String.raw`(${ESC_QUOTE})((?:[^"'<>&%\\\r\n]|${KEY_CHAR_ESCAPE}){1,256}?)\1(?:[ \t\r\n]|%20|\+)*(?:${ESC_COLON})(?:[ \t\r\n]|%20|\+)*`,
  'gi',
);
/** Where an escaped value ends when it is not quoted: what ends a JSON value, or starts an escape. */
const ESCAPED_FORM_BARE_END = /[,}\]\s"'<>&%\\]/;

/** The escaped quote `token` at `at`, and where the string it opens closes (past backslash-escaped ones). */
function escapedFormStringEnd(text: string, at: number, token: string): number {
  const lower = token.toLowerCase();
  for (let i = at + token.length; i < text.length; i++) {
    if (text.charCodeAt(i) === 92 && token.charCodeAt(0) !== 92) {
      i++;
      continue;
    }
    // A percent-encoded backslash (`%5C`) escapes what follows it too.
    if (text.charCodeAt(i) === 37 && text.slice(i, i + 3).toUpperCase() === '%5C') {
      i += text.charCodeAt(i + 3) === 37 ? 5 : 3;
      continue;
    }
    if (text.slice(i, i + token.length).toLowerCase() !== lower) continue;
    // `\u0022` behind one more backslash is a quote inside the string (`\\\u0022`), not its end.
    if (token.charCodeAt(0) === 92) {
      let n = 0;
      while (i - n - 1 >= at + token.length && text.charCodeAt(i - n - 1) === 92) n++;
      if (n % 2 === 1) continue;
    }
    return i;
  }
  return text.length;
}

function escapedFormKeySpans(text: string, keys: KeyTagOf, out: TextFieldSpan[]): void {
  const re = new RegExp(ESCAPED_FORM_KEY.source, 'gi');
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const tag = keys(decodeKeyEscapes(m[2]!));
    if (tag === undefined) continue;
    const at = re.lastIndex;
    const quote = new RegExp(`(?:${ESC_QUOTE})`, 'iy');
    quote.lastIndex = at;
    const q = quote.exec(text);
    let start = at;
    let end: number;
    if (q !== null) {
      start = at + q[0].length;
      end = escapedFormStringEnd(text, at, q[0]);
    } else if (text[at] === '{' || text[at] === '[') {
      end = valueEnd(text, at);
    } else {
      end = at;
      while (end < text.length && !ESCAPED_FORM_BARE_END.test(text[end]!)) end++;
    }
    if (end <= start) continue;
    out.push({ start, end, tag, value: text.slice(start, end), form: 'bare' });
    re.lastIndex = end;
  }
}

/** `key%3Dvalue` after the start, a blank, a `?`/`&` or their percent-encoded forms: a query inside a parameter. */
const ENCODED_PAIR = /(?:^|[\s?&;,]|%26|%3f)([A-Za-z0-9_.-]{1,256})%3d/gim;

function encodedPairSpans(text: string, keys: KeyTagOf, out: TextFieldSpan[]): void {
  const re = new RegExp(ENCODED_PAIR.source, 'gim');
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const tag = keys(m[1]!);
    if (tag === undefined) continue;
    const start = re.lastIndex;
    let end = start;
    while (end < text.length && !/[\s&"'<>]/.test(text[end]!) && !/^%26/i.test(text.slice(end, end + 3)))
      end++;
    if (end > start) out.push({ start, end, tag, value: text.slice(start, end), form: 'bare' });
    re.lastIndex = Math.max(end, start);
  }
}

// ---- HTML form fields and XML name/value elements (docs/security.md, classes 210 and 343) ----

/**
 * A start tag: its name, then its attributes. Any element, not only HTML's form fields: settings files
 * name a value by an attribute as often (`<add key="DbPassword" value="…"/>` in .NET's appSettings,
 * Ant's and Spring's `<property name="…" value="…"/>`, phpunit's `<env name="…" value="…"/>`, Java's
 * XML properties `<entry key="…">…</entry>`). Capped in length.
 */
const HTML_TAG = /<([A-Za-z][A-Za-z0-9:._-]{0,63})\b([^<>]{0,4096})>/g;
/** One attribute: its name, then a value double-, single- or un-quoted (HTML's three forms). */
const HTML_ATTR = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/dg;
/** The attributes that name a field, and those that hold its value. */
const HTML_NAMES = ['name', 'id', 'key', 'property', 'itemprop', 'http-equiv'];
const HTML_VALUES = ['value', 'content', 'data-value'];

/**
 * A value a page or a settings file holds under a sensitive name: `<input name="api_key" value="…">`
 * (attributes in any order and quoting), any `<input type="password">`'s value, `<meta name="…"
 * content="…">`, `<add key="…" value="…"/>`; a `<textarea name="…">`'s text to its close, and the
 * text of any other element named so and holding no value attribute, to the next tag
 * (`<entry key="api_key">…</entry>`). An admin page's settings form is filled so. And the value
 * attributes of an element whose own name is sensitive (`<password value="…"/>`, class 399).
 */
function htmlFieldSpans(text: string, keys: KeyTagOf, out: TextFieldSpan[]): void {
  if (!text.includes('<')) return;
  const tagRe = new RegExp(HTML_TAG.source, 'g');
  let unclosed = false;
  for (let m = tagRe.exec(text); m !== null; m = tagRe.exec(text)) {
    if (!m[2]!.includes('=')) continue;
    const tagName = m[1]!.toLowerCase();
    const attrsAt = m.index + 1 + m[1]!.length;
    const names: string[] = [];
    const values: { start: number; end: number; value: string }[] = [];
    let password = false;
    const attrRe = new RegExp(HTML_ATTR.source, 'dg');
    for (let a = attrRe.exec(m[2]!); a !== null; a = attrRe.exec(m[2]!)) {
      const attr = a[1]!.toLowerCase();
      const group = a[2] !== undefined ? 2 : a[3] !== undefined ? 3 : a[4] !== undefined ? 4 : 0;
      if (group === 0) continue;
      const value = a[group]!;
      if (HTML_NAMES.includes(attr)) names.push(value);
      if (attr === 'type' && value.toLowerCase() === 'password') password = true;
      if (HTML_VALUES.includes(attr)) {
        const [s0, e0] = a.indices![group]!;
        values.push({ start: attrsAt + s0, end: attrsAt + e0, value });
      }
    }
    let tag = password && tagName === 'input' ? 'password' : undefined;
    for (const n of names) tag ??= keys(n);
    // An element named for its value, holding it in a value attribute (`<password value="…"/>`, class 399).
    if (values.length > 0) tag ??= keys(m[1]!.replace(/^.*:/, ''));
    if (tag === undefined) continue;
    for (const v of values) if (v.end > v.start) out.push({ ...v, tag, form: 'bare' });
    const start = m.index + m[0].length;
    if (tagName === 'textarea') {
      // Once no close follows, none follows a later one either: each text is searched once at most.
      let end = text.length;
      if (!unclosed) {
        const closeRe = /<\/textarea\s*>/gi;
        closeRe.lastIndex = start;
        const close = closeRe.exec(text);
        if (close === null) unclosed = true;
        else end = close.index;
      }
      if (end > start) out.push({ start, end, tag, value: text.slice(start, end), form: 'bare' });
    } else if (values.length === 0 && !m[2]!.endsWith('/')) {
      // The element's own text, to the next tag (or the text's end); blanks around it stay. When it
      // has none and a `<value>` child comes first (.NET's `<setting name="…"><value>…</value>`), that
      // child's text.
      let from = start;
      let next = text.indexOf('<', from);
      if (next >= 0 && text.slice(from, next).trim() === '' && /^<value>/i.test(text.slice(next, next + 7))) {
        from = next + 7;
        next = text.indexOf('<', from);
      }
      const raw = text.slice(from, next < 0 ? text.length : next);
      const lead = raw.length - raw.trimStart().length;
      const body = raw.trim();
      if (body !== '')
        out.push({ start: from + lead, end: from + lead + body.length, tag, value: body, form: 'bare' });
    }
  }
}

// ---- HCL blocks named by their label (docs/security.md, class 344) ----

/**
 * A block whose label names the value it holds: Terraform's and Packer's `variable "db_password" {`
 * (its `default`, always a literal), `output "api_token" {` (its `value` when a quoted string: an
 * output's value is otherwise an expression, `aws_db_instance.x.password`, which names no secret).
 */
const HCL_BLOCK = /(?:^|\n)[ \t]*(variable|output)[ \t]+"([^"\r\n]{1,256})"[ \t]*\{/g;
/** The attribute that holds such a block's value, at a line's start or right after the `{`. */
const HCL_VALUE = /(?:^|\n|\{)[ \t]*(?:default|value)[ \t]*=[ \t]*/g;

function hclBlockSpans(text: string, keys: KeyTagOf, out: TextFieldSpan[]): void {
  if (!text.includes('{')) return;
  const re = new RegExp(HCL_BLOCK.source, 'g');
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const tag = keys(m[2]!);
    if (tag === undefined) continue;
    const open = re.lastIndex;
    // The block ends at a `}` on its own first line (`{ default = "…" }`), else at a line that starts
    // with one; at most 4 KiB on.
    const eol = text.indexOf('\n', open);
    const lineEnd = eol < 0 ? text.length : eol;
    const sameLine = text.lastIndexOf('}', lineEnd);
    const closeRe = /\n[ \t]*\}/g;
    closeRe.lastIndex = open;
    const close = sameLine >= open ? undefined : closeRe.exec(text);
    const end = Math.min(sameLine >= open ? sameLine : close ? close.index : text.length, open + 4096);
    const valueRe = new RegExp(HCL_VALUE.source, 'g');
    valueRe.lastIndex = open - 1;
    const v = valueRe.exec(text);
    if (v === null || v.index >= end) continue;
    const at = valueRe.lastIndex;
    const c = text.charCodeAt(at);
    if (c === 34) quotedValueSpan(text, at, tag, out);
    else if (text.startsWith('<<', at)) heredocSpan(text, at, tag, out);
    else if (m[1] === 'variable') {
      // A number, a bool or a list: to the end of its line (or the block's `}` on it).
      const stop = text.indexOf('\n', at);
      let valueEnd = Math.min(stop < 0 ? text.length : stop, end);
      while (valueEnd > at && /[ \t\r]/.test(text[valueEnd - 1]!)) valueEnd--;
      pushBare(text, at, valueEnd, tag, out);
    }
  }
}

// ---- delimited tables ----

const DELIMITERS = [',', '\t', ';', '|'] as const;
/** The longest first line read as a table's header (its quoted cells may not break it further). */
const MAX_HEADER_CHARS = 64 * 1024;

interface Cell {
  readonly start: number;
  readonly end: number;
  readonly value: string;
}

/**
 * Reads one record from `pos` (RFC 4180: `"` opens a quoted cell only at a cell's start, `""` is a
 * quote inside one, which may hold the delimiter and line breaks). Returns its cells and where the
 * next record starts.
 */
function readRecord(t: string, pos: number, d: string): { cells: Cell[]; next: number } {
  const cells: Cell[] = [];
  const dc = d.charCodeAt(0);
  let i = pos;
  for (;;) {
    const start = i;
    let value: string;
    if (t.charCodeAt(i) === 34) {
      let v = '';
      let j = i + 1;
      for (;;) {
        const q = t.indexOf('"', j);
        if (q < 0) {
          v += t.slice(j);
          j = t.length;
          break;
        }
        v += t.slice(j, q);
        if (t.charCodeAt(q + 1) === 34) {
          v += '"';
          j = q + 2;
          continue;
        }
        j = q + 1;
        break;
      }
      // Anything after the closing quote up to the delimiter belongs to the cell (a lenient reader's
      // reading of a malformed cell).
      let k = j;
      while (k < t.length && t.charCodeAt(k) !== dc && t.charCodeAt(k) !== 10 && t.charCodeAt(k) !== 13) k++;
      value = v + t.slice(j, k);
      i = k;
    } else {
      let k = i;
      while (k < t.length && t.charCodeAt(k) !== dc && t.charCodeAt(k) !== 10 && t.charCodeAt(k) !== 13) k++;
      value = t.slice(i, k);
      i = k;
    }
    cells.push({ start, end: i, value });
    if (i < t.length && t.charCodeAt(i) === dc) {
      i++;
      continue;
    }
    // The record's end: \r\n, \n or \r, or the text's.
    if (t.charCodeAt(i) === 13) i++;
    if (t.charCodeAt(i) === 10) i++;
    return { cells, next: i };
  }
}

/** The line from `pos`, without its line break, and where the next one starts. */
function lineAt(t: string, pos: number): { line: string; next: number } {
  let end = t.indexOf('\n', pos);
  if (end < 0) end = t.length;
  const next = end < t.length ? end + 1 : end;
  return { line: t.slice(pos, end > pos && t.charCodeAt(end - 1) === 13 ? end - 1 : end), next };
}

function tableSpans(text: string, keys: KeyTagOf, out: TextFieldSpan[]): void {
  // The header: the first line with content, after blank lines, `#` comments and Excel's `sep=`.
  let pos = 0;
  let delimiter: string | undefined;
  for (;;) {
    if (pos >= text.length) return;
    const { line, next } = lineAt(text, pos);
    const bare = line.trim();
    if (bare === '' || bare.startsWith('#')) {
      pos = next;
      continue;
    }
    const sep = /^sep=(.)$/i.exec(bare);
    if (sep && delimiter === undefined) {
      delimiter = sep[1]!;
      pos = next;
      continue;
    }
    // A header names columns: a first line longer than any header is not one (a minified script, a
    // long log line), and is not read four times over as one.
    if (line.length > MAX_HEADER_CHARS) return;
    break;
  }
  const headerStart = pos;
  let best: { d: string; cells: Cell[]; next: number } | undefined;
  for (const d of delimiter !== undefined ? [delimiter] : DELIMITERS) {
    const r = readRecord(text, headerStart, d);
    if (!best || r.cells.length > best.cells.length) best = { d, ...r };
  }
  if (!best) return;
  const tags = best.cells.map((c) => keys(c.value.trim()));
  if (!tags.some((t) => t !== undefined)) return;
  const width = best.cells.length;
  const firstTag = tags.find((t) => t !== undefined)!;
  const form = { csv: best.d } as const;
  for (let p = best.next; p < text.length;) {
    const { cells, next } = readRecord(text, p, best.d);
    if (next <= p) break;
    p = next;
    if (cells.length === 1 && cells[0]!.value === '') continue; // a blank line
    // A record that does not have the header's cells cannot be placed: all of it is masked.
    const misplaced = cells.length !== width;
    for (let i = 0; i < cells.length; i++) {
      const tag = misplaced ? (tags[i] ?? firstTag) : tags[i];
      const c = cells[i]!;
      if (tag === undefined || c.value === '') continue;
      out.push({ start: c.start, end: c.end, tag, value: c.value, form });
    }
  }
}

/**
 * A row of a table drawn with `|` (psql's aligned output, a Markdown or MySQL box) whose cell is a
 * sensitive name: the next cell on the row is its value (`select name, value from settings` prints
 * ` db_password | …`), masked whatever the header was, as a name/value pair is (docs/security.md
 * class 336). Read line by line, so it holds in terminal output too, where a header cannot be told.
 */
function pipeRowSpans(text: string, keys: KeyTagOf, out: TextFieldSpan[]): void {
  let pos = 0;
  while (pos < text.length) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    const bar = text.indexOf('|', pos);
    if (bar >= 0 && bar < end) {
      const edges = [pos - 1];
      for (let i = bar; i < end; i++) if (text.charCodeAt(i) === 124) edges.push(i);
      edges.push(end);
      for (let k = 0; k + 2 < edges.length; k++) {
        const name = text.slice(edges[k]! + 1, edges[k + 1]).trim();
        // A name is one word (a shell pipeline's `grep password` is no cell naming one).
        if (name.length > 256 || !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(name)) continue;
        const tag = keys(name);
        if (tag === undefined) continue;
        let a = edges[k + 1]! + 1;
        let b = edges[k + 2]!;
        while (a < b && /[ \t]/.test(text[a]!)) a++;
        while (b > a && /[ \t\r]/.test(text[b - 1]!)) b--;
        if (b > a) out.push({ start: a, end: b, tag, value: text.slice(a, b), form: 'bare' });
      }
    }
    pos = end + 1;
  }
}

// ---- columns under a header, in a stream ----

/**
 * A table's rule line: psql's `----+----`, a MySQL box's `+----+----+`, a Markdown `|---|:--|`, a box
 * drawn with line-drawing characters (`├────┼────┤`, sqlite3's `-box`).
 */
const RULE_LINE = /^[-+|:= \t─━═┌┬┐├┼┤└┴┘╞╪╡╔╦╗╠╬╣╚╩╝│┃║]*[-=─━═]{3}[-+|:= \t─━═┌┬┐├┼┤└┴┘╞╪╡╔╦╗╠╬╣╚╩╝│┃║]*$/;
/** Cell delimiters of tables in a stream: those of delimited text, and a box's vertical lines. */
const STREAM_DELIMITERS: readonly string[] = [...DELIMITERS, '│', '┃', '║'];
/** A rule of dashes under a header whose columns are placed by position (sqlite3 `-column`, sqlplus). */
const DASH_RULE = /^[ \t]*-+(?:[ \t]+-+)+[ \t]*$/;
/** A column's name in a header: a few words, no `=`, `:`, `/` or brackets (what a value holds). */
const HEADER_CELL = /^[\p{L}\p{N}_$#@?.'"`-]{1,64}(?: [\p{L}\p{N}_$#@?.'"`-]{1,64}){0,3}$/u;
/** Header lines longer than this are not read as one (a minified script, a long log line). */
const MAX_STREAM_HEADER = 4096;

interface StreamHeader {
  readonly d: string;
  readonly width: number;
  readonly tags: readonly (string | undefined)[];
  readonly firstTag: string;
}

/** The line as a header naming a sensitive column (the delimiter that gives the most cells), or undefined. */
function streamHeaderOf(line: string, keys: KeyTagOf): StreamHeader | undefined {
  if (line.length > MAX_STREAM_HEADER) return undefined;
  let best: StreamHeader | undefined;
  for (const d of STREAM_DELIMITERS) {
    if (!line.includes(d)) continue;
    const { cells } = readRecord(line, 0, d);
    if (cells.length < 2 || (best !== undefined && cells.length <= best.width)) continue;
    const tags = cells.map((c) => {
      const name = c.value.trim();
      return HEADER_CELL.test(name) ? keys(name) : undefined;
    });
    const firstTag = tags.find((t) => t !== undefined);
    if (firstTag !== undefined) best = { d, width: cells.length, tags, firstTag };
  }
  return best;
}

/**
 * A header whose columns a rule of dashes under it places by position (sqlite3 `-column`, sqlplus,
 * sqlcmd): each row's text under a sensitive column's dashes is its value. A value wider than its
 * column pushes the rest of the row right, so where the character before the next column is not a
 * blank, the value is masked to the line's end. A blank line ends the table. Undefined when the header
 * names no sensitive column.
 */
function positionalColumnSpans(
  lines: readonly { start: number; line: string }[],
  at: number,
  keys: KeyTagOf,
  out: TextFieldSpan[],
): { next: number; open: boolean } | undefined {
  const header = lines[at]!.line;
  const rule = lines[at + 1]!.line;
  if (header.length > MAX_STREAM_HEADER) return undefined;
  const columns: { start: number; tag: string | undefined }[] = [];
  for (const m of rule.matchAll(/-+/g)) {
    const name = header.slice(m.index, m.index + m[0].length).trim();
    columns.push({ start: m.index, tag: name === '' ? undefined : keys(name) });
  }
  if (!columns.some((c) => c.tag !== undefined)) return undefined;
  let i = at + 2;
  for (; i < lines.length; i++) {
    const { start, line } = lines[i]!;
    if (line.trim() === '') return { next: i, open: false };
    for (let k = 0; k < columns.length; k++) {
      const c = columns[k]!;
      if (c.tag === undefined || c.start >= line.length) continue;
      const following = columns[k + 1];
      let b =
        following === undefined || /[^ \t]/.test(line[following.start - 1] ?? ' ')
          ? line.length
          : following.start;
      let a = c.start;
      while (a < b && /[ \t]/.test(line[a]!)) a++;
      while (b > a && /[ \t]/.test(line[b - 1]!)) b--;
      if (b > a)
        out.push({ start: start + a, end: start + b, tag: c.tag, value: line.slice(a, b), form: 'bare' });
    }
  }
  return { next: i, open: true };
}

/**
 * The tables in `text` whose header row names a sensitive column (CSV, TSV, `;`, psql's and MySQL's
 * `|` tables), read line by line as a stream shows them: below a header, rule lines are skipped and
 * each line holding the delimiter is a row, whose cell in a sensitive column is masked; a row whose
 * cells are not the header's (a value holding the delimiter) cannot be placed, so all its cells are
 * masked. A blank line, or one without the delimiter (psql's `(3 rows)`), ends the table. Reports, by
 * `open`, where the header of a table still going on at the text's end starts (-1: none), for the
 * caller to carry to the next write (docs/security.md class 379).
 */
export function headedColumnSpans(
  text: string,
  keys: KeyTagOf,
  out: TextFieldSpan[],
): { readonly open: number } {
  const lines: { start: number; line: string }[] = [];
  for (let pos = 0; pos < text.length;) {
    let end = text.indexOf('\n', pos);
    if (end < 0) end = text.length;
    const line = text.slice(pos, end > pos && text.charCodeAt(end - 1) === 13 ? end - 1 : end);
    lines.push({ start: pos, line });
    pos = end + 1;
  }
  let open = -1;
  for (let i = 0; i < lines.length;) {
    const { start: headerStart, line: headerLine } = lines[i]!;
    const header = STREAM_DELIMITERS.some((d) => headerLine.includes(d))
      ? streamHeaderOf(headerLine, keys)
      : undefined;
    i++;
    if (header === undefined) {
      const rule = lines[i];
      if (rule !== undefined && DASH_RULE.test(rule.line)) {
        const placed = positionalColumnSpans(lines, i - 1, keys, out);
        if (placed !== undefined) {
          open = placed.open ? headerStart : -1;
          i = placed.next;
        }
      }
      continue;
    }
    // Open until a line ends it: the rows of the next write are this header's.
    open = headerStart;
    for (; i < lines.length; i++) {
      const { start, line } = lines[i]!;
      if (RULE_LINE.test(line)) continue;
      if (line.trim() === '' || !line.includes(header.d)) {
        open = -1;
        break;
      }
      const { cells } = readRecord(line, 0, header.d);
      const misplaced = cells.length !== header.width;
      for (let k = 0; k < cells.length; k++) {
        const tag = misplaced ? (header.tags[k] ?? header.firstTag) : header.tags[k];
        const c = cells[k]!;
        if (tag === undefined) continue;
        let a = c.start;
        let b = c.end;
        while (a < b && /[ \t]/.test(line[a]!)) a++;
        while (b > a && /[ \t]/.test(line[b - 1]!)) b--;
        if (b > a) out.push({ start: start + a, end: start + b, tag, value: line.slice(a, b), form: 'bare' });
      }
    }
  }
  return { open };
}

// ---- key: value and key = value lines ----

/**
 * Indentation, an optional YAML `- `, a key (bare, or quoted: a key with spaces is quoted), then `:` (and
 * a space, or the line's end) or `=`. No two parts can match the same characters (no backtracking).
 */
const KEY_LINE =
  /^([ \t]*)(?:-[ \t]+)?(?:"((?:[^"\\\r\n]|\\.){1,256})"|'([^'\r\n]{1,256})'|([A-Za-z0-9_][A-Za-z0-9_.-]{0,255}))[ \t]*(?:(:)(?=[ \t]|$)|(=))[ \t]*(.*)$/;

/**
 * A YAML block scalar's header: `|` or `>`, with chomping and indentation indicators, maybe a comment,
 * maybe after a tag or an anchor (Ansible Vault's `!vault |`, class 398).
 */
const BLOCK_SCALAR = /^(?:!\S*[ \t]+)?(?:&\S+[ \t]+)?[|>][-+0-9]*[ \t]*(?:#.*)?$/;

/**
 * What a program puts before a line it shows: `cat -n`'s number and tab, grep's `FILE:`, `N:`,
 * `FILE:N:` (`-` on context lines). A `KEY=value` line after it is still a line (class 238).
 */
const LINE_PREFIX = /^(?:[ \t]*\d+\t|[^\s:={}[\]()<>"',;]*(?:[:-]\d+)?[:-])(?=[A-Za-z_"'])/;

/** KEY_LINE on a line, or on its `KEY=value` after a program's prefix (LINE_PREFIX). */
function keyLine(line: string): RegExpExecArray | null {
  const m = KEY_LINE.exec(line);
  if (m !== null) return m;
  const prefix = LINE_PREFIX.exec(line);
  if (prefix === null) return null;
  const after = KEY_LINE.exec(line.slice(prefix[0].length));
  // `=` and not `=>` (an arrow: `{:api_key => 1}` is a Ruby hash, read by the literal readers).
  return after !== null && after[6] !== undefined && !after[7]!.startsWith('>') ? after : null;
}

/** The key a KEY_LINE match names, its quotes read. */
function lineKeyOf(m: RegExpExecArray): string {
  return m[2] !== undefined ? jsonString(`"${m[2]}"`) : (m[3] ?? m[4]!);
}

/** Whether a `key:` line's value (as written after the `:`) opens a block on the lines below it. */
function opensBlock(value: string): boolean {
  return value === '' || value.startsWith('#') || BLOCK_SCALAR.test(value);
}

function lineSpans(text: string, keys: KeyTagOf, out: TextFieldSpan[]): void {
  let pos = 0;
  while (pos < text.length) {
    const { line, next } = lineAt(text, pos);
    const m = keyLine(line);
    if (m === null) {
      pos = next;
      continue;
    }
    const tag = keys(lineKeyOf(m));
    if (tag === undefined) {
      pos = next;
      continue;
    }
    const colon = m[5] !== undefined;
    const rest = m[7]!;
    const restAt = pos + line.length - rest.length;
    // A NUL ends the value (`/proc/<pid>/environ` is one line of NUL-separated pairs).
    const nul = rest.indexOf('\0');
    const value = (nul >= 0 ? rest.slice(0, nul) : rest).trimEnd();
    const indent = m[1]!.length;
    if (colon && opensBlock(value)) {
      // The lines indented below the key (blank ones inside it too) are its value.
      let end = next;
      let last = -1;
      let blockIndent = '';
      let p = next;
      while (p < text.length) {
        const l = lineAt(text, p);
        if (l.line.trim() === '') {
          p = l.next;
          continue;
        }
        const lead = /^[ \t]*/.exec(l.line)![0];
        if (lead.length <= indent) break;
        if (last < 0) blockIndent = lead;
        last = p + l.line.length;
        end = l.next;
        p = l.next;
      }
      if (last >= 0) {
        const start = next;
        const body = text.slice(start, last);
        out.push({
          start,
          end: last,
          tag,
          value: body.trim(),
          form: BLOCK_SCALAR.test(value) ? 'bare' : 'yaml',
          prefix: blockIndent,
        });
        pos = end;
        continue;
      }
      pos = next;
      continue;
    }
    const c = value.charCodeAt(0);
    if (c === 34 || c === 39 || c === 123 || c === 91) {
      // A quoted string or a flow collection: to its end (which may be on a later line).
      const end = valueEnd(text, restAt);
      const raw = text.slice(restAt, end);
      const form: SpanForm = c === 39 ? 'single' : 'json';
      const read = c === 34 ? jsonString(raw) : c === 39 ? raw.slice(1, -1).replace(/''/g, "'") : raw;
      out.push({ start: restAt, end, tag, value: read, form: c === 123 || c === 91 ? 'yaml' : form });
      pos = Math.max(next, lineStartAfter(text, end));
      continue;
    }
    // A heredoc's opener is not the value; its body is (heredocSpans).
    if (value !== '' && !opensHeredoc(value)) {
      out.push({ start: restAt, end: restAt + value.length, tag, value, form: colon ? 'yaml' : 'bare' });
    }
    pos = next;
  }
}

/** The start of the line after the one holding `at` (or the text's end). */
function lineStartAfter(t: string, at: number): number {
  const nl = t.indexOf('\n', Math.max(0, at - 1));
  return nl < 0 ? t.length : nl + 1;
}

// ---- key=value pairs ----

// A name begins after any character a name is not made of: a blank, `?`, `&`, `;`, a NUL
// (`/proc/<pid>/environ` and `env -0` print `KEY=value\0KEY=value`), a `(` (a Python repr,
// `User(password='…', …)`, class 209), but also the `2:` and `file:` grep puts before a line, the quote
// of a compose file's `- "DB_PASSWORD=…"` or of an error naming it (`ls: cannot access 'KEY=…'`), a
// `[`, `<`, `{`, `|` or `/` a program printed around it (class 237). The character before the name is
// looked at, not taken: a name right after another's `=` (`nl -s=`'s `1=DB_PASSWORD=…`) still begins
// after it (class 282).
// A name may also stand apart from its `=` by blanks (`password = …`: INI, TOML, .properties, Python
// settings), as a line's start reads it (KEY_LINE), after whatever a program put before the line:
// diff's `> `, git diff's `+`, grep's `file:` and tab or NUL (class 283). Not `==`, `=>` or `=~`.
// A bracketed key (`[password]="…"`: bash's `declare -p` of an associative array, `a[token]=…`) is a
// name before `=` too (docs/security.md class 335).
// Make's `?=` and `+=` and R's `<-` (blanks around it, a quoted value after it) assign too (class 398).
const PAIR =
  /(?<![A-Za-z0-9_%])([A-Za-z0-9_%][A-Za-z0-9_.\-%]{0,255})(?:=|(?<=\[[A-Za-z0-9_.\-%]{1,256})\]=|[ \t]+=(?![=>~])[ \t]*|[ \t]*[?+]=[ \t]*|[ \t]+<-[ \t]+(?=["']))/g;

function pairSpans(text: string, keys: KeyTagOf, out: TextFieldSpan[]): void {
  const re = new RegExp(PAIR.source, 'gm');
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    let key = m[1]!;
    if (key.includes('%')) {
      try {
        key = decodeURIComponent(key);
      } catch {
        // Not percent-encoding after all: read as written.
      }
    }
    const tag = keys(key);
    if (tag === undefined) continue;
    const start = re.lastIndex;
    // The match starts at the key (the character before it is looked at, not taken).
    const keyAt = m.index;
    const before = text.charCodeAt(keyAt - 1);
    // A Ruby hash's symbol key (`:password=>"…"`) is read by the literal readers (class 219).
    if (text.charCodeAt(start) === 62 && before === 58) continue;
    // A heredoc's opener is not the value; its body is (heredocSpans).
    if (text.startsWith('<<', start) && opensHeredoc(text.slice(start, lineAt(text, start).next))) continue;
    const c = text.charCodeAt(start);
    // In a URL's query (after `?` or `&`) a value holds no blank: it ends at the first one.
    const end =
      c === 34 || c === 39
        ? quotedValueSpan(text, start, tag, out)
        : pushBare(
            text,
            start,
            before === 63 || before === 38 ? bareWordEnd(text, start) : pairValueEnd(text, start, keyAt),
            tag,
            out,
          );
    re.lastIndex = Math.max(end, start);
  }
}

/**
 * A quoted value at `start` after `key=` or `key:`, pushed on `out`; returns where it ends. A repr
 * escapes a quote with a backslash (`'a\'b'`): masked to the further of the two ends.
 */
function quotedValueSpan(text: string, start: number, tag: string, out: TextFieldSpan[]): number {
  const double = text.charCodeAt(start) === 34;
  const end = Math.max(valueEnd(text, start), escapedQuoteEnd(text, start));
  const raw = text.slice(start, end);
  out.push({
    start,
    end,
    tag,
    value: double ? jsonString(raw) : raw.slice(1, -1),
    form: double ? 'json' : 'single',
  });
  return end;
}

/** A bare value `[start, end)`, pushed on `out` when not empty; returns `end`. */
function pushBare(text: string, start: number, end: number, tag: string, out: TextFieldSpan[]): number {
  if (end > start) out.push({ start, end, tag, value: text.slice(start, end), form: 'bare' });
  return end;
}

/**
 * Where a bare value after a name's `=` (or `:` with no blank) ends in running text: at the line's end,
 * a NUL, or before the next `name=` or `name:` on its line (after a blank, `&`, `;` or `,`): a value with blanks
 * in it is masked whole (`… DB_PASSWORD=correct horse battery staple` in a log line, behind
 * `journalctl`'s or `docker logs -t`'s prefix), and logfmt's `password=x user=bob` keeps `user=bob`,
 * a command line's `--password=x --port 8080` its `--port 8080`; inside a double-quoted string opened
 * before the name, to the string's closing quote (`msg="password=x rejected" user=bob`).
 * Trailing blanks, and a `;` or `,` ending it, are not part of it (docs/security.md, class 262).
 * Linear: each character is looked at at most twice (as a possible next name, then skipped past).
 */
function pairValueEnd(text: string, start: number, keyAt: number): number {
  const quoted = insideQuotes(text, keyAt);
  let i = start;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 13 || c === 0) break;
    // Inside a quoted string (`msg="… password=x rejected"`, a warning's text): to its closing quote.
    if (quoted && c === 34 && text.charCodeAt(i - 1) !== 92) break;
    if (c === 32 || c === 9 || c === 38 || c === 59 || c === 44) {
      // A name after the separator and then `=`: the next pair begins here.
      let j = i + 1;
      while (
        j < text.length &&
        (c === 32 || c === 9) &&
        (text.charCodeAt(j) === 32 || text.charCodeAt(j) === 9)
      )
        j++;
      const nameAt = j;
      while (j < text.length && NAME_CHAR.test(text[j]!)) j++;
      if (j > nameAt && text.charCodeAt(j) === 61 && text.charCodeAt(j + 1) !== 61) break;
      // A `name:` (holding a letter; not `::`, `:/` or a time's `10:30`) is the next field too.
      if (
        j > nameAt &&
        text.charCodeAt(j) === 58 &&
        !/[:/]/.test(text[j + 1] ?? '') &&
        /[A-Za-z_]/.test(text.slice(nameAt, j))
      )
        break;
      // After a blank, an option (`-h`, `--port`): a command line's next argument (`ps`, a log of one).
      if ((c === 32 || c === 9) && text.charCodeAt(nameAt) === 45 && /[-A-Za-z]/.test(text[nameAt + 1] ?? ''))
        break;
      i = Math.max(i + 1, j);
      continue;
    }
    i++;
  }
  let end = i;
  while (end > start && /[ \t;,]/.test(text[end - 1]!)) end--;
  return end;
}

const NAME_CHAR = /[A-Za-z0-9_.%-]/;

/**
 * Whether `at` is inside a double-quoted string opened earlier on its line (an odd number of unescaped
 * `"` between the line's start and `at`; a line's first 4096 characters before `at` are counted).
 */
function insideQuotes(text: string, at: number): boolean {
  let inside = false;
  const stop = Math.max(0, at - 4096);
  for (let i = at - 1; i >= stop; i--) {
    const c = text.charCodeAt(i);
    if (c === 10 || c === 13) break;
    if (c === 34 && text.charCodeAt(i - 1) !== 92) inside = !inside;
  }
  return inside;
}

/** To whitespace, a NUL or `&`: a `;` or `,` inside is kept in the value (masked), one ending it is not. */
function bareWordEnd(text: string, start: number): number {
  let end = start;
  while (end < text.length && !/[\s&\0]/.test(text[end]!)) end++;
  if (end > start + 1 && /[;,]/.test(text[end - 1]!)) end--;
  return end;
}

// ---- a quoted name in brackets before `=` (docs/security.md, class 346) ----

/**
 * `["db password"]=` and `['api_key']=`: bash prints an associative array's keys so (`declare -p`,
 * quoted when they hold a blank or a shell character), and zsh and awk scripts assign them so; and with
 * blanks around the `=` (not `==`, `=>`, `=~`), as Python, Ruby, PHP and JavaScript assign a
 * subscript: `os.environ["DB_PASSWORD"] = "…"`, `$config['db_password'] = '…';` (class 398).
 */
const QUOTED_BRACKET_KEY =
  /\[[ \t]*(["'])((?:(?!\1)[^\r\n\\]){1,256})\1[ \t]*\](?:=|[ \t]+=(?![=>~]))[ \t]*/g;

function quotedBracketKeySpans(text: string, keys: KeyTagOf, out: TextFieldSpan[]): void {
  if (text.includes(']')) wordValueSpans(text, QUOTED_BRACKET_KEY, 2, keys, out);
}

/**
 * For each match of `pattern` whose group `group` is a sensitive name, the value right after the match:
 * a quoted string to its closing quote, or a bare word.
 */
function wordValueSpans(
  text: string,
  pattern: RegExp,
  group: number,
  keys: KeyTagOf,
  out: TextFieldSpan[],
): void {
  const re = new RegExp(pattern.source, 'g');
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const tag = keys(m[group]!);
    if (tag === undefined) continue;
    const start = re.lastIndex;
    const c = text.charCodeAt(start);
    const end =
      c === 34 || c === 39
        ? quotedValueSpan(text, start, tag, out)
        : pushBare(text, start, bareWordEnd(text, start), tag, out);
    re.lastIndex = Math.max(end, start);
  }
}

// ---- `key: value` anywhere in a line (docs/security.md, class 240) ----

/**
 * A bare key after the text's start or any character a key is not made of (a blank, grep's `3:`
 * and `file:` prefixes, a quote; after `{`, `,`, `(` or `[` it is an object literal's: LITERAL_KEY,
 * MINIFIED_KEY), then `:` (blanks before and after it
 * allowed; not `::` or `:/`): a log line's `user=bob password: hunter2`, curl's
 * `> Authorization: Bearer …`, `token:abc` at a line's start. A key with a blank after its `:` has
 * its value to where a JSON value would end (a `,`, `}`, `]` or the line's end: `Bearer …` whole); one
 * followed at once by its value has it as a pair's (`pairValueEnd`); a quoted value to its closing quote.
 * text-features.ts counts such a `:` (`keyRunBit`: a key-like run holding a letter, `_` or `$`).
 * The character before the key is looked at, not taken, and neither blocks nor matches the next key: after
 * grep's `app.yml:` (and the blanks of an indented YAML line) the next key still begins (class 282).
 */
const COLON_PAIR =
  /(?<![A-Za-z0-9_.-])([A-Za-z_](?:[A-Za-z0-9_.-]{0,254}[A-Za-z0-9_-])?)[ \t]*:(?![:/])([ \t]*)/gm;

/** A word and one blank before a key: the key's first word (`Secret Key:`, `API key:`, class 399). */
const WORD_BEFORE = /(?:^|[^A-Za-z0-9_.-])([A-Za-z][A-Za-z0-9]{0,31}) $/;

function colonPairSpans(text: string, keys: KeyTagOf, out: TextFieldSpan[]): void {
  const re = new RegExp(COLON_PAIR.source, COLON_PAIR.flags);
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    // The match starts at the key (the character before it is looked at, not taken).
    let keyAt = m.index + m[0].indexOf(m[1]!);
    let tag = keys(m[1]!);
    // A key of two words, as a tool prints a label (`Secret Key: …`, `Client Secret: …`): read with the
    // word before it when the last alone names nothing.
    let words = false;
    if (tag === undefined && text.charCodeAt(keyAt - 1) === 32 && /[A-Za-z0-9]/.test(text[keyAt - 2] ?? '')) {
      const w = WORD_BEFORE.exec(text.slice(Math.max(0, keyAt - 34), keyAt));
      if (w !== null) {
        tag = keys(`${w[1]!} ${m[1]!}`);
        if (tag !== undefined) {
          keyAt -= w[1]!.length + 1;
          words = true;
        }
      }
    }
    if (tag === undefined) continue;
    // After `{`, `,`, `(` or `[` and blanks the key is an object literal's, its value read there.
    let b = keyAt - 1;
    while (b >= 0 && /[ \t\r\n]/.test(text[b]!)) b--;
    if (b >= 0 && /[{,([]/.test(text[b]!)) continue;
    // A line's key followed by a blank or the line's end is lineSpans' (a YAML block after `key: |`).
    // (A key of two words is no line's key there: it is read here.)
    const next = text.charCodeAt(re.lastIndex);
    if (
      !words &&
      (m[2]!.length > 0 || Number.isNaN(next) || next === 10 || next === 13) &&
      startsLine(text, keyAt)
    )
      continue;
    const start = re.lastIndex;
    const c = text.charCodeAt(start);
    const end =
      c === 34 || c === 39
        ? quotedValueSpan(text, start, tag, out)
        : pushBare(
            text,
            start,
            m[2]!.length > 0 || c === 123 || c === 91
              ? valueEnd(text, start)
              : pairValueEnd(text, start, keyAt),
            tag,
            out,
          );
    re.lastIndex = Math.max(end, start);
  }
}

/** Whether only blanks and a YAML `- ` stand between the line's start and `at` (a bounded look back). */
function startsLine(text: string, at: number): boolean {
  let i = at - 1;
  while (i >= 0 && (text[i] === ' ' || text[i] === '\t')) i--;
  if (i >= 0 && text[i] === '-' && i < at - 1) {
    i--;
    while (i >= 0 && (text[i] === ' ' || text[i] === '\t')) i--;
  }
  return i < 0 || text[i] === '\n';
}

// ---- a name/value pair naming a secret (docs/security.md, class 287) ----

/**
 * A list item that names a variable and holds its value under another key: a Kubernetes container's
 * `env` (`- name: DB_PASSWORD` and `value: …` below it, in either order), an ECS task definition's or a
 * tag list's `{"name": "DB_PASSWORD", "value": "…"}` (`Name`/`Value`, `key`/`value`). The sensitive name
 * is a value there, and the secret sits under `value`, which no field name masks.
 */
const NAME_KEYS = '(?:name|Name|key|Key)';
const VALUE_KEYS = '(?:value|Value)';
const NAME_LINE = new RegExp(
  `^([ \\t]*)(-[ \\t]+)?${NAME_KEYS}[ \\t]*:[ \\t]*(["']?)([A-Za-z_][A-Za-z0-9_.-]{0,255})\\3[ \\t]*\\r?$`,
);
const VALUE_LINE = new RegExp(`^([ \\t]*)(-[ \\t]+)?${VALUE_KEYS}[ \\t]*:[ \\t]*`);
const JSON_NAME = new RegExp(`"${NAME_KEYS}"[ \\t\\r\\n]*:[ \\t\\r\\n]*"([^"\\\\\\r\\n]{1,256})"`, 'g');
const JSON_VALUE = new RegExp(`"${VALUE_KEYS}"[ \\t\\r\\n]*:[ \\t\\r\\n]*`, 'g');
/** Lines looked at on each side of a `name:` line for its item's `value:`. */
const ITEM_LINES = 64;
/** Characters looked at on each side of a JSON `"name"` for its object's `"value"`. */
const ITEM_CHARS = 4096;

/** The column where a YAML line's key starts (after its indentation and a `- `), and whether it opens an item. */
function keyColumn(line: string): { col: number; item: boolean } {
  const m = /^([ \t]*)(-[ \t]+)?/.exec(line)!;
  return { col: m[0].length, item: m[2] !== undefined };
}

function nameValueSpans(text: string, keys: KeyTagOf, out: TextFieldSpan[]): void {
  if (/(?:name|Name|key|Key)/.test(text) && /(?:value|Value)/.test(text)) {
    yamlNameValueSpans(text, keys, out);
    jsonNameValueSpans(text, keys, out);
  }
}

function yamlNameValueSpans(text: string, keys: KeyTagOf, out: TextFieldSpan[]): void {
  const starts: number[] = [];
  for (let p = 0; p < text.length; p = lineAt(text, p).next) starts.push(p);
  const lines = starts.map((p) => lineAt(text, p).line);
  lines.forEach((line, i) => {
    const m = NAME_LINE.exec(line);
    if (m === null) return;
    const tag = keys(m[4]!);
    if (tag === undefined) return;
    const { col, item } = keyColumn(line);
    // The item's other keys: the lines at the same key column, back to the line that opened the item
    // and on to the next item or a line indented less; lines indented more belong to their keys.
    const sibling = (j: number): boolean | undefined => {
      const l = lines[j]!;
      if (l.trim() === '') return false;
      const k = keyColumn(l);
      if (k.col < col || (k.item && k.col === col && j > i)) return undefined;
      return k.col === col;
    };
    const look = (j: number): void => {
      const v = VALUE_LINE.exec(lines[j]!);
      if (v === null || keyColumn(lines[j]!).col !== col) return;
      const start = starts[j]! + v[0].length;
      const c = text.charCodeAt(start);
      if (c === 34 || c === 39) quotedValueSpan(text, start, tag, out);
      else {
        const value = lines[j]!.slice(v[0].length).replace(/[ \t\r]+$/, '');
        if (value !== '' && !value.startsWith('#'))
          out.push({ start, end: start + value.length, tag, value, form: 'yaml' });
      }
    };
    for (let j = i + 1; j < lines.length && j <= i + ITEM_LINES; j++) {
      const s = sibling(j);
      if (s === undefined) break;
      if (s) look(j);
    }
    if (!item)
      for (let j = i - 1; j >= 0 && j >= i - ITEM_LINES; j--) {
        const k = keyColumn(lines[j]!);
        if (lines[j]!.trim() === '') continue;
        if (k.col < col) break;
        if (k.col === col) look(j);
        if (k.item && k.col === col) break;
      }
  });
}

function jsonNameValueSpans(text: string, keys: KeyTagOf, out: TextFieldSpan[]): void {
  if (!text.includes('"')) return;
  const re = new RegExp(JSON_NAME.source, 'g');
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const tag = keys(m[1]!);
    if (tag === undefined) continue;
    // The object holding the pair: from the `{` before the name to the `}` after it (a brace inside a
    // string value of the same object cuts the window short; more is not read, not less masked).
    const open = text.lastIndexOf('{', m.index);
    const close = text.indexOf('}', re.lastIndex);
    const from = open < 0 || m.index - open > ITEM_CHARS ? Math.max(0, m.index - ITEM_CHARS) : open;
    const to =
      close < 0 || close - re.lastIndex > ITEM_CHARS
        ? Math.min(text.length, re.lastIndex + ITEM_CHARS)
        : close;
    const vr = new RegExp(JSON_VALUE.source, 'g');
    vr.lastIndex = from;
    for (let v = vr.exec(text); v !== null && v.index < to; v = vr.exec(text)) {
      if (v.index >= m.index && v.index < re.lastIndex) continue;
      const start = vr.lastIndex;
      const c = text.charCodeAt(start);
      if (c === 34) quotedValueSpan(text, start, tag, out);
      else pushBare(text, start, valueEnd(text, start), tag, out);
    }
  }
}

// ---- a quoted value after its name in code and SQL (docs/security.md, class 265) ----

/**
 * A name (bare, after `$`, `@`, `.` or any character a name is not made of; or quoted) and then, before a
 * quoted string: an assignment's `=` or `:=` (not `==`, `=>`, `=~`: `$password = '…'`, `const password =
 * "…"`, Go's `password := "…"`, `self.api_key = '…'`), only blanks (SQL's `PASSWORD '…'`, `set password
 * "…"`), or, for a quoted name just inside a call's `(`, a `,` (PHP's `define('DB_PASSWORD', '…')`,
 * `setenv("API_KEY", "…")`, `ENV.fetch('DB_PASSWORD', '…')`). The string is the value.
 */
const CODE_STRING =
  /(?:^|[^A-Za-z0-9_(]|(?=\())(\([ \t]*)?(['"]?)([A-Za-z_][A-Za-z0-9_]{0,255})\2[ \t]*(:=|=(?![=>~])|,)?[ \t]*(?=['"])/gm;

/** MySQL's and Oracle's `IDENTIFIED [WITH plugin] BY '…'`: a password, whatever names the user. */
const IDENTIFIED_BY = /\bIDENTIFIED[ \t]+(?:WITH[ \t]+[A-Za-z0-9_'"`]{1,64}[ \t]+)?BY[ \t]+(?=['"])/gi;

function codeStringSpans(text: string, keys: KeyTagOf, out: TextFieldSpan[]): void {
  if (!text.includes("'") && !text.includes('"')) return;
  const re = new RegExp(CODE_STRING.source, CODE_STRING.flags);
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const [, call, quote, key, op] = m;
    // A `,` only after a quoted name just inside a call; no operator only after a bare name and a blank.
    if (
      op === ','
        ? call === undefined || quote === ''
        : op === undefined && (quote !== '' || !/[ \t]$/.test(m[0]))
    )
      continue;
    const tag = keys(key!);
    if (tag === undefined) continue;
    re.lastIndex = Math.max(quotedValueSpan(text, re.lastIndex, tag, out), re.lastIndex);
  }
  if (!/identified/i.test(text)) return;
  const by = new RegExp(IDENTIFIED_BY.source, IDENTIFIED_BY.flags);
  for (let m = by.exec(text); m !== null; m = by.exec(text))
    by.lastIndex = Math.max(quotedValueSpan(text, by.lastIndex, 'password', out), by.lastIndex);
}

// ---- `key value` directives in terminal output (docs/security.md, class 266) ----

/**
 * An instruction that sets a variable with a blank between its name and value, the value to the line's
 * end: a Dockerfile's legacy `ENV NAME value` (instructions in any case), csh's `setenv NAME value`
 * (class 288). `ENV NAME=value` is a pair's (PAIR).
 */
const ENV_DIRECTIVE =
  /^([ \t]*(?:ENV|setenv|set[ \t]+-[A-Za-z]*x[A-Za-z]*)[ \t]+)([A-Za-z_][A-Za-z0-9_.-]{0,255})([ \t]+)([^=\s].*?)[ \t]*\r?$/i;

/** A line that is a sensitive name, blanks and one word: a config directive (`requirepass …`). */
const DIRECTIVE_LINE = /^([ \t]*)([A-Za-z_][A-Za-z0-9_.-]{0,63})[ \t]+(\S{1,4096})[ \t]*\r?$/;

/**
 * A `.pgpass` line: `host:port:database:user:password`, the port a number or `*`, no field empty, and
 * no `=`, `@` (or `/` but in a socket directory's host) before the password: grep's `file:12:` before
 * `KEY=postgres://…` is not one.
 */
const PGPASS_LINE = /^[ \t]*[^:\s=@]+:(?:\d{1,5}|\*):[^:\s=@/]+:[^:\s=@/]+:\S+[ \t]*\r?$/;

/** A `.netrc` line (`machine h login u password p`, or `default …`): its `password` and `account`. */
const NETRC_LINE = /^[ \t]*(?:machine|default)\b/;
const NETRC_PAIR = /(?:^|[ \t])(password|account)[ \t]+(\S+)/g;

/**
 * Values a config file names with a blank instead of `=` or `:`, read in terminal output only (a file
 * printed over SSH): a line of a sensitive name and one word (redis.conf's `requirepass …` and
 * `masterauth …`, a multi-line `.netrc`'s `password …`), a one-line `.netrc`'s `password` and
 * `account`, a `.pgpass` line's last field, and passwords on command lines (commandLineSpans). Each line
 * is looked at once.
 */
export function directiveSpans(text: string, keys: KeyTagOf): TextFieldSpan[] {
  const out: TextFieldSpan[] = [];
  let pos = 0;
  while (pos < text.length) {
    const { line, next } = lineAt(text, pos);
    if (line.length <= 8192) {
      const m = DIRECTIVE_LINE.exec(line);
      const tag = m === null ? undefined : keys(m[2]!);
      const e = ENV_DIRECTIVE.exec(line);
      const envTag = e === null ? undefined : keys(e[2]!);
      if (e !== null && envTag !== undefined) {
        const start = pos + e[1]!.length + e[2]!.length + e[3]!.length;
        out.push({ start, end: start + e[4]!.length, tag: envTag, value: e[4]!, form: 'bare' });
      } else if (m !== null && tag !== undefined) {
        const start =
          pos + m[1]!.length + m[2]!.length + line.slice(m[1]!.length + m[2]!.length).search(/\S/);
        out.push({ start, end: start + m[3]!.length, tag, value: m[3]!, form: 'bare' });
      } else if (PGPASS_LINE.test(line)) {
        // A `.pgpass` line, `host:port:database:user:password`: all after the fourth `:` (a password
        // may hold more).
        let at = -1;
        for (let k = 0; k < 4; k++) at = line.indexOf(':', at + 1);
        at += 1;
        const value = line.slice(at).trimEnd();
        out.push({ start: pos + at, end: pos + at + value.length, tag: 'password', value, form: 'bare' });
      } else if (PASSWORD_PROGRAM.test(line)) {
        out.push(...commandLineSpans(line, pos));
      } else if (NETRC_LINE.test(line)) {
        const re = new RegExp(NETRC_PAIR.source, 'g');
        for (let p = re.exec(line); p !== null; p = re.exec(line)) {
          const start = pos + p.index + p[0].length - p[2]!.length;
          out.push({ start, end: start + p[2]!.length, tag: 'password', value: p[2]!, form: 'bare' });
        }
      }
    }
    pos = next;
  }
  return out;
}

/**
 * Programs that take a password on their command line, and how: `-p<password>` attached (mysql's family:
 * `-p password` asks for one and reads `password` as a database), an option and the next word, or an
 * option whose value ends in the password (`curl -u user:<password>`, openssl's `pass:<password>`).
 */
const PASSWORD_OPTIONS: Readonly<
  Record<string, { attached?: string; next?: readonly string[]; after?: string }>
> = {
  mysql: { attached: '-p' },
  mysqldump: { attached: '-p' },
  mysqladmin: { attached: '-p' },
  mysqlimport: { attached: '-p' },
  mysqlcheck: { attached: '-p' },
  mariadb: { attached: '-p' },
  'mariadb-dump': { attached: '-p' },
  sshpass: { attached: '-p', next: ['-p'] },
  'redis-cli': { attached: '-a', next: ['-a', '--pass'] },
  mongo: { next: ['-p', '--password'] },
  mongosh: { next: ['-p', '--password'] },
  mongodump: { next: ['-p', '--password'] },
  mongorestore: { next: ['-p', '--password'] },
  sqlcmd: { next: ['-P'] },
  bcp: { next: ['-P'] },
  ldapsearch: { next: ['-w'] },
  ldapmodify: { next: ['-w'] },
  ldapadd: { next: ['-w'] },
  docker: { next: ['-p', '--password'] },
  podman: { next: ['-p', '--password'] },
  curl: { next: ['-u', '--user', '--proxy-user', '-U'], after: ':' },
  openssl: { next: ['-passin', '-passout', '-pass', '-k'], after: 'pass:' },
};

/** A line that may run one of PASSWORD_OPTIONS' programs (a cheap test before its words are read). */
const PASSWORD_PROGRAM = new RegExp(
  `(?:^|[\\s/;|&(\x60"'])(?:${Object.keys(PASSWORD_OPTIONS)
    .map((k) => k.replace(/[-]/g, '\\-'))
    .join('|')})(?=[\\s"'])`,
);

/** The words of a line with where each starts (split at blanks; a quoted word to its closing quote). */
function lineWords(line: string): { text: string; at: number }[] {
  const words: { text: string; at: number }[] = [];
  const re = /(?:[^\s"']|"[^"]*"?|'[^']*'?)+/g;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) words.push({ text: m[0], at: m.index });
  return words;
}

/** A value's span in a word, its quotes left out. */
function unquotedSpan(word: string, from: number): [number, number] {
  const c = word[from];
  if ((c === '"' || c === "'") && word.endsWith(c) && word.length > from + 1)
    return [from + 1, word.length - 1];
  return [from, word.length];
}

/** The passwords a command line gives the programs of PASSWORD_OPTIONS (class 267). */
function commandLineSpans(line: string, lineStart: number): TextFieldSpan[] {
  const out: TextFieldSpan[] = [];
  const words = lineWords(line);
  let spec: (typeof PASSWORD_OPTIONS)[string] | undefined;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!.text;
    // A command ends at a separator; the next word may start another.
    if (/^(?:;|\||&&|\|\||&)$/.test(w)) {
      spec = undefined;
      continue;
    }
    const base = w.replace(/^.*\//, '');
    if (Object.hasOwn(PASSWORD_OPTIONS, base)) {
      // docker's and podman's `-p` is a password for `login` only (`docker run -p 80:80` publishes a port).
      spec =
        (base === 'docker' || base === 'podman') && words[i + 1]?.text !== 'login'
          ? undefined
          : PASSWORD_OPTIONS[base];
      continue;
    }
    if (spec === undefined) continue;
    let value: { word: number; from: number } | undefined;
    if (spec.next?.includes(w) && i + 1 < words.length) value = { word: i + 1, from: 0 };
    else if (
      spec.attached !== undefined &&
      w.startsWith(spec.attached) &&
      w.length > spec.attached.length &&
      !w.startsWith('--')
    )
      value = { word: i, from: spec.attached.length };
    if (value === undefined) continue;
    const word = words[value.word]!;
    const [from, b] = unquotedSpan(word.text, value.from);
    let a = from;
    if (spec.after !== undefined) {
      const k = word.text.indexOf(spec.after, a);
      if (k < 0 || k + spec.after.length >= b) continue;
      a = k + spec.after.length;
    }
    if (b <= a) continue;
    out.push({
      start: lineStart + word.at + a,
      end: lineStart + word.at + b,
      tag: 'password',
      value: word.text.slice(a, b),
      form: 'bare',
    });
    if (value.word > i) i = value.word;
  }
  return out;
}

/**
 * Docker's and Podman's `config.json`: `"auth": "<base64 of user:password>"` (and `"identitytoken"`), a
 * credential under a name too common to mask everywhere; read where its value decodes to `user:…`, in
 * terminal output (class 266).
 */
const REGISTRY_AUTH = /"(auth|identitytoken)"[ \t]*:[ \t]*"([A-Za-z0-9+/=_-]{4,8192})"/gi;

export function registryAuthSpans(text: string): TextFieldSpan[] {
  const out: TextFieldSpan[] = [];
  if (!/"(?:auth|identitytoken)"/i.test(text)) return out;
  const re = new RegExp(REGISTRY_AUTH.source, REGISTRY_AUTH.flags);
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const value = m[2]!;
    const token = m[1]!.toLowerCase() === 'identitytoken';
    if (!token && !Buffer.from(value, 'base64').toString('latin1').includes(':')) continue;
    const start = m.index + m[0].length - 1 - value.length;
    out.push({ start, end: start + value.length, tag: 'password', value, form: 'bare' });
  }
  return out;
}

// ---- XML elements (docs/security.md, class 241) ----

/**
 * An XML start tag (`<password>`, `<ns:Password attr="…">`; not `</…>`, `<?…?>`, `<!…>` or one that
 * closes itself): its local name is read as a field's name, and the element's content, to its end
 * tag, is its value: Maven's `<password>…</password>`, a SOAP answer's, an AWS query API's XML.
 */
const XML_START = /<((?:[A-Za-z_][\w.-]{0,255}:)?([A-Za-z_][\w.-]{0,255}))(?:\s[^<>]{0,4096}?)?(\/?)>/g;

function xmlElementSpans(text: string, keys: KeyTagOf, out: TextFieldSpan[]): void {
  const re = new RegExp(XML_START.source, 'g');
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[3] === '/') continue;
    const tag = keys(m[2]!);
    if (tag === undefined) continue;
    re.lastIndex = elementContentSpan(text, m[1]!, re.lastIndex, tag, out);
  }
}

/**
 * The content of element `qname` from `start` (after its start tag) to its end tag, its name as the
 * start tag wrote it (case aside), pushed as one span; with no end tag, to the text's end: more is
 * masked rather than less. Nested elements inside it are part of the value; CDATA or not, the content
 * is the value, and blanks around it stay. Returns where the content ends (the end tag's start).
 */
function elementContentSpan(
  text: string,
  qname: string,
  start: number,
  tag: string,
  out: TextFieldSpan[],
): number {
  const c = xmlEndTag(text, qname, start);
  let end = c === null ? text.length : c.index;
  const stop = end;
  let s = start;
  while (s < end && /\s/.test(text[s]!)) s++;
  while (end > s && /\s/.test(text[end - 1]!)) end--;
  if (end > s) out.push({ start: s, end, tag, value: text.slice(s, end), form: 'bare' });
  return stop;
}

/** The first end tag of element `qname` in `text` from `from` on (its name as written, case aside), or null. */
function xmlEndTag(text: string, qname: string, from: number): RegExpExecArray | null {
  const close = new RegExp(`</${qname.replace(/[.]/g, '\\.')}\\s*>`, 'gi');
  close.lastIndex = from;
  return close.exec(text);
}

// ---- heredocs, sibling elements and options naming a secret (docs/security.md, class 398) ----

/** A heredoc's opener: `<<WORD`, `<<-WORD`, `<<~WORD` (Ruby's and HCL's), the word maybe quoted. */
const HEREDOC_OPEN = /<<([-~]?)[ \t]*(["']?)([A-Za-z_][A-Za-z0-9_]{0,63})\2/y;

/**
 * A sensitive name assigned a heredoc: `db_password = <<-EOF` (HCL, Ruby), `DB_PASSWORD=$(cat <<'EOF'`
 * (a shell), `x["password"] = <<~EOS`, `password: <<EOF`. The name, the operator, then the opener.
 */
const HEREDOC_AFTER_NAME =
  /(?<![A-Za-z0-9_.-])([A-Za-z_][A-Za-z0-9_.-]{0,255})(?:["']?\]|["'])?[ \t]*[=:][ \t]*(?:\$\([ \t]*cat[ \t]*)?(?=<<[-~]?[ \t]*["']?[A-Za-z_])/g;

/** Whether `value` (a line's rest) is a heredoc's opener alone: `<<EOF`, `<<-'EOF'`, `<<~EOS`. */
function opensHeredoc(value: string): boolean {
  const re = new RegExp(HEREDOC_OPEN.source, 'y');
  return re.exec(value) !== null && value.slice(re.lastIndex).trim() === '';
}

/** The line that ends the heredoc whose word is `word`, at or after `from`: its start, or -1. */
function heredocEnd(text: string, from: number, word: string): number {
  for (let p = from; p < text.length;) {
    const { line, next } = lineAt(text, p);
    // Blanks before the word are allowed (`<<-`, `<<~` and HCL's heredocs allow them; a shell's plain
    // `<<` does not, and reading its body to a later, indented word masks more, never less).
    if (line.trim() === word) return p;
    p = next;
  }
  return -1;
}

/**
 * The body of the heredoc opened at `at` (its `<<`), the lines after the opener's line up to the line
 * that is its word, pushed as one span; with no such line, to the text's end. Returns where it ends, or -1
 * when `at` opens none.
 */
function heredocSpan(text: string, at: number, tag: string, out: TextFieldSpan[]): number {
  const re = new RegExp(HEREDOC_OPEN.source, 'y');
  re.lastIndex = at;
  const m = re.exec(text);
  if (m === null) return -1;
  const nl = text.indexOf('\n', re.lastIndex);
  if (nl < 0) return -1;
  const start = nl + 1;
  const close = heredocEnd(text, start, m[3]!);
  let end = close < 0 ? text.length : close;
  while (end > start && (text.charCodeAt(end - 1) === 10 || text.charCodeAt(end - 1) === 13)) end--;
  return pushBare(text, start, end, tag, out);
}

/**
 * A here-string read into a sensitive name: `read -r password <<< "…"`, `read -s API_TOKEN <<<'…'`,
 * `IFS= read -r db_password <<< $value` — the word after `<<<` is the value.
 */
const HERE_STRING_READ =
  /(?<![A-Za-z0-9_.-])read(?:[ \t]+-[A-Za-z]+(?:[ \t]+(?![A-Za-z_])\S+)?)*[ \t]+([A-Za-z_][A-Za-z0-9_]{0,255})[ \t]*<<<[ \t]*/g;

function heredocSpans(text: string, keys: KeyTagOf, out: TextFieldSpan[]): void {
  if (!text.includes('<<')) return;
  if (text.includes('<<<')) wordValueSpans(text, HERE_STRING_READ, 1, keys, out);
  const re = new RegExp(HEREDOC_AFTER_NAME.source, 'g');
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const tag = keys(m[1]!);
    if (tag === undefined) continue;
    const end = heredocSpan(text, re.lastIndex, tag, out);
    if (end > re.lastIndex) re.lastIndex = end;
  }
}

/**
 * An element naming a field in its text, and the element after it holding the value: a property list's
 * `<key>password</key><string>…</string>` (macOS and iOS settings, launchd jobs), Hadoop's and Java's
 * `<name>fs.s3a.secret.key</name><value>…</value>`, `<entry><key>…</key><string>…</string></entry>`.
 */
const XML_KEY_SIBLING =
  /<(key|name|Key|Name)>[ \t\r\n]*([^<>\r\n]{1,256}?)[ \t\r\n]*<\/\1>[ \t\r\n]*(?:<!--[^]{0,1024}?-->[ \t\r\n]*)?<([A-Za-z_][\w.-]{0,63})(?:\s[^<>]{0,1024})?>/g;

function xmlKeySiblingSpans(text: string, keys: KeyTagOf, out: TextFieldSpan[]): void {
  if (!/<\/(?:key|name|Key|Name)>/.test(text)) return;
  const re = new RegExp(XML_KEY_SIBLING.source, 'g');
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const tag = keys(m[2]!);
    if (tag === undefined) continue;
    re.lastIndex = elementContentSpan(text, m[3]!, re.lastIndex, tag, out);
  }
}

/**
 * A command line's option named for a secret and its value as the next word: `--db-password hunter2`,
 * `--api-key "…"`, `-token …` (`ps`, a shell's history, a log of the command, a CI config). Not a value
 * that is another option, and not the placeholder a program's help shows there (`--token string`,
 * `--password PASSWORD`, `--api-key <key>`).
 */
const OPTION_BEFORE_VALUE = /(?<![A-Za-z0-9_.-])--?([A-Za-z][A-Za-z0-9_.-]{1,255})[ \t]+(?=[^-\s])/g;
const HELP_PLACEHOLDER =
  /^(?:string|strings|stringArray|int|int32|int64|uint|bool|float|duration|value|text)$|^<[^>]*>$|^\[[^\]]*\]$/;

function optionValueSpans(text: string, keys: KeyTagOf, out: TextFieldSpan[]): void {
  if (!text.includes('-')) return;
  const re = new RegExp(OPTION_BEFORE_VALUE.source, 'g');
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const tag = keys(m[1]!);
    if (tag === undefined) continue;
    const start = re.lastIndex;
    const c = text.charCodeAt(start);
    if (c === 34 || c === 39) {
      re.lastIndex = Math.max(start, quotedValueSpan(text, start, tag, out));
      continue;
    }
    let end = start;
    while (end < text.length && !/[\s\0]/.test(text[end]!)) end++;
    const word = text.slice(start, end);
    if (HELP_PLACEHOLDER.test(word) || word === m[1]!.toUpperCase().replace(/[-.]/g, '_')) continue;
    re.lastIndex = pushBare(text, start, end, tag, out);
  }
}

// ---- a name and its value as a numbered list's two items (docs/security.md, class 399) ----

/**
 * `redis-cli`'s answer to `CONFIG GET *` or `HGETALL` (and `MGET`-style lists): a field's name and its
 * value as two numbered items, `1) "requirepass"` then `2) "…"`, the name at an odd number. The value is
 * the next item's quoted string (or the rest of its line).
 */
const NUMBERED_NAME = /^([ \t]*)(\d{1,9})\) "((?:[^"\\\r\n]|\\.){1,256})"[ \t]*\r?$/gm;

function numberedPairSpans(text: string, keys: KeyTagOf, out: TextFieldSpan[]): void {
  if (!text.includes(') "')) return;
  const re = new RegExp(NUMBERED_NAME.source, 'gm');
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const n = Number(m[2]);
    if (n % 2 === 0) continue;
    const tag = keys(jsonString(`"${m[3]!}"`));
    if (tag === undefined) continue;
    const nl = text.indexOf('\n', re.lastIndex);
    if (nl < 0) continue;
    const item = /^[ \t]*(\d{1,9})\) /.exec(text.slice(nl + 1, nl + 1 + 24));
    if (item === null || Number(item[1]) !== n + 1) continue;
    const start = nl + 1 + item[0].length;
    let lineEnd = text.indexOf('\n', start);
    if (lineEnd < 0) lineEnd = text.length;
    if (text.charCodeAt(lineEnd - 1) === 13) lineEnd--;
    const end =
      text.charCodeAt(start) === 34
        ? quotedValueSpan(text, start, tag, out)
        : pushBare(text, start, Math.max(start, lineEnd), tag, out);
    re.lastIndex = Math.max(re.lastIndex, end);
  }
}

// ---- values that go on past a text's end (a stream masked a write at a time: terminal-masker.ts) ----

/**
 * Where a value a sensitive name opens in `text` may go on past the text's end: the index of the
 * start of the line naming it (the earliest such), or -1. A YAML key whose value is a block (`key:`,
 * `key: |`, `key: >`) followed only by blank or more indented lines, and an XML start tag with no end
 * tag after it (docs/security.md, class 242). `tables: false` readers only: what a stream may hold.
 */
export function openFieldStart(text: string, keys: KeyTagOf): number {
  let first = -1;
  if (text.includes('<')) {
    const re = new RegExp(XML_START.source, 'g');
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      if (m[3] === '/' || keys(m[2]!) === undefined) continue;
      const close = xmlEndTag(text, m[1]!, re.lastIndex);
      if (close === null) {
        first = text.lastIndexOf('\n', m.index - 1) + 1;
        break;
      }
      // Closed: what is inside it is the element's (each search starts after the last: linear).
      re.lastIndex = close.index + close[0].length;
    }
  }
  // The last line names a sensitive variable (`- name: DB_PASSWORD`): its `value:` may come next (class
  // 287); or ends a `<key>password</key>` whose value element may come next (class 398).
  const tail = text.replace(/\s+$/, '');
  const lastLine = tail.lastIndexOf('\n') + 1;
  const named = NAME_LINE.exec(tail.slice(lastLine));
  if (named !== null && keys(named[4]!) !== undefined && (first < 0 || lastLine < first)) first = lastLine;
  const keyed = /<(key|name|Key|Name)>[ \t]*([^<>\r\n]{1,256}?)[ \t]*<\/\1>$/.exec(tail.slice(lastLine));
  if (keyed !== null && keys(keyed[2]!) !== undefined && (first < 0 || lastLine < first)) first = lastLine;
  // A heredoc a sensitive name opened whose word has not come yet (class 398).
  if (text.includes('<<')) {
    const re = new RegExp(HEREDOC_AFTER_NAME.source, 'g');
    for (let m = re.exec(text); m !== null && (first < 0 || m.index < first); m = re.exec(text)) {
      if (keys(m[1]!) === undefined) continue;
      const open = new RegExp(HEREDOC_OPEN.source, 'y');
      open.lastIndex = re.lastIndex;
      const o = open.exec(text);
      if (o === null) continue;
      const nl = text.indexOf('\n', open.lastIndex);
      const close = nl < 0 ? -1 : heredocEnd(text, nl + 1, o[3]!);
      if (close >= 0) {
        // Closed: its body is its own (each search starts after the last: linear).
        re.lastIndex = close;
        continue;
      }
      first = text.lastIndexOf('\n', m.index - 1) + 1;
      break;
    }
  }
  if (!/:[ \t]*(?:[|>][-+0-9]*[ \t]*)?(?:#.*)?\r?$/m.test(text)) return first;
  let pos = 0;
  while (pos < text.length && (first < 0 || pos < first)) {
    const { line, next } = lineAt(text, pos);
    const m = KEY_LINE.exec(line);
    if (m !== null && m[5] !== undefined && opensBlock(m[7]!.trimEnd()) && keys(lineKeyOf(m)) !== undefined) {
      // Open when every line after it is blank or indented more than the key.
      const indent = m[1]!.length;
      let p = next;
      let open = true;
      while (p < text.length) {
        const l = lineAt(text, p);
        if (l.line.trim() !== '' && /^[ \t]*/.exec(l.line)![0].length <= indent) {
          open = false;
          break;
        }
        p = l.next;
      }
      if (open) return pos;
    }
    pos = next;
  }
  return first;
}
