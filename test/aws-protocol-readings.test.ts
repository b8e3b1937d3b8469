// One request, one reading: an AWS-compatible endpoint must not be able to read a request Gatehouse
// decided as one operation as another. moto's server (Python, an AWS-compatible endpoint teams point
// their SDKs at; LocalStack builds on it) takes `Action` from a form it finds in the body before it
// looks at X-Amz-Target, and picks the query protocol for a form Content-Type: a JSON body that is also
// a form (`{"x":"&Action=DeleteQueue&"}`) ran as DeleteQueue while Gatehouse decided and recorded the
// X-Amz-Target's GetQueueAttributes (docs/security.md, class 54).

import { randomBytes } from 'node:crypto';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';
import { hasMoto, startMoto, type Moto } from './testkit/moto.js';

type Key = { accessKeyId: string; secretAccessKey: string };

/** A SigV4-signed request as a hostile client would send it, headers and body exactly as given. */
async function signed(
  url: string,
  key: Key,
  opts: { method?: string; service: string; path?: string; headers: Record<string, string>; body?: string },
): Promise<{ status: number; text: string }> {
  const u = new URL(url);
  const signer = new SignatureV4({
    credentials: key,
    region: 'us-east-1',
    service: opts.service,
    sha256: Sha256,
  });
  const req = await signer.sign(
    new HttpRequest({
      method: opts.method ?? 'POST',
      hostname: u.hostname,
      port: Number(u.port),
      path: opts.path ?? '/',
      headers: { host: u.host, ...opts.headers },
      ...(opts.body !== undefined ? { body: opts.body } : {}),
    }),
  );
  const res = await request(`${url}${opts.path ?? '/'}`, {
    method: (opts.method ?? 'POST') as 'POST',
    headers: req.headers,
    ...(opts.body !== undefined ? { body: opts.body } : {}),
  });
  return { status: res.statusCode, text: await res.body.text() };
}

/** A query-protocol call straight to moto (it checks no signature, only reads the scope's region). */
async function motoQuery(moto: Moto, service: string, form: Record<string, string>): Promise<string> {
  const res = await request(`${moto.url}/`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `AWS4-HMAC-SHA256 Credential=AKIDSEED/20260101/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=00`,
    },
    body: new URLSearchParams(form).toString(),
  });
  return res.body.text();
}

describe.skipIf(!hasMoto())('a JSON-protocol request has one reading', { timeout: 60_000 }, () => {
  let moto: Moto;
  let gw: HttpTestGateway;
  let endpoint: string;
  let agent: Key;

  const queues = async (): Promise<string> => motoQuery(moto, 'sqs', { Action: 'ListQueues' });
  const createQueue = async (name: string): Promise<string> =>
    /<QueueUrl>([^<]+)<\/QueueUrl>/.exec(
      await motoQuery(moto, 'sqs', { Action: 'CreateQueue', QueueName: name }),
    )![1]!;

  beforeAll(async () => {
    moto = await startMoto();
    gw = await startHttpTestGateway({
      env: { ...process.env, GW_REAL_SECRET_71: `RealSecret${randomBytes(15).toString('hex')}` },
      connections: {
        aws: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          auth: {
            type: 'aws-sigv4',
            region: 'us-east-1',
            credentials: {
              accessKeyId: 'AKIAGATEWAYREAL00071',
              secretAccessKey: { env: 'GW_REAL_SECRET_71' },
            },
            endpoints: { sqs: moto.url },
          },
        },
      },
      policies: [
        {
          id: 'agents',
          subjects: { agent: true },
          connections: ['aws'],
          rules: [
            { id: 'no-deletes', effect: 'deny', match: { operations: ['sqs:Delete*', 'sqs:Purge*'] } },
            { id: 'reads', effect: 'allow', match: { operations: ['sqs:Get*', 'sqs:List*'] } },
          ],
        },
      ],
    });
    endpoint = gw.endpoint('aws');
    agent = await gw.awsKey({ subject: 'claude', agent: true });
  }, 30_000);

  afterAll(async () => {
    await gw?.stop();
    await moto?.stop();
  });

  it('an allowed read through the gateway works (X-Amz-Target, JSON body)', async () => {
    const queueUrl = await createQueue('orders-0');
    const r = await signed(endpoint, agent, {
      service: 'sqs',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'AmazonSQS.GetQueueAttributes',
      },
      body: JSON.stringify({ QueueUrl: queueUrl, AttributeNames: ['All'] }),
    });
    expect(r.status, r.text).toBe(200);
    expect(r.text).toContain('Attributes');
  });

  it('a JSON body that also reads as a form naming another Action does not run that Action', async () => {
    const queueUrl = await createQueue('orders-1');
    const r = await signed(endpoint, agent, {
      service: 'sqs',
      headers: {
        'content-type': 'application/x-amz-json-1.0',
        'x-amz-target': 'AmazonSQS.GetQueueAttributes',
      },
      body: JSON.stringify({ QueueUrl: queueUrl, AttributeNames: ['All'], x: '&Action=DeleteQueue&y=' }),
    });
    // Forwarded as the GetQueueAttributes it was decided as, the `&` and `=` still in the value.
    expect(r.status, r.text).toBe(200);
    expect(r.text).toContain('Attributes');
    expect(await queues(), 'the queue was deleted through a request decided as GetQueueAttributes').toContain(
      '/orders-1<',
    );
  });

  it('a JSON-protocol request sent as a form is refused, not read as the query protocol upstream', async () => {
    const queueUrl = await createQueue('orders-2');
    const form = `{"QueueUrl":"${queueUrl}","a":"&Action=DeleteQueue&QueueUrl=${encodeURIComponent(queueUrl)}&b="}`;
    const r = await signed(endpoint, agent, {
      service: 'sqs',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-amz-target': 'AmazonSQS.GetQueueAttributes',
      },
      body: form,
    });
    expect(r.status, r.text).toBe(400);
    expect(r.text).toContain('aws-unknown-operation');
    expect(await queues()).toContain('/orders-2<');
  });
});
