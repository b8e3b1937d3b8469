// Masks a line-framed stream as it streams (docs/security.md, class 144): NDJSON one line at a time,
// a server-sent event stream one event (up to its blank line) at a time, each masked as JSON would
// be (field names, and after every sensitive `"key":` when the text is not JSON) and by the content
// detectors. Nothing of a line or event is sent before all of it has arrived, so a secret cut across
// the upstream's writes is masked whole. It must not hold more than one unit: one longer than the cap
// ends the stream (the headers are out; the client sees a cut response, never the unmasked rest).

import { Transform, type TransformCallback } from 'node:stream';
import { maskJsonText } from '../../masking/index.js';
import type { ResponseMasking } from './http-settings.js';

export type LineFraming = 'lines' | 'events';

/** The framing of a stream type Gatehouse masks as it streams, or undefined. */
export function lineFraming(contentType: string | undefined): LineFraming | undefined {
  const t = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (t === 'text/event-stream') return 'events';
  if (t === 'application/x-ndjson' || t === 'application/jsonl' || t === 'application/x-jsonlines')
    return 'lines';
  return undefined;
}

export class LineTooLong extends Error {}

/** A transform from the upstream's (decoded) bytes to the masked text, unit by unit. */
export class LineMasker extends Transform {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private pending = '';
  readonly counts: Record<string, number> = {};

  constructor(
    private readonly framing: LineFraming,
    private readonly masking: ResponseMasking,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.pending += this.decoder.decode(chunk, { stream: true });
      this.emitComplete();
      if (this.pending.length > this.masking.maxBodyBytes)
        throw new LineTooLong(
          `a ${this.framing === 'events' ? 'event' : 'line'} longer than ${this.masking.maxBodyBytes} bytes`,
        );
      done();
    } catch (e) {
      done(e as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      this.pending += this.decoder.decode();
      if (this.pending !== '') this.push(this.mask(this.pending));
      this.pending = '';
      done();
    } catch (e) {
      done(e as Error);
    }
  }

  /** Sends every complete unit: a line ends at `\n`; an event at a blank line (`\n\n`, `\r\n\r\n`). */
  private emitComplete(): void {
    for (;;) {
      const end = this.framing === 'lines' ? this.lineEnd() : this.eventEnd();
      if (end < 0) return;
      const unit = this.pending.slice(0, end);
      this.pending = this.pending.slice(end);
      this.push(this.mask(unit));
    }
  }

  private lineEnd(): number {
    const i = this.pending.indexOf('\n');
    return i < 0 ? -1 : i + 1;
  }

  private eventEnd(): number {
    // Any of the line ends SSE allows (CRLF, LF, CR), twice in a row (WHATWG HTML §9.2.5).
    // A CRLF is one line end, never a CR and then an LF.
    const m = /(?:\r\n|\n|\r(?!\n))(?:\r\n|\n|\r)/.exec(this.pending);
    if (m === null) return -1;
    // A lone trailing CR may be the first half of a CRLF still on its way.
    const end = m.index + m[0].length;
    if (this.pending[end - 1] === '\r' && end === this.pending.length) return -1;
    return end;
  }

  private mask(unit: string): string {
    // The unit's own line ends stay as they were: a masker that writes JSON anew would drop them.
    const text = unit.replace(/[\r\n]+$/, '');
    const masked = this.framing === 'events' ? this.maskEvent(text) : this.maskText(text);
    return masked + unit.slice(text.length);
  }

  /**
   * An event's data is what its `data:` lines say joined by `\n` (WHATWG HTML §9.2.6): a value split
   * over several of them is one value to the client, so it is masked joined, and written back as
   * data lines. Every other line (event, id, retry, comments) is masked on its own.
   */
  private maskEvent(event: string): string {
    const lines = event.split(/\r\n|\n|\r/);
    const data: string[] = [];
    const others: string[] = [];
    let firstData = -1;
    for (const line of lines) {
      if (line.startsWith('data:')) {
        if (firstData < 0) firstData = others.length;
        data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
      } else others.push(this.maskText(line));
    }
    const joined = data.join('\n');
    const masked = firstData < 0 ? joined : this.maskText(joined);
    // Nothing found: the event goes out as it came, its own line ends kept.
    if (masked === joined && others.every((o, i) => o === lines.filter((l) => !l.startsWith('data:'))[i]))
      return event;
    if (firstData < 0) return others.join('\n');
    const dataLines = (masked === joined ? data : masked.split(/\r\n|\n|\r/)).map((d) => `data: ${d}`);
    return [...others.slice(0, firstData), ...dataLines, ...others.slice(firstData)].join('\n');
  }

  private maskText(unit: string): string {
    const r = maskJsonText(unit, this.masking.detectors, {
      keyNames: this.masking.fieldNames,
      style: this.masking.style,
      keysInInvalidJson: true,
    });
    if (r === null) return unit;
    for (const [k, n] of Object.entries(r.counts)) this.counts[k] = (this.counts[k] ?? 0) + n;
    return r.text;
  }
}
