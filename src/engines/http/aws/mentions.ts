// Every name an AWS request's parameters hold, for deny and review rules on resources.
//
// Gatehouse reads a request's own resource from the parameters each service defines for it (a JSON
// body's SecretId, TableName…; a query request's RoleName, QueueUrl…). A parameter outside those lists
// names a resource just as well to the service: Secrets Manager's BatchGetSecretValue reads
// `SecretIdList`, DynamoDB's RestoreTableFromBackup a `BackupArn` of another table, KMS's ReEncrypt a
// `DestinationKeyId`. A deny of `prod/*` never saw them (docs/security.md, class 70). So every string
// a request's parameters hold — but the item, message and secret data a request carries, which no
// service reads as a name — goes to deny and review rules as a name it mentions (policy-decider.ts),
// in every spelling that may name a resource (policy/aws-resource-names.ts). Allow rules do not look at
// them: an allow still needs the request's own resource.

/** More strings than this, or nesting deeper, and deny and review rules on resources match. */
export const MAX_MENTIONS = 2000;
export const MAX_DEPTH = 64;
export const MAX_LENGTH = 2048;

/**
 * Parameters that carry data, not names: DynamoDB items, keys and expression values, a secret's value,
 * messages and records, a parameter's value, plaintext and ciphertext, tags and descriptions.
 */
const DATA_KEYS: ReadonlySet<string> = new Set([
  'Item',
  'Key',
  'Keys',
  'ExclusiveStartKey',
  'ExpressionAttributeValues',
  'ExpressionAttributeNames',
  'ConditionExpression',
  'KeyConditionExpression',
  'FilterExpression',
  'ProjectionExpression',
  'UpdateExpression',
  'Statement',
  'Parameters',
  'SecretString',
  'SecretBinary',
  'MessageBody',
  'MessageAttributes',
  'MessageAttribute',
  'MessageSystemAttributes',
  'Message',
  'Subject',
  'Data',
  'Records',
  'logEvents',
  'Value',
  'Plaintext',
  'CiphertextBlob',
  'Tags',
  'Tag',
  'TagList',
  'tags',
  'Description',
  'description',
]);

/** The strings of a JSON request's body outside its data, or `too-many`. */
export function mentionsInJson(body: Record<string, unknown>): readonly string[] | 'too-many' {
  const out: string[] = [];
  const walk = (v: unknown, depth: number): boolean => {
    if (depth > MAX_DEPTH) return false;
    if (typeof v === 'string') {
      if (v.length <= MAX_LENGTH) out.push(v);
      else out.push(v.slice(0, MAX_LENGTH));
      return out.length <= MAX_MENTIONS;
    }
    if (Array.isArray(v)) return v.every((x) => walk(x, depth + 1));
    if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        if (DATA_KEYS.has(k)) continue;
        if (!walk(x, depth + 1)) return false;
      }
    }
    return out.length <= MAX_MENTIONS;
  };
  return walk(body, 0) ? dedupe(out) : 'too-many';
}

/** The values of a query request's parameters outside its data (`MessageBody`, `Tags.member.1.Value`…), or `too-many`. */
export function mentionsInQuery(params: ReadonlyMap<string, string>): readonly string[] | 'too-many' {
  const out: string[] = [];
  for (const [name, value] of params) {
    if (name === 'Action' || name === 'Version') continue;
    if (name.split('.').some((part) => DATA_KEYS.has(part))) continue;
    out.push(value.length <= MAX_LENGTH ? value : value.slice(0, MAX_LENGTH));
    if (out.length > MAX_MENTIONS) return 'too-many';
  }
  return dedupe(out);
}

function dedupe(xs: readonly string[]): string[] {
  return [...new Set(xs.filter((x) => x !== ''))];
}

/**
 * The name prefixes a request reads every resource under, where it selects them rather than names
 * them: SSM's GetParametersByPath reads (and decrypts) every parameter under its `Path`, Secrets
 * Manager's BatchGetSecretValue with `Filters` every secret whose name, description or tags match
 * (prefix matches, not case-sensitive: `''`, any name), and KMS's Decrypt without `KeyId` the key its
 * ciphertext names (`''`: any KMS key). Deny and review rules on resources match a
 * request that may read one of theirs (policy-decider.ts).
 */
/**
 * Operations whose caller-written instructions another principal runs with its own credentials: shell
 * commands on an instance (SendCommand, a Session Manager or ECS exec shell, an SSH key pushed for a
 * login), an automation's steps. What those instructions touch is the other principal's to do and is
 * not in the request in any form Gatehouse can read (a command can build any name), so they select
 * every resource of every service: every deny or review rule on resources applies (docs/security.md,
 * class 127). Payloads handed to code already deployed (a Lambda invocation, a Step Functions input,
 * an event, a message) are data, not instructions (docs/aws.md, §Instructions and data).
 *
 * A CloudFormation template is instructions too, run by CloudFormation with the caller's credentials
 * (the gateway's) or a role the request passes: every resource it creates, changes, deletes or reads
 * — a parameter typed `AWS::SSM::Parameter::Value<…>` reads the SSM parameter its value names, a
 * `{{resolve:ssm:…}}` or `{{resolve:secretsmanager:…}}` reference reads a parameter or a secret, and
 * the stack's outputs hand them back — is named in a template (in the request, in S3, or the stack's
 * earlier one) and not in any parameter Gatehouse reads as a resource. So the operations that run a
 * template, a change set or a stack's own rollback or deletion select every resource as well
 * (docs/security.md, class 321).
 */
export const REMOTE_INSTRUCTIONS: ReadonlySet<string> = new Set([
  'ssm:SendCommand',
  'ssm:StartAutomationExecution',
  'ssm:StartChangeRequestExecution',
  'ssm:StartSession',
  'ecs:ExecuteCommand',
  'ec2-instance-connect:SendSSHPublicKey',
  'ec2-instance-connect:SendSerialConsoleSSHPublicKey',
  'cloudformation:CreateStack',
  'cloudformation:UpdateStack',
  'cloudformation:DeleteStack',
  'cloudformation:CreateChangeSet',
  'cloudformation:ExecuteChangeSet',
  'cloudformation:RollbackStack',
  'cloudformation:ContinueUpdateRollback',
  'cloudformation:CancelUpdateStack',
  'cloudformation:CreateStackSet',
  'cloudformation:UpdateStackSet',
  'cloudformation:CreateStackInstances',
  'cloudformation:UpdateStackInstances',
  'cloudformation:DeleteStackInstances',
  'cloudformation:ImportStacksToStackSet',
  // Commands an instance runs later, on a schedule or as a state to keep, as its role; the caller
  // writes them (a document's parameters) as for SendCommand (class 322).
  'ssm:CreateAssociation',
  'ssm:CreateAssociationBatch',
  'ssm:UpdateAssociation',
  'ssm:StartAssociationsOnce',
  'ssm:RegisterTaskWithMaintenanceWindow',
  'ssm:UpdateMaintenanceWindowTask',
  // SQL and notebook code Athena runs with the caller's credentials: a query names S3 locations and
  // tables inside its text (`CREATE EXTERNAL TABLE … LOCATION 's3://vault/'`, `UNLOAD … TO`), which
  // Gatehouse does not read as names (class 323).
  'athena:StartQueryExecution',
  'athena:StartCalculationExecution',
  // Code a service runs at once as a role and answers with: Step Functions' TestState runs the
  // caller's state definition (an `aws-sdk:` task calls any API, with names an intrinsic function
  // builds) as the role the request passes; a Glue interactive session runs the caller's Python or
  // Scala statement as the session's role, and GetStatement returns what it printed (class 369).
  'states:TestState',
  'glue:RunStatement',
]);

/**
 * Glue's special job parameters that say which code a run executes: a script, libraries, Python
 * modules (installed from where the caller says), Spark settings and the main class (class 323).
 */
const GLUE_CODE_ARGUMENTS =
  /^--(?:scriptlocation|extra-py-files|extra-jars|extra-files|additional-python-modules|python-modules-installer-option|user-jars-first|conf|class|job-language|packaged-libraries)$/i;

/**
 * A task or a build run as deployed is code someone else wrote, decided on its names; one whose
 * command, environment, source or buildspec the caller writes runs the caller's instructions as the
 * task's or the project's role (class 322). ECS RunTask and StartTask: a container override's
 * `command`, `environment` or `environmentFiles`. CodeBuild StartBuild and StartBuildBatch: any
 * parameter but these, which change where a build runs or what it keeps, not what it runs. An
 * EventBridge target that runs an SSM document or automation, an ECS task, a Batch job or a build.
 */
const BUILD_SETTINGS: ReadonlySet<string> = new Set([
  'projectName',
  'idempotencyToken',
  'timeoutInMinutesOverride',
  'queuedTimeoutInMinutesOverride',
  'computeTypeOverride',
  'artifactsOverride',
  'secondaryArtifactsOverride',
  'logsConfigOverride',
  'reportBuildStatusOverride',
  'buildStatusConfigOverride',
  'cacheOverride',
  'encryptionKeyOverride',
  'fleetOverride',
  'autoRetryLimitOverride',
  'buildBatchConfigOverride',
]);

function runsCallersInstructions(operation: string, body: Record<string, unknown>): boolean {
  if (operation === 'ecs:RunTask' || operation === 'ecs:StartTask') {
    const overrides = body['overrides'];
    if (overrides === undefined || overrides === null) return false;
    if (typeof overrides !== 'object') return true;
    const containers = (overrides as Record<string, unknown>)['containerOverrides'];
    if (containers === undefined) return false;
    if (!Array.isArray(containers)) return true;
    return containers.some(
      (c) =>
        c === null ||
        typeof c !== 'object' ||
        ['command', 'environment', 'environmentFiles'].some(
          (k) => (c as Record<string, unknown>)[k] !== undefined,
        ),
    );
  }
  if (operation === 'codebuild:StartBuild' || operation === 'codebuild:StartBuildBatch')
    return Object.keys(body).some((k) => !BUILD_SETTINGS.has(k));
  // A Glue job run told to execute another script or other libraries than its job's.
  if (operation === 'glue:StartJobRun') {
    const args = body['Arguments'];
    if (args === undefined || args === null) return false;
    if (typeof args !== 'object' || Array.isArray(args)) return true;
    return Object.keys(args).some((k) => GLUE_CODE_ARGUMENTS.test(k.trim()));
  }
  // An EventBridge rule's target that runs commands when the rule fires: an SSM document or
  // automation (its input is the document's parameters: the commands), an ECS task, a Batch job or a
  // CodeBuild build (its input overrides what the task, job or build runs).
  if (operation === 'events:PutTargets') {
    const targets = body['Targets'];
    if (targets === undefined) return false;
    if (!Array.isArray(targets)) return true;
    return targets.some((t) => {
      if (t === null || typeof t !== 'object') return true;
      const target = t as Record<string, unknown>;
      const arn = typeof target['Arn'] === 'string' ? target['Arn'] : '';
      return (
        ['RunCommandParameters', 'EcsParameters', 'BatchParameters'].some((k) => target[k] !== undefined) ||
        /^arn:[^:]*:(?:ssm|codebuild|ecs|batch):/.test(arn)
      );
    });
  }
  return false;
}

/** The selection of every resource of every service (REMOTE_INSTRUCTIONS). */
export const ANY_RESOURCE_ANYWHERE = '*';

/**
 * An EC2 instance runs its user data at boot (cloud-init: a shell script, a cloud-config's `runcmd`)
 * as root, with its instance profile's role at hand: a request that sets it hands the caller's
 * commands to that principal (class 370). RunInstances' `UserData`, a launch template's or a spot
 * request's (`LaunchTemplateData.UserData`, `LaunchSpecification.UserData`, …), ModifyInstanceAttribute's
 * `UserData.Value` or `Attribute=userData` (run at the instance's next start, as the role it has), an
 * Auto Scaling launch configuration's (run on every instance launched from it).
 */
function setsUserData(prefix: string, operation: string, params: ReadonlyMap<string, string>): boolean {
  if (prefix !== 'ec2' && prefix !== 'autoscaling') return false;
  for (const [name, value] of params) {
    if (name.split('.').some((part) => part.toLowerCase() === 'userdata')) return true;
    if (
      operation === 'ec2:ModifyInstanceAttribute' &&
      name === 'Attribute' &&
      value.toLowerCase() === 'userdata'
    )
      return true;
  }
  return false;
}

/** What a query-protocol request selects rather than names (REMOTE_INSTRUCTIONS), or undefined. */
export function selectionsInQuery(
  operation: string,
  params: ReadonlyMap<string, string> = new Map(),
): readonly string[] | undefined {
  const prefix = operation.slice(0, operation.indexOf(':'));
  return REMOTE_INSTRUCTIONS.has(operation) || setsUserData(prefix, operation, params)
    ? [ANY_RESOURCE_ANYWHERE]
    : undefined;
}

export function selectionsInJson(
  operation: string,
  body: Record<string, unknown>,
): readonly string[] | undefined {
  if (operation === 'ssm:GetParametersByPath') {
    const path = body['Path'];
    return [typeof path === 'string' ? path : ''];
  }
  if (REMOTE_INSTRUCTIONS.has(operation) || runsCallersInstructions(operation, body))
    return [ANY_RESOURCE_ANYWHERE];
  if (operation === 'secretsmanager:BatchGetSecretValue' && body['Filters'] !== undefined) return [''];
  // A symmetric ciphertext names its own key: Decrypt (and ReEncrypt's source) may leave out the key,
  // and KMS uses the one the ciphertext names, which Gatehouse cannot read (docs/security.md, class 110).
  if (operation === 'kms:Decrypt' && typeof body['KeyId'] !== 'string') return [''];
  if (operation === 'kms:ReEncrypt' && typeof body['SourceKeyId'] !== 'string') return [''];
  return undefined;
}
