// Instructions a service runs at once, as a role, and answers with: Step Functions' TestState runs the
// caller's state definition (an `aws-sdk:` task calls any AWS API, with names an intrinsic function
// can build: `States.Format('va{}', 'ult')`) as the role the request passes and returns the state's
// output; a Glue interactive session's RunStatement runs the caller's Python or Scala code as the
// session's role, and GetStatement hands back what it printed. What they touch is not in the request
// in any form Gatehouse can read, as for SendCommand and Athena's notebook code (classes 127, 322,
// 323), so they select every resource. The AWS CLI through the gateway against moto's server
// (skipped without it).

import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsCli, type AwsCli } from './testkit/aws-cli.js';
import { hasCommand } from './testkit/commands.js';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';
import { hasMoto, startMoto, type Moto } from './testkit/moto.js';

const ROLE = 'arn:aws:iam::123456789012:role/sfn-test';

describe.skipIf(!hasMoto() || !hasCommand('aws'))(
  'instructions a service runs at once as its role',
  { timeout: 120_000 },
  () => {
    let moto: Moto;
    let gw: HttpTestGateway;
    let agent: AwsCli;

    beforeAll(async () => {
      moto = await startMoto();
      gw = await startHttpTestGateway({
        env: { ...process.env, GW_REAL_SECRET_IMMEDIATE: `RealSecret${randomBytes(15).toString('hex')}` },
        connections: {
          aws: {
            protocol: 'http',
            listen: '127.0.0.1:0',
            auth: {
              type: 'aws-sigv4',
              region: 'us-east-1',
              credentials: {
                accessKeyId: 'AKIAGATEWAYREALIMMED',
                secretAccessKey: { env: 'GW_REAL_SECRET_IMMEDIATE' },
              },
              endpoints: { states: moto.url, glue: moto.url },
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
                match: { operations: ['states:TestState', 'glue:RunStatement', 'iam:PassRole'] },
              },
            ],
          },
        ],
      });
      agent = awsCli(gw.endpoint('aws'), await gw.awsKey({ subject: 'claude', agent: true }));
      // TestState's endpoint is `sync-states.…`: the CLI is told not to prefix the gateway's host.
      writeFileSync(path.join(agent.home, 'config'), '[default]\ndisable_host_prefix_injection = true\n');
    }, 90_000);

    afterAll(async () => {
      agent?.stop();
      await gw?.stop();
      await moto?.stop();
    });

    const refusal = (args: string[]): Promise<string> =>
      agent.run(...args).then(
        (r) => `forwarded: ${r.stdout}`,
        (e: { stderr: string }) => e.stderr,
      );

    it('refuses a TestState whose definition the caller writes, while a rule denies a resource', async () => {
      const definition = JSON.stringify({
        Type: 'Task',
        Resource: 'arn:aws:states:::aws-sdk:s3:getObject',
        Parameters: { 'Bucket.$': "States.Format('va{}', 'ult')", Key: 'root-credentials' },
        End: true,
      });
      const err = await refusal([
        'stepfunctions',
        'test-state',
        '--definition',
        definition,
        '--role-arn',
        ROLE,
      ]);
      expect(err).toContain('no-vault');
      expect(err).toContain('instructions it hands another principal');
    });

    it('refuses a Glue session statement the caller writes, while a rule denies a resource', async () => {
      const err = await refusal([
        'glue',
        'run-statement',
        '--session-id',
        'analysis',
        '--code',
        "import boto3; print(boto3.client('s3').get_object(Bucket='va' + 'ult', Key='root-credentials')['Body'].read())",
      ]);
      expect(err).toContain('no-vault');
      expect(err).toContain('instructions it hands another principal');
    });
  },
);
