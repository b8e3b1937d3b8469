import { describe, expect, it } from 'vitest';
import { limitKb, limitMs, limitValue, limitViolation } from './session-limits.js';

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
    // A memory bound is a limit too (class 176): ALTER … SET of it changes later sessions' ceilings.
    expect(limitViolation({ name: 'work_mem', via: 'alter', value: '1GB' }, ceilings)).toMatch(
      /later sessions/,
    );
    expect(limitViolation({ name: 'search_path', via: 'alter', value: 'x' }, ceilings)).toBeUndefined();
    // No ceiling: nothing to lift.
    expect(limitViolation({ name: 'lock_timeout', via: 'set', value: '0' }, ceilings)).toBeUndefined();
  });

  it('reads memory bounds and factors in their own units (class 176)', () => {
    expect(limitKb('4MB')).toBe(4096);
    expect(limitKb(' 64 ')).toBe(64);
    expect(limitKb('1GB')).toBe(1024 * 1024);
    expect(limitKb('2048B')).toBe(2);
    expect(limitKb('1.5MB')).toBe(1536);
    expect(limitKb('1mb')).toBeUndefined();
    expect(limitKb('1e6')).toBeUndefined();
    expect(limitKb('010')).toBeUndefined();
    expect(limitKb('-1')).toBeUndefined();
    expect(limitValue('WORK_MEM', '1MB')).toBe(1024);
    expect(limitValue('hash_mem_multiplier', '1.5')).toBe(1.5);
    expect(limitValue('hash_mem_multiplier', '1e3')).toBeUndefined();
    expect(limitValue('statement_timeout', '1s')).toBe(1000);
  });

  it('lets an agent lower a memory bound, never raise it', () => {
    const ceilings = new Map([
      ['work_mem', 4096],
      ['maintenance_work_mem', 65536],
      ['hash_mem_multiplier', 2],
    ]);
    const set = (name: string, value: string) => ({ name, via: 'set' as const, value });
    expect(limitViolation(set('work_mem', '1MB'), ceilings)).toBeUndefined();
    expect(limitViolation(set('work_mem', '4MB'), ceilings)).toBeUndefined();
    expect(limitViolation(set('work_mem', '4097'), ceilings)).toMatch(/4096 kB .*cannot raise/);
    expect(limitViolation(set('work_mem', '1GB'), ceilings)).toMatch(/cannot raise/);
    expect(limitViolation(set('work_mem', '0'), ceilings)).toMatch(/cannot raise/);
    expect(limitViolation(set('maintenance_work_mem', '8GB'), ceilings)).toMatch(/cannot raise/);
    expect(limitViolation(set('hash_mem_multiplier', '1'), ceilings)).toBeUndefined();
    expect(limitViolation(set('hash_mem_multiplier', '1000'), ceilings)).toMatch(/is 2 for this session/);
    expect(limitViolation({ name: 'work_mem', via: 'reset' }, ceilings)).toBeUndefined();
  });

  it('reads blocks, counts and switches as PostgreSQL does, and bounds them at login (class 213)', () => {
    expect(limitValue('temp_buffers', '1024')).toBe(1024);
    expect(limitValue('temp_buffers', '8MB')).toBe(1024);
    expect(limitValue('temp_buffers', '010')).toBeUndefined();
    expect(limitValue('max_parallel_workers_per_gather', '0')).toBe(0);
    expect(limitValue('max_parallel_workers_per_gather', '0x10')).toBeUndefined();
    expect(limitValue('max_parallel_workers_per_gather', '2.5')).toBeUndefined();
    expect(limitValue('parallel_leader_participation', 'ON')).toBe(1);
    expect(limitValue('parallel_leader_participation', 'of')).toBe(0);
    expect(limitValue('parallel_leader_participation', 'o')).toBeUndefined();
    expect(limitValue('geqo', 'off')).toBe(1);
    expect(limitValue('geqo', 'true')).toBe(0);
    const ceilings = new Map([
      ['temp_buffers', 1024],
      ['max_parallel_workers_per_gather', 2],
      ['parallel_leader_participation', 0],
      ['geqo', 0],
      ['geqo_pool_size', 0],
    ]);
    const set = (name: string, value: string) => ({ name, via: 'set' as const, value });
    expect(limitViolation(set('temp_buffers', '4MB'), ceilings)).toBeUndefined();
    expect(limitViolation(set('temp_buffers', '1GB'), ceilings)).toMatch(
      /1024 blocks of 8 kB .*cannot raise/,
    );
    expect(limitViolation(set('max_parallel_workers_per_gather', '0'), ceilings)).toBeUndefined();
    expect(limitViolation(set('max_parallel_workers_per_gather', '3'), ceilings)).toMatch(/is 2 for/);
    expect(limitViolation(set('parallel_leader_participation', 'off'), ceilings)).toBeUndefined();
    expect(limitViolation(set('parallel_leader_participation', 'on'), ceilings)).toMatch(/is off for/);
    expect(limitViolation(set('geqo', 'on'), ceilings)).toBeUndefined();
    expect(limitViolation(set('geqo', 'off'), ceilings)).toMatch(/geqo is on .*cannot turn it off/);
    expect(limitViolation(set('geqo_pool_size', '0'), ceilings)).toBeUndefined();
    expect(limitViolation(set('geqo_pool_size', '100'), ceilings)).toMatch(/is 0 for/);
    // A setting the server did not report (older than the setting) has no ceiling: the server refuses it.
    expect(limitViolation(set('vacuum_buffer_usage_limit', '16GB'), ceilings)).toBeUndefined();
  });
});
