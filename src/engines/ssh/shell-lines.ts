// Command lines of an interactive shell, reconstructed as the person or agent typed them and the host
// echoed them: a headless terminal emulator (xterm.js) follows the output, and when Enter is typed the
// text from where typing began to the end of the cursor's line is the line. The Enter waits while that
// line is decided like an exec command (held for approval, or refused — which ends the session); then
// it goes to the host. Without a terminal (a script piped into `ssh host`), the input lines are the
// lines. This is an audit aid, not a boundary: what a shell runs (aliases, functions, scripts it
// sources, keys bound to commands, full-screen programs) is not what the echo shows.

import xterm from '@xterm/headless';
import { sshAction } from '../../core/action.js';
import type { ShellLineClassifier } from '../../core/shell-command.js';
import { holdSignal, type GateSession } from '../../gate/gate.js';

const { Terminal } = xterm;

/** Output quiet this long after Enter means the echo (or the next prompt) has arrived. */
const QUIET_MS = 60;
/** Waiting for quiet gives up after this long (a command streaming output forever). */
const QUIET_MAX_MS = 1_000;
/** Longest line decided; longer ones are decided as `unknown` (cannot be judged). */
const MAX_LINE = 16 * 1024;
const ENTER = new Set([0x0d, 0x0a]);
/** Ctrl-C, Ctrl-D, Ctrl-U, Ctrl-G: the line being typed is abandoned. */
const ABANDON = new Set([0x03, 0x04, 0x15, 0x07]);

export interface ShellLineDeps {
  readonly session: GateSession;
  readonly connection: string;
  readonly classify: ShellLineClassifier;
  /** A terminal was asked for: lines come from the echo; otherwise from the input itself. */
  readonly terminal: { readonly cols: number; readonly rows: number } | undefined;
  /** Sends bytes to the host; false when the host's window is full. */
  readonly forward: (data: Buffer) => boolean;
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
    } finally {
      this.busy = false;
    }
  }

  /** Forwards a chunk, stopping at each Enter to decide the line; false once refused. */
  private async take(chunk: Buffer): Promise<boolean> {
    let i = 0;
    while (i < chunk.length) {
      if (await this.fullScreen()) {
        this.start = undefined;
        this.deps.forward(chunk.subarray(i));
        return true;
      }
      let j = i;
      while (j < chunk.length && !ENTER.has(chunk[j]!)) j++;
      const part = chunk.subarray(i, j);
      if (part.length > 0) {
        if (part.some((b) => ABANDON.has(b))) {
          this.start = undefined;
          this.typed = [];
        } else await this.markStart();
        if (!this.term) this.typed.push(Buffer.from(part));
        this.send(part);
      }
      if (j >= chunk.length) return true;
      // Enter: the line so far is decided before the Enter reaches the host.
      const line = await this.currentLine();
      if (this.stopped) return false;
      if (line.trim() !== '' && !(await this.decide(line))) return false;
      this.send(chunk.subarray(j, j + 1));
      i = j + 1;
      // Let the prompt come back before typed-ahead input is placed after it.
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
    await this.writes;
    const b = this.term.buffer.active;
    this.start = { row: b.baseY + b.cursorY, col: b.cursorX };
  }

  private async currentLine(): Promise<string> {
    if (!this.term) {
      const line = Buffer.concat(this.typed).toString('utf8');
      this.typed = [];
      return line;
    }
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

  private async decide(line: string): Promise<boolean> {
    const long = line.length > MAX_LINE;
    const text = long ? line.slice(0, MAX_LINE) : line;
    const cls = long ? undefined : this.deps.classify(text, { cwd: this.cwd });
    // Typed into the shell, so it may run whatever the decision: a later line may be anywhere.
    if (long || cls?.changesDirectory === true) this.cwd = 'unknown';
    const action = sshAction({
      connection: this.deps.connection,
      request: 'line',
      command: text,
      commandCategories: cls?.categories ?? ['unknown'],
      commandKind: cls?.kind ?? 'unknown',
      tty: this.term !== undefined,
    });
    this.deps.pause();
    try {
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
