// Loads what the maskers need from outside the config text: the HMAC key for the `hash` style (a
// secret ref, or a key generated once in <dataDir>/keys, 0600) and dictionary files. Called by main.ts
// only; the one module of src/masking that touches the file system. Never logs or returns the key.

import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ERROR_CODES, GatewayError } from '../core/errors.js';
import { parseDictionaryText } from './dictionary-detector.js';
import type { DetectorSetInputs } from './masking-config.js';
import type { HashKeyRef, MaskingConfig } from './masking-schema.js';

export interface MaskingInputOptions {
  readonly dataDir: string;
  /** Directory relative dictionary paths are resolved against (the config file's). */
  readonly baseDir: string;
  /** Resolves a secret reference to its value (src/secrets). */
  readonly resolveSecret: (ref: HashKeyRef) => Promise<string>;
}

export function defaultHashKeyPath(dataDir: string): string {
  return path.join(dataDir, 'keys', 'masking-hash.key');
}

/** Reads the generated key, or creates it (32 random bytes, hex, mode 0600) if there is none yet. */
async function loadOrCreateKeyFile(file: string): Promise<Uint8Array> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    const h = await open(file, 'wx', 0o600);
    try {
      await h.writeFile(`${randomBytes(32).toString('hex')}\n`);
    } finally {
      await h.close();
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const text = (await readFile(file, 'utf8')).trim();
  if (!/^[0-9a-f]{64}$/.test(text)) {
    throw new GatewayError(
      ERROR_CODES.CONFIG_INVALID,
      `masking hash key file ${file} is not 64 hex characters`,
    );
  }
  return Buffer.from(text, 'hex');
}

export async function loadMaskingInputs(
  config: MaskingConfig,
  options: MaskingInputOptions,
): Promise<DetectorSetInputs> {
  let hashKey: Uint8Array;
  if (config.hashKey) {
    hashKey = Buffer.from(await options.resolveSecret(config.hashKey), 'utf8');
    if (hashKey.length < 16)
      throw new GatewayError(ERROR_CODES.CONFIG_INVALID, 'masking.hashKey must be at least 16 bytes');
  } else {
    hashKey = await loadOrCreateKeyFile(defaultHashKeyPath(options.dataDir));
  }
  const files = new Map<string, readonly string[]>();
  const sections = [config.detectors, ...Object.values(config.profiles).map((p) => p.detectors)];
  for (const d of sections) {
    for (const dict of d?.dictionaries ?? []) {
      if (dict.file === undefined || files.has(dict.file)) continue;
      const file = path.resolve(options.baseDir, dict.file);
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (cause) {
        throw new GatewayError(ERROR_CODES.CONFIG_INVALID, `cannot read masking dictionary ${file}`, {
          cause,
        });
      }
      files.set(dict.file, parseDictionaryText(text));
    }
  }
  return {
    hashKey,
    readDictionary: (file) => {
      const words = files.get(file);
      if (!words)
        throw new GatewayError(ERROR_CODES.CONFIG_INVALID, `masking dictionary ${file} was not loaded`);
      return words;
    },
  };
}
