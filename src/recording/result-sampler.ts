// Result samples for the record: the first rows of each result exactly as the client saw them, up
// to a row cap and a byte cap (docs/recording.md §Result samples). It must stop asking for rows at
// the cap, so the engine stops decoding them, and must never hold more than the cap.

import type { ResultSample, ResultSampler, ResultSamplerFactory } from '../core/records.js';

export interface SampleCaps {
  /** Rows per statement at most; 0 turns sampling off. */
  readonly rows: number;
  /** Bytes of cell text per statement at most (UTF-16 length as a cheap bound); 0 turns sampling off. */
  readonly bytes: number;
}

export const DEFAULT_SAMPLE_CAPS: SampleCaps = { rows: 100, bytes: 64 * 1024 };

class CappedSampler implements ResultSampler {
  #columns: readonly string[] = [];
  readonly #rows: (readonly (string | null)[])[] = [];
  #bytes = 0;
  #truncated = false;
  #seen = false;

  constructor(private readonly caps: SampleCaps) {}

  get wants(): boolean {
    return !this.#truncated;
  }

  columns(names: readonly string[]): void {
    // A second RowDescription (a statement with several result sets) starts over: the sample is
    // of one result, the last.
    this.#columns = [...names];
    this.#rows.length = 0;
    this.#bytes = 0;
    this.#truncated = false;
    this.#seen = true;
  }

  row(cells: readonly (string | null)[]): void {
    if (this.#truncated) return;
    if (this.#rows.length >= this.caps.rows) {
      this.#truncated = true;
      return;
    }
    let size = 0;
    for (const c of cells) size += c === null ? 4 : c.length;
    if (this.#bytes + size > this.caps.bytes) {
      // Keep what fits of this row rather than nothing: cut the cells at the byte cap.
      const room = this.caps.bytes - this.#bytes;
      if (room > 0 && this.#rows.length === 0) this.#rows.push(cutCells(cells, room));
      this.#truncated = true;
      return;
    }
    this.#bytes += size;
    this.#rows.push([...cells]);
  }

  result(): ResultSample | undefined {
    if (!this.#seen) return undefined;
    return { columns: this.#columns, rows: this.#rows, truncated: this.#truncated };
  }
}

function cutCells(cells: readonly (string | null)[], room: number): (string | null)[] {
  const out: (string | null)[] = [];
  for (const c of cells) {
    if (c === null) {
      out.push(null);
      room -= 4;
    } else {
      const keep = Math.max(0, Math.min(c.length, room));
      out.push(c.slice(0, keep));
      room -= keep;
    }
  }
  return out;
}

/** A factory for the gate: one sampler per admitted statement, or none when a cap is 0. */
export function createSamplerFactory(caps: SampleCaps = DEFAULT_SAMPLE_CAPS): ResultSamplerFactory {
  if (caps.rows <= 0 || caps.bytes <= 0) return () => undefined;
  return () => new CappedSampler(caps);
}
