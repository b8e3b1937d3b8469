// What the SSH engine needs to serve one `ssh` connection, built from gatehouse.yaml at load and
// swapped whole on reload: the upstream address, the user, the private key Gatehouse holds (revealed only
// where the upstream login needs it), the pinned host keys, the env allow-list, masking and limits.

import type { SecretRef, SshConnectionConfig } from '../../config/schema.js';
import { toMs } from '../../config/schema.js';
import { ERROR_CODES, GatewayError } from '../../core/errors.js';
import type { UpstreamVia } from '../../core/ports.js';
import { createDetectorSet, type DetectorSet } from '../../masking/index.js';
import { checkPrivateKey, parsePublicKeyLine, type PublicKeyLine } from './ssh-keys.js';

export interface RevealableSecret {
  reveal(): string;
}

export interface SshSettingsDeps {
  readonly resolveSecret: (ref: SecretRef) => Promise<RevealableSecret>;
}

export interface SshConnectionSettings {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly via?: UpstreamVia;
  /** The private key and its passphrase, revealed only for the upstream login. */
  readonly privateKey: () => { readonly key: string; readonly passphrase?: string };
  /** The pinned host keys; the upstream must present one of them. */
  readonly hostKeys: readonly PublicKeyLine[];
  /** Whether a client may set this environment variable. */
  readonly envAllowed: (name: string) => boolean;
  readonly detectors: DetectorSet;
  readonly holdTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly recordMaxBytes: number;
  readonly idleTimeoutMs: number;
}

function configError(message: string): GatewayError {
  return new GatewayError(ERROR_CODES.CONFIG_INVALID, message);
}

export function envMatcher(patterns: readonly string[]): (name: string) => boolean {
  const exact = new Set(patterns.filter((p) => !p.endsWith('*')));
  const prefixes = patterns.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1));
  return (name) => exact.has(name) || prefixes.some((p) => name.startsWith(p));
}

export async function buildSshConnectionSettings(
  name: string,
  config: SshConnectionConfig,
  deps: SshSettingsDeps,
): Promise<SshConnectionSettings> {
  const u = config.upstream;
  const key = await deps.resolveSecret(u.privateKey);
  const passphrase = u.passphrase ? await deps.resolveSecret(u.passphrase) : undefined;
  checkPrivateKey(name, key.reveal(), passphrase?.reveal());
  const hostKeys: PublicKeyLine[] = [];
  for (const [i, line] of u.hostKeys.entries()) {
    const parsed = parsePublicKeyLine(line);
    if (!parsed)
      throw configError(
        `connection ${name}: upstream.hostKeys[${i}] is not an OpenSSH public key line (its type and key do not agree)`,
      );
    hostKeys.push(parsed);
  }
  return {
    name,
    host: u.host,
    port: u.port,
    user: u.user,
    ...(config.via ? { via: config.via } : {}),
    privateKey: () => ({
      key: key.reveal(),
      ...(passphrase ? { passphrase: passphrase.reveal() } : {}),
    }),
    hostKeys,
    envAllowed: envMatcher(config.env),
    detectors: createDetectorSet({ enabled: config.masking.detectors }),
    holdTimeoutMs: toMs(config.holdTimeout),
    connectTimeoutMs: toMs(u.connectTimeout),
    recordMaxBytes: config.recordMaxBytes,
    idleTimeoutMs: toMs(config.idleTimeout),
  };
}
