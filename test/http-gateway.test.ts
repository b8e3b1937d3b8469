// Generic HTTP APIs through Gatehouse: bearer tokens to the gateway, the connection's own credential
// injected upstream, method + path rules, JSON masking, streaming pass-through, and WebSocket upgrades.

import { createHash, randomBytes } from 'node:crypto';
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generate } from 'selfsigned';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';

const API_TOKEN = `upstream-api-token-${randomBytes(8).toString('hex')}`;
const API_PASSWORD = `upstream-basic-password-${randomBytes(8).toString('hex')}`;
const BIG = randomBytes(5 * 1024 * 1024 + 3);
// Opaque on purpose: no detector knows these shapes, only the header's name can mask them.
const ECHOED_KEY = `sk_live_${randomBytes(6).toString('hex')}`;
const META_PASSWORD = `hunter2plain-${randomBytes(4).toString('hex')}`;
const UPSTREAM_SESSION = `s-${randomBytes(8).toString('hex')}`;

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

function startApi(): Promise<{ url: string; seen: Seen[]; server: http.Server }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    const json = (status: number, body: unknown, extra: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...extra });
      res.end(JSON.stringify(body));
    };
    const url = req.url ?? '';
    if (req.method === 'GET' && url === '/base/v1/me') {
      // An upstream that echoes the key, carries user metadata in headers, redirects with a token,
      // and opens a session for the credential the request carried.
      res.setHeader('set-cookie', [`SESSION=${UPSTREAM_SESSION}; Path=/; HttpOnly`, 'theme=dark']);
      return json(
        200,
        { ok: true },
        {
          'x-api-key': ECHOED_KEY,
          'x-amz-meta-db-password': META_PASSWORD,
          'x-owner': 'owner@example.com',
          location: '/v1/callback?access_token=tok-in-location-1&state=ok',
          etag: '"e-1"',
        },
      );
    }
    if (req.method === 'GET' && url.startsWith('/base/v1/users')) {
      return json(200, {
        users: [{ name: 'ann', email: 'ann@example.com', password: 'pw-1234567' }],
        api_key: 'k-live-abc',
        next: null,
      });
    }
    if (req.method === 'GET' && url === '/base/v1/stream') {
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': String(BIG.length),
      });
      let off = 0;
      const pump = () => {
        while (off < BIG.length) {
          const part = BIG.subarray(off, off + 65536);
          off += part.length;
          if (!res.write(part)) return void res.once('drain', pump);
        }
        res.end();
      };
      return pump();
    }
    if (req.method === 'GET' && url === '/base/v1/gzip') {
      const body = gzipSync(JSON.stringify({ token: 'tok-very-secret', user: 'bob' }));
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        'content-length': String(body.length),
      });
      return res.end(body);
    }
    if (req.method === 'POST' && url === '/base/v1/echo') {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => json(200, { received: Buffer.concat(parts).length }));
      return;
    }
    if (req.method === 'DELETE') {
      res.writeHead(204);
      return res.end();
    }
    json(404, { error: 'not found' });
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    seen.push({ method: 'UPGRADE', url: req.url ?? '', headers: req.headers });
    if (req.url?.startsWith('/base/v1/users')) {
      // An API that ignores Upgrade answers the GET as it answers any.
      const body = JSON.stringify({ users: [{ name: 'ann', password: 'pw-1234567' }] });
      socket.end(
        `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
      return;
    }
    const accept = createHash('sha1')
      .update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n` +
        `Set-Cookie: WSSESSION=${UPSTREAM_SESSION}\r\n\r\n`,
    );
    socket.on('data', (d: Buffer) => socket.write(Buffer.concat([Buffer.from('echo:'), d])));
    socket.on('end', () => socket.end());
    socket.on('error', () => socket.destroy());
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server }),
    ),
  );
}

describe('generic HTTP gateway', () => {
  let api: Awaited<ReturnType<typeof startApi>>;
  let gw: HttpTestGateway;
  let devToken: string;
  let endpoint: string;

  beforeAll(async () => {
    api = await startApi();
    gw = await startHttpTestGateway({
      env: { ...process.env, API_TOKEN, API_PASSWORD },
      connections: {
        api: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          upstream: `${api.url}/base`,
          auth: { type: 'bearer', token: { env: 'API_TOKEN' } },
          headers: { 'X-Team': 'gatehouse' },
          masking: { maxBodyBytes: 64 * 1024 },
        },
        'api-basic': {
          protocol: 'http',
          listen: '127.0.0.1:0',
          upstream: `${api.url}/base`,
          auth: { type: 'basic', username: 'svc', password: { env: 'API_PASSWORD' } },
          // Passed on purpose (an upstream whose sessions the clients are meant to hold).
          responseCookies: 'pass',
        },
        // No credential and no header added: the upstream's cookies answer what the client sent.
        'api-open': {
          protocol: 'http',
          listen: '127.0.0.1:0',
          upstream: `${api.url}/base`,
        },
        'api-key': {
          protocol: 'http',
          listen: '127.0.0.1:0',
          upstream: `${api.url}/base`,
          auth: { type: 'header', name: 'X-Api-Key', value: { env: 'API_TOKEN' } },
        },
      },
      policies: [
        {
          id: 'dev',
          subjects: { groups: ['dev'] },
          connections: ['api', 'api-basic', 'api-key', 'api-open'],
          rules: [
            { id: 'api-no-admin', effect: 'deny', match: { paths: ['/admin/**'] } },
            { id: 'api-review-deletes', effect: 'review', match: { methods: ['DELETE'], paths: ['/v1/**'] } },
            {
              id: 'api-allow',
              effect: 'allow',
              match: { methods: ['GET', 'POST'], paths: ['/v1/**', '/ws'] },
            },
          ],
        },
        {
          id: 'masked',
          subjects: { groups: ['masked'] },
          connections: ['api', 'api-basic'],
          rules: [
            {
              id: 'masked-reads',
              effect: 'allow',
              match: { methods: ['GET'], paths: ['/v1/**', '/ws'] },
              mask: true,
            },
          ],
        },
        {
          id: 'masked-writers',
          subjects: { groups: ['masked-writers'] },
          connections: ['api'],
          rules: [
            {
              id: 'masked-ws',
              effect: 'allow',
              match: { methods: ['GET', 'POST'], paths: ['/ws'] },
              mask: true,
            },
          ],
        },
        {
          id: 'readers',
          subjects: { groups: ['readers'] },
          connections: ['api'],
          rules: [{ id: 'reads', effect: 'allow', match: { methods: ['GET'], paths: ['/ws'] } }],
        },
      ],
    });
    devToken = await gw.token({ subject: 'dana', groups: ['dev'] });
    endpoint = gw.endpoint('api');
  });

  afterAll(async () => {
    await gw?.stop();
    api?.server.closeAllConnections();
    await new Promise((r) => api?.server.close(r));
  });

  const get = (p: string, token = devToken, base = endpoint) =>
    request(`${base}${p}`, { headers: { authorization: `Bearer ${token}` } });

  it('refuses requests without a valid Gatehouse token', async () => {
    const none = await request(`${endpoint}/v1/users`);
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toContain('Bearer');
    expect(JSON.parse(await none.body.text())).toMatchObject({ status: 401 });
    const bad = await get('/v1/users', 'not-a-token');
    expect(bad.statusCode).toBe(401);
    await bad.body.text();
    const stranger = await get('/v1/users', await gw.token({ subject: 'eve', groups: ['marketing'] }));
    expect(stranger.statusCode).toBe(403);
    expect(await stranger.body.text()).toContain('connection-access');
  });

  it('injects the upstream credential, never forwards the client token, and masks JSON', async () => {
    const before = api.seen.length;
    const res = await get('/v1/users?limit=5');
    expect(res.statusCode).toBe(200);
    const body = (await res.body.json()) as {
      users: { name: string; email: string; password: string }[];
      api_key: string;
    };
    expect(body.users[0]).toEqual({
      name: 'ann',
      email: '[REDACTED:email]',
      password: '[REDACTED:password]',
    });
    expect(body.api_key).toBe('[REDACTED:apikey]');
    const seen = api.seen[before]!;
    expect(seen.url).toBe('/base/v1/users?limit=5');
    expect(seen.headers.authorization).toBe(`Bearer ${API_TOKEN}`);
    expect(seen.headers['x-team']).toBe('gatehouse');
    expect(JSON.stringify(seen.headers)).not.toContain(devToken);
  });

  it('injects basic and custom-header credentials', async () => {
    const basic = await get('/v1/users', devToken, gw.endpoint('api-basic'));
    expect(basic.statusCode).toBe(200);
    await basic.body.text();
    expect(api.seen.at(-1)!.headers.authorization).toBe(
      `Basic ${Buffer.from(`svc:${API_PASSWORD}`).toString('base64')}`,
    );
    const key = await get('/v1/users', devToken, gw.endpoint('api-key'));
    expect(key.statusCode).toBe(200);
    await key.body.text();
    expect(api.seen.at(-1)!.headers['x-api-key']).toBe(API_TOKEN);
    expect(api.seen.at(-1)!.headers.authorization).toBeUndefined();
  });

  // docs/security.md, class 157: a session the upstream opens for the injected credential works without
  // Gatehouse, for any method; no principal gets it where Gatehouse injects one, unless configured.
  it("withholds the upstream's cookies where Gatehouse injects a credential, from every principal", async () => {
    const injected = await get('/v1/me');
    expect(injected.statusCode).toBe(200);
    await injected.body.text();
    expect(injected.headers['set-cookie']).toBeUndefined();
    // Nothing else is withheld from a principal whose reads are not masked.
    expect(injected.headers['x-api-key']).toBe(ECHOED_KEY);
    expect(injected.headers['x-amz-meta-db-password']).toBe(META_PASSWORD);
    for (const base of [gw.endpoint('api-basic'), gw.endpoint('api-open')]) {
      const passed = await get('/v1/me', devToken, base);
      await passed.body.text();
      expect(passed.headers['set-cookie']).toEqual([
        `SESSION=${UPSTREAM_SESSION}; Path=/; HttpOnly`,
        'theme=dark',
      ]);
    }
  });

  it("masks a masked principal's response headers as its body: by name, text field and detector", async () => {
    const masked = await gw.token({ subject: 'mona', groups: ['masked'], agent: true });
    const res = await get('/v1/me', masked);
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({ ok: true });
    expect(res.headers['x-api-key']).toBe('[REDACTED:apikey]');
    expect(res.headers['x-amz-meta-db-password']).toBe('[REDACTED:password]');
    expect(res.headers['x-owner']).toBe('[REDACTED:email]');
    expect(res.headers['location']).toBe('/v1/callback?access_token=[REDACTED:access_token]&state=ok');
    expect(res.headers['etag']).toBe('"e-1"');
    expect(res.headers['set-cookie']).toBeUndefined();
    // A connection that passes cookies still masks them for a masked principal.
    const passed = await get('/v1/me', masked, gw.endpoint('api-basic'));
    await passed.body.text();
    expect(passed.headers['set-cookie']).toEqual(['[REDACTED:set_cookie]', '[REDACTED:set_cookie]']);
    const raw = JSON.stringify([res.headers, passed.headers]);
    for (const secret of [ECHOED_KEY, META_PASSWORD, UPSTREAM_SESSION, 'tok-in-location-1'])
      expect(raw).not.toContain(secret);
    // The record counts what was masked in the headers, and holds none of it.
    await new Promise((r) => setTimeout(r, 100));
    const sessions = await gw.gateway.store.listSessions({ subject: 'mona', limit: 100 });
    const statements = (await Promise.all(sessions.map((s) => gw.gateway.store.getSession(s.id)))).flatMap(
      (d) => d?.statements ?? [],
    );
    const onApi = sessions.find((s) => s.connection === 'api')!;
    const viaApi = (await gw.gateway.store.getSession(onApi.id))!.statements;
    expect(viaApi.find((s) => s.text === 'GET /v1/me')?.result?.masked).toEqual({
      apikey: 1,
      password: 1,
      email: 1,
      access_token: 1,
    });
    const recorded = JSON.stringify(statements);
    for (const secret of [ECHOED_KEY, META_PASSWORD, UPSTREAM_SESSION])
      expect(recorded).not.toContain(secret);
  });

  it('decodes a gzip JSON response to mask it', async () => {
    const res = await request(`${endpoint}/v1/gzip`, {
      headers: { authorization: `Bearer ${devToken}`, 'accept-encoding': 'gzip' },
    });
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(await res.body.json()).toEqual({ token: '[REDACTED:token]', user: 'bob' });
  });

  it('streams large bodies both ways without buffering', async () => {
    const res = await get('/v1/stream');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-length']).toBe(String(BIG.length));
    expect(Buffer.from(await res.body.arrayBuffer()).equals(BIG)).toBe(true);
    const up = await request(`${endpoint}/v1/echo`, {
      method: 'POST',
      headers: { authorization: `Bearer ${devToken}`, 'content-type': 'application/octet-stream' },
      body: BIG,
    });
    expect(await up.body.json()).toEqual({ received: BIG.length });
  });

  it('denies by path, refuses an encoded one as ambiguous, and holds DELETE for review', async () => {
    const before = api.seen.length;
    const admin = await request(`${endpoint}/admin/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${devToken}` },
      body: '{}',
    });
    expect(admin.statusCode).toBe(403);
    const problem = (await admin.body.json()) as { rule: string; detail: string; requestId: string };
    expect(problem.rule).toBe('api-no-admin');
    expect(problem.detail).toContain('api-no-admin');
    const sneaky = await get('/v1/..%2Fadmin%2Fusers');
    expect(sneaky.statusCode).toBe(400);
    const why = (await sneaky.body.json()) as { rule: string; detail: string };
    expect(why.rule).toBe('http-ambiguous-request');
    expect(why.detail).toMatch(/encoded "\/"/);
    expect(api.seen.length).toBe(before);

    const pending = request(`${endpoint}/v1/users/7`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${devToken}` },
    });
    const review = await gw.approver.next();
    expect(review.ctx.action).toMatchObject({ kind: 'http', method: 'DELETE', path: '/v1/users/7' });
    expect(api.seen.length).toBe(before);
    review.approve();
    const approved = await pending;
    expect(approved.statusCode).toBe(204);
    // The eventual answer names the approval request it waited on, in headers a client can read.
    expect(approved.headers['gatehouse-approval-request']).toBe(`req-${gw.approver.seen.length}`);
    expect(approved.headers['gatehouse-approval-url']).toMatch(
      /^http:\/\/approvals\.test\/approvals\/req-\d+$/,
    );
    expect(api.seen.at(-1)).toMatchObject({ method: 'DELETE', url: '/base/v1/users/7' });

    const refused = request(`${endpoint}/v1/users/8`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${devToken}` },
    });
    (await gw.approver.next()).deny('No.');
    const r = await refused;
    expect(r.statusCode).toBe(403);
    expect(r.headers['gatehouse-approval-request']).toBe(`req-${gw.approver.seen.length}`);
    expect(((await r.body.json()) as { rule: string }).rule).toBe('api-review-deletes');
  });

  it('withdraws a held request when its client goes away', async () => {
    const before = api.seen.length;
    const client = new AbortController();
    const pending = request(`${endpoint}/v1/users/9`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${devToken}` },
      signal: client.signal,
    }).catch((e: unknown) => e);
    const review = await gw.approver.next();
    // The hold signal is made only for a held request (the gate asks for it then): it must still
    // follow the client.
    expect(review.ctx.signal.aborted).toBe(false);
    client.abort();
    await pending;
    await new Promise<void>((resolve) =>
      review.ctx.signal.aborted
        ? resolve()
        : review.ctx.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    expect(api.seen.length).toBe(before);
  });

  it('passes WebSocket upgrades through and records them', async () => {
    const key = randomBytes(16).toString('base64');
    const port = new URL(endpoint).port;
    const echoed = await new Promise<string>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port,
        path: '/ws',
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-key': key,
          'sec-websocket-version': '13',
          authorization: `Bearer ${devToken}`,
        },
      });
      req.on('upgrade', (res: IncomingMessage, socket: Socket) => {
        expect(res.headers['sec-websocket-accept']).toBe(
          createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64'),
        );
        // The session the upstream opened on the upgrade is withheld as any response's (class 157).
        expect(res.headers['set-cookie']).toBeUndefined();
        socket.once('data', (d: Buffer) => {
          resolve(d.toString());
          socket.end();
        });
        socket.write('hello');
      });
      req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
      req.on('error', reject);
      req.end();
    });
    expect(echoed).toBe('echo:hello');
    const upgrade = api.seen.findLast((s) => s.method === 'UPGRADE')!;
    expect(upgrade.headers.authorization).toBe(`Bearer ${API_TOKEN}`);

    const refused = await new Promise<number>((resolve) => {
      const req = http.request({
        host: '127.0.0.1',
        port,
        path: '/ws',
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-key': key,
          'sec-websocket-version': '13',
        },
      });
      req.on('response', (res) => resolve(res.statusCode ?? 0));
      req.on('upgrade', () => resolve(101));
      req.end();
    });
    expect(refused).toBe(401);

    // An upstream that answers the upgrade as a plain GET: its body is not relayed unmasked (class 157).
    const declined = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port,
        path: '/v1/users',
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-key': key,
          'sec-websocket-version': '13',
          authorization: `Bearer ${devToken}`,
        },
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('upgrade', () => reject(new Error('upgraded')));
      req.on('error', reject);
      req.end();
    });
    expect(declined).toEqual({ status: 200, body: '' });
  });

  it('decides an upgrade as a GET and a POST of its path, and opens none for a masked principal (class 208)', async () => {
    const port = new URL(endpoint).port;
    const upgrade = (token: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request({
          host: '127.0.0.1',
          port,
          path: '/ws',
          headers: {
            connection: 'Upgrade',
            upgrade: 'websocket',
            'sec-websocket-key': randomBytes(16).toString('base64'),
            'sec-websocket-version': '13',
            authorization: `Bearer ${token}`,
          },
        });
        req.on('response', (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('upgrade', (_res, socket: Socket) => {
          socket.destroy();
          resolve({ status: 101, body: '' });
        });
        req.on('error', reject);
        req.end();
      });
    const upgrades = () => api.seen.filter((s) => s.method === 'UPGRADE').length;
    const before = upgrades();
    // Allowed to read only: the socket would carry its messages up as a POST would.
    const reader = await upgrade(await gw.token({ subject: 'rita', groups: ['readers'] }));
    expect(reader.status, reader.body).toBe(403);
    expect(reader.body).toContain('POST /ws');
    // Its reads masked: the messages that come down could not be.
    const masked = await upgrade(await gw.token({ subject: 'mo', groups: ['masked-writers'] }));
    expect(masked.status, masked.body).toBe(502);
    expect(masked.body).toMatch(/never masked/);
    expect(upgrades(), 'a refused upgrade reached the upstream').toBe(before);
    // Allowed both: upgraded, as before.
    expect((await upgrade(devToken)).status).toBe(101);
    expect(upgrades()).toBe(before + 1);
  });

  it('records every request with its decision', async () => {
    await new Promise((r) => setTimeout(r, 200));
    const sessions = await gw.gateway.store.listSessions({ subject: 'dana', limit: 1000 });
    const all = (await Promise.all(sessions.map((s) => gw.gateway.store.getSession(s.id)))).flatMap(
      (d) => d?.statements ?? [],
    );
    const texts = all.map((s) => `${s.effect} ${s.text} ${s.ruleId}`);
    expect(texts).toEqual(
      expect.arrayContaining([
        'allow GET /v1/users?limit=5 api-allow',
        'deny POST /admin/users api-no-admin',
        'review DELETE /v1/users/7 api-review-deletes',
        'deny GET /v1/..%2Fadmin%2Fusers http-ambiguous-request',
        // The upgrade is decided as the GET and as a POST of its path (class 208).
        'allow GET /ws + post POST /ws api-allow',
      ]),
    );
    const ws = all.find((s) => s.text === 'GET /ws + post POST /ws')!;
    expect(ws.result?.durationMs).toBeGreaterThan(0);
    const masked = all.find((s) => s.text === 'GET /v1/users?limit=5')!;
    expect(masked.result?.masked).toMatchObject({ password: 1, email: 1 });
    expect(JSON.stringify(all)).not.toContain(API_TOKEN);
    expect(gw.logs.join('\n')).not.toContain(API_TOKEN);
    expect(sessions.every((s) => s.protocol === 'http' && s.connection.startsWith('api'))).toBe(true);
  });
});

describe('generic HTTP gateway over TLS', () => {
  it('serves HTTPS on the connection listener when listenTls is set', async () => {
    const api = await startApi();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-http-tls-'));
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
      keyType: 'ec',
      curve: 'P-256',
      algorithm: 'sha256',
      extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
    });
    writeFileSync(path.join(dir, 'gw.crt'), pems.cert);
    writeFileSync(path.join(dir, 'gw.key'), pems.private, { mode: 0o600 });
    const gw = await startHttpTestGateway({
      env: { ...process.env, API_TOKEN },
      connections: {
        api: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          listenTls: { cert: path.join(dir, 'gw.crt'), key: path.join(dir, 'gw.key') },
          upstream: `${api.url}/base`,
          auth: { type: 'bearer', token: { env: 'API_TOKEN' } },
        },
      },
      policies: [
        {
          id: 'all',
          subjects: { groups: ['dev'] },
          connections: ['api'],
          rules: [{ id: 'all-get', effect: 'allow', match: { methods: ['GET'] } }],
        },
      ],
    });
    const dispatcher = new Agent({ connect: { ca: pems.cert } });
    try {
      const token = await gw.token({ subject: 'dana', groups: ['dev'] });
      const url = gw.endpoint('api').replace('http:', 'https:');
      const res = await request(`${url}/v1/users`, {
        headers: { authorization: `Bearer ${token}` },
        dispatcher,
      });
      expect(res.statusCode).toBe(200);
      expect(((await res.body.json()) as { users: { password: string }[] }).users[0]!.password).toBe(
        '[REDACTED:password]',
      );
      await expect(
        request(`${gw.endpoint('api')}/v1/users`, { headers: { authorization: `Bearer ${token}` } }),
      ).rejects.toThrow();
    } finally {
      await dispatcher.close();
      await gw.stop();
      api.server.closeAllConnections();
      await new Promise((r) => api.server.close(r));
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
