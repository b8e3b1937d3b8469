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

/**
 * Why a read is an exception: `secret` hands out a secret, a credential, or a link or token that works
 * without Gatehouse (reviewed with the secret reads); `acts` changes something or takes work another
 * principal waits for (reviewed under its own rule, as a write is).
 */
export type AwsReadExceptionKind = 'secret' | 'acts';

export interface AwsReadException {
  /** `service:Operation` (IAM prefix), `*` globs allowed, matched case-insensitively. */
  readonly operation: string;
  readonly kind: AwsReadExceptionKind;
  /** One line: what it does that a read does not. */
  readonly why: string;
}

/**
 * Operations that read, most of them named like reads (`Get*`, `List*`, `Describe*`, `BatchGet*`, which
 * `AWS_READS` allows), that hand out secrets or credentials or that act (docs/security.md, classes 58
 * and 159). Reviewed, never allowed as reads.
 *
 * Found by going through every operation so named in the botocore service models (botocore 1.43, 7,681
 * operations in 428 services: the ones whose answer holds a credential, a password, a token or a
 * presigned or sign-in link, and the ones whose documentation says they create, send, start, consume or
 * invalidate something), not one service at a time. The AWS SDK v3 clients installed here cover only
 * S3, DynamoDB, IAM, Lambda and STS; the rest is from the service models and the AWS API Reference, and
 * CloudShell (no public SDK model) from the IAM Service Authorization Reference. Most of these services
 * are not classified by Gatehouse yet (their requests are refused as `aws-unknown-operation`); they
 * are listed so that classifying one never allows them as reads.
 *
 * Read on purpose, not listed: a secret incidental to a description (a Glue job's arguments, a task
 * definition's environment, Amplify's basic-auth credentials) is the masking's to hide; a presigned
 * link incidental to a description (lambda:GetFunction's `Code.Location`); reads that cost money or
 * throughput but change nothing (Cost Explorer, kinesis:GetRecords, which consumes nothing);
 * iot:DescribeEndpoint and iot:GetRegistrationCode, which create the account's one endpoint or code on
 * first use, the same every time after. `Poll*` (swf:PollForActivityTask, codepipeline:PollForJobs)
 * matches no list and is denied; sqs:ReceiveMessage is a write (`*:Receive*`).
 */
export const AWS_READ_EXCEPTIONS: readonly AwsReadException[] = [
  // Families: every operation so named hands out a credential, and so will later ones (the one
  // exception today, WAF Classic's GetChangeToken, comes before a WAF change, itself reviewed).
  {
    operation: '*:Get*Token',
    kind: 'secret',
    why: 'a token: sts GetSessionToken/GetFederationToken/GetWebIdentityToken, ecr, ecr-public and codeartifact GetAuthorizationToken, ssm and license-manager GetAccessToken, cognito GetOpenIdToken, redshift GetIdentityCenterAuthToken',
  },
  {
    operation: '*:Get*Credentials*',
    kind: 'secret',
    why: 'temporary credentials: redshift GetClusterCredentials (with AutoCreate it creates the database user, DbGroups joins it to groups), redshift-serverless GetCredentials, cognito-identity GetCredentialsForIdentity, sso GetRoleCredentials, lakeformation GetTemporary*Credentials, datazone GetEnvironmentCredentials',
  },
  // Secrets and the key to them.
  { operation: 'secretsmanager:GetSecretValue', kind: 'secret', why: 'the secret' },
  { operation: 'secretsmanager:BatchGetSecretValue', kind: 'secret', why: 'secrets, many at once' },
  {
    operation: 'ssm:GetParameter*',
    kind: 'secret',
    why: 'a SecureString decrypted on request, GetParameterHistory every past value of it (class 58)',
  },
  { operation: 'kms:Decrypt', kind: 'secret', why: 'plaintext of anything encrypted under the key' },
  { operation: 'kms:GenerateDataKey*', kind: 'secret', why: 'a data key, in plaintext' },
  { operation: 'sts:AssumeRole*', kind: 'secret', why: "the role's temporary credentials" },
  // Operations that return a password, a key or a token under another name.
  {
    operation: 'cognito-identity:GetOpenIdTokenForDeveloperIdentity',
    kind: 'secret',
    why: 'an OpenID token for an identity (and links the logins given to it)',
  },
  {
    operation: 'bedrock-agentcore:GetWorkloadAccessTokenFor*',
    kind: 'secret',
    why: "a workload's access token for a user",
  },
  {
    operation: 'bedrock-agentcore:GetResourceApiKey',
    kind: 'secret',
    why: 'an API key from the token vault',
  },
  {
    operation: 'lightsail:GetRelationalDatabaseMasterUserPassword',
    kind: 'secret',
    why: "the database's master password",
  },
  {
    operation: 'lightsail:GetInstanceAccessDetails',
    kind: 'secret',
    why: 'a temporary SSH key or RDP password for the instance',
  },
  {
    operation: 'ec2:GetPasswordData',
    kind: 'secret',
    why: "a Windows instance's administrator password (encrypted to its key pair)",
  },
  {
    operation: 'ec2:GetVpnConnectionDeviceSampleConfiguration',
    kind: 'secret',
    why: "the VPN tunnels' pre-shared keys, in a device configuration",
  },
  {
    operation: 'pca-connector-scep:GetChallengePassword',
    kind: 'secret',
    why: 'the SCEP challenge password that gets certificates issued',
  },
  {
    operation: 'storagegateway:DescribeChapCredentials',
    kind: 'secret',
    why: "the iSCSI targets' CHAP secrets",
  },
  { operation: 's3:GetDataAccess', kind: 'secret', why: 'temporary credentials from S3 Access Grants' },
  {
    operation: 'gamelift:GetComputeAccess',
    kind: 'secret',
    why: 'temporary credentials to a fleet compute',
  },
  {
    operation: 'gamelift:GetInstanceAccess',
    kind: 'secret',
    why: 'an SSH key or password for a fleet instance',
  },
  {
    operation: 'finspace-api:GetExternalDataViewAccessDetails',
    kind: 'secret',
    why: "temporary credentials to a data view's S3 location",
  },
  {
    operation: 'finspace:GetKxConnectionString',
    kind: 'secret',
    why: 'a signed connection string to a kdb cluster',
  },
  {
    operation: 'codepipeline:Get*JobDetails',
    kind: 'secret',
    why: "temporary credentials to the pipeline's artifact bucket, and the action's secret values",
  },
  {
    operation: 'athena:GetSessionEndpoint',
    kind: 'secret',
    why: "an authentication token for a Spark session's endpoint",
  },
  {
    operation: 'emr-serverless:GetSessionEndpoint',
    kind: 'secret',
    why: "an authentication token for a session's endpoint",
  },
  {
    operation: 'datazone:GetConnection',
    kind: 'secret',
    why: "the connection's credentials (withSecret)",
  },
  {
    operation: 'glue:GetConnection',
    kind: 'secret',
    why: "the connection's stored password, unless HidePassword is set",
  },
  {
    operation: 'glue:GetConnections',
    kind: 'secret',
    why: "every connection's stored password, unless HidePassword is set",
  },
  {
    operation: 'kinesisvideo:GetIceServerConfig',
    kind: 'secret',
    why: "a TURN server's user name and password",
  },
  { operation: 'ivs:*GetStreamKey', kind: 'secret', why: 'the key that broadcasts to a channel' },
  {
    operation: 'ivs:GetIngestConfiguration',
    kind: 'secret',
    why: 'the stream key that publishes to a stage',
  },
  {
    operation: 'chime:GetAttendee',
    kind: 'secret',
    why: "the attendee's join token, which joins the meeting as them",
  },
  {
    operation: 'chime:ListAttendees',
    kind: 'secret',
    why: "each attendee's join token, which joins the meeting as them",
  },
  {
    operation: 'appsync:ListApiKeys',
    kind: 'secret',
    why: "the API keys (an AppSync key's id is the key)",
  },
  {
    operation: 'apigateway:Get*ApiKey*',
    kind: 'secret',
    why: 'API key values (GetApiKey and GetApiKeys with includeValue)',
  },
  {
    operation: 'apigateway:GetUsagePlanKey*',
    kind: 'secret',
    why: "the values of a usage plan's API keys",
  },
  { operation: 'geo:DescribeKey', kind: 'secret', why: 'the Location Service API key' },
  {
    operation: 'managedblockchain:GetAccessor',
    kind: 'secret',
    why: "the accessor's billing token, which reaches the Ethereum nodes",
  },
  {
    operation: 'snowball:GetJobUnlockCode',
    kind: 'secret',
    why: "the code that unlocks the job's device",
  },
  // Links that work without Gatehouse: presigned, embedding or sign-in URLs. What is fetched or done
  // through them is neither decided nor masked nor recorded.
  {
    operation: 'quicksight:Get*EmbedUrl',
    kind: 'secret',
    why: 'a session URL (bearer) into a dashboard or the console',
  },
  {
    operation: 'aws-marketplace:GetBuyerDashboard',
    kind: 'secret',
    why: 'an embedding URL for a dashboard',
  },
  {
    operation: 'elasticmapreduce:Get*PresignedURL',
    kind: 'secret',
    why: "a presigned URL into a cluster's application UIs",
  },
  {
    operation: 'emr-serverless:GetDashboardForJobRun',
    kind: 'secret',
    why: "a URL into a job run's application UIs",
  },
  {
    operation: 'emr-serverless:GetResourceDashboard',
    kind: 'secret',
    why: "a URL into a resource's application UIs",
  },
  { operation: 'athena:GetResourceDashboard', kind: 'secret', why: "a URL into a session's Spark UI" },
  {
    operation: 'kinesisvideo:Get*StreamingSessionURL',
    kind: 'secret',
    why: 'an HLS or DASH URL that plays the stream',
  },
  {
    operation: 'datazone:GetIamPortalLoginUrl',
    kind: 'secret',
    why: "a sign-in URL to the domain's portal",
  },
  { operation: 'm2:GetSignedBluinsightsUrl', kind: 'secret', why: 'a sign-on URL to Blu Insights' },
  {
    operation: 'ecr:GetDownloadUrlForLayer',
    kind: 'secret',
    why: "a presigned URL to an image layer's content",
  },
  {
    operation: 'cloudshell:GetFile*Urls',
    kind: 'secret',
    why: 'presigned URLs that download from, or upload to, a CloudShell environment (IAM action; no SDK model)',
  },
  {
    operation: 'auditmanager:GetEvidenceFileUploadUrl',
    kind: 'secret',
    why: 'a presigned URL that uploads evidence',
  },
  {
    operation: 'auditmanager:GetAssessmentReportUrl',
    kind: 'secret',
    why: 'a presigned URL to an assessment report',
  },
  {
    operation: 'security-ir:GetCaseAttachment*Url',
    kind: 'secret',
    why: "a presigned URL to a case's attachment, or that uploads one",
  },
  {
    operation: 'mechanicalturk:GetFileUploadURL',
    kind: 'secret',
    why: "a URL to a worker's uploaded answer",
  },
  {
    operation: 'profile:GetUploadJobPath',
    kind: 'secret',
    why: 'a presigned URL and client token that upload profiles',
  },
  {
    operation: 'groundstation:GetAgentTaskResponseUrl',
    kind: 'secret',
    why: 'a presigned URL that uploads task logs',
  },
  {
    operation: 'lex:GetTestExecutionArtifactsUrl',
    kind: 'secret',
    why: "a presigned URL to a test run's artifacts",
  },
  { operation: 'amplify:GetArtifactUrl', kind: 'secret', why: 'a presigned URL to a build artifact' },
  {
    operation: 'gamelift:GetGameSessionLogUrl',
    kind: 'secret',
    why: "a presigned URL to a game session's logs",
  },
  {
    operation: 'connect:GetAttachedFile',
    kind: 'secret',
    why: 'a presigned URL to an attached file',
  },
  {
    operation: 'qbusiness:GetDocumentContent',
    kind: 'secret',
    why: 'a presigned URL to an indexed document',
  },
  {
    operation: 'ses:GetArchiveMessage',
    kind: 'secret',
    why: 'a presigned URL to an archived email (Mail Manager)',
  },
  {
    operation: 'invoicing:GetInvoicePDF',
    kind: 'secret',
    why: 'presigned URLs to the invoice documents',
  },
  {
    operation: 'snowball:GetJobManifest',
    kind: 'secret',
    why: "a presigned URL to the manifest that, with the unlock code, opens the job's device",
  },
  // Reads that change something, or take work another principal waits for.
  {
    operation: 'states:GetActivityTask',
    kind: 'acts',
    why: 'dequeues an activity task, as sqs:ReceiveMessage does: the worker it was for never gets it',
  },
  {
    operation: 'cognito-identity:GetId',
    kind: 'acts',
    why: 'creates an identity in the pool, and links the logins given to it',
  },
  {
    operation: 'cognito-idp:GetUserAttributeVerificationCode',
    kind: 'acts',
    why: 'sends the user a verification code by SMS or email',
  },
  {
    operation: 'sagemaker:GetScalingConfigurationRecommendation',
    kind: 'acts',
    why: 'starts an Inference Recommender job',
  },
];

const readExceptions = (kind: AwsReadExceptionKind): readonly string[] =>
  AWS_READ_EXCEPTIONS.filter((e) => e.kind === kind).map((e) => e.operation);

/** Reads that hand out secrets, credentials or links that work without Gatehouse: reviewed although they are Get*. */
export const AWS_SECRET_READS: readonly string[] = readExceptions('secret');

/** Reads that change something or take work from another principal: reviewed as writes are. */
export const AWS_READS_THAT_ACT: readonly string[] = readExceptions('acts');

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
  // The same commands run later, on a schedule or as a state to keep (class 322).
  'ssm:CreateAssociation',
  'ssm:CreateAssociationBatch',
  'ssm:UpdateAssociation',
  'ssm:StartAssociationsOnce',
  'ssm:RegisterTaskWithMaintenanceWindow',
  'ssm:UpdateMaintenanceWindowTask',
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
        id: 'aws-agents-review-reads-that-act',
        effect: 'review',
        match: { operations: [...AWS_READS_THAT_ACT] },
        ...review,
        ...mask,
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
