import { mkdtemp, readFile, rm, stat, writeFile, chmod } from 'node:fs/promises';
import { generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSigningKeyPath, loadOrCreateSigningKey } from './signing-key.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gh-key-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('service token signing key', () => {
  it('creates an Ed25519 PEM 0600 in a 0700 directory on first use, then loads the same key', async () => {
    const path = defaultSigningKeyPath(join(dir, 'data'));
    expect(path).toBe(join(dir, 'data', 'keys', 'token-signing.pem'));
    const first = await loadOrCreateSigningKey(path);
    expect(first.created).toBe(true);
    expect(first.privateKey.asymmetricKeyType).toBe('ed25519');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'data', 'keys'))).mode & 0o777).toBe(0o700);
    expect(await readFile(path, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);

    const again = await loadOrCreateSigningKey(path);
    expect(again.created).toBe(false);
    expect(again.looseMode).toBe(false);
    expect(again.kid).toBe(first.kid);
  });

  it('concurrent first starts agree on one key', async () => {
    const path = join(dir, 'race', 'k.pem');
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateSigningKey(path)));
    expect(new Set(keys.map((k) => k.kid)).size).toBe(1);
    expect(keys.filter((k) => k.created)).toHaveLength(1);
  });

  it('refuses a non-Ed25519 key or garbage, naming the file', async () => {
    const rsa = join(dir, 'rsa.pem');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(rsa, privateKey.export({ format: 'pem', type: 'pkcs8' }));
    await expect(loadOrCreateSigningKey(rsa)).rejects.toThrow(
      `service token signing key ${rsa} must be Ed25519, found rsa`,
    );
    const junk = join(dir, 'junk.pem');
    await writeFile(junk, 'not a key');
    await expect(loadOrCreateSigningKey(junk)).rejects.toThrow(
      `service token signing key ${junk} is not a PEM private key`,
    );
  });

  it('reports a group/world-readable key file', async () => {
    const path = join(dir, 'loose', 'k.pem');
    await loadOrCreateSigningKey(path);
    await chmod(path, 0o644);
    expect((await loadOrCreateSigningKey(path)).looseMode).toBe(true);
  });
});
