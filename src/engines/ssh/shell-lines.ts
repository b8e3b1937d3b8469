// Command lines of an interactive shell, reconstructed as the person or agent typed them and the host
// echoed them: a headless terminal emulator (xterm.js) follows the output, and when Enter is typed the
// text from where typing began to the end of the cursor's line is the line. The Enter waits while that
// line is decided like an exec command (held for approval, or refused — which ends the session); then
// it goes to the host. Without a terminal (a script piped into `ssh host`), the input lines are the
// lines. This is an audit aid, not a boundary: what a shell runs (aliases, functions, scripts it
// sources, keys bound to commands, full-screen programs) is not what the echo shows.
//
// Where the echo cannot stand for what was typed, the line is decided `unknown` (class 88): typed text
// the echo does not show (echo turned off with `stty -echo` or a pty-req's modes), and keys other than
// Enter that make readline run or rewrite the line (Ctrl-O, Ctrl-X Ctrl-E, ESC Ctrl-E…) are decided as
// such before they reach the host; after a key that abandons the line (Ctrl-C…), the next line's start
// is taken only once the host has answered it.

import xterm from '@xterm/headless';
import { sshAction } from '../../core/action.js';
import type { ShellLineClassifier } from '../../core/shell-command.js';
import type { WriteLandings } from './host-paths.js';
import { withLandings, withOutputShapes } from './exec-action.js';
import { outputReshapers } from '../../shell/output-shapes.js';
import { holdSignal, type GateSession } from '../../gate/gate.js';

const { Terminal } = xterm;

/** Output quiet this long after Enter means the echo (or the next prompt) has arrived. */
const QUIET_MS = 60;
/** Waiting for quiet gives up after this long (a command streaming output forever). */
const QUIET_MAX_MS = 1_000;
/** Longest line decided; longer ones are decided as `unknown` (cannot be judged). */
const MAX_LINE = 16 * 1024;
const ENTER = new Set([0x0d, 0x0a]);
/**
 * Ctrl-C, Ctrl-D, Ctrl-U, Ctrl-G: the line being typed may be abandoned (on a terminal). Only when
 * nothing was typed on it yet is it taken to be (the host may keep the text: class 380).
 */
const ABANDON = new Set([0x03, 0x04, 0x15, 0x07]);
/** Backspace, DEL: delete one character. */
const DELETE_ONE = new Set([0x08, 0x7f]);
/** Ctrl-W, Ctrl-K: delete a word, the rest of the line (any number of characters). */
const DELETE_MANY = new Set([0x17, 0x0b]);
/**
 * Other control keys that only move, transpose or redraw (Ctrl-A, B, E, F, L, T), or that bring text
 * in — completion, history, search, yank (Tab, Ctrl-N, P, R, S, Y): the line they leave is the one
 * the terminal shows. Any other control key or ESC sequence (Ctrl-O runs the line, Ctrl-X Ctrl-E runs
 * it from an editor, ESC Ctrl-E expands `$(…)` in it, Ctrl-V inserts a key as text…) is a readline
 * command the echo does not account for.
 */
const MOVE_CONTROL = new Set([0x01, 0x02, 0x05, 0x06, 0x0c, 0x14]);
const INSERT_CONTROL = new Set([0x09, 0x0e, 0x10, 0x12, 0x13, 0x19]);
/** Text the decided line stands for when the host echoed none of what was typed. */
export const UNECHOED_LINE = '(typed input the host did not echo)';
/** Text decided when keys are first typed while the terminal shows the alternate (full) screen. */
export const FULL_SCREEN_LINE = '(keys typed in a full-screen program, not decided one by one)';

/** What one key of terminal input is to the line being typed. */
type KeyKind = 'text' | 'enter' | 'abandon' | 'delete' | 'delete-many' | 'move' | 'insert' | 'command';

/** The key at `i` of terminal input: its kind and where it ends. */
export function terminalKey(data: Buffer, i: number): { kind: KeyKind; end: number } {
  const b = data[i]!;
  if (ENTER.has(b)) return { kind: 'enter', end: i + 1 };
  if (ABANDON.has(b)) return { kind: 'abandon', end: i + 1 };
  if (DELETE_ONE.has(b)) return { kind: 'delete', end: i + 1 };
  if (DELETE_MANY.has(b)) return { kind: 'delete-many', end: i + 1 };
  if (MOVE_CONTROL.has(b)) return { kind: 'move', end: i + 1 };
  if (INSERT_CONTROL.has(b)) return { kind: 'insert', end: i + 1 };
  if (b === 0x1b) {
    const next = data[i + 1];
    // CSI (arrows, Home, End, Delete, bracketed paste): ESC [ parameters final byte.
    if (next === 0x5b) {
      let j = i + 2;
      while (j < data.length && data[j]! >= 0x20 && data[j]! <= 0x3f) j++;
      if (j >= data.length || data[j]! < 0x40 || data[j]! > 0x7e) return { kind: 'command', end: j };
      const params = data.subarray(i + 2, j).toString('latin1');
      const final = String.fromCharCode(data[j]!);
      if (final === '~' && params === '3') return { kind: 'delete', end: j + 1 };
      // Up and down recall history; the others move (the bracketed-paste marks frame typed text).
      if ('AB'.includes(final) && params === '') return { kind: 'insert', end: j + 1 };
      if ('CDHF'.includes(final) || (final === '~' && /^(1|4|7|8|200|201)$/.test(params)))
        return { kind: 'move', end: j + 1 };
      return { kind: 'command', end: j + 1 };
    }
    // SS3 arrows and Home/End (application cursor keys).
    if (next === 0x4f && i + 2 < data.length && 'ABCDHF'.includes(String.fromCharCode(data[i + 2]!)))
      return { kind: 'AB'.includes(String.fromCharCode(data[i + 2]!)) ? 'insert' : 'move', end: i + 3 };
    return { kind: 'command', end: Math.min(i + 2, data.length) };
  }
  if (b < 0x20) return { kind: 'command', end: i + 1 };
  // Text: up to the next control byte (UTF-8 continuation bytes included).
  let j = i + 1;
  while (j < data.length && data[j]! >= 0x20 && data[j] !== 0x7f) j++;
  return { kind: 'text', end: j };
}

/** What was typed into the current line, to check the echo against. */
interface TypedLine {
  text: string;
  deletes: number;
  deletesMany: boolean;
  /** A key that brings text in (completion, history, search, yank) was typed. */
  inserts: boolean;
}

function emptyTyped(): TypedLine {
  return { text: '', deletes: 0, deletesMany: false, inserts: false };
}

/**
 * How the echoed line differs from what was typed, or undefined when it shows exactly that: every
 * character typed (spaces aside) is in it, as many times as typed, but for those single-character
 * deletions may have taken, and nothing else is. Text in the echo that was not typed may be
 * completion or history — or another program's output printed onto the line (a background job
 * writing `#` before a line typed with echo off): Gatehouse cannot tell which, so the line is not
 * judged on it. Moving the cursor reorders nothing the count sees.
 */
export function echoMismatch(echo: string, typed: TypedLine): string | undefined {
  const counts = new Map<string, number>();
  for (const c of echo) if (c.trim() !== '') counts.set(c, (counts.get(c) ?? 0) + 1);
  let missing = 0;
  for (const c of typed.text) {
    if (c.trim() === '') continue;
    const n = counts.get(c) ?? 0;
    if (n > 0) counts.set(c, n - 1);
    else missing++;
  }
  if (missing > 0 && (typed.deletesMany || missing > typed.deletes))
    return 'typed input the host did not echo';
  for (const n of counts.values())
    if (n > 0)
      return typed.inserts
        ? "text on the line that was not typed (completion, history, or another program's output)"
        : "text on the line that was not typed (another program's output)";
  return undefined;
}

export interface ShellLineDeps {
  readonly session: GateSession;
  readonly connection: string;
  readonly classify: ShellLineClassifier;
  /** Where a line's writes land on the host (host-paths.ts); absent: judged on their text alone. */
  readonly landings?: (paths: readonly string[]) => Promise<WriteLandings>;
  /** A terminal was asked for: lines come from the echo; otherwise from the input itself. */
  readonly terminal: { readonly cols: number; readonly rows: number } | undefined;
  /** Sends bytes to the host; false when the host's window is full. */
  readonly forward: (data: Buffer) => boolean;
  /** Ends the host's input (the client's ended, and everything before it was decided and sent). */
  readonly endInput: () => void;
  /** Writes a note to the client's terminal (held for approval…). */
  readonly note: (text: string) => void;
  /** Ends the session channel with this message (a refused line). */
  readonly refuse: (message: string) => void;
  readonly pause: () => void;
  readonly resume: () => void;
  /** Aborted when the channel goes. */
  readonly signal: AbortSignal;
  /** How long a held line waits for a person (the connection's holdTimeout); then it is refused. */
  readonly holdTimeoutMs: number;
}

export class ShellLineGate {
  private readonly term: InstanceType<typeof Terminal> | undefined;
  private readonly queue: Buffer[] = [];
  private busy = false;
  private stopped = false;
  /** Where typing of the current line began (absolute buffer row, column). */
  private start: { row: number; col: number } | undefined;
  /** Without a terminal: the bytes of the current input line. */
  private typed: Buffer[] = [];
  /** Without a terminal: the length of `typed`, and whether the line it continues was decided whole. */
  private typedBytes = 0;
  private typedApproved = false;
  /** The client's input ended: once the input before it is decided, the end goes up. */
  private ended = false;
  /** On a terminal: what was typed into the current line, checked against its echo. */
  private typedLine: TypedLine = emptyTyped();
  /** Keys typed into the current stay in the alternate screen were admitted (decided once). */
  private fullScreenAdmitted = false;
  /** The last line decided, named when full-screen input is decided. */
  private lastLine: string | undefined;
  /**
   * A key that may abandon the line (Ctrl-C, Ctrl-D, Ctrl-U, Ctrl-G) was typed after text on it: the
   * key as the approver reads it. The line's start is kept; the next one decided is `unknown`.
   */
  private keptAfter: string | undefined;
  /** A key abandoned or ran the line: the next line starts once the host has answered it. */
  private settling = false;
  private lastOutput = 0;
  /** When input was last sent to the host: its echo is output that comes after this. */
  private lastInput = 0;
  private writes: Promise<void> = Promise.resolve();
  /**
   * Where the shell's relative paths start: its home directory until a line may have changed
   * directory (`cd`, `pushd`, `popd`, anywhere in it); after that, nothing a later line's text says
   * tells where, and a relative write there is `unknown` rather than judged as one in the home
   * directory (`cd /etc/ssh` on one line, `echo … > sshd_config` on the next).
   */
  private cwd: 'home' | 'unknown' = 'home';

  constructor(private readonly deps: ShellLineDeps) {
    if (deps.terminal) {
      this.term = new Terminal({
        cols: Math.max(2, Math.min(deps.terminal.cols || 80, 1000)),
        rows: Math.max(2, Math.min(deps.terminal.rows || 24, 1000)),
        scrollback: 200,
        allowProposedApi: true,
      });
    }
  }

  /** What the client saw (after masking), fed to the emulator. */
  output(text: string): void {
    if (!this.term || text === '') return;
    this.lastOutput = performance.now();
    const term = this.term;
    this.writes = this.writes.then(() => new Promise<void>((resolve) => term.write(text, resolve)));
  }

  resize(cols: number, rows: number): void {
    const term = this.term;
    if (!term) return;
    this.writes = this.writes.then(() => {
      term.resize(Math.max(2, Math.min(cols, 1000)), Math.max(2, Math.min(rows, 1000)));
    });
  }

  /** Input from the client: queued and released as each line is decided. */
  input(data: Buffer): void {
    if (this.stopped) return;
    this.queue.push(data);
    if (this.queue.length > 64) this.deps.pause();
    if (!this.busy) void this.drain();
  }

  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    this.term?.dispose();
  }

  private async drain(): Promise<void> {
    this.busy = true;
    try {
      while (!this.stopped && this.queue.length > 0) {
        const chunk = this.queue.shift()!;
        if (this.queue.length < 16) this.deps.resume();
        if (!(await this.take(chunk))) return;
      }
      if (this.ended && !this.stopped && this.queue.length === 0) {
        if (!this.term && !(await this.releaseTyped())) return;
        if (!this.stopped) this.deps.endInput();
        this.stopped = true;
      }
    } finally {
      this.busy = false;
    }
  }

  /** Forwards a chunk, stopping at each Enter to decide the line; false once refused. */
  private async take(chunk: Buffer): Promise<boolean> {
    return this.term ? this.takeTyped(chunk) : this.takeLines(chunk);
  }

  /**
   * Without a terminal the shell reads the bytes as they are: no key abandons a line (a Ctrl-C byte
   * is a character of it), and a line goes up only once it is decided, with its end: bash runs a last
   * line without a newline when its input ends, so nothing undecided may be waiting there when the
   * client's input ends or a refusal closes the channel. A CR also ends a line here, so a line bash
   * reads whole is decided in parts, each of which it holds.
   */
  private async takeLines(chunk: Buffer): Promise<boolean> {
    let i = 0;
    while (i < chunk.length) {
      let j = i;
      while (j < chunk.length && !ENTER.has(chunk[j]!)) j++;
      const part = chunk.subarray(i, j);
      if (part.length > 0) {
        if (this.typedApproved) this.send(part);
        else {
          this.typed.push(Buffer.from(part));
          this.typedBytes += part.length;
          // A line longer than any decided is decided on its beginning, as `unknown`; its rest follows.
          if (this.typedBytes > MAX_LINE && !(await this.releaseTyped())) return false;
        }
      }
      if (j >= chunk.length) return true;
      if (!(await this.releaseTyped())) return false;
      this.typedApproved = false;
      this.send(chunk.subarray(j, j + 1));
      i = j + 1;
    }
    return true;
  }

  /** Decides the input line held so far (without a terminal) and sends it up; false once refused. */
  private async releaseTyped(): Promise<boolean> {
    const bytes = Buffer.concat(this.typed);
    this.typed = [];
    this.typedBytes = 0;
    if (this.stopped) return false;
    if (bytes.length === 0) return true;
    const line = bytes.toString('utf8');
    if (!this.typedApproved && line.trim() !== '' && !(await this.decide(line))) return false;
    if (bytes.length > MAX_LINE) this.typedApproved = true;
    this.send(bytes);
    return true;
  }

  /**
   * The client's input ended. Without a terminal the shell runs a last line that has no newline, so
   * it is decided first; then the end goes up (not after a refusal, which ends the channel).
   */
  end(): void {
    if (this.stopped) return;
    this.ended = true;
    if (!this.busy) void this.drain();
  }

  /** On a terminal, key by key: Enter and the keys that run or rewrite the line stop to decide it. */
  private async takeTyped(chunk: Buffer): Promise<boolean> {
    let i = 0;
    while (i < chunk.length) {
      if (await this.fullScreen()) {
        // Keys typed into a full-screen program are not lines; the alternate screen is the host's word,
        // and a line can print the switch at the shell's own prompt (`printf '\e[?1049h'`). So the
        // first key typed in it is decided, as `unknown`, before any goes up undecided.
        if (!this.fullScreenAdmitted) {
          const after = this.lastLine === undefined ? '' : `, after: ${this.lastLine}`;
          if (!(await this.decide(`${FULL_SCREEN_LINE}${after}`, 'keys typed into a full-screen program')))
            return false;
          this.fullScreenAdmitted = true;
        }
        this.start = undefined;
        this.typedLine = emptyTyped();
        this.deps.forward(chunk.subarray(i));
        return true;
      }
      this.fullScreenAdmitted = false;
      // The keys up to the next one that ends, abandons or runs the line go on as they are.
      let j = i;
      let key = terminalKey(chunk, j);
      while (key.kind !== 'enter' && key.kind !== 'abandon' && key.kind !== 'command') {
        if (key.kind === 'text' && this.typedLine.text.length <= MAX_LINE)
          this.typedLine.text += chunk.subarray(j, key.end).toString('utf8');
        else if (key.kind === 'delete') this.typedLine.deletes++;
        else if (key.kind === 'delete-many') this.typedLine.deletesMany = true;
        else if (key.kind === 'insert') this.typedLine.inserts = true;
        j = key.end;
        if (j >= chunk.length) break;
        key = terminalKey(chunk, j);
      }
      if (j > i) {
        await this.markStart();
        this.send(chunk.subarray(i, j));
      }
      if (j >= chunk.length) return true;
      const keyBytes = chunk.subarray(j, key.end);
      i = key.end;
      if (key.kind === 'abandon') {
        // Whether the host dropped the line is the host's to say: readline's Ctrl-D deletes a character
        // (or nothing) on a line with text, Ctrl-G only rings the bell, and Ctrl-C is a character like
        // any other when a pty-req's modes moved VINTR or turned ISIG off. So once something was typed
        // on the line, its start is kept, and the next line is decided from there, as `unknown` (class 380).
        if (this.start !== undefined) {
          this.keptAfter = keyName(keyBytes);
          this.send(keyBytes);
          continue;
        }
        this.typedLine = emptyTyped();
        this.settling = true;
        this.send(keyBytes);
        continue;
      }
      // Enter, or a key that makes readline run or rewrite the line: the line so far is decided first.
      const line = await this.currentLine();
      if (this.stopped) return false;
      const typed = this.typedLine;
      this.typedLine = emptyTyped();
      const typedSomething = typed.text.trim() !== '';
      const kept = this.keptAfter;
      this.keptAfter = undefined;
      if (kept !== undefined) {
        // From where the line was begun before the key: bash may still hold that text.
        const reason = `the key ${kept} was typed on a line with text, and whether the host dropped that text is not known: it may run with what follows`;
        const text = key.kind === 'command' ? `${line} ⟨${keyName(keyBytes)}⟩` : line;
        if (
          (text.trim() !== '' || typedSomething) &&
          !(await this.decide(text.trim() === '' ? UNECHOED_LINE : text, reason))
        )
          return false;
        this.send(keyBytes);
        this.settling = true;
        if (i < chunk.length || this.queue.length > 0) await this.quiet();
        continue;
      }
      if (key.kind === 'command') {
        const name = keyName(keyBytes);
        const text = `${line.trim() === '' ? (typedSomething ? UNECHOED_LINE : '') : line} ⟨${name}⟩`.trim();
        if (!(await this.decide(text, `the key ${name} (a readline command the line's text does not show)`)))
          return false;
        this.settling = true;
      } else if (typedSomething || line.trim() !== '') {
        const mismatch = echoMismatch(line, typed);
        if (mismatch !== undefined) {
          if (!(await this.decide(line.trim() === '' ? UNECHOED_LINE : line, mismatch))) return false;
        } else if (line.trim() !== '' && !(await this.decide(line))) return false;
      }
      this.send(keyBytes);
      // The next line begins after what the host answers (the command's output, the next prompt):
      // typed-ahead input, in this chunk or a later one, is placed once the host has been quiet.
      this.settling = true;
      if (i < chunk.length || this.queue.length > 0) await this.quiet();
    }
    return true;
  }

  private send(data: Buffer): void {
    this.lastInput = performance.now();
    this.deps.forward(data);
  }

  private async fullScreen(): Promise<boolean> {
    if (!this.term) return false;
    await this.writes;
    return this.term.buffer.active.type === 'alternate';
  }

  private async markStart(): Promise<void> {
    if (this.start || !this.term) return;
    if (this.settling) {
      // After Ctrl-C (or a key that ran the line) the host prints a new prompt: typing begins after it.
      this.settling = false;
      await this.quiet();
    }
    await this.writes;
    const b = this.term.buffer.active;
    this.start = { row: b.baseY + b.cursorY, col: b.cursorX };
  }

  private async currentLine(): Promise<string> {
    if (!this.term) return '';
    await this.quiet();
    const start = this.start;
    this.start = undefined;
    if (!start) return '';
    const b = this.term.buffer.active;
    let end = b.baseY + b.cursorY;
    // The logical line goes on through rows the terminal wrapped.
    while (b.getLine(end + 1)?.isWrapped) end++;
    let text = '';
    for (let row = start.row; row <= end && text.length <= MAX_LINE; row++) {
      const l = b.getLine(row);
      if (!l) continue;
      const s = l.translateToString(true, row === start.row ? start.col : 0);
      text += row > start.row && !l.isWrapped ? `\n${s}` : s;
    }
    return text.slice(0, MAX_LINE + 1);
  }

  /**
   * Waits until the host has answered the input sent last (its echo, or the next prompt) and then
   * been quiet for QUIET_MS — at most QUIET_MAX_MS — and the emulator has caught up.
   */
  private async quiet(): Promise<void> {
    if (!this.term) return;
    const began = performance.now();
    for (;;) {
      await this.writes;
      const now = performance.now();
      const answered = this.lastOutput > this.lastInput;
      if ((answered && now - this.lastOutput >= QUIET_MS) || now - began >= QUIET_MAX_MS || this.stopped)
        return;
      await new Promise((r) => setTimeout(r, QUIET_MS / 3));
    }
  }

  /** `unjudged`: why the line's text cannot stand for what runs; it is decided `unknown`, not classified. */
  private async decide(line: string, unjudged?: string): Promise<boolean> {
    const long = line.length > MAX_LINE;
    const text = long ? line.slice(0, MAX_LINE) : line;
    this.lastLine = text.slice(0, 200);
    const cls =
      long || unjudged !== undefined
        ? undefined
        : this.deps.classify(text, { cwd: this.cwd, interactive: this.term !== undefined });
    // Typed into the shell, so it may run whatever the decision: a later line may be anywhere.
    if (long || unjudged !== undefined || cls?.changesDirectory === true) this.cwd = 'unknown';
    let action = sshAction({
      connection: this.deps.connection,
      request: 'line',
      command: text,
      commandCategories: cls?.categories ?? ['unknown'],
      commandKind: cls?.kind ?? unjudged ?? 'unknown',
      tty: this.term !== undefined,
    });
    this.deps.pause();
    try {
      // Where its writes land on the host (a link may carry them elsewhere) is part of its decision.
      const paths = cls?.writePaths ?? [];
      if (paths.length > 0 && this.deps.landings)
        action = withLandings(action, await this.deps.landings(paths));
      // A line whose output masking cannot see through is not a plain read for a masked principal.
      if (cls !== undefined)
        action = withOutputShapes(action, outputReshapers(cls), (a) => this.deps.session.decide(a));
      const admission = await this.deps.session.admit(action, {
        signal: holdSignal(this.deps.holdTimeoutMs, this.deps.signal, this.deps.session.ended),
        onHeld: (n) => this.deps.note(`held for approval: ${n.message}`),
        onHoldSettled: (n) => this.deps.note(n.message),
      });
      if (!admission.allowed) {
        this.stopped = true;
        this.deps.refuse(admission.error.message);
        return false;
      }
      this.deps.session.settle(admission, { durationMs: 0 });
      return true;
    } finally {
      if (!this.stopped) this.deps.resume();
    }
  }
}

/** A key as the approver reads it: `Ctrl-O`, `ESC Ctrl-E`, `ESC [ 2 4 ~`. */
function keyName(bytes: Buffer): string {
  const parts: string[] = [];
  for (const b of bytes.subarray(0, 16)) {
    if (b === 0x1b) parts.push('ESC');
    else if (b < 0x20) parts.push(`Ctrl-${String.fromCharCode(b + 0x40)}`);
    else if (b === 0x7f) parts.push('DEL');
    else if (b < 0x7f) parts.push(String.fromCharCode(b));
    else parts.push(`0x${b.toString(16)}`);
  }
  return parts.join(' ');
}
