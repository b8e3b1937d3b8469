// AWS upstreams for the gateway tests: s3rver and dynalite started in-process on port 0, behind a
// SigV4-checking proxy that verifies every request against the gateway's real credentials (its own
// implementation on @smithy/signature-v4, independent of the engine's) and records what it saw; the
// same proxy can answer canned IAM, STS and Lambda responses instead of forwarding.

import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import dynalite from 'dynalite';
import S3rver from 's3rver';
import { request } from 'undici';

export interface RealCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly accessKeyId: string | undefined;
  readonly service: string | undefined;
  readonly verified: boolean;
  readonly failure?: string;
  readonly body: Buffer;
}

export interface CannedResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string | Buffer;
}

export interface CheckingUpstream {
  readonly url: string;
  readonly seen: SeenRequest[];
  stop(): Promise<void>;
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of req as AsyncIterable<Buffer>) parts.push(c);
  return Buffer.concat(parts);
}

/** Verifies a request's SigV4 signature against the expected credentials; returns a failure or undefined. */
async function check(
  req: IncomingMessage,
  body: Buffer,
  creds: readonly RealCredentials[],
): Promise<{ failure?: string; accessKeyId?: string; service?: string }> {
  const auth = req.headers.authorization ?? '';
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (!m) return { failure: 'no SigV4 Authorization header' };
  const [, accessKeyId, , region, service, signedHeaders, signature] = m as unknown as string[];
  const cred = creds.find((c) => c.accessKeyId === accessKeyId);
  if (!cred) return { failure: `unexpected access key ${accessKeyId}`, accessKeyId, service };
  if (cred.sessionToken !== undefined && req.headers['x-amz-security-token'] !== cred.sessionToken)
    return { failure: 'missing session token', accessKeyId, service };
  const sha = req.headers['x-amz-content-sha256'];
  if (typeof sha !== 'string') return { failure: 'no x-amz-content-sha256', accessKeyId, service };
  if (/^[0-9a-f]{64}$/.test(sha) && createHash('sha256').update(body).digest('hex') !== sha)
    return { failure: 'payload hash mismatch', accessKeyId, service };
  const headers: Record<string, string> = {};
  for (const h of signedHeaders!.split(';')) headers[h] = String(req.headers[h] ?? '');
  const url = new URL(req.url ?? '/', 'http://x');
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  const amz = String(req.headers['x-amz-date']);
  const date = new Date(
    `${amz.slice(0, 4)}-${amz.slice(4, 6)}-${amz.slice(6, 8)}T${amz.slice(9, 11)}:${amz.slice(11, 13)}:${amz.slice(13, 15)}Z`,
  );
  const signer = new SignatureV4({
    credentials: cred,
    region: region!,
    service: service!,
    sha256: Sha256,
    uriEscapePath: service !== 's3',
    applyChecksum: false,
  });
  const signed = await signer.sign(
    new HttpRequest({
      method: req.method ?? 'GET',
      hostname: 'x',
      path: (req.url ?? '/').split('?')[0]!,
      query,
      headers,
    }),
    { signingDate: date, signableHeaders: new Set(signedHeaders!.split(';')) },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec(signed.headers['authorization'] ?? '')?.[1];
  return expected === signature
    ? { accessKeyId, service }
    : { failure: 'signature mismatch', accessKeyId, service };
}

/**
 * A server that checks every request's SigV4 signature with the real credentials, then forwards it to
 * `forwardTo` or answers with `respond`. A request that fails the check gets a 403 SignatureDoesNotMatch.
 */
export async function startCheckingUpstream(options: {
  readonly credentials: readonly RealCredentials[];
  readonly forwardTo?: string;
  readonly respond?: (req: IncomingMessage, body: Buffer, service: string | undefined) => CannedResponse;
}): Promise<CheckingUpstream> {
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    void (async () => {
      const body = await readAll(req);
      const result = await check(req, body, options.credentials);
      seen.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        accessKeyId: result.accessKeyId,
        service: result.service,
        verified: result.failure === undefined,
        ...(result.failure ? { failure: result.failure } : {}),
        body,
      });
      if (result.failure) {
        res.writeHead(403, { 'content-type': 'application/xml' });
        res.end(
          `<Error><Code>SignatureDoesNotMatch</Code><Message>upstream check: ${result.failure}</Message></Error>`,
        );
        return;
      }
      if (options.respond) {
        const r = options.respond(req, body, result.service);
        res.writeHead(r.status, r.headers);
        res.end(r.body);
        return;
      }
      const target = new URL(req.url ?? '/', options.forwardTo);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) {
        if (
          v === undefined ||
          ['host', 'connection', 'transfer-encoding', 'keep-alive', 'expect'].includes(k)
        )
          continue;
        headers[k] = Array.isArray(v) ? v.join(', ') : v;
      }
      const up = await request(target, {
        method: req.method as 'GET',
        headers,
        body: body.length > 0 ? body : null,
      });
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(up.headers))
        if (v !== undefined && !['connection', 'transfer-encoding', 'keep-alive'].includes(k)) out[k] = v;
      res.writeHead(up.statusCode, out);
      for await (const chunk of up.body) res.write(chunk);
      res.end();
    })().catch((err: unknown) => {
      res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface RunningFake {
  readonly url: string;
  stop(): Promise<void>;
}

/** s3rver with the given buckets; it accepts the given access key (it does not check V4 signatures itself). */
export async function startS3rver(
  buckets: readonly string[],
  accessKeys: readonly RealCredentials[],
): Promise<RunningFake> {
  const require = createRequire(import.meta.url);
  const account = require('s3rver/lib/models/account.js') as {
    DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void };
  };
  for (const k of accessKeys) account.DUMMY_ACCOUNT.createKeyPair(k.accessKeyId, k.secretAccessKey);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-s3rver-'));
  const s3 = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: dir,
    configureBuckets: buckets.map((name) => ({ name })),
  });
  const addr = await s3.run();
  return {
    url: `http://127.0.0.1:${addr.port}`,
    async stop() {
      await s3.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function startDynalite(): Promise<RunningFake> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
