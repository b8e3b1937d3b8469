// The tables a DynamoDB PartiQL statement names (ExecuteStatement, BatchExecuteStatement,
// ExecuteTransaction), which name no table anywhere else in the request: read so that each is decided
// like a TableName (named-resources.ts, docs/security.md class 55).
//
// The statement is split into tokens as PartiQL reads it — "quoted identifiers" ("" inside), 'string
// literals' ('' inside), `Ion literals`, words, single punctuation — and the identifier after every
// FROM, INTO and UPDATE keyword is a table (`"orders"."byEmail"` is the table orders). This
// over-approximates (a condition's EXISTS(SELECT … FROM t) is a table too). A statement that cannot be
// split (an unterminated quote, a comment), a keyword not followed by an identifier, or a statement
// naming no table, is not read: the request is refused.

/** Tokens: identifiers carry their name; everything else is kept only as far as needed. */
type Token =
  | { readonly kind: 'ident'; readonly name: string; readonly quoted: boolean }
  | { readonly kind: 'other'; readonly text: string };

function tokens(statement: string): Token[] | undefined {
  const out: Token[] = [];
  let i = 0;
  const n = statement.length;
  while (i < n) {
    const c = statement[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '-' && statement[i + 1] === '-') return undefined;
    if (c === '/' && statement[i + 1] === '*') return undefined;
    if (c === '"' || c === "'") {
      let j = i + 1;
      let text = '';
      for (;;) {
        if (j >= n) return undefined;
        if (statement[j] === c) {
          if (statement[j + 1] === c) {
            text += c;
            j += 2;
            continue;
          }
          break;
        }
        text += statement[j];
        j++;
      }
      out.push(c === '"' ? { kind: 'ident', name: text, quoted: true } : { kind: 'other', text: `'` });
      i = j + 1;
      continue;
    }
    if (c === '`') {
      const end = statement.indexOf('`', i + 1);
      if (end < 0) return undefined;
      out.push({ kind: 'other', text: '`' });
      i = end + 1;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(statement.slice(i));
    if (word) {
      out.push({ kind: 'ident', name: word[0], quoted: false });
      i += word[0].length;
      continue;
    }
    out.push({ kind: 'other', text: c });
    i++;
  }
  return out;
}

const TABLE_BEFORE = new Set(['from', 'into', 'update']);

/** The tables a statement names, or undefined when it cannot be read soundly. */
export function partiqlTables(statement: string): string[] | undefined {
  const toks = tokens(statement);
  if (toks === undefined) return undefined;
  const tables: string[] = [];
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (t.kind !== 'ident' || t.quoted || !TABLE_BEFORE.has(t.name.toLowerCase())) continue;
    const next = toks[i + 1];
    if (next?.kind !== 'ident') return undefined;
    tables.push(next.name);
    i++;
  }
  return tables.length > 0 ? tables : undefined;
}

/** The PartiQL statements of a DynamoDB request body (none for other operations). */
export function partiqlStatements(operation: string, body: Record<string, unknown>): unknown[] {
  // Compared as policy compares operation names: without case.
  const op = operation.toLowerCase();
  switch (op) {
    case 'executestatement':
      return [body['Statement']];
    case 'batchexecutestatement':
    case 'executetransaction': {
      const list = body[op === 'batchexecutestatement' ? 'Statements' : 'TransactStatements'];
      return Array.isArray(list)
        ? (list as unknown[]).map((s): unknown =>
            s && typeof s === 'object' ? (s as Record<string, unknown>)['Statement'] : s,
          )
        : [list];
    }
    default:
      return [];
  }
}
