// The session token Gatehouse signs AWS requests with (temporary credentials: `sessionToken` in the
// connection's credentials, AWS_SESSION_TOKEN, an assumed role), echoed by the upstream: S3's
// ExpiredToken and InvalidToken errors quote it as `<Token-0>`, and an S3-compatible store or a debug
// endpoint may quote its request in a header or a body. It reached the client, any principal, in
// clear: class 257 scrubbed the injected credential of generic HTTP connections only. Now every
// response of an AWS connection has the session token its request was signed with replaced by `*`,
// in headers and bodies, whatever the content type (docs/security.md class 276). The real AWS CLI
// through the gateway, against an upstream that checks the gateway's signature and echoes the token.

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsCli, type AwsCli } from './testkit/aws-cli.js';
import { hasCommand } from './testkit/commands.js';
import {
  startCheckingUpstream,
  type CannedResponse,
  type CheckingUpstream,
} from './testkit/aws-upstreams.js';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';

const REAL = {
  accessKeyId: 'AKIAGATEWAYREAL00276',
  secretAccessKey: `Real${randomBytes(15).toString('hex')}`,
};
/** An object stored gzip-coded, as a static site's files often are. */
const CODED = gzipSync('<html>stored coded</html>');
/** Shaped as STS hands them out; no detector needs to know it. */
const TOKEN = `IQoJb3JpZ2luX2VjE${randomBytes(90).toString('base64').replace(/[+/=]/g, 'x')}`;

describe.skipIf(!hasCommand('aws'))(
  'the signing session token echoed by an AWS upstream',
  { timeout: 90_000 },
  () => {
    let up: CheckingUpstream;
    let gw: HttpTestGateway;
    let cli: AwsCli;

    beforeAll(async () => {
      up = await startCheckingUpstream({
        credentials: [REAL],
        respond: (req): CannedResponse => {
          const t = String(req.headers['x-amz-security-token'] ?? '');
          const u = req.url ?? '';
          if (u.includes('expired'))
            return {
              status: 400,
              headers: { 'content-type': 'application/xml' },
              body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message><Token-0>${t}</Token-0><RequestId>r1</RequestId></Error>`,
            };
          if (u.includes('coded'))
            return {
              status: 200,
              headers: { 'content-type': 'text/html', 'content-encoding': 'gzip' },
              body: CODED,
            };
          if (u.includes('text'))
            return {
              status: 200,
              headers: { 'content-type': 'text/plain', 'x-debug-request': `token=${t}` },
              body: `request token ${t}\n`,
            };
          return {
            status: 200,
            headers: { 'content-type': 'application/octet-stream' },
            body: Buffer.from(`raw:${encodeURIComponent(t)}:${t}`),
          };
        },
      });
      gw = await startHttpTestGateway({
        env: { ...process.env, GW_SECRET_276: REAL.secretAccessKey, GW_TOKEN_276: TOKEN },
        connections: {
          aws: {
            protocol: 'http',
            listen: '127.0.0.1:0',
            auth: {
              type: 'aws-sigv4',
              region: 'us-east-1',
              credentials: {
                accessKeyId: REAL.accessKeyId,
                secretAccessKey: { env: 'GW_SECRET_276' },
                sessionToken: { env: 'GW_TOKEN_276' },
              },
              endpoints: { s3: up.url },
            },
          },
        },
        policies: [
          {
            id: 'people',
            subjects: { agent: false },
            connections: ['aws'],
            rules: [
              { id: 'read-objects', effect: 'allow' as const, match: { operations: ['s3:GetObject'] } },
            ],
          },
        ],
      });
      cli = awsCli(gw.endpoint('aws'), await gw.awsKey({ subject: 'olga' }));
    }, 60_000);

    afterAll(async () => {
      cli?.stop();
      await gw?.stop();
      await up?.stop();
    });

    /** Everything the CLI shows and writes for `get-object` of `key` (with --debug: the headers too). */
    async function getObject(key: string): Promise<string> {
      const out = path.join(cli.home, `out-${key}`);
      const r = await cli
        .run('s3api', 'get-object', '--bucket', 'data-276', '--key', key, out, '--debug')
        .then(
          (x) => x,
          (e: { stderr: string; stdout: string }) => e,
        );
      return r.stderr + r.stdout + (existsSync(out) ? readFileSync(out, 'utf8') : '');
    }

    it("S3's ExpiredToken error does not hand the client the token it quotes", async () => {
      const seen = await getObject('expired');
      expect(up.seen.at(-1)?.verified).toBe(true);
      expect(seen).toContain('ExpiredToken');
      expect(seen).not.toContain(TOKEN.slice(0, 24));
    });

    it('an echo in a header, a text body or a binary object is scrubbed, for a principal without masking', async () => {
      for (const key of ['text', 'raw']) {
        const seen = await getObject(key);
        expect(seen, key).not.toContain(TOKEN.slice(0, 24));
        expect(seen, key).toContain('*'.repeat(TOKEN.length));
      }
    });

    it('an object stored coded goes out as it was stored, not decoded', async () => {
      await getObject('coded');
      expect(readFileSync(path.join(cli.home, 'out-coded')).equals(CODED)).toBe(true);
    });
  },
);
