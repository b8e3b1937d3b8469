import { describe, expect, it } from 'vitest';
import { mcpEndpoint } from './stdio-relay.js';

describe('gatehouse mcp --gateway', () => {
  it('accepts a base URL or the /mcp URL', () => {
    expect(mcpEndpoint('https://gw.example.com').href).toBe('https://gw.example.com/mcp');
    expect(mcpEndpoint('https://gw.example.com/').href).toBe('https://gw.example.com/mcp');
    expect(mcpEndpoint('https://gw.example.com/mcp').href).toBe('https://gw.example.com/mcp');
    expect(mcpEndpoint('http://127.0.0.1:8780/base').href).toBe('http://127.0.0.1:8780/base/mcp');
  });

  it('refuses anything but http(s)', () => {
    expect(() => mcpEndpoint('file:///etc/passwd')).toThrow(/http/);
    expect(() => mcpEndpoint('not a url')).toThrow();
  });
});
