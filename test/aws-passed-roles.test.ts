// A request that hands an IAM role to a service is decided as iam:PassRole on that role too
// (src/engines/http/aws/passed-roles.ts; docs/security.md class 24): the AWS CLI through the gateway,
// CloudFormation and EC2 (query protocol) and Step Functions (JSON protocol) against a SigV4-checking
// upstream with canned answers. An agent allowed to create stacks cannot have one built by a role it
// may not pass; the same requests without a role go through.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredStatement } from '../src/core/records.js';
import {
  startCheckingUpstream,
  type CheckingUpstream,
  type RealCredentials,
} from './testkit/aws-upstreams.js';
import { awsCli, type AwsCli } from './testkit/aws-cli.js';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';

const REAL: RealCredentials = {
  accessKeyId: 'AKIAGATEWAYREAL00024',
  secretAccessKey: `RealSecret${randomBytes(15).toString('hex')}`,
};
const ADMIN_ROLE = 'arn:aws:iam::123456789012:role/admin';

execFileSync('aws', ['--version'], { stdio: 'ignore' }); // the AWS CLI is a test dependency (.ci/run)

/** Minimal successful answers: CloudFormation and EC2 in XML, Step Functions in JSON. */
function canned(req: IncomingMessage, body: Buffer, service: string | undefined) {
  if (service === 'lambda')
    return {
      status: 201,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        FunctionName: 'f',
        FunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:f',
      }),
    };
  if (service === 'states')
    return {
      status: 200,
      headers: { 'content-type': 'application/x-amz-json-1.0' },
      body: JSON.stringify({
        stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:m',
        creationDate: 1,
      }),
    };
  const action = new URLSearchParams(body.toString('utf8')).get('Action') ?? 'Unknown';
  const inner =
    action === 'CreateStack'
      ? '<CreateStackResult><StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/s/1</StackId></CreateStackResult>'
      : '';
  void req;
  return {
    status: 200,
    headers: { 'content-type': 'text/xml' },
    body: `<${action}Response>${inner}<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></${action}Response>`,
  };
}

describe('a role handed to a service is decided as iam:PassRole', { timeout: 120_000 }, () => {
  let up: CheckingUpstream;
  let gw: HttpTestGateway;
  let cli: AwsCli;
  let aws: (...args: string[]) => Promise<{ stdout: string; stderr: string }>;

  async function recorded(): Promise<StoredStatement[]> {
    const out: StoredStatement[] = [];
    for (const s of await gw.gateway.store.listSessions({ limit: 1000 }))
      out.push(...((await gw.gateway.store.getSession(s.id))?.statements ?? []));
    return out.sort((a, b) => a.at.getTime() - b.at.getTime() || a.seq - b.seq);
  }

  /** Runs the CLI, expects the gateway to refuse it naming the rule, with nothing sent upstream. */
  async function refused(...args: string[]): Promise<string> {
    const before = up.seen.length;
    const err = await aws(...args).then(
      () => undefined,
      (e: { stderr: string }) => e,
    );
    expect(err, 'the request was forwarded').toBeDefined();
    expect(up.seen.length, 'something reached AWS').toBe(before);
    return err!.stderr;
  }

  beforeAll(async () => {
    up = await startCheckingUpstream({ credentials: [REAL], respond: canned });
    gw = await startHttpTestGateway({
      env: { ...process.env, GW_REAL_SECRET_24: REAL.secretAccessKey },
      connections: {
        aws: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          auth: {
            type: 'aws-sigv4',
            region: 'us-east-1',
            credentials: { accessKeyId: REAL.accessKeyId, secretAccessKey: { env: 'GW_REAL_SECRET_24' } },
            endpoints: { cloudformation: up.url, ec2: up.url, states: up.url, lambda: up.url },
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
              id: 'no-passing-roles',
              effect: 'deny',
              match: { operations: ['iam:PassRole'] },
              message: '{kind} is refused by rule {rule}: agents may not hand roles to services.',
            },
            {
              id: 'agent-builds',
              effect: 'allow',
              match: {
                operations: [
                  'cloudformation:CreateStack',
                  'states:CreateStateMachine',
                  'ec2:RunInstances',
                  'lambda:CreateFunction',
                ],
              },
            },
          ],
        },
      ],
    });
    const key = await gw.awsKey({ subject: 'claude', agent: true });
    cli = awsCli(gw.endpoint('aws'), key);
    aws = cli.run;
  });

  afterAll(async () => {
    await gw?.stop();
    await up?.stop();
    cli?.stop();
  });

  it('CloudFormation: a stack built by a role (query protocol RoleARN)', async () => {
    const stderr = await refused(
      'cloudformation',
      'create-stack',
      '--stack-name',
      's',
      '--template-body',
      '{"Resources":{}}',
      '--role-arn',
      ADMIN_ROLE,
    );
    expect(stderr).toContain('no-passing-roles');
    const st = (await recorded()).findLast((s) => s.kind === 'cloudformation:CreateStack')!;
    expect(st).toMatchObject({ effect: 'deny', ruleId: 'no-passing-roles' });
    expect(st.text).toBe(`POST / + iam:PassRole POST / [role: ${ADMIN_ROLE}]`);
    // Without a role the stack is built with the caller's own rights: allowed.
    const ok = await aws(
      'cloudformation',
      'create-stack',
      '--stack-name',
      's',
      '--template-body',
      '{"Resources":{}}',
    );
    expect(ok.stdout).toContain('stack/s/1');
  });

  it('EC2: an instance profile (IamInstanceProfile.Name)', async () => {
    const stderr = await refused(
      'ec2',
      'run-instances',
      '--image-id',
      'ami-12345678',
      '--iam-instance-profile',
      'Name=admin-profile',
    );
    expect(stderr).toContain('no-passing-roles');
    const st = (await recorded()).findLast((s) => s.kind === 'ec2:RunInstances')!;
    expect(st.text).toContain('+ iam:PassRole POST / [role: admin-profile]');
  });

  it('Step Functions: a state machine run as a role (JSON protocol roleArn)', async () => {
    const stderr = await refused(
      'stepfunctions',
      'create-state-machine',
      '--name',
      'm',
      '--definition',
      '{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}',
      '--role-arn',
      ADMIN_ROLE,
    );
    expect(stderr).toContain('no-passing-roles');
    const st = (await recorded()).findLast((s) => s.kind === 'states:CreateStateMachine')!;
    expect(st).toMatchObject({ effect: 'deny', ruleId: 'no-passing-roles' });
    expect(st.text).toContain(`+ iam:PassRole POST / [role: ${ADMIN_ROLE}]`);
  });
  it('Lambda: a function run as a role (REST JSON Role)', async () => {
    const zip = path.join(cli.home, 'f.zip');
    writeFileSync(zip, Buffer.from('UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==', 'base64'));
    const args = ['lambda', 'create-function', '--function-name', 'f', '--runtime', 'nodejs20.x'];
    const more = ['--handler', 'index.handler', '--zip-file', `fileb://${zip}`, '--role'];
    const stderr = await refused(...args, ...more, ADMIN_ROLE);
    expect(stderr).toContain('no-passing-roles');
    const st = (await recorded()).findLast((s) => s.kind === 'lambda:CreateFunction')!;
    expect(st).toMatchObject({ effect: 'deny', ruleId: 'no-passing-roles' });
    expect(st.text).toContain(`+ iam:PassRole POST / [role: ${ADMIN_ROLE}]`);
  });
});

describe('a policy can name the roles an agent may pass (awsResources)', { timeout: 120_000 }, () => {
  let up: CheckingUpstream;
  let gw: HttpTestGateway;
  let cli: AwsCli;
  let aws: (...args: string[]) => Promise<{ stdout: string; stderr: string }>;

  beforeAll(async () => {
    up = await startCheckingUpstream({ credentials: [REAL], respond: canned });
    gw = await startHttpTestGateway({
      env: { ...process.env, GW_REAL_SECRET_24: REAL.secretAccessKey },
      connections: {
        aws: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          auth: {
            type: 'aws-sigv4',
            region: 'us-east-1',
            credentials: { accessKeyId: REAL.accessKeyId, secretAccessKey: { env: 'GW_REAL_SECRET_24' } },
            endpoints: { cloudformation: up.url },
          },
        },
      },
      policies: [
        {
          id: 'agents',
          subjects: { agent: true },
          connections: ['aws'],
          rules: [
            { id: 'agent-builds', effect: 'allow', match: { operations: ['cloudformation:CreateStack'] } },
            {
              id: 'app-roles',
              effect: 'allow',
              match: { operations: ['iam:PassRole'], awsResources: ['arn:aws:iam::123456789012:role/app-*'] },
            },
          ],
        },
      ],
    });
    const key = await gw.awsKey({ subject: 'claude', agent: true });
    cli = awsCli(gw.endpoint('aws'), key);
    aws = cli.run;
  });

  afterAll(async () => {
    await gw?.stop();
    await up?.stop();
    cli?.stop();
  });

  const createStack = (role: string) =>
    aws(
      'cloudformation',
      'create-stack',
      '--stack-name',
      's',
      '--template-body',
      '{"Resources":{}}',
      '--role-arn',
      role,
    );

  it('passes a role the rule names, and refuses another with nothing sent to AWS', async () => {
    const ok = await createStack('arn:aws:iam::123456789012:role/app-deployer');
    expect(ok.stdout).toContain('stack/s/1');
    const before = up.seen.length;
    const err = await createStack(ADMIN_ROLE).then(
      () => undefined,
      (e: { stderr: string }) => e,
    );
    expect(err, 'a role the rule does not name was passed').toBeDefined();
    expect(err!.stderr).toContain('default-deny');
    expect(up.seen.length).toBe(before);
  });
});
