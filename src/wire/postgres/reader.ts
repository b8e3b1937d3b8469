// Bounds-checked reader over one message body. Every read past the end is a ProtocolError, so a
// hostile length inside a message cannot make us read garbage or allocate without limit.

import { ProtocolError } from './protocol-error.js';

export class BodyReader {
  pos = 0;
  constructor(private readonly b: Buffer) {}

  get remaining(): number {
    return this.b.length - this.pos;
  }

  private need(n: number): void {
    if (n < 0 || this.pos + n > this.b.length) throw new ProtocolError('message truncated');
  }

  byte(): number {
    this.need(1);
    return this.b[this.pos++]!;
  }

  int16(): number {
    this.need(2);
    const v = this.b.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  int32(): number {
    this.need(4);
    const v = this.b.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** A NUL-terminated UTF-8 string. */
  cstring(): string {
    const end = this.b.indexOf(0, this.pos);
    if (end < 0) throw new ProtocolError('unterminated string');
    const s = this.b.toString('utf8', this.pos, end);
    this.pos = end + 1;
    return s;
  }

  bytes(n: number): Buffer {
    this.need(n);
    const v = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  rest(): Buffer {
    const v = this.b.subarray(this.pos);
    this.pos = this.b.length;
    return v;
  }
}
