// CloudFormation fetches a template (and a stack policy) from the S3 URL a request names, with the
// caller's credentials — here the gateway's — and hands back what it read: GetTemplateSummary and
// ValidateTemplate answer with the object's Description, parameters and resource types. With a deny of
// the `vault` bucket, `GetTemplateSummary --template-url https://vault.s3.amazonaws.com/…` returned a
// denied object's content (docs/security.md, class 324). Each such URL is now decided as the
// s3:GetObject of the object it names; a URL that names no S3 object Gatehouse can tell is refused.
// The AWS CLI through the gateway against moto's server (skipped without it).

import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsCli, type AwsCli } from './testkit/aws-cli.js';
import { hasCommand } from './testkit/commands.js';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';
import { hasMoto, startMoto, type Moto } from './testkit/moto.js';

const SECRET = `root password ${randomBytes(6).toString('hex')}`;
const TEMPLATE = JSON.stringify({
  AWSTemplateFormatVersion: '2010-09-09',
  Description: SECRET,
  Resources: { Q: { Type: 'AWS::SQS::Queue' } },
});

describe.skipIf(!hasMoto() || !hasCommand('aws'))(
  'a template URL is a read of the S3 object it names',
  { timeout: 150_000 },
  () => {
    let moto: Moto;
    let gw: HttpTestGateway;
    let agent: AwsCli;
    let ops: AwsCli;

    beforeAll(async () => {
      moto = await startMoto();
      gw = await startHttpTestGateway({
        env: { ...process.env, GW_REAL_SECRET_324: `RealSecret${randomBytes(15).toString('hex')}` },
        connections: {
          aws: {
            protocol: 'http',
            listen: '127.0.0.1:0',
            auth: {
              type: 'aws-sigv4',
              region: 'us-east-1',
              credentials: {
                accessKeyId: 'AKIAGATEWAYREAL00324',
                secretAccessKey: { env: 'GW_REAL_SECRET_324' },
              },
              endpoints: { s3: moto.url, cloudformation: moto.url },
            },
          },
        },
        policies: [
          {
            id: 'agents',
            subjects: { agent: true },
            connections: ['aws'],
            rules: [
              { id: 'no-vault', effect: 'deny' as const, match: { awsResources: ['vault', 'vault/*'] } },
              {
                id: 'templates',
                effect: 'allow' as const,
                match: {
                  operations: [
                    'cloudformation:GetTemplateSummary',
                    'cloudformation:ValidateTemplate',
                    's3:GetObject',
                  ],
                },
              },
            ],
          },
          {
            id: 'ops',
            subjects: { agent: false },
            connections: ['aws'],
            rules: [{ id: 'ops-all', effect: 'allow' as const, match: { operations: ['*'] } }],
          },
        ],
      });
      agent = awsCli(gw.endpoint('aws'), await gw.awsKey({ subject: 'claude', agent: true }));
      ops = awsCli(gw.endpoint('aws'), await gw.awsKey({ subject: 'olga' }));
      const file = path.join(ops.home, 'template.json');
      writeFileSync(file, TEMPLATE);
      for (const bucket of ['vault', 'scratch']) {
        await ops.run('s3api', 'create-bucket', '--bucket', bucket);
        await ops.run(
          's3api',
          'put-object',
          '--bucket',
          bucket,
          '--key',
          'app/template.json',
          '--body',
          file,
        );
      }
    }, 90_000);

    afterAll(async () => {
      agent?.stop();
      ops?.stop();
      await gw?.stop();
      await moto?.stop();
    });

    const attempt = (args: string[]): Promise<{ out?: string; err?: string }> =>
      agent.run(...args).then(
        (r) => ({ out: r.stdout }),
        (e: { stderr: string }) => ({ err: e.stderr }),
      );

    it('the deny holds on a direct read', async () => {
      const r = await attempt([
        's3api',
        'get-object',
        '--bucket',
        'vault',
        '--key',
        'app/template.json',
        '/dev/null',
      ]);
      expect(r.err).toContain('no-vault');
    });

    it('refuses a template summary or validation read from a denied bucket, in each URL form', async () => {
      for (const [op, url] of [
        ['get-template-summary', 'https://vault.s3.amazonaws.com/app/template.json'],
        ['get-template-summary', 'https://s3.us-east-1.amazonaws.com/vault/app/template.json'],
        ['validate-template', 'https://vault.s3.us-east-1.amazonaws.com/app/%74emplate.json'],
      ] as const) {
        const r = await attempt(['cloudformation', op, '--template-url', url]);
        expect(r.out ?? '', `${op} ${url} returned the denied object's content`).not.toContain(SECRET);
        expect(r.err, `${op} ${url}`).toContain('no-vault');
      }
    });

    it('reads a template from an allowed bucket; refuses a URL that names no S3 object', async () => {
      const ok = await attempt([
        'cloudformation',
        'get-template-summary',
        '--template-url',
        'https://scratch.s3.amazonaws.com/app/template.json',
      ]);
      expect(ok.out).toContain(SECRET);
      const odd = await attempt([
        'cloudformation',
        'get-template-summary',
        '--template-url',
        'https://example.com/vault/app/template.json',
      ]);
      expect(odd.err).toContain('aws-unknown-operation');
    });
  },
);
