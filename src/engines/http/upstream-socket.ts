// Upstream sockets for a connection with `via` (docs/agent.md): opened through the gateway's
// UpstreamDialer, with TLS to the upstream run here, on top of the dialed stream — so the agent
// carrying it relays ciphertext and never sees a credential header.

import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { buildConnector } from 'undici';
import type { UpstreamDialer, UpstreamVia } from '../../core/ports.js';
import type { UpstreamTls } from './http-settings.js';

export type UpstreamSocketOpener = (url: URL) => Promise<Duplex>;

export function upstreamSocketOpener(
  dialer: UpstreamDialer,
  via: UpstreamVia,
  upstreamTls: UpstreamTls,
  connection: string,
): UpstreamSocketOpener {
  return async (url) => {
    const https = url.protocol === 'https:';
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(url.port || (https ? 443 : 80));
    const stream = await dialer.dial({ host, port }, via, { connection });
    if (!https) return stream;
    return new Promise((resolve, reject) => {
      const s = tls.connect({
        socket: stream,
        servername: net.isIP(host) ? undefined : host,
        ALPNProtocols: ['http/1.1'],
        ...(upstreamTls.ca ? { ca: upstreamTls.ca } : {}),
        rejectUnauthorized: upstreamTls.rejectUnauthorized,
      });
      s.once('secureConnect', () => {
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (e: Error) => {
        stream.destroy();
        reject(e);
      });
    });
  };
}

/** The same opener as an undici connector. */
export function undiciConnector(open: UpstreamSocketOpener): buildConnector.connector {
  return (options, callback) => {
    const url = new URL(`${options.protocol}//${options.hostname}${options.port ? `:${options.port}` : ''}`);
    open(url).then(
      (socket) => callback(null, socket as net.Socket),
      (err: Error) => callback(err, null),
    );
  };
}
