import { describe, expect, it } from 'vitest';
import { DEFAULT_RESPONSE_FIELDS, fieldMatcher } from './field-names.js';

describe('the AWS response fields masked whole', () => {
  const fields = fieldMatcher(DEFAULT_RESPONSE_FIELDS);

  it('include key material under names of its own (class 371)', () => {
    for (const name of ['Base32StringSeed', 'QRCodePNG', 'SecretCode', 'PrivateKeyPlaintext'])
      expect(fields(name), name).toBeDefined();
  });

  it('leave what is not secret', () => {
    for (const name of ['SerialNumber', 'PublicKey', 'PrivateKeyCiphertextBlob', 'KeyId'])
      expect(fields(name), name).toBeUndefined();
  });
});
