// One-time join tokens (`gatehouse agent register NAME`): `ghj1.<id>.<secret>.<pin>`. The store keeps
// only the SHA-256 of the secret; the pin is the SHA-256 of the public key of the gateway's agent
// listener certificate, so a new agent can verify the gateway before it has anything else to trust.

import { X509Certificate, createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const PREFIX = 'ghj1';

export interface JoinToken {
  readonly id: string;
  readonly secret: string;
  /** SHA-256 of the gateway agent listener's SubjectPublicKeyInfo, base64url. */
  readonly pin: string;
}

export function newJoinToken(pin: string): JoinToken {
  return {
    id: randomBytes(12).toString('base64url'),
    secret: randomBytes(32).toString('base64url'),
    pin,
  };
}

export function formatJoinToken(t: JoinToken): string {
  return `${PREFIX}.${t.id}.${t.secret}.${t.pin}`;
}

/** Parses a join token; undefined when it is not one (never says which part is wrong). */
export function parseJoinToken(text: string): JoinToken | undefined {
  const parts = text.trim().split('.');
  if (parts.length !== 4 || parts[0] !== PREFIX) return undefined;
  const [, id, secret, pin] = parts as [string, string, string, string];
  const b64 = /^[A-Za-z0-9_-]+$/;
  if (!b64.test(id) || !b64.test(secret) || !b64.test(pin)) return undefined;
  if (id.length !== 16 || secret.length !== 43 || pin.length !== 43) return undefined;
  return { id, secret, pin };
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The pin of a certificate: SHA-256 of its SubjectPublicKeyInfo (survives re-issue with the same key). */
export function publicKeyPin(cert: X509Certificate | string | Buffer): string {
  const x = cert instanceof X509Certificate ? cert : new X509Certificate(cert);
  const spki = x.publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64url');
}
