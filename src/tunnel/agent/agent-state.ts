// What an agent keeps between runs, in its state directory (0700): its Ed25519 private key (0600,
// created by the agent itself, never sent anywhere) and agent.json — its id and name, the pin of
// the gateway's certificate and the key that signs its target lists. The join token is not kept.

import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { createPrivateKeyFile } from '../../secrets/private-key-file.js';

const KEY_FILE = 'agent-key.pem';
const STATE_FILE = 'agent.json';

const stateSchema = z.strictObject({
  v: z.literal(1),
  agentId: z.string().min(1),
  name: z.string().min(1),
  /** SHA-256 of the gateway agent listener's public key (base64url), from the join token. */
  pin: z.string().min(1),
  /** Ed25519 SPKI DER base64url of the gateway's target-list signing key. */
  signingKey: z.string().min(1),
  joinedAt: z.string(),
});
export type AgentState = z.infer<typeof stateSchema>;

export interface AgentIdentity {
  readonly privateKey: KeyObject;
  /** SPKI DER, base64url. */
  readonly publicKey: string;
}

export class AgentStateStore {
  constructor(readonly dir: string) {}

  async load(): Promise<{ state: AgentState; identity: AgentIdentity } | undefined> {
    const statePath = path.join(this.dir, STATE_FILE);
    if (!existsSync(statePath)) return undefined;
    const state = stateSchema.parse(JSON.parse(await readFile(statePath, 'utf8')));
    const identity = await this.loadKey();
    if (!identity) throw new Error(`${statePath} exists but ${KEY_FILE} does not: the agent must join again`);
    return { state, identity };
  }

  private async loadKey(): Promise<AgentIdentity | undefined> {
    const keyPath = path.join(this.dir, KEY_FILE);
    if (!existsSync(keyPath)) return undefined;
    const privateKey = createPrivateKey(await readFile(keyPath, 'utf8'));
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error(`${keyPath} is not an Ed25519 key`);
    return { privateKey, publicKey: spkiOf(privateKey) };
  }

  /**
   * The key to join with: created here on first use and written before the join, so a crash after
   * the gateway accepted it cannot leave an agent registered with a key nobody has.
   */
  async keyForJoin(): Promise<AgentIdentity> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const existing = await this.loadKey();
    if (existing) return existing;
    const { privateKey } = generateKeyPairSync('ed25519');
    await createPrivateKeyFile(
      path.join(this.dir, KEY_FILE),
      privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    );
    return (await this.loadKey())!;
  }

  async save(state: AgentState): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = path.join(this.dir, STATE_FILE);
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, `${JSON.stringify(stateSchema.parse(state), null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, file);
  }
}

export function spkiOf(privateKey: KeyObject): string {
  return createPublicKey(privateKey).export({ type: 'spki', format: 'der' }).toString('base64url');
}
