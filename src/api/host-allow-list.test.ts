import { describe, expect, it } from 'vitest';
import { hostAllowed, hostNameOf } from './host-allow-list.js';

const sources = {
  bound: 'gw.internal',
  urls: ['https://gatehouse.example.com/', undefined, 'not a url'],
  allowed: ['prom.internal:9464', '*.gw.example.net'],
};

describe('hostNameOf', () => {
  it('reads the name of name, name:port and [v6]:port, and refuses the malformed', () => {
    expect(hostNameOf('Example.COM:8780')).toBe('example.com');
    expect(hostNameOf('example.com.')).toBe('example.com');
    expect(hostNameOf('[::1]:8780')).toBe('::1');
    expect(hostNameOf('[::1')).toBeUndefined();
    expect(hostNameOf('[evil.test]:80')).toBeUndefined();
    expect(hostNameOf('example.com:80x')).toBeUndefined();
    expect(hostNameOf('a@b.test')).toBeUndefined();
    expect(hostNameOf(':80')).toBeUndefined();
  });
});

describe('hostAllowed', () => {
  it("answers addresses, localhost, the listener's own names and the configured ones", () => {
    for (const h of [
      undefined,
      '127.0.0.1:8780',
      '10.1.2.3',
      '[::1]:8780',
      'localhost:8780',
      'gw.internal:8780',
      'GATEHOUSE.example.com',
      'prom.internal',
      'a.gw.example.net',
      'a.b.gw.example.net:443',
    ])
      expect(hostAllowed(h, sources), String(h)).toBe(true);
  });
  it('refuses every other name', () => {
    for (const h of [
      'attacker.example',
      'gw.example.net',
      'xgw.example.net',
      'gatehouse.example.com.attacker.test',
      'localhost.attacker.test',
      '127.0.0.1.nip.io',
      'example.com:80x',
    ])
      expect(hostAllowed(h, sources), h).toBe(false);
  });
  it('answers any name with *', () => {
    expect(hostAllowed('anything.test', { urls: [], allowed: ['*'] })).toBe(true);
  });
});
