// A CloudFormation template is instructions CloudFormation runs with the caller's credentials — here
// the gateway's: every resource it creates, changes or reads (a template parameter typed
// `AWS::SSM::Parameter::Value<String>` reads the parameter it names, and the stack's outputs hand the
// value back; a `{{resolve:secretsmanager:…}}` reference reads a secret) is the gateway's act, and
// none of it is a resource the request names. With a deny of `/prod/*` and CloudFormation allowed, a
// stack whose template read `/prod/db-password` was forwarded and its output held the denied
// parameter's value. Template deployments are now decided as the SendCommand of class 127 is: as
// selecting every resource of every service (docs/security.md, class 321). The AWS CLI through the
// gateway against moto's server (skipped without it).

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsCli, type AwsCli } from './testkit/aws-cli.js';
import { hasCommand } from './testkit/commands.js';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';
import { hasMoto, startMoto, type Moto } from './testkit/moto.js';

const SECRET = `prod-db-${randomBytes(6).toString('hex')}`;

/** A template whose parameter CloudFormation resolves from SSM, and whose output hands it back. */
const READING_TEMPLATE = JSON.stringify({
  Parameters: { Db: { Type: 'AWS::SSM::Parameter::Value<String>', Default: '/prod/db-password' } },
  Resources: { Q: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'harmless' } } },
  Outputs: { Leak: { Value: { Ref: 'Db' } } },
});

/** The same read, the parameter's name passed as the stack's parameter value. */
const TYPED_TEMPLATE = JSON.stringify({
  Parameters: { Db: { Type: 'AWS::SSM::Parameter::Value<String>' } },
  Resources: { Q: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'harmless-2' } } },
  Outputs: { Leak: { Value: { Ref: 'Db' } } },
});

describe.skipIf(!hasMoto() || !hasCommand('aws'))(
  'a CloudFormation template is instructions run with the gateway’s credentials',
  { timeout: 120_000 },
  () => {
    let moto: Moto;
    let gw: HttpTestGateway;
    let agent: AwsCli;
    let ops: AwsCli;

    beforeAll(async () => {
      moto = await startMoto();
      gw = await startHttpTestGateway({
        env: { ...process.env, GW_REAL_SECRET_321: `RealSecret${randomBytes(15).toString('hex')}` },
        connections: {
          aws: {
            protocol: 'http',
            listen: '127.0.0.1:0',
            auth: {
              type: 'aws-sigv4',
              region: 'us-east-1',
              credentials: {
                accessKeyId: 'AKIAGATEWAYREAL00321',
                secretAccessKey: { env: 'GW_REAL_SECRET_321' },
              },
              endpoints: { ssm: moto.url, cloudformation: moto.url, sqs: moto.url },
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
                id: 'stacks',
                effect: 'allow' as const,
                match: { operations: ['cloudformation:*', 'ssm:GetParameter'] },
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
        '--type',
        'String',
        '--value',
        SECRET,
      );
    }, 60_000);

    afterAll(async () => {
      agent?.stop();
      ops?.stop();
      await gw?.stop();
      await moto?.stop();
    });

    const refusal = (args: string[]): Promise<string | undefined> =>
      agent.run(...args).then(
        () => undefined,
        (e: { stderr: string }) => e.stderr,
      );

    const stacks = async (): Promise<string> => (await ops.run('cloudformation', 'describe-stacks')).stdout;

    it('the deny holds on a direct read', async () => {
      const err = await refusal(['ssm', 'get-parameter', '--name', '/prod/db-password']);
      expect(err).toContain('no-prod');
    });

    it('refuses a stack whose template reads a denied parameter; nothing reaches CloudFormation', async () => {
      const err = await refusal([
        'cloudformation',
        'create-stack',
        '--stack-name',
        'reader',
        '--template-body',
        READING_TEMPLATE,
      ]);
      const listed = await stacks();
      expect(listed, 'the denied parameter came back in the stack’s outputs').not.toContain(SECRET);
      expect(err, 'CreateStack was forwarded').toBeDefined();
      expect(err).toContain('AccessDenied');
      expect(err).toContain('no-prod');
      expect(err).toContain('instructions it hands another principal');
      expect(listed).not.toContain('reader');
    });

    it('refuses the read spelled as a stack parameter value, and as a change set', async () => {
      for (const [op, extra] of [
        ['create-stack', []],
        ['create-change-set', ['--change-set-name', 'cs']],
      ] as const) {
        const err = await refusal([
          'cloudformation',
          op,
          '--stack-name',
          'typed',
          ...extra,
          '--template-body',
          TYPED_TEMPLATE,
          '--parameters',
          'ParameterKey=Db,ParameterValue=/prod/db-password',
        ]);
        expect(err, `${op} was forwarded`).toBeDefined();
        expect(err).toContain('no-prod');
      }
      expect(await stacks()).not.toContain(SECRET);
    });

    it('a principal no rule on resources binds still deploys stacks', async () => {
      await ops.run(
        'cloudformation',
        'create-stack',
        '--stack-name',
        'ops',
        '--template-body',
        READING_TEMPLATE,
      );
      expect(await stacks()).toContain(SECRET);
    });
  },
);
