// An XML answer (the query protocol's: CloudFormation, IAM, SNS, RDS, Elastic Beanstalk…) was masked by
// its elements' names and the content detectors only. The same answer in JSON is read further: a
// name/value pair (`{"ParameterKey": "DbPassword", "ParameterValue": "…"}`) has its value masked when
// the name is a sensitive key, and a text held in a string (a template, a config file) is read by the
// field names it holds. In XML a stack's `DbPassword` parameter and a template's literal
// `MasterUserPassword: …` reached a masked principal in clear. Through the gateway against moto's
// server (skipped without it), with the real AWS CLI.

import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsCli, type AwsCli } from './testkit/aws-cli.js';
import { hasCommand } from './testkit/commands.js';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';
import { hasMoto, startMoto, type Moto } from './testkit/moto.js';

/** Values no detector knows. */
const PARAM = 'Zr5tY8uI1oP3aSdF-pv';
const LITERAL = 'Kj2hG5fD8sA1qWeR-lt';
const PLAIN = 'eu-west-1-plain-value';

const TEMPLATE = `AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  DbPassword:
    Type: String
  Region:
    Type: String
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Metadata:
      MasterUserPassword: ${LITERAL}
`;

describe.skipIf(!hasMoto() || !hasCommand('aws'))(
  'an XML answer read as its JSON form is',
  { timeout: 90_000 },
  () => {
    let moto: Moto;
    let gw: HttpTestGateway;
    let agentCli: AwsCli;

    beforeAll(async () => {
      moto = await startMoto();
      const res = await request(`${moto.url}/`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization:
            'AWS4-HMAC-SHA256 Credential=AKIDSEED/20260101/us-east-1/cloudformation/aws4_request, SignedHeaders=host, Signature=00',
        },
        body: new URLSearchParams({
          Action: 'CreateStack',
          Version: '2010-05-15',
          StackName: 'app',
          TemplateBody: TEMPLATE,
          'Parameters.member.1.ParameterKey': 'DbPassword',
          'Parameters.member.1.ParameterValue': PARAM,
          'Parameters.member.2.ParameterKey': 'Region',
          'Parameters.member.2.ParameterValue': PLAIN,
        }).toString(),
      });
      expect(res.statusCode, await res.body.text()).toBe(200);
      gw = await startHttpTestGateway({
        env: { ...process.env, GW_REAL_SECRET_XMLPAIRS: `RealSecret${randomBytes(15).toString('hex')}` },
        connections: {
          aws: {
            protocol: 'http',
            listen: '127.0.0.1:0',
            auth: {
              type: 'aws-sigv4',
              region: 'us-east-1',
              credentials: {
                accessKeyId: 'AKIAGATEWAYREALXMLPR',
                secretAccessKey: { env: 'GW_REAL_SECRET_XMLPAIRS' },
              },
              endpoints: { cloudformation: moto.url },
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
                id: 'agents-read-stacks-masked',
                effect: 'allow' as const,
                match: { operations: ['cloudformation:GetTemplate', 'cloudformation:DescribeStacks'] },
                mask: true,
              },
            ],
          },
        ],
      });
      agentCli = awsCli(gw.endpoint('aws'), await gw.awsKey({ subject: 'claude', agent: true }));
    }, 60_000);

    afterAll(async () => {
      agentCli?.stop();
      await gw?.stop();
      await moto?.stop();
    });

    it('DescribeStacks: a parameter named as a secret has its value masked, the others intact (before: in clear)', async () => {
      const { stdout } = await agentCli.run(
        'cloudformation',
        'describe-stacks',
        '--stack-name',
        'app',
        '--output',
        'json',
      );
      expect(stdout).toContain('DbPassword');
      expect(stdout).not.toContain(PARAM);
      expect(stdout).toContain('[REDACTED:password]');
      expect(stdout).toContain(PLAIN);
    });

    it('GetTemplate: a value under a sensitive name in the template text is masked (before: in clear)', async () => {
      const { stdout } = await agentCli.run(
        'cloudformation',
        'get-template',
        '--stack-name',
        'app',
        '--output',
        'json',
      );
      expect(stdout).toContain('MasterUserPassword');
      expect(stdout).not.toContain(LITERAL);
      expect(stdout).toContain('AWS::SNS::Topic');
    });
  },
);
