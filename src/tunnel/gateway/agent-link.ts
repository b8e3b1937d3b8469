// The gateway's side of one agent connection: the HTTP/2 client session over the socket the agent
// opened (the agent serves HTTP/2 on it), heartbeats, the target list the agent has accepted, and the
// upstream streams it carries. A link that misses heartbeats, is revoked or closes takes its
// streams down with an error naming the cause.

import { randomUUID, type KeyObject } from 'node:crypto';
import http2, { type ClientHttp2Session } from 'node:http2';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../core/ports.js';
import { signTargetList, type SignedTargetList } from '../target-list.js';
import type { RegisteredAgent } from './agent-registry.js';
import { TunnelSocket } from './tunnel-socket.js';

export interface LinkSettings {
  readonly replica: string;
  readonly heartbeatMs: number;
  readonly heartbeatTimeoutMs: number;
  /** Per-stream HTTP/2 receive window (bytes the agent may send before we read). */
  readonly streamWindowBytes: number;
  /** Connection receive window: large, so a stalled stream never blocks the others. */
  readonly sessionWindowBytes: number;
  readonly maxStreams: number;
  readonly logger: Logger;
}

export type DialFailure =
  | { readonly kind: 'refused'; readonly message: string }
  | { readonly kind: 'unreachable'; readonly message: string }
  | { readonly kind: 'timeout'; readonly message: string }
  | { readonly kind: 'link'; readonly message: string };

export class DialError extends Error {
  override readonly name = 'DialError';
  constructor(readonly failure: DialFailure) {
    super(failure.message);
  }
}

export class AgentLink {
  readonly id = randomUUID();
  readonly connectedAt = new Date();
  lastHeartbeat = new Date();
  totalStreams = 0;
  /** Targets (keys) the agent has verified and accepted; only these are dialled through it. */
  accepted: ReadonlySet<string> = new Set();
  draining = false;
  private closedReason: string | undefined;
  private readonly session: ClientHttp2Session;
  private readonly streams = new Set<TunnelSocket>();
  private heartbeat: NodeJS.Timeout | undefined;
  private pingSince: number | undefined;
  private readonly closeListeners: ((link: AgentLink, reason: string) => void)[] = [];

  constructor(
    readonly agent: RegisteredAgent,
    readonly address: string,
    readonly version: string,
    private readonly socket: Duplex,
    private readonly settings: LinkSettings,
  ) {
    this.session = http2.connect('http://gatehouse-agent.invalid', {
      createConnection: () => socket,
      settings: {
        enablePush: false,
        initialWindowSize: settings.streamWindowBytes,
      },
      maxSessionMemory: 64,
      peerMaxConcurrentStreams: settings.maxStreams,
    });
    // The handshake read the socket in paused mode (reading stopped at the handle); HTTP/2 consumes
    // the handle natively and does not restart it.
    socket.resume();
    this.session.on('connect', () => this.session.setLocalWindowSize(settings.sessionWindowBytes));
    this.session.on('goaway', () => {
      // The agent is shutting down gracefully: no new streams; the ones open may finish.
      this.draining = true;
    });
    this.session.on('error', (err: Error) => this.fail(`the agent's connection failed: ${err.message}`));
    this.session.on('close', () => this.fail(`the agent "${agent.name}" disconnected`));
    socket.on('error', () => undefined);
    this.heartbeat = setInterval(() => this.beat(), settings.heartbeatMs);
    this.heartbeat.unref();
  }

  get name(): string {
    return this.agent.name;
  }

  get activeStreams(): number {
    return this.streams.size;
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /** Usable for a new upstream connection to this target. */
  canDial(key: string): boolean {
    return (
      !this.closed && !this.draining && this.accepted.has(key) && this.streams.size < this.settings.maxStreams
    );
  }

  onClose(fn: (link: AgentLink, reason: string) => void): void {
    this.closeListeners.push(fn);
  }

  private beat(): void {
    const now = Date.now();
    if (this.pingSince !== undefined) {
      if (now - this.pingSince >= this.settings.heartbeatTimeoutMs)
        this.fail(`the agent "${this.name}" missed its heartbeats`);
      return;
    }
    this.pingSince = now;
    try {
      this.session.ping((err) => {
        if (err) return;
        this.pingSince = undefined;
        this.lastHeartbeat = new Date();
      });
    } catch {
      this.fail(`the agent "${this.name}" connection is gone`);
    }
  }

  /** Sends a signed target list; resolves once the agent has verified and accepted it. */
  async pushTargets(targets: readonly string[], signingKey: KeyObject, issuedAt: number): Promise<void> {
    const signed: SignedTargetList = signTargetList(
      { agentId: this.agent.id, agent: this.agent.name, issuedAt, targets },
      signingKey,
    );
    const body = Buffer.from(JSON.stringify(signed), 'utf8');
    await new Promise<void>((resolve, reject) => {
      const req = this.session.request({
        ':method': 'POST',
        ':path': '/v1/targets',
        'content-type': 'application/json',
        'content-length': String(body.length),
      });
      let answer = '';
      let status = 0;
      req.setEncoding('utf8');
      req.on('response', (h) => (status = Number(h[':status'])));
      req.on('data', (d: string) => {
        if (answer.length < 4096) answer += d;
      });
      req.on('end', () => {
        if (status >= 200 && status < 300) resolve();
        else reject(new Error(`the agent refused the target list (${status}): ${answer.slice(0, 300)}`));
      });
      req.on('error', reject);
      req.end(body);
    });
    this.accepted = new Set(targets);
  }

  /** Opens one upstream connection through the agent (HTTP/2 CONNECT, RFC 9113 §8.5). */
  dial(
    target: { host: string; port: number },
    authority: string,
    meta: { connection?: string; timeoutMs: number; signal?: AbortSignal },
  ): Promise<TunnelSocket> {
    return new Promise((resolve, reject) => {
      if (this.closed) {
        reject(new DialError({ kind: 'link', message: this.closedReason! }));
        return;
      }
      let stream: http2.ClientHttp2Stream;
      try {
        stream = this.session.request(
          {
            ':method': 'CONNECT',
            ':authority': authority,
            ...(meta.connection ? { 'gatehouse-connection': meta.connection } : {}),
          },
          { endStream: false },
        );
      } catch (e) {
        reject(
          new DialError({
            kind: 'link',
            message: `could not open a stream to agent "${this.name}": ${(e as Error).message}`,
          }),
        );
        return;
      }
      const finish = (err: DialError | undefined, socket?: TunnelSocket) => {
        clearTimeout(timer);
        meta.signal?.removeEventListener('abort', onAbort);
        stream.off('response', onResponse);
        stream.off('close', onClose);
        stream.off('error', onError);
        if (err) {
          if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
          reject(err);
        } else resolve(socket!);
      };
      const onResponse = (headers: http2.IncomingHttpHeaders) => {
        const status = Number(headers[':status']);
        const why = typeof headers['gatehouse-error'] === 'string' ? headers['gatehouse-error'] : '';
        if (status === 200) {
          const sock = new TunnelSocket(stream, target, this.name);
          this.streams.add(sock);
          this.totalStreams++;
          sock.once('close', () => this.streams.delete(sock));
          finish(undefined, sock);
        } else if (status === 403) {
          finish(
            new DialError({
              kind: 'refused',
              message: `the agent "${this.name}" refused to dial ${authority}: ${why || 'not in its target list'}`,
            }),
          );
        } else if (status === 504) {
          finish(
            new DialError({
              kind: 'timeout',
              message: `the agent "${this.name}" timed out connecting to ${authority}`,
            }),
          );
        } else {
          finish(
            new DialError({
              kind: 'unreachable',
              message: `the agent "${this.name}" could not reach ${authority}${why ? `: ${why}` : ''}`,
            }),
          );
        }
      };
      const onClose = () =>
        finish(
          new DialError({
            kind: 'link',
            message: this.closedReason ?? `the agent "${this.name}" closed the stream`,
          }),
        );
      const onError = (e: Error) =>
        finish(
          new DialError({
            kind: 'link',
            message: this.closedReason ?? `stream to agent "${this.name}" failed: ${e.message}`,
          }),
        );
      const onAbort = () => finish(new DialError({ kind: 'link', message: 'the dial was cancelled' }));
      const timer = setTimeout(
        () =>
          finish(
            new DialError({
              kind: 'timeout',
              message: `the agent "${this.name}" did not connect to ${authority} in time`,
            }),
          ),
        meta.timeoutMs,
      );
      stream.once('response', onResponse);
      stream.once('close', onClose);
      stream.once('error', onError);
      meta.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Ends the link and every stream it carries, with this reason as their error. */
  fail(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    clearInterval(this.heartbeat);
    for (const s of [...this.streams]) s.lose(reason);
    this.streams.clear();
    this.session.destroy();
    this.socket.destroy();
    this.settings.logger.info(
      { agent: this.name, agentId: this.agent.id, link: this.id, address: this.address, reason },
      'agent link closed',
    );
    for (const fn of this.closeListeners) fn(this, reason);
  }

  /** Graceful: GOAWAY, then the streams still open are ended after `graceMs`. */
  async shutdown(reason: string, graceMs: number): Promise<void> {
    if (this.closed) return;
    this.draining = true;
    this.session.close();
    if (this.streams.size > 0) await new Promise((r) => setTimeout(r, graceMs).unref());
    this.fail(reason);
  }
}
