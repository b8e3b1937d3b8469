// Coalesces relayed frames into as few writes as possible: frames that sit next to each other in
// the same received chunk (or in the same slab of the row arena) are written as one slice, without
// copying.

export class OutputBatch {
  private parts: Buffer[] = [];
  /** The run being extended is bytes [start, end) of this ArrayBuffer (undefined: no run). */
  private ab: ArrayBufferLike | undefined;
  private start = 0;
  private end = 0;
  /** The Buffer last added to the run and its byteOffset, so the next range of it is a quick check. */
  private last: Buffer | undefined;
  private lastOffset = 0;

  add(b: Buffer): void {
    this.addRange(b, 0, b.length);
  }

  /** Adds `b[start, end)` without making a Buffer of it. */
  addRange(b: Buffer, start: number, end: number): void {
    if (b === this.last && this.lastOffset + start === this.end) {
      this.end = this.lastOffset + end;
      return;
    }
    const offset = b.byteOffset;
    const ab = b.buffer;
    if (ab === this.ab && offset + start === this.end) {
      this.end = offset + end;
    } else {
      this.flushCurrent();
      this.ab = ab;
      this.start = offset + start;
      this.end = offset + end;
    }
    this.last = b;
    this.lastOffset = offset;
  }

  private flushCurrent(): void {
    const ab = this.ab;
    if (ab === undefined) return;
    if (this.end > this.start) this.parts.push(Buffer.from(ab, this.start, this.end - this.start));
    this.ab = undefined;
    this.last = undefined;
  }

  /** Slices gathered since the last take (not counting the run being extended). */
  get pendingParts(): number {
    return this.parts.length;
  }

  /** Bytes gathered since the last take (inspection: it walks the slices). */
  get pendingBytes(): number {
    let n = this.ab === undefined ? 0 : this.end - this.start;
    for (const p of this.parts) n += p.length;
    return n;
  }

  /** Everything added since the last take, as one buffer (or undefined when empty). */
  take(): Buffer | undefined {
    const parts = this.takeParts();
    if (parts === undefined) return undefined;
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  /**
   * Everything added since the last take, as the slices it lies in (undefined when empty), for a
   * writer that sends several buffers in one go (a corked socket's writev) instead of copying them
   * into one: a masked result's rows lie in several arena slabs, or alternate with unchanged rows.
   */
  takeParts(): Buffer[] | undefined {
    this.flushCurrent();
    const parts = this.parts;
    if (parts.length === 0) return undefined;
    this.parts = [];
    return parts;
  }
}
