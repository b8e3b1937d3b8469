import { describe, expect, it } from 'vitest';
import { createDetectorSet } from './detector-set.js';
import { MAX_DECODED_BYTES } from './encoded-secrets.js';

const set = createDetectorSet();
const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');
const hex = (s: string): string => Buffer.from(s).toString('hex');

describe('encoded secrets', () => {
  it('finds a card number in base64 and in hex', () => {
    expect(b64('4111111111111111')).toBe('NDExMTExMTExMTExMTExMQ==');
    expect(set.mask('NDExMTExMTExMTExMTExMQ==', 'redact')?.text).toBe('[REDACTED:encoded:credit_card]');
    expect(set.mask(`blob=${b64('4111111111111111')}; end`, 'redact')?.text).toBe(
      'blob=[REDACTED:encoded:credit_card]; end',
    );
    expect(set.mask(hex('4111111111111111'), 'redact')?.text).toBe('[REDACTED:encoded:credit_card]');
  });

  it('reads PostgreSQL bytea hex output and 0x prefixes', () => {
    expect(set.mask(`\\x${hex('4111111111111111')}`, 'redact')?.text).toBe(
      '\\x[REDACTED:encoded:credit_card]',
    );
    expect(set.mask(`0x${hex('card 4111111111111111')}`, 'redact')?.text).toBe(
      '0x[REDACTED:encoded:credit_card]',
    );
  });

  it('finds tokens, emails and keys in base64url and base64 text', () => {
    const token = `ghp_${'aB3'.repeat(12)}`;
    expect(set.scan(b64(`token=${token}`))[0]?.detector).toBe('encoded:github_token');
    const url = Buffer.from('{"email":"alice@example.com"}').toString('base64url');
    expect(set.scan(url)[0]?.detector).toBe('encoded:email');
    expect(
      set.scan(b64('aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n'))[0]?.detector,
    ).toBe('encoded:aws_secret_access_key');
  });

  it('looks two levels deep (base64 of hex) and no deeper', () => {
    expect(set.scan(b64(hex('4111111111111111')))[0]?.detector).toBe('encoded:credit_card');
    expect(set.scan(b64(b64(b64('4111111111111111'))))).toEqual([]);
  });

  it('ignores runs that decode to binary or to harmless text', () => {
    const random = Buffer.from(Array.from({ length: 48 }, (_, i) => (i * 97 + 13) % 256));
    expect(set.scan(random.toString('base64'))).toEqual([]);
    expect(set.scan(random.toString('hex'))).toEqual([]);
    expect(set.scan(b64('hello world, nothing to see in this text'))).toEqual([]);
    expect(set.scan(b64('12'))).toEqual([]);
  });

  it('does not decode runs shorter than 24 (base64) or 26 (hex) characters', () => {
    // "4111111111111111" is too long to fit; a shorter secret-free prefix stays unflagged.
    expect(set.scan(b64('alice@ex.io'))).toEqual([]);
    expect(set.scan(hex('a@b.io'))).toEqual([]);
  });

  it('decodes at most 64 KiB per run', () => {
    const filler = 'x'.repeat(MAX_DECODED_BYTES);
    expect(set.scan(b64(`4111111111111111 ${filler}`))[0]?.detector).toBe('encoded:credit_card');
    expect(set.scan(b64(`${filler} 4111111111111111`))).toEqual([]);
  });

  it('can be turned off', () => {
    expect(createDetectorSet({ encoded: false }).scan(b64('4111111111111111'))).toEqual([]);
  });
});
