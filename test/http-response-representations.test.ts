// The same data in another representation (docs/security.md, class 144). An API that negotiates its
// answer's format (Accept: text/csv, text/plain, application/x-ndjson, text/event-stream) gave the
// agent, through Gatehouse, unmasked what its JSON answer has masked: only JSON and XML were masked,
// text was relayed as it came, and streams were relayed unmasked. Text is now masked as text, and
// NDJSON and event streams line by line as they stream; a text's field names (a CSV column, a YAML key,
// a key=value pair) are read as JSON keys are. The real undici client against a node server.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';

const EMAIL = 'ann.secret@example.com';
const KEY_ID = 'AKIAZ7Q3M4N5P6R7S8T9';
const USERS = [{ name: 'ann', email: EMAIL, password: 'pw-1234567', key: KEY_ID }];
/** Values no detector recognises, in class 219's escaped and minified forms. */
const TOKEN_2 = 'tok-55aa66';
const SECRET_2 = 'sec-77bb88';
const PIN = 90817263;

function startApi(): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer((req, res) => {
    const accept = req.headers.accept ?? 'application/json';
    if (req.url === '/v1/users') {
      if (accept === 'text/csv' || accept === 'text/plain') {
        res.writeHead(200, { 'content-type': `${accept}; charset=utf-8` });
        return res.end(
          `name,email,password,key\n${USERS.map((u) => Object.values(u).join(',')).join('\n')}\n`,
        );
      }
      if (accept === 'application/yaml') {
        res.writeHead(200, { 'content-type': 'application/yaml' });
        return res.end(
          `users:\n${USERS.map((u) => `  - name: ${u.name}\n    email: ${u.email}\n    password: ${u.password}\n`).join('')}`,
        );
      }
      // docs/security.md, class 209: a Python repr and a JavaScript literal of the same user.
      if (accept === 'text/x-python') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        const u = USERS[0]!;
        return res.end(
          `{'name': '${u.name}', 'password': '${u.password}'}\nUser(password='${u.password}', name='${u.name}')\n`,
        );
      }
      // docs/security.md, class 219: the same values in the forms a page, a bundle or a log line
      // escapes or minifies them.
      if (accept === 'text/x-escaped') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        const u = USERS[0]!;
        return res.end(
          [
            `<div data-props="{&quot;name&quot;:&quot;${u.name}&quot;,&quot;password&quot;:&quot;${u.password}&quot;}"></div>`,
            `<div data-x="{&#34;secret&#34;:&#34;${SECRET_2}&#34;}"></div>`,
            `<a href="/cb?state=%7B%22token%22%3A%22${TOKEN_2}%22%7D">back</a>`,
            `<a href="/go?next=%2Fhome%3Fpassword%3D${u.password}">go</a>`,
            `<script>var c={name:"${u.name}",password:${PIN},token:\`${TOKEN_2}\`};` +
              `var d=JSON.parse("{\\u0022secret\\u0022:\\u0022${SECRET_2}\\u0022}");</script>`,
            `<pre>I1207 server.go:42] login req: name:"${u.name}" password:"${u.password}"</pre>`,
            `<pre>{:name=>"${u.name}", :token=>"${TOKEN_2}"}</pre>`,
          ].join('\n'),
        );
      }
      // docs/security.md, classes 240 and 241: an XML document the XML reader cannot follow (a DOCTYPE)
      // or sent as text (Maven's settings, a SOAP answer), a log line naming a value after a blank, and
      // keys whose own characters are escaped.
      if (accept === 'application/xml' || accept === 'text/x-xml') {
        res.writeHead(200, {
          'content-type': `${accept === 'text/x-xml' ? 'text/plain' : accept}; charset=utf-8`,
        });
        const u = USERS[0]!;
        return res.end(
          [
            `<?xml version="1.0"?>`,
            `<!DOCTYPE settings>`,
            `<settings><server><id>repo</id><username>${u.name}</username><password>${u.password}</password></server>`,
            `<soap:Body><ns:GetTokenResponse><ns:Token type="bearer"><![CDATA[${TOKEN_2}]]></ns:Token></ns:GetTokenResponse></soap:Body>`,
            `<Secret>`,
            `  <Value>${SECRET_2}</Value>`,
            `</Secret></settings>`,
          ].join('\n'),
        );
      }
      if (accept === 'text/x-log') {
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        const u = USERS[0]!;
        return res.end(
          [
            `2026-12-07T10:00:00Z INFO login user=${u.name} password: ${u.password} ok`,
            `token:${TOKEN_2} name:${u.name}`,
            `> Authorization: Bearer ${SECRET_2}`,
            `<div data-props="{&quot;pass&#119;ord&quot;:&quot;${PIN}&quot;}"></div>`,
            `state=%7B%22t%6Fken%22%3A%22${TOKEN_2}x%22%7D`,
          ].join('\n'),
        );
      }
      // docs/security.md, class 210: an admin page's settings form, filled.
      if (accept === 'text/html') {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        const u = USERS[0]!;
        return res.end(
          `<form><input name="name" value="${u.name}"><input type="password" name="pw" value="${u.password}">` +
            `<textarea name="api_key">${u.key}-x</textarea></form>`,
        );
      }
      if (accept === 'application/javascript') {
        res.writeHead(200, { 'content-type': accept });
        const u = USERS[0]!;
        return res.end(
          `export default {name: '${u.name}', password: '${u.password}', "api_key" /* old */ : "k-1"};\n`,
        );
      }
      if (accept === 'application/x-www-form-urlencoded') {
        res.writeHead(200, { 'content-type': accept });
        return res.end(new URLSearchParams(USERS[0]).toString());
      }
      if (accept === 'application/x-ndjson') {
        res.writeHead(200, { 'content-type': 'application/x-ndjson' });
        // Written in two pieces cut inside a value: masking must not see half a secret.
        const line = `${JSON.stringify(USERS[0])}\n`;
        res.write(line.slice(0, 30));
        setTimeout(() => res.end(`${line.slice(30)}{"name":"bob"}\n`), 20);
        return;
      }
      if (accept === 'multipart/mixed') {
        res.writeHead(200, { 'content-type': 'multipart/mixed; boundary=b0' });
        return res.end(
          `--b0\r\ncontent-type: application/json\r\n\r\n${JSON.stringify(USERS[0])}\r\n--b0--\r\n`,
        );
      }
      if (accept === 'text/event-stream') {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' });
        return res.end(gzipSync(`event: user\ndata: ${JSON.stringify(USERS[0])}\n\n`));
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ users: USERS }));
    }
    if (req.url === '/v1/task') {
      // An ECS task definition's environment: name/value objects.
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(
        JSON.stringify({
          environment: [
            { name: 'HOST', value: 'db.internal' },
            { value: 'pw-in-env-42', name: 'DB_PASSWORD' },
          ],
        }),
      );
    }
    res.writeHead(404);
    res.end();
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server }),
    ),
  );
}

describe('an API answer in another representation', () => {
  let api: Awaited<ReturnType<typeof startApi>>;
  let gw: HttpTestGateway;
  let token: string;

  beforeAll(async () => {
    api = await startApi();
    gw = await startHttpTestGateway({
      connections: {
        api: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          upstream: api.url,
          auth: { type: 'none' },
        },
      },
      policies: [
        {
          id: 'agents',
          subjects: { agent: true },
          connections: ['api'],
          rules: [{ id: 'read', effect: 'allow', match: { methods: ['GET'] } }],
        },
      ],
    });
    token = await gw.token({ subject: 'claude', agent: true });
  });

  afterAll(async () => {
    await gw?.stop();
    api?.server.closeAllConnections();
    await new Promise((r) => api?.server.close(r));
  });

  const get = async (accept: string): Promise<{ status: number; text: string }> => {
    const res = await request(`${gw.endpoint('api')}/v1/users`, {
      headers: { authorization: `Bearer ${token}`, accept },
    });
    return { status: res.statusCode, text: await res.body.text() };
  };

  it('JSON is masked (as before)', async () => {
    const r = await get('application/json');
    expect(r.status).toBe(200);
    expect(r.text).not.toContain(EMAIL);
    expect(r.text).not.toContain(KEY_ID);
  });

  for (const accept of ['text/csv', 'text/plain']) {
    it(`${accept} is masked as text`, async () => {
      const r = await get(accept);
      expect(r.status).toBe(200);
      expect(r.text).toContain('name,email');
      expect(r.text).not.toContain(EMAIL);
      expect(r.text).not.toContain(KEY_ID);
      // The column the header names `password` (no detector finds that value): masked since the
      // text's field names are read (CSV, YAML, key=value), not only JSON keys.
      expect(r.text).not.toContain('pw-1234567');
      expect(r.text.split('\n')[1]!.split(',')[2]).toBe('[REDACTED:password]');
    });
  }

  it('YAML and a form-encoded answer are masked by their field names too', async () => {
    const yaml = await get('application/yaml');
    expect(yaml.status).toBe(200);
    expect(yaml.text).toContain('  - name: ann\n');
    expect(yaml.text).toContain('    password: "[REDACTED:password]"\n');
    const form = await get('application/x-www-form-urlencoded');
    expect(form.status).toBe(200);
    expect(form.text).toContain('name=ann&');
    expect(form.text).toContain('&password=[REDACTED:password]&');
    for (const r of [yaml, form]) {
      expect(r.text).not.toContain('pw-1234567');
      expect(r.text).not.toContain(KEY_ID);
    }
  });

  it('a Python repr and a JavaScript literal are masked by their keys too (class 209)', async () => {
    const py = await get('text/x-python');
    expect(py.status).toBe(200);
    expect(py.text).not.toContain('pw-1234567');
    expect(py.text).toBe(
      "{'name': 'ann', 'password': '[REDACTED:password]'}\nUser(password='[REDACTED:password]', name='ann')\n",
    );
    const js = await get('application/javascript');
    expect(js.status).toBe(200);
    expect(js.text).not.toContain('pw-1234567');
    expect(js.text).not.toContain('k-1');
    expect(js.text).toContain("name: 'ann'");
  });

  it('values escaped for HTML, JavaScript or a URL, or minified, are masked by their keys too (class 219)', async () => {
    const r = await get('text/x-escaped');
    expect(r.status).toBe(200);
    for (const secret of ['pw-1234567', TOKEN_2, SECRET_2, String(PIN)]) expect(r.text).not.toContain(secret);
    // What is not under a sensitive name is as it was.
    expect(r.text).toContain('&quot;name&quot;:&quot;ann&quot;');
    expect(r.text).toContain('name:"ann"');
    expect(r.text).toContain('%7B%22token%22%3A%22[REDACTED:token]%22%7D');
  });

  it("an XML element's content is masked by the element's name, in XML the XML reader cannot follow or sent as text (class 241)", async () => {
    for (const type of ['application/xml', 'text/x-xml']) {
      const r = await get(type);
      expect(r.status).toBe(200);
      for (const secret of ['pw-1234567', TOKEN_2, SECRET_2]) expect(r.text, type).not.toContain(secret);
      expect(r.text).toContain('<username>ann</username><password>[REDACTED:password]</password>');
      expect(r.text).toContain('<id>repo</id>');
    }
  });

  it('a key after a blank with its value after `:`, and a key whose characters are escaped, are read (classes 240, 241)', async () => {
    const r = await get('text/x-log');
    expect(r.status).toBe(200);
    for (const secret of ['pw-1234567', TOKEN_2, SECRET_2, String(PIN)]) expect(r.text).not.toContain(secret);
    expect(r.text).toContain('user=ann password: [REDACTED:password]');
    expect(r.text).toContain('name:ann');
  });

  it('an HTML form filled with secrets is masked field by field (class 210)', async () => {
    const r = await get('text/html');
    expect(r.status).toBe(200);
    expect(r.text).toBe(
      '<form><input name="name" value="ann"><input type="password" name="pw" value="[REDACTED:password]">' +
        '<textarea name="api_key">[REDACTED:apikey]</textarea></form>',
    );
  });

  it("a name/value object's value is masked when its name is a sensitive key (an ECS environment)", async () => {
    const res = await request(`${gw.endpoint('api')}/v1/task`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.statusCode).toBe(200);
    expect(await res.body.json()).toEqual({
      environment: [
        { name: 'HOST', value: 'db.internal' },
        { value: '[REDACTED:password]', name: 'DB_PASSWORD' },
      ],
    });
  });

  it('NDJSON is masked line by line, a line cut across writes as a whole', async () => {
    const r = await get('application/x-ndjson');
    expect(r.status).toBe(200);
    const lines = r.text.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0]!)).toMatchObject({ name: 'ann', password: '[REDACTED:password]' });
    expect(JSON.parse(lines[1]!)).toEqual({ name: 'bob' });
    expect(r.text).not.toContain(EMAIL);
    expect(r.text).not.toContain(KEY_ID);
  });

  it('a multipart answer is masked as text, JSON field names in its parts too', async () => {
    const r = await get('multipart/mixed');
    expect(r.status).toBe(200);
    expect(r.text).toContain('--b0\r\ncontent-type: application/json');
    expect(r.text).not.toContain(EMAIL);
    expect(r.text).not.toContain(KEY_ID);
    expect(r.text).not.toContain('pw-1234567');
  });

  it('a gzip event stream is decoded and masked event by event', async () => {
    const r = await get('text/event-stream');
    expect(r.status).toBe(200);
    expect(r.text).toContain('event: user\ndata: {');
    expect(r.text).not.toContain(EMAIL);
    expect(r.text).not.toContain(KEY_ID);
    expect(r.text).not.toContain('pw-1234567');
  });
});

// docs/security.md, class 206: the same answer in a binary representation (CBOR, MessagePack, BSON,
// Protocol Buffers) to a principal whose reads are masked. Each names `password` in plain bytes
// without a `:` or `=` after it, so neither JSON masking nor the field names of text found its value.
describe('an API answer in a binary representation, to a masked principal', () => {
  const SECRET = 'hunter2plainvalue';
  const str = (s: string, base: number) => Buffer.concat([Buffer.from([base | s.length]), Buffer.from(s)]);
  const ANSWERS: Record<string, Buffer> = {
    'application/msgpack': Buffer.concat([
      Buffer.from([0x82]),
      str('user', 0xa0),
      str('ann', 0xa0),
      str('db_password', 0xa0),
      Buffer.from([0xd9, SECRET.length]),
      Buffer.from(SECRET),
    ]),
    // CBOR's length prefixes of short texts are letters: `h` before an 8-byte name.
    'application/cbor': Buffer.concat([
      Buffer.from([0xa2]),
      str('user', 0x60),
      str('ann', 0x60),
      str('password', 0x60),
      Buffer.from([0x71]),
      Buffer.from(SECRET),
    ]),
    'application/bson': (() => {
      const el = (k: string, v: string) =>
        Buffer.concat([
          Buffer.from([0x02]),
          Buffer.from(`${k}\0`),
          Buffer.from(Uint32Array.of(v.length + 1).buffer),
          Buffer.from(`${v}\0`),
        ]);
      const body = Buffer.concat([el('user', 'ann'), el('apiKey', SECRET), Buffer.from([0])]);
      return Buffer.concat([Buffer.from(Uint32Array.of(body.length + 4).buffer), body]);
    })(),
    // Field 2, a string: no name at all.
    'application/x-protobuf': Buffer.concat([Buffer.from([0x12, SECRET.length]), Buffer.from(SECRET)]),
    // An image names no field: it passes as it came.
    'image/png': Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0x10]),
    // JSON under a binary label is masked as JSON, not withheld.
    'application/octet-stream': Buffer.from(JSON.stringify({ user: 'ann', password: SECRET })),
  };
  let server: http.Server;
  let gw: HttpTestGateway;
  let masked: string;
  let plain: string;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const type = req.headers.accept ?? '';
      res.writeHead(200, { 'content-type': type });
      res.end(ANSWERS[type] ?? Buffer.alloc(0));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    gw = await startHttpTestGateway({
      connections: {
        api: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          upstream: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
          auth: { type: 'none' },
        },
      },
      policies: [
        {
          id: 'agents',
          subjects: { agent: true },
          connections: ['api'],
          rules: [{ id: 'read-masked', effect: 'allow', mask: true, match: { methods: ['GET'] } }],
        },
        {
          id: 'people',
          subjects: { agent: false },
          connections: ['api'],
          rules: [{ id: 'read', effect: 'allow', match: { methods: ['GET'] } }],
        },
      ],
    });
    masked = await gw.token({ subject: 'claude', agent: true });
    plain = await gw.token({ subject: 'ann', agent: false });
  });

  afterAll(async () => {
    await gw?.stop();
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
  });

  const get = async (token: string, accept: string) => {
    const res = await request(`${gw.endpoint('api')}/v1/users/ann`, {
      headers: { authorization: `Bearer ${token}`, accept },
    });
    return { status: res.statusCode, body: Buffer.from(await res.body.arrayBuffer()) };
  };

  for (const type of [
    'application/msgpack',
    'application/cbor',
    'application/bson',
    'application/x-protobuf',
  ]) {
    it(`${type} is withheld from a masked principal (502), never sent with the value`, async () => {
      const r = await get(masked, type);
      expect(r.body.includes(SECRET), 'the masked value reached the agent').toBe(false);
      expect(r.status).toBe(502);
      expect(r.body.toString()).toMatch(/withheld.*ask for JSON/);
    });
  }

  it('a binary answer that names no field passes, and JSON under a binary label is masked as JSON', async () => {
    const png = await get(masked, 'image/png');
    expect(png.status).toBe(200);
    expect(png.body.equals(ANSWERS['image/png']!)).toBe(true);
    const json = await get(masked, 'application/octet-stream');
    expect(json.status).toBe(200);
    expect(JSON.parse(json.body.toString())).toEqual({ user: 'ann', password: '[REDACTED:password]' });
  });

  it('a principal whose reads are not masked gets binary answers as they came (as before)', async () => {
    const r = await get(plain, 'application/cbor');
    expect(r.status).toBe(200);
    expect(r.body.equals(ANSWERS['application/cbor']!)).toBe(true);
  });
});
