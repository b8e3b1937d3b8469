// Coalesces relayed frames into as few writes as possible: frames that sit next to each other in
// the same received chunk are written as one slice, without copying.

export class OutputBatch {
  private parts: Buffer[] = [];
  private cur: Buffer | undefined;
  private start = 0;
  private end = 0;

  add(b: Buffer): void {
    const cur = this.cur;
    if (cur && b.buffer === cur.buffer && b.byteOffset === this.end) {
      this.end += b.length;
      return;
    }
    this.flushCurrent();
    this.cur = b;
    this.start = b.byteOffset;
    this.end = b.byteOffset + b.length;
  }

  private flushCurrent(): void {
    const cur = this.cur;
    if (!cur) return;
    this.parts.push(Buffer.from(cur.buffer, this.start, this.end - this.start));
    this.cur = undefined;
  }

  /** Everything added since the last take, as one buffer (or undefined when empty). */
  take(): Buffer | undefined {
    this.flushCurrent();
    const parts = this.parts;
    if (parts.length === 0) return undefined;
    this.parts = [];
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }
}
