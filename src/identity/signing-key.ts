// Loads, or creates on first use, the gateway's Ed25519 key for signing service tokens (PEM, PKCS#8).
// It must never print or return the PEM; the file is created 0600 in a 0700 directory, atomically.

import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { chmod, link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import { ERROR_CODES, GatewayError } from '../core/errors.js';

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

  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { privateKey } = generateKeyPairSync('ed25519');
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const tmp = join(dir, `.token-signing.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(pem, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await chmod(tmp, 0o600); // the umask cannot widen it, but be explicit
    await link(tmp, path);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw keyError(
        `cannot create service token signing key ${path} (${(cause as NodeJS.ErrnoException).code ?? 'error'})`,
        cause,
      );
    }
    const raced = await readExisting(path);
    if (raced) return raced;
    throw keyError(`service token signing key ${path} vanished while it was being created`);
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  return fromPem(pem, path, true, 0o600);
}
