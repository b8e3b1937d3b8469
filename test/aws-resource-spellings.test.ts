// A resource goes by several names, and a request may name it in a parameter Gatehouse does not read
// as its own (docs/security.md, class 70). Secrets Manager takes a secret's name or its ARN, complete
// or partial; DynamoDB a table's name or ARN; a rule's glob matched only the string the client sent,
// so a deny of `prod/*` was walked around with the secret's ARN, and a rule written as an ARN never
// saw a request by name. A secret named in BatchGetSecretValue's `SecretIdList`, selected by its
// `Filters`, or a parameter read by GetParametersByPath's `Path`, was never seen by a deny at all.
// Through the gateway against moto's server (skipped without it).

import { randomBytes } from 'node:crypto';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';
import { hasMoto, startMoto, type Moto } from './testkit/moto.js';

type Key = { accessKeyId: string; secretAccessKey: string };
type Reply = { status: number; text: string };

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:';

const policies = [
  {
    id: 'agents',
    subjects: { agent: true },
    connections: ['aws'],
    rules: [
      // First: a parameter's ARN may also be read as `prod/db` (by deny rules), and the first deny wins.
      { id: 'no-prod-params', effect: 'deny' as const, match: { awsResources: ['/prod/*'] } },
      { id: 'no-prod-secrets', effect: 'deny' as const, match: { awsResources: ['prod/*'] } },
      // RDS keeps identifiers in lower case: `PROD-DB` is `prod-db`.
      { id: 'no-prod-db', effect: 'deny' as const, match: { awsResources: ['prod-db'] } },
      // Written as an ARN: it must see a request that names the table by name.
      {
        id: 'no-secrets-table',
        effect: 'deny' as const,
        match: { awsResources: ['arn:aws:dynamodb:*:*:table/secrets'] },
      },
      // Written as an ARN with any region and account: it allows a secret named by name too.
      {
        id: 'secrets-by-arn',
        effect: 'allow' as const,
        match: {
          operations: ['secretsmanager:GetSecretValue'],
          awsResources: ['arn:aws:secretsmanager:*:*:secret:*'],
        },
      },
      {
        id: 'reads',
        effect: 'allow' as const,
        match: {
          operations: [
            'secretsmanager:BatchGetSecretValue',
            'ssm:GetParametersByPath',
            'ssm:GetParameter',
            'dynamodb:GetItem',
            'rds:DescribeDBInstances',
          ],
        },
      },
    ],
  },
];

function denied(r: Reply, rule: string): void {
  // JSON-protocol services answer a refusal with 400, query-protocol ones with 403, as AWS does.
  expect([400, 403], r.text).toContain(r.status);
  expect(r.text).toContain('AccessDenied');
  expect(r.text).toContain(rule);
}

describe.skipIf(!hasMoto())(
  'a resource in another spelling, or in a parameter not read as its own',
  { timeout: 60_000 },
  () => {
    let moto: Moto;
    let gw: HttpTestGateway;
    let agent: Key;

    async function call(service: string, target: string, type: string, body: unknown): Promise<Reply> {
      const u = new URL(gw.endpoint('aws'));
      const text = JSON.stringify(body);
      const signer = new SignatureV4({ credentials: agent, region: 'us-east-1', service, sha256: Sha256 });
      const req = await signer.sign(
        new HttpRequest({
          method: 'POST',
          hostname: u.hostname,
          port: Number(u.port),
          path: '/',
          headers: { host: u.host, 'content-type': type, 'x-amz-target': target },
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
    async function query(service: string, form: string): Promise<Reply> {
      const u = new URL(gw.endpoint('aws'));
      const signer = new SignatureV4({ credentials: agent, region: 'us-east-1', service, sha256: Sha256 });
      const type = 'application/x-www-form-urlencoded; charset=utf-8';
      const req = await signer.sign(
        new HttpRequest({
          method: 'POST',
          hostname: u.hostname,
          port: Number(u.port),
          path: '/',
          headers: { host: u.host, 'content-type': type },
          body: form,
        }),
      );
      const res = await request(`${gw.endpoint('aws')}/`, {
        method: 'POST',
        headers: req.headers,
        body: form,
      });
      return { status: res.statusCode, text: await res.body.text() };
    }
    const sm = (op: string, body: unknown) =>
      call('secretsmanager', `secretsmanager.${op}`, 'application/x-amz-json-1.1', body);
    const ssm = (op: string, body: unknown) =>
      call('ssm', `AmazonSSM.${op}`, 'application/x-amz-json-1.1', body);
    const ddb = (op: string, body: unknown) =>
      call('dynamodb', `DynamoDB_20120810.${op}`, 'application/x-amz-json-1.0', body);

    async function seed(service: string, target: string, type: string, body: unknown): Promise<void> {
      const res = await request(`${moto.url}/`, {
        method: 'POST',
        headers: {
          'content-type': type,
          'x-amz-target': target,
          authorization: `AWS4-HMAC-SHA256 Credential=AKIDSEED/20260101/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=00`,
        },
        body: JSON.stringify(body),
      });
      expect(res.statusCode, await res.body.text()).toBe(200);
    }

    beforeAll(async () => {
      moto = await startMoto();
      const j11 = 'application/x-amz-json-1.1';
      for (const [Name, SecretString] of [
        ['dev/x', 'dev-value'],
        ['prod/db', 'prod-value'],
      ])
        await seed('secretsmanager', 'secretsmanager.CreateSecret', j11, { Name, SecretString });
      for (const [Name, Value] of [
        ['/dev/x', 'dv-7731'],
        ['/prod/db', 'pv-9124'],
      ])
        await seed('ssm', 'AmazonSSM.PutParameter', j11, { Name, Value, Type: 'SecureString' });
      for (const TableName of ['app-orders', 'secrets']) {
        const j10 = 'application/x-amz-json-1.0';
        await seed('dynamodb', 'DynamoDB_20120810.CreateTable', j10, {
          TableName,
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          BillingMode: 'PAY_PER_REQUEST',
        });
        await seed('dynamodb', 'DynamoDB_20120810.PutItem', j10, {
          TableName,
          Item: { id: { S: '1' }, v: { S: `row of ${TableName}` } },
        });
      }
      const rds = await request(`${moto.url}/`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
          authorization:
            'AWS4-HMAC-SHA256 Credential=AKIDSEED/20260101/us-east-1/rds/aws4_request, SignedHeaders=host, Signature=00',
        },
        body:
          'Action=CreateDBInstance&Version=2014-10-31&DBInstanceIdentifier=prod-db&Engine=postgres' +
          '&DBInstanceClass=db.t3.micro&MasterUsername=admin1&MasterUserPassword=secret123',
      });
      expect(rds.statusCode, await rds.body.text()).toBe(200);
      gw = await startHttpTestGateway({
        env: { ...process.env, GW_REAL_SECRET_73: `RealSecret${randomBytes(15).toString('hex')}` },
        connections: {
          aws: {
            protocol: 'http',
            listen: '127.0.0.1:0',
            auth: {
              type: 'aws-sigv4',
              region: 'us-east-1',
              credentials: {
                accessKeyId: 'AKIAGATEWAYREAL00073',
                secretAccessKey: { env: 'GW_REAL_SECRET_73' },
              },
              endpoints: { secretsmanager: moto.url, ssm: moto.url, dynamodb: moto.url, rds: moto.url },
            },
          },
        },
        policies,
      });
      agent = await gw.awsKey({ subject: 'claude', agent: true });
    }, 30_000);

    afterAll(async () => {
      await gw?.stop();
      await moto?.stop();
    });

    it('a secret is allowed by name under a rule written as an ARN', async () => {
      const r = await sm('GetSecretValue', { SecretId: 'dev/x' });
      expect(r.status, r.text).toBe(200);
      // Allowed; an AWS API answer's SecretString is masked whole whatever the policy (docs/aws.md,
      // "Response masking"; moto labels it text, which is masked the same way since class 144).
      expect(r.text).toContain('"Name": "dev/x"');
      expect(r.text).not.toContain('dev-value');
    });

    it('a denied secret is refused by name and by its ARN, partial or complete', async () => {
      denied(await sm('GetSecretValue', { SecretId: 'prod/db' }), 'no-prod-secrets');
      const partial = await sm('GetSecretValue', { SecretId: `${ARN}prod/db` });
      expect(partial.text, 'prod/db was read by its ARN').not.toContain('prod-value');
      denied(partial, 'no-prod-secrets');
      expect(partial.text).toContain(`on ${ARN}prod/db is refused`);
      denied(await sm('GetSecretValue', { SecretId: `${ARN}prod/db-AbCdEf` }), 'no-prod-secrets');
    });

    it('a denied secret in BatchGetSecretValue, named in SecretIdList or selected by Filters, is refused', async () => {
      const list = await sm('BatchGetSecretValue', { SecretIdList: ['dev/x', 'prod/db'] });
      expect(list.text, 'prod/db was read through SecretIdList').not.toContain('prod-value');
      expect(list.text).toContain('on a name in its parameters is refused by rule no-prod-secrets');
      denied(list, 'no-prod-secrets');
      const filtered = await sm('BatchGetSecretValue', { Filters: [{ Key: 'name', Values: ['prod'] }] });
      expect(filtered.text, 'prod/db was read through a name filter').not.toContain('prod-value');
      // Any name may match a filter: every deny by resource applies.
      denied(filtered, 'no-prod-');
    });

    it('a batch of allowed secrets is still read', async () => {
      const r = await sm('BatchGetSecretValue', { SecretIdList: ['dev/x'] });
      expect(r.status, r.text).toBe(200);
      // Allowed; an AWS API answer's SecretString is masked whole whatever the policy (docs/aws.md,
      // "Response masking"; moto labels it text, which is masked the same way since class 144).
      expect(r.text).toContain('"Name": "dev/x"');
      expect(r.text).not.toContain('dev-value');
    });

    it('GetParametersByPath over a denied path is refused; over another path it reads', async () => {
      const prod = await ssm('GetParametersByPath', { Path: '/prod', Recursive: true, WithDecryption: true });
      expect(prod.text, 'a /prod parameter was read by path').not.toContain('pv-9124');
      denied(prod, 'no-prod-params');
      const dev = await ssm('GetParametersByPath', { Path: '/dev', Recursive: true, WithDecryption: true });
      expect(dev.status, dev.text).toBe(200);
      expect(dev.text).toContain('/dev/x');
      // A SecureString's value is masked whatever its name (docs/security.md, class 231).
      expect(dev.text).not.toContain('dv-7731');
      expect(dev.text).toContain('[REDACTED');
    });

    it('a parameter named by its ARN is refused as by its name', async () => {
      const r = await ssm('GetParameter', {
        Name: 'arn:aws:ssm:us-east-1:123456789012:parameter/prod/db',
        WithDecryption: true,
      });
      expect(r.text).not.toContain('pv-9124');
      denied(r, 'no-prod-params');
    });

    it('a table denied by its ARN is refused by name and by ARN; another table is read', async () => {
      const key = { id: { S: '1' } };
      const byName = await ddb('GetItem', { TableName: 'secrets', Key: key });
      expect(byName.text, 'the secrets table was read by name').not.toContain('row of secrets');
      denied(byName, 'no-secrets-table');
      denied(
        await ddb('GetItem', {
          TableName: 'arn:aws:dynamodb:us-east-1:123456789012:table/secrets',
          Key: key,
        }),
        'no-secrets-table',
      );
      const other = await ddb('GetItem', { TableName: 'app-orders', Key: key });
      expect(other.status, other.text).toBe(200);
      expect(other.text).toContain('row of app-orders');
    });

    it('an RDS instance denied by name is refused in another case, which RDS reads as the same', async () => {
      const form = (id: string) => `Action=DescribeDBInstances&Version=2014-10-31&DBInstanceIdentifier=${id}`;
      denied(await query('rds', form('prod-db')), 'no-prod-db');
      const upper = await query('rds', form('PROD-DB'));
      expect(upper.text, 'prod-db was described as PROD-DB').not.toContain('<DBInstanceIdentifier>prod-db');
      denied(upper, 'no-prod-db');
    });
  },
);
