import { describe, expect, it } from 'vitest';
import {
  agentFromClaim,
  groupsFromClaim,
  personFromClaims,
  readClaim,
  subjectFromClaim,
} from './claim-mapping.js';

describe('claim mapping', () => {
  const claims = {
    sub: 'alice',
    'https://example.com/groups': ['dbas'],
    realm_access: { roles: ['readers', 'agents'] },
    scp: 'a b,c',
    flags: { ai: 'true' },
  };

  it('reads verbatim names first, then dot paths', () => {
    expect(readClaim(claims, 'https://example.com/groups')).toEqual(['dbas']);
    expect(readClaim(claims, 'realm_access.roles')).toEqual(['readers', 'agents']);
    expect(readClaim(claims, 'realm_access.nope')).toBeUndefined();
    expect(readClaim(claims, 'sub.length')).toBeUndefined(); // no walking into strings
    expect(readClaim(claims, 'constructor')).toBeUndefined(); // own properties only
  });

  it('groups: arrays, space/comma separated strings, absent; anything else refused', () => {
    expect(groupsFromClaim(['a', 'b', 'a'])).toEqual(['a', 'b']);
    expect(groupsFromClaim('a b,c ,, d')).toEqual(['a', 'b', 'c', 'd']);
    expect(groupsFromClaim(undefined)).toEqual([]);
    expect(() => groupsFromClaim(42)).toThrow('token groups claim is malformed');
    expect(() => groupsFromClaim(['a', 1])).toThrow('token groups claim is malformed');
    expect(() => groupsFromClaim({ a: 1 })).toThrow('token groups claim is malformed');
  });

  it('agent flag: equality, array membership, "true" for true', () => {
    expect(agentFromClaim(true, true)).toBe(true);
    expect(agentFromClaim('true', true)).toBe(true);
    expect(agentFromClaim(false, true)).toBe(false);
    expect(agentFromClaim(undefined, true)).toBe(false);
    expect(agentFromClaim(['human', 'ai-agent'], 'ai-agent')).toBe(true);
    expect(agentFromClaim('ai-agent-x', 'ai-agent')).toBe(false);
    expect(agentFromClaim(1, true)).toBe(false);
  });

  it('subject must be a non-empty string', () => {
    expect(subjectFromClaim('alice')).toBe('alice');
    expect(() => subjectFromClaim('')).toThrow('token has no subject');
    expect(() => subjectFromClaim(7)).toThrow('token has no subject');
  });

  it('a configured person claim is taken as the provider asserts it; otherwise only a verified email', () => {
    expect(personFromClaims({ upn: 'Ann@Corp.example', email: 'x@y' }, 'upn')).toBe('ann@corp.example');
    expect(personFromClaims({ ext: { mail: 'ann@corp.example' } }, 'ext.mail')).toBe('ann@corp.example');
    expect(personFromClaims({ email: 'ann@corp.example', email_verified: true }, 'upn')).toBeUndefined();
    expect(personFromClaims({ upn: 'two words' }, 'upn')).toBeUndefined();
    expect(personFromClaims({ upn: 'a\u0000b' }, 'upn')).toBeUndefined();
    expect(personFromClaims({ upn: 'x'.repeat(321) }, 'upn')).toBeUndefined();
    expect(personFromClaims({ email: 'Ann@corp.example', email_verified: true }, undefined)).toBe(
      'ann@corp.example',
    );
    expect(personFromClaims({ email: 'ann@corp.example', email_verified: 1 }, undefined)).toBeUndefined();
  });
});
