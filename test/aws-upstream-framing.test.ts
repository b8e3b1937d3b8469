// An AWS connection whose endpoint is not AWS's own (an S3-compatible store, here Python's
// http.server, which answers without reading a request body) must not let an allowed PutObject's body
// run as the next request on the upstream connection, re-signed with the gateway's credentials
// (docs/security.md class 40, the AWS path): the real AWS SDK through the gateway.

import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';
import { startPythonUpstream, type PythonUpstream } from './testkit/python-upstreams.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('an S3-compatible endpoint that does not read request bodies', { timeout: 60_000 }, () => {
  let py: PythonUpstream;
  let gw: HttpTestGateway;
  let s3: S3Client;

  beforeAll(async () => {
    py = await startPythonUpstream('http.server');
    const secret = `RealSecret${randomBytes(15).toString('hex')}`;
    gw = await startHttpTestGateway({
      env: { ...process.env, GW_REAL_SECRET_40: secret },
      connections: {
        aws: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          auth: {
            type: 'aws-sigv4',
            region: 'us-east-1',
            credentials: {
              accessKeyId: 'AKIAGATEWAYREAL00040',
              secretAccessKey: { env: 'GW_REAL_SECRET_40' },
            },
            endpoints: { s3: py.url },
          },
        },
      },
      policies: [
        {
          id: 'agents',
          subjects: { agent: true },
          connections: ['aws'],
          rules: [
            { id: 'no-deletes', effect: 'deny', match: { operations: ['s3:Delete*'] } },
            { id: 'puts-and-gets', effect: 'allow', match: { operations: ['s3:PutObject', 's3:GetObject'] } },
          ],
        },
      ],
    });
    const key = await gw.awsKey({ subject: 'claude', agent: true });
    s3 = new S3Client({
      endpoint: gw.endpoint('aws'),
      region: 'us-east-1',
      credentials: key,
      forcePathStyle: true,
      maxAttempts: 1,
    });
  }, 30_000);

  afterAll(async () => {
    s3?.destroy();
    await gw?.stop();
    await py?.stop();
  });

  it('an allowed PutObject whose body is a DELETE does not run the DELETE', async () => {
    const smuggled = 'DELETE /bucket/everything HTTP/1.1\r\nHost: s3\r\nContent-Length: 0\r\n\r\n';
    await s3
      .send(new PutObjectCommand({ Bucket: 'bucket', Key: 'note', Body: smuggled }))
      .catch(() => undefined);
    // Another request after it, for the upstream to run anything it still had queued.
    await s3.send(new GetObjectCommand({ Bucket: 'bucket', Key: 'note' })).catch(() => undefined);
    await sleep(200);
    const ran = py.ran.map((q) => `${q.method} ${q.target.split('?')[0]}`);
    expect(ran).toContain('PUT /bucket/note');
    expect(ran).toContain('GET /bucket/note');
    expect(
      ran.filter((r) => r.startsWith('DELETE')),
      'the DELETE in the body ran upstream',
    ).toEqual([]);
  });
});
