import { describe, expect, it } from 'vitest';
import { checkPrivateKey, generateEd25519 } from './ssh-keys.js';

describe('generateEd25519', () => {
  it('every key it makes reads back (ssh2 alone drops a leading zero byte about once in 200)', () => {
    for (let i = 0; i < 1000; i++) {
      const { privateKey, publicKey } = generateEd25519('t');
      // string "ssh-ed25519" (4 + 11) and string key (4 + 32)
      expect(checkPrivateKey('t', privateKey, undefined)).toHaveLength(51);
      expect(Buffer.from(publicKey.split(' ')[1]!, 'base64')).toHaveLength(51);
    }
  });
});
