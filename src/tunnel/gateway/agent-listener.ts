// The port agents connect to. A connection is either TLS straight away (first byte 0x16, a TLS
// handshake record) or an HTTP/1.1 WebSocket upgrade at /agent/v1/tunnel (for agents behind HTTP
// proxies or an ingress), in which case the same TLS session runs inside the WebSocket — TLS always
// ends here, so the session's exported keying material binds the agent's signature to this gateway.
// After TLS: the hello (handshake.ts), then the link is handed to the hub.
// Unauthenticated connections are bounded in number (in all, and per source address) and in time:
// one deadline from the first byte to the welcome, however slowly the bytes come (docs/security.md).
// An authenticated agent is bounded in how many connections it holds (AgentHub.maxLinksPerAgent).

import { createPublicKey, verify } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { Logger } from '../../core/ports.js';
import {
  HandshakeError,
  TUNNEL_ALPN,
  TUNNEL_PROTOCOL_VERSION,
  agentHelloSchema,
  authMessage,
  channelBinding,
  encodeFrame,
  readFrame,
  type GatewayWelcome,
  type RefusalCode,
} from '../handshake.js';
import { parseJoinToken } from '../join-token.js';
import { noPreauthSignals, type PreauthReason, type PreauthSignals } from '../../core/preauth.js';
import type { AgentHub } from './agent-hub.js';
import type { AgentRegistry, RegisteredAgent } from './agent-registry.js';

export const TUNNEL_WEBSOCKET_PATH = '/agent/v1/tunnel';

export interface AgentListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly registry: AgentRegistry;
  readonly hub: AgentHub;
  /** SPKI DER base64url of the target-list signing key, sent to agents in the welcome. */
  readonly signingPublicKey: string;
  readonly replica: string;
  readonly heartbeatMs: number;
  readonly logger: Logger;
  /** Accept WebSocket upgrades (default true). */
  readonly websocket?: boolean;
  /** From the first byte to the welcome: TLS, WebSocket upgrade, hello and its check, all of it. */
  readonly handshakeTimeoutMs?: number;
  readonly maxPendingHandshakes?: number;
  /** Unauthenticated connections at once from one source (IPv4 address, IPv6 /64). */
  readonly maxPendingHandshakesPerAddress?: number;
  /** Where refusals before authentication go (counted and logged, rate-limited: core/preauth.ts). */
  readonly preauth?: PreauthSignals;
}

/** The closed reason a handshake refusal is counted under (core/preauth.ts). */
const PREAUTH_REASON: Readonly<Record<RefusalCode, PreauthReason>> = {
  'token-invalid': 'credentials_malformed',
  'token-used': 'credentials_unknown',
  'token-expired': 'credentials_expired',
  'unknown-agent': 'credentials_unknown',
  revoked: 'credentials_unknown',
  'bad-signature': 'credentials_unknown',
  'bad-hello': 'handshake_refused',
  unavailable: 'auth_unavailable',
};

/** What the per-source handshake limit counts by: an IPv4 address, or an IPv6 /64. */
export function handshakeSource(address: string | undefined): string {
  if (!address) return '?';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!net.isIPv6(address)) return address;
  const [head = '', tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g || '0', 16).toString(16))
    .join(':')}::/64`;
}

export interface AgentListenerAddress {
  readonly host: string;
  readonly port: number;
}

function isEd25519Spki(b64: string): ReturnType<typeof createPublicKey> | undefined {
  try {
    const key = createPublicKey({ key: Buffer.from(b64, 'base64url'), format: 'der', type: 'spki' });
    return key.asymmetricKeyType === 'ed25519' ? key : undefined;
  } catch {
    return undefined;
  }
}

export class AgentListener {
  private readonly server: net.Server;
  private readonly secureContext: tls.SecureContext;
  private readonly httpServer: http.Server;
  private readonly wss: WebSocketServer;
  private pending = 0;
  private readonly pendingBySource = new Map<string, number>();
  private readonly open = new Set<Duplex>();
  /** Raw sockets still authenticating: called once the agent is in (clears the handshake limits). */
  private readonly settlers = new WeakMap<Duplex, () => void>();

  constructor(private readonly options: AgentListenerOptions) {
    this.secureContext = tls.createSecureContext({
      cert: options.cert,
      key: options.key,
      minVersion: 'TLSv1.3',
    });
    this.httpServer = http.createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not an agent tunnel endpoint\n');
    });
    this.httpServer.headersTimeout = this.timeout;
    this.httpServer.requestTimeout = this.timeout;
    this.wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 1024 * 1024 });
    this.httpServer.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = (req.url ?? '').split('?')[0];
      if (options.websocket === false || path !== TUNNEL_WEBSOCKET_PATH) {
        socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
        return;
      }
      // Agents are programs and send no Origin; a browser always does on a WebSocket handshake, and
      // lets any web page open one to any address it can reach (no same-origin policy, no CORS): a
      // page a person inside the network opens must not reach the tunnel's handshake through their
      // browser (docs/security.md, class 147).
      if (req.headers.origin !== undefined) {
        this.preauth.refused('agents', 'browser_origin', req.socket.remoteAddress);
        socket.end('HTTP/1.1 403 Forbidden\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        const stream = createWebSocketStream(ws, { allowHalfOpen: false });
        stream.on('error', () => undefined);
        // Shown in `gatehouse agent list` only; never used for a decision.
        const forwarded = String(req.headers['x-forwarded-for'] ?? '')
          .split(',')[0]
          ?.trim();
        const address = forwarded || `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? 0}`;
        this.startTls(
          stream,
          address,
          req.socket.remoteAddress,
          this.settlers.get(socket) ?? (() => undefined),
        );
      });
    });
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server.on('error', (err) => options.logger.error({ err: err.message }, 'agent listener error'));
  }

  private get timeout(): number {
    return this.options.handshakeTimeoutMs ?? 10_000;
  }

  private get preauth(): PreauthSignals {
    return this.options.preauth ?? noPreauthSignals;
  }

  private accept(socket: net.Socket): void {
    const source = handshakeSource(socket.remoteAddress);
    const fromSource = this.pendingBySource.get(source) ?? 0;
    const overall = this.pending >= (this.options.maxPendingHandshakes ?? 128);
    if (overall || fromSource >= (this.options.maxPendingHandshakesPerAddress ?? 8)) {
      this.preauth.refused('agents', overall ? 'connection_limit' : 'address_limit', socket.remoteAddress);
      socket.destroy();
      return;
    }
    this.pending++;
    this.pendingBySource.set(source, fromSource + 1);
    this.open.add(socket);
    let settled = false;
    // One deadline for everything before the welcome (an idle timeout would let a client that
    // trickles a byte now and then hold its slot for ever: the HTTP parser of the WebSocket path
    // has no header timer of its own here, it never listens).
    const deadline = setTimeout(() => {
      if (settled) return;
      this.preauth.refused('agents', 'auth_timeout', socket.remoteAddress);
      socket.destroy();
    }, this.timeout);
    deadline.unref();
    const settle = () => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      this.pending--;
      const left = (this.pendingBySource.get(source) ?? 1) - 1;
      if (left > 0) this.pendingBySource.set(source, left);
      else this.pendingBySource.delete(source);
    };
    this.settlers.set(socket, settle);
    socket.once('close', () => {
      settle();
      this.open.delete(socket);
    });
    socket.on('error', () => undefined);
    socket.setKeepAlive(true, 15_000);
    socket.once('readable', () => {
      const first = socket.read(1) as Buffer | null;
      if (first === null) return;
      socket.unshift(first);
      // 0x16: a TLS handshake record (RFC 8446 §5.1). Anything else is tried as HTTP (WebSocket).
      if (first[0] === 0x16)
        this.startTls(
          socket,
          `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`,
          socket.remoteAddress,
          settle,
        );
      else this.httpServer.emit('connection', socket);
    });
  }

  /** `address`: shown in `gatehouse agent list` (may be X-Forwarded-For); `peer`: the socket's own. */
  private startTls(raw: Duplex, address: string, peer: string | undefined, settle: () => void): void {
    const s = new tls.TLSSocket(raw, {
      isServer: true,
      secureContext: this.secureContext,
      ALPNProtocols: [TUNNEL_ALPN],
    });
    const timer = setTimeout(() => s.destroy(), this.timeout);
    timer.unref();
    s.on('error', (err: Error) => {
      clearTimeout(timer);
      this.options.logger.debug({ address, err: err.message }, 'agent TLS connection failed');
      raw.destroy();
    });
    s.once('close', () => raw.destroy());
    s.once('secure', () => {
      clearTimeout(timer);
      // A tls.Server clears this when it emits 'secureConnection'; this socket has no server, and
      // HTTP/2 waits for 'secureConnect' (never emitted server-side) while it is set.
      (s as unknown as { secureConnecting: boolean }).secureConnecting = false;
      void this.authenticate(s, address, peer, settle);
    });
  }

  private async authenticate(
    s: tls.TLSSocket,
    address: string,
    peer: string | undefined,
    settle: () => void,
  ): Promise<void> {
    const log = this.options.logger;
    // Counted and logged, rate-limited (core/preauth.ts); the detail (client-chosen) only at debug.
    const refuse = (code: RefusalCode, message: string, known = false) => {
      if (!known) this.preauth.refused('agents', PREAUTH_REASON[code], peer);
      if (known) log.warn({ address, code, reason: message }, 'agent refused');
      else log.debug({ address, code, reason: message }, 'agent refused');
      const answer: GatewayWelcome = { v: TUNNEL_PROTOCOL_VERSION, ok: false, code, message };
      if (s.destroyed) return;
      s.end(encodeFrame(answer));
      setTimeout(() => s.destroy(), 1000).unref();
    };
    if (s.alpnProtocol !== TUNNEL_ALPN) return refuse('bad-hello', `this port speaks only ${TUNNEL_ALPN}`);
    let raw: unknown;
    try {
      raw = await readFrame(s, this.options.handshakeTimeoutMs ?? 10_000);
    } catch (e) {
      log.debug({ address, err: (e as Error).message }, 'agent handshake failed');
      if (e instanceof HandshakeError && !s.destroyed) refuse('bad-hello', e.message);
      else s.destroy();
      return;
    }
    const hello = agentHelloSchema.safeParse(raw);
    if (!hello.success) return refuse('bad-hello', 'the hello message is not one this gateway understands');
    const h = hello.data;
    let binding: Buffer;
    try {
      binding = channelBinding(s);
    } catch {
      return refuse('bad-hello', 'no TLS keying material');
    }
    const signature = Buffer.from(h.signature, 'base64url');
    let agent: RegisteredAgent;
    try {
      if (h.type === 'join') {
        const token = parseJoinToken(h.token);
        if (!token) return refuse('token-invalid', 'the join token is not valid');
        const key = isEd25519Spki(h.publicKey);
        if (!key) return refuse('bad-hello', 'the public key must be an Ed25519 SubjectPublicKeyInfo');
        if (!verify(null, authMessage('join', token.id, binding), key, signature))
          return refuse('bad-signature', 'the signature does not verify with the presented key');
        const r = await this.options.registry.redeemJoinToken(token, {
          publicKey: h.publicKey,
          hostname: h.hostname,
          version: h.version,
        });
        if (!r.ok) return refuse(r.code, r.message);
        agent = r.agent;
        log.info({ agent: agent.name, agentId: agent.id, address, hostname: h.hostname }, 'agent joined');
      } else {
        const found = await this.options.registry.findAgent(h.agentId);
        if (!found) return refuse('unknown-agent', 'no agent is registered with this id');
        if (found.revokedAt) return refuse('revoked', `the agent "${found.name}" was revoked`);
        const key = isEd25519Spki(found.publicKey);
        if (!key || !verify(null, authMessage('connect', found.id, binding), key, signature))
          return refuse('bad-signature', 'the signature does not verify with the registered key');
        agent = found;
        await this.options.registry.noteSeen(found.id, h.version, h.hostname);
      }
    } catch (e) {
      log.error({ address, err: (e as Error).message }, 'agent authentication could not be completed');
      return refuse('unavailable', 'the gateway could not check the agent right now; retry');
    }
    if (s.destroyed) return;
    const max = this.options.hub.maxLinksPerAgent;
    if (this.options.hub.linkCount(agent.id) >= max)
      return refuse(
        'unavailable',
        `the agent "${agent.name}" already holds ${max} connections to this gateway; retry when one has ended`,
        true, // the agent is known: a limit, not a refusal before authentication
      );
    const welcome: GatewayWelcome = {
      v: TUNNEL_PROTOCOL_VERSION,
      ok: true,
      agentId: agent.id,
      name: agent.name,
      replica: this.options.replica,
      signingKey: this.options.signingPublicKey,
      heartbeatMs: this.options.heartbeatMs,
    };
    // HTTP/2 takes the TLS handle over: no write of ours may still be in flight when it does.
    await new Promise<void>((resolve) => s.write(encodeFrame(welcome), () => resolve()));
    if (s.destroyed) return;
    settle();
    s.setNoDelay?.(true);
    this.open.add(s);
    s.once('close', () => this.open.delete(s));
    await this.options.hub.attach(agent, s, address, h.version);
  }

  start(): Promise<AgentListenerAddress> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        const a = this.server.address() as net.AddressInfo;
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  async stop(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    for (const s of this.open) s.destroy();
    this.wss.close();
    await closed;
  }
}
