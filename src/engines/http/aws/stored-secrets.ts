// The request fields whose value an AWS service keeps as a secret and never runs: a secret store's
// value (Secrets Manager's SecretString, an SSM SecureString) and a password a service sets (an IAM
// login profile, a database's master password, a Cognito user's, an ElastiCache auth token). The
// approver is shown them masked, and a masked span there may hold any character a password does; a
// masked span anywhere else that holds code makes a reviewed request refused (docs/security.md
// class 275, reviewed-body.ts httpBodyHidesCode).

const SECRET_VALUE = /^(SecretString|SecretBinary)$/;
const MASTER_PASSWORD = /^MasterUserPassword$/;
const AUTH_TOKEN = /^AuthToken$/;
const PASSWORD = /^Password$/;

/** By operation: the paths (a JSON body's top-level keys, a form's names) of its stored secrets. */
const STORED_SECRETS: Readonly<Record<string, RegExp>> = {
  'secretsmanager:CreateSecret': SECRET_VALUE,
  'secretsmanager:PutSecretValue': SECRET_VALUE,
  'secretsmanager:UpdateSecret': SECRET_VALUE,
  'iam:CreateLoginProfile': PASSWORD,
  'iam:UpdateLoginProfile': PASSWORD,
  'iam:ChangePassword': /^(OldPassword|NewPassword)$/,
  'rds:CreateDBInstance': MASTER_PASSWORD,
  'rds:ModifyDBInstance': MASTER_PASSWORD,
  'rds:CreateDBCluster': MASTER_PASSWORD,
  'rds:ModifyDBCluster': MASTER_PASSWORD,
  'redshift:CreateCluster': MASTER_PASSWORD,
  'redshift:ModifyCluster': MASTER_PASSWORD,
  'cognito-idp:AdminSetUserPassword': PASSWORD,
  'cognito-idp:SignUp': PASSWORD,
  'cognito-idp:ConfirmForgotPassword': PASSWORD,
  'cognito-idp:ChangePassword': /^(PreviousPassword|ProposedPassword)$/,
  'cognito-idp:AdminCreateUser': /^TemporaryPassword$/,
  'elasticache:CreateReplicationGroup': AUTH_TOKEN,
  'elasticache:ModifyReplicationGroup': AUTH_TOKEN,
  'elasticache:CreateCacheCluster': AUTH_TOKEN,
  'elasticache:CreateUser': /^Passwords\.member\.\d+$/,
  'elasticache:ModifyUser': /^Passwords\.member\.\d+$/,
};

function bodyType(text: string): unknown {
  try {
    const doc: unknown = JSON.parse(text);
    return typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>)['Type'] : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the value at `path` of a request of `operation` is a stored secret, for a body `text`;
 * undefined when the operation stores none. An SSM parameter's Value is one when its Type is
 * SecureString (a String parameter's value is substituted into documents that run it: `{{ssm:…}}`).
 */
export function storedSecretFields(
  operation: string | undefined,
  text: string,
): ((path: string) => boolean) | undefined {
  if (operation === 'ssm:PutParameter')
    return bodyType(text) === 'SecureString' ? (path) => path === 'Value' : undefined;
  const fields = operation === undefined ? undefined : STORED_SECRETS[operation];
  return fields === undefined ? undefined : (path) => fields.test(path);
}
