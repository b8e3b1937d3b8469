// Memory the SAML sign-in keeps between requests: outstanding AuthnRequest IDs (for the
// InResponseTo check) and assertion IDs already used (replay). Bounded in size and time; loaded
// without the SAML library so a gateway without SAML never loads it.

import type { CacheItem, CacheProvider } from '@node-saml/node-saml';

/** Assertion IDs seen, kept until the assertion could no longer be accepted anyway. */
export interface AssertionReplayCache {
  /** Records the id; false when it was already recorded (a replay) or the cache is full. */
  remember(id: string, until: Date): boolean;
}

export class MemoryAssertionReplayCache implements AssertionReplayCache {
  readonly #seen = new Map<string, number>();
  constructor(
    private readonly max = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  remember(id: string, until: Date): boolean {
    const now = this.now();
    if (this.#seen.size >= this.max) {
      for (const [k, t] of this.#seen) if (t <= now) this.#seen.delete(k);
    }
    const had = this.#seen.get(id);
    if (had !== undefined && had > now) return false;
    // Full of live ids: refuse rather than forget one that could then be replayed (fail closed).
    if (this.#seen.size >= this.max) return false;
    this.#seen.set(id, until.getTime());
    return true;
  }
}

/** Outstanding AuthnRequest IDs (node-saml's InResponseTo check), bounded and expiring. */
export class MemoryRequestIdCache implements CacheProvider {
  readonly #items = new Map<string, CacheItem>();
  constructor(
    private readonly ttlMs = 10 * 60_000,
    private readonly max = 10_000,
  ) {}

  #sweep(): void {
    const now = Date.now();
    for (const [k, v] of this.#items) if (now - v.createdAt > this.ttlMs) this.#items.delete(k);
    while (this.#items.size >= this.max) {
      const first = this.#items.keys().next().value;
      if (first === undefined) break;
      this.#items.delete(first);
    }
  }

  async saveAsync(key: string, value: string): Promise<CacheItem | null> {
    this.#sweep();
    if (this.#items.has(key)) return null;
    const item = { value, createdAt: Date.now() };
    this.#items.set(key, item);
    return item;
  }

  async getAsync(key: string): Promise<string | null> {
    const item = this.#items.get(key);
    if (!item || Date.now() - item.createdAt > this.ttlMs) return null;
    return item.value;
  }

  async removeAsync(key: string | null): Promise<string | null> {
    if (key === null) return null;
    const item = this.#items.get(key);
    this.#items.delete(key);
    return item?.value ?? null;
  }
}
