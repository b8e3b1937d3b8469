// Memory the SAML sign-in keeps between requests: outstanding AuthnRequest IDs (for the
// InResponseTo check) and assertion IDs already used (replay). Bounded in size and time; loaded
// without the SAML library so a gateway without SAML never loads it.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
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

/**
 * AuthnRequest IDs that carry their own proof: `_<random>-<issued at, ms, base 36>-<MAC>`, MACed with a
 * key this process holds. The InResponseTo check verifies the MAC and the age instead of looking the
 * ID up, so the gateway keeps nothing per sign-in started — `/login/saml` is anyone's to ask for, and a
 * kept list, bounded, was pushed out by whoever started sign-ins without end (docs/security.md, class
 * 389). An ID answered by a signed assertion is spent (`spend`): that list grows only with sign-ins the
 * identity provider signed, and refuses when full (fail closed), as the assertion replay cache does.
 */
export class SignedRequestIds implements CacheProvider {
  readonly #key: Buffer;
  readonly #spent = new Map<string, number>();
  constructor(
    private readonly ttlMs = 10 * 60_000,
    private readonly maxSpent = 100_000,
    key: Buffer = randomBytes(32),
    private readonly now: () => number = Date.now,
  ) {
    this.#key = key;
  }

  #mac(nonce: string, at: string): string {
    return createHmac('sha256', this.#key)
      .update(`gatehouse-saml-request\u0000${nonce}\u0000${at}`)
      .digest('base64url')
      .slice(0, 32);
  }

  /** A new AuthnRequest ID (an xs:ID: it starts with `_`, then letters, digits, `-` and `_`). */
  newId(): string {
    const nonce = randomBytes(16).toString('hex');
    const at = this.now().toString(36);
    return `_${nonce}-${at}-${this.#mac(nonce, at)}`;
  }

  /** When this gateway issued the ID, if it did, it is not too old, and it was not answered yet. */
  issuedAt(id: string): number | undefined {
    const m = /^_([0-9a-f]{32})-([0-9a-z]{1,12})-([A-Za-z0-9_-]{32})$/.exec(id);
    if (!m) return undefined;
    const [, nonce, at, mac] = m as unknown as [string, string, string, string];
    const want = Buffer.from(this.#mac(nonce, at));
    const got = Buffer.from(mac);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return undefined;
    const t = parseInt(at, 36);
    const now = this.now();
    if (!Number.isSafeInteger(t) || t > now + 60_000 || now - t > this.ttlMs) return undefined;
    const spent = this.#spent.get(id);
    if (spent !== undefined && spent > now) return undefined;
    return t;
  }

  /** Marks an ID answered by a validated assertion; false when it was already, or the list is full. */
  spend(id: string): boolean {
    const t = this.issuedAt(id);
    if (t === undefined) return false;
    const now = this.now();
    if (this.#spent.size >= this.maxSpent) {
      for (const [k, until] of this.#spent) if (until <= now) this.#spent.delete(k);
      if (this.#spent.size >= this.maxSpent) return false;
    }
    this.#spent.set(id, t + this.ttlMs);
    return true;
  }

  // node-saml's CacheProvider: nothing is saved; a lookup is a verification.
  saveAsync(key: string, value: string): Promise<CacheItem | null> {
    return Promise.resolve({ value, createdAt: this.now() });
  }

  getAsync(key: string): Promise<string | null> {
    const t = this.issuedAt(key);
    return Promise.resolve(t === undefined ? null : new Date(t).toISOString());
  }

  /** node-saml also calls this with IDs from responses it refused: only `spend` marks an ID. */
  removeAsync(_key: string | null): Promise<string | null> {
    return Promise.resolve(null);
  }
}
