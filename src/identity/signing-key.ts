// Loads, or creates on first use, the gateway's Ed25519 key for signing service tokens (PEM, PKCS#8).
// It must never print or return the PEM; the file is created 0600 in a 0700 directory, atomically.

import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import { ERROR_CODES, GatewayError } from '../core/errors.js';
import { createPrivateKeyFile } from '../secrets/private-key-file.js';

export interface SigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** RFC 7638 JWK thumbprint of the public key; sent as the `kid` header of every service token. */
  readonly kid: string;
  readonly path: string;
  /** True when this call created the file. */
  readonly created: boolean;
  /** True when the file can be read by group or others (worth a warning; not refused, see below). */
  readonly looseMode: boolean;
}

export function defaultSigningKeyPath(dataDir: string): string {
  return join(dataDir, 'keys', 'token-signing.pem');
}

function keyError(message: string, cause?: unknown): GatewayError {
  return new GatewayError(ERROR_CODES.CONFIG_INVALID, message, cause === undefined ? undefined : { cause });
}

async function fromPem(pem: string, path: string, created: boolean, mode: number): Promise<SigningKey> {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch (cause) {
    throw keyError(`service token signing key ${path} is not a PEM private key`, cause);
  }
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw keyError(
      `service token signing key ${path} must be Ed25519, found ${privateKey.asymmetricKeyType ?? 'unknown'}`,
    );
  }
  const publicKey = createPublicKey(privateKey);
  const kid = await calculateJwkThumbprint(await exportJWK(publicKey));
  // Not refused when group/world readable: Kubernetes mounts secrets 0644 by default. main.ts warns.
  return { privateKey, publicKey, kid, path, created, looseMode: (mode & 0o077) !== 0 };
}

async function readExisting(path: string): Promise<SigningKey | undefined> {
  let pem: string;
  let mode: number;
  try {
    pem = await readFile(path, 'utf8');
    mode = (await stat(path)).mode;
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw keyError(
      `cannot read service token signing key ${path} (${(cause as NodeJS.ErrnoException).code ?? 'error'})`,
      cause,
    );
  }
  return fromPem(pem, path, false, mode);
}

/**
 * Returns the key at `path`, creating a new Ed25519 key there if there is none. Creation writes a
 * temporary file (0600) and hard-links it into place, so a concurrent starter either wins or reads
 * the complete key the other one wrote — never a half-written file.
 */
export async function loadOrCreateSigningKey(path: string): Promise<SigningKey> {
  const existing = await readExisting(path);
  if (existing) return existing;

  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  let outcome: 'created' | 'exists';
  try {
    outcome = await createPrivateKeyFile(path, pem);
  } catch (cause) {
    throw keyError(
      `cannot create service token signing key ${path} (${(cause as NodeJS.ErrnoException).code ?? 'error'})`,
      cause,
    );
  }
  if (outcome === 'exists') {
    const raced = await readExisting(path);
    if (raced) return raced;
    throw keyError(`service token signing key ${path} vanished while it was being created`);
  }
  return fromPem(pem, path, true, 0o600);
}
