// Instructions another principal runs with its own credentials (docs/security.md, class 127). SSM
// SendCommand runs the caller's shell commands on an instance as the instance's role: with a deny of
// the `vault` bucket and SendCommand allowed, a command reading vault (its name built in the shell, so
// no request names it) was forwarded. What such instructions touch cannot be read from the request:
// every deny or review rule on resources now applies to them. A Step Functions input or an event is
// data for code already deployed, not instructions: it is decided by its names, as before.
// The AWS CLI through the gateway against moto's server (skipped without it).

import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsCli, type AwsCli } from './testkit/aws-cli.js';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';
import { hasMoto, startMoto, type Moto } from './testkit/moto.js';

execFileSync('aws', ['--version'], { stdio: 'ignore' }); // the AWS CLI is a test dependency (.ci/run)

const COMMAND = [
  'ssm',
  'send-command',
  '--document-name',
  'AWS-RunShellScript',
  '--instance-ids',
  'i-0123456789abcdef0',
  '--parameters',
  `commands=["aws s3 cp s3://va''ult/root-credentials -"]`,
];

describe.skipIf(!hasMoto())('instructions another principal runs', { timeout: 120_000 }, () => {
  let moto: Moto;
  let gw: HttpTestGateway;
  let agent: AwsCli;
  let ops: AwsCli;
  let bob: AwsCli;

  beforeAll(async () => {
    moto = await startMoto();
    gw = await startHttpTestGateway({
      env: { ...process.env, GW_REAL_SECRET_261: 'RealSecret261x0000000000000000000000' },
      connections: {
        aws: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          auth: {
            type: 'aws-sigv4',
            region: 'us-east-1',
            credentials: {
              accessKeyId: 'AKIAGATEWAYREAL00261',
              secretAccessKey: { env: 'GW_REAL_SECRET_261' },
            },
            endpoints: { ssm: moto.url, states: moto.url },
          },
        },
      },
      policies: [
        {
          id: 'agents',
          subjects: { agent: true, subjects: ['claude'] },
          connections: ['aws'],
          rules: [
            { id: 'no-vault', effect: 'deny' as const, match: { awsResources: ['vault', 'vault/*'] } },
            { id: 'run-commands', effect: 'allow' as const, match: { operations: ['ssm:SendCommand'] } },
          ],
        },
        {
          // A rule on a resource restricted to some operations (class 142): the instance's role may
          // do those operations on it, whatever operation hands it the command.
          id: 'agents-deletes',
          subjects: { agent: true, subjects: ['bob'] },
          connections: ['aws'],
          rules: [
            {
              id: 'no-vault-deletes',
              effect: 'deny' as const,
              match: {
                operations: ['s3:DeleteObject', 's3:DeleteBucket'],
                awsResources: ['vault', 'vault/*'],
              },
            },
            { id: 'bob-run-commands', effect: 'allow' as const, match: { operations: ['ssm:SendCommand'] } },
          ],
        },
        {
          id: 'ops',
          subjects: { agent: false },
          connections: ['aws'],
          rules: [
            { id: 'ops-run-commands', effect: 'allow' as const, match: { operations: ['ssm:SendCommand'] } },
          ],
        },
      ],
    });
    agent = awsCli(gw.endpoint('aws'), await gw.awsKey({ subject: 'claude', agent: true }));
    bob = awsCli(gw.endpoint('aws'), await gw.awsKey({ subject: 'bob', agent: true }));
    ops = awsCli(gw.endpoint('aws'), await gw.awsKey({ subject: 'alice' }));
  }, 30_000);

  afterAll(async () => {
    agent?.stop();
    ops?.stop();
    bob?.stop();
    await gw?.stop();
    await moto?.stop();
  });

  it('a command run as the instance is refused while a rule denies a resource', async () => {
    const err = await agent.run(...COMMAND).then(
      () => undefined,
      (e: { stderr: string }) => e,
    );
    expect(err, 'SendCommand was forwarded').toBeDefined();
    expect(err!.stderr).toContain('AccessDenied');
    expect(err!.stderr).toContain('no-vault');
    expect(err!.stderr).toContain('instructions it hands another principal');
  });

  it('a rule on a resource restricted to other operations applies to the command too', async () => {
    const err = await bob.run(...COMMAND).then(
      () => undefined,
      (e: { stderr: string }) => e,
    );
    expect(err, 'SendCommand was forwarded').toBeDefined();
    expect(err!.stderr).toContain('AccessDenied');
    expect(err!.stderr).toContain('no-vault-deletes');
  });

  it('without a rule on resources, the same command is sent', async () => {
    const { stdout } = await ops.run(...COMMAND);
    expect(JSON.parse(stdout)).toMatchObject({ Command: { DocumentName: 'AWS-RunShellScript' } });
  });
});
