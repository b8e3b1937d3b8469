// Instructions another principal runs, beyond class 127's list (docs/security.md, class 322). A
// maintenance window task or an association runs the caller's commands on instances later, as their
// roles; an ECS task's command override runs the caller's command as the task's role; a CodeBuild
// buildspec override runs the caller's build commands as the project's service role. What those
// commands touch is not in the request (a command can build any name), so with a deny of `vault` they
// were forwarded. They are now decided as SendCommand is: as selecting every resource. Running a task
// or a build as deployed (no command, no buildspec of the caller's) stays decided on its names. The
// AWS CLI through the gateway against moto's server (skipped without it).

import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsCli, type AwsCli } from './testkit/aws-cli.js';
import { hasCommand } from './testkit/commands.js';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';
import { hasMoto, startMoto, type Moto } from './testkit/moto.js';

const READ_VAULT = "aws s3 cp s3://va''ult/root-credentials -";

describe.skipIf(!hasMoto() || !hasCommand('aws'))(
  'instructions run later or as a task’s or a build’s role',
  { timeout: 180_000 },
  () => {
    let moto: Moto;
    let gw: HttpTestGateway;
    let agent: AwsCli;
    let ops: AwsCli;
    let windowId: string;

    beforeAll(async () => {
      moto = await startMoto();
      gw = await startHttpTestGateway({
        env: { ...process.env, GW_REAL_SECRET_322: `RealSecret${randomBytes(15).toString('hex')}` },
        connections: {
          aws: {
            protocol: 'http',
            listen: '127.0.0.1:0',
            auth: {
              type: 'aws-sigv4',
              region: 'us-east-1',
              credentials: {
                accessKeyId: 'AKIAGATEWAYREAL00322',
                secretAccessKey: { env: 'GW_REAL_SECRET_322' },
              },
              endpoints: {
                ssm: moto.url,
                ecs: moto.url,
                codebuild: moto.url,
                iam: moto.url,
                events: moto.url,
              },
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
                id: 'run-things',
                effect: 'allow' as const,
                match: {
                  operations: [
                    'ssm:RegisterTaskWithMaintenanceWindow',
                    'ssm:CreateAssociation',
                    'ecs:RunTask',
                    'codebuild:StartBuild',
                    'events:PutTargets',
                    'iam:PassRole',
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
      windowId = (
        JSON.parse(
          (
            await ops.run(
              'ssm',
              'create-maintenance-window',
              '--name',
              'nightly',
              '--schedule',
              'cron(0 2 ? * * *)',
              '--duration',
              '2',
              '--cutoff',
              '1',
              '--allow-unassociated-targets',
            )
          ).stdout,
        ) as { WindowId: string }
      ).WindowId;
      await ops.run('ecs', 'create-cluster', '--cluster-name', 'jobs');
      await ops.run('events', 'put-rule', '--name', 'nightly', '--schedule-expression', 'rate(1 day)');
      await ops.run(
        'ecs',
        'register-task-definition',
        '--family',
        'worker',
        '--container-definitions',
        JSON.stringify([{ name: 'app', image: 'busybox', memory: 128, command: ['/bin/worker'] }]),
      );
      await ops.run(
        'codebuild',
        'create-project',
        '--name',
        'site',
        '--source',
        'type=S3,location=builds/site.zip',
        '--artifacts',
        'type=NO_ARTIFACTS',
        '--environment',
        'type=LINUX_CONTAINER,image=aws/codebuild/standard:7.0,computeType=BUILD_GENERAL1_SMALL',
        '--service-role',
        'arn:aws:iam::123456789012:role/codebuild-site',
      );
    }, 90_000);

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

    it('refuses a maintenance window task that runs commands, while a rule denies a resource', async () => {
      const err = await refusal([
        'ssm',
        'register-task-with-maintenance-window',
        '--window-id',
        windowId,
        '--task-arn',
        'AWS-RunShellScript',
        '--task-type',
        'RUN_COMMAND',
        '--targets',
        'Key=InstanceIds,Values=i-0123456789abcdef0',
        '--task-invocation-parameters',
        JSON.stringify({ RunCommand: { Parameters: { commands: [READ_VAULT] } } }),
      ]);
      const tasks = (await ops.run('ssm', 'describe-maintenance-window-tasks', '--window-id', windowId))
        .stdout;
      expect(tasks, 'the task was registered').not.toContain('AWS-RunShellScript');
      expect(err, 'RegisterTaskWithMaintenanceWindow was forwarded').toBeDefined();
      expect(err).toContain('no-vault');
      expect(err).toContain('instructions it hands another principal');
    });

    it('refuses an ECS task whose command the caller writes; runs the task as deployed', async () => {
      const err = await refusal([
        'ecs',
        'run-task',
        '--cluster',
        'jobs',
        '--task-definition',
        'worker',
        '--launch-type',
        'FARGATE',
        '--overrides',
        JSON.stringify({ containerOverrides: [{ name: 'app', command: ['sh', '-c', READ_VAULT] }] }),
      ]);
      expect(err, 'RunTask with a command override was forwarded').toBeDefined();
      expect(err).toContain('no-vault');
      const tasks = JSON.parse((await ops.run('ecs', 'list-tasks', '--cluster', 'jobs')).stdout) as {
        taskArns: string[];
      };
      expect(tasks.taskArns).toHaveLength(0);
      // The task definition's own command: code someone deployed, decided on its names.
      await agent.run(
        'ecs',
        'run-task',
        '--cluster',
        'jobs',
        '--task-definition',
        'worker',
        '--launch-type',
        'FARGATE',
      );
    });

    it('refuses a build whose buildspec the caller writes; starts the project’s own', async () => {
      const err = await refusal([
        'codebuild',
        'start-build',
        '--project-name',
        'site',
        '--buildspec-override',
        `version: 0.2\nphases:\n  build:\n    commands:\n      - ${READ_VAULT}\n`,
      ]);
      expect(err, 'StartBuild with a buildspec override was forwarded').toBeDefined();
      expect(err).toContain('no-vault');
      await agent.run('codebuild', 'start-build', '--project-name', 'site');
    });

    it('refuses a scheduled rule target that runs commands; a function target is decided on its names', async () => {
      const err = await refusal([
        'events',
        'put-targets',
        '--rule',
        'nightly',
        '--targets',
        JSON.stringify([
          {
            Id: 'run',
            Arn: 'arn:aws:ssm:us-east-1::document/AWS-RunShellScript',
            RoleArn: 'arn:aws:iam::123456789012:role/events-run',
            Input: JSON.stringify({ commands: [READ_VAULT] }),
            RunCommandParameters: {
              RunCommandTargets: [{ Key: 'InstanceIds', Values: ['i-0123456789abcdef0'] }],
            },
          },
        ]),
      ]);
      const targets = (await ops.run('events', 'list-targets-by-rule', '--rule', 'nightly')).stdout;
      expect(targets, 'the target was put').not.toContain('AWS-RunShellScript');
      expect(err, 'PutTargets was forwarded').toBeDefined();
      expect(err).toContain('no-vault');
      await agent.run(
        'events',
        'put-targets',
        '--rule',
        'nightly',
        '--targets',
        JSON.stringify([
          { Id: 'fn', Arn: 'arn:aws:lambda:us-east-1:123456789012:function:report', Input: '{}' },
        ]),
      );
    });
  },
);
