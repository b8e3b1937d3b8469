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
