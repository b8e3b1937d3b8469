import { describe, expect, it } from 'vitest';
import { parseProxyUrl } from './gateway-connection.js';

describe('the proxy the agent reaches its gateway through', () => {
  it('is an http:// URL; a bare host:port (as HTTPS_PROXY often holds) is one', () => {
    expect(parseProxyUrl('http://proxy.corp:3128').host).toBe('proxy.corp:3128');
    const bare = parseProxyUrl('proxy.corp:3128');
    expect([bare.protocol, bare.host]).toEqual(['http:', 'proxy.corp:3128']);
    const withUser = parseProxyUrl('http://ann:s3cret@proxy.corp:3128');
    expect([withUser.username, withUser.password]).toEqual(['ann', 's3cret']);
  });

  it('refuses other schemes: the CONNECT is plain HTTP, so https:// would send its password in clear', () => {
    expect(() => parseProxyUrl('https://ann:s3cret@proxy.corp:3129')).toThrow(/must be an http:\/\/ URL/);
    expect(() => parseProxyUrl('socks5://proxy.corp:1080')).toThrow(/socks5:\/\/ proxies are not supported/);
  });

  it('never repeats the value it refuses (it can carry a password)', () => {
    for (const bad of ['http://ann:s3cret@', 'http://[ann:s3cret', 'https://ann:s3cret@proxy.corp']) {
      let message = '';
      try {
        parseProxyUrl(bad);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).not.toBe('');
      expect(message).not.toContain('s3cret');
    }
  });
});
