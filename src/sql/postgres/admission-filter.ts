// Remembers (lossily) which texts were seen recently, so that a cache admits only texts seen twice.
// Holds hashes in a fixed typed array: it retains no strings and never grows.

/**
 * A direct-mapped table of 32-bit text hashes (the "doorkeeper" of TinyLFU). Caching every result
 * would keep each one-off statement (a literal that changes per call) alive until evicted, which on a
 * busy gateway costs more in garbage collection than the cache saves; admitting only repeats avoids it.
 * A collision can only make a one-off text look repeated (it gets cached); it never changes a result.
 */
export class AdmissionFilter {
  readonly #slots: Uint32Array;
  readonly #mask: number;

  /** `size` is rounded up to a power of two. */
  constructor(size: number) {
    let capacity = 1;
    while (capacity < size) capacity <<= 1;
    this.#slots = new Uint32Array(capacity);
    this.#mask = capacity - 1;
  }

  /** Records `text` and tells whether it (or a colliding text) was recorded before. */
  seenBefore(text: string): boolean {
    const hash = fnv1a(text) | 1; // never 0, so an empty slot never matches
    const slot = hash & this.#mask;
    if (this.#slots[slot] === hash >>> 0) return true;
    this.#slots[slot] = hash;
    return false;
  }
}

/** 32-bit FNV-1a over UTF-16 code units. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash;
}
