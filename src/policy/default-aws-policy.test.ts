import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { policiesSchema } from '../config/policy-schema.js';
import { type HttpAction, httpAction } from '../core/action.js';
import type { Identity } from '../core/identity.js';
import { AWS_READ_EXCEPTIONS, AWS_READS, defaultAwsPolicies } from './default-aws-policy.js';
import { compileGlob } from './glob.js';
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
    ['ssm:CreateAssociation', 'review', 'aws-agents-review-remote-commands'],
    ['ssm:RegisterTaskWithMaintenanceWindow', 'review', 'aws-agents-review-remote-commands'],
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

  // Class 159: operations named like reads that hand out credentials or links that work without
  // Gatehouse, or that act; each was allowed by aws-agents-allow-reads. The names are the service
  // models' (botocore), under their IAM prefixes.
  it.each([
    // Issue credentials or tokens (the red team's three first).
    'redshift:GetClusterCredentials',
    'redshift:GetClusterCredentialsWithIAM',
    'ecr:GetAuthorizationToken',
    'ecr-public:GetAuthorizationToken',
    'codeartifact:GetAuthorizationToken',
    'redshift:GetIdentityCenterAuthToken',
    'redshift-serverless:GetCredentials',
    'redshift-serverless:GetIdentityCenterAuthToken',
    'cognito-identity:GetCredentialsForIdentity',
    'cognito-identity:GetOpenIdToken',
    'cognito-identity:GetOpenIdTokenForDeveloperIdentity',
    'cognito-idp:GetTokensFromRefreshToken',
    'sso:GetRoleCredentials',
    'connect:GetFederationToken',
    'license-manager:GetAccessToken',
    'route53globalresolver:GetAccessToken',
    'amplifybackend:GetToken',
    'gamelift:GetComputeAuthToken',
    'lakeformation:GetTemporaryGlueTableCredentials',
    'lakeformation:GetTemporaryDataLocationCredentials',
    'datazone:GetEnvironmentCredentials',
    'elasticmapreduce:GetClusterSessionCredentials',
    'emr-containers:GetManagedEndpointSessionCredentials',
    'finspace-api:GetProgrammaticAccessCredentials',
    'bedrock-agentcore:GetWorkloadAccessToken',
    'bedrock-agentcore:GetWorkloadAccessTokenForJWT',
    'bedrock-agentcore:GetResourceOauth2Token',
    'bedrock-agentcore:GetResourceApiKey',
    's3:GetDataAccess',
    'gamelift:GetComputeAccess',
    'gamelift:GetInstanceAccess',
    'finspace-api:GetExternalDataViewAccessDetails',
    'finspace:GetKxConnectionString',
    'codepipeline:GetJobDetails',
    'codepipeline:GetThirdPartyJobDetails',
    'athena:GetSessionEndpoint',
    'emr-serverless:GetSessionEndpoint',
    'kinesisvideo:GetIceServerConfig',
    // Passwords, keys and secrets under other names.
    'ec2:GetPasswordData',
    'ec2:GetVpnConnectionDeviceSampleConfiguration',
    'lightsail:GetInstanceAccessDetails',
    'lightsail:GetRelationalDatabaseMasterUserPassword',
    'pca-connector-scep:GetChallengePassword',
    'storagegateway:DescribeChapCredentials',
    'glue:GetConnection',
    'glue:GetConnections',
    'datazone:GetConnection',
    'ivs:GetStreamKey',
    'ivs:BatchGetStreamKey',
    'ivs:GetIngestConfiguration',
    'chime:GetAttendee',
    'chime:ListAttendees',
    'appsync:ListApiKeys',
    'apigateway:GetApiKey',
    'apigateway:GetApiKeys',
    'apigateway:GetUsagePlanKeys',
    'geo:DescribeKey',
    'managedblockchain:GetAccessor',
    'snowball:GetJobUnlockCode',
    // Links that work without Gatehouse.
    'ecr:GetDownloadUrlForLayer',
    'quicksight:GetDashboardEmbedUrl',
    'quicksight:GetSessionEmbedUrl',
    'aws-marketplace:GetBuyerDashboard',
    'elasticmapreduce:GetOnClusterAppUIPresignedURL',
    'elasticmapreduce:GetPersistentAppUIPresignedURL',
    'emr-serverless:GetDashboardForJobRun',
    'emr-serverless:GetResourceDashboard',
    'athena:GetResourceDashboard',
    'kinesisvideo:GetHLSStreamingSessionURL',
    'kinesisvideo:GetDASHStreamingSessionURL',
    'datazone:GetIamPortalLoginUrl',
    'm2:GetSignedBluinsightsUrl',
    'cloudshell:GetFileDownloadUrls',
    'cloudshell:GetFileUploadUrls',
    'auditmanager:GetEvidenceFileUploadUrl',
    'auditmanager:GetAssessmentReportUrl',
    'security-ir:GetCaseAttachmentDownloadUrl',
    'security-ir:GetCaseAttachmentUploadUrl',
    'mechanicalturk:GetFileUploadURL',
    'profile:GetUploadJobPath',
    'groundstation:GetAgentTaskResponseUrl',
    'lex:GetTestExecutionArtifactsUrl',
    'amplify:GetArtifactUrl',
    'gamelift:GetGameSessionLogUrl',
    'connect:GetAttachedFile',
    'qbusiness:GetDocumentContent',
    'ses:GetArchiveMessage',
    'invoicing:GetInvoicePDF',
    'snowball:GetJobManifest',
  ])('%s hands out a credential or a link: reviewed, not a read (class 159)', (operation) => {
    expect(decider.decide(agent, op(operation))).toMatchObject({
      effect: 'review',
      ruleId: 'aws-agents-review-secret-reads',
    });
  });

  it.each([
    'states:GetActivityTask',
    'cognito-identity:GetId',
    'cognito-idp:GetUserAttributeVerificationCode',
    'sagemaker:GetScalingConfigurationRecommendation',
  ])('%s acts: reviewed, not a read (class 159)', (operation) => {
    expect(decider.decide(agent, op(operation))).toMatchObject({
      effect: 'review',
      ruleId: 'aws-agents-review-reads-that-act',
    });
  });

  // The families (`*:Get*Token`, `*:Get*Credentials*`) and globs must not take ordinary reads.
  it.each([
    'sqs:GetQueueUrl',
    'sqs:GetQueueAttributes',
    'iam:GetCredentialReport',
    'iam:GetAccountPasswordPolicy',
    'iam:GetLoginProfile',
    'kms:GetPublicKey',
    'kms:DescribeKey',
    'ecr:BatchGetImage',
    'ecr:DescribeImages',
    'states:DescribeActivity',
    'states:DescribeExecution',
    'redshift:DescribeClusters',
    'glue:GetTable',
    'glue:DescribeConnectionType',
    'kinesis:GetRecords',
    'kinesis:GetShardIterator',
    'bedrock-agentcore:GetTokenVault',
    'bedrock-agentcore:GetApiKeyCredentialProvider',
    'chime:ListAttendeeTags',
    'lambda:GetFunction',
  ])('%s stays an ordinary read', (operation) => {
    expect(decider.decide(agent, op(operation))).toMatchObject({
      effect: 'allow',
      ruleId: 'aws-agents-allow-reads',
    });
  });

  it('gives every read exception a reason, and makes each one reviewed', () => {
    const reads = AWS_READS.map(compileGlob);
    for (const e of AWS_READ_EXCEPTIONS) {
      expect(e.why.length, e.operation).toBeGreaterThan(5);
      expect(e.operation, e.operation).toMatch(/^[a-z0-9*-]+:[A-Za-z0-9*]+$/);
      // An example name the entry matches: the glob's stars read as nothing or as "X".
      const example = e.operation.replace(/^\*:/, 'anyservice:').replace(/\*/g, 'X');
      expect(decider.decide(agent, op(example)), e.operation).toMatchObject({
        effect: 'review',
        ruleId: e.kind === 'acts' ? 'aws-agents-review-reads-that-act' : 'aws-agents-review-secret-reads',
      });
      if (/^[a-z0-9*-]+:(Get|List|Describe|BatchGet)/.test(e.operation))
        expect(
          reads.some((g) => g(example.toLowerCase())),
          e.operation,
        ).toBe(true);
    }
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
