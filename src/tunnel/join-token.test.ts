import { describe, expect, it } from 'vitest';
import { formatJoinToken, hashSecret, newJoinToken, parseJoinToken, secretMatches } from './join-token.js';

describe('join tokens', () => {
  it('round-trips and keeps only a hash of the secret', () => {
    const t = newJoinToken('p'.repeat(43));
    const text = formatJoinToken(t);
    expect(text.startsWith('ghj1.')).toBe(true);
    expect(parseJoinToken(text)).toEqual(t);
    expect(secretMatches(t.secret, hashSecret(t.secret))).toBe(true);
    expect(secretMatches(`${t.secret}x`, hashSecret(t.secret))).toBe(false);
  });

  it('refuses anything that is not one', () => {
    const t = formatJoinToken(newJoinToken('p'.repeat(43)));
    for (const bad of [
      '',
      'ghj1',
      t.replace('ghj1', 'ghj2'),
      `${t}.x`,
      t.slice(0, -1),
      t.replace(/\./g, '_'),
    ])
      expect(parseJoinToken(bad)).toBeUndefined();
  });
});
