// The shipped default policy for AI agents on AWS connections (issue 8 §2), documented in docs/aws.md:
// reads and lists allowed; writes reviewed; deleting buckets, tables and functions, IAM and KMS key
// changes, and turning CloudTrail off denied. Plain config data, evaluated like any written policy.

import type { ReviewMode } from '../core/decision.js';
import type { PolicyConfig, RuleConfig } from '../config/policy-schema.js';

export interface DefaultAwsPolicyOptions {
  /** Groups treated as agents besides agent principals (default `ai-agents`). */
  readonly agentGroups?: readonly string[];
  /** Groups of people with broad AWS rights (default `aws-admins`). */
  readonly adminGroups?: readonly string[];
  /** Approval rule name put on every review rule. */
  readonly approval?: string;
  /** Review mode for every review rule (default hold). */
  readonly mode?: ReviewMode;
  /** Masking obligation on what agents may do: with it, S3 object bodies are scanned too. */
  readonly mask?: boolean | string;
}

/** Deleting the containers of data: buckets, tables, functions. */
export const AWS_DESTRUCTIVE_DELETES: readonly string[] = [
  's3:DeleteBucket',
  'dynamodb:DeleteTable',
  'lambda:DeleteFunction',
];

/** Every IAM operation that changes something (IAM reads are Get*, List*, Generate*, Simulate*). */
export const AWS_IAM_CHANGES: readonly string[] = [
  'iam:Add*',
  'iam:Attach*',
  'iam:Change*',
  'iam:Create*',
  'iam:Deactivate*',
  'iam:Delete*',
  'iam:Detach*',
  'iam:Enable*',
  'iam:Put*',
  'iam:Remove*',
  'iam:Reset*',
  'iam:Resync*',
  'iam:Set*',
  'iam:Tag*',
  'iam:Untag*',
  'iam:Update*',
  'iam:Upload*',
];

/** KMS key changes: creating, disabling, scheduling deletion, changing policy, grants or material. */
export const AWS_KMS_KEY_CHANGES: readonly string[] = [
  'kms:Cancel*',
  'kms:Connect*',
  'kms:Create*',
  'kms:Delete*',
  'kms:Disable*',
  'kms:Disconnect*',
  'kms:Enable*',
  'kms:Import*',
  'kms:Put*',
  'kms:Replicate*',
  'kms:RetireGrant',
  'kms:RevokeGrant',
  'kms:RotateKeyOnDemand',
  'kms:ScheduleKeyDeletion',
  'kms:Tag*',
  'kms:Untag*',
  'kms:Update*',
];

/** Turning the audit trail off or down. */
export const AWS_CLOUDTRAIL_DISABLE: readonly string[] = [
  'cloudtrail:DeleteTrail',
  'cloudtrail:StopLogging',
  'cloudtrail:UpdateTrail',
  'cloudtrail:PutEventSelectors',
  'cloudtrail:PutInsightSelectors',
  'cloudtrail:DeleteEventDataStore',
  'cloudtrail:UpdateEventDataStore',
  'cloudtrail:StopEventDataStoreIngestion',
];

/** Reads that hand out secrets or credentials: reviewed although they are Get*. */
export const AWS_SECRET_READS: readonly string[] = [
  'secretsmanager:GetSecretValue',
  'secretsmanager:BatchGetSecretValue',
  // GetParameter, GetParameters, GetParametersByPath, and GetParameterHistory: every past value of a
  // SecureString, decrypted on request (docs/security.md, class 58).
  'ssm:GetParameter*',
  // Just-in-time node access: temporary AWS credentials.
  'ssm:GetAccessToken',
  'kms:Decrypt',
  'kms:GenerateDataKey*',
  'sts:AssumeRole*',
  // GetSessionToken, GetFederationToken, GetDelegatedAccessToken (credentials), GetWebIdentityToken (a
  // JWT other services accept as the gateway's own AWS identity).
  'sts:Get*Token',
];

/**
 * Handing a role to a service (decided with the request that does it, src/engines/http/aws/passed-roles.ts):
 * the service then acts as the role, which can do more than the agent. Reviewed.
 */
export const AWS_ROLE_PASSES: readonly string[] = ['iam:PassRole'];

/**
 * Handing another principal instructions it runs with its own credentials (shell commands on an
 * instance, an automation's steps, a login key): the agent acts as that principal, on whatever it may
 * touch (docs/security.md, class 127). Reviewed under their own rule, not as ordinary writes.
 */
export const AWS_REMOTE_INSTRUCTIONS: readonly string[] = [
  'ssm:SendCommand',
  'ssm:StartAutomationExecution',
  'ssm:StartChangeRequestExecution',
  'ssm:StartSession',
  'ecs:ExecuteCommand',
  'ec2-instance-connect:SendSSHPublicKey',
  'ec2-instance-connect:SendSerialConsoleSSHPublicKey',
];

/** Reads and lists. */
export const AWS_READS: readonly string[] = [
  '*:Get*',
  '*:List*',
  '*:Describe*',
  '*:Head*',
  '*:BatchGet*',
  's3:SelectObjectContent',
  'dynamodb:Query',
  'dynamodb:Scan',
  'dynamodb:TransactGetItems',
  'logs:FilterLogEvents',
  'cloudtrail:LookupEvents',
];

/** Operation verbs that change something: reviewed. Anything matching none of these lists is denied. */
export const AWS_WRITES: readonly string[] = [
  '*:Abort*',
  '*:Accept*',
  '*:Add*',
  '*:Apply*',
  '*:Associate*',
  '*:Attach*',
  '*:Authorize*',
  '*:BatchDelete*',
  '*:BatchExecute*',
  '*:BatchPut*',
  '*:BatchUpdate*',
  '*:BatchWrite*',
  '*:Cancel*',
  '*:Change*',
  '*:Complete*',
  '*:Copy*',
  '*:Create*',
  '*:Delete*',
  '*:Deregister*',
  '*:Detach*',
  '*:Disable*',
  '*:Disassociate*',
  '*:Enable*',
  '*:Execute*',
  '*:Import*',
  '*:Invoke*',
  '*:Modify*',
  '*:Publish*',
  '*:Purge*',
  '*:Put*',
  '*:Reboot*',
  '*:Receive*',
  '*:Register*',
  '*:Remove*',
  '*:Reset*',
  '*:Restore*',
  '*:Revoke*',
  '*:Run*',
  '*:Send*',
  '*:Set*',
  '*:Start*',
  '*:Stop*',
  '*:Tag*',
  '*:Terminate*',
  '*:TransactWrite*',
  '*:Untag*',
  '*:Update*',
  '*:Upload*',
];

export function defaultAwsPolicies(
  connections: readonly string[],
  options: DefaultAwsPolicyOptions = {},
): PolicyConfig[] {
  const review = {
    ...(options.mode === undefined ? {} : { mode: options.mode }),
    ...(options.approval === undefined ? {} : { approval: options.approval }),
  };
  const mask = options.mask === undefined ? {} : { mask: options.mask };
  const denyOps = (id: string, operations: readonly string[], message: string): RuleConfig => ({
    id,
    effect: 'deny',
    match: { operations: [...operations] },
    message,
  });
  const agents: PolicyConfig = {
    id: 'aws-agents',
    description: 'Default guardrails for AI agents on AWS: read freely, review changes, never destroy.',
    subjects: [{ agent: true }, { groups: [...(options.agentGroups ?? ['ai-agents'])] }],
    connections: [...connections],
    rules: [
      denyOps(
        'aws-agents-no-destructive-delete',
        AWS_DESTRUCTIVE_DELETES,
        '{kind} is refused by rule {rule}: deleting a bucket, table or function destroys everything in it. Ask a person with AWS admin rights.',
      ),
      denyOps(
        'aws-agents-no-iam-changes',
        AWS_IAM_CHANGES,
        '{kind} is refused by rule {rule}: agents may read IAM but not change users, roles, policies or keys. Ask a person with AWS admin rights.',
      ),
      denyOps(
        'aws-agents-no-kms-key-changes',
        AWS_KMS_KEY_CHANGES,
        '{kind} is refused by rule {rule}: agents may not create, disable, delete or re-permission KMS keys. Ask a person with AWS admin rights.',
      ),
      denyOps(
        'aws-agents-no-cloudtrail-disable',
        AWS_CLOUDTRAIL_DISABLE,
        '{kind} is refused by rule {rule}: the audit trail may not be stopped, deleted or narrowed by an agent.',
      ),
      {
        id: 'aws-agents-review-secret-reads',
        effect: 'review',
        match: { operations: [...AWS_SECRET_READS] },
        ...review,
        ...mask,
      },
      {
        id: 'aws-agents-review-role-passes',
        effect: 'review',
        match: { operations: [...AWS_ROLE_PASSES] },
        ...review,
      },
      {
        id: 'aws-agents-review-remote-commands',
        effect: 'review',
        match: { operations: [...AWS_REMOTE_INSTRUCTIONS] },
        ...review,
      },
      {
        id: 'aws-agents-review-writes',
        effect: 'review',
        match: { operations: [...AWS_WRITES] },
        ...review,
        ...mask,
      },
      { id: 'aws-agents-allow-reads', effect: 'allow', match: { operations: [...AWS_READS] }, ...mask },
    ],
  };
  const admins: PolicyConfig = {
    id: 'aws-admins',
    description:
      'People in the AWS admin group keep broad rights; destructive deletes still need a second person.',
    subjects: { groups: [...(options.adminGroups ?? ['aws-admins'])], agent: false },
    connections: [...connections],
    rules: [
      {
        id: 'aws-admins-review-destructive',
        effect: 'review',
        match: { operations: [...AWS_DESTRUCTIVE_DELETES, ...AWS_CLOUDTRAIL_DISABLE] },
        ...review,
      },
      { id: 'aws-admins-allow-all', effect: 'allow', match: { operations: ['*'] } },
    ],
  };
  return [agents, admins];
}
