// Resolves a config secret reference ({env} | {file} | {encrypted}) into a Secret.
// Errors name the environment variable or file, never the value; nothing here is cached or logged.

import { readFile } from 'node:fs/promises';
import type { SecretRef } from '../config/schema.js';
import { ERROR_CODES, GatewayError } from '../core/errors.js';
import { decryptSecret, masterKeyFromEnv } from './secret-box.js';
import { Secret } from './secret.js';

export { Secret };

function configError(message: string, cause?: unknown): GatewayError {
  return new GatewayError(ERROR_CODES.CONFIG_INVALID, message, cause === undefined ? undefined : { cause });
}

/** Drops one trailing newline (LF or CRLF), as `echo secret > file` adds one (config.md: "trailing newline ignored"). */
export function stripTrailingNewline(s: string): string {
  if (s.endsWith('\r\n')) return s.slice(0, -2);
  if (s.endsWith('\n')) return s.slice(0, -1);
  return s;
}

export async function resolveSecret(ref: SecretRef, env: NodeJS.ProcessEnv = process.env): Promise<Secret> {
  if ('env' in ref) {
    const v = env[ref.env];
    if (v === undefined) throw configError(`secret environment variable ${ref.env} is not set`);
    if (v === '') throw configError(`secret environment variable ${ref.env} is empty`);
    return new Secret(v);
  }
  if ('file' in ref) {
    let text: string;
    try {
      text = await readFile(ref.file, 'utf8');
    } catch (cause) {
      const code = (cause as NodeJS.ErrnoException).code ?? 'error';
      throw configError(`cannot read secret file ${ref.file} (${code})`, cause);
    }
    const v = stripTrailingNewline(text);
    if (v === '') throw configError(`secret file ${ref.file} is empty`);
    return new Secret(v);
  }
  if ('encrypted' in ref) {
    const key = masterKeyFromEnv(env);
    try {
      const v = decryptSecret(ref.encrypted, key);
      if (v === '') throw configError('encrypted secret decrypts to an empty value');
      return new Secret(v);
    } finally {
      key.fill(0);
    }
  }
  // The schema admits exactly one of the three; anything else is a bug or a hand-built object.
  throw configError('secret reference must have exactly one of env, file or encrypted');
}
