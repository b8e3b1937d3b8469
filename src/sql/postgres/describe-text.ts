// The text Gatehouse sends upstream to describe a statement held for review (docs/security.md class
// 214). PostgreSQL's Parse does not only resolve names: it runs the input function of every string
// literal whose type it infers, and the input of an array, a row or a range whose element is a domain
// runs the domain's CHECK — user code, with side effects (`'{x}'::checked[]`, or `tags = '{x}'` on a
// column of that type). A statement nobody has approved must run nothing, so its Describe is answered
// by the Parse of the same text with every string literal replaced by NULL: a NULL constant is typed
// exactly as a string literal (both are constants of type unknown until the context resolves them),
// and nothing reads its input. A typed literal (`interval '1 day'`) becomes `CAST(NULL AS interval)`.
// The result is parsed again here and accepted only when no string literal is left in it; anything
// else (a literal the grammar needs as text, a qualifier after a typed literal) is undefined, and the
// Describe is refused. Pure but for the parser calls.
import type { PgParserRuntime, ScanToken } from './pg-parser-runtime.js';
import { isObject } from './parse-tree.js';

/** Texts longer than this are not parsed again on the event loop: their Describe is refused. */
export const MAX_DESCRIBE_TEXT_CHARS = 16 * 1024;

/** A token the scanner read as a string literal: '…', E'…', $tag$…$tag$ (SCONST) or U&'…'. */
function isStringToken(t: ScanToken, bytes: Buffer): boolean {
  if (t.tokenName === 'SCONST') return true;
  return /^[uU]&'/.test(bytes.subarray(t.start, Math.min(t.end, t.start + 3)).toString('latin1'));
}

interface StringConst {
  readonly location: number;
  /** Where a typed literal's type name starts (`interval '1 day'`), when it is one. */
  readonly typeAt?: number;
}

/** Every string constant of a parse tree, with the start of its type name when it is a typed literal. */
function stringConsts(tree: unknown): StringConst[] | undefined {
  const found: StringConst[] = [];
  let bad = false;
  const typed = new Map<number, number>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const n of node) walk(n);
      return;
    }
    if (!isObject(node)) return;
    for (const [key, value] of Object.entries(node)) {
      if (key === 'TypeCast' && isObject(value)) {
        const arg = isObject(value.arg) ? value.arg.A_Const : undefined;
        const typeName = value.typeName;
        if (isObject(arg) && arg.sval !== undefined && isObject(typeName)) {
          const at = typeof arg.location === 'number' ? arg.location : -1;
          const typeAt = typeof typeName.location === 'number' ? typeName.location : -1;
          if (typeAt >= 0 && at > typeAt) typed.set(at, typeAt);
        }
      }
      if (key === 'A_Const' && isObject(value) && value.sval !== undefined) {
        const at = typeof value.location === 'number' ? value.location : -1;
        if (at < 0) bad = true;
        else found.push({ location: at });
      }
      walk(value);
    }
  };
  walk(tree);
  if (bad) return undefined;
  return found.map((c) => {
    const typeAt = typed.get(c.location);
    return typeAt === undefined ? c : { ...c, typeAt };
  });
}

function parseOne(runtime: PgParserRuntime, bytes: Buffer): unknown {
  const parsed = runtime.parse(bytes);
  if (!parsed.ok) return undefined;
  const tree = JSON.parse(parsed.json) as { stmts?: unknown[] };
  return tree.stmts?.length === 1 ? tree.stmts : undefined;
}

function stringTokens(runtime: PgParserRuntime, bytes: Buffer): Map<number, ScanToken> | undefined {
  const scanned = runtime.scan(bytes);
  if (!scanned.ok) return undefined;
  const byStart = new Map<number, ScanToken>();
  for (const t of scanned.tokens) if (isStringToken(t, bytes)) byStart.set(t.start, t);
  return byStart;
}

/**
 * `text` with every string literal replaced by NULL (a typed literal by a CAST of NULL), for a
 * Describe that must run no input function upstream; undefined when Gatehouse cannot make such a text
 * that parses to one statement with no string literal left.
 */
export function describeText(runtime: PgParserRuntime, text: string): string | undefined {
  if (text.length > MAX_DESCRIBE_TEXT_CHARS) return undefined;
  const bytes = Buffer.from(text, 'utf8');
  const tree = parseOne(runtime, bytes);
  if (tree === undefined) return undefined;
  const consts = stringConsts(tree);
  const tokens = stringTokens(runtime, bytes);
  if (consts === undefined || tokens === undefined) return undefined;
  const edits: { from: number; to: number; with: string }[] = [];
  for (const c of consts) {
    const token = tokens.get(c.location);
    // A constant the grammar made from a keyword (`extract(year FROM …)`) is no literal of the text.
    if (token === undefined) continue;
    if (c.typeAt === undefined) edits.push({ from: c.location, to: token.end, with: 'NULL' });
    else {
      const type = bytes.subarray(c.typeAt, c.location).toString('utf8').trim();
      edits.push({ from: c.typeAt, to: token.end, with: `CAST(NULL AS ${type})` });
    }
  }
  edits.sort((a, b) => a.from - b.from);
  const parts: Buffer[] = [];
  let at = 0;
  for (const e of edits) {
    if (e.from < at) return undefined;
    parts.push(bytes.subarray(at, e.from), Buffer.from(` ${e.with} `));
    at = e.to;
  }
  parts.push(bytes.subarray(at));
  const out = Buffer.concat(parts);
  // The result must hold no string literal a Parse would read: parsed again, every string constant
  // left is one the grammar made from a keyword.
  const again = parseOne(runtime, out);
  if (again === undefined) return undefined;
  const left = stringConsts(again);
  const leftTokens = stringTokens(runtime, out);
  if (left === undefined || leftTokens === undefined || leftTokens.size > 0) return undefined;
  return out.toString('utf8');
}
