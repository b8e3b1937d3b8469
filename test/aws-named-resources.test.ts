// Every resource a request names is decided (docs/security.md, class 55). A DynamoDB BatchGetItem reads
// every table in its RequestItems; Gatehouse decided it on the names joined with ",", which a rule's
// `*` (it spans any character, as in IAM) matched across: an agent allowed `app-*` read `secrets` too.
// A JSON request naming two resource keys was decided on the first found, while the service read the
// one it defines: `{"KeyId":"dev/x","SecretId":"prod/db"}` read prod/db under a rule for `dev/*`.
// Through the gateway with the real AWS SDK against dynalite, and against moto's Secrets Manager.

import { randomBytes } from 'node:crypto';
import {
  BatchGetItemCommand,
  CreateTableCommand,
  DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDynalite, type RunningFake } from './testkit/aws-upstreams.js';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';
import { hasMoto, startMoto, type Moto } from './testkit/moto.js';

type Key = { accessKeyId: string; secretAccessKey: string };

const policies = [
  {
    id: 'agents',
    subjects: { agent: true },
    connections: ['aws'],
    rules: [
      { id: 'no-secrets-table', effect: 'deny' as const, match: { awsResources: ['secrets'] } },
      {
        id: 'app-tables',
        effect: 'allow' as const,
        match: { operations: ['dynamodb:BatchGetItem', 'dynamodb:GetItem'], awsResources: ['app-*'] },
      },
      // PartiQL names its table in the statement alone; a deny by resource must still see it.
      { id: 'partiql', effect: 'allow' as const, match: { operations: ['dynamodb:ExecuteStatement'] } },
      {
        id: 'dev-secrets',
        effect: 'allow' as const,
        match: { operations: ['secretsmanager:GetSecretValue'], awsResources: ['dev/*'] },
      },
    ],
  },
  {
    id: 'ops',
    subjects: { subjects: ['ops'] },
    connections: ['aws'],
    rules: [{ id: 'all', effect: 'allow' as const, match: { operations: ['*'] } }],
  },
];

async function gateway(endpoints: Record<string, string>): Promise<HttpTestGateway> {
  return startHttpTestGateway({
    env: { ...process.env, GW_REAL_SECRET_72: `RealSecret${randomBytes(15).toString('hex')}` },
    connections: {
      aws: {
        protocol: 'http',
        listen: '127.0.0.1:0',
        auth: {
          type: 'aws-sigv4',
          region: 'us-east-1',
          credentials: { accessKeyId: 'AKIAGATEWAYREAL00072', secretAccessKey: { env: 'GW_REAL_SECRET_72' } },
          endpoints,
        },
      },
    },
    policies,
  });
}

describe('DynamoDB: every table of a batch is decided', { timeout: 60_000 }, () => {
  let ddb: RunningFake;
  let gw: HttpTestGateway;
  let agent: DynamoDBClient;

  beforeAll(async () => {
    ddb = await startDynalite();
    gw = await gateway({ dynamodb: ddb.url });
    // Both keys before any request: the gateway reloads its key list at most once a second.
    const opsKey = await gw.awsKey({ subject: 'ops', agent: false });
    const agentKey = await gw.awsKey({ subject: 'claude', agent: true });
    const client = (credentials: Key) =>
      new DynamoDBClient({ endpoint: gw.endpoint('aws'), region: 'us-east-1', credentials, maxAttempts: 1 });
    const ops = client(opsKey);
    for (const TableName of ['app-orders', 'secrets']) {
      await ops.send(
        new CreateTableCommand({
          TableName,
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
      await ops.send(
        new PutItemCommand({ TableName, Item: { id: { S: '1' }, v: { S: `row of ${TableName}` } } }),
      );
    }
    ops.destroy();
    agent = client(agentKey);
  }, 30_000);

  afterAll(async () => {
    agent?.destroy();
    await gw?.stop();
    await ddb?.stop();
  });

  it('a batch of the allowed table alone is allowed', async () => {
    const out = await agent.send(
      new BatchGetItemCommand({ RequestItems: { 'app-orders': { Keys: [{ id: { S: '1' } }] } } }),
    );
    expect(out.Responses?.['app-orders']?.[0]?.['v']?.S).toBe('row of app-orders');
  });

  it('a batch that adds a denied table is refused, naming it, and reads nothing', async () => {
    const err = await agent
      .send(
        new BatchGetItemCommand({
          RequestItems: {
            'app-orders': { Keys: [{ id: { S: '1' } }] },
            secrets: { Keys: [{ id: { S: '1' } }] },
          },
        }),
      )
      .then(
        (out) => new Error(`read: ${JSON.stringify(out.Responses)}`),
        (e: unknown) => e as Error,
      );
    expect(err.name).toBe('AccessDeniedException');
    expect(err.message).toContain('no-secrets-table');
  });
});

describe.skipIf(!hasMoto())(
  'moto: resources named in a second key or in a PartiQL statement',
  { timeout: 60_000 },
  () => {
    let moto: Moto;
    let gw: HttpTestGateway;
    let agent: Key;

    async function getSecretValue(body: Record<string, string>): Promise<{ status: number; text: string }> {
      return call('secretsmanager', 'secretsmanager.GetSecretValue', 'application/x-amz-json-1.1', body);
    }

    async function call(
      service: string,
      target: string,
      type: string,
      body: unknown,
    ): Promise<{ status: number; text: string }> {
      const u = new URL(gw.endpoint('aws'));
      const text = JSON.stringify(body);
      const signer = new SignatureV4({ credentials: agent, region: 'us-east-1', service, sha256: Sha256 });
      const req = await signer.sign(
        new HttpRequest({
          method: 'POST',
          hostname: u.hostname,
          port: Number(u.port),
          path: '/',
          headers: {
            host: u.host,
            'content-type': type,
            'x-amz-target': target,
          },
          body: text,
        }),
      );
      const res = await request(`${gw.endpoint('aws')}/`, {
        method: 'POST',
        headers: req.headers,
        body: text,
      });
      return { status: res.statusCode, text: await res.body.text() };
    }

    beforeAll(async () => {
      moto = await startMoto();
      for (const [Name, SecretString] of [
        ['dev/x', 'dev-value'],
        ['prod/db', 'prod-value'],
      ]) {
        const res = await request(`${moto.url}/`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-amz-json-1.1',
            'x-amz-target': 'secretsmanager.CreateSecret',
            authorization:
              'AWS4-HMAC-SHA256 Credential=AKIDSEED/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=00',
          },
          body: JSON.stringify({ Name, SecretString }),
        });
        expect(res.statusCode).toBe(200);
        await res.body.dump();
      }
      for (const TableName of ['app-orders', 'secrets']) {
        const call = async (target: string, body: unknown) => {
          const res = await request(`${moto.url}/`, {
            method: 'POST',
            headers: {
              'content-type': 'application/x-amz-json-1.0',
              'x-amz-target': `DynamoDB_20120810.${target}`,
              authorization:
                'AWS4-HMAC-SHA256 Credential=AKIDSEED/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00',
            },
            body: JSON.stringify(body),
          });
          expect(res.statusCode).toBe(200);
          await res.body.dump();
        };
        await call('CreateTable', {
          TableName,
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          BillingMode: 'PAY_PER_REQUEST',
        });
        await call('PutItem', { TableName, Item: { id: { S: '1' }, v: { S: `row of ${TableName}` } } });
      }
      gw = await gateway({ secretsmanager: moto.url, dynamodb: moto.url });
      agent = await gw.awsKey({ subject: 'claude', agent: true });
    }, 30_000);

    afterAll(async () => {
      await gw?.stop();
      await moto?.stop();
    });

    it('the allowed secret is read', async () => {
      const r = await getSecretValue({ SecretId: 'dev/x' });
      expect(r.status, r.text).toBe(200);
      expect(r.text).toContain('"Name": "dev/x"');
    });

    it('a second resource key does not lend the request its name', async () => {
      const r = await getSecretValue({ KeyId: 'dev/x', SecretId: 'prod/db' });
      expect(r.text, 'prod/db was read under the rule for dev/*').not.toContain('prod/db-');
      expect(r.status).toBe(400);
      expect(r.text).toContain('AccessDenied');
    });

    it('a PartiQL statement on an allowed table runs', async () => {
      const r = await call('dynamodb', 'DynamoDB_20120810.ExecuteStatement', 'application/x-amz-json-1.0', {
        Statement: `SELECT * FROM "app-orders" WHERE id = '1'`,
      });
      expect(r.status, r.text).toBe(200);
      expect(r.text).toContain('row of app-orders');
    });

    it('a PartiQL statement on a denied table is refused: its table is the resource', async () => {
      const r = await call('dynamodb', 'DynamoDB_20120810.ExecuteStatement', 'application/x-amz-json-1.0', {
        Statement: `SELECT * FROM "secrets" WHERE id = '1'`,
      });
      expect(r.text, 'the secrets table was read through PartiQL').not.toContain('row of secrets');
      expect(r.status).toBe(400);
      expect(r.text).toContain('no-secrets-table');
    });
  },
);
