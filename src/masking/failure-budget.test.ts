import { describe, expect, it } from 'vitest';
import { ResourceFailureBudget, isResourceFailure } from './failure-budget.js';

describe('ResourceFailureBudget', () => {
  it('holds a principal after max failures within the window, and lets it go when they age out', () => {
    let now = 1_000_000;
    const b = new ResourceFailureBudget({ max: 3, windowMs: 60_000, now: () => now });
    b.note('a');
    b.note('a');
    expect(b.exhausted('a')).toBeUndefined();
    b.note('a');
    expect(b.exhausted('a')).toMatch(/^3 statements of this principal/);
    expect(b.exhausted('b')).toBeUndefined();
    now += 30_000;
    b.note('a');
    now += 30_001; // the first three are older than the window; one remains
    expect(b.exhausted('a')).toBeUndefined();
  });

  it('forgets the oldest principal past its bound, and keeps at most max + 1 times each', () => {
    const b = new ResourceFailureBudget({ max: 1, maxPrincipals: 2 });
    for (let i = 0; i < 100; i++) b.note('x');
    expect(b.exhausted('x')).toMatch(/^2 statements/);
    b.note('y');
    b.note('z');
    expect(b.exhausted('x')).toBeUndefined();
    expect(b.exhausted('z')).toBeDefined();
  });

  it('counts the server’s resource classes, a cancelled statement and internal errors', () => {
    for (const c of ['53200', '53400', '54000', '54001', '57014', 'XX000'])
      expect(isResourceFailure(c)).toBe(true);
    for (const c of ['22012', '42501', '40001', '57P01', '25P02']) expect(isResourceFailure(c)).toBe(false);
  });
});
