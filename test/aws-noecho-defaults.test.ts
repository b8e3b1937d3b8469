// A value CloudFormation itself marks secret: a template parameter declared `NoEcho: true`.
// CloudFormation masks such a parameter's value as `****` where it describes the stack, but GetTemplate
// hands back the template as it was written, with the parameter's `Default`, and GetTemplateSummary
// lists the `DefaultValue` beside `NoEcho`. Masking read names and content only: a NoEcho default
// named `DbPass` or `Signing` whose value no detector knows reached a masked principal in clear. API
// responses are masked for every principal on an AWS connection. Through the gateway against moto's
// server (skipped without it), with the real AWS CLI.

import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsCli, type AwsCli } from './testkit/aws-cli.js';
import { hasCommand } from './testkit/commands.js';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';
import { hasMoto, startMoto, type Moto } from './testkit/moto.js';

/** Values no detector knows, under names no field-name rule knows. */
const HIDDEN = { json: 'Qm7tR2vX9pLk4sWz-js', yaml: 'Vb3nH8jK1mZq6TyP-ym', flow: 'Hx4cW9sD2fGh7JkL-fl' };
const PLAIN = 'eu-west-1-plain-default';

const JSON_TEMPLATE = JSON.stringify(
  {
    AWSTemplateFormatVersion: '2010-09-09',
    Parameters: {
      Signing: { Type: 'String', NoEcho: true, Default: HIDDEN.json },
      Region: { Type: 'String', Default: PLAIN },
    },
    Resources: { Topic: { Type: 'AWS::SNS::Topic' } },
  },
  null,
  2,
);

const YAML_TEMPLATE = `AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  DbPass:
    Default: ${HIDDEN.yaml}
    Type: String
    NoEcho: "true"
  Other: {Type: String, NoEcho: true, Default: '${HIDDEN.flow}'}
  Region:
    Type: String
    Default: ${PLAIN}
Resources:
  Topic:
    Type: AWS::SNS::Topic
`;

describe.skipIf(!hasMoto() || !hasCommand('aws'))('a NoEcho parameter default', { timeout: 90_000 }, () => {
  let moto: Moto;
  let gw: HttpTestGateway;
  let agentCli: AwsCli;

  async function createStack(name: string, template: string): Promise<void> {
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
        StackName: name,
        TemplateBody: template,
      }).toString(),
    });
    expect(res.statusCode, await res.body.text()).toBe(200);
  }

  beforeAll(async () => {
    moto = await startMoto();
    await createStack('s-json', JSON_TEMPLATE);
    await createStack('s-yaml', YAML_TEMPLATE);
    gw = await startHttpTestGateway({
      env: { ...process.env, GW_REAL_SECRET_NOECHO: `RealSecret${randomBytes(15).toString('hex')}` },
      connections: {
        aws: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          auth: {
            type: 'aws-sigv4',
            region: 'us-east-1',
            credentials: {
              accessKeyId: 'AKIAGATEWAYREALNOECHO',
              secretAccessKey: { env: 'GW_REAL_SECRET_NOECHO' },
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
              id: 'agents-read-templates-masked',
              effect: 'allow' as const,
              match: { operations: ['cloudformation:GetTemplate*', 'cloudformation:DescribeStacks'] },
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

  const reads: [string, string, string[]][] = [
    [
      'GetTemplate of a JSON template',
      's-json',
      ['cloudformation', 'get-template', '--stack-name', 's-json'],
    ],
    [
      'GetTemplate of a YAML template',
      's-yaml',
      ['cloudformation', 'get-template', '--stack-name', 's-yaml'],
    ],
    [
      'GetTemplateSummary of a JSON template',
      's-json',
      ['cloudformation', 'get-template-summary', '--stack-name', 's-json'],
    ],
    [
      'GetTemplateSummary of a YAML template',
      's-yaml',
      ['cloudformation', 'get-template-summary', '--stack-name', 's-yaml'],
    ],
  ];

  for (const [what, stack, args] of reads)
    it(`${what}: a masked agent gets the NoEcho default masked, the plain one intact (before: in clear)`, async () => {
      const { stdout } = await agentCli.run(...args, '--output', 'json');
      expect(stdout).toContain('NoEcho');
      for (const v of Object.values(HIDDEN)) expect(stdout).not.toContain(v);
      expect(stdout).toContain('[REDACTED:noecho]');
      expect(stdout).toContain(PLAIN);
      expect(stack).toMatch(/^s-/);
    });
});
