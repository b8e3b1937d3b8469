import { describe, expect, it } from 'vitest';
import { configSchema, type GatehouseConfig } from '../config/schema.js';
import { agentAudienceOf } from './agent-audiences.js';

function config(extra: Record<string, unknown>): GatehouseConfig {
  return configSchema.parse({ connections: {}, policies: [], ...extra });
}

describe('agentAudienceOf', () => {
  it('names the configured MCP resource and audiences, and nothing else', () => {
    const is = agentAudienceOf(() =>
      config({
        mcp: { resource: 'https://gw.example.com/mcp', audience: ['urn:gatehouse:mcp'] },
        listeners: { http: { address: '127.0.0.1:0', publicUrl: 'https://gw.example.com' } },
      }),
    );
    expect(is('https://gw.example.com/mcp')).toBe(true);
    expect(is('https://gw.example.com/mcp/')).toBe(true);
    expect(is('urn:gatehouse:mcp')).toBe(true);
    expect(is('https://gw.example.com/api')).toBe(false);
    expect(is('gatehouse')).toBe(false);
    // A resource is configured: another host's /mcp is not this gateway's.
    expect(is('https://other.example.com/mcp')).toBe(false);
  });

  it("without a configured resource, any URL whose path is /mcp (what the metadata derives from a request's origin)", () => {
    const is = agentAudienceOf(() => config({}));
    expect(is('http://127.0.0.1:8780/mcp')).toBe(true);
    expect(is('https://gatehouse.internal/mcp')).toBe(true);
    expect(is('https://gatehouse.internal/mcpx')).toBe(false);
    expect(is('gatehouse')).toBe(false);
  });

  it('names nothing when the MCP endpoint is off', () => {
    const is = agentAudienceOf(() =>
      config({ mcp: { enabled: false, resource: 'https://gw.example.com/mcp' } }),
    );
    expect(is('https://gw.example.com/mcp')).toBe(false);
  });
});
