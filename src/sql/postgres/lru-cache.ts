// A small bounded least-recently-used map (by entry count and by total key length). Approximately:
// a hit moves an entry to the front only once a quarter of maxEntries may have come after it (see get).
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
  // A Map iterates in insertion order: re-inserting on a hit keeps the least recent entries first.
  // `stamp` is the insertion count when the entry was last (re)inserted: at most `#clock - stamp`
  // entries are newer than it.
  readonly #entries = new Map<string, { readonly value: V; stamp: number }>();
  #totalKeyLength = 0;
  #clock = 0;

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
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    // Re-inserted (made the most recent) only once more than a quarter of maxEntries may be newer: a
    // hit entry then outlives at least 3/4 of maxEntries further insertions (exact LRU below four
    // entries), and a hot entry is not deleted and re-added at every hit (each leaves a deleted slot
    // the Map must later compact).
    if (this.#clock - entry.stamp > this.#maxEntries >> 2) {
      this.#entries.delete(key);
      entry.stamp = ++this.#clock;
      this.#entries.set(key, entry);
    }
    return entry.value;
  }

  set(key: string, value: V): void {
    if (this.#maxEntries === 0 || key.length > this.#maxTotalKeyLength) return;
    if (this.#entries.has(key)) {
      this.#entries.delete(key);
    } else {
      this.#totalKeyLength += key.length;
    }
    this.#entries.set(key, { value, stamp: ++this.#clock });
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
