// asciicast v2 (https://docs.asciinema.org/manual/asciicast/v2/): a JSON header line, then one JSON
// array per event `[seconds, code, data]` — "o" output, "i" input, "r" resize ("COLSxROWS"), "m" marker.
// Builds a terminal recording in memory under a byte cap; past the cap it stops and says so. Pure.

import { TextDecoder } from 'node:util';
export interface AsciicastHeader {
  readonly width: number;
  readonly height: number;
  /** Unix seconds of the start. */
  readonly timestamp: number;
  readonly title?: string;
  readonly command?: string;
  readonly env?: Readonly<Record<string, string>>;
}

export type AsciicastCode = 'o' | 'i' | 'r' | 'm';

/** What stands for one typed character in a terminal's input events. */
export const TYPED = '•';

/**
 * Keystrokes on a terminal as a recording keeps them: printable characters become `•`, control keys
 * (Enter, Ctrl-C, Tab, backspace) and escape sequences (arrows, function keys) stay. What was typed is
 * in the recording's output as the terminal echoed it; what it did not echo (a password at a prompt
 * that turned echo off) is not kept (docs/security.md).
 */
export function hideTyped(text: string): string {
  let out = '';
  let esc = false;
  for (const c of text) {
    const code = c.codePointAt(0)!;
    if (code === 0x1b) {
      esc = true;
      out += c;
    } else if (esc) {
      out += c;
      // An escape sequence from a key ends at its final byte (ESC [ A, ESC O P, ESC [ 1 5 ~).
      if (code >= 0x40 && code <= 0x7e && c !== '[' && c !== 'O') esc = false;
      if (code < 0x20 || code > 0x7e) esc = false;
    } else out += code < 0x20 || code === 0x7f ? c : TYPED;
  }
  return out;
}

export class AsciicastWriter {
  readonly #lines: string[] = [];
  readonly #maxBytes: number;
  readonly #startMs: number;
  readonly #decoders = new Map<AsciicastCode, TextDecoder>();
  #bytes = 0;
  #events = 0;
  #truncated = false;

  constructor(header: AsciicastHeader, options: { readonly maxBytes: number; readonly startMs: number }) {
    this.#maxBytes = options.maxBytes;
    this.#startMs = options.startMs;
    this.#push(JSON.stringify({ version: 2, ...header }));
  }

  get truncated(): boolean {
    return this.#truncated;
  }

  get events(): number {
    return this.#events;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Adds keystrokes typed on a terminal as an input event, printable characters hidden (hideTyped). */
  keystrokes(atMs: number, data: Buffer | string): void {
    this.event(atMs, 'i', data, hideTyped);
  }

  /** Adds an event at `atMs` (a performance.now()-style clock shared with `startMs`). */
  event(
    atMs: number,
    code: AsciicastCode,
    data: Buffer | string,
    transform?: (text: string) => string,
  ): void {
    if (this.#truncated) return;
    let text: string;
    if (typeof data === 'string') text = data;
    else {
      // Streamed UTF-8: a character split across two messages is kept whole.
      let d = this.#decoders.get(code);
      if (!d) this.#decoders.set(code, (d = new TextDecoder('utf-8')));
      text = d.decode(data, { stream: true });
      if (text === '') return;
    }
    if (transform) text = transform(text);
    const seconds = Math.max(0, Math.round(atMs - this.#startMs)) / 1000;
    const line = JSON.stringify([seconds, code, text]);
    if (this.#bytes + line.length + 1 > this.#maxBytes) {
      this.#truncated = true;
      const note = JSON.stringify([seconds, 'm', 'recording cut at the size cap']);
      this.#lines.push(note);
      this.#bytes += note.length + 1;
      return;
    }
    this.#push(line);
    this.#events++;
  }

  resize(atMs: number, width: number, height: number): void {
    this.event(atMs, 'r', `${width}x${height}`);
  }

  /** The recording as asciicast v2 text (newline-terminated lines). */
  text(): string {
    return this.#lines.join('\n') + '\n';
  }

  #push(line: string): void {
    this.#lines.push(line);
    this.#bytes += line.length + 1;
  }
}

export interface ParsedAsciicast {
  readonly header: Record<string, unknown>;
  readonly events: readonly (readonly [number, string, string])[];
}

/** Parses asciicast v2 text; malformed event lines are skipped, a malformed header is an error. */
export function parseAsciicast(text: string): ParsedAsciicast {
  const lines = text.split('\n').filter((l) => l !== '');
  const header = JSON.parse(lines[0] ?? '') as Record<string, unknown>;
  if (header === null || typeof header !== 'object' || header.version !== 2)
    throw new Error('not an asciicast v2 recording');
  const events: [number, string, string][] = [];
  for (const l of lines.slice(1)) {
    try {
      const e = JSON.parse(l) as unknown;
      if (
        Array.isArray(e) &&
        typeof e[0] === 'number' &&
        typeof e[1] === 'string' &&
        typeof e[2] === 'string'
      )
        events.push([e[0], e[1], e[2]]);
    } catch {
      // skipped
    }
  }
  return { header, events };
}
