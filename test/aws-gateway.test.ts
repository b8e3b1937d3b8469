// The AWS gateway through the real AWS SDK v3 clients: S3 against s3rver, DynamoDB against dynalite,
// IAM, STS and Lambda against a SigV4-checking upstream with canned responses. Every upstream checks that
// it sees only the gateway's own signature; the clients only ever hold a Gatehouse key.

import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { Sha256 } from '@aws-crypto/sha256-js';
import { request } from 'undici';
import {
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { CreateAccessKeyCommand, IAMClient, ListUsersCommand } from '@aws-sdk/client-iam';
import {
  AssumeRoleCommand,
  GetCallerIdentityCommand,
  GetWebIdentityTokenCommand,
  STSClient,
} from '@aws-sdk/client-sts';
import {
  DeleteFunctionCommand,
  GetFunctionCommand,
  InvokeCommand,
  LambdaClient,
} from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultAwsPolicies } from '../src/policy/default-aws-policy.js';
import {
  startCheckingUpstream,
  startDynalite,
  startS3rver,
  type CheckingUpstream,
  type RealCredentials,
  type RunningFake,
} from './testkit/aws-upstreams.js';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';

const REAL: RealCredentials = {
  accessKeyId: 'AKIAGATEWAYREAL00001',
  secretAccessKey: `RealSecret${randomBytes(15).toString('hex')}`,
};
const UPSTREAM_SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCY7EXAMPLEKY';
const UPSTREAM_SESSION_TOKEN = 'FwoGZXIvYXdzEBYaDHqa0AP1ExampleSessionTokenValue1234567890abcdef';
// Opaque on purpose: no detector knows its shape, only its field name can mask it.
const UPSTREAM_WEB_IDENTITY_TOKEN = 'wit-opaque-0123456789abcdefghij';
// User metadata no detector recognises: only the header's name (x-amz-meta-db-password) can mask it.
const META_PASSWORD = `hunter2plain-${randomBytes(4).toString('hex')}`;
const LOG_PASSWORD = `pw-in-log-${randomBytes(4).toString('hex')}`;
const ASSUMED: RealCredentials = {
  accessKeyId: 'ASIAEXAMPLEASSUMED01',
  secretAccessKey: UPSTREAM_SECRET,
  sessionToken: UPSTREAM_SESSION_TOKEN,
};

function hasAwsCli(): boolean {
  try {
    execFileSync('aws', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A raw SigV4-signed request (for shapes no SDK command sends). */
async function signedFetch(
  url: string,
  key: { accessKeyId: string; secretAccessKey: string },
  opts: { method?: string; service?: string; headers?: Record<string, string>; body?: string } = {},
) {
  const u = new URL(url);
  const query: Record<string, string> = {};
  for (const [k, v] of u.searchParams) query[k] = v;
  const signer = new SignatureV4({
    credentials: key,
    region: 'us-east-1',
    service: opts.service ?? 's3',
    sha256: Sha256,
    uriEscapePath: (opts.service ?? 's3') !== 's3',
  });
  const signed = await signer.sign(
    new HttpRequest({
      method: opts.method ?? 'GET',
      hostname: u.hostname,
      port: Number(u.port),
      path: u.pathname,
      query,
      headers: { host: u.host, ...opts.headers },
      ...(opts.body !== undefined ? { body: opts.body } : {}),
    }),
  );
  const res = await request(url, {
    method: (opts.method ?? 'GET') as 'GET',
    headers: signed.headers,
    ...(opts.body !== undefined ? { body: opts.body } : {}),
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

function cannedAws(req: IncomingMessage, body: Buffer, service: string | undefined) {
  const form = new URLSearchParams(body.toString('utf8'));
  const xml = (s: string) => ({ status: 200, headers: { 'content-type': 'text/xml' }, body: s });
  if (service === 'iam' && form.get('Action') === 'CreateAccessKey') {
    return xml(
      `<CreateAccessKeyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><CreateAccessKeyResult><AccessKey>` +
        `<UserName>${form.get('UserName')}</UserName><AccessKeyId>AKIAIOSFODNN7EXAMPLE</AccessKeyId><Status>Active</Status>` +
        `<SecretAccessKey>${UPSTREAM_SECRET}</SecretAccessKey><CreateDate>2026-01-01T00:00:00Z</CreateDate></AccessKey>` +
        `</CreateAccessKeyResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></CreateAccessKeyResponse>`,
    );
  }
  if (service === 'iam' && form.get('Action') === 'ListUsers') {
    return xml(
      `<ListUsersResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><ListUsersResult><IsTruncated>false</IsTruncated><Users>` +
        `<member><UserName>bob</UserName><UserId>AIDAEXAMPLEBOB</UserId><Path>/</Path><Arn>arn:aws:iam::123456789012:user/bob</Arn>` +
        `<CreateDate>2026-01-01T00:00:00Z</CreateDate></member></Users></ListUsersResult><ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata></ListUsersResponse>`,
    );
  }
  if (service === 'sts' && form.get('Action') === 'AssumeRole') {
    return xml(
      `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials>` +
        `<AccessKeyId>ASIAEXAMPLEASSUMED01</AccessKeyId><SecretAccessKey>${UPSTREAM_SECRET}</SecretAccessKey>` +
        `<SessionToken>${UPSTREAM_SESSION_TOKEN}</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>` +
        `<AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/demo/s</Arn><AssumedRoleId>AROAEXAMPLE:s</AssumedRoleId></AssumedRoleUser>` +
        `</AssumeRoleResult><ResponseMetadata><RequestId>r-3</RequestId></ResponseMetadata></AssumeRoleResponse>`,
    );
  }
  if (service === 'sts' && form.get('Action') === 'GetWebIdentityToken') {
    return xml(
      `<GetWebIdentityTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetWebIdentityTokenResult>` +
        `<WebIdentityToken>${UPSTREAM_WEB_IDENTITY_TOKEN}</WebIdentityToken><Expiration>2099-01-01T00:00:00Z</Expiration>` +
        `</GetWebIdentityTokenResult><ResponseMetadata><RequestId>r-5</RequestId></ResponseMetadata></GetWebIdentityTokenResponse>`,
    );
  }
  if (service === 'sts' && form.get('Action') === 'GetCallerIdentity') {
    return xml(
      `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/gateway</Arn>` +
        `<UserId>AIDAGATEWAY</UserId><Account>123456789012</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r-4</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
    );
  }
  if (service === 'states' && req.headers['x-amz-target'] === 'AWSStepFunctions.GetActivityTask') {
    return {
      status: 200,
      headers: { 'content-type': 'application/x-amz-json-1.0' },
      body: JSON.stringify({ taskToken: 'task-token-of-the-real-worker', input: '{"order":42}' }),
    };
  }
  if (service === 'lambda' && req.method === 'POST' && req.url?.endsWith('/invocations')) {
    // Invoke with LogType Tail: the function's last log lines, base64, in a header.
    const log = `START RequestId: r-6\nconnecting with password=${LOG_PASSWORD}\nEND RequestId: r-6\n`;
    return {
      status: 200,
      headers: {
        'content-type': 'application/json',
        'x-amz-executed-version': '$LATEST',
        'x-amz-log-result': Buffer.from(log).toString('base64'),
      },
      body: '{"ok":true}',
    };
  }
  if (service === 'lambda' && req.method === 'GET' && req.url?.startsWith('/2015-03-31/functions/')) {
    const name = decodeURIComponent(req.url.split('/')[3] ?? '');
    return {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        Configuration: {
          FunctionName: name,
          Runtime: 'nodejs20.x',
          Environment: { Variables: { DB_PASSWORD: 'hunter2-very-secret', REGION: 'us-east-1' } },
        },
        Code: { RepositoryType: 'S3', Location: 'https://example.com/code.zip' },
      }),
    };
  }
  return {
    status: 400,
    headers: { 'content-type': 'text/xml' },
    body: '<ErrorResponse><Error><Code>Unexpected</Code><Message>not canned</Message></Error></ErrorResponse>',
  };
}

describe('AWS gateway with the AWS SDK v3', () => {
  let s3rver: RunningFake;
  let ddb: RunningFake;
  let s3Up: CheckingUpstream;
  let ddbUp: CheckingUpstream;
  let canned: CheckingUpstream;
  let roleUp: CheckingUpstream;
  let gw: HttpTestGateway;
  let endpoint: string;
  let agentKey: { accessKeyId: string; secretAccessKey: string };
  let opsKey: { accessKeyId: string; secretAccessKey: string };

  const client = <T>(
    Ctor: new (c: object) => T,
    key: { accessKeyId: string; secretAccessKey: string },
    extra: object = {},
  ): T =>
    new Ctor({
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
      maxAttempts: 1,
      ...extra,
    });

  beforeAll(async () => {
    s3rver = await startS3rver(['data', 'keep'], [REAL]);
    ddb = await startDynalite();
    s3Up = await startCheckingUpstream({ credentials: [REAL], forwardTo: s3rver.url });
    ddbUp = await startCheckingUpstream({ credentials: [REAL], forwardTo: ddb.url });
    canned = await startCheckingUpstream({ credentials: [REAL], respond: cannedAws });
    roleUp = await startCheckingUpstream({ credentials: [ASSUMED], respond: cannedAws });
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
            endpoints: {
              s3: s3Up.url,
              dynamodb: ddbUp.url,
              iam: canned.url,
              sts: canned.url,
              lambda: canned.url,
              states: canned.url,
            },
          },
          holdTimeout: '20s',
          masking: { objectScanMaxBytes: 4096 },
        },
        'aws-role': {
          protocol: 'http',
          listen: '127.0.0.1:0',
          auth: {
            type: 'aws-sigv4',
            region: 'us-east-1',
            credentials: { accessKeyId: REAL.accessKeyId, secretAccessKey: { env: 'GW_REAL_SECRET' } },
            assumeRole: {
              roleArn: 'arn:aws:iam::123456789012:role/gatehouse-agents',
              sessionName: 'gatehouse-test',
              stsEndpoint: canned.url,
            },
            endpoints: { sts: roleUp.url, iam: roleUp.url },
          },
        },
      },
      policies: [
        ...defaultAwsPolicies(['aws']),
        {
          id: 'ops',
          subjects: { groups: ['ops'], agent: false },
          connections: ['aws', 'aws-role'],
          rules: [
            {
              id: 'ops-scan-secrets',
              effect: 'allow',
              match: { operations: ['s3:GetObject', 's3:HeadObject'], paths: ['/data/secrets/**'] },
              mask: true,
            },
            {
              id: 'ops-masked-invokes',
              effect: 'allow',
              match: { operations: ['lambda:InvokeFunction'] },
              mask: true,
            },
            { id: 'ops-allow-all', effect: 'allow', match: { operations: ['*'] } },
          ],
        },
      ],
    });
    endpoint = gw.endpoint('aws');
    agentKey = await gw.awsKey({ subject: 'claude', agent: true });
    opsKey = await gw.awsKey({ subject: 'olga', groups: ['ops'] });
    // Seed data straight into s3rver and dynalite, as the gateway would.
    const ops = client(S3Client, opsKey, { forcePathStyle: true });
    await ops.send(
      new PutObjectCommand({ Bucket: 'data', Key: 'reports/2026.txt', Body: 'quarterly numbers' }),
    );
    await ops.send(new PutObjectCommand({ Bucket: 'data', Key: 'doomed.txt', Body: 'delete me' }));
    await ops.send(
      new PutObjectCommand({
        Bucket: 'data',
        Key: 'secrets/env.txt',
        Body: `AWS_SECRET_ACCESS_KEY=${UPSTREAM_SECRET}\nOWNER=ops@example.com\n`,
      }),
    );
    await ops.send(
      new PutObjectCommand({ Bucket: 'data', Key: 'secrets/huge.txt', Body: 'x'.repeat(10_000) }),
    );
    // An export whose password column no detector would find: as CSV, and with no content type.
    for (const [Key, ContentType] of [
      ['secrets/users.csv', 'text/csv'],
      ['secrets/users.dat', undefined],
    ] as const) {
      await ops.send(
        new PutObjectCommand({
          Bucket: 'data',
          Key,
          Body: 'id,name,password\n1,ann,opensesame-42\n',
          ...(ContentType ? { ContentType } : {}),
        }),
      );
    }
    // User metadata under a sensitive name (and an address a detector finds), where a rule masks reads
    // and where none does.
    for (const Key of ['secrets/meta.txt', 'plain/meta.txt'])
      await ops.send(
        new PutObjectCommand({
          Bucket: 'data',
          Key,
          Body: 'hello',
          Metadata: { 'db-password': META_PASSWORD, owner: 'olga@example.com', team: 'ops' },
        }),
      );
    await ops.send(
      new PutObjectCommand({
        Bucket: 'data',
        Key: 'plain/env.txt',
        Body: `AWS_SECRET_ACCESS_KEY=${UPSTREAM_SECRET}\n`,
      }),
    );
    await client(DynamoDBClient, opsKey).send(
      new CreateTableCommand({
        TableName: 'orders',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    await client(DynamoDBClient, opsKey).send(
      new PutItemCommand({
        TableName: 'orders',
        Item: { id: { S: 'o-1' }, password: { S: 'hunter2-in-a-row' } },
      }),
    );
  });

  afterAll(async () => {
    await gw?.stop();
    await s3Up?.stop();
    await ddbUp?.stop();
    await canned?.stop();
    await roleUp?.stop();
    await s3rver?.stop();
    await ddb?.stop();
  });

  it('lets an agent list and get S3 objects through s3rver', async () => {
    const s3 = client(S3Client, agentKey, { forcePathStyle: true });
    const buckets = await s3.send(new ListBucketsCommand({}));
    expect(buckets.Buckets?.map((b) => b.Name)).toEqual(expect.arrayContaining(['data', 'keep']));
    const list = await s3.send(new ListObjectsV2Command({ Bucket: 'data', Prefix: 'reports/' }));
    expect(list.Contents?.map((o) => o.Key)).toEqual(['reports/2026.txt']);
    const obj = await s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'reports/2026.txt' }));
    expect(await obj.Body?.transformToString()).toBe('quarterly numbers');
  });

  it('refuses DeleteBucket with the rule in the SDK error', async () => {
    const s3 = client(S3Client, agentKey, { forcePathStyle: true });
    const err = (await s3
      .send(new DeleteBucketCommand({ Bucket: 'keep' }))
      .catch((e: unknown) => e)) as Error & { $metadata: { httpStatusCode?: number } };
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('AccessDenied');
    expect(err.message).toContain('aws-agents-no-destructive-delete');
    expect(err.$metadata.httpStatusCode).toBe(403);
    expect(s3Up.seen.some((r) => r.method === 'DELETE' && r.url === '/keep')).toBe(false);
  });

  it('holds DeleteObject for approval, then deletes once approved', async () => {
    const s3 = client(S3Client, agentKey, { forcePathStyle: true });
    const pending = s3.send(new DeleteObjectCommand({ Bucket: 'data', Key: 'doomed.txt' }));
    const review = await gw.approver.next();
    expect(review.ctx.action).toMatchObject({
      kind: 'http',
      operation: 's3:DeleteObject',
      resource: 'data/doomed.txt',
    });
    expect(review.ctx.decision.ruleId).toBe('aws-agents-review-writes');
    expect(s3Up.seen.some((r) => r.method === 'DELETE' && r.url.startsWith('/data/doomed.txt'))).toBe(false);
    review.approve();
    const out = await pending;
    expect(out.$metadata.httpStatusCode).toBe(204);
    const ops = client(S3Client, opsKey, { forcePathStyle: true });
    const gone = await ops
      .send(new GetObjectCommand({ Bucket: 'data', Key: 'doomed.txt' }))
      .catch((e: Error) => e);
    expect((gone as Error).name).toBe('NoSuchKey');
  });

  it('answers a denied review with a 403 that names the rule', async () => {
    const s3 = client(S3Client, agentKey, { forcePathStyle: true });
    const pending = s3
      .send(new PutObjectCommand({ Bucket: 'data', Key: 'new.txt', Body: 'x' }))
      .catch((e: Error) => e);
    const review = await gw.approver.next();
    review.deny('Not today.');
    const err = (await pending) as Error;
    expect(err.name).toBe('AccessDenied');
    expect(err.message).toContain('aws-agents-review-writes');
    expect(err.message).toContain('Not today.');
  });

  it('streams an upload (aws-chunked) and a large download through unchanged', async () => {
    const s3 = client(S3Client, opsKey, { forcePathStyle: true });
    const big = randomBytes(3 * 1024 * 1024 + 17);
    await s3.send(
      new PutObjectCommand({
        Bucket: 'data',
        Key: 'big.bin',
        Body: Readable.from([big.subarray(0, 1_000_000), big.subarray(1_000_000)]),
        ContentLength: big.length,
      }),
    );
    const put = s3Up.seen.findLast((r) => r.method === 'PUT' && r.url.startsWith('/data/big.bin'))!;
    expect(put.headers['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
    expect(put.headers['content-encoding']).toBeUndefined();
    expect(put.body.equals(big)).toBe(true);
    const got = await s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'big.bin' }));
    const bytes = Buffer.from(await got.Body!.transformToByteArray());
    expect(bytes.equals(big)).toBe(true);
  });

  it('lets an agent scan DynamoDB with masked fields, and refuses DeleteTable', async () => {
    const d = client(DynamoDBClient, agentKey);
    expect((await d.send(new ListTablesCommand({}))).TableNames).toContain('orders');
    const scan = await d.send(new ScanCommand({ TableName: 'orders' }));
    expect(scan.Items?.[0]?.['id']).toEqual({ S: 'o-1' });
    expect(scan.Items?.[0]?.['password']).toEqual({ S: '[REDACTED:password]' });
    const err = (await d
      .send(new DeleteTableCommand({ TableName: 'orders' }))
      .catch((e: Error) => e)) as Error;
    expect(err.name).toBe('AccessDeniedException');
    expect(err.message).toContain('aws-agents-no-destructive-delete');
  });

  it('masks the SecretAccessKey in an IAM CreateAccessKey response', async () => {
    const iam = client(IAMClient, opsKey);
    const out = await iam.send(new CreateAccessKeyCommand({ UserName: 'bob' }));
    expect(out.AccessKey?.UserName).toBe('bob');
    expect(out.AccessKey?.SecretAccessKey).toBe('[REDACTED:secretaccesskey]');
    // The access key id is masked by content (the aws_access_key_id detector), not by field name.
    expect(out.AccessKey?.AccessKeyId).toBe('[REDACTED:aws_access_key_id]');
    expect(JSON.stringify(out)).not.toContain(UPSTREAM_SECRET);
    const users = await client(IAMClient, agentKey).send(new ListUsersCommand({}));
    expect(users.Users?.[0]?.UserName).toBe('bob');
    const denied = (await client(IAMClient, agentKey)
      .send(new CreateAccessKeyCommand({ UserName: 'bob' }))
      .catch((e: Error) => e)) as Error;
    expect(denied.name).toBe('AccessDenied');
    expect(denied.message).toContain('aws-agents-no-iam-changes');
  });

  it('reviews sts:GetWebIdentityToken for an agent and masks the token it hands out (class 58)', async () => {
    // A JWT that services trusting the account accept as the gateway's own AWS identity: it was an
    // ordinary allowed read, its token unmasked.
    const pending = client(STSClient, agentKey)
      .send(new GetWebIdentityTokenCommand({ Audience: ['https://example.com'], SigningAlgorithm: 'RS256' }))
      .catch((e: Error) => e);
    const review = await gw.approver.next();
    expect(review.ctx.decision.ruleId).toBe('aws-agents-review-secret-reads');
    review.approve();
    const out = (await pending) as { WebIdentityToken?: string };
    expect(out.WebIdentityToken).toBe('[REDACTED:webidentitytoken]');
  });

  it("reviews states:GetActivityTask, which dequeues a worker's task, and forwards nothing refused (class 159)", async () => {
    // Named like a read, it takes the task from the worker it was for (as sqs:ReceiveMessage does):
    // it was allowed by aws-agents-allow-reads and reached the upstream.
    const getTask = () =>
      signedFetch(endpoint, agentKey, {
        method: 'POST',
        service: 'states',
        headers: {
          'content-type': 'application/x-amz-json-1.0',
          'x-amz-target': 'AWSStepFunctions.GetActivityTask',
        },
        body: JSON.stringify({
          activityArn: 'arn:aws:states:us-east-1:123456789012:activity:payments',
          workerName: 'agent',
        }),
      });
    const dequeued = () =>
      canned.seen.filter((r) => r.headers['x-amz-target'] === 'AWSStepFunctions.GetActivityTask').length;
    const pending = getTask();
    const review = await gw.approver.next();
    expect(review.ctx.decision.ruleId).toBe('aws-agents-review-reads-that-act');
    expect(dequeued()).toBe(0);
    review.deny('Not your task.');
    const refused = await pending;
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(refused.text).toContain('aws-agents-review-reads-that-act');
    expect(refused.text).not.toContain('task-token-of-the-real-worker');
    expect(dequeued()).toBe(0);
    // Approved, it is forwarded as it came.
    const approved = getTask();
    (await gw.approver.next()).approve();
    expect((await approved).text).toContain('task-token-of-the-real-worker');
    expect(dequeued()).toBe(1);
  });

  it('masks credentials in STS AssumeRole and passes GetCallerIdentity', async () => {
    const sts = client(STSClient, opsKey);
    const out = await sts.send(
      new AssumeRoleCommand({ RoleArn: 'arn:aws:iam::123456789012:role/demo', RoleSessionName: 's' }),
    );
    expect(out.Credentials?.AccessKeyId).toBe('[REDACTED:aws_access_key_id]');
    expect(out.AssumedRoleUser?.Arn).toBe('arn:aws:sts::123456789012:assumed-role/demo/s');
    expect(out.Credentials?.SecretAccessKey).toBe('[REDACTED:secretaccesskey]');
    expect(out.Credentials?.SessionToken).toBe('[REDACTED:sessiontoken]');
    const me = await client(STSClient, agentKey).send(new GetCallerIdentityCommand({}));
    expect(me.Account).toBe('123456789012');
  });

  it('gets a Lambda function with its secrets masked, and refuses DeleteFunction', async () => {
    const lambda = client(LambdaClient, agentKey);
    const fn = await lambda.send(new GetFunctionCommand({ FunctionName: 'billing' }));
    expect(fn.Configuration?.FunctionName).toBe('billing');
    expect(fn.Configuration?.Environment?.Variables?.['DB_PASSWORD']).toBe('[REDACTED:password]');
    expect(fn.Configuration?.Environment?.Variables?.['REGION']).toBe('us-east-1');
    const err = (await lambda
      .send(new DeleteFunctionCommand({ FunctionName: 'billing' }))
      .catch((e: Error) => e)) as Error;
    expect(err.name).toBe('AccessDeniedException');
    expect(err.message).toContain('aws-agents-no-destructive-delete');
  });

  it('refuses a client with a wrong secret or an unknown key', async () => {
    const wrong = client(
      S3Client,
      { accessKeyId: agentKey.accessKeyId, secretAccessKey: 'not-the-secret' },
      { forcePathStyle: true },
    );
    const e1 = (await wrong.send(new ListBucketsCommand({})).catch((e: Error) => e)) as Error;
    expect(e1.name).toBe('SignatureDoesNotMatch');
    const unknownKey = client(DynamoDBClient, { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'x' });
    const e2 = (await unknownKey.send(new ListTablesCommand({})).catch((e: Error) => e)) as Error;
    expect(e2.name).toBe('UnrecognizedClientException');
  });

  it('scans object bodies only where a rule sets mask, and withholds what is over the cap', async () => {
    const s3 = client(S3Client, opsKey, { forcePathStyle: true });
    const scanned = await (
      await s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'secrets/env.txt' }))
    ).Body!.transformToString();
    expect(scanned).not.toContain(UPSTREAM_SECRET);
    expect(scanned).toContain('[REDACTED:');
    const plain = await (
      await s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'plain/env.txt' }))
    ).Body!.transformToString();
    expect(plain).toContain(UPSTREAM_SECRET);
    // Field names are read in a scanned object as in an API's text: a CSV column named password.
    for (const Key of ['secrets/users.csv', 'secrets/users.dat']) {
      const csv = await (
        await s3.send(new GetObjectCommand({ Bucket: 'data', Key }))
      ).Body!.transformToString();
      expect(csv).toBe('id,name,password\n1,ann,[REDACTED:password]\n');
    }
    const err = (await s3
      .send(new GetObjectCommand({ Bucket: 'data', Key: 'secrets/huge.txt' }))
      .catch((e: Error) => e)) as Error;
    expect(err.name).toBe('ResponseWithheld');
    expect(err.message).toContain('4096 bytes');
  });

  // docs/security.md, class 157: headers reached a masked read unmasked (user metadata, a log tail).
  it("masks a masked read's object metadata and Lambda's log tail as its body", async () => {
    const s3 = client(S3Client, opsKey, { forcePathStyle: true });
    for (const got of [
      await s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'secrets/meta.txt' })),
      await s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'secrets/meta.txt' })),
    ]) {
      expect(got.Metadata).toEqual({
        'db-password': '[REDACTED:password]',
        owner: '[REDACTED:email]',
        team: 'ops',
      });
      expect(got.ETag).toBeTruthy();
    }
    // Where no rule masks, the metadata is the object's.
    const plain = await s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'plain/meta.txt' }));
    expect(plain.Metadata).toEqual({ 'db-password': META_PASSWORD, owner: 'olga@example.com', team: 'ops' });
    const invoked = await client(LambdaClient, opsKey).send(
      new InvokeCommand({ FunctionName: 'billing', LogType: 'Tail', Payload: Buffer.from('{}') }),
    );
    const log = Buffer.from(invoked.LogResult!, 'base64').toString('utf8');
    expect(log).toContain('connecting with password=[REDACTED:password]\n');
    expect(log).toContain('END RequestId: r-6');
    expect(invoked.ExecutedVersion).toBe('$LATEST');
    // The record counts the masked headers and holds none of them.
    const sessions = await gw.gateway.store.listSessions({ subject: 'olga', limit: 1000 });
    const statements = (await Promise.all(sessions.map((s) => gw.gateway.store.getSession(s.id)))).flatMap(
      (d) => d?.statements ?? [],
    );
    const head = statements.find((s) => s.text === 'HEAD /data/secrets/meta.txt');
    expect(head?.result?.masked).toEqual({ password: 1, email: 1 });
    const recorded = JSON.stringify(statements);
    expect(recorded).not.toContain(META_PASSWORD);
    expect(recorded).not.toContain(LOG_PASSWORD);
  });

  it('denies what it cannot classify (aws-unknown-operation), and presigned URLs', async () => {
    const unknownSub = await signedFetch(`${endpoint}/data?frobnicate`, agentKey);
    expect(unknownSub.status).toBe(403);
    expect(unknownSub.text).toContain('aws-unknown-operation');
    expect(unknownSub.text).toContain('<Code>AccessDenied</Code>');
    const unknownService = await signedFetch(`${endpoint}/restapis`, agentKey, { service: 'apigateway' });
    expect(unknownService.status).toBe(403);
    expect(unknownService.text).toContain('aws-unknown-operation');
    const presigned = await request(
      `${endpoint}/data/reports/2026.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=x`,
    );
    expect(presigned.statusCode).toBe(403);
    expect(await presigned.body.text()).toContain('presigned');
  });

  it('verifies and decodes a signed aws-chunked upload (STREAMING-AWS4-HMAC-SHA256-PAYLOAD)', async () => {
    const { createHash, createHmac } = await import('node:crypto');
    const data = randomBytes(70_000);
    const chunks = [data.subarray(0, 65_536), data.subarray(65_536), Buffer.alloc(0)];
    const amzDate = new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '');
    const day = amzDate.slice(0, 8);
    const scope = `${day}/us-east-1/s3/aws4_request`;
    const encodedLength = chunks.reduce(
      (n, c) => n + c.length.toString(16).length + ';chunk-signature='.length + 64 + 4 + c.length,
      0,
    );
    const u = new URL(`${endpoint}/data/chunked.bin`);
    const headers: Record<string, string> = {
      host: u.host,
      'x-amz-date': amzDate,
      'x-amz-content-sha256': 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD',
      'content-encoding': 'aws-chunked',
      'x-amz-decoded-content-length': String(data.length),
      'content-length': String(encodedLength),
    };
    const signer = new SignatureV4({
      credentials: opsKey,
      region: 'us-east-1',
      service: 's3',
      sha256: Sha256,
      uriEscapePath: false,
    });
    const signed = await signer.sign(
      new HttpRequest({
        method: 'PUT',
        hostname: u.hostname,
        port: Number(u.port),
        path: u.pathname,
        headers,
      }),
      {
        signingDate: new Date(
          `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`,
        ),
      },
    );
    let key = createHmac('sha256', `AWS4${opsKey.secretAccessKey}`).update(day).digest();
    for (const p of ['us-east-1', 's3', 'aws4_request']) key = createHmac('sha256', key).update(p).digest();
    const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
    const encode = (tamper: boolean) => {
      let prev = /Signature=([0-9a-f]{64})/.exec(signed.headers['authorization']!)![1]!;
      const parts: Buffer[] = [];
      for (const c of chunks) {
        const sig = createHmac('sha256', key)
          .update(['AWS4-HMAC-SHA256-PAYLOAD', amzDate, scope, prev, sha(''), sha(c)].join('\n'))
          .digest('hex');
        prev = sig;
        const body = tamper && c.length > 0 ? Buffer.from(c).fill(1, 0, 1) : c;
        parts.push(
          Buffer.from(`${c.length.toString(16)};chunk-signature=${sig}\r\n`),
          body,
          Buffer.from('\r\n'),
        );
      }
      return Buffer.concat(parts);
    };
    const ok = await request(`${endpoint}/data/chunked.bin`, {
      method: 'PUT',
      headers: signed.headers,
      body: encode(false),
    });
    expect(ok.statusCode).toBe(200);
    await ok.body.text();
    const up = s3Up.seen.findLast((r) => r.url.startsWith('/data/chunked.bin'))!;
    expect(up.body.equals(data)).toBe(true);
    expect(up.headers['content-length']).toBe(String(data.length));
    const bad = await request(`${endpoint}/data/chunked-bad.bin`, {
      method: 'PUT',
      headers: signed.headers,
      body: encode(true),
    }).catch((e: Error) => e);
    if (!(bad instanceof Error)) {
      expect(bad.statusCode).toBe(403);
      expect(await bad.body.text()).toContain('SignatureDoesNotMatch');
    }
    const got = await client(S3Client, opsKey, { forcePathStyle: true })
      .send(new GetObjectCommand({ Bucket: 'data', Key: 'chunked-bad.bin' }))
      .catch((e: Error) => e);
    expect((got as Error).name).toBe('NoSuchKey');
  });

  it('signs upstream with a role it assumed through STS', async () => {
    const sts = new STSClient({
      endpoint: gw.endpoint('aws-role'),
      region: 'us-east-1',
      credentials: opsKey,
      maxAttempts: 1,
    });
    const me = await sts.send(new GetCallerIdentityCommand({}));
    expect(me.Account).toBe('123456789012');
    const assume = canned.seen.find(
      (r) =>
        r.body.toString().includes('Action=AssumeRole') && r.body.toString().includes('gatehouse-agents'),
    );
    expect(assume?.verified).toBe(true);
    expect(roleUp.seen.length).toBeGreaterThan(0);
    expect(
      roleUp.seen.every(
        (r) =>
          r.verified &&
          r.accessKeyId === ASSUMED.accessKeyId &&
          r.headers['x-amz-security-token'] === UPSTREAM_SESSION_TOKEN,
      ),
    ).toBe(true);
  });

  // Several aws CLI runs, a Python start-up each: past the default 30 s on a loaded machine.
  it.runIf(hasAwsCli())('works with the AWS CLI (--endpoint-url)', { timeout: 120_000 }, async () => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-awscli-'));
    try {
      const env = {
        PATH: process.env['PATH'] ?? '',
        HOME: home,
        AWS_CONFIG_FILE: path.join(home, 'config'),
        AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'credentials'),
        AWS_ACCESS_KEY_ID: agentKey.accessKeyId,
        AWS_SECRET_ACCESS_KEY: agentKey.secretAccessKey,
        AWS_DEFAULT_REGION: 'us-east-1',
        AWS_EC2_METADATA_DISABLED: 'true',
      };
      writeFileSync(env.AWS_CONFIG_FILE, '[default]\ns3 =\n    addressing_style = path\n');
      const aws = (...args: string[]) =>
        promisify(execFile)('aws', [...args, '--endpoint-url', endpoint], { env, timeout: 60_000 });
      const ls = await aws('s3', 'ls', 's3://data/reports/');
      expect(ls.stdout).toContain('2026.txt');
      const cat = await aws('s3', 'cp', 's3://data/reports/2026.txt', '-');
      expect(cat.stdout).toBe('quarterly numbers');
      const tables = await aws('dynamodb', 'list-tables');
      expect(JSON.parse(tables.stdout).TableNames).toContain('orders');
      const denied = await aws('s3api', 'delete-bucket', '--bucket', 'keep').catch(
        (e: { stderr: string; code: number }) => e,
      );
      expect('code' in denied && denied.code).not.toBe(0);
      expect((denied as { stderr: string }).stderr).toContain('aws-agents-no-destructive-delete');
      writeFileSync(path.join(home, 'up.txt'), 'from the cli');
      const opsEnv = {
        ...env,
        AWS_ACCESS_KEY_ID: opsKey.accessKeyId,
        AWS_SECRET_ACCESS_KEY: opsKey.secretAccessKey,
      };
      await promisify(execFile)(
        'aws',
        ['s3', 'cp', path.join(home, 'up.txt'), 's3://data/cli/up.txt', '--endpoint-url', endpoint],
        { env: opsEnv, timeout: 60_000 },
      );
      const put = s3Up.seen.findLast((r) => r.method === 'PUT' && r.url.startsWith('/data/cli/up.txt'))!;
      expect(put.verified).toBe(true);
      expect(put.body.toString()).toBe('from the cli');
      // A masked read's user metadata, as the CLI prints it (class 157).
      const head = await promisify(execFile)(
        'aws',
        ['s3api', 'head-object', '--bucket', 'data', '--key', 'secrets/meta.txt', '--endpoint-url', endpoint],
        { env: opsEnv, timeout: 60_000 },
      );
      expect(JSON.parse(head.stdout).Metadata).toEqual({
        'db-password': '[REDACTED:password]',
        owner: '[REDACTED:email]',
        team: 'ops',
      });
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('the upstreams saw only the gateway signature, and the real secret appears nowhere', async () => {
    const all = [...s3Up.seen, ...ddbUp.seen, ...canned.seen];
    expect(roleUp.seen.every((r) => r.accessKeyId === ASSUMED.accessKeyId)).toBe(true);
    expect(all.length).toBeGreaterThan(10);
    expect(all.filter((r) => !r.verified)).toEqual([]);
    expect(new Set(all.map((r) => r.accessKeyId))).toEqual(new Set([REAL.accessKeyId]));
    for (const r of all) expect(JSON.stringify(r.headers)).not.toMatch(/GHAK/);
    expect(gw.logs.join('\n')).not.toContain(REAL.secretAccessKey);
    const sessions = await gw.gateway.store.listSessions({ limit: 1000 });
    expect(sessions.length).toBeGreaterThan(0);
    const recorded = await Promise.all(sessions.map((s) => gw.gateway.store.getSession(s.id)));
    const text = JSON.stringify(recorded);
    expect(text).not.toContain(REAL.secretAccessKey);
    expect(text).not.toContain(UPSTREAM_SECRET);
    expect(text).toContain('s3:DeleteBucket');
    expect(text).toContain('aws-agents-no-destructive-delete');
  });
});
