import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseAuthority, signTargetList, targetKey, verifyTargetList } from './target-list.js';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const list = {
  agentId: 'agt_1',
  agent: 'vpc',
  issuedAt: 1000,
  targets: ['db.internal:5432', '10.0.0.5:443'],
};

describe('signed target lists', () => {
  it('verifies a list signed for this agent', () => {
    const v = verifyTargetList(signTargetList(list, privateKey), publicKey, 'agt_1');
    expect(v.targets).toEqual(['10.0.0.5:443', 'db.internal:5432']);
  });

  it('refuses a list for another agent, a tampered payload, another key and garbage', () => {
    const signed = signTargetList(list, privateKey);
    expect(() => verifyTargetList(signed, publicKey, 'agt_2')).toThrow(/another agent/);
    const widened = Buffer.from(
      JSON.stringify({ ...list, targets: [...list.targets, 'evil:22'] }),
      'utf8',
    ).toString('base64url');
    expect(() => verifyTargetList({ ...signed, payload: widened }, publicKey, 'agt_1')).toThrow(/signature/);
    const other = generateKeyPairSync('ed25519').publicKey;
    expect(() => verifyTargetList(signed, other, 'agt_1')).toThrow(/signature/);
    expect(() => verifyTargetList({ payload: 'x' }, publicKey, 'agt_1')).toThrow(/malformed/);
    expect(() => verifyTargetList('nope', publicKey, 'agt_1')).toThrow(/malformed/);
  });

  it('compares targets by one canonical key', () => {
    expect(targetKey({ host: 'DB.Internal.', port: 5432 })).toBe('db.internal:5432');
    expect(targetKey({ host: '[::1]', port: 5432 })).toBe('[::1]:5432');
    expect(targetKey({ host: '::1', port: 5432 })).toBe('[::1]:5432');
    expect(parseAuthority('[::1]:5432')).toEqual({ host: '::1', port: 5432 });
    expect(parseAuthority('db:0')).toBeUndefined();
    expect(parseAuthority('db:99999')).toBeUndefined();
    expect(parseAuthority('a b:1')).toBeUndefined();
    expect(parseAuthority('db')).toBeUndefined();
  });
});
