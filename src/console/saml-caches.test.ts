import { describe, expect, it } from 'vitest';
import { MemoryAssertionReplayCache, MemoryRequestIdCache } from './saml-caches.js';

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
