// An upstream that echoes the request it got (httpbin's /headers and /anything, a debug page, an error
// page quoting the request, PHP's phpinfo()) sends the connection's own credential back: the bearer
// token, API key or basic password Gatehouse injected. It must not reach the client, whoever it is.

import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';

const API_TOKEN = `upstream-token-${randomBytes(12).toString('hex')}`;
const API_PASSWORD = `upstream-password-${randomBytes(12).toString('hex')}`;

function startEcho(): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    if (url.endsWith('/headers')) {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ headers: req.headers }, null, 2));
    }
    if (url.endsWith('/text')) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      return res.end(
        Object.entries(req.headers)
          .map(([k, v]) => `${k}: ${String(v)}`)
          .join('\n'),
      );
    }
    if (url.endsWith('/gzip')) {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' });
      return res.end(gzipSync(`request: ${JSON.stringify(req.headers)}`));
    }
    if (url.endsWith('/bin')) {
      // Binary, with a length, written in two pieces that split the echoed request mid-credential.
      const echoed = Buffer.from(`\u0000\u0001${JSON.stringify(req.headers)}\u0002`);
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': String(echoed.length),
      });
      const cut = echoed.indexOf(Buffer.from(API_TOKEN.slice(0, 8))) + 12;
      const at = cut > 12 ? cut : Math.floor(echoed.length / 2);
      res.write(echoed.subarray(0, at));
      setTimeout(() => res.end(echoed.subarray(at)), 20);
      return;
    }
    if (url.endsWith('/bingzip')) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-encoding': 'gzip' });
      return res.end(gzipSync(JSON.stringify(req.headers)));
    }
    if (url.endsWith('/ndjson')) {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write(`{"n":1}\n`);
      return res.end(`${JSON.stringify({ request: JSON.stringify(req.headers) })}\n`);
    }
    if (url.endsWith('/ranged')) {
      // Honours a Range (RFC 9110 §14): a piece of the echo shorter than any form of the credential.
      const echoed = Buffer.from(`request: ${JSON.stringify(req.headers)}`);
      const m = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers.range ?? ''));
      if (m === null) {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes' });
        return res.end(echoed);
      }
      const [from, to] = [Number(m[1]), Math.min(Number(m[2]), echoed.length - 1)];
      res.writeHead(206, {
        'content-type': 'application/octet-stream',
        'content-range': `bytes ${from}-${to}/${echoed.length}`,
      });
      return res.end(echoed.subarray(from, to + 1));
    }
    if (url.endsWith('/header')) {
      res.writeHead(200, { 'content-type': 'text/plain', 'x-debug-request': JSON.stringify(req.headers) });
      return res.end('ok');
    }
    res.writeHead(404);
    res.end();
  });
  // A WebSocket endpoint that sends back the head of the upgrade it got (with compression on offer).
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: true });
  server.on('upgrade', (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => {
      ws.send(`upgrade: ${JSON.stringify(req.headers)}`);
      ws.on('message', (m: Buffer) =>
        ws.send(`echo ${m.toString()} ${String(req.headers.authorization ?? req.headers['x-tenant-auth'])}`),
      );
    });
  });
  return new Promise((r) =>
    server.listen(0, '127.0.0.1', () =>
      r({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }),
    ),
  );
}

describe('an upstream that echoes its request', { timeout: 60_000 }, () => {
  let echo: Awaited<ReturnType<typeof startEcho>>;
  let gw: HttpTestGateway;
  beforeAll(async () => {
    echo = await startEcho();
    gw = await startHttpTestGateway({
      env: { ...process.env, API_TOKEN, API_PASSWORD },
      connections: {
        bearer: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          upstream: echo.url,
          auth: { type: 'bearer', token: { env: 'API_TOKEN' } },
        },
        basic: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          upstream: echo.url,
          auth: { type: 'basic', username: 'svc', password: { env: 'API_PASSWORD' } },
        },
        key: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          upstream: echo.url,
          auth: { type: 'header', name: 'X-Tenant-Auth', value: { env: 'API_TOKEN' } },
        },
      },
      policies: [
        {
          id: 'open',
          subjects: { groups: ['open'] },
          connections: ['*'],
          rules: [{ id: 'all', effect: 'allow', match: {} }],
        },
        {
          id: 'masked',
          subjects: { groups: ['masked'] },
          connections: ['*'],
          rules: [{ id: 'all-masked', effect: 'allow', match: {}, mask: true }],
        },
      ],
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await new Promise<void>((r) => echo?.server.close(() => r()));
  });

  for (const conn of ['bearer', 'basic', 'key']) {
    it(`WebSocket messages, ${conn} credential`, async () => {
      const token = await gw.token({ subject: `ws-${conn}`, groups: ['open'], agent: true });
      const ws = new WebSocket(`${gw.endpoint(conn).replace('http:', 'ws:')}/ws`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const got: string[] = [];
      await new Promise<void>((resolve, reject) => {
        ws.on('message', (m: Buffer) => {
          got.push(m.toString());
          if (got.length === 1) ws.send('hello');
          if (got.length === 2) resolve();
        });
        ws.on('error', reject);
      });
      ws.close();
      const all = got.join('\n');
      expect(all).toContain('sec-websocket-version');
      expect(all).toContain('echo hello');
      expect(all).not.toContain(API_TOKEN);
      expect(all).not.toContain(API_PASSWORD);
      expect(all).not.toContain(Buffer.from(`svc:${API_PASSWORD}`).toString('base64'));
    });
  }

  it('an echo read in ranges shorter than the credential is still one echo: Range is not forwarded', async () => {
    const token = await gw.token({ subject: 'ranged', groups: ['open'], agent: true });
    const pieces: string[] = [];
    // 6-byte pieces, each shorter than any form of the token, walked over the whole echo.
    for (let from = 0; from < 600; from += 6) {
      const res = await fetch(`${gw.endpoint('bearer')}/ranged`, {
        headers: { authorization: `Bearer ${token}`, range: `bytes=${from}-${from + 5}` },
      });
      const body = Buffer.from(await res.arrayBuffer()).toString('latin1');
      const whole = res.status === 200;
      pieces.push(whole ? body.slice(from, from + 6) : body);
      if (
        (whole ? body.length : Number(/\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1])) <=
        from + 6
      )
        break;
    }
    const joined = pieces.join('');
    expect(joined).toContain('user-agent');
    expect(joined).not.toContain(API_TOKEN);
  });

  for (const group of ['open', 'masked']) {
    for (const conn of ['bearer', 'basic', 'key']) {
      for (const path of ['/headers', '/text', '/gzip', '/header', '/bin', '/bingzip', '/ndjson']) {
        it(`${group} agent, ${conn} credential, ${path}`, async () => {
          const token = await gw.token({
            subject: `a-${group}-${conn}-${path.slice(1)}`,
            groups: [group],
            agent: true,
          });
          const res = await fetch(`${gw.endpoint(conn)}${path}`, {
            headers: { authorization: `Bearer ${token}`, 'accept-encoding': 'gzip' },
          });
          const body = await res.text();
          const all = `${JSON.stringify(Object.fromEntries(res.headers as unknown as Iterable<[string, string]>))}\n${body}`;
          const b64 = Buffer.from(`svc:${API_PASSWORD}`).toString('base64');
          expect(all).not.toContain(API_TOKEN);
          expect(all).not.toContain(API_PASSWORD);
          expect(all).not.toContain(b64);
          if (group === 'masked' && path === '/bin') {
            // A masked principal's binary body naming a sensitive field is withheld whole, as before.
            expect(res.status).toBe(502);
            return;
          }
          // The rest of the answer arrives: only the credential is replaced.
          expect(`${res.status} ${body}`).toMatch(/^200 /);
          expect(all).toContain('user-agent');
        });
      }
    }
  }
});
