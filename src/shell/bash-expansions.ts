// Where bash runs a command substitution in a line, and where each here-document ends, found the way
// bash's own reader finds them and without the tree-sitter grammar (docs/security.md classes 160,
// 161). The classifier then requires its parse to agree: each substitution found here must be one it
// walked, and each here-document must end where this says (shell-classifier.ts `Walk.coverage`).
//
// This is no parser. It follows only what decides which text bash expands: quotes, `$'…'`, escapes,
// comments, here-document bodies, and where `$(…)`, `${…}`, backquotes and arithmetic end. Each rule
// follows bash 5.2's reader (parse.y: read_token_word, parse_matched_pair, parse_comsub; make_cmd.c:
// make_here_document), checked against real bash by src/shell/bash-differential.test.ts. Where bash's
// reading depends on more than this follows (a single quote inside a double-quoted `${…}`, whose
// meaning depends on the operator; a `case` inside `$(…)`; a line break inside a construct while a
// here-document waits for its body…) it gives up with a `problem`, which makes the line unknown.
// Where it cannot tell which of two readings bash takes, it takes the one that finds more.

/** A command or process substitution: `$(…)`, a backquoted command, `<(…)`, `>(…)`. */
export interface Substitution {
  readonly start: number;
  readonly end: number;
}

export interface HereDocument {
  /** Offset of the `<<` or `<<-` operator. */
  readonly operator: number;
  /** Where its body starts: after the line break that ends the line holding the operator. */
  readonly bodyStart: number;
  /** Where the delimiter line starts (the body ends there). */
  readonly bodyEnd: number;
  /** The delimiter on the line that ends it (after the tabs `<<-` strips). */
  readonly delimiterStart: number;
  readonly delimiterEnd: number;
  readonly quoted: boolean;
}

export interface Expansions {
  readonly substitutions: readonly Substitution[];
  readonly hereDocuments: readonly HereDocument[];
  /** Why the text could not be read as bash reads it; then nothing else here is complete. */
  readonly problem?: string;
}

/** Steps per line: bounds the work for hostile input (arithmetic that turns out not to be). */
const MAX_STEPS = 2_000_000;
/** Constructs nested in one another. */
const MAX_NESTING = 200;

class Unsure extends Error {}
/** `$((` or `((` whose text does not end in `))`: bash reads it as `$(` or `(` again. */
class NotArithmetic extends Error {}

interface Pending {
  readonly operator: number;
  readonly delimiter: string;
  readonly quoted: boolean;
  readonly strip: boolean;
}

/** Where the text between two points is being read. */
type Context =
  | 'command'
  | 'dquote'
  | 'heredoc'
  | 'brace'
  | 'brace-dquote' // ${…} inside "…" or an expanding here-document body
  | 'arith';

/** Words after which a following `case` may be bash's reserved word (over-inclusive on purpose). */
const BEFORE_COMMAND: ReadonlySet<string> = new Set([
  '!',
  '{',
  '}',
  'do',
  'done',
  'then',
  'else',
  'elif',
  'if',
  'fi',
  'while',
  'until',
  'time',
  '-p',
  '--',
  'coproc',
  'esac',
]);

const METACHARACTERS = ' \t\n;&|()<>';

/** Reads `text` as bash would for expansions and here-documents. Never throws. */
export function findExpansions(text: string): Expansions {
  const reader = new Reader(text, { steps: 0 });
  try {
    reader.commands(0, false);
    return { substitutions: reader.substitutions, hereDocuments: reader.hereDocuments };
  } catch (e) {
    if (e instanceof Unsure || e instanceof RangeError) {
      return {
        substitutions: reader.substitutions,
        hereDocuments: reader.hereDocuments,
        problem: e instanceof Unsure ? e.message : 'the command is nested too deeply to read',
      };
    }
    throw e;
  }
}

class Reader {
  readonly substitutions: Substitution[] = [];
  readonly hereDocuments: HereDocument[] = [];
  /** Here-documents whose line has not ended yet, in all open command contexts. */
  private pendingTotal = 0;
  /** Open `$(`, `<(`, `>(`: there bash also ends a here-document at a delimiter followed by `)`. */
  private substitutionDepth = 0;
  /** Reading a here-document's body: a here-document inside it is not followed. */
  private inBody = 0;
  private nesting = 0;
  /** Reading stops here (the end of a here-document body being read). */
  private limit: number;

  constructor(
    private readonly s: string,
    private readonly budget: { steps: number },
  ) {
    this.limit = s.length;
  }

  private tick(): void {
    if (++this.budget.steps > MAX_STEPS) throw new Unsure('the command is too long to read');
  }

  private nest<T>(f: () => T): T {
    if (++this.nesting > MAX_NESTING) throw new Unsure('the command is nested too deeply to read');
    try {
      return f();
    } finally {
      this.nesting--;
    }
  }

  /** A line break inside quotes or a nested construct while a here-document waits for its body. */
  private lineBreak(): void {
    if (this.pendingTotal > 0)
      throw new Unsure(
        'a line break inside quotes or a nested construct on a line whose here-document has not begun',
      );
  }

  /**
   * Command text from `i` to the end (`close` false), or to the `)` that closes a `$(`, `<(` or
   * `>(` (`close` true). Returns the offset after it.
   */
  commands(i: number, close: boolean): number {
    return this.nest(() => this.commandsIn(i, close));
  }

  private commandsIn(start: number, close: boolean): number {
    const s = this.s;
    const pending: Pending[] = [];
    let i = start;
    let depth = 0; // unclosed subshell parentheses
    let wordStart = true;
    let word = ''; // the current word's characters while it is plain
    let plain = true;
    let last = ''; // the current word's last plain character
    let regex = false; // the current word follows `=~`: bash reads it as a regular expression
    let prev: string | null = null; // the previous word, if plain; null after an operator
    let afterOperator = true;
    const endWord = (): void => {
      if (!wordStart) {
        prev = plain ? word : null;
        afterOperator = false;
      }
      wordStart = true;
      word = '';
      plain = true;
      last = '';
      regex = false;
    };
    const operator = (): void => {
      endWord();
      prev = null;
      afterOperator = true;
    };
    const startWord = (): void => {
      if (!wordStart) return;
      regex = prev === '=~';
      wordStart = false;
    };
    const notPlain = (): void => {
      startWord();
      plain = false;
      last = '';
    };
    for (;;) {
      this.tick();
      if (i >= this.limit) {
        endWord();
        if (close) throw new Unsure('a command substitution is not closed');
        if (pending.length > 0) throw new Unsure('a here-document has no body');
        return this.limit;
      }
      const c = s[i]!;
      if (c === ' ' || c === '\t') {
        endWord();
        i++;
        continue;
      }
      if (c === '\n') {
        operator();
        i++;
        if (pending.length > 0) {
          if (this.inBody > 0) throw new Unsure('a here-document inside a here-document body');
          const docs = pending.splice(0);
          this.pendingTotal -= docs.length;
          i = this.bodies(i, docs);
        }
        if (this.pendingTotal > 0) this.lineBreak();
        continue;
      }
      if (c === '#' && wordStart) {
        while (i < this.limit && s[i] !== '\n') i++;
        continue;
      }
      if (c === '\\') {
        if (s[i + 1] === '\n') {
          i += 2; // a line continuation: the word goes on
          continue;
        }
        notPlain();
        i = Math.min(i + 2, this.limit);
        continue;
      }
      if (c === "'") {
        notPlain();
        i = this.single(i);
        continue;
      }
      if (c === '"') {
        notPlain();
        i = this.dquote(i + 1);
        continue;
      }
      if (c === '`') {
        notPlain();
        i = this.backquote(i, 'command');
        continue;
      }
      if (c === '$') {
        startWord();
        const j = this.dollar(i, 'command');
        if (j === i + 1) {
          word += c;
          last = c;
        } else notPlain();
        i = j;
        continue;
      }
      if (c === '|' && !wordStart && regex) {
        // bash reads `|` as part of a regular expression after `=~`.
        word += c;
        last = c;
        i++;
        continue;
      }
      if (c === '<' || c === '>') {
        const n = s[i + 1];
        if (n === '(') {
          endWord();
          notPlain();
          i = this.substitution(i, 2);
          continue;
        }
        operator();
        if (c === '<' && n === '<') {
          if (s[i + 2] === '<') {
            i += 3;
            continue;
          }
          if (this.inBody > 0) throw new Unsure('a here-document inside a here-document body');
          const strip = s[i + 2] === '-';
          i = this.hereDocumentWord(i, i + (strip ? 3 : 2), strip, pending);
          continue;
        }
        i +=
          (c === '<' && (n === '>' || n === '&')) || (c === '>' && (n === '>' || n === '&' || n === '|'))
            ? 2
            : 1;
        continue;
      }
      if (c === '&' || c === '|' || c === ';') {
        operator();
        i++;
        continue;
      }
      if (c === '(') {
        const inRegex = wordStart ? prev === '=~' : regex;
        if (inRegex || (!wordStart && '?*+@!'.includes(last) && last !== '')) {
          // An extended glob `@(…)` or a group in a regular expression: one word to bash, in
          // which blanks, `#` and `|` are characters.
          notPlain();
          i = this.group(i + 1);
          continue;
        }
        if (wordStart && s[i + 1] === '(') {
          const j = this.tryArithmetic(i + 2);
          if (j !== undefined) {
            operator();
            i = j;
            continue;
          }
        }
        operator();
        depth++;
        i++;
        continue;
      }
      if (c === ')') {
        operator();
        i++;
        if (depth > 0) {
          depth--;
          continue;
        }
        if (close) {
          if (pending.length > 0) throw new Unsure('a here-document inside $(…) has no body before the )');
          return i;
        }
        continue;
      }
      if (wordStart && close && (afterOperator || (prev !== null && BEFORE_COMMAND.has(prev)))) {
        // bash reads a `case` statement's patterns here, whose `)` closes no parenthesis.
        if (s.startsWith('case', i) && (i + 4 >= this.limit || METACHARACTERS.includes(s[i + 4]!)))
          throw new Unsure('a case statement inside $(…), <(…) or >(…)');
      }
      startWord();
      if (plain) word += c;
      last = c;
      i++;
    }
  }

  /** `'…'` from its opening quote; returns the offset after the closing one. */
  private single(i: number): number {
    const j = this.s.indexOf("'", i + 1);
    if (j < 0 || j >= this.limit) throw new Unsure('a single quote is not closed');
    if (this.pendingTotal > 0 && this.s.slice(i, j).includes('\n')) this.lineBreak();
    return j + 1;
  }

  /** `$'…'` from the character after `$'`. */
  private ansi(i: number): number {
    for (; i < this.limit; i++) {
      this.tick();
      const c = this.s[i];
      if (c === '\\') i++;
      else if (c === "'") return i + 1;
      else if (c === '\n') this.lineBreak();
    }
    throw new Unsure("a $'…' string is not closed");
  }

  /** `"…"` from the character after the opening quote. */
  private dquote(start: number): number {
    return this.nest(() => {
      let i = start;
      for (;;) {
        this.tick();
        if (i >= this.limit) throw new Unsure('a double quote is not closed');
        const c = this.s[i];
        if (c === '"') return i + 1;
        if (c === '\\') i += 2;
        else if (c === '$') i = this.dollar(i, 'dquote');
        else if (c === '`') i = this.backquote(i, 'dquote');
        else {
          if (c === '\n') this.lineBreak();
          i++;
        }
      }
    });
  }

  /** What starts at a `$` in `context`; returns the offset after it (`i + 1` for a plain `$`). */
  private dollar(i: number, context: Context): number {
    const s = this.s;
    const n = s[i + 1];
    const quoting = context === 'dquote' || context === 'heredoc' || context === 'brace-dquote';
    if (n === '(') {
      if (s[i + 2] === '(') {
        const j = this.tryArithmetic(i + 3);
        if (j !== undefined) return j;
      }
      return this.substitution(i, 2);
    }
    if (n === '{') {
      const m = s[i + 2];
      if (m === ' ' || m === '\t' || m === '\n' || m === '|')
        throw new Unsure('`${ ` (and `${|`) runs commands in bash 5.3');
      // Arithmetic text is expanded as if in double quotes.
      return this.brace(i + 2, quoting || context === 'arith');
    }
    if (n === '[') return this.arithmetic(i + 2, ']');
    if (n === "'" && !quoting) {
      if (context === 'arith') throw new Unsure('a quote inside arithmetic');
      return this.ansi(i + 2);
    }
    if (n === '"' && !quoting) return this.dquote(i + 2);
    return i + 1;
  }

  /** `$(…)`, `<(…)` or `>(…)` starting at `i`, its text after `skip` characters. */
  private substitution(i: number, skip: number): number {
    this.substitutionDepth++;
    let end: number;
    try {
      end = this.commands(i + skip, true);
    } finally {
      this.substitutionDepth--;
    }
    this.substitutions.push({ start: i, end });
    return end;
  }

  /** `${…}` from the character after `${`: bash ends it at the first unquoted `}`. */
  private brace(start: number, inQuotes: boolean): number {
    return this.nest(() => {
      const s = this.s;
      let i = start;
      for (;;) {
        this.tick();
        if (i >= this.limit) throw new Unsure('a ${ is not closed');
        const c = s[i];
        if (c === '}') return i + 1;
        if (c === '\\') i += 2;
        else if (c === "'") {
          if (!inQuotes) {
            i = this.single(i);
            continue;
          }
          // Inside "${…}" bash reads '…' as quotes after some operators (# % / ^ ,) and as plain
          // characters after others (:- :+ …). Where the two readings could differ, give up.
          const j = s.indexOf("'", i + 1);
          if (j < 0 || j >= this.limit || /[$`"\\{}\n]/.test(s.slice(i + 1, j)))
            throw new Unsure(
              'a single quote inside a double-quoted ${…}, which bash reads as a quote or a character by the operator',
            );
          i = j + 1;
        } else if (c === '"') i = this.dquote(i + 1);
        else if ((c === '<' || c === '>') && s[i + 1] === '(') {
          // bash finds a process substitution in an operand as it expands it, inside "…" too.
          i = this.substitution(i, 2);
        } else if (c === '$') i = this.dollar(i, inQuotes ? 'brace-dquote' : 'brace');
        else if (c === '`') i = this.backquote(i, inQuotes ? 'brace-dquote' : 'brace');
        else {
          if (c === '\n') this.lineBreak();
          i++;
        }
      }
    });
  }

  /** `((…))` or `$((…))` from after the two parentheses; undefined when bash reads it otherwise. */
  private tryArithmetic(i: number): number | undefined {
    const subs = this.substitutions.length;
    const docs = this.hereDocuments.length;
    try {
      return this.arithmetic(i, '))');
    } catch (e) {
      if (!(e instanceof NotArithmetic)) throw e;
      this.substitutions.length = subs;
      this.hereDocuments.length = docs;
      return undefined;
    }
  }

  /** Arithmetic text up to `))` (`((…))`, `$((…))`) or `]` (`$[…]`). */
  private arithmetic(start: number, close: '))' | ']'): number {
    return this.nest(() => {
      const s = this.s;
      const open = close === ']' ? '[' : '(';
      const shut = close === ']' ? ']' : ')';
      let depth = 0;
      let i = start;
      for (;;) {
        this.tick();
        if (i >= this.limit) {
          if (close === '))') throw new NotArithmetic();
          throw new Unsure('a $[ is not closed');
        }
        const c = s[i]!;
        if (c === open) {
          depth++;
          i++;
        } else if (c === shut) {
          if (depth > 0) {
            depth--;
            i++;
          } else if (close === ']') return i + 1;
          else if (s[i + 1] === ')') return i + 2;
          else throw new NotArithmetic();
        } else if (c === '\\') i += 2;
        else if (c === "'") throw new Unsure('a quote inside arithmetic');
        else if (c === '"') i = this.dquote(i + 1);
        else if (c === '$') i = this.dollar(i, 'arith');
        else if (c === '`') i = this.backquote(i, 'arith');
        else {
          if (c === '\n') this.lineBreak();
          i++;
        }
      }
    });
  }

  /** An extended glob's or a regular expression's `(…)`, from after the `(`. */
  private group(start: number): number {
    return this.nest(() => {
      const s = this.s;
      let depth = 0;
      let i = start;
      for (;;) {
        this.tick();
        if (i >= this.limit) throw new Unsure('a pattern group is not closed');
        const c = s[i];
        if (c === '(') {
          depth++;
          i++;
        } else if (c === ')') {
          i++;
          if (depth === 0) return i;
          depth--;
        } else if (c === '\\') i += 2;
        else if (c === "'") i = this.single(i);
        else if (c === '"') i = this.dquote(i + 1);
        else if (c === '`') i = this.backquote(i, 'command');
        else if (c === '$') i = this.dollar(i, 'command');
        else if ((c === '<' || c === '>') && s[i + 1] === '(') i = this.substitution(i, 2);
        else if (c === '<' && s[i + 1] === '<') {
          if (s[i + 2] !== '<') throw new Unsure('a here-document operator inside a pattern group');
          i += 3;
        } else {
          if (c === '\n') this.lineBreak();
          i++;
        }
      }
    });
  }

  /**
   * A backquoted command from its opening backquote. bash ends it at the next backquote not escaped,
   * removes the backslashes before `$`, a backquote and `\` (and `"` directly inside "…"), and reads
   * what is left as a command line of its own.
   */
  private backquote(i: number, context: Context): number {
    const s = this.s;
    let j = i + 1;
    for (;;) {
      this.tick();
      if (j >= this.limit) throw new Unsure('a backquote is not closed');
      const c = s[j];
      if (c === '`') break;
      if (c === '\\') j += 2;
      else {
        if (c === '\n') this.lineBreak();
        j++;
      }
    }
    let text = '';
    const at: number[] = [];
    for (let k = i + 1; k < j; k++) {
      const c = s[k]!;
      const n = s[k + 1];
      if (
        c === '\\' &&
        k + 1 < j &&
        (n === '$' || n === '`' || n === '\\' || (n === '"' && context === 'dquote'))
      ) {
        k++;
        text += n;
        at.push(k);
        continue;
      }
      text += c;
      at.push(k);
    }
    at.push(j);
    const inner = new Reader(text, this.budget);
    inner.nesting = this.nesting + 1;
    this.nest(() => inner.commands(0, false));
    if (inner.hereDocuments.length > 0) throw new Unsure('a here-document inside backquotes');
    for (const sub of inner.substitutions)
      this.substitutions.push({ start: at[sub.start]!, end: at[sub.end - 1]! + 1 });
    this.substitutions.push({ start: i, end: j + 1 });
    return j + 1;
  }

  /** The word after `<<` or `<<-`: the delimiter, after quote removal. */
  private hereDocumentWord(operatorAt: number, start: number, strip: boolean, pending: Pending[]): number {
    const s = this.s;
    let i = start;
    while (s[i] === ' ' || s[i] === '\t') i++;
    const wordAt = i;
    let delimiter = '';
    let quoted = false;
    for (;;) {
      this.tick();
      const c = s[i];
      if (c === undefined || i >= this.limit || METACHARACTERS.includes(c)) break;
      if (c === "'") {
        const j = s.indexOf("'", i + 1);
        if (j < 0 || j >= this.limit) throw new Unsure('a single quote is not closed');
        delimiter += s.slice(i + 1, j);
        quoted = true;
        i = j + 1;
      } else if (c === '"') {
        quoted = true;
        i++;
        for (;;) {
          const d = s[i];
          if (d === undefined || i >= this.limit) throw new Unsure('a double quote is not closed');
          if (d === '"') {
            i++;
            break;
          }
          if (d === '$' || d === '`') throw new Unsure('a here-document delimiter holding $ or a backquote');
          if (d === '\\' && '$`"\\\n'.includes(s[i + 1] ?? '')) {
            delimiter += s[i + 1];
            i += 2;
            continue;
          }
          delimiter += d;
          i++;
        }
      } else if (c === '\\') {
        if (s[i + 1] === undefined || s[i + 1] === '\n')
          throw new Unsure('a here-document delimiter with a backslash at its end');
        quoted = true;
        delimiter += s[i + 1];
        i += 2;
      } else if (c === '$' || c === '`') {
        throw new Unsure('a here-document delimiter holding $ or a backquote');
      } else {
        delimiter += c;
        i++;
      }
    }
    if (i === wordAt) throw new Unsure('a here-document operator without a delimiter');
    if (delimiter.includes('\n')) throw new Unsure('a here-document delimiter holding a line break');
    pending.push({ operator: operatorAt, delimiter, quoted, strip });
    this.pendingTotal++;
    return i;
  }

  /** The bodies of the here-documents named on the line that ended at `i`, in order. */
  private bodies(start: number, docs: readonly Pending[]): number {
    let i = start;
    for (const [n, doc] of docs.entries()) {
      const r = this.body(i, doc);
      if (r.early && n < docs.length - 1)
        throw new Unsure('a here-document ended by a delimiter followed by ) while another waits');
      i = r.next;
    }
    return i;
  }

  /**
   * One here-document's body from `start`, ended as make_here_document ends it: at the first line
   * that is the delimiter (for an unquoted delimiter, after joining lines ended by a backslash; for
   * `<<-`, after removing leading tabs), or inside `$(…)` at a line that starts with the delimiter and
   * holds a `)` after it (bash reads the rest of that line as commands again).
   */
  private body(start: number, doc: Pending): { next: number; early: boolean } {
    const s = this.s;
    let i = start;
    for (;;) {
      if (i >= this.limit)
        throw new Unsure(
          `the here-document ending at ${doc.delimiter} has no end: bash ends it at the end of the text`,
        );
      // One line as bash reads it.
      const lineStart = i;
      let text = '';
      const at: number[] = [];
      while (i < this.limit && s[i] !== '\n') {
        this.tick();
        if (!doc.quoted && s[i] === '\\') {
          if (s[i + 1] === '\n') {
            i += 2;
            continue;
          }
          if (i + 1 < this.limit) {
            text += s[i]! + s[i + 1]!;
            at.push(i, i + 1);
            i += 2;
            continue;
          }
        }
        text += s[i];
        at.push(i);
        i++;
      }
      const next = i < this.limit ? i + 1 : i;
      at.push(i);
      let k = 0;
      if (doc.strip && text !== doc.delimiter) while (text[k] === '\t') k++;
      const rest = text.slice(k);
      const len = doc.delimiter.length;
      const early =
        rest !== doc.delimiter &&
        this.substitutionDepth > 0 &&
        rest.startsWith(doc.delimiter) &&
        rest.includes(')', len);
      if (rest === doc.delimiter || early) {
        this.hereDocuments.push({
          operator: doc.operator,
          bodyStart: start,
          bodyEnd: lineStart,
          delimiterStart: at[k]!,
          delimiterEnd: len === 0 ? at[k]! : at[k + len - 1]! + 1,
          quoted: doc.quoted,
        });
        if (!doc.quoted) this.expandingBody(start, lineStart);
        return early ? { next: at[k + len]!, early } : { next, early };
      }
      i = next;
    }
  }

  /** An unquoted here-document's body: expanded as in "…", where `"` and `'` are characters. */
  private expandingBody(start: number, end: number): void {
    const savedLimit = this.limit;
    this.limit = end;
    this.inBody++;
    try {
      let i = start;
      while (i < end) {
        this.tick();
        const c = this.s[i];
        if (c === '\\') i += 2;
        else if (c === '$') i = this.dollar(i, 'heredoc');
        else if (c === '`') i = this.backquote(i, 'heredoc');
        else i++;
      }
    } finally {
      this.inBody--;
      this.limit = savedLimit;
    }
  }
}
