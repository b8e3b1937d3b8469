// The gateway's Ed25519 key that seals session records (<dataDir>/keys/record-signing.pem, PKCS#8),
// kept apart from the token-signing key so either can be rotated or escrowed on its own.
// It must never print or return the private PEM; the file is created 0600 in a 0700 directory, atomically.

import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ERROR_CODES, GatewayError } from '../core/errors.js';
import { createPrivateKeyFile } from '../secrets/private-key-file.js';
import type { EventSealer } from '../store/event-chain.js';
import { keyFingerprint } from './record-format.js';

export interface RecordSigningKey extends EventSealer {
  readonly publicKey: KeyObject;
  /** base64 SubjectPublicKeyInfo DER of the public key (what exports carry). */
  readonly spki: string;
  readonly path: string;
  readonly created: boolean;
}

export function defaultRecordKeyPath(dataDir: string): string {
  return join(dataDir, 'keys', 'record-signing.pem');
}

function keyError(message: string, cause?: unknown): GatewayError {
  return new GatewayError(ERROR_CODES.CONFIG_INVALID, message, cause === undefined ? undefined : { cause });
}

function fromPem(pem: string, path: string, created: boolean): RecordSigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch (cause) {
    throw keyError(`record signing key ${path} is not a PEM private key`, cause);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw keyError(
      `record signing key ${path} must be Ed25519, found ${privateKey.asymmetricKeyType ?? 'unknown'}`,
    );
  }
  const publicKey = createPublicKey(privateKey);
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return {
    publicKey,
    spki: der.toString('base64'),
    keyId: keyFingerprint(der),
    path,
    created,
    // Ed25519 takes no digest argument (null): it hashes the message itself (RFC 8032).
    sign: (message: Buffer) => sign(null, message, privateKey),
    verify: (message: Buffer, signature: string) => verifySeal(publicKey, message, signature),
  };
}

async function readExisting(path: string): Promise<RecordSigningKey | undefined> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw keyError(
      `cannot read record signing key ${path} (${(cause as NodeJS.ErrnoException).code ?? 'error'})`,
      cause,
    );
  }
  return fromPem(pem, path, false);
}

/** Reads the key at `path`; undefined when there is none (the CLI verifies without creating one). */
export function readRecordSigningKey(path: string): Promise<RecordSigningKey | undefined> {
  return readExisting(path);
}

/**
 * Returns the key at `path`, creating a new Ed25519 key there if there is none: a temporary file
 * (0600) hard-linked into place, so a concurrent starter either wins or reads the complete key.
 */
export async function loadOrCreateRecordSigningKey(path: string): Promise<RecordSigningKey> {
  const existing = await readExisting(path);
  if (existing) return existing;
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  let outcome: 'created' | 'exists';
  try {
    outcome = await createPrivateKeyFile(path, pem);
  } catch (cause) {
    throw keyError(
      `cannot create record signing key ${path} (${(cause as NodeJS.ErrnoException).code ?? 'error'})`,
      cause,
    );
  }
  if (outcome === 'exists') {
    const raced = await readExisting(path);
    if (raced) return raced;
    throw keyError(`record signing key ${path} vanished while it was being created`);
  }
  return fromPem(pem, path, true);
}

/** A public key from PEM (SPKI) or from a private key PEM; for `verify --public-key`. */
export function publicKeyFromPem(pem: string): KeyObject {
  const key = createPublicKey({ key: pem, format: 'pem' });
  if (key.asymmetricKeyType !== 'ed25519')
    throw new Error(`expected an Ed25519 public key, found ${key.asymmetricKeyType ?? 'unknown'}`);
  return key;
}

export function publicKeyFromSpki(base64: string): KeyObject {
  return createPublicKey({ key: Buffer.from(base64, 'base64'), format: 'der', type: 'spki' });
}

export function verifySeal(publicKey: KeyObject, message: Buffer, signatureB64url: string): boolean {
  try {
    return verify(null, message, publicKey, Buffer.from(signatureB64url, 'base64url'));
  } catch {
    return false;
  }
}
