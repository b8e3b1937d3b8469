import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { BINDING_SCRIPT, bindingMatches, bindingPage, newBinding, validStart } from './browser-binding.js';

describe('browser binding', () => {
  it('serves a script that parses', () => {
    expect(() => new vm.Script(BINDING_SCRIPT)).not.toThrow();
  });

  it('matches only the secret it was made from', () => {
    const a = newBinding();
    const b = newBinding();
    expect(bindingMatches(a.digest, a.secret)).toBe(true);
    expect(bindingMatches(a.digest, b.secret)).toBe(false);
    expect(bindingMatches(a.digest, a.digest)).toBe(false);
    expect(bindingMatches(a.digest, undefined)).toBe(false);
    expect(bindingMatches(a.digest, '')).toBe(false);
  });

  it('escapes what it puts in the hand-off page', () => {
    const page = bindingPage({
      key: 'k',
      script: '/s.js',
      title: 't',
      message: '<b>',
      next: '/x"><script>',
      secret: 'abc',
      start: 'n',
    });
    expect(page).not.toContain('"><script>');
    expect(page).toContain('data-start="n"');
  });

  it('takes start nonces only in the form the script makes', () => {
    expect(validStart('0123456789abcdef0123456789abcdef')).toBe(true);
    expect(validStart('short')).toBe(false);
    expect(validStart('a'.repeat(22) + '"')).toBe(false);
    expect(validStart(undefined)).toBe(false);
  });
});
