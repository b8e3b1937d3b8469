// A small bounded least-recently-used map (by entry count and by total key length).
// Holds only immutable values; it must never grow past its bounds, whatever callers put in it.

export interface LruCacheOptions {
  /** Maximum number of entries (at least 1). */
  readonly maxEntries: number;
  /** Maximum sum of key lengths (UTF-16 code units) held; keys longer than this are not cached. */
  readonly maxTotalKeyLength?: number;
}

export class LruCache<V> {
  readonly #maxEntries: number;
  readonly #maxTotalKeyLength: number;
  // A Map iterates in insertion order: re-inserting on each hit keeps the least recent entry first.
  readonly #entries = new Map<string, V>();
  #totalKeyLength = 0;

  constructor(options: LruCacheOptions) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 0) {
      throw new RangeError(`maxEntries must be a non-negative integer, got ${options.maxEntries}`);
    }
    this.#maxEntries = options.maxEntries;
    this.#maxTotalKeyLength = options.maxTotalKeyLength ?? Number.POSITIVE_INFINITY;
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: string): V | undefined {
    const value = this.#entries.get(key);
    if (value === undefined) return undefined;
    // Re-insert so that the entry becomes the most recent one.
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return value;
  }

  set(key: string, value: V): void {
    if (this.#maxEntries === 0 || key.length > this.#maxTotalKeyLength) return;
    if (this.#entries.has(key)) {
      this.#entries.delete(key);
    } else {
      this.#totalKeyLength += key.length;
    }
    this.#entries.set(key, value);
    while (this.#entries.size > this.#maxEntries || this.#totalKeyLength > this.#maxTotalKeyLength) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.#entries.delete(oldest.value);
      this.#totalKeyLength -= oldest.value.length;
    }
  }

  clear(): void {
    this.#entries.clear();
    this.#totalKeyLength = 0;
  }
}
