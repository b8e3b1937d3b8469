import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  accessKeyIdFor,
  AwsAccessKeyResolver,
  awsDerivationKey,
  deriveAwsKeyPair,
  tokenIdFromAccessKeyId,
} from './aws-access-keys.js';
import { MemoryTokenStore } from './memory-token-store.js';
import { ServiceTokenIssuer } from './service-tokens.js';

describe('Gatehouse AWS access keys', () => {
  it('encodes the token id in the access key id and nothing else decodes', () => {
    for (let i = 0; i < 50; i++) {
      const id = randomUUID();
      const akid = accessKeyIdFor(id);
      expect(akid).toMatch(/^GHAK[A-Z2-7]{26}$/);
      expect(tokenIdFromAccessKeyId(akid)).toBe(id);
    }
    expect(tokenIdFromAccessKeyId('AKIAIOSFODNN7EXAMPLE')).toBeUndefined();
    expect(tokenIdFromAccessKeyId('GHAK' + 'A'.repeat(25) + '1')).toBeUndefined();
    expect(tokenIdFromAccessKeyId('GHAK' + 'A'.repeat(25) + 'B')).toBeUndefined(); // non-zero padding bits
  });

  it('derives a stable secret per token and signing key, different across keys and tokens', () => {
    const k1 = awsDerivationKey(generateKeyPairSync('ed25519').privateKey);
    const k2 = awsDerivationKey(generateKeyPairSync('ed25519').privateKey);
    const id = randomUUID();
    expect(deriveAwsKeyPair(k1, id)).toEqual(deriveAwsKeyPair(k1, id));
    expect(deriveAwsKeyPair(k1, id).secretAccessKey).not.toBe(deriveAwsKeyPair(k2, id).secretAccessKey);
    expect(deriveAwsKeyPair(k1, id).secretAccessKey).not.toBe(
      deriveAwsKeyPair(k1, randomUUID()).secretAccessKey,
    );
    expect(deriveAwsKeyPair(k1, id).secretAccessKey).toHaveLength(40);
  });

  it('resolves only live tokens', async () => {
    const tokenStore = new MemoryTokenStore();
    const issuer = new ServiceTokenIssuer({
      privateKey: generateKeyPairSync('ed25519').privateKey,
      kid: 'k',
      tokenStore,
      maxTtlMs: 3_600_000,
    });
    const live = await issuer.issue({ subject: 'a', groups: [], ttlMs: 60_000 });
    const revoked = await issuer.issue({ subject: 'b', groups: [], ttlMs: 60_000 });
    await tokenStore.revokeServiceToken(revoked.record.id, new Date());
    const resolver = new AwsAccessKeyResolver({ issuer, tokenStore });
    expect(await resolver.resolve(issuer.awsKeyPair(live.record.id).accessKeyId)).toMatchObject({
      secretAccessKey: issuer.awsKeyPair(live.record.id).secretAccessKey,
    });
    expect(await resolver.resolve(issuer.awsKeyPair(revoked.record.id).accessKeyId)).toBeUndefined();
    expect(await resolver.resolve(accessKeyIdFor(randomUUID()))).toBeUndefined();
    expect(await resolver.resolve('AKIAIOSFODNN7EXAMPLE')).toBeUndefined();
  });
});
