// A value AWS itself marks secret, under a field name that does not say so: an SSM parameter of type
// SecureString read with decryption comes back as `"Value": "…"` beside `"Type": "SecureString"`.
// Masking read names and content only: a SecureString whose parameter name did not look secret
// (`/prod/app/db-pass`, `/prod/app/signing`) and whose value no detector knows reached a masked
// principal in clear, from GetParameter, GetParameters, GetParametersByPath and GetParameterHistory
// alike (docs/security.md class 231). API responses are masked for every principal on an AWS
// connection (as SecretString is); a rule's `mask` adds the object scans. Through the gateway against moto's server (skipped without it),
// with the real AWS CLI.

import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsCli, type AwsCli } from './testkit/aws-cli.js';
import { hasCommand } from './testkit/commands.js';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';
import { hasMoto, startMoto, type Moto } from './testkit/moto.js';

const J11 = 'application/x-amz-json-1.1';
/** Values no detector knows, under names no field-name rule knows. */
const SECURE = { '/prod/app/db-pass': 'Qm7tR2vX9pLk4sWz-db', '/prod/app/signing': 'Vb3nH8jK1mZq6TyP-sg' };
const PLAIN = { '/prod/app/region': 'eu-west-1' };

describe.skipIf(!hasMoto() || !hasCommand('aws'))('an SSM SecureString', { timeout: 90_000 }, () => {
  let moto: Moto;
  let gw: HttpTestGateway;
  let agentCli: AwsCli;
  let operatorCli: AwsCli;

  async function seed(body: unknown): Promise<void> {
    const res = await request(`${moto.url}/`, {
      method: 'POST',
      headers: {
        'content-type': J11,
        'x-amz-target': 'AmazonSSM.PutParameter',
        authorization:
          'AWS4-HMAC-SHA256 Credential=AKIDSEED/20260101/us-east-1/ssm/aws4_request, SignedHeaders=host, Signature=00',
      },
      body: JSON.stringify(body),
    });
    expect(res.statusCode, await res.body.text()).toBe(200);
  }

  beforeAll(async () => {
    moto = await startMoto();
    for (const [Name, Value] of Object.entries(SECURE)) await seed({ Name, Value, Type: 'SecureString' });
    for (const [Name, Value] of Object.entries(PLAIN)) await seed({ Name, Value, Type: 'String' });
    gw = await startHttpTestGateway({
      env: { ...process.env, GW_REAL_SECRET_231: `RealSecret${randomBytes(15).toString('hex')}` },
      connections: {
        aws: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          auth: {
            type: 'aws-sigv4',
            region: 'us-east-1',
            credentials: {
              accessKeyId: 'AKIAGATEWAYREAL00231',
              secretAccessKey: { env: 'GW_REAL_SECRET_231' },
            },
            endpoints: { ssm: moto.url },
          },
        },
      },
      policies: [
        {
          id: 'agents',
          subjects: { agent: true },
          connections: ['aws'],
          rules: [
            {
              id: 'agents-read-parameters-masked',
              effect: 'allow' as const,
              match: { operations: ['ssm:GetParameter*'] },
              mask: true,
            },
          ],
        },
        {
          id: 'operators',
          subjects: { subjects: ['operator'] },
          connections: ['aws'],
          rules: [
            { id: 'operators-read', effect: 'allow' as const, match: { operations: ['ssm:GetParameter*'] } },
          ],
        },
      ],
    });
    agentCli = awsCli(gw.endpoint('aws'), await gw.awsKey({ subject: 'claude', agent: true }));
    operatorCli = awsCli(gw.endpoint('aws'), await gw.awsKey({ subject: 'operator', agent: false }));
  }, 60_000);

  afterAll(async () => {
    agentCli?.stop();
    operatorCli?.stop();
    await gw?.stop();
    await moto?.stop();
  });

  const reads: [string, string[]][] = [
    ['GetParameter', ['ssm', 'get-parameter', '--name', '/prod/app/db-pass', '--with-decryption']],
    [
      'GetParameters',
      ['ssm', 'get-parameters', '--names', '/prod/app/db-pass', '/prod/app/signing', '--with-decryption'],
    ],
    ['GetParametersByPath', ['ssm', 'get-parameters-by-path', '--path', '/prod/app', '--with-decryption']],
    [
      'GetParameterHistory',
      ['ssm', 'get-parameter-history', '--name', '/prod/app/signing', '--with-decryption'],
    ],
  ];

  for (const [op, args] of reads)
    it(`${op}: a masked agent gets the SecureString's value masked (before: in clear)`, async () => {
      const { stdout } = await agentCli.run(...args, '--output', 'json');
      expect(stdout).toContain('SecureString');
      for (const v of Object.values(SECURE)) expect(stdout).not.toContain(v);
      expect(stdout).toMatch(/REDACTED/);
      if (op === 'GetParametersByPath') expect(stdout).toContain(PLAIN['/prod/app/region']);
    });

  it('a principal without `mask` gets it masked as well, as SecretString is; plain values pass', async () => {
    const { stdout } = await operatorCli.run(...reads[2]![1], '--output', 'json');
    for (const v of Object.values(SECURE)) expect(stdout).not.toContain(v);
    expect(stdout).toContain('[REDACTED:securestring]');
    expect(stdout).toContain(PLAIN['/prod/app/region']);
  });
});
