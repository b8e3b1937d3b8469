// Opens the agent's one outbound connection to a gateway: TLS straight to the agent listener
// (`tls://host:port`), or a WebSocket (`ws://`, `wss://`, or `http(s)://` as aliases) with the same
// TLS session inside it — optionally through an HTTP proxy (CONNECT). The gateway is verified by the
// pin from the join token (SHA-256 of its public key), or by a CA bundle when one is given.

import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import WebSocket, { createWebSocketStream } from 'ws';
import { TUNNEL_ALPN } from '../handshake.js';
import { publicKeyPin } from '../join-token.js';

export const DEFAULT_TUNNEL_PATH = '/agent/v1/tunnel';

export interface GatewayVerification {
  /** Expected pin of the gateway's agent-listener public key. */
  readonly pin?: string;
  /** PEM CA bundle: verify the chain and the host name instead of a pin. */
  readonly ca?: Buffer;
}

export interface ConnectSettings extends GatewayVerification {
  readonly proxy?: URL;
  readonly timeoutMs: number;
}

export class GatewayVerificationError extends Error {
  override readonly name = 'GatewayVerificationError';
}

/** Accepts tls://, ws://, wss://, http:// and https:// gateway URLs. */
export function parseGatewayUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(
      `--gateway ${text}: not a URL (e.g. tls://gatehouse.example.com:8443 or https://gatehouse.example.com)`,
    );
  }
  if (!['tls:', 'ws:', 'wss:', 'http:', 'https:'].includes(url.protocol))
    throw new Error(`--gateway ${text}: the scheme must be tls, ws, wss, http or https`);
  if (url.protocol === 'tls:' && !url.port) throw new Error(`--gateway ${text}: a tls:// URL needs a port`);
  return url;
}

function connectTcp(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port });
    const timer = setTimeout(
      () => s.destroy(new Error(`timed out connecting to ${host}:${port}`)),
      timeoutMs,
    );
    s.once('connect', () => {
      clearTimeout(timer);
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/**
 * The proxy to reach the gateway through, from `--proxy` or `HTTPS_PROXY`: an `http://` URL (a bare
 * `host:port`, as `HTTPS_PROXY` often holds, is one). Any other scheme is refused: the CONNECT goes to
 * the proxy in plain HTTP, so an `https://user:password@proxy` would send its credentials in clear to
 * a proxy that expects TLS, and `socks5://` would be spoken to as HTTP.
 */
export function parseProxyUrl(value: string): URL {
  const text = value.includes('://') ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // Not the value itself: a proxy URL can carry a password.
    throw new Error('the proxy is not a URL');
  }
  if (url.protocol !== 'http:')
    throw new Error(
      `the proxy must be an http:// URL (the agent sends CONNECT in plain HTTP); ${url.protocol}// proxies are not supported`,
    );
  if (url.hostname === '') throw new Error('the proxy URL names no host');
  return url;
}

/** A TCP connection to host:port through an HTTP proxy's CONNECT (RFC 9110 §9.3.6). */
function connectThroughProxy(proxy: URL, host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    // Never a Proxy-Authorization to a proxy this plain-HTTP CONNECT does not speak to as configured.
    if (proxy.protocol !== 'http:') {
      reject(new Error(`the proxy must be an http:// URL, not ${proxy.protocol}//`));
      return;
    }
    const authority = net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
    const headers: Record<string, string> = { host: authority };
    if (proxy.username)
      headers['proxy-authorization'] =
        `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}`;
    const req = http.request({
      host: proxy.hostname,
      port: Number(proxy.port || 80),
      method: 'CONNECT',
      path: authority,
      headers,
      timeout: timeoutMs,
    });
    req.once('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        reject(new Error(`the proxy refused CONNECT ${authority}: ${res.statusCode}`));
      } else resolve(socket);
    });
    req.once('timeout', () => req.destroy(new Error('the proxy did not answer in time')));
    req.once('error', reject);
    req.end();
  });
}

function rawConnection(host: string, port: number, s: ConnectSettings): Promise<net.Socket> {
  return s.proxy
    ? connectThroughProxy(s.proxy, host, port, s.timeoutMs)
    : connectTcp(host, port, s.timeoutMs);
}

/** Opens the WebSocket and returns it as a byte stream (each write one binary message). */
async function openWebSocket(url: URL, s: ConnectSettings): Promise<Duplex> {
  const secure = url.protocol === 'wss:' || url.protocol === 'https:';
  const wsUrl = new URL(url.href);
  wsUrl.protocol = secure ? 'wss:' : 'ws:';
  if (wsUrl.pathname === '/' || wsUrl.pathname === '') wsUrl.pathname = DEFAULT_TUNNEL_PATH;
  const port = Number(wsUrl.port || (secure ? 443 : 80));
  const raw = s.proxy ? await rawConnection(wsUrl.hostname, port, s) : undefined;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl, {
      perMessageDeflate: false,
      handshakeTimeout: s.timeoutMs,
      maxPayload: 1024 * 1024,
      ...(raw
        ? {
            createConnection: () =>
              secure
                ? tls.connect({
                    socket: raw,
                    servername: net.isIP(wsUrl.hostname) ? undefined : wsUrl.hostname,
                    ALPNProtocols: ['http/1.1'],
                  })
                : raw,
          }
        : {}),
    });
    ws.once('open', () => {
      ws.removeAllListeners('error');
      const stream = createWebSocketStream(ws, { allowHalfOpen: false });
      stream.on('error', () => undefined);
      resolve(stream);
    });
    ws.once('unexpected-response', (_req, res) => {
      ws.terminate();
      reject(new Error(`the gateway answered the WebSocket upgrade with HTTP ${res.statusCode ?? '?'}`));
    });
    ws.once('error', (e) => reject(e));
  });
}

/** Connects and completes TLS with the gateway's agent listener, verified by pin or CA. */
export async function openGatewayConnection(url: URL, s: ConnectSettings): Promise<tls.TLSSocket> {
  if (!s.pin && !s.ca)
    throw new GatewayVerificationError('nothing to verify the gateway with: give a join token or --ca');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const carrier: Duplex =
    url.protocol === 'tls:' ? await rawConnection(host, Number(url.port), s) : await openWebSocket(url, s);
  const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
    const t = tls.connect({
      socket: carrier,
      servername: net.isIP(host) ? undefined : host,
      minVersion: 'TLSv1.3',
      ALPNProtocols: [TUNNEL_ALPN],
      ...(s.ca
        ? {
            ca: s.ca,
            rejectUnauthorized: true,
            // Always the gateway URL's own host. Left to itself, Node checks the certificate against
            // `servername`, else the carrier socket's host, else "localhost": for an IP address in
            // the URL that is the proxy's name, or "localhost" inside a WebSocket.
            checkServerIdentity: (_name: string, cert: tls.PeerCertificate) =>
              tls.checkServerIdentity(host, cert),
          }
        : { rejectUnauthorized: false }),
    });
    const timer = setTimeout(
      () => t.destroy(new Error('TLS handshake with the gateway timed out')),
      s.timeoutMs,
    );
    t.once('secureConnect', () => {
      clearTimeout(timer);
      t.removeAllListeners('error');
      resolve(t);
    });
    t.once('error', (e: Error) => {
      clearTimeout(timer);
      carrier.destroy();
      reject(e);
    });
  });
  if (socket.alpnProtocol !== TUNNEL_ALPN) {
    socket.destroy();
    throw new Error(`the gateway did not agree to ${TUNNEL_ALPN}: is this the agents listener?`);
  }
  if (!s.ca) {
    // Pin check before a single byte is sent: rejectUnauthorized is off only because the pin replaces it.
    const cert = socket.getPeerX509Certificate();
    if (!cert || publicKeyPin(cert) !== s.pin) {
      socket.destroy();
      throw new GatewayVerificationError(
        "the gateway's certificate does not match the pin in the join token (wrong gateway, or its agent key changed: use --ca)",
      );
    }
  }
  socket.setNoDelay?.(true);
  socket.setKeepAlive?.(true, 15_000);
  return socket;
}
