// SSM reads a Secrets Manager secret for a parameter named `/aws/reference/secretsmanager/<secret-id>`
// and answers with its value. Gatehouse decided such a GetParameter on the parameter's name only: a
// deny of the secret `prod/*` did not see it, and an allow of SSM reads read secrets. It is now decided
// as the secretsmanager:GetSecretValue it does, too. The AWS CLI through the gateway against moto's
// server (which implements the reference; skipped without it).

import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsCli, type AwsCli } from './testkit/aws-cli.js';
import { hasCommand } from './testkit/commands.js';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';
import { hasMoto, startMoto, type Moto } from './testkit/moto.js';

const J11 = 'application/x-amz-json-1.1';

describe.skipIf(!hasMoto() || !hasCommand('aws'))(
  'an SSM reference to a Secrets Manager secret',
  { timeout: 90_000 },
  () => {
    let moto: Moto;
    let gw: HttpTestGateway;
    let agent: AwsCli;

    async function seed(service: string, target: string, body: unknown): Promise<void> {
      const res = await request(`${moto.url}/`, {
        method: 'POST',
        headers: {
          'content-type': J11,
          'x-amz-target': target,
          authorization: `AWS4-HMAC-SHA256 Credential=AKIDSEED/20260101/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=00`,
        },
        body: JSON.stringify(body),
      });
      expect(res.statusCode, await res.body.text()).toBe(200);
    }

    beforeAll(async () => {
      moto = await startMoto();
      await seed('secretsmanager', 'secretsmanager.CreateSecret', {
        Name: 'prod/db',
        SecretString: 'Pw7xQ2mK9vL4sT-db',
      });
      await seed('secretsmanager', 'secretsmanager.CreateSecret', {
        Name: 'dev/db',
        SecretString: 'Dv3nB6hJ1kR8pZ-db',
      });
      await seed('ssm', 'AmazonSSM.PutParameter', {
        Name: '/app/region',
        Value: 'eu-west-1',
        Type: 'String',
      });
      gw = await startHttpTestGateway({
        env: { ...process.env, GW_REAL_SECRET_SSMREF: `RealSecret${randomBytes(15).toString('hex')}` },
        connections: {
          aws: {
            protocol: 'http',
            listen: '127.0.0.1:0',
            auth: {
              type: 'aws-sigv4',
              region: 'us-east-1',
              credentials: {
                accessKeyId: 'AKIAGATEWAYREALSSMRF',
                secretAccessKey: { env: 'GW_REAL_SECRET_SSMREF' },
              },
              endpoints: { ssm: moto.url, secretsmanager: moto.url },
            },
          },
        },
        policies: [
          {
            id: 'agents',
            subjects: { agent: true },
            connections: ['aws'],
            rules: [
              { id: 'no-prod', effect: 'deny' as const, match: { awsResources: ['prod/*'] } },
              {
                id: 'read-parameters',
                effect: 'allow' as const,
                match: { operations: ['ssm:GetParameter*'] },
              },
              {
                id: 'read-dev-secrets',
                effect: 'allow' as const,
                match: { operations: ['secretsmanager:GetSecretValue'], awsResources: ['dev/*'] },
              },
            ],
          },
        ],
      });
      agent = awsCli(gw.endpoint('aws'), await gw.awsKey({ subject: 'claude', agent: true }));
    }, 60_000);

    afterAll(async () => {
      agent?.stop();
      await gw?.stop();
      await moto?.stop();
    });

    const attempt = (args: string[]): Promise<string> =>
      agent.run(...args).then(
        (r) => `forwarded: ${r.stdout}`,
        (e: { stderr: string }) => e.stderr,
      );

    it('refuses a GetParameter or GetParameters that reads a denied secret through SSM (before: read)', async () => {
      for (const args of [
        ['ssm', 'get-parameter', '--name', '/aws/reference/secretsmanager/prod/db', '--with-decryption'],
        [
          'ssm',
          'get-parameters',
          '--names',
          '/app/region',
          '/aws/reference/secretsmanager/prod/db',
          '--with-decryption',
        ],
      ]) {
        const out = await attempt(args);
        expect(out, args[1]).not.toMatch(/^forwarded/);
        expect(out, args[1]).toContain('no-prod');
      }
    });

    it('reads an allowed secret through SSM, and plain parameters, as before', async () => {
      const out = await attempt([
        'ssm',
        'get-parameter',
        '--name',
        '/aws/reference/secretsmanager/dev/db',
        '--with-decryption',
      ]);
      expect(out).toMatch(/^forwarded/);
      expect(out).not.toContain('Dv3nB6hJ1kR8pZ-db');
      expect(await attempt(['ssm', 'get-parameter', '--name', '/app/region'])).toContain('eu-west-1');
    });
  },
);
