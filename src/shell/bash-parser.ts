// Parses a shell command line with tree-sitter's bash grammar (the WebAssembly builds shipped inside the
// `web-tree-sitter` and `tree-sitter-bash` npm packages: no network, no native build), and copies the
// tree into plain objects so nothing outside this file touches WebAssembly memory. It never classifies.

import { createRequire } from 'node:module';
import { Language, Parser, type Tree, type TreeCursor } from 'web-tree-sitter';

/** One node of the bash syntax tree, as plain data. Offsets are UTF-16 indexes into the parsed text. */
export interface SyntaxNode {
  readonly type: string;
  /** Named grammar rule (`command`, `word`…) rather than a literal token (`&&`, `>`, `$(`). */
  readonly named: boolean;
  /** The field this node fills in its parent (`name`, `argument`, `redirect`, `body`…), if any. */
  readonly field: string | null;
  readonly start: number;
  readonly end: number;
  readonly children: readonly SyntaxNode[];
}

export type BashParse =
  | { readonly ok: true; readonly root: SyntaxNode; readonly text: string }
  | { readonly ok: false; readonly error: string };

/** Lines longer than this are not judged (they are `unknown`): bounds parse time and memory. */
export const MAX_SHELL_TEXT = 64 * 1024;
/** Syntax trees deeper than this are not judged: bounds the walkers' recursion. */
export const MAX_TREE_DEPTH = 256;
/** Nodes per tree: bounds memory for hostile input that stays under MAX_SHELL_TEXT. */
const MAX_TREE_NODES = 200_000;

const require = createRequire(import.meta.url);

// Loaded once, when this module is first imported (top-level await), so classification is synchronous.
await Parser.init();
const bash = await Language.load(require.resolve('tree-sitter-bash/tree-sitter-bash.wasm'));
let parser = newParser();

function newParser(): Parser {
  const p = new Parser();
  p.setLanguage(bash);
  return p;
}

/**
 * Characters the grammar skips as blanks between words and bash reads as characters of a word: bash's
 * blanks are space and tab only, so `ls \f#; rm x` is `ls` and a comment to the grammar, and to bash
 * an `ls` of the word `\f#` followed by `rm x` (docs/security.md class 140).
 */
const GRAMMAR_ONLY_BLANKS = /[\r\v\f]/g;
const BLANK_NAMES: Record<string, string> = {
  '\r': 'carriage return',
  '\v': 'vertical tab',
  '\f': 'form feed',
};
/** Nodes whose text is taken as it is, blanks included, by bash and the grammar alike. */
const VERBATIM = new Set([
  'raw_string',
  'string',
  'string_content',
  'ansi_c_string',
  'heredoc_body',
  'heredoc_content',
  'comment',
]);

/** Why the text holds a character the grammar and bash read differently, or undefined. */
function blankOnlyToTheGrammar(root: SyntaxNode, text: string): string | undefined {
  for (const m of text.matchAll(GRAMMAR_ONLY_BLANKS)) {
    let node = root;
    for (;;) {
      const inner = node.children.find((c) => c.start <= m.index && m.index < c.end);
      if (inner === undefined) break;
      node = inner;
    }
    if (!VERBATIM.has(node.type))
      return `the command holds a ${BLANK_NAMES[m[0]] ?? 'control character'} outside quotes at offset ${m.index}, which bash reads as part of a word and the parser as a blank`;
  }
  return undefined;
}

/** Nodes inside which a backslash-newline is two characters of text to bash, not a line continuation. */
const CONTINUATION_VERBATIM = new Set(['raw_string', 'ansi_c_string', 'comment']);

/**
 * Why the text holds a backslash-newline the grammar and bash read differently, or undefined. bash
 * removes a backslash-newline before it reads words (outside single quotes, `$'…'`, comments and a
 * here-document whose delimiter is quoted), so what stands on either side of it is one word or
 * operator: `tr\<newline>uncate` is `truncate`, `"$\<newline>(cmd)"` a command substitution. The
 * grammar reads it as a blank between two words. The two agree only where a blank already stands on
 * one side of it, or an operator before a word (class 286).
 */
function continuationJoins(root: SyntaxNode, text: string): string | undefined {
  for (let i = text.indexOf('\\\n'); i >= 0; i = text.indexOf('\\\n', i + 2)) {
    // An even run of backslashes before the newline is escaped backslashes and a plain newline.
    let run = 1;
    while (i - run >= 0 && text[i - run] === '\\') run++;
    if (run % 2 === 0) continue;
    const before = i === 0 ? '\n' : text[i - 1]!;
    const after = text[i + 2] ?? '\n';
    if (/[ \t\n]/.test(before) || /[ \t\n]/.test(after)) continue;
    // After `|`, `;` or `&` (`a |\<newline>b`, `a &&\<newline>b`), a word's first character makes no
    // longer operator: bash reads the same operator and word.
    if (/[|;&]/.test(before) && /[A-Za-z0-9_/.~'"]/.test(after)) continue;
    let node = root;
    let verbatim = false;
    for (;;) {
      if (CONTINUATION_VERBATIM.has(node.type) || quotedHeredoc(node, text)) verbatim = true;
      const inner = node.children.find((c) => c.start <= i && i < c.end);
      if (inner === undefined) break;
      node = inner;
    }
    if (CONTINUATION_VERBATIM.has(node.type)) verbatim = true;
    if (!verbatim)
      return `the command holds a backslash-newline at offset ${i} between ${JSON.stringify(before)} and ${JSON.stringify(after)}: bash removes it and reads the two as one word or operator, the parser as two`;
  }
  return undefined;
}

/** A here-document whose delimiter is quoted (`<<'EOF'`, `<<"EOF"`, `<<\EOF`): its body is text as it is. */
function quotedHeredoc(node: SyntaxNode, text: string): boolean {
  if (node.type !== 'heredoc_redirect') return false;
  const start = node.children.find((c) => c.type === 'heredoc_start');
  return start !== undefined && /['"\\]/.test(text.slice(start.start, start.end));
}

/** Parses `text` as bash; any syntax error (tree-sitter ERROR or MISSING node) fails the parse. */
export function parseBash(text: string): BashParse {
  if (text.length > MAX_SHELL_TEXT) {
    return { ok: false, error: `the command is longer than ${MAX_SHELL_TEXT} characters` };
  }
  if (text.includes('\0')) return { ok: false, error: 'the command contains a NUL character' };
  let tree: Tree | null;
  try {
    tree = parser.parse(text);
  } catch (e) {
    // A failure inside the WebAssembly parser: replace the instance, never reuse its state.
    parser.delete();
    parser = newParser();
    return { ok: false, error: `the shell parser failed: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (tree === null) return { ok: false, error: 'the shell parser returned no tree' };
  try {
    const rootNode = tree.rootNode;
    if (rootNode.hasError) return { ok: false, error: syntaxErrorAt(tree, text) };
    const root = copyTree(tree.walk());
    if (typeof root === 'string') return { ok: false, error: root };
    const blank = blankOnlyToTheGrammar(root, text);
    if (blank !== undefined) return { ok: false, error: blank };
    const joins = continuationJoins(root, text);
    if (joins !== undefined) return { ok: false, error: joins };
    return { ok: true, root, text };
  } finally {
    tree.delete();
  }
}

function syntaxErrorAt(tree: Tree, text: string): string {
  const cursor = tree.walk();
  try {
    // Depth-first to the first ERROR or MISSING node, for a useful position in the message.
    for (;;) {
      const n = cursor.currentNode;
      if (n.isError || n.isMissing) {
        const col = n.startIndex;
        const near = JSON.stringify(text.slice(col, col + 20));
        return n.isMissing
          ? `syntax error: missing ${JSON.stringify(n.type)} at offset ${col}`
          : `syntax error at offset ${col} near ${near}`;
      }
      if (n.hasError && cursor.gotoFirstChild()) continue;
      while (!cursor.gotoNextSibling()) if (!cursor.gotoParent()) return 'syntax error';
    }
  } finally {
    cursor.delete();
  }
}

interface Building {
  type: string;
  named: boolean;
  field: string | null;
  start: number;
  end: number;
  children: SyntaxNode[];
}

/** Copies the tree iteratively (no recursion), bounded in depth and node count. */
function copyTree(cursor: TreeCursor): SyntaxNode | string {
  try {
    const stack: Building[] = [];
    let count = 0;
    const open = (): Building => ({
      type: cursor.nodeType,
      named: cursor.nodeIsNamed,
      field: cursor.currentFieldName,
      start: cursor.startIndex,
      end: cursor.endIndex,
      children: [],
    });
    const root = open();
    stack.push(root);
    for (;;) {
      if (cursor.gotoFirstChild()) {
        if (stack.length >= MAX_TREE_DEPTH) return 'the command is nested too deeply to judge';
        if (++count > MAX_TREE_NODES) return 'the command is too large to judge';
        const child = open();
        stack[stack.length - 1]!.children.push(child);
        stack.push(child);
        continue;
      }
      for (;;) {
        if (stack.length === 1) return root;
        stack.pop();
        if (cursor.gotoNextSibling()) {
          if (++count > MAX_TREE_NODES) return 'the command is too large to judge';
          const sibling = open();
          stack[stack.length - 1]!.children.push(sibling);
          stack.push(sibling);
          break;
        }
        cursor.gotoParent();
      }
    }
  } finally {
    cursor.delete();
  }
}
