// Encryption at rest for upstream credentials in gatehouse.yaml (`encrypted: gh1:…`), AES-256-GCM.
// Never logs or returns the plaintext or the key in an error; it only knows bytes, not where they go.
//
// Format: `gh1:` + base64url(iv[12] | ciphertext | tag[16]). The literal "gh1" is bound in as GCM
// additional data, so a value cannot be replayed under a future format with the same key.
//
// Master key rule (one rule, no passphrases): GATEHOUSE_MASTER_KEY holds exactly 32 random bytes,
// written either as 64 hex characters or as base64/base64url (43 or 44 characters). Anything else
// is refused. Passphrase derivation is deliberately not offered: it invites short, guessable keys.
// `gatehouse secret generate-key` prints a valid key.

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ERROR_CODES, GatewayError } from '../core/errors.js';

export const MASTER_KEY_ENV = 'GATEHOUSE_MASTER_KEY';
export const SECRET_BOX_PREFIX = 'gh1:';

const VERSION_AAD = Buffer.from('gh1', 'ascii');
const KEY_BYTES = 32;
const IV_BYTES = 12; // NIST SP 800-38D §8.2: 96-bit random IVs
const TAG_BYTES = 16;

function configError(message: string, cause?: unknown): GatewayError {
  return new GatewayError(ERROR_CODES.CONFIG_INVALID, message, cause === undefined ? undefined : { cause });
}

/** A fresh master key, base64 encoded (32 random bytes). */
export function generateMasterKey(): string {
  return randomBytes(KEY_BYTES).toString('base64');
}

/**
 * Parses a master key: 64 hex characters, or base64/base64url of exactly 32 bytes. Surrounding
 * whitespace is ignored (keys pasted into env files often carry a newline).
 */
export function parseMasterKey(text: string): Buffer {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(t)) {
    const b = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (b.length === KEY_BYTES) return b;
  }
  throw configError(
    `${MASTER_KEY_ENV} must be 32 bytes written as 64 hex characters or as base64 (run \`gatehouse secret generate-key\`)`,
  );
}

/** Reads and parses GATEHOUSE_MASTER_KEY; the error names the variable, never its value. */
export function masterKeyFromEnv(env: NodeJS.ProcessEnv = process.env): Buffer {
  const v = env[MASTER_KEY_ENV];
  if (v === undefined || v.trim() === '') {
    throw configError(
      `environment variable ${MASTER_KEY_ENV} is not set; it is needed to decrypt gh1: secrets`,
    );
  }
  return parseMasterKey(v);
}

function checkKey(masterKey: Uint8Array): void {
  if (masterKey.length !== KEY_BYTES) throw configError(`master key must be ${KEY_BYTES} bytes`);
}

export function encryptSecret(plaintext: string, masterKey: Uint8Array): string {
  checkKey(masterKey);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', masterKey, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(VERSION_AAD);
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return SECRET_BOX_PREFIX + Buffer.concat([iv, ct, cipher.getAuthTag()]).toString('base64url');
}

export function decryptSecret(value: string, masterKey: Uint8Array): string {
  checkKey(masterKey);
  if (!value.startsWith(SECRET_BOX_PREFIX)) throw configError('encrypted secret must start with gh1:');
  const body = value.slice(SECRET_BOX_PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(body)) throw configError('encrypted secret is not valid base64url after gh1:');
  const raw = Buffer.from(body, 'base64url');
  if (raw.length < IV_BYTES + TAG_BYTES)
    throw configError('encrypted secret is too short to be a gh1: value');
  const iv = raw.subarray(0, IV_BYTES);
  const tag = raw.subarray(raw.length - TAG_BYTES);
  const ct = raw.subarray(IV_BYTES, raw.length - TAG_BYTES);
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', masterKey, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(VERSION_AAD);
    decipher.setAuthTag(tag);
    plain = Buffer.concat([decipher.update(ct), decipher.final()]);
  } catch (cause) {
    // GCM cannot tell a wrong key from a damaged value: both fail the tag check.
    throw configError(
      `encrypted secret could not be decrypted: ${MASTER_KEY_ENV} is not the key it was encrypted with, or the value was altered`,
      cause,
    );
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(plain);
  } catch (cause) {
    throw configError('encrypted secret does not decrypt to UTF-8 text', cause);
  } finally {
    plain.fill(0);
  }
}
