import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../core/errors.js';
import {
  decryptSecret,
  encryptSecret,
  generateMasterKey,
  masterKeyFromEnv,
  parseMasterKey,
} from './secret-box.js';

describe('secret box (AES-256-GCM, gh1:)', () => {
  const key = randomBytes(32);

  it('round-trips text, including non-ASCII, and uses a fresh IV each time', () => {
    const a = encryptSecret('pä$$wörd 🔑', key);
    const b = encryptSecret('pä$$wörd 🔑', key);
    expect(a).toMatch(/^gh1:[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(decryptSecret(a, key)).toBe('pä$$wörd 🔑');
    expect(decryptSecret(b, key)).toBe('pä$$wörd 🔑');
  });

  it('layout is iv(12) | ciphertext | tag(16)', () => {
    const v = encryptSecret('abcd', key);
    expect(Buffer.from(v.slice(4), 'base64url').length).toBe(12 + 4 + 16);
  });

  it('refuses a wrong key with a clear message that contains no secret', () => {
    const v = encryptSecret('hunter2', key);
    const err = (() => {
      try {
        decryptSecret(v, randomBytes(32));
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toBe('ERR_CONFIG_INVALID');
    expect((err as Error).message).toMatch(/GATEHOUSE_MASTER_KEY is not the key it was encrypted with/);
    expect((err as Error).message).not.toContain('hunter2');
  });

  it('refuses a tampered ciphertext, IV or tag', () => {
    const v = encryptSecret('hunter2', key);
    const raw = Buffer.from(v.slice(4), 'base64url');
    for (const i of [0, 12, raw.length - 1]) {
      const t = Buffer.from(raw);
      t[i] = (t[i] ?? 0) ^ 0x01;
      expect(() => decryptSecret('gh1:' + t.toString('base64url'), key)).toThrow(/could not be decrypted/);
    }
    expect(() => decryptSecret('gh1:' + raw.subarray(0, raw.length - 1).toString('base64url'), key)).toThrow(
      /could not be decrypted/,
    );
  });

  it('refuses malformed values', () => {
    expect(() => decryptSecret('gh2:abc', key)).toThrow(/must start with gh1:/);
    expect(() => decryptSecret('gh1:ab+c', key)).toThrow(/base64url/);
    expect(() => decryptSecret('gh1:AAAA', key)).toThrow(/too short/);
  });

  it('master keys: 64 hex or base64 of 32 bytes, nothing else', () => {
    const k = generateMasterKey();
    expect(parseMasterKey(k)).toHaveLength(32);
    expect(parseMasterKey(k + '\n')).toEqual(parseMasterKey(k));
    const raw = randomBytes(32);
    expect(parseMasterKey(raw.toString('hex'))).toEqual(raw);
    expect(parseMasterKey(raw.toString('base64url'))).toEqual(raw);
    expect(parseMasterKey(raw.toString('base64'))).toEqual(raw);
    expect(() => parseMasterKey('correct horse battery staple')).toThrow(/32 bytes/);
    expect(() => parseMasterKey(randomBytes(16).toString('hex'))).toThrow(/32 bytes/);
    expect(() => parseMasterKey(randomBytes(31).toString('base64'))).toThrow(/32 bytes/);
  });

  it('masterKeyFromEnv names the variable when it is missing', () => {
    expect(() => masterKeyFromEnv({})).toThrow(/GATEHOUSE_MASTER_KEY is not set/);
    expect(masterKeyFromEnv({ GATEHOUSE_MASTER_KEY: key.toString('hex') })).toEqual(key);
  });
});
