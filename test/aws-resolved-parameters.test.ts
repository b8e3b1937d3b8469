// EC2 takes an SSM parameter in place of an AMI ID (`--image-id resolve:ssm:/prod/db-password`, in
// RunInstances and launch templates) and reads it with the caller's credentials — here the gateway's.
// Gatehouse matched deny rules against the string as sent, which names no parameter, so an agent denied
// `/prod/*` had EC2 read one for it (docs/security.md, class 345). A `resolve:ssm:` value is now a
// name the request may mention: the parameter it names, with or without its version. The AWS CLI
// through the gateway against moto's server (skipped without it).

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsCli, type AwsCli } from './testkit/aws-cli.js';
import { hasCommand } from './testkit/commands.js';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';
import { hasMoto, startMoto, type Moto } from './testkit/moto.js';

const SECRET = `prod-db-${randomBytes(6).toString('hex')}`;

describe.skipIf(!hasMoto() || !hasCommand('aws'))(
  'an SSM parameter EC2 resolves is a name the request mentions',
  { timeout: 150_000 },
  () => {
    let moto: Moto;
    let gw: HttpTestGateway;
    let agent: AwsCli;
    let ops: AwsCli;

    beforeAll(async () => {
      moto = await startMoto();
      gw = await startHttpTestGateway({
        env: { ...process.env, GW_REAL_SECRET_345: `RealSecret${randomBytes(15).toString('hex')}` },
        connections: {
          aws: {
            protocol: 'http',
            listen: '127.0.0.1:0',
            auth: {
              type: 'aws-sigv4',
              region: 'us-east-1',
              credentials: {
                accessKeyId: 'AKIAGATEWAYREAL00345',
                secretAccessKey: { env: 'GW_REAL_SECRET_345' },
              },
              endpoints: { ssm: moto.url, ec2: moto.url },
            },
          },
        },
        policies: [
          {
            id: 'agents',
            subjects: { agent: true },
            connections: ['aws'],
            rules: [
              { id: 'no-prod', effect: 'deny' as const, match: { awsResources: ['/prod/*'] } },
              {
                id: 'launch',
                effect: 'allow' as const,
                match: { operations: ['ec2:RunInstances', 'ec2:Describe*', 'ssm:GetParameter'] },
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
      await ops.run(
        'ssm',
        'put-parameter',
        '--name',
        '/prod/db-password',
        '--value',
        SECRET,
        '--type',
        'String',
      );
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
      const r = await attempt(['ssm', 'get-parameter', '--name', '/prod/db-password']);
      expect(r.err).toContain('no-prod');
    });

    it('refuses a launch whose image is a denied parameter, with or without its version', async () => {
      const instances = async () =>
        (
          JSON.parse((await ops.run('ec2', 'describe-instances')).stdout) as {
            Reservations: unknown[];
          }
        ).Reservations.length;
      const before = await instances();
      for (const image of ['resolve:ssm:/prod/db-password', 'resolve:ssm:/prod/db-password:1']) {
        const r = await attempt([
          'ec2',
          'run-instances',
          '--image-id',
          image,
          '--instance-type',
          't2.micro',
          '--count',
          '1',
        ]);
        expect(`${r.out ?? ''}${r.err ?? ''}`, image).not.toContain(SECRET);
        expect(r.err, `${image}: ${r.out ?? ''}`).toContain('no-prod');
      }
      expect(await instances()).toBe(before);
    });
  },
);
