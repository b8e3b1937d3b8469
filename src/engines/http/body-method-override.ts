// Method overrides in a request body: a POST whose form or JSON body names `_method` runs as that
// method in Rails (Rack::MethodOverride reads the form), Laravel and Symfony (PHP's $_POST; Laravel's
// request bag is the JSON body for a JSON request), Spring (HiddenHttpMethodFilter, the servlet's form
// parameters) and Express (method-override reading req.body). Gatehouse decides on the request line's
// method, so a body that names another method is refused, as the header and query spellings are
// (method-override.ts; docs/security.md, classes 156 and 204). Pure: the engine reads the body, this
// reads it the widest way those frameworks do.

import { undoContentCodings } from './content-coding.js';
import { overrideParamName } from './method-override.js';

/**
 * Whether a request's body is one a framework may read `_method` from, so that it must be read whole
 * before it is decided: a body whose Content-Type names a form, a multipart body or JSON anywhere in it
 * (Laravel takes any type containing `/json` or `+json`), in a request of any method; and a POST's
 * whose Content-Type is absent or blank (Rack parses such a POST as a form). Any method, not only POST:
 * Rack, Symfony, Spring and Express override only a POST by default, but Express's method-override is
 * told otherwise with one option (`methods: null`), and the query's and headers' overrides are refused
 * on every method already (class 217).
 */
export function bodyMayOverrideMethod(method: string, contentType: string | undefined): boolean {
  return readingsOf(method, contentType).size > 0;
}

type Reading = 'form' | 'multipart' | 'json';

function readingsOf(method: string, contentType: string | undefined): Set<Reading> {
  const t = (contentType ?? '').toLowerCase();
  const out = new Set<Reading>();
  // Rack: a POST whose media type is nil (no Content-Type, or one with nothing before its first
  // ";" or ","), is parsed as a form. Rack parses no other method's untyped body.
  if (method.toUpperCase() === 'POST' && (/^[\s;,]*$/.test(t) || /^\s*[;,]/.test(t))) out.add('form');
  if (t.includes('x-www-form-urlencoded')) out.add('form');
  if (t.includes('multipart')) out.add('multipart');
  if (t.includes('json')) out.add('json');
  return out;
}

/** Charsets in which `_method` and its value are the same bytes as in ASCII: the body is read as bytes. */
const ASCII_CHARSETS = new Set([
  'utf-8',
  'utf8',
  'us-ascii',
  'ascii',
  'iso-8859-1',
  'latin1',
  'iso-8859-15',
  'windows-1252',
]);

/** The `charset` parameter of a Content-Type, lower case, unquoted; undefined when there is none. */
function charsetOf(contentType: string | undefined): string | undefined {
  const m = /;\s*charset\s*=\s*("?)([^";,\s]*)\1/i.exec(contentType ?? '');
  return m ? m[2]!.toLowerCase() : undefined;
}

/** The body as the framework reads it: its Content-Encoding undone (gzip, deflate, br), or why it cannot be. */
function decoded(body: Buffer, contentEncoding: string | undefined, max: number): Buffer | string {
  const out = undoContentCodings(body, contentEncoding, max);
  if (Buffer.isBuffer(out)) return out;
  return out.reason === 'unknown'
    ? `its Content-Encoding "${out.coding.slice(0, 20)}" cannot be read`
    : `its ${out.coding} body cannot be decoded within ${max} bytes`;
}

/** The body's text in every reading a framework may give it; a string[] of texts, or why it cannot be read. */
function texts(body: Buffer, contentType: string | undefined): string[] | string {
  const charset = charsetOf(contentType);
  // latin1 keeps every byte as one character: ASCII names and values read as they do on the server.
  const out = [body.toString('latin1'), body.toString('utf8')];
  if (charset === undefined || ASCII_CHARSETS.has(charset)) return out;
  if (/^utf-?16(le|be)?$/.test(charset)) {
    const label = charset.replace(/^utf-?16/, 'utf-16');
    out.push(new TextDecoder(label).decode(body));
    // Without a BOM, UTF-16 is big-endian to some decoders and little-endian to others.
    out.push(new TextDecoder(label.endsWith('be') ? 'utf-16le' : 'utf-16be').decode(body));
    return out;
  }
  return `its charset "${charset.slice(0, 20)}" is one Gatehouse does not read`;
}

/** Percent-escapes decoded where they are well formed (PHP and Rack leave a malformed one as it is). */
function lenientDecode(s: string): string {
  return s.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return Buffer.from(run.replace(/%/g, ''), 'hex').toString('latin1');
    }
  });
}

interface Named {
  readonly where: string;
  readonly value: string;
}

/** `_method` in a urlencoded body: split on `&` and `;` (Rack 2 splits on both), `+` as space. */
function formOverrides(text: string): Named[] {
  const out: Named[] = [];
  for (const part of text.split(/[&;]/)) {
    const eq = part.indexOf('=');
    const key = lenientDecode((eq < 0 ? part : part.slice(0, eq)).replace(/\+/g, ' '));
    if (overrideParamName(key.replace(/^[\s]+/, '')) !== '_method') continue;
    const value = eq < 0 ? '' : lenientDecode(part.slice(eq + 1).replace(/\+/g, ' '));
    out.push({ where: 'the form body field "_method"', value });
  }
  return out;
}

/**
 * A part header's value with the lines that continue it (class 216). PHP's multipart reader
 * (`multipart_buffer_headers`) appends to the header before it every line that starts with a blank or
 * holds no `:`, and busboy and RFC 5322 unfold a line that starts with a blank: so
 * `Content-Disposition: form-data;\r\n name="_method"`, `…form-data\r\n; name=_method` and even
 * `…name="_met\r\nhod"` name `_method`. Both join the lines as they are, with only the line break
 * taken out. Read here the widest way: every following line up to the blank line that ends the
 * headers, while it starts with a blank or has no `:`. Returns the value and where it ends.
 */
function unfoldedHeader(text: string, from: number): { value: string; end: number } {
  let value = '';
  let at = from;
  for (;;) {
    const nl = text.indexOf('\n', at);
    const line = (nl < 0 ? text.slice(at) : text.slice(at, nl)).replace(/\r$/, '');
    value += line;
    if (nl < 0) return { value, end: text.length };
    const next = text.indexOf('\n', nl + 1);
    const following = (next < 0 ? text.slice(nl + 1) : text.slice(nl + 1, next)).replace(/\r$/, '');
    if (following === '' || !(/^[ \t]/.test(following) || !following.includes(':')))
      return { value, end: nl };
    at = nl + 1;
  }
}

/**
 * `_method` in a multipart body, read without trusting the boundary (PHP, Rack and busboy read the
 * Content-Type's boundary parameter each their own way): every Content-Disposition header in the body,
 * with the lines that continue it (unfoldedHeader), is read for its `name` (quoted with backslash
 * escapes, bare, or RFC 5987 `name*=charset''…`), and the part that names `_method` runs from the blank
 * line after its headers to the next line that starts with `--`. A part that names it and whose value
 * cannot be found counts as naming another method; so does one whose value is base64, quoted-printable
 * or in another charset, since only the request's own method in plain text passes.
 */
function multipartOverrides(text: string): Named[] {
  const out: Named[] = [];
  const disposition = /content-disposition[ \t]*:/gi;
  for (const m of text.matchAll(disposition)) {
    const header = unfoldedHeader(text, m.index + m[0].length);
    const params = header.value;
    const names: string[] = [];
    // Quoted with `"` (backslash escapes) or, as PHP reads it too, with `'`; or bare.
    for (const p of params.matchAll(/(?:^|;)\s*(name\*?)\s*=\s*("(?:[^"\\]|\\.)*"?|'[^']*'?|[^;]*)/gi)) {
      let v = p[2]!.trim();
      if (v.startsWith('"')) v = v.replace(/^"|"$/g, '').replace(/\\(.)/g, '$1');
      else if (v.startsWith("'")) v = v.replace(/^'|'$/g, '');
      if (p[1]!.endsWith('*')) v = v.replace(/^[^']*'[^']*'/, '');
      names.push(lenientDecode(v));
    }
    if (!names.some((n) => overrideParamName(n.trim()) === '_method')) continue;
    const rest = text.slice(header.end);
    const blank = /\r?\n\r?\n/.exec(rest);
    if (!blank) {
      out.push({ where: 'a multipart part named "_method"', value: '' });
      continue;
    }
    const valueStart = blank.index + blank[0].length;
    const end = /\r?\n--/.exec(rest.slice(valueStart));
    const value = end ? rest.slice(valueStart, valueStart + end.index) : rest.slice(valueStart);
    out.push({ where: 'a multipart part named "_method"', value });
  }
  return out;
}

/** `_method` at the top of a JSON body (Laravel's request bag, Express's req.body). */
function jsonOverrides(text: string): Named[] | string {
  const t = text.replace(/^\uFEFF/, '');
  let parsed: unknown;
  try {
    parsed = JSON.parse(t);
  } catch {
    // A body Gatehouse cannot parse but a framework might: refused if it could name _method at all.
    return /method|\\u/i.test(t) ? 'it is JSON Gatehouse cannot parse that may name _method' : [];
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return [];
  const out: Named[] = [];
  // Member names are compared as the form's are: Express's getter and PHP read the exact key, a wider
  // reading costs nothing. Duplicated keys: JSON.parse keeps the last, as PHP and Express do.
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (overrideParamName(k) !== '_method') continue;
    out.push({
      where: 'the JSON body member "_method"',
      value: typeof v === 'string' ? v : JSON.stringify(v),
    });
  }
  return out;
}

/**
 * Undefined when the body names no method but the request's own; else the refusal, written for the
 * client. `body` is the body as received (before any Content-Encoding is undone); `max` bounds what
 * decoding it may produce.
 */
export function bodyMethodOverrideRefusal(
  method: string,
  headers: { readonly 'content-type'?: string; readonly 'content-encoding'?: string },
  body: Buffer,
  max: number,
): string | undefined {
  const readings = readingsOf(method, headers['content-type']);
  if (readings.size === 0 || body.length === 0) return undefined;
  const unreadable = (why: string): string =>
    `Gatehouse refused the request: its body may name the method the upstream runs (_method), and ${why}. ` +
    'Send the body as plain UTF-8, without a Content-Encoding.';
  const raw = decoded(body, headers['content-encoding'], max);
  if (typeof raw === 'string') return unreadable(raw);
  const all = texts(raw, headers['content-type']);
  if (typeof all === 'string') return unreadable(all);
  const named: Named[] = [];
  let jsonUnreadable: string | undefined;
  let jsonRead = false;
  for (const text of all) {
    if (readings.has('form')) named.push(...formOverrides(text));
    if (readings.has('multipart')) named.push(...multipartOverrides(text));
    if (readings.has('json')) {
      const j = jsonOverrides(text);
      if (typeof j === 'string') jsonUnreadable = j;
      else {
        jsonRead = true;
        named.push(...j);
      }
    }
  }
  // Read as JSON in none of its readings, and it could name _method: refused, not guessed at.
  if (!jsonRead && jsonUnreadable !== undefined) return unreadable(jsonUnreadable);
  for (const n of named) {
    const value = n.value.trim().toUpperCase();
    if (value === method.toUpperCase()) continue;
    const shown = value.replace(/[^A-Z0-9_-]/g, '?').slice(0, 20);
    return (
      `The request is ${method} but ${n.where} asks the upstream to run ${shown || 'another method'}. ` +
      'Gatehouse decides on the method the request is sent with and does not forward method overrides: ' +
      `send ${shown && /^[A-Z]+$/.test(shown) ? shown : 'that method'} itself.`
    );
  }
  return undefined;
}

/** The refusal of a POST whose body must be read for `_method` and is past the connection's limit (413). */
export function scannedBodyTooLarge(max: number): string {
  return (
    `Gatehouse refused the request: it is a POST whose body a framework may read a method override ` +
    `(_method) from, and its body is larger than this connection's limit (${max} bytes) for a body ` +
    'Gatehouse reads whole before deciding. Send a smaller body, or one of another Content-Type.'
  );
}
