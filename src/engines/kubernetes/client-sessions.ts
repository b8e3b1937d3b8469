// Gate sessions per client TLS connection and bearer token: a kubectl connection is one recorded
// session, closed when the socket closes; a new token on the same socket opens its own; an expired
// identity is closed and authenticated again.

import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Gate, GateSession } from '../../gate/gate.js';

/** The Gatehouse token from `Authorization: Bearer <token>` (RFC 6750 §2.1), or undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(authorization ?? '');
  return m?.[1];
}

export class KubeClientSessions {
  private readonly bySocket = new WeakMap<Socket, Map<string, Promise<GateSession>>>();
  private readonly open = new Set<GateSession>();
  /** Upgraded sockets (exec, attach, port-forward): their relay ends them in the protocol's terms. */
  private readonly relaying = new WeakSet<Socket>();

  constructor(
    private readonly gate: Gate,
    private readonly connection: string,
    /** Told when a session opens on a socket: it has authenticated (../http/client-limits.ts). */
    private readonly onOpened: (socket: Socket) => void = () => undefined,
  ) {}

  get count(): number {
    return this.open.size;
  }

  /** The session for this request's socket and token, opened (authenticated, recorded) on first use. */
  async get(req: IncomingMessage, token: string): Promise<GateSession> {
    const socket = req.socket;
    const key = createHash('sha256').update(token).digest('base64url');
    let sessions = this.bySocket.get(socket);
    if (!sessions) {
      const created = new Map<string, Promise<GateSession>>();
      sessions = created;
      this.bySocket.set(socket, created);
      socket.once('close', () => {
        this.bySocket.delete(socket);
        for (const p of created.values())
          p.then((s) => this.close(s, 'client closed the connection')).catch(() => undefined);
      });
    }
    const existing = sessions.get(key);
    if (existing) {
      const s = await existing;
      const exp = s.identity.expiresAt;
      if (!s.ended.aborted && (exp === undefined || exp.getTime() > Date.now())) return s;
      sessions.delete(key);
      await this.close(s, s.ended.aborted ? (s.endReason ?? 'session ended') : 'credential expired');
    }
    const opened = this.gate.openSession({
      token,
      connection: this.connection,
      protocol: 'kubernetes',
      listener: 'kubernetes',
      clientAddress: `${socket.remoteAddress ?? ''}:${socket.remotePort ?? ''}`,
      ...(socket.remoteAddress ? { clientHost: socket.remoteAddress } : {}),
      ...(req.headers['user-agent'] ? { application: req.headers['user-agent'].slice(0, 200) } : {}),
    });
    sessions.set(key, opened);
    try {
      const s = await opened;
      this.open.add(s);
      this.onOpened(socket);
      // Revoked, expired or ended by an admin: the connection goes (a watch or log stream with it);
      // an exec relay on an upgraded socket ends its own session with a status message first.
      s.ended.addEventListener(
        'abort',
        () => {
          if (sessions.get(key) === opened) sessions.delete(key);
          if (!this.relaying.has(socket)) socket.destroy();
          void this.close(s, s.endReason ?? 'session ended');
        },
        { once: true },
      );
      if (socket.destroyed) await this.close(s, 'client closed the connection');
      return s;
    } catch (e) {
      if (sessions.get(key) === opened) sessions.delete(key);
      throw e;
    }
  }

  /** The socket now carries a relayed stream (exec, attach, port-forward) that ends itself. */
  markRelaying(socket: Socket): void {
    this.relaying.add(socket);
  }

  private async close(s: GateSession, reason: string): Promise<void> {
    this.open.delete(s);
    await s.close(reason);
  }

  async closeAll(reason: string): Promise<void> {
    const all = [...this.open];
    this.open.clear();
    await Promise.all(all.map((s) => s.close(reason)));
  }
}
