import { describe, expect, it } from 'vitest';
import { bearerChallenge, metadataUrl, protectedResourceMetadata, resourceUrl } from './resource-metadata.js';

describe('RFC 9728 protected resource metadata', () => {
  it('inserts the well-known segment before the resource path (§3.1)', () => {
    expect(metadataUrl('https://gw.example.com/mcp')).toBe(
      'https://gw.example.com/.well-known/oauth-protected-resource/mcp',
    );
    expect(metadataUrl('https://gw.example.com/')).toBe(
      'https://gw.example.com/.well-known/oauth-protected-resource',
    );
    expect(metadataUrl('https://gw.example.com:8443/tenant/mcp/')).toBe(
      'https://gw.example.com:8443/.well-known/oauth-protected-resource/tenant/mcp',
    );
  });

  it('takes the resource from config, then the public URL, then the request', () => {
    expect(resourceUrl('https://a.example/mcp#x', 'https://b.example', 'http://127.0.0.1:1/mcp')).toBe(
      'https://a.example/mcp',
    );
    expect(resourceUrl(undefined, 'https://b.example/', 'http://127.0.0.1:1/mcp')).toBe(
      'https://b.example/mcp',
    );
    expect(resourceUrl(undefined, undefined, 'http://127.0.0.1:1/mcp?x=1')).toBe('http://127.0.0.1:1/mcp');
  });

  it('names the issuers and the header bearer method only', () => {
    expect(
      protectedResourceMetadata({
        resource: 'https://gw/mcp',
        authorizationServers: ['https://idp.example'],
        scopes: ['gatehouse'],
      }),
    ).toEqual({
      resource: 'https://gw/mcp',
      authorization_servers: ['https://idp.example'],
      bearer_methods_supported: ['header'],
      scopes_supported: ['gatehouse'],
      resource_name: 'Gatehouse',
    });
  });

  it('builds the 401 challenge, with invalid_token only when a token failed, and quotes safely', () => {
    const rs = { resource: 'https://gw/mcp', authorizationServers: [] };
    expect(bearerChallenge(rs)).toBe(
      'Bearer resource_metadata="https://gw/.well-known/oauth-protected-resource/mcp"',
    );
    expect(bearerChallenge({ ...rs, scopes: ['a', 'b'] }, 'bad "token"\n')).toBe(
      'Bearer resource_metadata="https://gw/.well-known/oauth-protected-resource/mcp", scope="a b", error="invalid_token", error_description="bad \\"token\\" "',
    );
  });
});
