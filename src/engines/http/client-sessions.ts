// Gate sessions per client TCP connection and credential: a keep-alive connection is one recorded
// session (like a PostgreSQL connection), closed when the socket closes. A new credential on the same
// socket opens its own session; an expired identity is closed and re-authenticated.

import type { Socket } from 'node:net';
import type { Gate, GateSession, SessionRequest } from '../../gate/gate.js';

export class ClientSessions {
  private readonly bySocket = new WeakMap<Socket, Map<string, Promise<GateSession>>>();
  private readonly open = new Set<GateSession>();

  constructor(
    private readonly gate: Gate,
    /** Told when a session opens on a socket: it has authenticated (../connection-guard.ts). */
    private readonly onOpened: (socket: Socket) => void = () => undefined,
  ) {}

  get count(): number {
    return this.open.size;
  }

  /** The session for this socket and credential key, opened (authenticated, recorded) on first use. */
  async get(socket: Socket, key: string, request: SessionRequest): Promise<GateSession> {
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
      // Revoked, expired or ended by an admin: every later request with this credential on this
      // connection is refused (401) with the reason; a new connection re-authenticates.
      s.assertActive();
      const exp = s.identity.expiresAt;
      if (exp === undefined || exp.getTime() > Date.now()) return s;
      sessions.delete(key);
      await this.close(s, 'credential expired');
    }
    const opened = this.gate.openSession(request);
    sessions.set(key, opened);
    try {
      const s = await opened;
      this.open.add(s);
      this.onOpened(socket);
      if (socket.destroyed) await this.close(s, 'client closed the connection');
      return s;
    } catch (e) {
      if (sessions.get(key) === opened) sessions.delete(key);
      throw e;
    }
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
