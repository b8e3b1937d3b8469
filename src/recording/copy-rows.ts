// The rows of a COPY … FROM STDIN as the record holds them (`copy.data` parts and the `copy.end`
// that binds them: src/engines/postgres/copy-in-record.ts, docs/recording.md), read back for people:
// the parts' bytes joined, checked against the size and SHA-256 the end recorded, and the beginning
// shown as text. Keeps no more of the rows than it shows, so a large load reads in bounded memory.

import { createHash, type Hash } from 'node:crypto';
import { clipShown } from '../core/visible-text.js';

/** Characters of a COPY's rows shown by default. */
export const SHOWN_COPY_ROWS = 4096;

/** What a reader of the record is told about one COPY's rows. */
export interface CopyRowsSummary {
  /** `rows sent: N bytes in P part(s), sha256 H` and how the client ended them. */
  readonly head: string;
  /** The rows as text, clipped; or why they are not shown. */
  readonly shown: string;
  /** The parts recorded join to exactly the bytes and digest the end recorded. */
  readonly intact: boolean;
}

const END_WORDS: Record<string, string> = {
  done: 'ended by CopyDone',
  fail: 'abandoned by the client (CopyFail)',
  interrupted: 'cut off by another message',
};

/** One COPY's parts, read in order. */
export class CopyRowsReader {
  private bytes = 0;
  private parts = 0;
  private readonly hash: Hash = createHash('sha256');
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private text = '';
  private chars = 0;
  private notText = false;

  constructor(private readonly max = SHOWN_COPY_ROWS) {}

  /** A `copy.data` event's data. */
  add(data: Readonly<Record<string, unknown>>): void {
    const rows =
      typeof data['text'] === 'string'
        ? Buffer.from(data['text'], 'utf8')
        : typeof data['base64'] === 'string'
          ? Buffer.from(data['base64'], 'base64')
          : Buffer.alloc(0);
    this.parts++;
    this.bytes += rows.length;
    this.hash.update(rows);
    if (this.notText) return;
    try {
      // Streaming: a character cut between two parts is joined.
      const t = this.decoder.decode(rows, { stream: true });
      this.chars += t.length;
      if (this.text.length <= this.max) this.text += t.slice(0, this.max + 1 - this.text.length);
    } catch {
      this.notText = true;
    }
  }

  /** The summary, given the `copy.end` event's data (undefined: the record has no end). */
  summary(end: Readonly<Record<string, unknown>> | undefined): CopyRowsSummary {
    const sha256 = this.hash.digest('hex');
    const intact = end !== undefined && end['sha256'] === sha256 && end['bytes'] === this.bytes;
    const how = end === undefined ? 'no end recorded' : (END_WORDS[String(end['end'])] ?? String(end['end']));
    let head = `rows sent: ${this.bytes} bytes in ${this.parts} part(s), sha256 ${sha256}, ${how}`;
    if (typeof end?.['message'] === 'string') head += `: ${end['message']}`;
    if (end !== undefined && !intact)
      head += ` (the record's end says ${String(end['bytes'])} bytes, sha256 ${String(end['sha256'])}: parts are missing or changed)`;
    let shown: string;
    if (this.bytes === 0) shown = '(no rows)';
    else if (this.notText) shown = '(not shown: binary COPY data or not UTF-8 text)';
    else {
      try {
        const rest = this.decoder.decode();
        this.chars += rest.length;
        if (this.text.length <= this.max) this.text += rest.slice(0, this.max + 1 - this.text.length);
        shown = clipShown(this.text, this.max, this.chars);
      } catch {
        shown = '(not shown: not UTF-8 text)';
      }
    }
    return { head, shown, intact };
  }
}
