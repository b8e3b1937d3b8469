import { describe, expect, it } from 'vitest';
import { LruCache } from './lru-cache.js';

describe('LruCache', () => {
  it('evicts the least recently used entry beyond maxEntries', () => {
    const cache = new LruCache<number>({ maxEntries: 2 });
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1); // a is now more recent than b
    cache.set('c', 3);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(1);
    expect(cache.get('c')).toBe(3);
    expect(cache.size).toBe(2);
  });

  it('replaces the value of an existing key without growing', () => {
    const cache = new LruCache<number>({ maxEntries: 2 });
    cache.set('a', 1);
    cache.set('a', 2);
    expect(cache.size).toBe(1);
    expect(cache.get('a')).toBe(2);
  });

  it('bounds the total key length', () => {
    const cache = new LruCache<number>({ maxEntries: 100, maxTotalKeyLength: 10 });
    cache.set('aaaa', 1);
    cache.set('bbbb', 2);
    cache.set('cccc', 3); // 12 > 10: evicts aaaa
    expect(cache.get('aaaa')).toBeUndefined();
    expect(cache.get('bbbb')).toBe(2);
    cache.set('x'.repeat(11), 4); // longer than the whole budget: not cached, nothing evicted
    expect(cache.size).toBe(2);
    cache.set('bbbb', 5); // re-setting a key does not count its length twice
    cache.set('dd', 6);
    expect(cache.get('cccc')).toBe(3);
    expect(cache.get('dd')).toBe(6);
  });

  it('caches nothing with maxEntries 0 and clears on demand', () => {
    const none = new LruCache<number>({ maxEntries: 0 });
    none.set('a', 1);
    expect(none.get('a')).toBeUndefined();
    const some = new LruCache<number>({ maxEntries: 5 });
    some.set('a', 1);
    some.clear();
    expect(some.size).toBe(0);
    expect(() => new LruCache<number>({ maxEntries: -1 })).toThrow(RangeError);
  });

  it('keeps an entry hit within every 3/4 of maxEntries insertions, without moving it at every hit', () => {
    const cache = new LruCache<number>({ maxEntries: 8 });
    cache.set('hot', 0);
    for (let i = 1; i <= 100; i++) {
      cache.set(`k${i}`, i);
      if (i % 5 === 0) expect(cache.get('hot')).toBe(0);
    }
    expect(cache.size).toBe(8);
    // The cold keys went first, oldest first: the newest seven and the hot one are left.
    expect(cache.get('k93')).toBeUndefined();
    for (let i = 94; i <= 100; i++) expect(cache.get(`k${i}`)).toBe(i);
    expect(cache.get('hot')).toBe(0);
  });
});
