// The network-resident agent (`gatehouse agent run`). It keeps one outbound connection to each
// gateway URL, proves who it is (handshake.ts), then serves HTTP/2 on that socket: the gateway opens
// a CONNECT stream per upstream connection and the agent dials it — only if the target is on the
// latest list the gateway signed for it (and on the operator's --allow list, when given). It never
// sees an upstream credential or, for TLS upstreams, a byte of plaintext: it relays what it is given.
// Reconnects with backoff and jitter; bounds its streams and buffers; ends upstream sockets when the
// gateway is lost (an upstream server then discards any half-received message, as after any crash).

import { sign, type KeyObject } from 'node:crypto';
import { EventEmitter } from 'node:events';
import http2, { type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import net from 'node:net';
import os from 'node:os';
import type tls from 'node:tls';
import type { Logger } from '../../core/ports.js';
import {
  REFUSAL_CODES,
  TUNNEL_PROTOCOL_VERSION,
  authMessage,
  channelBinding,
  encodeFrame,
  gatewayWelcomeSchema,
  readFrame,
  type AgentHello,
  type RefusalCode,
} from '../handshake.js';
import { parseJoinToken } from '../join-token.js';
import { TargetListError, parseAuthority, targetKey, verifyTargetList } from '../target-list.js';
import { AllowList } from './allow-list.js';
import { AgentStateStore, type AgentIdentity, type AgentState } from './agent-state.js';
import { backoffDelay, type BackoffSettings } from './backoff.js';
import { openGatewayConnection, GatewayVerificationError } from './gateway-connection.js';

const { NGHTTP2_CONNECT_ERROR, NGHTTP2_CANCEL } = http2.constants;

export interface AgentOptions {
  readonly gateways: readonly URL[];
  readonly stateDir: string;
  readonly joinToken?: string;
  readonly ca?: Buffer;
  readonly proxy?: URL;
  /** The operator's own limit (HOST:PORT rules); empty: the gateway's signed list alone decides. */
  readonly allow?: readonly string[];
  readonly maxStreams?: number;
  readonly streamWindowBytes?: number;
  readonly sessionWindowBytes?: number;
  readonly dialTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  readonly drainTimeoutMs?: number;
  readonly backoff?: BackoffSettings;
  readonly logger: Logger;
  readonly version: string;
  readonly hostname?: string;
}

/** A refusal the agent cannot fix by retrying (revoked, used or bad token …): the run ends. */
export class AgentRefusedError extends Error {
  override readonly name = 'AgentRefusedError';
  constructor(
    readonly code: RefusalCode | 'verification',
    message: string,
  ) {
    super(message);
  }
}

interface Link {
  readonly url: URL;
  readonly socket: tls.TLSSocket;
  readonly session: ServerHttp2Session;
  readonly streams: Set<ServerHttp2Stream>;
  targets: ReadonlySet<string>;
  issuedAt: number;
  readonly upstreams: Set<net.Socket>;
}

const MAX_TARGET_LIST_BYTES = 2 * 1024 * 1024;

export class AgentRuntime extends EventEmitter {
  private readonly store: AgentStateStore;
  private readonly allow: AllowList;
  private state: AgentState | undefined;
  private identity: AgentIdentity | undefined;
  private stopping = false;
  private readonly links = new Set<Link>();
  private readonly wake = new Set<() => void>();
  private finished!: (r: { code: number; reason: string }) => void;
  /** Resolves when the agent stops: 0 after stop(), 3 after a refusal it cannot recover from. */
  readonly done = new Promise<{ code: number; reason: string }>((r) => (this.finished = r));

  constructor(private readonly options: AgentOptions) {
    super();
    this.store = new AgentStateStore(options.stateDir);
    this.allow = AllowList.parse(options.allow ?? []);
  }

  private get log(): Logger {
    return this.options.logger;
  }

  get agentId(): string | undefined {
    return this.state?.agentId;
  }

  get connectedLinks(): number {
    return this.links.size;
  }

  /** Loads the state (or joins with the token), then keeps a link to every gateway URL. */
  async start(): Promise<void> {
    const loaded = await this.store.load();
    if (loaded) {
      this.state = loaded.state;
      this.identity = loaded.identity;
      if (this.options.joinToken)
        this.log.info(
          { agentId: this.state.agentId, name: this.state.name },
          'already registered: the join token is not used',
        );
    } else if (!this.options.joinToken) {
      throw new AgentRefusedError(
        'token-invalid',
        `no agent state in ${this.options.stateDir} and no join token: run \`gatehouse agent register NAME\` on the gateway and pass --join-token`,
      );
    } else if (!parseJoinToken(this.options.joinToken)) {
      throw new AgentRefusedError('token-invalid', 'the join token is malformed');
    }
    for (const url of this.options.gateways) void this.runLink(url);
  }

  /** Graceful stop: GOAWAY on every link, open streams get `drainTimeoutMs` to finish. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const w of this.wake) w();
    const drain = this.options.drainTimeoutMs ?? 30_000;
    await Promise.all(
      [...this.links].map(async (l) => {
        l.session.close();
        if (l.upstreams.size > 0) {
          await new Promise<void>((r) => {
            const t = setTimeout(r, drain);
            t.unref();
            l.session.once('close', () => {
              clearTimeout(t);
              r();
            });
          });
        }
        // Whatever did not finish in time is cut with CANCEL, so the gateway reports it as lost.
        for (const st of l.streams) if (!st.destroyed) st.close(NGHTTP2_CANCEL);
        l.session.destroy();
      }),
    );
    this.finished({ code: 0, reason: 'stopped' });
  }

  /** Ends every link at once, as if the process died (tests: kill the agent). */
  kill(): void {
    this.stopping = true;
    for (const w of this.wake) w();
    for (const l of this.links) {
      // As at a process death: the gateway connection goes first, with no goodbye on any stream.
      l.socket.destroy();
      l.session.destroy();
      for (const u of l.upstreams) u.destroy();
    }
    this.finished({ code: 137, reason: 'killed' });
  }

  private fatal(e: AgentRefusedError): void {
    this.log.error({ code: e.code, reason: e.message }, 'agent refused by the gateway; stopping');
    this.stopping = true;
    for (const w of this.wake) w();
    for (const l of this.links) l.session.destroy();
    this.finished({ code: 3, reason: e.message });
  }

  private async runLink(url: URL): Promise<void> {
    let attempt = 0;
    const backoff = this.options.backoff ?? { initialMs: 500, maxMs: 30_000 };
    while (!this.stopping) {
      let up = false;
      // Not joined yet: one link joins (the token is single-use) while the others wait for its
      // outcome, then connect with the state it saved (or take their turn if it failed).
      if (!this.state && this.joinTurn) {
        await this.joinTurn;
        continue;
      }
      const turn = this.state ? undefined : this.takeJoinTurn();
      try {
        if (!this.state) this.identity = await this.store.keyForJoin();
        const socket = await openGatewayConnection(url, {
          ...(this.options.ca ? { ca: this.options.ca } : {}),
          ...(this.pin ? { pin: this.pin } : {}),
          ...(this.options.proxy ? { proxy: this.options.proxy } : {}),
          timeoutMs: this.options.connectTimeoutMs ?? 10_000,
        });
        const welcome = await this.hello(socket);
        turn?.end();
        up = true;
        attempt = 0;
        await this.serve(url, socket, welcome.heartbeatMs);
      } catch (e) {
        if (e instanceof AgentRefusedError && (e.code === 'verification' || !REFUSAL_CODES[e.code].retry)) {
          this.fatal(e);
          return;
        }
        if (!this.stopping)
          this.log.warn({ gateway: shown(url), err: (e as Error).message }, 'gateway connection failed');
      } finally {
        turn?.end();
      }
      if (this.stopping) break;
      const delay = backoffDelay(up ? 0 : attempt++, backoff);
      this.log.info({ gateway: shown(url), inMs: delay }, 'reconnecting');
      await this.sleep(delay);
    }
  }

  /** Set while one link presents the join token; the other links wait for its outcome. */
  private joinTurn: Promise<void> | undefined;

  private takeJoinTurn(): { end(): void } {
    let release!: () => void;
    const turn = new Promise<void>((r) => (release = r));
    this.joinTurn = turn;
    return {
      end: () => {
        if (this.joinTurn === turn) this.joinTurn = undefined;
        release();
      },
    };
  }

  private get pin(): string | undefined {
    if (this.state) return this.state.pin;
    return this.options.joinToken ? parseJoinToken(this.options.joinToken)?.pin : undefined;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.wake.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wake.add(done);
    });
  }

  /** Sends the hello (join or connect), reads the gateway's answer, saves the state after a join. */
  private async hello(socket: tls.TLSSocket): Promise<{ heartbeatMs: number }> {
    const identity = this.identity!;
    const binding = channelBinding(socket);
    const hostname = this.options.hostname ?? os.hostname();
    let hello: AgentHello;
    if (this.state) {
      hello = {
        v: TUNNEL_PROTOCOL_VERSION,
        type: 'connect',
        agentId: this.state.agentId,
        signature: this.signed(identity.privateKey, authMessage('connect', this.state.agentId, binding)),
        version: this.options.version,
        hostname,
      };
    } else {
      const token = parseJoinToken(this.options.joinToken!)!;
      hello = {
        v: TUNNEL_PROTOCOL_VERSION,
        type: 'join',
        token: this.options.joinToken!,
        publicKey: identity.publicKey,
        signature: this.signed(identity.privateKey, authMessage('join', token.id, binding)),
        version: this.options.version,
        hostname,
      };
    }
    // Completed before HTTP/2 takes the TLS handle over (it must not find a write in flight).
    await new Promise<void>((resolve) => socket.write(encodeFrame(hello), () => resolve()));
    const answer = gatewayWelcomeSchema.safeParse(
      await readFrame(socket, this.options.connectTimeoutMs ?? 10_000),
    );
    if (!answer.success) {
      socket.destroy();
      throw new Error('the gateway sent an answer this agent does not understand');
    }
    const w = answer.data;
    if (!w.ok) {
      socket.destroy();
      throw new AgentRefusedError(w.code, w.message);
    }
    if (this.state) {
      if (w.agentId !== this.state.agentId || w.signingKey !== this.state.signingKey) {
        socket.destroy();
        throw new AgentRefusedError(
          'verification',
          "the gateway's identity or target-list signing key changed since this agent joined; register it again",
        );
      }
    } else {
      this.state = {
        v: 1,
        agentId: w.agentId,
        name: w.name,
        pin: this.pin!,
        signingKey: w.signingKey,
        joinedAt: new Date().toISOString(),
      };
      await this.store.save(this.state);
      this.log.info({ agentId: w.agentId, name: w.name }, 'joined the gateway; state saved');
    }
    return { heartbeatMs: w.heartbeatMs };
  }

  private signed(key: KeyObject, message: Buffer): string {
    return sign(null, message, key).toString('base64url');
  }

  /** Serves HTTP/2 on the gateway connection until it ends. */
  private serve(url: URL, socket: tls.TLSSocket, heartbeatMs: number): Promise<void> {
    return new Promise((resolve) => {
      const server = http2.createServer({
        settings: {
          enablePush: false,
          maxConcurrentStreams: this.options.maxStreams ?? 512,
          initialWindowSize: this.options.streamWindowBytes ?? 256 * 1024,
        },
        maxSessionMemory: 64,
      });
      let link: Link | undefined;
      let ended = false;
      let beat: NodeJS.Timeout | undefined;
      // One way down, whatever noticed first (session close, socket close, missed heartbeats, GOAWAY):
      // the session's own close can wait forever on a socket whose peer vanished.
      const teardown = (why: string) => {
        if (ended) return;
        ended = true;
        clearInterval(beat);
        const l = link;
        // The socket first: a session destroyed over a live socket would reset its streams with
        // NO_ERROR, which reads as a clean close; the gateway must see a lost connection.
        socket.destroy();
        if (l) {
          for (const u of l.upstreams) u.destroy();
          this.links.delete(l);
          l.session.destroy();
        }
        this.log.info(
          { gateway: shown(url), reason: why, streamsEnded: l?.upstreams.size ?? 0 },
          'gateway connection closed',
        );
        if (l) this.emit('link-down', url);
        resolve();
      };
      server.on('session', (session: ServerHttp2Session) => {
        link = {
          url,
          socket,
          session,
          streams: new Set(),
          targets: new Set(),
          issuedAt: 0,
          upstreams: new Set(),
        };
        this.links.add(link);
        session.setLocalWindowSize?.(this.options.sessionWindowBytes ?? 32 * 1024 * 1024);
        const l = link;
        // Heartbeats: the gateway pings us; we ping it too, so a silent gateway is noticed here.
        let unanswered = 0;
        beat = setInterval(() => {
          if (unanswered >= 3) {
            this.log.warn({ gateway: shown(url) }, 'the gateway missed its heartbeats');
            teardown('missed heartbeats');
            return;
          }
          unanswered++;
          try {
            session.ping((err) => {
              if (!err) unanswered = 0;
            });
          } catch {
            teardown('the session cannot ping');
          }
        }, heartbeatMs);
        beat.unref();
        // The gateway is going away (shutdown, restart): finish what is open, then reconnect.
        session.on('goaway', () => {
          if (l.upstreams.size === 0) teardown('the gateway is going away');
          else
            setTimeout(
              () => teardown('the gateway went away'),
              this.options.drainTimeoutMs ?? 30_000,
            ).unref();
        });
        session.on('error', (e: Error) =>
          this.log.warn({ gateway: shown(url), err: e.message }, 'gateway session error'),
        );
        session.on('close', () => teardown('session closed'));
        this.log.info(
          { gateway: shown(url), agentId: this.state!.agentId, name: this.state!.name },
          'connected to the gateway',
        );
        this.emit('link-up', url);
      });
      server.on('stream', (stream: ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
        if (!link) return stream.close(NGHTTP2_CANCEL);
        stream.on('error', () => undefined);
        const streams = link.streams;
        streams.add(stream);
        stream.once('close', () => streams.delete(stream));
        if (headers[':method'] === 'CONNECT') this.onConnect(link, stream, headers);
        else if (headers[':method'] === 'POST' && headers[':path'] === '/v1/targets')
          this.onTargets(link, stream);
        else {
          stream.respond({ ':status': 404 }, { endStream: true });
        }
      });
      socket.on('error', () => undefined);
      socket.once('close', () => teardown('connection closed'));
      server.emit('connection', socket);
      // The handshake read in paused mode, which stopped reading at the TLS handle; HTTP/2 consumes
      // the handle natively and does not restart it: without this, the gateway's later frames (and
      // its FIN) would never be read.
      socket.resume();
    });
  }

  private onTargets(link: Link, stream: ServerHttp2Stream): void {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_TARGET_LIST_BYTES) stream.close(NGHTTP2_CANCEL);
      else chunks.push(c);
    });
    stream.on('end', () => {
      const refuse = (status: number, why: string) => {
        this.log.error({ gateway: shown(link.url), reason: why }, 'refused a target list');
        if (!stream.destroyed) stream.respond({ ':status': status }, { endStream: false });
        stream.end(why);
      };
      let list;
      try {
        list = verifyTargetList(
          JSON.parse(Buffer.concat(chunks).toString('utf8')),
          this.state!.signingKey,
          this.state!.agentId,
        );
      } catch (e) {
        return refuse(400, e instanceof TargetListError ? e.message : 'target list is not JSON');
      }
      if (list.issuedAt < link.issuedAt) return refuse(409, 'target list is older than the one in force');
      link.targets = new Set(list.targets);
      link.issuedAt = list.issuedAt;
      this.log.info({ gateway: shown(link.url), targets: list.targets }, 'target list accepted');
      this.emit('targets', list.targets);
      stream.respond({ ':status': 204 }, { endStream: true });
    });
  }

  private onConnect(link: Link, stream: ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    const authority = String(headers[':authority'] ?? '');
    const connection =
      typeof headers['gatehouse-connection'] === 'string' ? headers['gatehouse-connection'] : undefined;
    const refuse = (status: number, why: string) => {
      this.log.warn({ target: authority, connection, status, reason: why }, 'dial refused');
      if (!stream.destroyed)
        stream.respond(
          { ':status': status, 'gatehouse-error': why.replace(/[^\x20-\x7e]/g, ' ') },
          { endStream: true },
        );
    };
    const target = parseAuthority(authority);
    if (!target) return refuse(400, 'bad target');
    if (!link.targets.has(targetKey(target)))
      return refuse(403, 'not in the target list the gateway signed for this agent');
    const nameAllowed = this.allow.empty || this.allow.allowsName(target);
    // An IP address is never looked up: check it here against the address rules.
    if (!nameAllowed && net.isIP(target.host) && !this.allow.allowsAddress(target.host, target.port))
      return refuse(403, `${target.host} is not allowed by this agent's --allow list`);
    const lookup = nameAllowed
      ? undefined
      : (
          host: string,
          opts: object,
          cb: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
        ) =>
          dnsLookup(host, { ...opts, all: true }, (err, addresses: LookupAddress[]) => {
            if (err) return cb(err, []);
            const ok = addresses.filter((a) => this.allow.allowsAddress(a.address, target.port));
            if (ok.length === 0) {
              const e: NodeJS.ErrnoException = new Error(
                `${host} is not allowed by this agent's --allow list`,
              );
              e.code = 'GATEHOUSE_NOT_ALLOWED';
              return cb(e, []);
            }
            const wantAll = (opts as { all?: boolean }).all === true;
            if (wantAll) cb(null, ok);
            else cb(null, ok[0]!.address, ok[0]!.family);
          });
    if (link.upstreams.size >= (this.options.maxStreams ?? 512))
      return refuse(503, 'the agent carries too many connections');
    const upstream = net.connect({ host: target.host, port: target.port, ...(lookup ? { lookup } : {}) });
    link.upstreams.add(upstream);
    upstream.setNoDelay(true);
    let answered = false;
    const timer = setTimeout(() => {
      if (answered) return;
      answered = true;
      upstream.destroy();
      refuse(504, 'timed out');
    }, this.options.dialTimeoutMs ?? 10_000);
    upstream.once('connect', () => {
      clearTimeout(timer);
      if (answered || stream.destroyed) return upstream.destroy();
      answered = true;
      upstream.setKeepAlive(true, 30_000);
      stream.respond({ ':status': 200 });
      this.log.debug({ target: authority, connection }, 'dialled');
      // Backpressure both ways: pipe() pauses the side whose destination's buffer is full; the
      // HTTP/2 stream's own window stops the gateway from sending more than we can hold.
      upstream.pipe(stream);
      stream.pipe(upstream);
    });
    upstream.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (!answered) {
        answered = true;
        if (e.code === 'GATEHOUSE_NOT_ALLOWED') refuse(403, e.message);
        else refuse(502, e.code ? `${e.code} ${authority}` : e.message);
      } else if (!stream.destroyed) stream.close(NGHTTP2_CONNECT_ERROR);
    });
    upstream.once('close', () => {
      link.upstreams.delete(upstream);
      if (answered && !stream.destroyed && !stream.writableEnded) stream.end();
    });
    stream.once('close', () => {
      clearTimeout(timer);
      if (!upstream.destroyed) upstream.destroy();
    });
  }
}

export { GatewayVerificationError };

/** A gateway URL for logs (URL.origin is "null" for tls://). */
function shown(url: URL): string {
  return `${url.protocol}//${url.host}`;
}
