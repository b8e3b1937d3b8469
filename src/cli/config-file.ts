// Where the CLI finds gatehouse.yaml: --config, then GATEHOUSE_CONFIG, then ./gatehouse.yaml. A config
// that is not there is reported with the three places looked at, so the fix is obvious.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { LoadedConfig } from '../config/load-config.js';
import { ERROR_CODES, GatewayError } from '../core/errors.js';

export function configPath(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  return explicit ?? env.GATEHOUSE_CONFIG ?? 'gatehouse.yaml';
}

/** Why the CLI used this file, for the message when it is missing. */
function chosenBy(explicit: string | undefined, env: NodeJS.ProcessEnv): string {
  if (explicit !== undefined) return 'given with --config';
  if (env.GATEHOUSE_CONFIG !== undefined) return 'from $GATEHOUSE_CONFIG';
  return 'the default: neither --config nor $GATEHOUSE_CONFIG is set';
}

export function missingConfigError(file: string, explicit?: string, env = process.env): GatewayError {
  return new GatewayError(
    ERROR_CODES.CONFIG_INVALID,
    `${path.resolve(file)}: no such config file (${chosenBy(explicit, env)}).\n` +
      '  Pass --config FILE or set GATEHOUSE_CONFIG=FILE. `gatehouse demo` writes a gatehouse.yaml to start\n' +
      '  from, and docs/config.md documents every field.',
  );
}

export async function loadCliConfig(
  explicit?: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LoadedConfig> {
  const file = configPath(explicit, env);
  if (!existsSync(file)) throw missingConfigError(file, explicit, env);
  // Loaded on use: the schema (zod) and YAML parser are not needed by commands without a config.
  const { loadConfig } = await import('../config/load-config.js');
  return loadConfig(file, env);
}
