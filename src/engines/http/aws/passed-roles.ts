// A request that hands an IAM role to a service (CloudFormation's RoleARN, an ECS task's taskRoleArn,
// a Step Functions state machine's roleArn, a Glue job's Role, an EventBridge target's RoleArn, an EC2
// instance's IamInstanceProfile…) lets that service act as the role afterwards: IAM asks the caller for
// `iam:PassRole` on it ("Granting a user permissions to pass a role to an AWS service", IAM User Guide).
// The caller here is the gateway, whose credentials may pass far more than the agent should, so an agent
// allowed `cloudformation:CreateStack` could have a stack built by an administrator role: a privilege
// escalation under a request named for something else. Each role a JSON- or query-protocol request
// names is decided as `iam:PassRole` on it, an implied part of the request (HttpAction.implied).
//
// Which parameters pass a role differs per operation; over-approximating is the safe side, so a role is
// read wherever a request names one: any string that is an IAM role ARN, and any string under a
// parameter whose name ends in `Role` or `RoleArn` (any case: RoleARN, roleArn, serviceRole,
// ExecutionRoleArn) or `InstanceProfile` (`.Arn`/`.Name` in the query protocol: the role inside an
// instance profile cannot be known here, so the profile is the resource). IAM and STS requests name roles
// they manage or assume, not ones they pass; DynamoDB, SQS and Secrets Manager take no role anywhere
// and carry data (an item, a message, a secret) that may well hold a role's ARN: none of them is read.
// Lambda's REST requests are read for CreateFunction and UpdateFunctionConfiguration only
// (lambda-classifier.ts; their bodies buffered up to the connection's maxRequestBodyBytes), S3's for
// the `<Role>` of a configuration body (s3-config-body.ts).

import { canonicalPath } from '../../../wire/http/canonical-path.js';
import type { AwsClassification, ImpliedRequest } from './aws-request.js';
import { unknown } from './aws-request.js';

/** An IAM role's ARN (also read in S3 configuration bodies: s3-config-body.ts). */
export const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/\S+$/;
const ROLE_KEY = /(?:role|rolearn|instanceprofile)$/i;
/**
 * How deep a JSON body is searched; a deeper one is refused (no real request nests this far: a
 * DynamoDB item's 32 levels of attributes are about 70, and DynamoDB is not read anyway).
 */
const MAX_DEPTH = 256;
/** Roles one request may pass before it is refused as unreadable. */
const MAX_ROLES = 64;

/** The services whose requests pass no role (they manage or assume roles, or take none). */
const NOT_PASSING = new Set(['iam', 'sts', 'dynamodb', 'sqs', 'secretsmanager']);

type Found = string[] | 'too-deep';

function fromJson(value: unknown, key: string, depth: number, out: Set<string>): boolean {
  if (depth > MAX_DEPTH) return false;
  if (typeof value === 'string') {
    if (ROLE_ARN.test(value) || (ROLE_KEY.test(key) && value !== '')) out.add(value);
    return true;
  }
  if (Array.isArray(value)) {
    for (const v of value) if (!fromJson(v, key, depth + 1, out)) return false;
    return true;
  }
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      // `IamInstanceProfile: {Arn, Name}`: the profile's fields name it.
      const name = ROLE_KEY.test(key) && (k === 'Arn' || k === 'Name') ? key : k;
      if (!fromJson(v, name, depth + 1, out)) return false;
    }
  }
  return true;
}

/** The roles a JSON body names (see the header). */
export function rolesInJson(body: unknown): Found {
  const out = new Set<string>();
  return fromJson(body, '', 0, out) ? [...out] : 'too-deep';
}

/** The roles query-protocol parameters name (`Targets.member.1.RoleArn`, `IamInstanceProfile.Name`). */
export function rolesInQuery(params: ReadonlyMap<string, string>): string[] {
  const out = new Set<string>();
  for (const [name, value] of params) {
    if (value === '') continue;
    const parts = name.split('.');
    let last = parts.at(-1)!;
    if ((last === 'Arn' || last === 'Name') && parts.length > 1) last = parts.at(-2)!;
    if (ROLE_ARN.test(value) || ROLE_KEY.test(last)) out.add(value);
  }
  return [...out];
}

/**
 * The classification with each role it passes decided as iam:PassRole on it. `found` reads them
 * (only for a service that may pass one).
 */
export function withPassedRoles(
  service: string,
  cls: AwsClassification,
  found: () => Found,
): AwsClassification {
  if (cls.operation === undefined || NOT_PASSING.has(service)) return cls;
  const roles = found();
  if (roles === 'too-deep') return unknown(cls.protocol, `the request body nests deeper than ${MAX_DEPTH}`);
  if (roles.length === 0) return cls;
  if (roles.length > MAX_ROLES)
    return unknown(cls.protocol, `the request names more than ${MAX_ROLES} roles`);
  const root = canonicalPath('/', {});
  if (!root.ok) return unknown(cls.protocol, 'the role cannot be named');
  const passes: ImpliedRequest[] = roles.map((role) => ({
    operation: 'iam:PassRole',
    method: 'POST',
    path: root,
    rawQuery: '',
    resource: role,
    // In the record's text and what an approver sees: `+ iam:PassRole POST / [role: arn:…]`.
    headers: { role },
  }));
  return { ...cls, implied: [...(cls.implied ?? []), ...passes] };
}
