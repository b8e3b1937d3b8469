// A hostile client against the HTTP and AWS engines, through a real gateway to real upstreams (node:http
// servers, s3rver behind a SigV4-checking proxy): what is decided must be what is forwarded, and a
// response that must be masked is masked or withheld, never sent as it came.

import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGzip } from 'node:zlib';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCheckingUpstream,
  startS3rver,
  type CheckingUpstream,
  type RealCredentials,
  type RunningFake,
} from './testkit/aws-upstreams.js';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';

const REAL: RealCredentials = {
  accessKeyId: 'AKIAGATEWAYREAL00002',
  secretAccessKey: `RealSecret${randomBytes(15).toString('hex')}`,
};
const OBJECT_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCY7EXAMPLEKY';
/** Binary (not UTF-8) with nothing a detector flags. */
const BLOB = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0xfe, 0x00, 0x10, 0xc3]);
const API_TOKEN = `upstream-api-token-${randomBytes(8).toString('hex')}`;
const JSON_DOC = JSON.stringify({ user: 'ann', password: 'pw-hunter2-very-secret', note: 'x' });
/** Decoded size of the gzip bomb the API serves. */
const BOMB_BYTES = 256 * 1024 * 1024;

interface Raw {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** node:http, not undici: undici refuses a Connection header naming other headers. */
function rawRequest(
  url: string,
  opts: { method: string; headers: Record<string, string>; body?: Buffer },
): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method, headers: opts.headers, agent: false }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** SigV4-signs a request with a Gatehouse key (S3), then sends it with extra unsigned headers. */
async function signedS3(
  url: string,
  key: { accessKeyId: string; secretAccessKey: string },
  opts: {
    method: string;
    headers?: Record<string, string>;
    unsigned?: Record<string, string>;
    body?: string;
  },
): Promise<Raw> {
  const u = new URL(url);
  const query: Record<string, string> = {};
  for (const [k, v] of u.searchParams) query[k] = v;
  const body = opts.body ?? '';
  const signer = new SignatureV4({ credentials: key, region: 'us-east-1', service: 's3', sha256: Sha256 });
  const signed = await signer.sign(
    new HttpRequest({
      method: opts.method,
      hostname: u.hostname,
      port: Number(u.port),
      path: u.pathname,
      query,
      headers: {
        host: u.host,
        'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
        'content-length': String(Buffer.byteLength(body)),
        ...opts.headers,
      },
    }),
  );
  return rawRequest(url, {
    method: opts.method,
    headers: { ...signed.headers, ...opts.unsigned },
    ...(body !== '' ? { body: Buffer.from(body) } : {}),
  });
}

interface ApiServer {
  url: string;
  server: http.Server;
  bomb: Buffer;
}

async function gzipOfZeros(size: number): Promise<Buffer> {
  const gz = createGzip({ level: 6 });
  const parts: Buffer[] = [];
  gz.on('data', (c: Buffer) => parts.push(c));
  const done = new Promise((r) => gz.on('end', r));
  const mib = Buffer.alloc(1024 * 1024, 0x20);
  gz.write('{"pad":"');
  for (let i = 0; i < size / mib.length; i++) gz.write(mib);
  gz.end('"}');
  await done;
  return Buffer.concat(parts);
}

async function startApi(): Promise<ApiServer> {
  const bomb = await gzipOfZeros(BOMB_BYTES);
  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    if (url === '/v1/bomb') {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        'content-length': String(bomb.length),
      });
      return res.end(bomb);
    }
    if (url === '/v1/xssi' || url === '/v1/lines' || url.startsWith('/v1/jsonp')) {
      // JSON as some APIs label it: behind an XSSI guard (Gerrit, Angular), as JSON lines, as JSONP.
      const body =
        url === '/v1/xssi'
          ? `)]}'\n${JSON_DOC}`
          : url === '/v1/lines'
            ? `${JSON_DOC}\n{"token": {"value": "tok-very-secret-1"}}\n`
            : `cb(${JSON_DOC})`;
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      return res.end(body);
    }
    if (url === '/v1/config.json') {
      // A static file server: honours Range, one range or several (multipart/byteranges).
      const doc = Buffer.from(JSON_DOC);
      const range = /^bytes=(.+)$/.exec(req.headers.range ?? '');
      if (!range) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(doc.length) });
        return res.end(doc);
      }
      const spans = range[1]!.split(',').map((s) => s.trim().split('-').map(Number) as [number, number]);
      if (spans.length === 1) {
        const [a, b] = spans[0]!;
        const part = doc.subarray(a, b + 1);
        res.writeHead(206, {
          'content-type': 'application/json',
          'content-range': `bytes ${a}-${b}/${doc.length}`,
          'content-length': String(part.length),
        });
        return res.end(part);
      }
      const boundary = 'BOUNDARY42';
      let out = '';
      for (const [a, b] of spans)
        out += `--${boundary}\r\ncontent-type: application/json\r\ncontent-range: bytes ${a}-${b}/${doc.length}\r\n\r\n${doc.subarray(a, b + 1).toString()}\r\n`;
      out += `--${boundary}--\r\n`;
      res.writeHead(206, { 'content-type': `multipart/byteranges; boundary=${boundary}` });
      return res.end(out);
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"error":"not found"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, bomb };
}

describe('a hostile client', () => {
  let s3rver: RunningFake;
  let s3Up: CheckingUpstream;
  let sqsUp: CheckingUpstream;
  let api: ApiServer;
  let gw: HttpTestGateway;
  let awsEndpoint: string;
  let apiEndpoint: string;
  let opsKey: { accessKeyId: string; secretAccessKey: string };
  let devToken: string;

  beforeAll(async () => {
    s3rver = await startS3rver(['data'], [REAL]);
    s3Up = await startCheckingUpstream({ credentials: [REAL], forwardTo: s3rver.url });
    api = await startApi();
    // SQS speaks the JSON and the query protocol: an Action in the query string names the operation.
    sqsUp = await startCheckingUpstream({
      credentials: [REAL],
      respond: (req) => {
        const action = new URL(req.url ?? '/', 'http://x').searchParams.get('Action');
        const target = String(req.headers['x-amz-target'] ?? '');
        return {
          status: 200,
          headers: { 'content-type': 'application/x-amz-json-1.0' },
          body: JSON.stringify({ ran: action ?? target.split('.').pop() }),
        };
      },
    });
    gw = await startHttpTestGateway({
      env: { ...process.env, GW_REAL_SECRET: REAL.secretAccessKey, API_TOKEN },
      connections: {
        aws: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          auth: {
            type: 'aws-sigv4',
            region: 'us-east-1',
            credentials: { accessKeyId: REAL.accessKeyId, secretAccessKey: { env: 'GW_REAL_SECRET' } },
            endpoints: { s3: s3Up.url, sqs: sqsUp.url },
          },
        },
        api: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          upstream: api.url,
          auth: { type: 'bearer', token: { env: 'API_TOKEN' } },
          masking: { maxBodyBytes: 1024 * 1024 },
        },
        // The same upstream with no credential injected: a client's Range is forwarded.
        open: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          upstream: api.url,
          masking: { maxBodyBytes: 1024 * 1024 },
        },
      },
      policies: [
        {
          id: 'ops',
          subjects: { groups: ['ops'] },
          connections: ['aws', 'api', 'open'],
          rules: [
            { id: 'ops-no-put', effect: 'deny', match: { operations: ['s3:PutObject'] } },
            { id: 'ops-no-delete-queue', effect: 'deny', match: { operations: ['sqs:DeleteQueue'] } },
            {
              id: 'ops-scan-secrets',
              effect: 'allow',
              match: { operations: ['s3:GetObject'], paths: ['/data/secrets/**'] },
              mask: true,
            },
            { id: 'ops-allow-aws', effect: 'allow', match: { operations: ['*'] } },
            { id: 'ops-allow-api', effect: 'allow', match: { methods: ['GET'], paths: ['/v1/**'] } },
          ],
        },
      ],
    });
    awsEndpoint = gw.endpoint('aws');
    apiEndpoint = gw.endpoint('api');
    opsKey = await gw.awsKey({ subject: 'olga', groups: ['ops'] });
    devToken = await gw.token({ subject: 'olga', groups: ['ops'] });
    // Seeded straight into s3rver (the policy denies PutObject through the gateway).
    const direct = new S3Client({
      endpoint: s3rver.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: REAL,
    });
    await direct.send(new PutObjectCommand({ Bucket: 'data', Key: 'source.txt', Body: 'copied' }));
    await direct.send(new PutObjectCommand({ Bucket: 'data', Key: 'victim.txt', Body: 'original' }));
    await direct.send(
      new PutObjectCommand({
        Bucket: 'data',
        Key: 'secrets/env.txt',
        Body: `AWS_SECRET_ACCESS_KEY=${OBJECT_SECRET}\n`,
      }),
    );
    await direct.send(
      new PutObjectCommand({
        Bucket: 'data',
        Key: 'secrets/latin1.txt',
        Body: Buffer.concat([
          Buffer.from(`AWS_SECRET_ACCESS_KEY=${OBJECT_SECRET}\ncaf`),
          Buffer.from([0xe9, 0x0a]),
        ]),
      }),
    );
    await direct.send(
      new PutObjectCommand({
        Bucket: 'data',
        Key: 'secrets/utf16.txt',
        Body: Buffer.from(`\ufeffAWS_SECRET_ACCESS_KEY=${OBJECT_SECRET}\n`, 'utf16le'),
      }),
    );
    await direct.send(new PutObjectCommand({ Bucket: 'data', Key: 'secrets/blob.bin', Body: BLOB }));
    direct.destroy();
  }, 60_000);

  afterAll(async () => {
    await gw?.stop();
    await s3Up?.stop();
    await sqsUp?.stop();
    await s3rver?.stop();
    api?.server.closeAllConnections();
    await new Promise((r) => api?.server.close(r));
  });

  const readObject = async (key: string): Promise<string> => {
    const direct = new S3Client({
      endpoint: s3rver.url,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: REAL,
    });
    const obj = await direct.send(new GetObjectCommand({ Bucket: 'data', Key: key }));
    const text = (await obj.Body?.transformToString()) ?? '';
    direct.destroy();
    return text;
  };

  it('cannot drop x-amz-copy-source with a Connection header (decided CopyObject, run as PutObject)', async () => {
    const before = s3Up.seen.length;
    const res = await signedS3(`${awsEndpoint}/data/victim.txt`, opsKey, {
      method: 'PUT',
      headers: { 'x-amz-copy-source': '/data/source.txt' },
      unsigned: { connection: 'keep-alive, x-amz-copy-source' },
      body: 'written by a PutObject nobody allowed',
    });
    expect(res.status).toBe(400);
    expect(res.body.toString()).toContain('Connection');
    expect(s3Up.seen.slice(before).filter((r) => r.method === 'PUT')).toEqual([]);
    expect(await readObject('victim.txt')).toBe('original');
  });

  it('cannot have the generic engine drop a header with Connection either', async () => {
    const res = await rawRequest(`${apiEndpoint}/v1/config.json`, {
      method: 'GET',
      headers: { authorization: `Bearer ${devToken}`, 'x-tenant': 'a', connection: 'x-tenant' },
    });
    expect(res.status).toBe(400);
    expect(res.body.toString()).toContain('Connection header names x-tenant');
    // Hop-by-hop names are fine.
    const ok = await rawRequest(`${apiEndpoint}/v1/config.json`, {
      method: 'GET',
      headers: { authorization: `Bearer ${devToken}`, te: 'trailers', connection: 'keep-alive, TE' },
    });
    expect(ok.status).toBe(200);
  });

  it('cannot name another SQS operation in the query string of a JSON protocol request', async () => {
    const u = new URL(`${awsEndpoint}/?Action=DeleteQueue&QueueUrl=prod-orders`);
    const body = '{}';
    const signer = new SignatureV4({
      credentials: opsKey,
      region: 'us-east-1',
      service: 'sqs',
      sha256: Sha256,
    });
    const signed = await signer.sign(
      new HttpRequest({
        method: 'POST',
        hostname: u.hostname,
        port: Number(u.port),
        path: '/',
        query: { Action: 'DeleteQueue', QueueUrl: 'prod-orders' },
        headers: {
          host: u.host,
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'AmazonSQS.ListQueues',
        },
        body,
      }),
    );
    const before = sqsUp.seen.length;
    const res = await rawRequest(u.toString(), {
      method: 'POST',
      headers: signed.headers,
      body: Buffer.from(body),
    });
    expect(res.body.toString()).not.toContain('"ran":"DeleteQueue"');
    // JSON protocol errors are 400 with the error type in the body.
    expect(res.status).toBe(400);
    expect(res.body.toString()).toContain('aws-unknown-operation');
    expect(res.body.toString()).toContain('no query string');
    expect(sqsUp.seen.length).toBe(before);
  });

  const s3 = () =>
    new S3Client({
      endpoint: awsEndpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: opsKey,
      maxAttempts: 1,
    });

  it('cannot read a scanned object past the masking in ranges', async () => {
    const client = s3();
    const pieces: string[] = [];
    for (const range of ['bytes=22-41', 'bytes=42-61']) {
      const got = await client
        .send(new GetObjectCommand({ Bucket: 'data', Key: 'secrets/env.txt', Range: range }))
        .then(async (o) => (await o.Body?.transformToString()) ?? '')
        .catch((e: Error) => `refused: ${e.name} ${e.message}`);
      pieces.push(got);
    }
    // An object no rule masks is still served in ranges.
    const plain = await client.send(
      new GetObjectCommand({ Bucket: 'data', Key: 'source.txt', Range: 'bytes=1-3' }),
    );
    expect(await plain.Body?.transformToString()).toBe('opi');
    client.destroy();
    for (const piece of pieces) expect(piece).toMatch(/^refused: .*partial \(Range\) response/);
    expect(pieces.join('')).not.toContain(OBJECT_SECRET.slice(0, 20));
    expect(pieces.join('')).not.toContain(OBJECT_SECRET.slice(20));
  });

  it('scans an object that is not valid UTF-8 (one latin-1 byte) rather than sending it as it came', async () => {
    const client = s3();
    const got = await client
      .send(new GetObjectCommand({ Bucket: 'data', Key: 'secrets/latin1.txt' }))
      .then(async (o) => Buffer.from((await o.Body?.transformToByteArray()) ?? []).toString('latin1'))
      .catch((e: Error) => `refused: ${e.name} ${e.message}`);
    const utf16 = await client
      .send(new GetObjectCommand({ Bucket: 'data', Key: 'secrets/utf16.txt' }))
      .then(async (o) => Buffer.from((await o.Body?.transformToByteArray()) ?? []).toString('utf16le'))
      .catch((e: Error) => `refused: ${e.name} ${e.message}`);
    const blob = await client.send(new GetObjectCommand({ Bucket: 'data', Key: 'secrets/blob.bin' }));
    expect(Buffer.from((await blob.Body?.transformToByteArray()) ?? [])).toEqual(BLOB);
    client.destroy();
    expect(got).not.toContain(OBJECT_SECRET);
    expect(got).toMatch(/^refused: .*not UTF-8/);
    expect(utf16).not.toContain(OBJECT_SECRET);
    expect(utf16).toMatch(/^refused: .*not UTF-8/);
  });

  const apiGet = (p: string, headers: Record<string, string> = {}) =>
    request(`${apiEndpoint}${p}`, { headers: { authorization: `Bearer ${devToken}`, ...headers } });

  it('cannot read a JSON response past the masking with a Range request', async () => {
    const whole = await apiGet('/v1/config.json');
    expect(await whole.body.text()).toContain('[REDACTED:password]');
    // This connection injects a credential: its requests' Range is not forwarded (class 257), and the
    // whole answer comes back masked. (A part of a masked answer, from a connection that injects none,
    // is withheld: 502, "partial (Range) response".)
    const one = await apiGet('/v1/config.json', { range: 'bytes=26-47' });
    const oneText = await one.body.text();
    expect(oneText).not.toContain('hunter2');
    expect(one.statusCode).toBe(200);
    expect(oneText).toContain('[REDACTED:password]');
    const several = await apiGet('/v1/config.json', { range: 'bytes=0-10, 26-47' });
    const severalText = await several.body.text();
    expect(severalText).not.toContain('hunter2');
    expect(several.statusCode).toBe(200);
    // With no credential injected, the upstream's part of the masked answer is withheld.
    for (const range of ['bytes=26-47', 'bytes=0-10, 26-47']) {
      const part = await request(`${gw.endpoint('open')}/v1/config.json`, {
        headers: { authorization: `Bearer ${devToken}`, range },
      });
      const text = await part.body.text();
      expect(text).not.toContain('hunter2');
      expect(part.statusCode).toBe(502);
      expect(text).toContain('partial (Range) response');
    }
  });

  it('masks sensitive fields of a JSON response that does not parse as one document', async () => {
    for (const p of ['/v1/xssi', '/v1/lines', '/v1/jsonp?callback=cb']) {
      const res = await apiGet(p);
      const text = await res.body.text();
      expect(res.statusCode).toBe(200);
      expect(text).not.toContain('hunter2');
      expect(text).not.toContain('tok-very-secret');
      expect(text).toContain('"password":"[REDACTED:password]"');
      expect(text).toContain('"user":"ann"');
    }
  });

  it('decodes a compressed response for masking in bounded memory (a gzip bomb)', async () => {
    const baseline = process.memoryUsage().arrayBuffers;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().arrayBuffers);
    }, 2);
    try {
      const res = await apiGet('/v1/bomb', { 'accept-encoding': 'gzip' });
      const text = await res.body.text();
      expect(res.statusCode).toBe(502);
      expect(text).toContain('withheld');
      expect(text).toContain('once decoded');
    } finally {
      clearInterval(sampler);
    }
    peak = Math.max(peak, process.memoryUsage().arrayBuffers);
    // The cap is 1 MiB; the bomb decodes to 256 MiB.
    expect(peak - baseline).toBeLessThan(32 * 1024 * 1024);
  });
});
