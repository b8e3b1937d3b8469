// A request that sets tags while it does something else is decided as the tagging action IAM asks for
// too (src/engines/http/aws/tags-on-create.ts; docs/security.md class 39): the AWS CLI through the
// gateway, EC2 and STS (query protocol) and Step Functions (JSON protocol) against a SigV4-checking
// upstream with canned answers. An agent allowed to run instances, assume a role or create a state
// machine, and not to tag, cannot set tags (which IAM policies grant by) through them; the same requests
// without tags go through.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
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
  accessKeyId: 'AKIAGATEWAYREAL00039',
  secretAccessKey: `RealSecret${randomBytes(15).toString('hex')}`,
};
const ROLE = 'arn:aws:iam::123456789012:role/reader';

execFileSync('aws', ['--version'], { stdio: 'ignore' }); // the AWS CLI is a test dependency (.ci/run)

/** Minimal successful answers: EC2 and STS in XML, Step Functions in JSON. */
function canned(req: IncomingMessage, body: Buffer, service: string | undefined) {
  void req;
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
    action === 'AssumeRole'
      ? '<AssumeRoleResult><Credentials><AccessKeyId>ASIAEXAMPLE000000001</AccessKeyId>' +
        '<SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken>' +
        '<Expiration>2030-01-01T00:00:00Z</Expiration></Credentials><AssumedRoleUser>' +
        `<Arn>${ROLE}/s</Arn><AssumedRoleId>AROAEXAMPLE:s</AssumedRoleId></AssumedRoleUser></AssumeRoleResult>`
      : '';
  return {
    status: 200,
    headers: { 'content-type': 'text/xml' },
    body: `<${action}Response>${inner}<ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></${action}Response>`,
  };
}

describe(
  'tags set while doing something else are decided as the tagging action',
  { timeout: 120_000 },
  () => {
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
        env: { ...process.env, GW_REAL_SECRET_39: REAL.secretAccessKey },
        connections: {
          aws: {
            protocol: 'http',
            listen: '127.0.0.1:0',
            auth: {
              type: 'aws-sigv4',
              region: 'us-east-1',
              credentials: { accessKeyId: REAL.accessKeyId, secretAccessKey: { env: 'GW_REAL_SECRET_39' } },
              endpoints: { sts: up.url, ec2: up.url, states: up.url },
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
                id: 'no-tagging',
                effect: 'deny',
                match: { operations: ['*:CreateTags', '*:TagResource', '*:TagSession'] },
                message: '{kind} is refused by rule {rule}: agents may not set tags.',
              },
              {
                id: 'agent-work',
                effect: 'allow',
                match: {
                  operations: [
                    'ec2:RunInstances',
                    'sts:AssumeRole',
                    'states:CreateStateMachine',
                    'iam:PassRole',
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

    it('EC2: an instance launched with tags (TagSpecification.N, query protocol)', async () => {
      const stderr = await refused(
        'ec2',
        'run-instances',
        '--image-id',
        'ami-12345678',
        '--tag-specifications',
        'ResourceType=instance,Tags=[{Key=team,Value=admins}]',
      );
      expect(stderr).toContain('no-tagging');
      const st = (await recorded()).findLast((s) => s.kind === 'ec2:RunInstances')!;
      expect(st).toMatchObject({ effect: 'deny', ruleId: 'no-tagging' });
      expect(st.text).toBe('POST / + ec2:CreateTags POST / [tags: team=admins]');
      await aws('ec2', 'run-instances', '--image-id', 'ami-12345678');
    });

    it('STS: a role assumed with session tags (sts:TagSession)', async () => {
      const args = ['sts', 'assume-role', '--role-arn', ROLE, '--role-session-name', 'agent-session'];
      const stderr = await refused(...args, '--tags', 'Key=team,Value=admins');
      expect(stderr).toContain('no-tagging');
      const st = (await recorded()).findLast((s) => s.kind === 'sts:AssumeRole')!;
      expect(st.text).toContain('+ sts:TagSession POST / [tags: team=admins]');
      const ok = await aws(...args);
      expect(ok.stdout).toContain('"AssumedRoleUser"');
    });

    it('Step Functions: a state machine created with tags (JSON protocol tags)', async () => {
      const args = [
        'stepfunctions',
        'create-state-machine',
        '--name',
        'm',
        '--definition',
        '{"StartAt":"A","States":{"A":{"Type":"Pass","End":true}}}',
        '--role-arn',
        ROLE,
      ];
      const stderr = await refused(...args, '--tags', 'key=team,value=admins');
      expect(stderr).toContain('no-tagging');
      const st = (await recorded()).findLast((s) => s.kind === 'states:CreateStateMachine')!;
      expect(st).toMatchObject({ effect: 'deny', ruleId: 'no-tagging' });
      expect(st.text).toContain('+ states:TagResource POST / [tags: team=admins]');
    });
  },
);
