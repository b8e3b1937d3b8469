// The gateway's own SSH login to the host: a byte stream from the UpstreamDialer (directly, or through a
// network-resident agent), then ssh2's client over it with the held private key. The host must present
// one of the pinned host keys; anything else refuses the connection with a message that says so. Errors
// are GatewayError(UPSTREAM_UNAVAILABLE) with client-safe text: never the key, never ssh2's internals.

import ssh2 from 'ssh2';
import { ERROR_CODES, GatewayError, isGatewayError } from '../../core/errors.js';
import type { UpstreamDialer } from '../../core/ports.js';
import { fingerprint } from './ssh-keys.js';
import type { SshConnectionSettings } from './ssh-settings.js';

export type UpstreamClient = ssh2.Client;

function unavailable(message: string, cause?: unknown): GatewayError {
  return new GatewayError(ERROR_CODES.UPSTREAM_UNAVAILABLE, message, cause ? { cause } : undefined);
}

export function hostKeyMismatchMessage(s: SshConnectionSettings, presented: Buffer): string {
  const pinned = s.hostKeys.map((k) => `${k.type} ${fingerprint(k.blob)}`).join(', ');
  return (
    `Gatehouse refused to connect to ${s.host}:${s.port} for connection ${s.name}: the host presented ` +
    `key ${fingerprint(presented)}, which is not the pinned host key (${pinned}). The host may have been ` +
    `replaced, or someone is in the middle. If the key changed on purpose, an administrator updates ` +
    `upstream.hostKeys (\`gatehouse ssh keyscan ${s.host}${s.port === 22 ? '' : ` -p ${s.port}`}\`).`
  );
}

export async function loginUpstream(
  s: SshConnectionSettings,
  dialer: UpstreamDialer,
  signal: AbortSignal,
): Promise<UpstreamClient> {
  let sock;
  try {
    sock = await dialer.dial({ host: s.host, port: s.port }, s.via, { signal, connection: s.name });
  } catch (e) {
    if (isGatewayError(e)) throw e;
    throw unavailable(
      `Gatehouse could not reach ${s.host}:${s.port} for connection ${s.name} (${(e as Error).message}).`,
      e,
    );
  }
  return new Promise<UpstreamClient>((resolve, reject) => {
    const client = new ssh2.Client();
    let mismatch: string | undefined;
    let settled = false;
    const fail = (e: GatewayError): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      client.end();
      sock.destroy();
      reject(e);
    };
    const onAbort = () => fail(unavailable('the client went away before the host answered'));
    signal.addEventListener('abort', onAbort, { once: true });
    client.once('ready', () => {
      if (settled) return client.end();
      settled = true;
      signal.removeEventListener('abort', onAbort);
      // Later errors (the host goes away) are handled by whoever uses the client.
      client.removeAllListeners('error');
      client.on('error', () => undefined);
      resolve(client);
    });
    client.on('error', (err: Error & { level?: string }) => {
      if (mismatch !== undefined) return fail(unavailable(mismatch, err));
      const why =
        err.level === 'client-authentication'
          ? `the host refused Gatehouse's key for user ${s.user}`
          : err.level === 'client-timeout'
            ? 'the host did not answer in time'
            : err.message.replace(/[^\x20-\x7e]/g, '').slice(0, 200);
      fail(
        unavailable(
          `Gatehouse could not log in to ${s.host}:${s.port} for connection ${s.name}: ${why}.`,
          err,
        ),
      );
    });
    const { key, passphrase } = s.privateKey();
    try {
      client.connect({
        sock,
        username: s.user,
        privateKey: key,
        ...(passphrase !== undefined ? { passphrase } : {}),
        readyTimeout: s.connectTimeoutMs,
        keepaliveInterval: 15_000,
        keepaliveCountMax: 4,
        // Without hostHash, ssh2 hands the verifier the raw key blob (RFC 4253 §6.6).
        hostVerifier: (presented: Buffer) => {
          if (s.hostKeys.some((k) => k.blob.equals(presented))) return true;
          mismatch = hostKeyMismatchMessage(s, presented);
          return false;
        },
      });
    } catch (e) {
      fail(unavailable(`Gatehouse could not start the login to ${s.host}:${s.port}.`, e));
    }
  });
}
