import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../core/errors.js';
import { MAX_TOKEN_LENGTH, peekJwt } from './jwt-peek.js';

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

function refusal(token: string): string {
  try {
    peekJwt(token);
  } catch (e) {
    expect(e).toBeInstanceOf(GatewayError);
    expect((e as GatewayError).code).toBe('ERR_AUTH_FAILED');
    return (e as Error).message;
  }
  throw new Error('expected a refusal');
}

describe('peekJwt', () => {
  it('reads header and claims of a compact JWT without verifying', () => {
    const t = `${b64({ alg: 'RS256', kid: 'k' })}.${b64({ iss: 'https://idp', sub: 'a' })}.c2ln`;
    expect(peekJwt(t)).toEqual({
      header: { alg: 'RS256', kid: 'k' },
      claims: { iss: 'https://idp', sub: 'a' },
    });
  });

  it('refuses garbage as "token is not a JWT"', () => {
    for (const t of [
      'hunter2',
      'a.b',
      'a.b.c.d.e', // JWE compact form
      ' eyJ.eyJ.x',
      `${b64({ alg: 'RS256' })}.${b64({ sub: 'a' })}.sig extra`,
      `${b64('not json')}.${b64({ sub: 'a' })}.sig`,
      `${b64({ alg: 'RS256' })}.${b64([1, 2])}.sig`,
      `${b64({ alg: 'RS256' })}.${b64('null')}.sig`,
      `${b64({ typ: 'JWT' })}.${b64({ sub: 'a' })}.sig`, // no alg
      `${b64({ alg: 'RS256' })}.${Buffer.from([0xff, 0xfe]).toString('base64url')}.sig`,
    ]) {
      expect(refusal(t)).toBe('token is not a JWT');
    }
  });

  it('refuses an empty and an oversized token', () => {
    expect(refusal('')).toBe('no token presented');
    const big = `${b64({ alg: 'RS256' })}.${b64({ pad: 'x'.repeat(MAX_TOKEN_LENGTH) })}.sig`;
    expect(refusal(big)).toBe('token too long');
  });

  it('never throws anything but a GatewayError on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        try {
          peekJwt(s);
        } catch (e) {
          return e instanceof GatewayError && e.code === 'ERR_AUTH_FAILED';
        }
        return true;
      }),
    );
  });
});
