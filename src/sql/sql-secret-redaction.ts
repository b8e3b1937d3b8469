// Redacts passwords from SQL text before it is recorded or shown (records, approval requests): `CREATE/ALTER ROLE … PASSWORD '…'`,
// user-mapping and server `OPTIONS (password '…')`, and `password=` / `user:pass@` inside string
// literals (CREATE SUBSCRIPTION … CONNECTION, dblink). Pure. It must not change anything else in the
// text, and it keeps the text valid SQL (the literal becomes '[REDACTED]').

export const REDACTED = '[REDACTED]';

/** Cheap test first: most statements hold none of these, and pay nothing more. */
const MAYBE = /passw|:\/\/[^\s'"]*:[^\s'"@]*@/i;

type Token =
  | {
      kind: 'string';
      start: number;
      end: number;
      bodyStart: number;
      bodyEnd: number;
      escapes: 'sql' | 'c' | 'dollar';
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
    if (t.kind === 'word' && t.lower === 'password') {
      // PASSWORD 'x' (roles) and OPTIONS (password 'x') (user mappings, servers): the keyword or
      // option name directly followed by the literal. `password = 'x'` in a WHERE clause is data.
      const v = toks[k + 1];
      if (v?.kind === 'string') {
        edits.push({ start: v.start, end: v.end, replacement: `'${REDACTED}'` });
        k++;
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
