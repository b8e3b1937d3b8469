// Redacts passwords from SQL text before it is recorded or shown (records, approval requests): `CREATE/ALTER ROLE … PASSWORD '…'`,
// user-mapping and server `OPTIONS (password '…')`, and `password=` / `user:pass@` inside string
// literals (CREATE SUBSCRIPTION … CONNECTION, dblink). Pure. It must not change anything else in the
// text, and it keeps the text valid SQL (the literal becomes '[REDACTED]').

export const REDACTED = '[REDACTED]';

/**
 * Cheap test first: most statements hold none of these, and pay nothing more. `U&'` and `U&"` may
 * spell either with Unicode escapes (`U&"p\0061ssword"` is the option name password).
 */
const MAYBE = /passw|u&['"]|:\/\/[^\s'"]*:[^\s'"@]*@/i;

type Token =
  | {
      kind: 'string';
      start: number;
      end: number;
      bodyStart: number;
      bodyEnd: number;
      escapes: 'sql' | 'c' | 'dollar' | 'unicode';
      /** The escape character of a U&'…' literal. */
      esc?: string;
    }
  | { kind: 'word'; start: number; end: number; lower: string }
  | { kind: 'param'; start: number; end: number; index: number }
  | { kind: 'other'; start: number; end: number };

/** A small PostgreSQL lexer: just enough to find literals, words and $n parameters. */
function tokens(sql: string): Token[] {
  const out: Token[] = [];
  const n = sql.length;
  let i = 0;
  while (i < n) {
    const c = sql[i] as string;
    const next = sql[i + 1];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && next === '-') {
      const e = sql.indexOf('\n', i);
      i = e < 0 ? n : e + 1;
    } else if (c === '/' && next === '*') {
      // Comments nest in PostgreSQL.
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (sql[i] === '/' && sql[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (sql[i] === '*' && sql[i + 1] === '/') {
          depth--;
          i += 2;
        } else i++;
      }
    } else if ((c === 'U' || c === 'u') && next === '&' && (sql[i + 2] === "'" || sql[i + 2] === '"')) {
      // U&'…' and U&"…": Unicode escapes (\XXXX, \+XXXXXX, or another escape character given by a
      // UESCAPE clause). PostgreSQL reads U&'…' as any string literal, PASSWORD U&'…' included.
      const quote = sql[i + 2] as string;
      const start = i;
      i += 3;
      const bodyStart = i;
      while (i < n) {
        if (sql[i] === quote && sql[i + 1] === quote) i += 2;
        else if (sql[i] === quote) break;
        else i++;
      }
      const bodyEnd = Math.min(i, n);
      i = Math.min(i + 1, n);
      // A UESCAPE clause belongs to the token (the value after it is the option's, not this one).
      const uescape = /^\s*uescape\s*'([^'])'/i.exec(sql.slice(i, i + 40));
      const esc = uescape?.[1] ?? '\\';
      if (uescape) i += uescape[0].length;
      if (quote === "'") {
        out.push({ kind: 'string', start, end: i, bodyStart, bodyEnd, escapes: 'unicode', esc });
      } else {
        const name = decodeUnicodeEscapes(sql.slice(bodyStart, bodyEnd).replace(/""/g, '"'), esc);
        out.push({ kind: 'word', start, end: i, lower: name.toLowerCase() });
      }
    } else if (c === "'" || ((c === 'E' || c === 'e') && next === "'")) {
      const cStyle = c !== "'";
      const start = i;
      i += cStyle ? 2 : 1;
      const bodyStart = i;
      while (i < n) {
        if (cStyle && sql[i] === '\\') i += 2;
        else if (sql[i] === "'" && sql[i + 1] === "'") i += 2;
        else if (sql[i] === "'") break;
        else i++;
      }
      const bodyEnd = Math.min(i, n);
      i = Math.min(i + 1, n);
      out.push({ kind: 'string', start, end: i, bodyStart, bodyEnd, escapes: cStyle ? 'c' : 'sql' });
    } else if (c === '$' && next !== undefined && /[0-9]/.test(next)) {
      const m = /^\$(\d+)/.exec(sql.slice(i, i + 12));
      const len = m ? m[0].length : 1;
      out.push({ kind: 'param', start: i, end: i + len, index: m ? Number(m[1]) : 0 });
      i += len;
    } else if (c === '$') {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 130));
      if (!m) {
        out.push({ kind: 'other', start: i, end: i + 1 });
        i++;
        continue;
      }
      const tag = m[0];
      const bodyStart = i + tag.length;
      const close = sql.indexOf(tag, bodyStart);
      const bodyEnd = close < 0 ? n : close;
      const end = close < 0 ? n : close + tag.length;
      out.push({ kind: 'string', start: i, end, bodyStart, bodyEnd, escapes: 'dollar' });
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      while (j < n) {
        if (sql[j] === '"' && sql[j + 1] === '"') j += 2;
        else if (sql[j] === '"') break;
        else j++;
      }
      out.push({
        kind: 'word',
        start: i,
        end: Math.min(j + 1, n),
        lower: sql
          .slice(i + 1, j)
          .replace(/""/g, '"')
          .toLowerCase(),
      });
      i = Math.min(j + 1, n);
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[j] as string)) j++;
      out.push({ kind: 'word', start: i, end: j, lower: sql.slice(i, j).toLowerCase() });
      i = j;
    } else {
      out.push({ kind: 'other', start: i, end: i + 1 });
      i++;
    }
  }
  return out;
}

/** The text of a U&'…' / U&"…" body: `\XXXX`, `\+XXXXXX` and a doubled escape character decoded. */
function decodeUnicodeEscapes(body: string, esc: string): string {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i] as string;
    if (c !== esc) {
      out += c;
      continue;
    }
    if (body[i + 1] === esc) {
      out += esc;
      i++;
      continue;
    }
    const m =
      body[i + 1] === '+'
        ? /^[0-9a-fA-F]{6}/.exec(body.slice(i + 2))
        : /^[0-9a-fA-F]{4}/.exec(body.slice(i + 1));
    if (!m) {
      out += c;
      continue;
    }
    const cp = parseInt(m[0], 16);
    out += cp <= 0x10ffff ? String.fromCodePoint(cp) : '';
    i += m[0].length + (body[i + 1] === '+' ? 1 : 0);
  }
  return out;
}

/** Option names and keywords whose literal is a password: PASSWORD, and sslpassword and the like. */
function isPasswordWord(lower: string): boolean {
  return lower === 'passwd' || lower.endsWith('password');
}

/** `password=secret` (libpq conninfo) and `scheme://user:secret@` inside a literal's body. */
function redactInsideLiteral(body: string): string {
  return (
    body
      // A quoted value (possibly with doubled quotes inside a SQL literal) is redacted to the end of
      // the literal: over-redacting is fine, leaking half a password is not.
      .replace(/(password\s*=\s*)(['"][\s\S]*$|[^\s']+)/gi, `$1${REDACTED}`)
      .replace(/(:\/\/[^\s:/@'"]*:)([^\s@'"]*)(@)/g, `$1${REDACTED}$3`)
  );
}

export interface RedactedStatement {
  readonly text: string;
  /** 0-based indexes of bind parameters that carried a password. */
  readonly params: readonly number[];
  readonly changed: boolean;
}

/** Redacts the passwords a statement's text carries; see the module header for what is covered. */
export function redactSqlSecrets(text: string): RedactedStatement {
  if (!MAYBE.test(text)) return { text, params: [], changed: false };
  const toks = tokens(text);
  const edits: { start: number; end: number; replacement: string }[] = [];
  const params: number[] = [];
  for (let k = 0; k < toks.length; k++) {
    const t = toks[k] as Token;
    if (t.kind === 'word' && isPasswordWord(t.lower)) {
      // PASSWORD 'x' (roles) and OPTIONS (password 'x') (user mappings, servers; sslpassword too): the
      // keyword or option name directly followed by the literal. `password = 'x'` in a WHERE clause
      // is data.
      const v = toks[k + 1];
      if (v?.kind === 'string') {
        edits.push({ start: v.start, end: v.end, replacement: `'${REDACTED}'` });
        k++;
        // A literal continued on the next line ('abc'\n'def' is 'abcdef' to PostgreSQL): every part.
        while (toks[k + 1]?.kind === 'string') {
          const more = toks[k + 1] as Token;
          edits.push({ start: more.start, end: more.end, replacement: `'${REDACTED}'` });
          k++;
        }
      } else if (v?.kind === 'param') {
        if (v.index > 0) params.push(v.index - 1);
        k++;
      }
      continue;
    }
    if (t.kind === 'string') {
      const body = text.slice(t.bodyStart, t.bodyEnd);
      const redacted = redactInsideLiteral(body);
      if (redacted !== body) edits.push({ start: t.bodyStart, end: t.bodyEnd, replacement: redacted });
      // Escapes can spell a conninfo's password=: the literal is judged as PostgreSQL reads it, and
      // redacted whole.
      else if (t.escapes === 'unicode') {
        const decoded = decodeUnicodeEscapes(body, t.esc ?? '\\');
        if (redactInsideLiteral(decoded) !== decoded)
          edits.push({ start: t.start, end: t.end, replacement: `'${REDACTED}'` });
      }
    }
  }
  if (edits.length === 0 && params.length === 0) return { text, params: [], changed: false };
  let out = '';
  let at = 0;
  for (const e of edits) {
    out += text.slice(at, e.start) + e.replacement;
    at = e.end;
  }
  out += text.slice(at);
  return { text: out, params, changed: true };
}
