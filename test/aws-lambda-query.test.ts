// Lambda's query string is read as the operation takes it (docs/security.md, class 56). Gatehouse
// classified Lambda requests by method and path alone and forwarded any query string: AWS's own API
// makes `GET /2018-10-31/layers?find=LayerVersion&Arn=…` GetLayerVersionByArn (IAM's
// lambda:GetLayerVersion, any account's layer) where Gatehouse decided ListLayers, and moto's server
// runs `GET /2015-03-31/functions/victim?Action=DeleteFunction` as DeleteFunction where Gatehouse decided
// GetFunction. Through the gateway with the real AWS SDK.

import { randomBytes } from 'node:crypto';
import { GetFunctionCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startCheckingUpstream,
  type CheckingUpstream,
  type RealCredentials,
} from './testkit/aws-upstreams.js';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';
import { hasMoto, startMoto, type Moto } from './testkit/moto.js';

type Key = { accessKeyId: string; secretAccessKey: string };

const REAL: RealCredentials = {
  accessKeyId: 'AKIAGATEWAYREAL00073',
  secretAccessKey: `RealSecret${randomBytes(15).toString('hex')}`,
};

const policies = [
  {
    id: 'agents',
    subjects: { agent: true },
    connections: ['aws'],
    rules: [
      { id: 'no-deletes', effect: 'deny' as const, match: { operations: ['lambda:Delete*'] } },
      { id: 'no-layer-code', effect: 'deny' as const, match: { operations: ['lambda:GetLayerVersion'] } },
      { id: 'reads', effect: 'allow' as const, match: { operations: ['lambda:Get*', 'lambda:List*'] } },
    ],
  },
];

async function gateway(lambdaEndpoint: string): Promise<HttpTestGateway> {
  return startHttpTestGateway({
    env: { ...process.env, GW_REAL_SECRET_73: REAL.secretAccessKey },
    connections: {
      aws: {
        protocol: 'http',
        listen: '127.0.0.1:0',
        auth: {
          type: 'aws-sigv4',
          region: 'us-east-1',
          credentials: { accessKeyId: REAL.accessKeyId, secretAccessKey: { env: 'GW_REAL_SECRET_73' } },
          endpoints: { lambda: lambdaEndpoint },
        },
      },
    },
    policies,
  });
}

/** A signed GET with exactly this query, as a hostile client sends it. */
async function signedGet(
  endpoint: string,
  key: Key,
  path: string,
  query: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  const u = new URL(endpoint);
  const signer = new SignatureV4({
    credentials: key,
    region: 'us-east-1',
    service: 'lambda',
    sha256: Sha256,
  });
  const req = await signer.sign(
    new HttpRequest({
      method: 'GET',
      hostname: u.hostname,
      port: Number(u.port),
      path,
      query,
      headers: { host: u.host, ...headers },
    }),
  );
  const q = new URLSearchParams(query).toString();
  const res = await request(`${endpoint}${path}${q === '' ? '' : `?${q}`}`, {
    method: 'GET',
    headers: req.headers,
  });
  return { status: res.statusCode, text: await res.body.text() };
}

describe("Lambda's own query parameters that make a path another operation", { timeout: 60_000 }, () => {
  let up: CheckingUpstream;
  let gw: HttpTestGateway;
  let agent: Key;

  beforeAll(async () => {
    up = await startCheckingUpstream({
      credentials: [REAL],
      respond: () => ({
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: '{"Layers":[]}',
      }),
    });
    gw = await gateway(up.url);
    agent = await gw.awsKey({ subject: 'claude', agent: true });
  }, 30_000);

  afterAll(async () => {
    await gw?.stop();
    await up?.stop();
  });

  it('ListLayers is allowed', async () => {
    const r = await signedGet(gw.endpoint('aws'), agent, '/2018-10-31/layers', { MaxItems: '5' });
    expect(r.status, r.text).toBe(200);
  });

  it('GetLayerVersionByArn on the ListLayers path is decided as lambda:GetLayerVersion, not ListLayers', async () => {
    const before = up.seen.length;
    const r = await signedGet(gw.endpoint('aws'), agent, '/2018-10-31/layers', {
      find: 'LayerVersion',
      Arn: 'arn:aws:lambda:us-east-1:999999999999:layer:other-account:1',
    });
    expect(up.seen.length, 'GetLayerVersionByArn reached Lambda, decided as ListLayers').toBe(before);
    expect(r.status).toBe(403);
    expect(r.text).toContain('no-layer-code');
  });

  it('a parameter the operation does not take is refused, nothing forwarded', async () => {
    const before = up.seen.length;
    const r = await signedGet(gw.endpoint('aws'), agent, '/2015-03-31/functions/billing', {
      Action: 'DeleteFunction',
    });
    expect(up.seen.length).toBe(before);
    expect(r.status).toBe(403);
    expect(r.text).toContain('aws-unknown-operation');
  });
});

describe.skipIf(!hasMoto())('moto: ?Action= on a Lambda path', { timeout: 60_000 }, () => {
  let moto: Moto;
  let gw: HttpTestGateway;
  let agent: Key;

  /** A call straight to moto (it checks no signature, only reads the scope's region). */
  async function motoCall(method: string, path: string, service: string, body?: string): Promise<string> {
    const res = await request(`${moto.url}${path}`, {
      method: method as 'GET',
      headers: {
        'content-type': service === 'iam' ? 'application/x-www-form-urlencoded' : 'application/json',
        authorization: `AWS4-HMAC-SHA256 Credential=AKIDSEED/20260101/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=00`,
      },
      ...(body !== undefined ? { body } : {}),
    });
    return res.body.text();
  }

  beforeAll(async () => {
    moto = await startMoto();
    const role = await motoCall(
      'POST',
      '/',
      'iam',
      'Action=CreateRole&RoleName=fn&AssumeRolePolicyDocument=%7B%7D&Version=2010-05-08',
    );
    const roleArn = /<Arn>([^<]+)<\/Arn>/.exec(role)![1]!;
    // An empty zip archive: moto stores the code, it does not run it here.
    const zip = Buffer.concat([Buffer.from('PK\x05\x06', 'latin1'), Buffer.alloc(18)]).toString('base64');
    await motoCall(
      'POST',
      '/2015-03-31/functions',
      'lambda',
      JSON.stringify({
        FunctionName: 'victim',
        Runtime: 'python3.11',
        Role: roleArn,
        Handler: 'i.h',
        Code: { ZipFile: zip },
      }),
    );
    gw = await gateway(moto.url);
    agent = await gw.awsKey({ subject: 'claude', agent: true });
  }, 30_000);

  afterAll(async () => {
    await gw?.stop();
    await moto?.stop();
  });

  it('GetFunction through the gateway works', async () => {
    const client = new LambdaClient({
      endpoint: gw.endpoint('aws'),
      region: 'us-east-1',
      credentials: agent,
      maxAttempts: 1,
    });
    const out = await client.send(new GetFunctionCommand({ FunctionName: 'victim' }));
    client.destroy();
    expect(out.Configuration?.FunctionName).toBe('victim');
  });

  it('a GetFunction carrying ?Action=DeleteFunction does not delete the function', async () => {
    await signedGet(gw.endpoint('aws'), agent, '/2015-03-31/functions/victim', { Action: 'DeleteFunction' });
    expect(await motoCall('GET', '/2015-03-31/functions/', 'lambda'), 'the function was deleted').toContain(
      '"FunctionName": "victim"',
    );
  });

  it('a GetFunction carrying an Action header does not delete the function (class 59)', async () => {
    // moto reads the headers as parameters when there is no query string, form or body.
    const r = await signedGet(
      gw.endpoint('aws'),
      agent,
      '/2015-03-31/functions/victim',
      {},
      { Action: 'DeleteFunction' },
    );
    expect(await motoCall('GET', '/2015-03-31/functions/', 'lambda'), 'the function was deleted').toContain(
      '"FunctionName": "victim"',
    );
    expect(r.status).toBe(403);
    expect(r.text).toContain('aws-unknown-operation');
  });
});
