// The shell-command classifier (docs/shell.md): parses a command line with a real bash grammar and
// finds every command it may run — through pipes, lists, subshells, functions, command and process
// substitution, wrappers (sudo, env, xargs, timeout…) and `sh -c` strings parsed again — then gives each
// its categories from the command table. What it cannot judge is `unknown`, never harmless.

import {
  SHELL_SEVERITY,
  type ShellCategory,
  type ShellClassification,
  type ShellCommand,
} from '../core/shell-command.js';
import { findExpansions } from './bash-expansions.js';
import { parseBash, type SyntaxNode } from './bash-parser.js';
import {
  localeChange,
  ruleFor,
  STANDARD_BIN_DIRS,
  variableRisk,
  type RuleContext,
  type StdinSource,
  type VariableReach,
} from './command-rules.js';
import { shellQuote, wordValue, type WordValue } from './shell-words.js';
import { historyExpansionIn } from './history-expansion.js';
import { devTcpHost, isLoopbackHost, pathRisk, type PathRisk } from './targets.js';
import { arithmeticNames, subscriptOf, variableFlow } from './variable-flow.js';

export type ShellInput =
  | {
      readonly line: string;
      /**
       * Where a relative path starts: `home` (default) for a command sshd starts in the home
       * directory; `unknown` for a line typed in an interactive shell after an earlier line may have
       * changed directory (`changesDirectory`), which this line is judged without.
       */
      readonly cwd?: 'home' | 'unknown';
      /**
       * Typed at an interactive bash prompt (a shell with a terminal): bash applies history expansion
       * (`!!`, `!$`, `!-2:1:t`, `^a^b`) to the line before it parses it, so a line holding one runs
       * other text than its own (history-expansion.ts).
       */
      readonly interactive?: boolean;
    }
  | { readonly argv: readonly string[] };

/** `sh -c` inside `sh -c`…: deeper strings are not judged. */
const MAX_NESTING = 6;
/** Write paths kept per classification, and one more (the SSH engine asks the host where each lands, and takes more as unknown). */
export const MAX_WRITE_PATHS = 32;
/** Commands per classification: bounds work for hostile input. */
const MAX_COMMANDS = 2000;

/**
 * Classifies a command line (as a shell would run it: `ssh host 'LINE'`, a line typed at a prompt) or
 * an argv vector (run without a shell: Kubernetes exec `command`). Synchronous and pure.
 */
export function classifyShellCommand(input: ShellInput): ShellClassification {
  const walk = new Walk('line' in input && input.cwd === 'unknown' ? 'unknown' : 'home');
  let text: string;
  let parseError: string | undefined;
  try {
    if ('argv' in input) {
      text = input.argv.map(shellQuote).join(' ');
      const words = input.argv.map<WordValue>((a) => ({ value: a, dynamic: false, expands: false, text: a }));
      if (words.length > 0) walk.classifyWords(words, walk.topFrame(text));
    } else {
      text = input.line;
      const expansion = input.interactive === true ? historyExpansionIn(text) : undefined;
      if (expansion !== undefined)
        walk.unjudged(
          `${expansion} is a history expansion: an interactive bash replaces it with text from earlier lines before it reads the line, so what runs is not this text`,
        );
      const parsed = parseBash(text);
      if (!parsed.ok) parseError = parsed.error;
      else {
        const frame = walk.topFrame(text, parsed.root);
        walk.statement(parsed.root, frame);
        walk.coverage(parsed.root, frame);
      }
    }
  } catch (e) {
    // Deep recursion on hostile nesting, or a rule bug: never let it pass as harmless.
    text = 'line' in input ? input.line : input.argv.join(' ');
    parseError = `the command could not be judged: ${e instanceof RangeError ? 'nested too deeply' : String(e)}`;
  }
  if (parseError !== undefined) {
    return {
      text,
      commands: [],
      categories: ['unknown'],
      kind: 'unparsed',
      parseError,
      unknownReasons: [parseError],
    };
  }
  return walk.result(text);
}

interface Frame {
  readonly src: string;
  /** Variables this frame's line sets to a number Gatehouse knows (variable-flow.ts). */
  readonly known: ReadonlySet<string>;
  readonly via: readonly string[];
  readonly extra: readonly ShellCategory[];
  readonly depth: number;
  readonly stdin: StdinSource;
  /** The command and process substitutions walked in this frame's text: start offset to end. */
  readonly walked: Map<number, number>;
}

/** Statement-level node types the walker descends through. */
const CONTAINERS: ReadonlySet<string> = new Set([
  'program',
  'compound_statement',
  'do_group',
  'subshell',
  'if_statement',
  'elif_clause',
  'else_clause',
  'while_statement',
  'for_statement',
  'c_style_for_statement',
  'case_statement',
  'case_item',
  'list',
  'negated_command',
]);

const STATEMENTS: ReadonlySet<string> = new Set([
  ...CONTAINERS,
  'pipeline',
  'redirected_statement',
  'command',
  'declaration_command',
  'unset_command',
  'variable_assignment',
  'variable_assignments',
  'test_command',
  'function_definition',
]);

const OUTPUT_OPS: ReadonlySet<string> = new Set(['>', '>>', '&>', '&>>', '>|', '>&', '<>']);
const INPUT_OPS: ReadonlySet<string> = new Set(['<', '<&']);

/** `[[ … ]]` / `[ … ]` operators that evaluate an operand as arithmetic or a name with a subscript. */
const EVALUATING_TEST_OPERATORS: ReadonlySet<string> = new Set([
  '-v',
  '-R',
  '-eq',
  '-ne',
  '-lt',
  '-le',
  '-gt',
  '-ge',
]);

/** The test builtin's (`[ … ]`) operators that evaluate a name's subscript. */
const NAME_TEST_OPERATORS: ReadonlySet<string> = new Set(['-v', '-R']);

function hasTestOperator(node: SyntaxNode, src: string, ops: ReadonlySet<string>): boolean {
  if (node.type === 'test_operator' && ops.has(src.slice(node.start, node.end))) return true;
  return node.children.some((c) => hasTestOperator(c, src, ops));
}

/** Why a write to a relative path is `unknown`. */
const UNKNOWN_CWD =
  'writes to a relative path, and where it starts is not known: a cd (on this line or an earlier one), or a wrapper told a directory (env -C), may have left the home directory';

/** Declaration builtins whose -i (integer) and -n (nameref) make later assignments evaluate code. */
const ATTRIBUTE_KEYWORDS: ReadonlySet<string> = new Set(['declare', 'typeset', 'local']);

function isRedirect(node: SyntaxNode): boolean {
  return node.field === 'redirect' || node.type.endsWith('_redirect');
}

/** `$?`, `$#`, `$$`, `$!`: numbers bash makes itself. */
function isNumericSpecial(node: SyntaxNode, src: string): boolean {
  return /^\$[?#$!]$/.test(src.slice(node.start, node.end));
}

class Walk {
  private readonly commands: ShellCommand[] = [];
  private readonly reasons = new Set<string>();
  /** `for`/`select` lists and array elements bash splits (ShellClassification.splitLists). */
  private readonly splitLists: string[] = [];

  /** Notes a loop list or array element that bash splits into words (at most eight kept). */
  private splitList(node: SyntaxNode, frame: Frame): void {
    if (this.splitLists.length >= 8 || wordValue(node, frame.src).splits !== true) return;
    this.splitLists.push(frame.src.slice(node.start, node.end).slice(0, 200));
  }

  /** Marks the whole line `unknown` for a reason outside its parse. */
  unjudged(reason: string): void {
    this.reasons.add(reason);
  }
  /** Something evaluates a variable's value as code: arithmetic, a subscript, indirection, a nameref. */
  private evaluatesValues = false;
  /** A literal holds `$` or a backquote: pieces of a command substitution an evaluation may run. */
  private codeShapedLiteral = false;
  /** A value is computed at run time (an expansion, a substitution, a builtin reading input). */
  private runtimeValues = false;
  private readonly functions = new Set<string>();
  private cwd: 'home' | 'system' | 'unknown';
  /** The working directory as the line set it (`~`, or an absolute path a literal `cd` named). */
  private cwdPath = '~';
  private changesDirectory = false;
  /** Literal paths written that the text says are ordinary (absolute or from `~`): where they land is the host's to say. */
  private readonly writes = new Set<string>();

  constructor(cwd: 'home' | 'unknown') {
    this.cwd = cwd;
  }

  /**
   * The risk of writing to `path` from where the line is: a relative path after `cd` to a directory
   * that is neither a system one nor the home directory (`cd /tmp`, `cd ~/proj`) is judged where it
   * lands there, not as one in the home directory (`.env` there is no home settings file).
   */
  private pathRiskHere(path: string): PathRisk {
    const relative = path.startsWith('~+/') ? path.slice(3) : path;
    if (this.cwd === 'home' && this.cwdPath !== '~' && !relative.startsWith('/') && !relative.startsWith('~'))
      return pathRisk(`${this.cwdPath}/${relative}`);
    return pathRisk(path, this.cwd);
  }

  /**
   * Names bash evaluates as code (arithmetic, subscripts) whose values this line does not set to a
   * number: set by an earlier line, the environment or a start-up file, they may hold a `$(…)`.
   */
  private readonly unknownEvaluated = new Set<string>();

  topFrame(src: string, root?: SyntaxNode): Frame {
    return {
      src,
      known: this.flowOf(root, src),
      via: [],
      extra: [],
      depth: 0,
      stdin: 'inherited',
      walked: new Map(),
    };
  }

  /** The variables a parsed line knows, noting the unknown names it evaluates. */
  private flowOf(root: SyntaxNode | undefined, src: string): ReadonlySet<string> {
    if (root === undefined) return new Set();
    const flow = variableFlow(root, src);
    for (const n of flow.unknownEvaluated) this.unknownEvaluated.add(n);
    return flow.known;
  }

  /** A word a builtin evaluates (`read 'a[i]'`, `test -v 'a[i]'`): its subscript's names. */
  private evaluatedWord(text: string | undefined, frame: Frame): void {
    if (text === undefined) return;
    const sub = subscriptOf(text);
    if (sub === undefined) return;
    for (const { name } of arithmeticNames(sub.text))
      if (!frame.known.has(name)) this.unknownEvaluated.add(name);
  }

  result(text: string): ShellClassification {
    const cats = new Set<ShellCategory>();
    for (const c of this.commands) for (const k of c.categories) cats.add(k);
    // bash runs a `$(…)` or backquote held in a value it evaluates as arithmetic or as a name
    // (`x='a[$(cmd)]'; echo $((x))`). Which values reach the evaluation cannot be followed through the
    // text: any literal holding `$` or a backquote (a piece of one), and any value made at run time
    // (`$(printf …)`, `$x$y`, `read`), make such a line unknown.
    if (this.unknownEvaluated.size > 0) {
      const names = [...this.unknownEvaluated].slice(0, 3).join(', ');
      this.reasons.add(
        `a variable this line does not set to a number (${names}) is evaluated as code (arithmetic or a subscript): its value comes from an earlier line, the environment or a start-up file, and bash runs any command substitution it holds`,
      );
    }
    if (this.evaluatesValues && this.codeShapedLiteral) {
      this.reasons.add(
        'a value that may hold a command substitution is evaluated as code (arithmetic, indirection or an assigning builtin)',
      );
    } else if (this.evaluatesValues && this.runtimeValues) {
      this.reasons.add(
        'a value computed at run time is evaluated as code (arithmetic, indirection, a subscript or an assigning builtin), and bash runs any command substitution it holds',
      );
    }
    if (this.reasons.size > 0) cats.add('unknown');
    if (cats.size === 0) cats.add('read');
    const categories = SHELL_SEVERITY.filter((c) => cats.has(c));
    const rank = (c: ShellCommand): number =>
      Math.min(...c.categories.map((k) => SHELL_SEVERITY.indexOf(k)), SHELL_SEVERITY.length);
    const kinds: string[] = [];
    for (const c of [...this.commands].sort((a, b) => rank(a) - rank(b))) {
      if (!kinds.includes(c.kind)) kinds.push(c.kind);
    }
    const kind =
      kinds.length === 0
        ? 'empty'
        : kinds.length > 8
          ? `${kinds.slice(0, 8).join(', ')}, …`
          : kinds.join(', ');
    return {
      text,
      commands: this.commands,
      categories,
      kind,
      unknownReasons: [...this.reasons],
      ...(this.splitLists.length > 0 ? { splitLists: [...this.splitLists] } : {}),
      ...(this.changesDirectory ? { changesDirectory: true } : {}),
      ...(this.writes.size > 0 ? { writePaths: [...this.writes].slice(0, MAX_WRITE_PATHS + 1) } : {}),
    };
  }

  /**
   * Requires the parse of `frame.src` to agree with bash's own reading of it (bash-expansions.ts), after
   * the walk: every command or process substitution bash runs must be one the walk judged, and every
   * here-document must end where bash ends it. tree-sitter gives some text as one leaf that bash
   * expands (`${x#$(cmd)}`, `"${x:+`cmd`}"`: docs/security.md class 160), and ends some
   * here-documents elsewhere than bash (class 161); either way bash runs what was not judged.
   */
  coverage(root: SyntaxNode, frame: Frame): void {
    const src = frame.src;
    const found = findExpansions(src);
    if (found.problem !== undefined) {
      this.reasons.add(`${found.problem}: bash may run what the parser does not show`);
      return;
    }
    for (const sub of found.substitutions) {
      if (frame.walked.get(sub.start) === sub.end) continue;
      const text = src.slice(sub.start, sub.end);
      this.reasons.add(
        `bash runs the command substitution ${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)} at offset ${sub.start}, which the parser did not show as one`,
      );
      return;
    }
    const nodes: SyntaxNode[] = [];
    const collect = (n: SyntaxNode): void => {
      if (n.type === 'heredoc_redirect') nodes.push(n);
      for (const c of n.children) collect(c);
    };
    collect(root);
    const docs = [...found.hereDocuments].sort((a, b) => a.operator - b.operator);
    const operatorAt = (n: SyntaxNode): number => n.children.find((c) => !c.named)?.start ?? n.start;
    nodes.sort((a, b) => operatorAt(a) - operatorAt(b));
    const agree =
      docs.length === nodes.length &&
      docs.every((doc, k) => {
        const n = nodes[k]!;
        const end = n.children.find((c) => c.type === 'heredoc_end');
        const body = n.children.find((c) => c.type === 'heredoc_body');
        return (
          operatorAt(n) === doc.operator &&
          end !== undefined &&
          end.start === doc.delimiterStart &&
          end.end === doc.delimiterEnd &&
          (body === undefined || (body.start >= doc.bodyStart && body.end <= doc.delimiterStart))
        );
      });
    if (!agree)
      this.reasons.add(
        'a here-document ends elsewhere for bash than for the parser: bash runs as commands what the parser read as its text, or the reverse',
      );
  }

  /** Notes a literal path written that its text says is an ordinary write. */
  private wrote(path: string): void {
    if (path === '') return;
    const at =
      path.startsWith('/') || path === '~' || path.startsWith('~/')
        ? path
        : `${this.cwdPath}/${path.startsWith('~+/') ? path.slice(3) : path}`;
    this.writes.add(at);
  }

  private push(
    frame: Frame,
    words: readonly WordValue[],
    name: string,
    kind: string,
    categories: readonly ShellCategory[],
    notes: readonly string[] = [],
  ): void {
    if (this.commands.length >= MAX_COMMANDS) {
      this.reasons.add('the command runs too many commands to judge');
      return;
    }
    const cats = new Set<ShellCategory>(categories);
    for (const c of frame.extra) cats.add(c);
    if (cats.has('unknown'))
      for (const n of notes.length > 0 ? notes : [`${kind} cannot be judged`]) this.reasons.add(n);
    const split = words.flatMap((w, i) => (w.splits === true ? [i] : []));
    this.commands.push({
      argv: words.map((w) => (w.dynamic ? w.text : w.value)),
      dynamic: words.flatMap((w, i) => (w.dynamic || w.expands ? [i] : [])),
      ...(split.length > 0 ? { split } : {}),
      name,
      kind,
      categories: SHELL_SEVERITY.filter((c) => cats.has(c)),
      via: frame.via,
      notes,
    });
  }

  private unknown(frame: Frame, words: readonly WordValue[], kind: string, reason: string): void {
    this.push(frame, words, words[0]?.text ?? kind, kind, ['unknown'], [reason]);
  }

  // -------------------------------------------------------------------------------------------------
  // Statements

  statement(node: SyntaxNode, frame: Frame): void {
    switch (node.type) {
      case 'comment':
        return;
      case 'pipeline': {
        let piped = false;
        for (const c of node.children) {
          if (!c.named) {
            if (c.type === '|' || c.type === '|&') piped = true;
            continue;
          }
          this.statement(c, piped ? { ...frame, stdin: 'pipe' } : frame);
        }
        return;
      }
      case 'redirected_statement':
        this.redirected(node, frame);
        return;
      case 'command':
        this.command(node, frame);
        return;
      case 'declaration_command':
        this.declaration(node, frame);
        return;
      case 'unset_command':
        this.evaluatesValues = true;
        this.scan(node, frame);
        this.push(frame, this.wordsOf(node, frame), 'unset', 'unset', ['read']);
        return;
      case 'variable_assignment':
      case 'variable_assignments':
        this.assignments(node, frame);
        return;
      case 'test_command':
        // [[ a -eq b ]] evaluates its operands arithmetically; -v and -R evaluate a name's subscript.
        // `[ a -eq b ]` (the test builtin) takes integers only ("integer expression expected").
        if (
          hasTestOperator(
            node,
            frame.src,
            frame.src.startsWith('[[', node.start) ? EVALUATING_TEST_OPERATORS : NAME_TEST_OPERATORS,
          )
        )
          this.evaluatesValues = true;
        this.scan(node, frame);
        this.push(frame, [], '[[', 'test', ['read']);
        return;
      case 'function_definition': {
        // `f() { …; } > FILE`: bash opens the redirections each time the function runs. They are
        // judged here, where it is defined, called or not (docs/security.md class 162).
        const name = node.children.find((c) => c.field === 'name');
        if (name !== undefined) this.functions.add(frame.src.slice(name.start, name.end));
        const redirects = node.children.filter((c) => isRedirect(c));
        const stdin = this.stdinOf(redirects, frame);
        for (const c of node.children) {
          if (!c.named || c === name || c.type === 'comment' || redirects.includes(c)) continue;
          if (c.field === 'body') this.statement(c, { ...frame, stdin });
          else this.reasons.add(`unsupported shell syntax in a function definition (${c.type})`);
        }
        for (const r of redirects) this.redirect(r, frame);
        return;
      }
      case 'compound_statement':
        if (node.children[0]?.type === '((') {
          // (( … )) is arithmetic evaluation.
          this.evaluatesValues = true;
          this.scan(node, frame);
          this.push(frame, [], '((', 'arithmetic', ['read']);
          return;
        }
        break;
      default:
    }
    if (!CONTAINERS.has(node.type)) {
      this.reasons.add(`unsupported shell syntax (${node.type})`);
      return;
    }
    if (node.type === 'c_style_for_statement') this.evaluatesValues = true;
    // `select` assigns what it reads from input.
    if (node.type === 'for_statement' && node.children[0]?.type === 'select') this.runtimeValues = true;
    // `for NAME in …` assigns NAME as `NAME=…` does (`for PATH in /tmp/x; do ls; done`).
    const loopVariable =
      node.type === 'for_statement' ? node.children.find((c) => c.field === 'variable') : undefined;
    if (loopVariable !== undefined) {
      const risk = variableRisk(frame.src.slice(loopVariable.start, loopVariable.end), undefined, 'shell');
      if (risk !== undefined) this.reasons.add(risk);
    }
    // The list's words, split as a command's are, are handed to the body one by one.
    if (node.type === 'for_statement')
      for (const c of node.children) if (c.field === 'value') this.splitList(c, frame);
    for (const c of node.children) {
      if (!c.named) continue;
      if (STATEMENTS.has(c.type)) this.statement(c, frame);
      else if (c.type === 'comment') continue;
      else if (
        c.type === 'heredoc_redirect' ||
        c.type === 'file_redirect' ||
        c.type === 'herestring_redirect'
      ) {
        this.redirect(c, frame);
      } else this.scan(c, frame);
    }
  }

  private redirected(node: SyntaxNode, frame: Frame): void {
    const redirects = node.children.filter((c) => isRedirect(c));
    const stdin = this.stdinOf(redirects, frame);
    for (const c of node.children) {
      if (!c.named || c.type === 'comment' || redirects.includes(c)) continue;
      if (c.field === 'body' || STATEMENTS.has(c.type)) this.statement(c, { ...frame, stdin });
      // Nothing the walk does not know is skipped (docs/security.md class 162).
      else this.reasons.add(`unsupported shell syntax around a redirection (${c.type})`);
    }
    for (const r of redirects) this.redirect(r, frame);
  }

  /** Where a statement's standard input comes from, given its redirections. */
  private stdinOf(redirects: readonly SyntaxNode[], frame: Frame): StdinSource {
    let stdin = frame.stdin;
    for (const r of redirects) {
      if (r.type === 'heredoc_redirect') stdin = 'heredoc';
      else if (r.type === 'herestring_redirect') stdin = 'herestring';
      else if (
        r.type === 'file_redirect' &&
        INPUT_OPS.has(this.operatorOf(r)) &&
        this.descriptorOf(r, frame) === 0
      ) {
        stdin = 'file';
      }
    }
    return stdin;
  }

  private operatorOf(r: SyntaxNode): string {
    return r.children.find((c) => !c.named)?.type ?? '';
  }

  private descriptorOf(r: SyntaxNode, frame: Frame): number {
    const d = r.children.find((c) => c.type === 'file_descriptor');
    if (d === undefined) return this.operatorOf(r).startsWith('<') ? 0 : 1;
    return Number(frame.src.slice(d.start, d.end));
  }

  private redirect(r: SyntaxNode, frame: Frame): void {
    if (r.type === 'herestring_redirect') {
      this.scan(r, frame);
      return;
    }
    if (r.type === 'heredoc_redirect') {
      const start = r.children.find((c) => c.type === 'heredoc_start');
      const quoted = start !== undefined && /['"\\]/.test(frame.src.slice(start.start, start.end));
      let piped = false;
      for (const c of r.children) {
        if (!c.named) {
          if (c.type === '|' || c.type === '|&') piped = true;
          continue;
        }
        if (c.type === 'heredoc_body') {
          const body = frame.src.slice(c.start, c.end);
          if (body.includes('$') || body.includes('`')) this.codeShapedLiteral = true;
          // With a quoted delimiter the body is literal; otherwise it expands like a double-quoted string.
          if (!quoted) this.scan(c, frame);
        } else if (c.type === 'file_redirect' || c.type === 'herestring_redirect') this.redirect(c, frame);
        else if (STATEMENTS.has(c.type)) this.statement(c, piped ? { ...frame, stdin: 'pipe' } : frame);
        else if (c.type !== 'heredoc_start' && c.type !== 'heredoc_end') this.scan(c, frame);
      }
      return;
    }
    if (r.type !== 'file_redirect') {
      this.reasons.add(`unsupported redirection (${r.type})`);
      return;
    }
    this.scan(r, frame);
    const op = this.operatorOf(r);
    const dest = r.children.find((c) => c.field === 'destination');
    if (dest === undefined) return; // `>&-`, `<&-`: closing a descriptor.
    const target = wordValue(dest, frame.src);
    if ((op === '>&' || op === '<&') && /^(\d+|-)$/.test(target.value) && !target.dynamic) return;
    if (INPUT_OPS.has(op)) {
      const risk = target.dynamic ? 'unknown' : pathRisk(target.value);
      if (risk === 'network' && !isLoopbackHost(devTcpHost(target.value) ?? '')) {
        this.push(frame, [{ ...target, value: `<${target.value}` }], '<', 'network redirect', [
          'exfiltration',
        ]);
      }
      return;
    }
    if (!OUTPUT_OPS.has(op)) {
      this.reasons.add(`unsupported redirection operator ${op}`);
      return;
    }
    const cats = new Set<ShellCategory>();
    if (target.dynamic || target.expands) {
      cats.add('write');
      cats.add('unknown');
    } else {
      switch (this.pathRiskHere(target.value)) {
        case 'harmless':
          return;
        case 'normal':
          cats.add('write');
          this.wrote(target.value);
          break;
        case 'system':
          cats.add('write').add('privilege');
          break;
        case 'device':
          cats.add('destructive');
          break;
        case 'network':
          cats.add(isLoopbackHost(devTcpHost(target.value) ?? '') ? 'write' : 'exfiltration');
          break;
        case 'unknown':
          cats.add('write').add('unknown');
          break;
      }
    }
    const computed = target.dynamic || target.expands;
    this.push(
      frame,
      [{ value: op, dynamic: false, expands: false, text: op }, target],
      op,
      `redirect ${op}`,
      [...cats],
      !cats.has('unknown') ? [] : computed ? ['writes to a path computed at run time'] : [UNKNOWN_CWD],
    );
  }

  private command(node: SyntaxNode, frame: Frame): void {
    let stdin = frame.stdin;
    const wordNodes: SyntaxNode[] = [];
    const redirects: SyntaxNode[] = [];
    for (const c of node.children) {
      if (!c.named) continue;
      if (c.type === 'variable_assignment') {
        // A prefix assignment is the command's environment.
        this.assignment(c, frame, 'environment');
      } else if (c.field === 'name') {
        const inner = c.children.find((x) => x.named);
        if (inner !== undefined) wordNodes.unshift(inner);
      } else if (c.field === 'redirect' || c.type.endsWith('_redirect')) {
        redirects.push(c);
        if (c.type === 'herestring_redirect') stdin = 'herestring';
      } else if (c.type === 'comment') {
        continue;
      } else wordNodes.push(c);
    }
    for (const w of wordNodes) this.scan(w, frame);
    const words = wordNodes.map((w) => wordValue(w, frame.src));
    if (words.length > 0) this.classifyWords(words, { ...frame, stdin });
    for (const r of redirects) this.redirect(r, frame);
  }

  private wordsOf(node: SyntaxNode, frame: Frame): WordValue[] {
    return node.children.filter((c) => c.named && c.type !== 'comment').map((c) => wordValue(c, frame.src));
  }

  private declaration(node: SyntaxNode, frame: Frame): void {
    const keyword = node.children.find((c) => !c.named)?.type ?? 'declare';
    const words: WordValue[] = [{ value: keyword, dynamic: false, expands: false, text: keyword }];
    // `export NAME`, `declare -x NAME=…`: the variable goes into every later program's environment.
    const exported =
      keyword === 'export' ||
      node.children.some((c) => c.type === 'word' && /^-[A-Za-z]*x/.test(frame.src.slice(c.start, c.end)));
    const reach: VariableReach = exported ? 'environment' : 'shell';
    for (const c of node.children) {
      if (!c.named) continue;
      if (c.type === 'variable_assignment') {
        this.assignment(c, frame, reach);
        words.push(wordValue(c, frame.src));
        // A declaration builtin reads a value `(…)` again as a compound assignment and expands each
        // element (`declare -a a='($(cmd))'`); a value made at run time may be one.
        const value = c.children.find((x) => x.field === 'value');
        const v = value === undefined ? undefined : wordValue(value, frame.src);
        if (v !== undefined && (v.dynamic || v.expands || v.value.trimStart().startsWith('(')))
          this.evaluatesValues = true;
      } else if (c.type === 'variable_name') {
        const name = frame.src.slice(c.start, c.end);
        const risk = exported ? variableRisk(name, undefined, reach) : undefined;
        if (risk !== undefined) this.reasons.add(risk);
        words.push(wordValue(c, frame.src));
      } else {
        this.scan(c, frame);
        const w = wordValue(c, frame.src);
        words.push(w);
        // A word that is not an option is read again by the builtin as NAME or NAME=VALUE after quote
        // removal, where the grammar saw a string: `declare 'a[$(cmd)]=1'` evaluates the subscript as
        // arithmetic and `declare 'a=($(cmd))'` is a compound assignment whose elements are expanded.
        if (
          w.dynamic ||
          w.expands ||
          (!w.value.startsWith('-') && !w.value.startsWith('+')) ||
          /[[=(]/.test(w.value)
        )
          this.evaluatesValues = true;
        // -n (nameref) and -i (integer) make later assignments evaluate names and arithmetic.
        if (w.dynamic || (w.value.startsWith('-') && /[ni]/.test(w.value))) this.evaluatesValues = true;
        // …also the assignments of lines typed later in an interactive shell, judged without it.
        if (!w.dynamic && /^-[A-Za-z]*[ni]/.test(w.value) && ATTRIBUTE_KEYWORDS.has(keyword))
          this.reasons.add(
            `${keyword} ${w.value} makes later assignments to the variable evaluate their values as code, which later lines are judged without`,
          );
        if (w.dynamic) this.reasons.add(`${keyword} with an argument computed at run time`);
      }
    }
    this.push(frame, words, keyword, keyword, ['read']);
  }

  private assignments(node: SyntaxNode, frame: Frame): void {
    if (node.type === 'variable_assignment') this.assignment(node, frame, 'shell');
    else
      for (const c of node.children) if (c.type === 'variable_assignment') this.assignment(c, frame, 'shell');
  }

  private assignment(node: SyntaxNode, frame: Frame, reach: VariableReach): void {
    const name = node.children.find((c) => c.field === 'name');
    if (name !== undefined) {
      if (name.type === 'subscript') this.evaluatesValues = true;
      const varName = frame.src.slice(name.start, name.end).replace(/\[.*$/s, '');
      // The value as bash assigns it; appended to (`+=`), or made at run time, it is not known.
      const value = node.children.find((c) => c.field === 'value');
      const word = value === undefined ? undefined : wordValue(value, frame.src);
      const appends = node.children.some((c) => c.type === '+=');
      const known =
        appends || word?.dynamic === true || word?.expands === true ? undefined : (word?.value ?? '');
      // Which programs run, and what a program is given in its environment (variableRisk).
      const risk = variableRisk(varName, known, reach);
      if (risk !== undefined) this.reasons.add(risk);
      const locale = localeChange(varName, known);
      if (locale !== undefined) this.reasons.add(locale);
      // `a=($(cat .env))`: each element an array holds is a piece of the value split apart.
      if (value?.type === 'array')
        for (const c of value.children) if (c.named && c.type !== 'comment') this.splitList(c, frame);
    }
    this.scan(node, frame);
  }

  // -------------------------------------------------------------------------------------------------
  // Words: find what runs inside them (command and process substitution) and what evaluates code.

  private scan(node: SyntaxNode, frame: Frame): void {
    switch (node.type) {
      case 'command_substitution':
      case 'process_substitution': {
        this.runtimeValues = true;
        // Inside "…" the grammar starts the node at the blanks before `$(`.
        let start = node.start;
        while (start < node.end && ' \t\n'.includes(frame.src[start]!)) start++;
        frame.walked.set(start, node.end);
        const via = node.type === 'command_substitution' ? '$(…)' : '<(…)';
        const isOutput = node.children[0]?.type === '>(';
        const inner: Frame = {
          ...frame,
          via: [...frame.via, via],
          stdin: isOutput ? 'pipe' : frame.stdin,
        };
        for (const c of node.children) {
          if (!c.named) continue;
          if (STATEMENTS.has(c.type)) this.statement(c, inner);
          else if (c.type.endsWith('_redirect')) this.redirect(c, inner);
          else if (c.type !== 'comment') this.scan(c, inner);
        }
        return;
      }
      case 'arithmetic_expansion':
      case 'subscript':
        this.evaluatesValues = true;
        break;
      case 'simple_expansion':
        if (!isNumericSpecial(node, frame.src) && !this.knownVariable(node, frame)) this.runtimeValues = true;
        break;
      case 'array':
        // `a=([x]=1)`: the keys of an indexed array are arithmetic.
        if (frame.src.slice(node.start, node.end).includes('[')) this.evaluatesValues = true;
        break;
      case 'expansion': {
        const kids = node.children;
        // `${i}` of a variable this line set to a number is no value made at run time.
        const plain = kids.length === 3 && kids[1]!.type === 'variable_name';
        if (!(plain && frame.known.has(frame.src.slice(kids[1]!.start, kids[1]!.end))))
          this.runtimeValues = true;
        if (kids[1]?.type === '!') this.evaluatesValues = true;
        // `${s:OFFSET:LENGTH}` evaluates offset and length as arithmetic.
        if (kids.some((k) => !k.named && k.type === ':')) this.evaluatesValues = true;
        for (let i = 0; i + 1 < kids.length; i++) {
          if (kids[i]!.type === '@' && kids[i + 1]!.type === 'P') {
            this.reasons.add('${var@P} runs command substitutions held in the variable');
          }
        }
        break;
      }
      case 'ansi_c_string':
        // sh (dash: /bin/sh on Debian, the login shell of accounts `useradd` makes) has no `$'…'`: it
        // reads `$` and a plain '…' that ends at the first quote, so `$'a\' ; cmd ; \'b' #'` runs cmd
        // there while bash reads one word. The two readings differ exactly when the body holds a quote.
        if (frame.src.slice(node.start + 2, node.end - 1).includes("'")) {
          this.reasons.add("$'…' holding an escaped quote is read as other words by sh (dash)");
        }
        this.literal(node, frame);
        return;
      case 'raw_string':
      case 'string_content':
      case 'word':
      case 'heredoc_content':
        this.literal(node, frame);
        return;
      default:
    }
    for (const c of node.children) {
      if (!c.named) continue;
      // A redirection met anywhere is judged as one, never only scanned.
      if (isRedirect(c)) this.redirect(c, frame);
      else if (STATEMENTS.has(c.type) && node.type !== 'expansion') this.statement(c, frame);
      else this.scan(c, frame);
    }
  }

  /** `$i` of a variable this line sets to a number before anything reads it (variable-flow.ts). */
  private knownVariable(node: SyntaxNode, frame: Frame): boolean {
    const v = node.children.find((c) => c.type === 'variable_name');
    return v !== undefined && frame.known.has(frame.src.slice(v.start, v.end));
  }

  private literal(node: SyntaxNode, frame: Frame): void {
    const v = wordValue(node, frame.src).value;
    if (v.includes('$') || v.includes('`')) this.codeShapedLiteral = true;
  }

  // -------------------------------------------------------------------------------------------------
  // Commands

  classifyWords(words: readonly WordValue[], frame: Frame): void {
    const first = words[0];
    if (first === undefined) return;
    if (frame.depth > MAX_NESTING) {
      this.unknown(frame, words, 'nested command', 'commands nested this deeply are not judged');
      return;
    }
    if (first.dynamic || first.expands) {
      this.unknown(frame, words, 'computed command', 'the command name is computed at run time');
      return;
    }
    for (const w of words)
      if (!w.dynamic && (w.value.includes('$') || w.value.includes('`'))) this.codeShapedLiteral = true;
    let name = first.value;
    if (name.includes('/')) {
      const slash = name.lastIndexOf('/');
      const dir = name.slice(0, slash) || '/';
      if (!STANDARD_BIN_DIRS.has(dir.replace(/\/+$/, '') || '/')) {
        this.unknown(
          frame,
          words,
          'program by path',
          `runs ${name}, a program outside the system directories`,
        );
        return;
      }
      name = name.slice(slash + 1);
    }
    const rule = ruleFor(name);
    if (rule === undefined) {
      if (this.functions.has(name)) {
        // Its body was classified where it was defined.
        this.push(frame, words, name, 'function', ['read']);
        return;
      }
      this.unknown(
        frame,
        words,
        name === '' ? 'empty command' : name,
        `${name || 'an empty name'} is not a command Gatehouse knows`,
      );
      return;
    }
    const ctx: RuleContext = {
      stdin: frame.stdin,
      nested: (inner, via, extra = [], chdir) => {
        const nestedFrame = {
          ...frame,
          via: [...frame.via, via],
          extra: [...frame.extra, ...extra],
          depth: frame.depth + 1,
        };
        if (chdir === undefined) {
          this.classifyWords(inner, nestedFrame);
          return;
        }
        // The wrapper starts its command in another directory (`env -C DIR`): its relative paths are
        // judged from there, as after `cd DIR`; this shell's own directory stays what it was.
        const [cwd, cwdPath] = [this.cwd, this.cwdPath];
        this.changeDirectory(chdir);
        this.classifyWords(inner, nestedFrame);
        [this.cwd, this.cwdPath] = [cwd, cwdPath];
      },
      nestedLine: (line, via, extra = []) => this.nestedLine(line, via, extra, frame),
      writeRisk: (path) => {
        if (path.dynamic) return 'unknown';
        const risk = this.pathRiskHere(path.value);
        if (risk === 'unknown') this.reasons.add(UNKNOWN_CWD);
        if (risk === 'normal') this.wrote(path.value);
        return risk;
      },
      evaluates: (word) => {
        this.evaluatesValues = true;
        this.evaluatedWord(word, frame);
      },
      computes: () => {
        this.runtimeValues = true;
      },
    };
    const v = rule(words.slice(1), name, ctx);
    if (v !== null) this.push(frame, words, name, v.kind, v.categories, v.notes ?? []);
    if (name === 'cd' || name === 'pushd') this.changeDirectory(words[1]);
    if (name === 'popd') this.cwd = 'unknown';
    if (name === 'cd' || name === 'pushd' || name === 'popd') this.changesDirectory = true;
  }

  private changeDirectory(target: WordValue | undefined): void {
    if (target === undefined || (!target.dynamic && (target.value === '~' || target.value === '~/'))) {
      this.cwd = 'home';
      this.cwdPath = '~';
      return;
    }
    const v = target.value;
    if (target.dynamic || target.expands || !(v.startsWith('/') || v.startsWith('~/'))) {
      // `cd -`, `cd ..` (from the home directory: /home), `cd sub` (maybe a link), `pushd +1`,
      // `cd ~user`, a computed target: relative paths after it start who knows where.
      this.cwd = 'unknown';
      return;
    }
    this.cwd = v.startsWith('~/') ? 'home' : pathRisk(`${v}/x`) === 'system' ? 'system' : 'home';
    this.cwdPath = v.replace(/\/+$/, '') || '/';
  }

  private nestedLine(line: WordValue, via: string, extra: readonly ShellCategory[], frame: Frame): void {
    const words = [{ value: via, dynamic: false, expands: false, text: via }, line];
    if (line.dynamic) {
      this.unknown(frame, words, via, `the ${via} string is computed at run time`);
      return;
    }
    if (frame.depth + 1 > MAX_NESTING) {
      this.unknown(frame, words, via, 'commands nested this deeply are not judged');
      return;
    }
    const parsed = parseBash(line.value);
    if (!parsed.ok) {
      this.unknown(frame, words, via, `the ${via} string does not parse: ${parsed.error}`);
      return;
    }
    const inner: Frame = {
      src: line.value,
      // Another shell: it knows what its own line sets, nothing of this one's.
      known: this.flowOf(parsed.root, line.value),
      via: [...frame.via, via],
      extra: [...frame.extra, ...extra],
      depth: frame.depth + 1,
      stdin: frame.stdin,
      walked: new Map(),
    };
    this.statement(parsed.root, inner);
    this.coverage(parsed.root, inner);
  }
}
