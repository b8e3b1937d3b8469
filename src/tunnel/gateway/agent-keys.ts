// The gateway's key material for agents: the agent listener's TLS certificate (configured, or
// generated once into <dataDir>/keys/agent-listener.pem — its pin goes into every join token) and
// the Ed25519 key that signs target lists. Replicas must share both (docs/agent.md, HA).
// Never logs or prints a private key.

import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { generate } from 'selfsigned';
import type { AgentsConfig } from '../../config/schema.js';
import { createPrivateKeyFile } from '../../secrets/private-key-file.js';
import { publicKeyPin } from '../join-token.js';

export interface ListenerCredentials {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** What join tokens carry: SHA-256 of the certificate's public key. */
  readonly pin: string;
}

export interface SigningKey {
  readonly privateKey: KeyObject;
  /** SPKI DER base64url (sent to agents in the welcome). */
  readonly publicKey: string;
}

const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----[\s\S]+?-----END \1-----\n?/g;

export async function listenerCredentials(
  config: AgentsConfig,
  dataDir: string,
  baseDir: string,
): Promise<ListenerCredentials> {
  if (config.tls) {
    const cert = readFileSync(path.resolve(baseDir, config.tls.cert));
    const key = readFileSync(path.resolve(baseDir, config.tls.key));
    return { cert, key, pin: publicKeyPin(cert) };
  }
  const file = path.resolve(baseDir, dataDir, 'keys', 'agent-listener.pem');
  if (!existsSync(file)) {
    const pems = await generate([{ name: 'commonName', value: 'gatehouse-agent-listener' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      notAfterDate: new Date(Date.now() + 10 * 365 * 86_400_000),
    });
    // One file, written atomically: a concurrent starter (the CLI, another process) keeps the first.
    await createPrivateKeyFile(file, `${pems.private.trim()}\n${pems.cert.trim()}\n`);
  }
  const text = readFileSync(file, 'utf8');
  const blocks = text.match(PEM_BLOCK) ?? [];
  const certPem = blocks.find((b) => b.includes('CERTIFICATE'));
  const keyPem = blocks.find((b) => b.includes('PRIVATE KEY'));
  if (!certPem || !keyPem) throw new Error(`${file} must hold a private key and a certificate`);
  return { cert: Buffer.from(certPem), key: Buffer.from(keyPem), pin: publicKeyPin(certPem) };
}

export async function targetSigningKey(
  config: AgentsConfig,
  dataDir: string,
  baseDir: string,
): Promise<SigningKey> {
  const file = path.resolve(
    baseDir,
    config.signingKeyFile ?? path.join(dataDir, 'keys', 'agent-signing.pem'),
  );
  if (!existsSync(file)) {
    const { privateKey } = generateKeyPairSync('ed25519');
    await createPrivateKeyFile(file, privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  }
  const privateKey = createPrivateKey(readFileSync(file, 'utf8'));
  if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${file} is not an Ed25519 private key`);
  return {
    privateKey,
    publicKey: createPublicKey(privateKey).export({ type: 'spki', format: 'der' }).toString('base64url'),
  };
}
