// Sockets before anyone is known, on every listener (HTTP, Kubernetes, PostgreSQL, SSH): one source
// address cannot hold a listener's slots with connections that never authenticate.

import type { Socket } from 'node:net';

/**
 * Sockets before anyone is known: at most `maxConnections` on the listener (node drops the rest), and
 * at most `unauthenticatedPerAddress` from one source address until a request on a socket
 * authenticates. A socket that authenticated stops counting against its address (its principal's
 * sessions and requests are bounded by the gate and PrincipalRequests).
 */
export class ConnectionGuard {
  private readonly pendingByAddress = new Map<string, number>();
  private readonly pending = new WeakMap<Socket, string>();

  constructor(private readonly perAddress: number) {}

  /** Counts a new socket against its address; false (the caller destroys it) past the limit. */
  admit(socket: Socket): boolean {
    const address = socket.remoteAddress ?? '';
    const n = this.pendingByAddress.get(address) ?? 0;
    if (n >= this.perAddress) return false;
    this.pendingByAddress.set(address, n + 1);
    this.pending.set(socket, address);
    socket.once('close', () => this.authenticated(socket));
    return true;
  }

  /** A request on this socket authenticated (or it closed): it no longer counts against its address. */
  authenticated(socket: Socket): void {
    const address = this.pending.get(socket);
    if (address === undefined) return;
    this.pending.delete(socket);
    const left = (this.pendingByAddress.get(address) ?? 1) - 1;
    if (left <= 0) this.pendingByAddress.delete(address);
    else this.pendingByAddress.set(address, left);
  }
}
