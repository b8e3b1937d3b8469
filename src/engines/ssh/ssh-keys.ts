// SSH key helpers for the engine: OpenSSH public key lines (pinned host keys, registered client keys),
// SHA256 fingerprints as OpenSSH prints them, and the listener's own host key, generated once into the
// data dir. Nothing here prints or logs a private key.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import ssh2 from 'ssh2';
import { ERROR_CODES, GatewayError } from '../../core/errors.js';

const { utils } = ssh2;

export interface PublicKeyLine {
  /** `ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`… */
  readonly type: string;
  /** The wire-format key blob (RFC 4253 §6.6). */
  readonly blob: Buffer;
  readonly comment: string;
}

/** Parses `type base64 [comment]`; undefined when it is not one (or the blob names another type). */
export function parsePublicKeyLine(line: string): PublicKeyLine | undefined {
  const m = /^\s*(\S+)\s+([A-Za-z0-9+/]+={0,3})(?:\s+(.*))?$/.exec(line);
  if (!m) return undefined;
  const blob = Buffer.from(m[2]!, 'base64');
  // The blob starts with its own type name (a uint32 length, then the name): they must agree.
  if (blob.length < 4) return undefined;
  const n = blob.readUInt32BE(0);
  if (n > 64 || blob.length < 4 + n || blob.toString('latin1', 4, 4 + n) !== m[1]) return undefined;
  return { type: m[1], blob, comment: (m[3] ?? '').trim() };
}

/** `SHA256:…` as `ssh-keygen -lf` and `ssh` print it (unpadded base64 of the blob's SHA-256). */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The public key line of a key blob. */
export function publicKeyLine(blob: Buffer, comment = ''): string {
  const n = blob.readUInt32BE(0);
  const type = blob.toString('latin1', 4, 4 + n);
  return `${type} ${blob.toString('base64')}${comment ? ` ${comment}` : ''}`;
}

/** The key ssh2 reads from `key`, or undefined when it cannot (a wrong passphrase, a malformed key). */
function readKey(
  key: string,
  passphrase?: string,
): { getPublicSSH(): Buffer; isPrivateKey(): boolean } | undefined {
  let parsed: ReturnType<typeof utils.parseKey>;
  try {
    parsed = utils.parseKey(key, passphrase);
  } catch {
    return undefined;
  }
  const first = Array.isArray(parsed) ? (parsed[0] as unknown) : parsed;
  if (first instanceof Error || first === undefined) return undefined;
  return first as { getPublicSSH(): Buffer; isPrivateKey(): boolean };
}

/**
 * Checks that a private key parses (with its passphrase) and returns its public blob. The error says
 * which connection and why, never anything of the key.
 */
export function checkPrivateKey(name: string, key: string, passphrase: string | undefined): Buffer {
  const k = readKey(key, passphrase);
  if (k === undefined)
    throw new GatewayError(
      ERROR_CODES.CONFIG_INVALID,
      `connection ${name}: upstream.privateKey is not a private key ssh can use${passphrase === undefined ? ' (if it is encrypted, set upstream.passphrase)' : ' (or the passphrase is wrong)'}`,
    );
  if (!k.isPrivateKey())
    throw new GatewayError(
      ERROR_CODES.CONFIG_INVALID,
      `connection ${name}: upstream.privateKey holds a public key; it must be the private key`,
    );
  return k.getPublicSSH();
}

/**
 * Generates an Ed25519 key pair in OpenSSH format (the private key in PEM-like OpenSSH armour).
 * ssh2's generator writes about one key in 200 with a 31-byte public key (a leading zero byte
 * dropped), which neither ssh2 nor OpenSSH can read back: each key is parsed before it is returned,
 * and a malformed one is made again.
 */
export function generateEd25519(comment: string): { privateKey: string; publicKey: string } {
  for (let attempt = 0; attempt < 32; attempt++) {
    const pair = utils.generateKeyPairSync('ed25519', { comment });
    if (readKey(pair.private) !== undefined) return { privateKey: pair.private, publicKey: pair.public };
  }
  throw new Error('could not generate a well-formed Ed25519 key');
}

/** Reads the listener host key, or generates it on first start (0600 in a 0700 directory). */
export async function loadOrCreateHostKey(
  file: string,
  create: (path: string, pem: string) => Promise<'created' | 'exists'>,
): Promise<{ privateKey: string; blob: Buffer }> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    await create(file, generateEd25519('gatehouse-ssh-listener').privateKey);
    pem = await readFile(file, 'utf8');
  }
  const blob = checkPrivateKey('(the SSH listener host key)', pem, undefined);
  return { privateKey: pem, blob };
}
