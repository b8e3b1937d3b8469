// S3 keys and the one canonical path (issue 11, class 5), through the real wire: the AWS SDK v3 and raw
// SigV4-signed requests to a Gatehouse AWS connection whose S3 upstream checks the gateway's signature
// on the path it actually received and records it. S3 keys legitimately hold odd characters (`\`, `;`,
// `%`, `+`, spaces, non-ASCII): those go through, signed and forwarded as the one canonical path, and
// the decision is on the key S3 will read; dot segments, empty segments and the other ambiguous forms are
// refused (400 InvalidRequest) and reach nothing.

import http from 'node:http';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import { GetObjectCommand, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCheckingUpstream,
  type CannedResponse,
  type CheckingUpstream,
  type RealCredentials,
} from './testkit/aws-upstreams.js';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';

const REAL: RealCredentials = {
  accessKeyId: 'AKIAGATEWAYCANONICAL',
  secretAccessKey: 'RealSecretForTheCanonicalPathTest000001',
};

/** The key S3 reads from a path-style path: the percent-decoded rest after `/<bucket>/`. */
function keyOf(url: string): string {
  const path = url.split('?')[0]!;
  return decodeURIComponent(path.slice(path.indexOf('/', 1) + 1));
}

describe('S3 keys through the one canonical path', () => {
  let up: CheckingUpstream;
  let gw: HttpTestGateway;
  let endpoint: string;
  let key: { accessKeyId: string; secretAccessKey: string };
  let s3: S3Client;

  beforeAll(async () => {
    up = await startCheckingUpstream({
      credentials: [REAL],
      respond: (req): CannedResponse =>
        req.method === 'PUT'
          ? { status: 200, headers: { etag: '"0"' }, body: '' }
          : { status: 200, headers: { 'content-type': 'text/plain' }, body: 'object body' },
    });
    gw = await startHttpTestGateway({
      env: { ...process.env, GW_REAL_SECRET: REAL.secretAccessKey },
      connections: {
        aws: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          auth: {
            type: 'aws-sigv4',
            region: 'us-east-1',
            credentials: { accessKeyId: REAL.accessKeyId, secretAccessKey: { env: 'GW_REAL_SECRET' } },
            endpoints: { s3: up.url },
          },
        },
      },
      policies: [
        {
          id: 'ops',
          subjects: { groups: ['ops'] },
          connections: ['aws'],
          rules: [
            {
              id: 'no-secret',
              effect: 'deny',
              match: { operations: ['s3:*Object'], paths: ['/data/secret/**'] },
            },
            { id: 'allow-all', effect: 'allow', match: { operations: ['*'] } },
          ],
        },
      ],
    });
    endpoint = gw.endpoint('aws');
    key = await gw.awsKey({ subject: 's3-canon', groups: ['ops'] });
    s3 = new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: key,
      maxAttempts: 1,
    });
  });

  afterAll(async () => {
    s3?.destroy();
    await gw?.stop();
    await up?.stop();
  });

  async function statements(): Promise<{ effect: string; text: string; ruleId: string }[]> {
    await new Promise((r) => setTimeout(r, 100));
    const sessions = await gw.gateway.store.listSessions({ subject: 's3-canon', limit: 10_000 });
    const details = await Promise.all(sessions.map((s) => gw.gateway.store.getSession(s.id)));
    return details.flatMap((d) => d?.statements ?? []);
  }

  /** A request signed by the client exactly over `path` and sent with exactly that path. */
  async function signedRaw(method: string, path: string): Promise<{ status: number; body: string }> {
    const u = new URL(endpoint);
    const signer = new SignatureV4({
      credentials: key,
      region: 'us-east-1',
      service: 's3',
      sha256: Sha256,
      uriEscapePath: false,
    });
    const signed = await signer.sign(
      new HttpRequest({
        method,
        hostname: u.hostname,
        port: Number(u.port),
        path,
        headers: { host: u.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
      }),
    );
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: u.hostname, port: Number(u.port), method, path, headers: signed.headers },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  it('forwards keys with odd characters as S3 reads them, signed over the path sent, decided on that key', async () => {
    const keys = [
      "dir/a\\b;c%d+e (1)!'*~é.txt",
      'ünï/cödé/€ 100%.bin',
      'plain/a=b&c,d:e@f$g.txt',
      'folder/',
      '...hidden/.x/..y',
    ];
    for (const k of keys) {
      const before = up.seen.length;
      await s3.send(new PutObjectCommand({ Bucket: 'data', Key: k, Body: 'x' }));
      const got = await s3.send(new GetObjectCommand({ Bucket: 'data', Key: k }));
      expect(await got.Body!.transformToString()).toBe('object body');
      expect(up.seen.length).toBe(before + 2);
      for (const seen of up.seen.slice(before)) {
        // The upstream's own SigV4 check on the path it received passed, and it reads the same key.
        expect(seen.verified, `${k}: ${seen.failure ?? ''}`).toBe(true);
        expect(keyOf(seen.url)).toBe(k);
      }
    }
    const texts = (await statements()).map((s) => s.text);
    for (const k of keys) expect(texts).toContain(`PUT /data/${k}?x-id=PutObject`);
  });

  it('refuses keys with dot or empty segments (S3 stores disagree on them) and reaches nothing', async () => {
    const before = up.seen.length;
    for (const k of ['public/../secret/x', './secret/x', 'secret/./x', 'a//b', '/leading', 'x/..']) {
      const err = await s3.send(new GetObjectCommand({ Bucket: 'data', Key: k })).catch((e: unknown) => e);
      expect(err, k).toBeInstanceOf(S3ServiceException);
      const e = err as S3ServiceException;
      expect(e.$metadata.httpStatusCode, k).toBe(400);
      expect(e.name, k).toBe('InvalidRequest');
      expect(e.message, k).toMatch(/dot segment|empty segment/);
    }
    const denied = await s3
      .send(new GetObjectCommand({ Bucket: 'data', Key: 'secret/x' }))
      .catch((e: unknown) => e);
    expect((denied as S3ServiceException).name).toBe('AccessDenied');
    expect(up.seen.length).toBe(before);
  });

  it('refuses raw ambiguous forms a client signed itself (the signature is fine, the path is not)', async () => {
    const before = up.seen.length;
    const cases: [string, RegExp][] = [
      ['/data/public\\..\\secret\\x', /backslash/],
      ['/data/public/%2e%2e/secret/x', /encoded &quot;\.&quot;|encoded "\."/],
      ['/data/secret%2Fx', /encoded &quot;\/&quot;|encoded "\/"/],
      ['/data/a+b', /raw &quot;\+&quot;|raw "\+"/],
      ['/data/secret;x=1/y', /path parameter/],
      ['//data/secret/x', /host name/],
    ];
    for (const [path, why] of cases) {
      const r = await signedRaw('GET', path);
      expect(r.status, path).toBe(400);
      expect(r.body, path).toMatch(/<Code>InvalidRequest<\/Code>/);
      expect(r.body, path).toMatch(why);
    }
    expect(up.seen.length).toBe(before);
    const recorded = await statements();
    expect(recorded).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          effect: 'deny',
          text: 'GET /data/public\\..\\secret\\x',
          ruleId: 'http-ambiguous-request',
        }),
      ]),
    );
  });

  it('for any key: accepted ones reach S3 as that key, signed and decided on it; ambiguous ones reach nothing (property)', async () => {
    const piece = fc.constantFrom(
      'a',
      'secret',
      'SECRET',
      'x y',
      'é',
      '€',
      '\\',
      ';',
      '%',
      '+',
      '=',
      '&',
      '?',
      '#',
      '.',
      '..',
      '~',
      '!',
      '*',
      "'",
      '(',
      ')',
      '"',
      '<',
      '{',
      '|',
      '^',
      '`',
      '/',
      '//',
      '%2F',
      '%2e',
    );
    const keyArb = fc.array(piece, { minLength: 1, maxLength: 8 }).map((p) => p.join(''));
    const accepted: string[] = [];
    await fc.assert(
      fc.asyncProperty(keyArb, async (k) => {
        const before = up.seen.length;
        const segs = k.split('/');
        const ambiguous = segs.some((s, i) => (s === '' && i < segs.length - 1) || s === '.' || s === '..');
        const denied = !ambiguous && segs[0]!.toLowerCase() === 'secret';
        const err = await s3
          .send(new PutObjectCommand({ Bucket: 'data', Key: k, Body: 'x' }))
          .then(() => undefined)
          .catch((e: unknown) => e as S3ServiceException);
        if (ambiguous) {
          expect(err?.name, k).toBe('InvalidRequest');
          expect(up.seen.length, k).toBe(before);
        } else if (denied) {
          expect(err?.name, k).toBe('AccessDenied');
          expect(up.seen.length, k).toBe(before);
        } else {
          expect(err, k).toBeUndefined();
          expect(up.seen.length, k).toBe(before + 1);
          const seen = up.seen.at(-1)!;
          expect(seen.verified, `${k}: ${seen.failure ?? ''}`).toBe(true);
          expect(keyOf(seen.url), k).toBe(k);
          accepted.push(k);
        }
      }),
      { numRuns: 120 },
    );
    // The decision on record is on that same key (policy sees `?` and `#` kept encoded).
    const texts = new Set((await statements()).map((s) => s.text));
    for (const k of accepted)
      expect(texts.has(`PUT /data/${k.replace(/\?/g, '%3F').replace(/#/g, '%23')}?x-id=PutObject`), k).toBe(
        true,
      );
    expect(accepted.length).toBeGreaterThan(10);
  });
});
