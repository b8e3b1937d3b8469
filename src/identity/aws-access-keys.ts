// Gatehouse AWS access key pairs: an access key id and secret bound to a service token, so an AWS SDK
// or CLI can sign requests to the gateway with SigV4. Nothing is stored: the id encodes the token id and
// the secret is derived from the token signing key (HKDF-SHA256, then HMAC per token), so every replica
// that can verify the token can verify the signature, and revoking the token revokes the key.
//
//   access key id = "GHAK" + base32(token id as 16 bytes)               (30 characters)
//   secret        = base64(HMAC-SHA256(HKDF(signing key), "aws-secret-access-key:" + token id)[0..30])

import { createHmac, hkdfSync, type KeyObject } from 'node:crypto';
import type { TokenStore } from '../core/ports.js';
import type { ServiceTokenRecord } from '../core/records.js';

export const AWS_ACCESS_KEY_PREFIX = 'GHAK';

export interface AwsKeyPair {
  readonly accessKeyId: string;
  /** Shown once, at issue; never logged or stored. */
  readonly secretAccessKey: string;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function base32(bytes: Buffer): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

function unbase32(text: string): Buffer | undefined {
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (const c of text) {
    const v = BASE32.indexOf(c);
    if (v < 0) return undefined;
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 0xff);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** The access key id for a token id (a UUID). */
export function accessKeyIdFor(tokenId: string): string {
  if (!UUID.test(tokenId)) throw new TypeError('a token id is a UUID');
  return AWS_ACCESS_KEY_PREFIX + base32(Buffer.from(tokenId.replace(/-/g, ''), 'hex'));
}

/** The token id an access key id encodes, or undefined when it is not a Gatehouse key id. */
export function tokenIdFromAccessKeyId(accessKeyId: string): string | undefined {
  if (
    !accessKeyId.startsWith(AWS_ACCESS_KEY_PREFIX) ||
    accessKeyId.length !== AWS_ACCESS_KEY_PREFIX.length + 26
  )
    return undefined;
  const bytes = unbase32(accessKeyId.slice(AWS_ACCESS_KEY_PREFIX.length));
  if (!bytes || bytes.length !== 16) return undefined;
  const hex = bytes.toString('hex');
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return accessKeyIdFor(id) === accessKeyId ? id : undefined;
}

/** The secret-derivation key: HKDF-SHA256 over the Ed25519 signing key, for this purpose only. */
export function awsDerivationKey(signingKey: KeyObject): Buffer {
  const ikm = signingKey.export({ format: 'der', type: 'pkcs8' });
  return Buffer.from(hkdfSync('sha256', ikm, 'gatehouse', 'aws-access-key-secret/v1', 32));
}

export function deriveAwsKeyPair(derivationKey: Buffer, tokenId: string): AwsKeyPair {
  const mac = createHmac('sha256', derivationKey).update(`aws-secret-access-key:${tokenId}`).digest();
  return { accessKeyId: accessKeyIdFor(tokenId), secretAccessKey: mac.subarray(0, 30).toString('base64') };
}

/** What the resolver needs from the token issuer. */
export interface AwsKeyIssuer {
  signFor(record: ServiceTokenRecord): Promise<string>;
  awsKeyPair(tokenId: string): AwsKeyPair;
}

export interface AwsAccessKeyResolverOptions {
  readonly issuer: AwsKeyIssuer;
  readonly tokenStore: TokenStore;
  readonly now?: () => Date;
  /** How long a resolved key is reused (default 30 s); revocation is also checked by the gate's authenticator. */
  readonly cacheMs?: number;
}

/** Resolves a Gatehouse access key id to its secret and token (the engine's AwsKeyResolver port). */
export class AwsAccessKeyResolver {
  readonly #o: AwsAccessKeyResolverOptions;
  readonly #cache = new Map<string, { value: { secretAccessKey: string; token: string }; until: number }>();
  #records = new Map<string, ServiceTokenRecord>();
  #loadedAt = 0;
  #loading: Promise<void> | undefined;

  constructor(options: AwsAccessKeyResolverOptions) {
    this.#o = options;
  }

  async resolve(accessKeyId: string): Promise<{ secretAccessKey: string; token: string } | undefined> {
    const tokenId = tokenIdFromAccessKeyId(accessKeyId);
    if (tokenId === undefined) return undefined;
    const now = (this.#o.now?.() ?? new Date()).getTime();
    const hit = this.#cache.get(accessKeyId);
    if (hit && hit.until > now) return hit.value;
    let record = this.#records.get(tokenId);
    // The record list is reloaded at most once a second, so unknown ids cannot hammer the store.
    if (!record && now - this.#loadedAt > 1000) {
      await this.#reload(now);
      record = this.#records.get(tokenId);
    }
    if (!record || record.revokedAt !== undefined || record.expiresAt.getTime() <= now) {
      this.#cache.delete(accessKeyId);
      return undefined;
    }
    const value = {
      secretAccessKey: this.#o.issuer.awsKeyPair(tokenId).secretAccessKey,
      token: await this.#o.issuer.signFor(record),
    };
    if (this.#cache.size > 10_000) this.#cache.clear();
    this.#cache.set(accessKeyId, {
      value,
      until: Math.min(now + (this.#o.cacheMs ?? 30_000), record.expiresAt.getTime()),
    });
    return value;
  }

  async #reload(now: number): Promise<void> {
    this.#loading ??= (async () => {
      try {
        const records = await this.#o.tokenStore.listServiceTokens();
        this.#records = new Map(records.map((r) => [r.id, r]));
        this.#loadedAt = now;
      } finally {
        this.#loading = undefined;
      }
    })();
    await this.#loading;
  }
}
