import { describe, expect, it } from 'vitest';
import { limitMs, limitViolation } from './session-limits.js';

describe('session limits an agent may only lower (docs/security.md, class 131)', () => {
  it('reads durations as PostgreSQL does, and refuses what it cannot read', () => {
    expect(limitMs('30s')).toBe(30_000);
    expect(limitMs(' 1500 ')).toBe(1500);
    expect(limitMs('1 min')).toBe(60_000);
    expect(limitMs('.5h')).toBe(1_800_000);
    expect(limitMs('0x10')).toBeUndefined();
    expect(limitMs('010')).toBeUndefined();
    expect(limitMs('1e9')).toBeUndefined();
    expect(limitMs('30S')).toBeUndefined();
    expect(limitMs("1s'; RESET ALL; --")).toBeUndefined();
  });

  it('allows lowering and resetting; refuses raising, turning off and ALTER … SET', () => {
    const ceilings = new Map([['statement_timeout', 3000]]);
    const set = (value?: string) => ({
      name: 'statement_timeout',
      via: 'set' as const,
      ...(value ? { value } : {}),
    });
    expect(limitViolation(set('1s'), ceilings)).toBeUndefined();
    expect(limitViolation(set('3000'), ceilings)).toBeUndefined();
    expect(limitViolation({ name: 'statement_timeout', via: 'reset' }, ceilings)).toBeUndefined();
    expect(limitViolation(set('0'), ceilings)).toMatch(/cannot raise/);
    expect(limitViolation(set('0.4ms'), ceilings)).toMatch(/cannot raise/);
    expect(limitViolation(set('4s'), ceilings)).toMatch(/cannot raise/);
    expect(limitViolation(set(), ceilings)).toMatch(/cannot read/);
    expect(limitViolation({ name: 'statement_timeout', via: 'alter', value: '1s' }, ceilings)).toMatch(
      /later sessions/,
    );
    expect(limitViolation({ name: '*', via: 'alter' }, ceilings)).toMatch(/later sessions/);
    expect(limitViolation({ name: 'work_mem', via: 'alter', value: '1GB' }, ceilings)).toBeUndefined();
    // No ceiling: nothing to lift.
    expect(limitViolation({ name: 'lock_timeout', via: 'set', value: '0' }, ceilings)).toBeUndefined();
  });
});
