import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { policiesSchema } from '../config/policy-schema.js';
import { type HttpAction, httpAction } from '../core/action.js';
import type { Identity } from '../core/identity.js';
import { defaultAwsPolicies } from './default-aws-policy.js';
import { createPolicyDecider } from './policy-decider.js';

const agent: Identity = {
  subject: 'claude',
  groups: [],
  tokenKind: 'service',
  agent: true,
  issuer: 'gatehouse',
};
const admin: Identity = {
  subject: 'ana',
  groups: ['aws-admins'],
  tokenKind: 'oidc',
  agent: false,
  issuer: 'https://idp',
};
const decider = createPolicyDecider({ policies: defaultAwsPolicies(['aws']) });
const op = (operation: string): HttpAction =>
  httpAction({
    connection: 'aws',
    method: 'POST',
    path: '/',
    decidedPath: '/',
    operation,
  });

describe('default AWS agent policy', () => {
  it.each([
    ['s3:ListBuckets', 'allow', 'aws-agents-allow-reads'],
    ['s3:ListBucket', 'allow', 'aws-agents-allow-reads'],
    ['s3:GetObject', 'allow', 'aws-agents-allow-reads'],
    ['s3:HeadObject', 'allow', 'aws-agents-allow-reads'],
    ['dynamodb:Scan', 'allow', 'aws-agents-allow-reads'],
    ['dynamodb:Query', 'allow', 'aws-agents-allow-reads'],
    ['dynamodb:DescribeTable', 'allow', 'aws-agents-allow-reads'],
    ['dynamodb:BatchGetItem', 'allow', 'aws-agents-allow-reads'],
    ['iam:ListUsers', 'allow', 'aws-agents-allow-reads'],
    ['iam:GetRole', 'allow', 'aws-agents-allow-reads'],
    ['sts:GetCallerIdentity', 'allow', 'aws-agents-allow-reads'],
    ['lambda:GetFunction', 'allow', 'aws-agents-allow-reads'],
    ['s3:PutObject', 'review', 'aws-agents-review-writes'],
    ['s3:DeleteObject', 'review', 'aws-agents-review-writes'],
    ['s3:DeleteObjects', 'review', 'aws-agents-review-writes'],
    ['s3:PutBucketPolicy', 'review', 'aws-agents-review-writes'],
    ['dynamodb:PutItem', 'review', 'aws-agents-review-writes'],
    ['dynamodb:BatchWriteItem', 'review', 'aws-agents-review-writes'],
    ['dynamodb:TransactWriteItems', 'review', 'aws-agents-review-writes'],
    ['lambda:UpdateFunctionCode', 'review', 'aws-agents-review-writes'],
    ['lambda:InvokeFunction', 'review', 'aws-agents-review-writes'],
    ['secretsmanager:GetSecretValue', 'review', 'aws-agents-review-secret-reads'],
    ['ssm:GetParameter', 'review', 'aws-agents-review-secret-reads'],
    ['sts:AssumeRole', 'review', 'aws-agents-review-secret-reads'],
    ['sts:GetSessionToken', 'review', 'aws-agents-review-secret-reads'],
    // Class 75: reads that hand out credentials or decrypted secrets, which *:Get* let through.
    ['sts:GetWebIdentityToken', 'review', 'aws-agents-review-secret-reads'],
    ['sts:GetDelegatedAccessToken', 'review', 'aws-agents-review-secret-reads'],
    ['sts:GetFederationToken', 'review', 'aws-agents-review-secret-reads'],
    ['ssm:GetParameterHistory', 'review', 'aws-agents-review-secret-reads'],
    ['ssm:GetParametersByPath', 'review', 'aws-agents-review-secret-reads'],
    ['ssm:GetAccessToken', 'review', 'aws-agents-review-secret-reads'],
    ['ssm:GetDocument', 'allow', 'aws-agents-allow-reads'],
    ['kms:Decrypt', 'review', 'aws-agents-review-secret-reads'],
    ['iam:PassRole', 'review', 'aws-agents-review-role-passes'],
    // Class 127: instructions another principal runs, reviewed as what they are.
    ['ssm:SendCommand', 'review', 'aws-agents-review-remote-commands'],
    ['ssm:StartSession', 'review', 'aws-agents-review-remote-commands'],
    ['ecs:ExecuteCommand', 'review', 'aws-agents-review-remote-commands'],
    ['ec2-instance-connect:SendSSHPublicKey', 'review', 'aws-agents-review-remote-commands'],
    ['states:StartExecution', 'review', 'aws-agents-review-writes'],
    ['s3:DeleteBucket', 'deny', 'aws-agents-no-destructive-delete'],
    ['dynamodb:DeleteTable', 'deny', 'aws-agents-no-destructive-delete'],
    ['lambda:DeleteFunction', 'deny', 'aws-agents-no-destructive-delete'],
    ['iam:AttachRolePolicy', 'deny', 'aws-agents-no-iam-changes'],
    ['iam:CreateAccessKey', 'deny', 'aws-agents-no-iam-changes'],
    ['iam:PutUserPolicy', 'deny', 'aws-agents-no-iam-changes'],
    ['iam:UpdateAssumeRolePolicy', 'deny', 'aws-agents-no-iam-changes'],
    ['kms:ScheduleKeyDeletion', 'deny', 'aws-agents-no-kms-key-changes'],
    ['kms:DisableKey', 'deny', 'aws-agents-no-kms-key-changes'],
    ['kms:PutKeyPolicy', 'deny', 'aws-agents-no-kms-key-changes'],
    ['cloudtrail:StopLogging', 'deny', 'aws-agents-no-cloudtrail-disable'],
    ['cloudtrail:DeleteTrail', 'deny', 'aws-agents-no-cloudtrail-disable'],
    ['ec2:FrobnicateInstances', 'deny', 'default-deny'],
  ])('%s → %s (%s)', (operation, effect, ruleId) => {
    const d = decider.decide(agent, op(operation));
    expect(d.effect).toBe(effect);
    expect(d.ruleId).toBe(ruleId);
    if (d.effect !== 'allow') expect(d.message).toContain(ruleId);
  });

  it('keeps broad rights for admins, but destructive deletes need a second person', () => {
    expect(decider.decide(admin, op('iam:CreateAccessKey')).effect).toBe('allow');
    expect(decider.decide(admin, op('s3:DeleteBucket'))).toMatchObject({
      effect: 'review',
      ruleId: 'aws-admins-review-destructive',
    });
    expect(decider.decide({ ...admin, agent: true }, op('iam:CreateAccessKey')).effect).toBe('deny');
  });

  it('never matches an HTTP request without an operation', () => {
    expect(
      decider.decide(agent, httpAction({ connection: 'aws', method: 'GET', path: '/', decidedPath: '/' })),
    ).toMatchObject({
      effect: 'deny',
      ruleId: 'default-deny',
    });
  });

  it('is valid config, and the YAML in docs/aws.md is the same policy', () => {
    const policies = defaultAwsPolicies(['*']);
    expect(policiesSchema.parse(policies)).toEqual(policies);
    const doc = readFileSync(new URL('../../docs/aws.md', import.meta.url), 'utf8');
    const block =
      /<!-- default-aws-policy:start -->\s*```yaml\n([\s\S]*?)```\s*<!-- default-aws-policy:end -->/.exec(
        doc,
      );
    expect(block).not.toBeNull();
    const yaml = parseYaml(block![1]!) as { policies: unknown };
    expect(policiesSchema.parse(yaml.policies)).toEqual(policiesSchema.parse(policies));
  });
});
