// Which variables of a command line hold a number Gatehouse knows, and which names bash evaluates as
// code. bash evaluates a variable named in arithmetic (`$((x))`, `(( x ))`, `[[ x -eq 1 ]]`, `let x`,
// the subscript of `a[x]`) by evaluating its *value* as an expression again, and a `$(…)` inside that
// value runs (`x='a[$(cmd)]'; echo $((x))`). A value set before the line — by an earlier line of an
// interactive shell, by the environment or a start-up file — cannot be known from the line's text, so
// a name evaluated as code must be one this line itself sets to a number before anything reads it.
//
// A variable is *known* (an integer this line gives it) when:
//   - its first appearance in the text is a plain assignment that always runs before anything after
//     it (a statement of the line itself or the first of an `&&`/`||` list there, not backgrounded):
//     `i=0`, `i=$((…))`. Only a plain assignment: when the variable is readonly (an earlier line, a
//     start-up file) it ends the line, where `(( i = 0 ))` and `for ((i=0; …))` fail and go on with
//     the old value;
//   - every other assignment to it is also a number (`i=5`, `i+=1`, `i=$((…))`), and arithmetic
//     (which only ever stores integers);
//   - it appears nowhere else but as `$i` / `${i}` and inside arithmetic: no `read i`, `for i in`,
//     `declare i`, `unset i`, `${i:=…}`, `i=…` before a command, no literal `i` a builtin may take as a
//     name. Anything else makes it unknown (conservative: a harmless line may be held, never the other
//     way round).
// Pure; the syntax tree comes from bash-parser.ts.

import type { SyntaxNode } from './bash-parser.js';
import { wordValue } from './shell-words.js';

export interface VariableFlow {
  /** Variables this line sets to a number before anything reads them, and to nothing else. */
  readonly known: ReadonlySet<string>;
  /** Names the line's arithmetic (and subscripts, `[[ -eq ]]`, `let`) evaluates that are not known. */
  readonly unknownEvaluated: ReadonlySet<string>;
}

type Use = 'assign-int' | 'assign-first' | 'assign-other' | 'expand' | 'evaluate' | 'other';

interface Occurrence {
  readonly name: string;
  readonly at: number;
  readonly use: Use;
}

/** `[[ … ]]` operators whose operands are arithmetic, and those whose operand is a name. */
const ARITHMETIC_TEST = /^-(eq|ne|lt|le|gt|ge)$/;
const NAME_TEST = /^-[vR]$/;
/** A value bash stores as written and that holds nothing but a number. */
const INTEGER = /^-?[0-9]+$/;

/**
 * The identifiers in text bash reads as arithmetic, with their offsets: names (`x`, `a_1`), also
 * after `$` or `${`; numbers are skipped whole (`0x1f`, `16#ff`, `2#1010`, `64#@_`).
 */
export function arithmeticNames(text: string): { name: string; at: number; target: boolean }[] {
  const out: { name: string; at: number; target: boolean }[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      i++;
      while (i < text.length && /[0-9A-Za-z_#@]/.test(text[i]!)) i++;
    } else if (c === 95 || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)) {
      const start = i;
      while (i < text.length && /[0-9A-Za-z_]/.test(text[i]!)) i++;
      // `x = …` assigns x without reading it (`x += …`, `x++` read it first).
      const rest = /^\s*=(?!=)/.exec(text.slice(i, i + 64));
      out.push({ name: text.slice(start, i), at: start, target: rest !== null });
    } else i++;
  }
  return out;
}

/** The part of `name[subscript]` bash evaluates: the subscript, or undefined when there is none. */
export function subscriptOf(word: string): { text: string; at: number } | undefined {
  const open = word.indexOf('[');
  const close = word.lastIndexOf(']');
  if (open < 0) return undefined;
  return { text: word.slice(open + 1, close > open ? close : word.length), at: open + 1 };
}

export function variableFlow(root: SyntaxNode, src: string): VariableFlow {
  const occ: Occurrence[] = [];
  const text = (n: SyntaxNode): string => src.slice(n.start, n.end);
  const evaluate = (t: string, at: number): void => {
    // An assignment in arithmetic stores an integer, and does not make the name known: it fails on a
    // readonly variable and bash goes on with the old value.
    for (const x of arithmeticNames(t))
      occ.push({ name: x.name, at: at + x.at, use: x.target ? 'assign-int' : 'evaluate' });
  };
  const other = (t: string, at: number): void => {
    for (const x of arithmeticNames(t)) occ.push({ name: x.name, at: at + x.at, use: 'other' });
  };

  const assignment = (n: SyntaxNode, unconditional: boolean, plain: boolean): void => {
    const name = n.children.find((c) => c.field === 'name');
    const value = n.children.find((c) => c.field === 'value');
    if (name === undefined) return visitChildren(n);
    if (name.type === 'subscript') visit(name, false);
    else if (!plain) other(text(name), name.start);
    else {
      const integer =
        value === undefined
          ? false
          : value.type === 'arithmetic_expansion' || (value.type === 'number' && INTEGER.test(text(value)));
      occ.push({
        name: text(name),
        at: name.start,
        use: integer ? (unconditional ? 'assign-first' : 'assign-int') : 'assign-other',
      });
    }
    if (value !== undefined) visit(value, false);
  };

  /** A statement container's children: which of them always run, in order (program, `&&` lists). */
  const statements = (n: SyntaxNode, unconditional: boolean, firstOnly: boolean): void => {
    let first = true;
    n.children.forEach((c, i) => {
      if (!c.named) return;
      const backgrounded = n.children[i + 1]?.type === '&';
      visit(c, unconditional && (!firstOnly || first) && !backgrounded);
      first = false;
    });
  };

  /**
   * Inside `[[ … ]]`: the operands of -eq, -ne, -lt, -le, -gt, -ge are arithmetic; the operand of -v
   * and -R is a name whose subscript is.
   */
  function testOperands(n: SyntaxNode): void {
    const op = n.children.find((c) => c.type === 'test_operator');
    const opText = op === undefined ? '' : text(op);
    if (op !== undefined && ARITHMETIC_TEST.test(opText)) {
      for (const c of n.children) if (c.named && c !== op) evaluate(text(c), c.start);
      return;
    }
    if (op !== undefined && NAME_TEST.test(opText)) {
      for (const c of n.children) {
        if (!c.named || c === op) continue;
        const sub = subscriptOf(text(c));
        if (sub !== undefined) evaluate(sub.text, c.start + sub.at);
        other(text(c).replace(/\[.*$/s, ''), c.start);
      }
      return;
    }
    for (const c of n.children) {
      if (
        c.type === 'binary_expression' ||
        c.type === 'unary_expression' ||
        c.type === 'parenthesized_expression'
      )
        testOperands(c);
      else visit(c, false);
    }
  }

  function visitChildren(n: SyntaxNode): void {
    for (const c of n.children) visit(c, false);
  }

  function visit(n: SyntaxNode, unconditional: boolean): void {
    switch (n.type) {
      case 'comment':
        return;
      case 'program':
        return statements(n, unconditional, false);
      case 'list':
        return statements(n, unconditional, true);
      case 'variable_assignments':
        for (const c of n.children) if (c.named) visit(c, unconditional);
        return;
      case 'variable_assignment':
        return assignment(n, unconditional, true);
      case 'command': {
        // `i=1 cmd`: the assignment is cmd's environment, not the shell's variable. `let …`: every
        // word after the name is arithmetic.
        const name = n.children.find((c) => c.field === 'name');
        const isLet = name !== undefined && text(name) === 'let';
        for (const c of n.children) {
          if (c.type === 'variable_assignment' && !(isLet && c.start > name.start))
            assignment(c, false, false);
          else if (isLet && c !== name && c.named) evaluate(text(c), c.start);
          else visit(c, false);
        }
        return;
      }
      case 'declaration_command':
        for (const c of n.children) {
          if (c.type === 'variable_assignment') assignment(c, false, false);
          else visit(c, false);
        }
        return;
      case 'arithmetic_expansion':
        return evaluate(text(n), n.start);
      case 'for_statement': {
        // `for i in 1 2 3`: numbers, but not a first assignment (on a readonly i the loop is skipped
        // and bash goes on with the old value).
        const values = n.children.filter((c) => c.field === 'value');
        const integers =
          values.length > 0 && values.every((c) => c.type === 'number' && INTEGER.test(text(c)));
        for (const c of n.children) {
          if (c.field === 'variable')
            occ.push({ name: text(c), at: c.start, use: integers ? 'assign-int' : 'assign-other' });
          else if (c.named) visit(c, false);
        }
        return;
      }
      case 'compound_statement':
        if (n.children[0]?.type === '((') return evaluate(text(n), n.start);
        return visitChildren(n);
      case 'c_style_for_statement': {
        // `for ((i=0; …))` does not make i known: an arithmetic assignment to a readonly variable
        // fails and bash goes on with its old value (a plain `i=0` ends the line instead).
        const open = n.children.findIndex((c) => c.type === '((');
        const close = n.children.findIndex((c) => c.type === '))');
        n.children.forEach((c, i) => {
          if (i > open && i < close) evaluate(text(c), c.start);
          else if (c.named) visit(c, false);
        });
        return;
      }
      case 'test_command':
        if (src.startsWith('[[', n.start)) return testOperands(n);
        return visitChildren(n);
      case 'subscript': {
        for (const c of n.children) {
          if (c.field === 'index') evaluate(text(c), c.start);
          else if (c.named) visit(c, false);
        }
        return;
      }
      case 'simple_expansion': {
        const v = n.children.find((c) => c.type === 'variable_name');
        if (v !== undefined) occ.push({ name: text(v), at: v.start, use: 'expand' });
        return;
      }
      case 'expansion': {
        const named = n.children.filter((c) => c.named);
        const plain = n.children.length === 3 && named.length === 1 && named[0]!.type === 'variable_name';
        if (plain) occ.push({ name: text(named[0]!), at: named[0]!.start, use: 'expand' });
        else other(text(n), n.start);
        return;
      }
      case 'array':
        // `a=([k]=v)`: an indexed array's keys are arithmetic.
        for (const m of text(n).matchAll(/\[([^\]]*)\]/g)) evaluate(m[1]!, n.start + m.index + 1);
        return other(
          text(n).replace(/\[[^\]]*\]/g, (s) => ' '.repeat(s.length)),
          n.start,
        );
      case 'unset_command':
        for (const c of n.children) {
          if (!c.named) continue;
          const w = wordValue(c, src);
          const sub = w.dynamic ? undefined : subscriptOf(w.value);
          if (sub !== undefined) evaluate(sub.text, c.start);
          other(w.dynamic ? w.text : w.value.replace(/\[.*$/s, ''), c.start);
        }
        return;
      default:
    }
    if (n.children.length === 0) {
      if (n.named) other(text(n), n.start);
      return;
    }
    if (n.type === 'command_name' || n.type === 'word') {
      // `let x=1`: its words are arithmetic.
      return other(text(n), n.start);
    }
    visitChildren(n);
  }

  visit(root, true);

  const byName = new Map<string, Occurrence[]>();
  for (const o of occ) {
    let list = byName.get(o.name);
    if (!list) byName.set(o.name, (list = []));
    list.push(o);
  }
  const known = new Set<string>();
  for (const [name, list] of byName) {
    list.sort((a, b) => a.at - b.at);
    if (list[0]!.use !== 'assign-first') continue;
    if (
      list.every(
        (o) =>
          o.use === 'assign-first' || o.use === 'assign-int' || o.use === 'expand' || o.use === 'evaluate',
      )
    )
      known.add(name);
  }
  const unknownEvaluated = new Set<string>();
  for (const o of occ) if (o.use === 'evaluate' && !known.has(o.name)) unknownEvaluated.add(o.name);
  return { known, unknownEvaluated };
}
