// The Kubernetes WebSocket channel protocol for exec and attach (k8s.io/apimachinery/pkg/util/
// remotecommand/constants.go, KEP-4006): every binary message starts with a channel byte — 0 stdin,
// 1 stdout, 2 stderr, 3 status (JSON meta/v1 Status), 4 terminal resize (JSON {Width, Height}) — and
// v5 adds a close signal, the message [255, channel], that half-closes one stream. Pure.

export const CHANNEL = {
  stdin: 0,
  stdout: 1,
  stderr: 2,
  status: 3,
  resize: 4,
} as const;

/** v5 close signal marker (remotecommand.StreamClose / wsstream "close" = 255). */
export const CLOSE_SIGNAL = 255;

export const SUBPROTOCOLS = {
  v5: 'v5.channel.k8s.io',
  v4: 'v4.channel.k8s.io',
} as const;
export type ChannelSubprotocol = (typeof SUBPROTOCOLS)[keyof typeof SUBPROTOCOLS];

/** kubectl ≥ 1.31 port-forward: SPDY/3.1 framing tunnelled in WebSocket binary messages. */
export const PORT_FORWARD_TUNNEL = 'SPDY/3.1+portforward.k8s.io';

/** The best channel subprotocol both sides speak (v5, else v4); undefined when none. */
export function chooseSubprotocol(offered: Iterable<string>): ChannelSubprotocol | undefined {
  const set = new Set([...offered].map((p) => p.trim()));
  if (set.has(SUBPROTOCOLS.v5)) return SUBPROTOCOLS.v5;
  if (set.has(SUBPROTOCOLS.v4)) return SUBPROTOCOLS.v4;
  return undefined;
}

export type ChannelMessage =
  | { readonly type: 'data'; readonly channel: number; readonly payload: Buffer }
  | { readonly type: 'close'; readonly channel: number };

export class ChannelProtocolError extends Error {
  override readonly name = 'ChannelProtocolError';
}

/** Decodes one binary WebSocket message. */
export function decodeChannelMessage(message: Buffer, subprotocol: ChannelSubprotocol): ChannelMessage {
  if (message.length === 0) throw new ChannelProtocolError('an empty channel message');
  const channel = message[0]!;
  if (channel === CLOSE_SIGNAL) {
    if (subprotocol !== SUBPROTOCOLS.v5 || message.length !== 2)
      throw new ChannelProtocolError('a malformed close signal');
    return { type: 'close', channel: message[1]! };
  }
  if (channel > CHANNEL.resize) throw new ChannelProtocolError(`an unknown channel ${channel}`);
  return { type: 'data', channel, payload: message.subarray(1) };
}

export function encodeChannelMessage(channel: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const out = Buffer.allocUnsafe(body.length + 1);
  out[0] = channel;
  body.copy(out, 1);
  return out;
}

export function encodeCloseSignal(channel: number): Buffer {
  return Buffer.from([CLOSE_SIGNAL, channel]);
}

/** A resize message's size, or undefined when it is not {Width, Height} with sane numbers. */
export function decodeResize(payload: Buffer): { width: number; height: number } | undefined {
  if (payload.length > 256) return undefined;
  try {
    const v = JSON.parse(payload.toString('utf8')) as { Width?: unknown; Height?: unknown };
    const w = v.Width;
    const h = v.Height;
    if (typeof w !== 'number' || typeof h !== 'number') return undefined;
    if (!Number.isInteger(w) || !Number.isInteger(h) || w < 0 || h < 0 || w > 65535 || h > 65535)
      return undefined;
    return { width: w, height: h };
  } catch {
    return undefined;
  }
}
