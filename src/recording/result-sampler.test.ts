import { describe, expect, test } from 'vitest';
import { createSamplerFactory } from './result-sampler.js';

describe('result sampler', () => {
  test('keeps the first rows up to the row cap and says it was cut', () => {
    const s = createSamplerFactory({ rows: 2, bytes: 1000 })()!;
    s.columns(['id', 'name']);
    for (let i = 0; i < 5 && s.wants; i++) s.row([String(i), null]);
    expect(s.wants).toBe(false);
    expect(s.result()).toEqual({
      columns: ['id', 'name'],
      rows: [
        ['0', null],
        ['1', null],
      ],
      truncated: true,
    });
  });

  test('stops at the byte cap, keeping part of a first row that alone is too big', () => {
    const s = createSamplerFactory({ rows: 100, bytes: 10 })()!;
    s.columns(['t']);
    s.row(['x'.repeat(50)]);
    expect(s.result()).toEqual({ columns: ['t'], rows: [['x'.repeat(10)]], truncated: true });
    const t = createSamplerFactory({ rows: 100, bytes: 10 })()!;
    t.columns(['t']);
    t.row(['abcdef']);
    t.row(['ghijkl']);
    expect(t.result()).toEqual({ columns: ['t'], rows: [['abcdef']], truncated: true });
  });

  test('a statement without a row description has no sample; 0 turns sampling off', () => {
    expect(createSamplerFactory({ rows: 10, bytes: 10 })()!.result()).toBeUndefined();
    expect(createSamplerFactory({ rows: 0, bytes: 10 })()).toBeUndefined();
    expect(createSamplerFactory({ rows: 10, bytes: 0 })()).toBeUndefined();
  });

  test('a second result set starts the sample over', () => {
    const s = createSamplerFactory({ rows: 1, bytes: 100 })()!;
    s.columns(['a']);
    s.row(['1']);
    s.row(['2']);
    s.columns(['b']);
    s.row(['x']);
    expect(s.result()).toEqual({ columns: ['b'], rows: [['x']], truncated: false });
  });
});
