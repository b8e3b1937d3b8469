// The UpstreamDialer the engines use: a connection without `via` is a plain TCP connection from the
// gateway; one with `via: { agent }` goes through that agent's tunnel (agent-hub.ts).

import net from 'node:net';
import type { Duplex } from 'node:stream';
import { ERROR_CODES, GatewayError } from '../../core/errors.js';
import type { DialOptions, DialTarget, UpstreamDialer, UpstreamVia } from '../../core/ports.js';
import type { AgentHub } from './agent-hub.js';

export class RoutingDialer implements UpstreamDialer {
  /** `hub` is read at each dial: undefined when no `agents:` section is configured. */
  constructor(private readonly hub: () => AgentHub | undefined) {}

  dial(target: DialTarget, via: UpstreamVia | undefined, options: DialOptions = {}): Promise<Duplex> {
    if (!via) return connectDirect(target, options);
    const hub = this.hub();
    if (!hub) {
      return Promise.reject(
        new GatewayError(
          ERROR_CODES.UPSTREAM_UNAVAILABLE,
          `the connection goes through agent "${via.agent}" but this gateway has no agents section`,
        ),
      );
    }
    return hub.dial(target, via.agent, options);
  }
}

/** A TCP connection from the gateway itself (Nagle off: the protocols on top are request/response). */
export function connectDirect(target: DialTarget, options: DialOptions = {}): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: target.host, port: target.port });
    socket.setNoDelay(true);
    const onAbort = () => socket.destroy(new Error('the dial was cancelled'));
    const onError = (err: Error) => {
      options.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      reject(err);
    };
    socket.once('error', onError);
    socket.once('connect', () => {
      options.signal?.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      resolve(socket);
    });
    options.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
