// Request smuggling through the generic HTTP engine: Gatehouse decides the request it parsed and must
// send the upstream exactly that one, framed by itself, so that no second request rides inside the
// first. Probed against real servers: node's http (as the other tests) and Python's standard library
// (http.server, wsgiref), which frame and name headers in their own ways, and a raw one for responses
// framed against the rules (docs/security.md, classes 40–43).

import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { bodyMethodOverrideRefusal } from '../src/engines/http/body-method-override.js';
import { methodOverrideRefusal } from '../src/engines/http/method-override.js';
import { parseQuery } from '../src/engines/http/sigv4/canonical-query.js';
import { websocketAccept } from '../src/engines/http/websocket-relay.js';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';
import {
  hasPhp,
  phpReadsAsMethod,
  startPhpFrontController,
  startPhpUpstream,
  type PhpUpstream,
} from './testkit/php-upstream.js';
import { startPythonUpstream, type PythonUpstream } from './testkit/python-upstreams.js';

const API_TOKEN = 'upstream-credential-7f3a9c';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const POLICY: PolicyConfig = {
  id: 'dev',
  subjects: { groups: ['dev'] },
  connections: ['api'],
  rules: [
    { id: 'no-admin', effect: 'deny', match: { paths: ['/admin/**'] } },
    { id: 'allow', effect: 'allow', match: { methods: ['GET', 'POST'], paths: ['/v1/**'] } },
  ],
};

function gatewayFor(upstream: string): Promise<HttpTestGateway> {
  return startHttpTestGateway({
    env: { ...process.env, API_TOKEN },
    connections: {
      api: {
        protocol: 'http',
        listen: '127.0.0.1:0',
        upstream,
        auth: { type: 'bearer', token: { env: 'API_TOKEN' } },
      },
    },
    policies: [POLICY],
  });
}

/**
 * Writes bytes on a fresh client connection; resolves with all it got within `ms`, or soon after the
 * server closes the connection (what it had forwarded by then has run).
 */
function rawExchange(endpoint: string, bytes: string, ms = 500): Promise<string> {
  const { port } = new URL(endpoint);
  return new Promise((resolve) => {
    const s = net.connect(Number(port), '127.0.0.1');
    let got = '';
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(got);
    };
    s.on('data', (d: Buffer) => (got += d.toString('latin1')));
    s.on('error', () => undefined);
    s.on('close', () => setTimeout(done, 50));
    s.write(Buffer.from(bytes, 'latin1'));
    const timer = setTimeout(done, ms);
  });
}

/** The status codes of the responses a client read (none of the bodies here holds a status line). */
const statuses = (out: string): string[] => [...out.matchAll(/HTTP\/1\.[01] (\d{3}) /g)].map((m) => m[1]!);

describe('an upstream that does not read the request body (Python http.server)', () => {
  let py: PythonUpstream;
  let gw: HttpTestGateway;
  let endpoint: string;
  let attacker: string;
  let victim: string;

  beforeAll(async () => {
    py = await startPythonUpstream('http.server');
    gw = await gatewayFor(py.url);
    endpoint = gw.endpoint('api');
    attacker = await gw.token({ subject: 'mallory', groups: ['dev'], agent: true });
    victim = await gw.token({ subject: 'victor', groups: ['dev'] });
  }, 30_000);

  afterAll(async () => {
    await gw?.stop();
    await py?.stop();
  });

  const post = async (token: string, path: string, body: string, client: Agent) => {
    const r = await request(`${endpoint}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' },
      body,
      dispatcher: client,
    });
    return { status: r.statusCode, text: await r.body.text() };
  };
  const get = async (token: string, path: string, client: Agent) => {
    const r = await request(`${endpoint}${path}`, {
      headers: { authorization: `Bearer ${token}` },
      dispatcher: client,
    });
    return { status: r.statusCode, text: await r.body.text() };
  };

  it('does not run a whole request carried in an allowed body (the denied DELETE never runs)', async () => {
    const client = new Agent();
    const smuggled = 'DELETE /admin/everything HTTP/1.1\r\nHost: api\r\nContent-Length: 0\r\n\r\n';
    const r = await post(attacker, '/v1/notes', smuggled, client);
    expect(r).toEqual({ status: 200, text: 'ran POST /v1/notes\n' });
    // Another request after it, for the upstream to run anything it still had queued.
    expect(await get(attacker, '/v1/ping', client)).toEqual({ status: 200, text: 'ran GET /v1/ping\n' });
    await sleep(200);
    expect(py.ran.filter((q) => q.target.startsWith('/admin'))).toEqual([]);
    await client.close();
  });

  it("does not let a body's tail become the head of another client's request (with the credential)", async () => {
    const mallory = new Agent();
    const victor = new Agent();
    // No end of head: the next request Gatehouse sends on that upstream connection would complete it.
    const prefix = 'DELETE /admin/everything HTTP/1.1\r\nX-Swallow: ';
    expect(await post(attacker, '/v1/notes', prefix, mallory)).toEqual({
      status: 200,
      text: 'ran POST /v1/notes\n',
    });
    // The victim gets its own answer, and the upstream never runs the DELETE (with the credential).
    expect(await get(victim, '/v1/inbox', victor)).toEqual({ status: 200, text: 'ran GET /v1/inbox\n' });
    await sleep(200);
    expect(py.ran.filter((q) => q.target.startsWith('/admin'))).toEqual([]);
    expect(py.ran.filter((q) => q.target === '/v1/inbox')).toEqual([
      expect.objectContaining({ method: 'GET', authorization: `Bearer ${API_TOKEN}` }),
    ]);
    await mallory.close();
    await victor.close();
  });

  it('does not open a tunnel on a 101 that is not a WebSocket handshake (a status the caller names)', async () => {
    py.ran.length = 0;
    const key = randomBytes(16).toString('base64');
    // The upstream answers 101 with whatever headers it is asked for, the accept for the client's key
    // among them, and goes on reading HTTP on that connection.
    const echoed = ['Upgrade:websocket', 'Connection:Upgrade', `Sec-WebSocket-Accept:${websocketAccept(key)}`]
      .map((h) => `h=${encodeURIComponent(h)}`)
      .join('&');
    const { port } = new URL(endpoint);
    const s = net.connect(Number(port), '127.0.0.1');
    let got = '';
    s.on('data', (d: Buffer) => (got += d.toString('latin1')));
    s.on('error', () => undefined);
    s.write(
      `GET /v1/status?code=101&${echoed} HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer ${attacker}\r\n` +
        `Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\n`,
    );
    await sleep(300);
    s.write('DELETE /admin/everything HTTP/1.1\r\nHost: api\r\n\r\n');
    await sleep(300);
    s.destroy();
    expect(statuses(got)).toEqual(['502']);
    expect(py.ran.map((q) => `${q.method} ${q.target.split('?')[0]}`)).toEqual(['GET /v1/status']);
  });

  it('refuses a WebSocket upgrade without a Sec-WebSocket-Key', async () => {
    py.ran.length = 0;
    const out = await rawExchange(
      endpoint,
      `GET /v1/status?code=101 HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer ${attacker}\r\n` +
        'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n',
      300,
    );
    expect(statuses(out)).toEqual(['400']);
    expect(py.ran).toEqual([]);
  });
});

describe('request framing a client sends (node http upstream)', () => {
  const seen: string[] = [];
  let api: http.Server;
  let gw: HttpTestGateway;
  let endpoint: string;
  let token: string;

  beforeAll(async () => {
    api = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on('data', (c: Buffer) => parts.push(c));
      req.on('end', () => {
        seen.push(`${req.method} ${req.url} ${JSON.stringify(Buffer.concat(parts).toString('latin1'))}`);
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    gw = await gatewayFor(`http://127.0.0.1:${(api.address() as AddressInfo).port}`);
    endpoint = gw.endpoint('api');
    token = await gw.token({ subject: 'mallory', groups: ['dev'], agent: true });
  }, 30_000);

  afterAll(async () => {
    await gw?.stop();
    api?.closeAllConnections();
    await new Promise((r) => api?.close(r));
  });

  const head = (extra: string, line = 'POST /v1/x HTTP/1.1') =>
    `${line}\r\nHost: api\r\nAuthorization: Bearer ${token}\r\n${extra}\r\n`;
  const admin = `GET /admin/x HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer TOKEN\r\n\r\n`;
  const plain = 'GET /admin/x HTTP/1.1\r\nHost: api\r\n\r\n';

  // Each: what the client sends, and what the upstream may see (nothing, or the one request decided,
  // with the body Gatehouse read). Never /admin.
  const cases: [string, () => string, string[]][] = [
    [
      'CL and TE both',
      () => head('Content-Length: 4\r\nTransfer-Encoding: chunked\r\n') + `0\r\n\r\n${admin}`,
      [],
    ],
    [
      'TE chunked, identity',
      () => head('Transfer-Encoding: chunked, identity\r\n') + '5\r\nhello\r\n0\r\n\r\n',
      [],
    ],
    [
      'TE twice',
      () => head('Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n') + '5\r\nhello\r\n0\r\n\r\n',
      [],
    ],
    [
      'TE with a space before the colon',
      () => head('Transfer-Encoding : chunked\r\n') + '5\r\nhello\r\n0\r\n\r\n',
      [],
    ],
    ['TE xchunked', () => head('Transfer-Encoding: xchunked\r\n') + '5\r\nhello\r\n0\r\n\r\n', []],
    [
      'two different Content-Lengths',
      () => head('Content-Length: 5\r\nContent-Length: 6\r\n') + 'hello!',
      [],
    ],
    ['Content-Length +5', () => head('Content-Length: +5\r\n') + 'hello', []],
    ['Content-Length list', () => head('Content-Length: 5, 5\r\n') + 'hello', []],
    [
      'obs-fold continuation',
      () => head('X-A: 1\r\n Transfer-Encoding: chunked\r\nContent-Length: 5\r\n') + 'hello',
      [],
    ],
    ['bare LF chunk lines', () => head('Transfer-Encoding: chunked\r\n') + '5\nhello\n0\n\n', []],
    [
      'chunk size overflow',
      () => head('Transfer-Encoding: chunked\r\n') + '10000000000000005\r\nhello\r\n0\r\n\r\n',
      [],
    ],
    [
      'Content-Length in a trailer',
      () => head('Transfer-Encoding: chunked\r\n') + `5\r\nhello\r\n0\r\nContent-Length: 50\r\n\r\n${admin}`,
      [],
    ],
    ['absolute-form target', () => head('', `GET http://api/admin/x HTTP/1.1`), []],
    [
      'Transfer-Encoding: Chunked (re-framed)',
      () => head('Transfer-Encoding: Chunked\r\n') + '5;ext=1\r\nhello\r\n0\r\n\r\n',
      ['POST /v1/x "hello"'],
    ],
    [
      'Content-Length 005 (re-framed)',
      () => head('Content-Length: 005\r\n') + 'hello',
      ['POST /v1/x "hello"'],
    ],
    [
      'a request in a GET body stays body',
      () => head(`Content-Length: ${plain.length}\r\n`, 'GET /v1/x HTTP/1.1') + plain,
      [`GET /v1/x ${JSON.stringify(plain)}`],
    ],
  ];

  it.each(cases)('%s: the upstream reads only what was decided', async (_name, bytes, expected) => {
    seen.length = 0;
    const out = await rawExchange(endpoint, bytes().replaceAll('TOKEN', token), 400);
    expect(seen).toEqual(expected);
    if (expected.length === 0) expect(statuses(out)).not.toContain('200');
  });

  it('decides each pipelined request on its own', async () => {
    seen.length = 0;
    const one = head('', 'GET /v1/a HTTP/1.1');
    const out = await rawExchange(endpoint, `${one}${admin.replaceAll('TOKEN', token)}${one}`, 600);
    expect(statuses(out)).toEqual(['200', '403', '200']);
    expect(seen).toEqual(['GET /v1/a ""', 'GET /v1/a ""']);
  });
});

describe('header names a WSGI server reads as others (Python wsgiref)', () => {
  let py: PythonUpstream;
  let gw: HttpTestGateway;
  let endpoint: string;
  let token: string;

  beforeAll(async () => {
    py = await startPythonUpstream('wsgiref');
    gw = await gatewayFor(py.url);
    endpoint = gw.endpoint('api');
    token = await gw.token({ subject: 'mallory', groups: ['dev'], agent: true });
  }, 30_000);

  afterAll(async () => {
    await gw?.stop();
    await py?.stop();
  });

  it('does not forward X_HTTP_Method_Override, X_Original_URL or X_Forwarded_For', async () => {
    py.ran.length = 0;
    const r = await request(`${endpoint}/v1/notes`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        // Its own method: not refused (another is: below), and not forwarded either.
        x_http_method_override: 'POST',
        x_original_url: '/admin/everything',
        x_forwarded_for: '10.0.0.1',
        'x-request-id': 'kept',
      },
      body: 'note',
    });
    // The request decided is the request run: POST /v1/notes, no other method or path named.
    expect(await r.body.text()).toBe('ran POST /v1/notes\n');
    expect(py.ran).toHaveLength(1);
    expect(py.ran[0]!.override).toBeNull();
    expect(py.ran[0]!.headers).toContain('HTTP_X_REQUEST_ID');
    expect(py.ran[0]!.headers).not.toContain('HTTP_X_ORIGINAL_URL');
    expect(py.ran[0]!.headers).not.toContain('HTTP_X_FORWARDED_FOR');
  });

  it('refuses X_HTTP_Method_Override naming another method, as it does X-HTTP-Method-Override (class 156)', async () => {
    py.ran.length = 0;
    const r = await request(`${endpoint}/v1/notes`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, x_http_method_override: 'DELETE' },
      body: 'note',
    });
    expect(r.statusCode).toBe(400);
    expect(await r.body.json()).toMatchObject({ rule: 'http-method-override' });
    await sleep(100);
    expect(py.ran).toEqual([]);
  });
});

describe.skipIf(!hasPhp())('names PHP reads as _method and X-HTTP-Method-Override (php -S)', () => {
  let php: PhpUpstream;
  let gw: HttpTestGateway;
  let endpoint: string;
  let token: string;

  beforeAll(async () => {
    php = await startPhpUpstream();
    gw = await gatewayFor(php.url);
    endpoint = gw.endpoint('api');
    token = await gw.token({ subject: 'mallory', groups: ['dev'], agent: true });
  }, 30_000);

  afterAll(async () => {
    await gw?.stop();
    await php?.stop();
  });

  // The policy allows GET and POST under /v1 and nothing else: a POST PHP runs as DELETE is a DELETE
  // nobody decided on.
  const queries = ['.method', '+_method', '%20_method', '%2Emethod', '_method%00x', '%20.method'];
  // PHP's server reads "-" in a header name as "_", and then "." as PHP reads it in a parameter's.
  const headers = ['X.HTTP.Method.Override', 'X-HTTP-Method.Override', 'X_HTTP_Method_Override'];
  const post = (base: string, path: string, header?: string, auth?: string) =>
    rawExchange(
      base,
      `POST ${path} HTTP/1.1\r\nHost: x\r\n${auth ? `Authorization: Bearer ${auth}\r\n` : ''}` +
        `${header ? `${header}: DELETE\r\n` : ''}Content-Length: 0\r\nConnection: close\r\n\r\n`,
    );

  it('PHP itself runs each of these POSTs as DELETE (what the gateway must not let through)', async () => {
    php.ran.length = 0;
    for (const q of queries) await post(php.url, `/v1/notes/5?${q}=DELETE`);
    for (const h of headers) await post(php.url, '/v1/notes/5', h);
    expect(php.ran.map((r) => r.method)).toEqual([...queries, ...headers].map(() => 'DELETE'));
  });

  it('refuses each of them through the gateway (400, rule http-method-override); PHP runs nothing', async () => {
    php.ran.length = 0;
    for (const [path, header] of [
      ...queries.map((q): [string, string | undefined] => [`/v1/notes/5?${q}=DELETE`, undefined]),
      // Older CGI servers (Apache httpd 2.2) read any character but a letter or digit as "_".
      ...[...headers, 'X~HTTP~Method~Override'].map((h): [string, string | undefined] => ['/v1/notes/5', h]),
    ]) {
      const out = await post(endpoint, path, header, token);
      expect(statuses(out), `${path} ${header ?? ''}`).toEqual(['400']);
      expect(out).toContain('http-method-override');
    }
    expect(php.ran).toEqual([]);
    // An ordinary POST still runs as POST.
    expect(statuses(await post(endpoint, '/v1/notes/5?note=1', undefined, token))).toEqual(['200']);
    expect(php.ran.map((r) => r.method)).toEqual(['POST']);
  });

  // docs/security.md, class 204: _method in the body, which PHP reads into $_POST (and Laravel, for a
  // JSON request, from the JSON body).
  const bodies: [string, string][] = [
    ['application/x-www-form-urlencoded', 'note=1&_method=DELETE'],
    ['application/x-www-form-urlencoded', 'note=1&.method=DELETE'],
    ['application/x-www-form-urlencoded; charset=UTF-8', '%5Fmethod=delete'],
    ['Application/X-WWW-Form-Urlencoded', 'a=1&_method=DELETE'],
    [
      'multipart/form-data; boundary=XX',
      '--XX\r\nContent-Disposition: form-data; name="_method"\r\n\r\nDELETE\r\n--XX--\r\n',
    ],
    [
      'multipart/form-data; boundary="XX"',
      '--XX\r\ncontent-disposition: form-data; name=_method\r\n\r\nDELETE\r\n--XX--\r\n',
    ],
    [
      'multipart/form-data; boundary=XX',
      "--XX\r\nContent-Disposition: form-data; name='_method'\r\n\r\nDELETE\r\n--XX--\r\n",
    ],
    // Class 216: PHP joins to a part's header each following line that starts with a blank or has no
    // ":", with only the line break taken out.
    ...[
      'form-data;\r\n name="_method"',
      'form-data\r\n; name="_method"',
      'form-data; name="_met\r\nhod"',
      'form-data; na\r\nme=_method',
    ].map((d): [string, string] => [
      'multipart/form-data; boundary=XX',
      `--XX\r\nContent-Disposition: ${d}\r\n\r\nDELETE\r\n--XX--\r\n`,
    ]),
  ];
  const postBody = (base: string, contentType: string, body: string, auth?: string) =>
    rawExchange(
      base,
      `POST /v1/notes/5 HTTP/1.1\r\nHost: x\r\n${auth ? `Authorization: Bearer ${auth}\r\n` : ''}` +
        `Content-Type: ${contentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );

  it('PHP itself runs a POST whose form or multipart body names _method as DELETE', async () => {
    php.ran.length = 0;
    for (const [type, body] of bodies) await postBody(php.url, type, body);
    expect(php.ran.map((r) => r.method)).toEqual(bodies.map(() => 'DELETE'));
  });

  it('refuses a POST whose body names _method through the gateway (400, http-method-override); PHP runs nothing', async () => {
    php.ran.length = 0;
    for (const [type, body] of bodies) {
      const out = await postBody(endpoint, type, body, token);
      expect(statuses(out), `${type} ${body}`).toEqual(['400']);
      expect(out).toContain('http-method-override');
    }
    expect(php.ran).toEqual([]);
    // A form that names no other method, or its own, still runs as POST.
    expect(statuses(await postBody(endpoint, 'application/x-www-form-urlencoded', 'note=1', token))).toEqual([
      '200',
    ]);
    expect(
      statuses(await postBody(endpoint, 'application/x-www-form-urlencoded', 'note=1&_method=post', token)),
    ).toEqual(['200']);
    expect(
      statuses(await postBody(endpoint, 'application/json', '{"payment_method":"card"}', token)),
    ).toEqual(['200']);
    expect(php.ran.map((r) => r.method)).toEqual(['POST', 'POST', 'POST']);
  });

  it("refuses every form-body field name PHP's parser reads as _method (differential, PHP's parse_str)", () => {
    const keys = [
      '_method',
      '.method',
      '+_method',
      '%20_method',
      '%2Emethod',
      '_method%00x',
      '_method[x]',
      'x_method',
    ];
    const read = phpReadsAsMethod(keys);
    expect(read).toContain('.method');
    const missed = read.filter(
      (k) =>
        bodyMethodOverrideRefusal(
          'POST',
          { 'content-type': 'application/x-www-form-urlencoded' },
          Buffer.from(`a=1&${k}=DELETE`),
          1 << 20,
        ) === undefined,
    );
    expect(missed).toEqual([]);
  });

  it("refuses every query parameter name PHP's parser reads as _method (differential, PHP's parse_str)", () => {
    // Names built from the pieces PHP treats specially: every one PHP reads as _method is refused.
    const pieces = [
      '',
      ' ',
      '+',
      '.',
      '%20',
      '%2E',
      '%2e',
      '_',
      '%5F',
      '[',
      ']',
      '[]',
      '%5B',
      '%00',
      '%09',
      'x',
    ];
    const cores = [
      '_method',
      '.method',
      'method',
      '_METHOD',
      '%5Fmethod',
      '%2Emethod',
      '_meth.od',
      '_method[',
    ];
    const keys: string[] = [];
    for (const a of pieces)
      for (const b of pieces)
        for (const core of cores) for (const c of pieces) keys.push(`${a}${b}${core}${c}`);
    const read = phpReadsAsMethod(keys);
    expect(read.length).toBeGreaterThan(100);
    const missed = read.filter(
      (k) => methodOverrideRefusal('POST', {}, parseQuery(`${k}=DELETE`)!) === undefined,
    );
    expect(missed).toEqual([]);
  });
});

// docs/security.md, class 217: Express's method-override, given a getter that reads req.body._method
// and `methods: null` (its documented option for overriding any method), runs a PUT or PATCH whose
// form or JSON body names DELETE as DELETE. This upstream does what that middleware does after
// body-parser's urlencoded and json parsers.
describe('_method in the body of a PUT or PATCH (an upstream overriding any method, as Express can)', () => {
  let upstream: http.Server;
  let gw: HttpTestGateway;
  let endpoint: string;
  let token: string;
  const ran: string[] = [];

  beforeAll(async () => {
    upstream = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const type = req.headers['content-type'] ?? '';
        let override: unknown;
        if (type.includes('json')) override = (JSON.parse(text || '{}') as Record<string, unknown>)._method;
        else if (type.includes('urlencoded'))
          override = new URLSearchParams(text).get('_method') ?? undefined;
        const method = typeof override === 'string' ? override.toUpperCase() : req.method!;
        ran.push(`${method} ${req.url}`);
        res.end(`ran ${method}\n`);
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const { port } = upstream.address() as AddressInfo;
    gw = await startHttpTestGateway({
      env: { ...process.env, API_TOKEN },
      connections: {
        api: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          upstream: `http://127.0.0.1:${port}`,
          auth: { type: 'bearer', token: { env: 'API_TOKEN' } },
        },
      },
      policies: [
        {
          id: 'dev',
          subjects: { groups: ['dev'] },
          connections: ['api'],
          rules: [
            { id: 'allow', effect: 'allow', match: { methods: ['GET', 'PUT', 'PATCH'], paths: ['/v1/**'] } },
          ],
        },
      ],
    });
    endpoint = gw.endpoint('api');
    token = await gw.token({ subject: 'mallory', groups: ['dev'], agent: true });
  }, 30_000);

  afterAll(async () => {
    await gw?.stop();
    await new Promise((r) => upstream?.close(r));
  });

  const send = (base: string, method: string, type: string, body: string, auth?: string) =>
    request(`${base}/v1/notes/5`, {
      method,
      headers: { 'content-type': type, ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
      body,
    }).then(async (r) => ({ status: r.statusCode, text: await r.body.text() }));
  const cases: [string, string, string][] = [
    ['PUT', 'application/x-www-form-urlencoded', 'note=1&_method=DELETE'],
    ['PATCH', 'application/json', '{"note":1,"_method":"DELETE"}'],
    ['GET', 'application/json', '{"_method":"DELETE"}'],
  ];

  it('the upstream itself runs each of them as DELETE', async () => {
    ran.length = 0;
    const { port } = upstream.address() as AddressInfo;
    for (const [method, type, body] of cases) await send(`http://127.0.0.1:${port}`, method, type, body);
    expect(ran).toEqual(cases.map(() => 'DELETE /v1/notes/5'));
  });

  it('refuses each of them through the gateway (400, http-method-override); the upstream runs nothing', async () => {
    ran.length = 0;
    for (const [method, type, body] of cases) {
      const out = await send(endpoint, method, type, body, token);
      expect(out.status, `${method} ${body}`).toBe(400);
      expect(out.text).toContain('http-method-override');
    }
    expect(ran).toEqual([]);
    // Its own method, or none, runs as sent.
    expect((await send(endpoint, 'PUT', 'application/json', '{"note":1}', token)).status).toBe(200);
    expect(
      (await send(endpoint, 'PATCH', 'application/x-www-form-urlencoded', '_method=patch', token)).status,
    ).toBe(200);
    expect(ran).toEqual(['PUT /v1/notes/5', 'PATCH /v1/notes/5']);
  });
});

describe('a response whose status has no body, sent with one (a raw upstream)', () => {
  const forged =
    'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 19\r\n\r\n{"forged":"yes!!!"}';
  let up: net.Server;
  let gw: HttpTestGateway;
  let endpoint: string;

  beforeAll(async () => {
    // One request at a time per connection, as most servers. /v1/note/<status> answers that status
    // with no Content-Length, then, a moment later, a body that is a whole response.
    up = net.createServer((s) => {
      let buf = '';
      let busy = false;
      s.on('error', () => undefined);
      const next = (): void => {
        const end = buf.indexOf('\r\n\r\n');
        if (busy || end < 0) return;
        const line = buf.slice(0, buf.indexOf('\r\n'));
        buf = buf.slice(end + 4);
        const status = /^GET \/v1\/note\/(\d{3}) /.exec(line)?.[1];
        if (status) {
          busy = true;
          s.write(`HTTP/1.1 ${status} X\r\ncontent-type: text/plain\r\n\r\n`);
          setTimeout(() => {
            s.write(forged);
            busy = false;
            next();
          }, 150);
          return;
        }
        const body = `real answer to ${line}`;
        s.write(
          `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
        );
        next();
      };
      s.on('data', (d: Buffer) => {
        buf += d.toString('latin1');
        next();
      });
    });
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
    gw = await gatewayFor(`http://127.0.0.1:${(up.address() as AddressInfo).port}`);
    endpoint = gw.endpoint('api');
  }, 30_000);

  afterAll(async () => {
    await gw?.stop();
    await new Promise((r) => up?.close(r));
  });

  it.each(['204', '304'])("a %s's stray body is never another principal's response", async (status) => {
    const mallory = await gw.token({ subject: 'mallory', groups: ['dev'], agent: true });
    const victor = await gw.token({ subject: 'victor', groups: ['dev'] });
    const first = rawExchange(
      endpoint,
      `GET /v1/note/${status} HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer ${mallory}\r\n\r\n`,
      500,
    );
    await sleep(50);
    const second = await rawExchange(
      endpoint,
      `GET /v1/inbox HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer ${victor}\r\n\r\n`,
      400,
    );
    expect(statuses(await first)).toEqual([status]);
    expect(second).not.toContain('forged');
    expect(second).toContain('real answer to GET /v1/inbox HTTP/1.1');
  });
});

// docs/security.md, class 207: a path the application behind the upstream routes as another path. A
// PHP front controller runs with the rest of the path as PATH_INFO and routes on it (CodeIgniter's
// default URLs, Slim): `/v1/index.php/admin/users` is `/admin/users` to it, past a deny on `/admin/**`.
describe.skipIf(!hasPhp())('paths a PHP front controller routes as others (php -S, PATH_INFO)', () => {
  let php: PhpUpstream;
  let gw: HttpTestGateway;
  let endpoint: string;
  let token: string;

  beforeAll(async () => {
    php = await startPhpFrontController();
    gw = await gatewayFor(php.url);
    endpoint = gw.endpoint('api');
    token = await gw.token({ subject: 'mallory', groups: ['dev'], agent: true });
  }, 30_000);

  afterAll(async () => {
    await gw?.stop();
    await php?.stop();
  });

  const get = (base: string, path: string, auth?: string) =>
    rawExchange(
      base,
      `GET ${path} HTTP/1.1\r\nHost: x\r\n${auth ? `Authorization: Bearer ${auth}\r\n` : ''}Connection: close\r\n\r\n`,
    );
  const denied = ['/v1/index.php/admin/users', '/v1/index.php/admin', '/v1/index.php/admin.json'];

  it('PHP itself runs each of these as a route under /admin', async () => {
    php.ran.length = 0;
    for (const p of denied) await get(php.url, p);
    expect(php.ran.map((r) => r.uri)).toEqual(['/admin/users', '/admin', '/admin.json']);
  });

  it('the deny on /admin/** holds on them through the gateway (403); PHP runs nothing; other routes run', async () => {
    php.ran.length = 0;
    for (const p of denied) {
      const out = await get(endpoint, p, token);
      expect(statuses(out), p).toEqual(['403']);
      expect(out).toContain('no-admin');
    }
    expect(php.ran).toEqual([]);
    expect(statuses(await get(endpoint, '/v1/index.php/notes/5', token))).toEqual(['200']);
    expect(php.ran.map((r) => r.uri)).toEqual(['/notes/5']);
  });
});
