import { describe, expect, it } from 'vitest';
import { UNAVAILABLE } from '../../sql/postgres/column-lineage.js';
import { CatalogResolver } from './catalog-resolver.js';

describe('CatalogResolver without a catalog', () => {
  it('leaves columns unresolved (so they are masked whole) when the catalog cannot be reached', async () => {
    let attempts = 0;
    const r = new CatalogResolver(() => {
      attempts++;
      return Promise.reject(new Error('upstream down'));
    });
    const cols = [
      { name: 'a', tableOid: 16384, columnNumber: 1, typeOid: 25, format: 0 },
      { name: 'b', tableOid: 0, columnNumber: 0, typeOid: 25, format: 0 },
    ];
    expect(r.missing(cols)).toEqual([16384]);
    await expect(r.load([16384])).resolves.toBeUndefined();
    const [a, b] = r.resolve(cols);
    expect(a!.source).toBe('unresolved');
    expect(b!.source).toBeUndefined();
    // It tries again next time rather than caching the failure.
    expect(r.missing(cols)).toEqual([16384]);
    await r.load([16384]);
    expect(attempts).toBe(2);
    r.close();
  });
});

describe('overloaded names without a catalog (class 125)', () => {
  it('answers unavailable, which counts every built-in name as overloaded, and asks again later', async () => {
    let attempts = 0;
    let now = 0;
    const r = new CatalogResolver(
      () => {
        attempts++;
        return Promise.reject(new Error('upstream down'));
      },
      { now: () => now },
    );
    // Sessions asking at once share one attempt.
    const [a, b] = await Promise.all([r.overloaded(), r.overloaded()]);
    expect(a).toBe(UNAVAILABLE);
    expect(b).toBe(UNAVAILABLE);
    expect(attempts).toBe(1);
    expect(r.overloaded()).toBe(UNAVAILABLE);
    now += 2_001;
    expect(await r.overloaded()).toBe(UNAVAILABLE);
    expect(attempts).toBe(2);
    r.close();
  });
});
