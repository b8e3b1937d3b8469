// Masking of terminal output (SSH exec and shell output, Kubernetes exec output) for masked principals.
// The content detectors run over the text a person would see — escape sequences (colours, cursor
// moves, titles) taken out — and each finding is replaced in place, so the escape sequences around and
// inside it reach the terminal unchanged. A stream is masked line by line as it flows; an unfinished
// line waits for its newline, a flush (the relay calls it when output goes quiet) or the cap. Pure.

import { TextDecoder } from 'node:util';
import type { DetectorSet } from './detector-set.js';
import type { Finding } from './finding.js';
import { redactTag } from './mask-styles.js';

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

/** The visible text and, for each of its characters, its index in `text`. */
function visibleText(text: string): { visible: string; at: number[] } {
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
): { text: string; counts: MaskCounts } | null {
  const { visible, at } = visibleText(text);
  const findings = detectors.scan(visible);
  if (findings.length === 0) return null;
  const counts: MaskCounts = {};
  // Which original index starts a finding (→ its tag) and which are inside one (dropped).
  const starts = new Map<number, Finding>();
  const hidden = new Set<number>();
  for (const f of findings) {
    starts.set(at[f.start]!, f);
    for (let k = f.start; k < f.end; k++) hidden.add(at[k]!);
    counts[f.detector] = (counts[f.detector] ?? 0) + 1;
  }
  let out = '';
  for (let i = 0; i < text.length;) {
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
  if (detectors.scan(visibleText(out).visible).length > 0) {
    const r = detectors.mask(visible, 'redact', 'text');
    return { text: r ? r.text : redactTag('unstable'), counts: r ? { ...r.counts } : { unstable: 1 } };
  }
  return { text: out, counts };
}

/**
 * Masks a terminal stream as it flows: complete lines go out masked at once; an unfinished line is
 * held until its newline, `flush()` or `maxPending` characters.
 */
export class TerminalMasker {
  #pending = '';
  #decoder = new TextDecoder('utf-8');
  readonly counts: MaskCounts = {};

  constructor(
    private readonly detectors: DetectorSet,
    private readonly maxPending = 4096,
  ) {}

  get pending(): boolean {
    return this.#pending.length > 0;
  }

  /** Masked text ready to send for this chunk ('' when it all waits for a newline). */
  push(chunk: Buffer): string {
    this.#pending += this.#decoder.decode(chunk, { stream: true });
    const nl = this.#pending.lastIndexOf('\n');
    if (nl < 0 && this.#pending.length <= this.maxPending) return '';
    const cut = nl >= 0 ? nl + 1 : this.#pending.length;
    const ready = this.#pending.slice(0, cut);
    this.#pending = this.#pending.slice(cut);
    return this.#mask(ready);
  }

  flush(): string {
    const ready = this.#pending + this.#decoder.decode();
    this.#pending = '';
    this.#decoder = new TextDecoder('utf-8');
    return ready === '' ? '' : this.#mask(ready);
  }

  #mask(text: string): string {
    const r = maskTerminalText(text, this.detectors);
    if (!r) return text;
    for (const [k, n] of Object.entries(r.counts)) this.counts[k] = (this.counts[k] ?? 0) + n;
    return r.text;
  }
}
