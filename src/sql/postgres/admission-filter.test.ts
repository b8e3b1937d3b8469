import { describe, expect, it } from 'vitest';
import { AdmissionFilter } from './admission-filter.js';

describe('AdmissionFilter', () => {
  it('reports a text as seen only from its second sighting', () => {
    const filter = new AdmissionFilter(1024);
    expect(filter.seenBefore('SELECT 1')).toBe(false);
    expect(filter.seenBefore('SELECT 1')).toBe(true);
    expect(filter.seenBefore('SELECT 2')).toBe(false);
    expect(filter.seenBefore('')).toBe(false);
    expect(filter.seenBefore('')).toBe(true);
  });

  it('forgets a text when another one takes its slot', () => {
    const filter = new AdmissionFilter(1);
    filter.seenBefore('a');
    filter.seenBefore('b');
    expect(filter.seenBefore('a')).toBe(false);
  });
});
