// Masking of terminal output (SSH exec and shell output, Kubernetes exec output) for masked principals.
// The content detectors run over the text a person would see — escape sequences (colours, cursor
// moves, titles) taken out — and so do the field names (text-fields.ts: `DB_PASSWORD=…` in `env` or
// `cat .env`, `password: …` in a YAML file, `--token=…` in `ps` output, `"secret": …`); each finding
// and each value a sensitive name stands before is replaced in place, so the escape sequences around and
// inside it reach the terminal unchanged. A stream is masked line by line as it flows; an unfinished
// line waits for its newline, a flush (the relay calls it when output goes quiet) or the cap. Pure.

import { TextDecoder } from 'node:util';
import type { DetectorSet } from './detector-set.js';
import type { Finding } from './finding.js';
import { redactTag } from './mask-styles.js';
import { openPrivateKeyAt } from './private-key-pem.js';
import { mayNameFields } from './text-features.js';
import {
  directiveSpans,
  headedColumnSpans,
  openFieldStart,
  registryAuthSpans,
  textFieldSpans,
  type KeyTagOf,
  type TextFieldSpan,
} from './text-fields.js';

export type MaskCounts = Record<string, number>;

const ESC = 0x1b;

/**
 * The length of the escape sequence at `i` (ECMA-48: CSI, OSC/DCS/SOS/PM/APC strings, two-byte
 * escapes; the 8-bit CSI 0x9b), or 0 when none starts there. An unfinished one runs to the end.
 */
export function escapeLengthAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c === 0x9b) return csiLength(text, i + 1) + 1;
  if (c !== ESC) return 0;
  if (i + 1 >= text.length) return 1;
  const n = text.charCodeAt(i + 1);
  if (n === 0x5b /* [ */) return csiLength(text, i + 2) + 2;
  // OSC ] , DCS P, SOS X, PM ^, APC _: a string ended by BEL (OSC) or ST (ESC \).
  if (n === 0x5d || n === 0x50 || n === 0x58 || n === 0x5e || n === 0x5f) {
    for (let j = i + 2; j < text.length; j++) {
      const d = text.charCodeAt(j);
      if (d === 0x07) return j + 1 - i;
      if (d === ESC && text.charCodeAt(j + 1) === 0x5c) return j + 2 - i;
    }
    return text.length - i;
  }
  // ESC + intermediates (0x20–0x2f) + a final byte.
  let j = i + 1;
  while (j < text.length && text.charCodeAt(j) >= 0x20 && text.charCodeAt(j) <= 0x2f) j++;
  return Math.min(j + 1, text.length) - i;
}

function csiLength(text: string, from: number): number {
  let j = from;
  while (j < text.length) {
    const d = text.charCodeAt(j);
    j++;
    if (d >= 0x40 && d <= 0x7e) return j - from;
  }
  return j - from;
}

/** A text as a terminal shows it: its visible characters and, for each, its index in the text. */
interface Visible {
  readonly visible: string;
  readonly at: number[];
}

/** The visible text and, for each of its characters, its index in `text`. */
function visibleText(text: string): Visible {
  let visible = '';
  const at: number[] = [];
  for (let i = 0; i < text.length;) {
    const esc = escapeLengthAt(text, i);
    if (esc > 0) {
      i += esc;
      continue;
    }
    visible += text[i];
    at.push(i);
    i++;
  }
  return { visible, at };
}

/**
 * Masks the visible text of a terminal chunk with the content detectors, leaving escape sequences in
 * place. Null when nothing was found.
 */
export function maskTerminalText(
  text: string,
  detectors: DetectorSet,
  /**
   * The text before this index was already sent (the start of a line sent before it ended): it is
   * scanned with the rest, as context, but not output again. A finding that begins in it and ends
   * after it is shown as its tag from this index on.
   */
  sent = 0,
  /** Field names whose values are masked whole (undefined: the detectors alone). */
  keys?: KeyTagOf,
): { text: string; counts: MaskCounts } | null {
  return maskVisible(text, visibleText(text), detectors, sent, keys);
}

/** maskTerminalText, given `text`'s visible text (a stream's masker reuses it for its context). */
function maskVisible(
  text: string,
  { visible, at }: Visible,
  detectors: DetectorSet,
  sent: number,
  keys: KeyTagOf | undefined,
): { text: string; counts: MaskCounts } | null {
  const findings = withFields(detectors.scan(visible), visible, keys).filter(
    (f) => f.end > 0 && (at[f.end - 1] ?? -1) >= sent,
  );
  if (findings.length === 0) return null;
  const counts: MaskCounts = {};
  // Which original index starts a finding (→ its tag) and which are inside one (dropped).
  const starts = new Map<number, Finding>();
  const hidden = new Set<number>();
  for (const f of findings) {
    // A finding begun in what was sent shows its tag where the new text starts.
    const first = at[f.start]! < sent ? at.findIndex((i) => i >= sent) : f.start;
    starts.set(at[first]!, f);
    for (let k = first; k < f.end; k++) hidden.add(at[k]!);
    counts[f.detector] = (counts[f.detector] ?? 0) + 1;
  }
  let out = '';
  for (let i = sent; i < text.length;) {
    const esc = escapeLengthAt(text, i);
    if (esc > 0) {
      out += text.slice(i, i + esc);
      i += esc;
      continue;
    }
    const f = starts.get(i);
    if (f) out += redactTag(f.detector);
    else if (!hidden.has(i)) out += text[i];
    i++;
  }
  // Masking one span can expose a neighbour (as DetectorSet.mask rescans): if anything is still
  // found, fall back to the detectors' own masking of the visible text (escape sequences dropped).
  const shown = visibleText(text.slice(0, sent)).visible + visibleText(out).visible;
  if (detectors.scan(shown).some((f) => f.end > visibleText(text.slice(0, sent)).visible.length)) {
    const unsent = visibleText(text.slice(sent)).visible;
    const r = detectors.mask(unsent, 'redact', 'text');
    return {
      text: r && detectors.scan(r.text).length === 0 ? r.text : redactTag('unstable'),
      counts: r ? { ...r.counts } : { unstable: 1 },
    };
  }
  return { text: out, counts };
}

/**
 * The detectors' findings with the values field names stand before (as findings named by their tag),
 * a finding inside or across such a value dropped: the value is masked whole. In text order.
 */
function withFields(
  found: readonly Finding[],
  visible: string,
  keys: KeyTagOf | undefined,
): readonly Finding[] {
  if (keys === undefined) return found;
  // Most output names no field (no `=`, no `:` that ends a key): its readers are not run over it.
  // Config directives (`requirepass …`, a `.netrc`'s `password …`) are looked for line by line.
  const directives = [...directiveSpans(visible, keys), ...registryAuthSpans(visible)];
  const named = mayNameFields(visible, { tables: false })
    ? textFieldSpans(visible, keys, { tables: false })
    : [];
  // Columns under a header naming a secret, the header in this text or carried from an earlier write.
  const columns = tableColumns(visible, keys).spans;
  const spans = disjoint([...named, ...directives, ...columns].filter((s) => s.end > s.start));
  if (spans.length === 0) return found;
  const out: Finding[] = spans.map((s) => ({
    detector: s.tag,
    start: s.start,
    end: s.end,
    text: visible.slice(s.start, s.end),
  }));
  for (const f of found) if (!spans.some((s) => f.start < s.end && s.start < f.end)) out.push(f);
  return out.sort((a, b) => a.start - b.start);
}

/** The last text read for tables and what was found: a stream's write is masked, then its context taken. */
let lastTables: { text: string; keys: KeyTagOf; spans: TextFieldSpan[]; open: number } | undefined;

/**
 * The values under a sensitive column's header in `visible` (text-fields.ts `headedColumnSpans`), and
 * where a table still going on at its end starts; read once per text.
 */
function tableColumns(visible: string, keys: KeyTagOf): { spans: TextFieldSpan[]; open: number } {
  if (lastTables !== undefined && lastTables.keys === keys && lastTables.text === visible) return lastTables;
  const spans: TextFieldSpan[] = [];
  // A cheap test first: a table has a delimiter, a box's line or a rule of dashes.
  const open = /[,|;\t│┃║]|--/.test(visible) ? headedColumnSpans(visible, keys, spans).open : -1;
  lastTables = { text: visible, keys, spans, open };
  return lastTables;
}

/** Spans in text order with none overlapping: of two that do, the one starting first (the longer if together). */
function disjoint(spans: TextFieldSpan[]): TextFieldSpan[] {
  spans.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: TextFieldSpan[] = [];
  let reached = -1;
  for (const s of spans) {
    if (s.start < reached) continue;
    out.push(s);
    reached = s.end;
  }
  return out;
}

/** Characters a secret's text is made of (tokens, keys, base64, URLs with credentials, e-mails). */
const TOKEN_CHAR = /[A-Za-z0-9+/=_.:@%~-]/;

/** Of a token run too long to hold whole, how much of its end is held for the rest of the line. */
const TOKEN_HOLD = 512;

/** Whether the escape sequence of `len` characters at `i` is finished (its final byte is there). */
function escapeComplete(text: string, i: number, len: number): boolean {
  if (len < 2) return false;
  const last = text.charCodeAt(i + len - 1);
  const c = text.charCodeAt(i);
  const n = text.charCodeAt(i + 1);
  if (c === 0x9b || n === 0x5b) return last >= 0x40 && last <= 0x7e && len > (c === 0x9b ? 1 : 2);
  if (n === 0x5d || n === 0x50 || n === 0x58 || n === 0x5e || n === 0x5f)
    return last === 0x07 || (last === 0x5c && text.charCodeAt(i + len - 2) === ESC);
  return last >= 0x30;
}

/**
 * Where a trailing run of token characters starts in `text` (`text.length` when it ends otherwise).
 * Escape sequences end a run and are never split: one left unfinished at the end is held whole.
 */
function tokenTailStart(text: string): number {
  let runStart = 0;
  for (let i = 0; i < text.length;) {
    const esc = escapeLengthAt(text, i);
    if (esc > 0) {
      if (i + esc >= text.length && !escapeComplete(text, i, esc)) return i;
      i += esc;
      runStart = i;
      continue;
    }
    i++;
    if (!TOKEN_CHAR.test(text[i - 1]!)) runStart = i;
  }
  return runStart;
}

/**
 * At most this much of the lines already sent is kept as context for the next ones: the line that
 * opened a value still going on (a YAML block after `password: |`, an XML element's content after
 * `<password>` on a line of its own, a PEM key's body after its BEGIN line), so that a value on the
 * lines after its name is found when its name came in an earlier write (docs/security.md, class 242).
 */
const TERMINAL_CONTEXT_CHARS = 8192;

/**
 * Masks a terminal stream as it flows: complete lines go out masked at once; an unfinished line is
 * held until its newline, `quiet()` (the relay calls it when output goes quiet, so prompts show),
 * `flush()` (the end) or `maxPending` characters. Part of a line sent before it ends is kept as the
 * line's context, so the rest of the line is scanned with it: a secret written in two pieces, with a
 * pause or past `maxPending` between them, is found whole. And what is sent early stops before a
 * trailing run of token characters, which waits for the rest of the line: a secret's beginning is not
 * sent before it can be recognised.
 */
export class TerminalMasker {
  #pending = '';
  /** The part of the current line already sent (masked), scanned as context with the rest. */
  #line = '';
  /**
   * Lines already sent, as they came (unmasked), scanned as context before #line: from the line that
   * opened a value still going on (`carriedContext`), or nothing.
   */
  #before = '';
  #decoder = new TextDecoder('utf-8');
  readonly counts: MaskCounts = {};

  constructor(
    private readonly detectors: DetectorSet,
    private readonly maxPending = 4096,
    /**
     * Hold a trailing token run when output goes quiet (output without a terminal). With a terminal,
     * echo must show as it is typed: the unfinished line is sent whole, and only its context kept.
     */
    private readonly holdTokens = false,
    /** Field names whose values are masked whole (sensitiveKeyTag()); undefined: the detectors alone. */
    private readonly keys?: KeyTagOf,
  ) {}

  get pending(): boolean {
    return this.#pending.length > 0;
  }

  /** Masked text ready to send for this chunk ('' when it all waits for a newline). */
  push(chunk: Buffer): string {
    this.#pending += this.#decoder.decode(chunk, { stream: true });
    const nl = this.#pending.lastIndexOf('\n');
    if (nl >= 0) {
      const ready = this.#pending.slice(0, nl + 1);
      this.#pending = this.#pending.slice(nl + 1);
      // The lines' visible text is read once: masked, then asked whether a value goes on after them.
      const whole = this.#before + this.#line + ready;
      const view = visibleText(whole);
      const out = this.#masked(whole, view, whole.length - ready.length, ready);
      this.#before = this.keys === undefined ? '' : carriedContext(whole, view, this.keys);
      this.#line = '';
      return out;
    }
    if (this.#pending.length <= this.maxPending) return '';
    // A line this long without a newline: sent up to its trailing token run (all of it when it is one).
    return this.#sendEarly(true);
  }

  /** Output went quiet: what of the unfinished line can be sent now (up to a trailing token run). */
  quiet(): string {
    return this.#sendEarly(false);
  }

  /** The end of the stream: everything, masked. */
  flush(): string {
    const ready = this.#pending + this.#decoder.decode();
    this.#pending = '';
    this.#decoder = new TextDecoder('utf-8');
    const out = ready === '' ? '' : this.#mask(ready);
    this.#line = '';
    this.#before = '';
    return out;
  }

  #sendEarly(all: boolean): string {
    let cut = this.holdTokens ? tokenTailStart(this.#pending) : this.#pending.length;
    // One token run longer than maxPending: all but its last TOKEN_HOLD characters (a secret's start).
    if (cut === 0 && all) cut = Math.max(0, this.#pending.length - TOKEN_HOLD);
    if (cut === 0) return '';
    const ready = this.#pending.slice(0, cut);
    this.#pending = this.#pending.slice(cut);
    const out = this.#mask(ready);
    // Kept as context for the rest of the line (bounded: the line's last maxPending characters).
    this.#line = (this.#line + ready).slice(-this.maxPending);
    return out;
  }

  #mask(text: string): string {
    const whole = this.#before + this.#line + text;
    return this.#masked(whole, visibleText(whole), whole.length - text.length, text);
  }

  /** `text`, the end of `whole` from `sent` on, masked with what comes before it as context. */
  #masked(whole: string, view: Visible, sent: number, text: string): string {
    const r = maskVisible(whole, view, this.detectors, sent, this.keys);
    if (!r) return text;
    for (const [k, n] of Object.entries(r.counts)) this.counts[k] = (this.counts[k] ?? 0) + n;
    return r.text;
  }
}

/**
 * What of `text` (complete lines, as they came; `view` its visible text) is kept as context for the
 * lines after it: from the line opening a value that may go on (text-fields.ts `openFieldStart`; a
 * private key whose END is not there, private-key-pem.ts `openPrivateKeyAt`), or ''. Longer than
 * TERMINAL_CONTEXT_CHARS, only the opening line is kept (what lies between does not change how the
 * lines after it are read: a block's lines, an element's content, a key's body), and of a longer line
 * its last TERMINAL_CONTEXT_CHARS.
 */
function carriedContext(text: string, { visible, at }: Visible, keys: KeyTagOf): string {
  // Cheap tests first: most output opens nothing.
  let open = visible.includes('<') || visible.includes(':') ? openFieldStart(visible, keys) : -1;
  // A table whose header names a secret, its rows going on: the next write's rows are placed under it.
  const table = tableColumns(visible, keys).open;
  if (table >= 0) open = open < 0 ? table : Math.min(open, table);
  const key = visible.includes('-----BEGIN ') ? openPrivateKeyAt(visible) : -1;
  if (key >= 0) {
    const line = visible.lastIndexOf('\n', key - 1) + 1;
    open = open < 0 ? line : Math.min(open, line);
  }
  if (open < 0) return '';
  const from = at[open]!;
  if (text.length - from <= TERMINAL_CONTEXT_CHARS) return text.slice(from);
  const nl = text.indexOf('\n', from);
  const line = text.slice(from, nl < 0 ? text.length : nl + 1);
  return line.length <= TERMINAL_CONTEXT_CHARS ? line : line.slice(-TERMINAL_CONTEXT_CHARS);
}
