import { describe, expect, it } from 'vitest';
import { MemoryAssertionReplayCache, MemoryRequestIdCache, SignedRequestIds } from './saml-caches.js';

describe('SAML caches', () => {
  it('accepts an assertion id once while it could still be valid', () => {
    let now = 1_000;
    const cache = new MemoryAssertionReplayCache(10, () => now);
    expect(cache.remember('a', new Date(5_000))).toBe(true);
    expect(cache.remember('a', new Date(5_000))).toBe(false);
    now = 6_000;
    expect(cache.remember('a', new Date(9_000))).toBe(true);
  });

  it('refuses rather than forgets when full of live ids', () => {
    const cache = new MemoryAssertionReplayCache(2, () => 0);
    expect(cache.remember('a', new Date(100))).toBe(true);
    expect(cache.remember('b', new Date(100))).toBe(true);
    expect(cache.remember('c', new Date(100))).toBe(false);
    expect(cache.remember('a', new Date(100))).toBe(false);
  });

  it('keeps request ids for the InResponseTo check, once', async () => {
    const c = new MemoryRequestIdCache(60_000, 10);
    await c.saveAsync('_r1', 'x');
    expect(await c.getAsync('_r1')).toBe('x');
    expect(await c.removeAsync('_r1')).toBe('x');
    expect(await c.getAsync('_r1')).toBeNull();
  });
});

describe('SignedRequestIds', () => {
  it('verifies the IDs it issued, by their MAC and age, keeping nothing per ID issued', async () => {
    let now = 1_000_000;
    const ids = new SignedRequestIds(60_000, 10, Buffer.alloc(32, 7), () => now);
    const id = ids.newId();
    expect(id).toMatch(/^_[0-9a-f]{32}-[0-9a-z]+-[A-Za-z0-9_-]{32}$/);
    expect(await ids.getAsync(id)).toBe(new Date(1_000_000).toISOString());
    // Another key's ID, a changed MAC or time, or a made-up one: not ours.
    const other = new SignedRequestIds(60_000, 10, Buffer.alloc(32, 8), () => now).newId();
    expect(await ids.getAsync(other)).toBeNull();
    expect(await ids.getAsync(id.replace(/-([0-9a-z]+)-/, '-1-'))).toBeNull();
    expect(await ids.getAsync(`${id.slice(0, -1)}${id.endsWith('A') ? 'B' : 'A'}`)).toBeNull();
    expect(await ids.getAsync('_not-ours')).toBeNull();
    // Too old.
    now += 60_001;
    expect(await ids.getAsync(id)).toBeNull();
  });

  it('spends an answered ID once; refuses rather than forget a spent one when full', async () => {
    const now = 5_000_000;
    const ids = new SignedRequestIds(60_000, 2, Buffer.alloc(32, 1), () => now);
    const [a, b, c] = [ids.newId(), ids.newId(), ids.newId()];
    // node-saml's remove (also called with IDs of refused responses) spends nothing.
    await ids.removeAsync(a);
    expect(await ids.getAsync(a)).not.toBeNull();
    expect(ids.spend(a)).toBe(true);
    expect(await ids.getAsync(a)).toBeNull();
    expect(ids.spend(a)).toBe(false);
    expect(ids.spend(b)).toBe(true);
    expect(ids.spend(c)).toBe(false);
    expect(await ids.getAsync(c)).not.toBeNull();
  });
});
