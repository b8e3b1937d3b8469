// The first exchange on an agent's connection, inside its TLS session and before HTTP/2 starts: the
// agent's hello (join with a one-time token, or connect as a registered agent) and the gateway's
// answer. Frames are a 4-byte big-endian length and UTF-8 JSON, capped at HANDSHAKE_MAX_BYTES.
//
// Proof of possession: the agent signs, with its Ed25519 key, a message that includes keying
// material exported from this very TLS session (RFC 5705 / RFC 8446 §7.5). A signature seen on one
// connection is worthless on any other, and no secret ever crosses the wire after the join.

import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { z } from 'zod';

export const TUNNEL_PROTOCOL_VERSION = 1;
/**
 * ALPN id of the tunnel (RFC 7301). Both sides require it: it keeps another TLS client from being
 * mistaken for an agent, and it is what lets Node's HTTP/2 server take a socket whose TLS it did not
 * negotiate (without ALPN it would treat the socket as HTTP/1.1).
 */
export const TUNNEL_ALPN = 'gatehouse-agent/1';
export const HANDSHAKE_MAX_BYTES = 16 * 1024;
/** RFC 5705 exporter label; the exported value is bound to one TLS session. */
export const EKM_LABEL = 'EXPORTER-gatehouse-agent-auth';
export const EKM_BYTES = 32;

const base64url = z.string().regex(/^[A-Za-z0-9_-]+$/, 'base64url');
const shortText = z.string().max(256);

export const agentHelloSchema = z.discriminatedUnion('type', [
  z.strictObject({
    v: z.literal(TUNNEL_PROTOCOL_VERSION),
    type: z.literal('join'),
    token: z.string().min(1).max(512),
    /** The agent's new Ed25519 public key, SPKI DER, base64url. */
    publicKey: base64url.max(256),
    signature: base64url.max(256),
    version: shortText,
    hostname: shortText,
  }),
  z.strictObject({
    v: z.literal(TUNNEL_PROTOCOL_VERSION),
    type: z.literal('connect'),
    agentId: z.string().min(1).max(128),
    signature: base64url.max(256),
    version: shortText,
    hostname: shortText,
  }),
]);
export type AgentHello = z.infer<typeof agentHelloSchema>;

/** Why the gateway refused an agent. `retry` says whether trying again later can succeed. */
export const REFUSAL_CODES = {
  'token-invalid': { retry: false },
  'token-used': { retry: false },
  'token-expired': { retry: false },
  'unknown-agent': { retry: false },
  revoked: { retry: false },
  'bad-signature': { retry: false },
  'bad-hello': { retry: false },
  unavailable: { retry: true },
} as const;
export type RefusalCode = keyof typeof REFUSAL_CODES;

export const gatewayWelcomeSchema = z.union([
  z.strictObject({
    v: z.literal(TUNNEL_PROTOCOL_VERSION),
    ok: z.literal(true),
    agentId: z.string().min(1).max(128),
    name: z.string().min(1).max(128),
    /** This gateway replica's id (one connection per replica: docs/agent.md, HA). */
    replica: z.string().min(1).max(128),
    /** Ed25519 key that signs target lists, SPKI DER, base64url. */
    signingKey: base64url.max(256),
    /** How often the agent should expect (and send) heartbeats. */
    heartbeatMs: z.number().int().positive(),
  }),
  z.strictObject({
    v: z.literal(TUNNEL_PROTOCOL_VERSION),
    ok: z.literal(false),
    code: z.enum(Object.keys(REFUSAL_CODES) as [RefusalCode, ...RefusalCode[]]),
    message: z.string().max(1024),
  }),
]);
export type GatewayWelcome = z.infer<typeof gatewayWelcomeSchema>;

export class HandshakeError extends Error {
  override readonly name = 'HandshakeError';
}

export function encodeFrame(message: object): Buffer {
  const body = Buffer.from(JSON.stringify(message), 'utf8');
  if (body.length > HANDSHAKE_MAX_BYTES) throw new HandshakeError('handshake message too large');
  const head = Buffer.alloc(4);
  head.writeUInt32BE(body.length, 0);
  return Buffer.concat([head, body]);
}

/**
 * Reads exactly one frame from the stream, consuming nothing after it (HTTP/2 follows at once).
 * Rejects on a hostile length, invalid JSON, end of stream or timeout.
 */
export function readFrame(stream: Duplex, timeoutMs: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let length: number | undefined;
    const done = (err: Error | undefined, value?: unknown) => {
      clearTimeout(timer);
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      stream.off('error', onError);
      if (err) reject(err);
      else resolve(value);
    };
    const onReadable = () => {
      if (length === undefined) {
        const head = stream.read(4) as Buffer | null;
        if (head === null) return;
        // At the end of the stream read(n) hands over what is left, even if shorter.
        if (head.length < 4) return done(new HandshakeError('the connection closed during the handshake'));
        length = head.readUInt32BE(0);
        if (length > HANDSHAKE_MAX_BYTES) {
          done(new HandshakeError(`handshake frame of ${length} bytes exceeds ${HANDSHAKE_MAX_BYTES}`));
          return;
        }
      }
      if (length === 0) {
        done(new HandshakeError('empty handshake frame'));
        return;
      }
      const body = stream.read(length) as Buffer | null;
      if (body === null) return;
      if (body.length < length) return done(new HandshakeError('the connection closed during the handshake'));
      try {
        done(undefined, JSON.parse(body.toString('utf8')));
      } catch {
        done(new HandshakeError('handshake frame is not JSON'));
      }
    };
    const onEnd = () => done(new HandshakeError('the connection closed during the handshake'));
    const onError = (e: Error) =>
      done(new HandshakeError(`connection error during the handshake: ${e.message}`));
    const timer = setTimeout(() => done(new HandshakeError('handshake timed out')), timeoutMs);
    stream.on('readable', onReadable);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
    stream.once('error', onError);
    onReadable();
  });
}

/** Keying material exported from this TLS session: the channel binding every signature covers. */
export function channelBinding(socket: TLSSocket): Buffer {
  return socket.exportKeyingMaterial(EKM_BYTES, EKM_LABEL, Buffer.alloc(0));
}

/**
 * The bytes an agent signs: purpose, hello type, the subject (join token id or agent id) and the
 * TLS session's exported keying material. Both sides compute it; only the signature travels.
 */
export function authMessage(type: 'join' | 'connect', subject: string, binding: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`gatehouse agent auth v1\n${type}\n${subject}\n`, 'utf8'), binding]);
}
