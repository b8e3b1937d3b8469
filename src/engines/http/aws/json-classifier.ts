// AWS JSON protocol requests (awsJson1_0 / awsJson1_1) → service:Operation from X-Amz-Target
// (`DynamoDB_20120810.DeleteTable` → dynamodb:DeleteTable), and the resource from the JSON body.
// The target prefix must belong to the service the client signed for; an unknown prefix is unknown.
//
// One reading only: a service that also speaks the query protocol (SQS, CloudWatch) picks it by the
// Content-Type, and AWS-compatible endpoints (moto, and LocalStack on it) take `Action` from any form
// they find in the body before they look at X-Amz-Target. So the Content-Type must be the JSON
// protocol's own, and the body is forwarded with every `&`, `;` and `=` (which JSON allows only inside
// strings) written as a \u escape: it then holds no form pair a reader could take for a parameter
// (docs/security.md, class 54).

import type { AwsClassification, AwsProtocol, AwsRequest } from './aws-request.js';
import { header, unknown } from './aws-request.js';
import { mentionsInJson, selectionsInJson } from './mentions.js';
import { withNamedResources } from './named-resources.js';
import { partiqlStatements, partiqlTables } from './partiql-tables.js';
import { rolesInJson, withPassedRoles } from './passed-roles.js';
import { parameterNamesInJson, withReferencedSecrets } from './ssm-secret-references.js';
import { tagsInJson, withTagsOnCreate } from './tags-on-create.js';

interface TargetService {
  /** IAM service prefix used in operation names. */
  readonly prefix: string;
  /** Signing names a client may use for it. */
  readonly signing: readonly string[];
}

/** X-Amz-Target prefixes (the part before the last '.') of the services Gatehouse classifies. */
export const JSON_TARGETS: Readonly<Record<string, TargetService>> = {
  DynamoDB_20120810: { prefix: 'dynamodb', signing: ['dynamodb'] },
  DynamoDBStreams_20120810: { prefix: 'dynamodb', signing: ['dynamodb'] },
  TrentService: { prefix: 'kms', signing: ['kms'] },
  'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101': { prefix: 'cloudtrail', signing: ['cloudtrail'] },
  CloudTrail_20131101: { prefix: 'cloudtrail', signing: ['cloudtrail'] },
  Logs_20140328: { prefix: 'logs', signing: ['logs'] },
  secretsmanager: { prefix: 'secretsmanager', signing: ['secretsmanager'] },
  AmazonSSM: { prefix: 'ssm', signing: ['ssm'] },
  AmazonSQS: { prefix: 'sqs', signing: ['sqs'] },
  AWSEvents: { prefix: 'events', signing: ['events'] },
  Kinesis_20131202: { prefix: 'kinesis', signing: ['kinesis'] },
  Firehose_20150804: { prefix: 'firehose', signing: ['firehose'] },
  AWSStepFunctions: { prefix: 'states', signing: ['states'] },
  AmazonEC2ContainerServiceV20141113: { prefix: 'ecs', signing: ['ecs'] },
  AmazonEC2ContainerRegistry_V20150921: { prefix: 'ecr', signing: ['ecr'] },
  AWSCognitoIdentityProviderService: { prefix: 'cognito-idp', signing: ['cognito-idp'] },
  AmazonAthena: { prefix: 'athena', signing: ['athena'] },
  AWSGlue: { prefix: 'glue', signing: ['glue'] },
  CodeBuild_20161006: { prefix: 'codebuild', signing: ['codebuild'] },
  AWSOrganizationsV20161128: { prefix: 'organizations', signing: ['organizations'] },
  GraniteServiceVersion20100801: { prefix: 'cloudwatch', signing: ['monitoring'] },
  AWSSecurityTokenServiceV20110615: { prefix: 'sts', signing: ['sts'] },
};

const OPERATION = /^[A-Z][A-Za-z0-9]{0,127}$/;

/** Table names a DynamoDB request names (TableName, RequestItems, TransactItems, TableArn, ResourceArn…). */
function dynamoResources(body: Record<string, unknown>): string[] {
  const names: string[] = [];
  for (const key of [
    'TableName',
    'TableArn',
    'ResourceArn',
    'GlobalTableName',
    'StreamArn',
    'SourceTableArn',
  ]) {
    if (typeof body[key] === 'string') names.push(body[key]);
  }
  const items = body['RequestItems'];
  if (items && typeof items === 'object') names.push(...Object.keys(items));
  const transact = body['TransactItems'];
  if (Array.isArray(transact)) {
    for (const item of transact) {
      if (item && typeof item === 'object') {
        for (const op of Object.values(item as Record<string, unknown>)) {
          const t = op && typeof op === 'object' ? (op as Record<string, unknown>)['TableName'] : undefined;
          if (typeof t === 'string') names.push(t);
        }
      }
    }
  }
  return names;
}

const RESOURCE_KEYS = [
  'KeyId',
  'SecretId',
  'Name',
  'Names',
  'QueueUrl',
  'StreamName',
  'LogGroupName',
  'FunctionName',
  'ResourceArn',
  'Arn',
  'stateMachineArn',
  'repositoryName',
  'cluster',
];

/**
 * Every string under a top-level resource key, not the first key found: a service reads the one it
 * defines and may ignore the others (named-resources.ts).
 */
function genericResources(body: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const key of RESOURCE_KEYS) {
    const v = body[key];
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) out.push(...v.filter((x): x is string => typeof x === 'string'));
  }
  return out;
}

/** Fatal: a body that is not UTF-8 is refused, not read with replacement characters. */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The first key that occurs twice in one object of a JSON text JSON.parse accepted (keys compared
 * decoded: "a" and "\u0061" are the same key), or undefined. In the top-level object, where a request's
 * members stand (`SecretId`, `Name`, `TableName`: what is decided), keys are compared case aside too:
 * `{"SecretId": "dev/x", "secretId": "prod/db"}` names two secrets, and which one a service reads is not
 * documented (a deserializer may match members case-insensitively). Nested objects keep case: they hold
 * a caller's own maps (tags, a DynamoDB item's attributes), where `id` and `Id` are two names.
 */
export function duplicateKey(text: string): string | undefined {
  // One entry per open object (its keys so far, and whether a key comes next) or array (null).
  const stack: ({ keys: Set<string>; expectKey: boolean } | null)[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{') stack.push({ keys: new Set<string>(), expectKey: true });
    else if (c === '[') stack.push(null);
    else if (c === '}' || c === ']') stack.pop();
    else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top) top.expectKey = true;
    } else if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top && top.expectKey) {
        const read = JSON.parse(text.slice(i, j + 1)) as string;
        const key = stack.length === 1 ? read.toLowerCase() : read;
        if (top.keys.has(key)) return read;
        top.keys.add(key);
        top.expectKey = false;
      }
      i = j;
    }
  }
  return undefined;
}

/**
 * A JSON protocol's body as the service reads it: strict UTF-8, one JSON object (empty: `{}`), no key
 * given twice in one object (JSON.parse keeps the last of two; a service's parser may keep the first,
 * or refuse). Anything else is unknown (refused): what is decided must be what the service reads.
 */
export function jsonObjectBody(
  protocol: AwsProtocol,
  raw: Buffer | undefined,
): { readonly object: Record<string, unknown> } | AwsClassification {
  let text: string;
  try {
    text = UTF8.decode(raw ?? Buffer.alloc(0));
  } catch {
    return unknown(protocol, 'the request body is not valid UTF-8');
  }
  if (text.trim() === '') return { object: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return unknown(protocol, 'the request body is not valid JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    return unknown(protocol, 'the request body is not a JSON object');
  const dup = duplicateKey(text);
  if (dup !== undefined)
    return unknown(
      protocol,
      `the request body gives the key ${JSON.stringify(dup).slice(0, 80)} twice in one object`,
    );
  return { object: parsed as Record<string, unknown> };
}

/** The awsJson1_0 / awsJson1_1 media types, as the AWS SDKs send them. */
const JSON_PROTOCOL_TYPE = /^application\/x-amz-json-1\.[01]\s*(?:;\s*charset\s*=\s*(?:utf-8|"utf-8")\s*)?$/i;

/**
 * A JSON text (already read as one) spelled so that no form decoder finds a parameter in it: `&`, `;`
 * and `=` can only occur inside strings, where `\u0026`, `\u003b` and `\u003d` read the same to a
 * JSON parser; an empty body is `{}`. What is forwarded then reads as JSON only.
 */
export function formInertJson(body: Buffer): Buffer {
  const text = body.toString('utf8');
  if (text.trim() === '') return Buffer.from('{}');
  return Buffer.from(
    text.replace(/[&;=]/g, (c) => `\\u00${c.charCodeAt(0).toString(16).padStart(2, '0')}`),
    'utf8',
  );
}

export function classifyJson(req: AwsRequest): AwsClassification {
  const target = header(req.headers, 'x-amz-target');
  if (target === undefined) return unknown('json', 'the request has no X-Amz-Target');
  if (req.method.toUpperCase() !== 'POST' || req.rawPath !== '/')
    return unknown('json', 'JSON protocol requests are POST /');
  // A service that speaks the query protocol too reads a form Content-Type as that protocol.
  const type = header(req.headers, 'content-type');
  if (type === undefined || !JSON_PROTOCOL_TYPE.test(type))
    return unknown(
      'json',
      `a JSON protocol request's Content-Type is application/x-amz-json-1.0 or -1.1, not ${JSON.stringify((type ?? '').slice(0, 60))}`,
    );
  const coding = header(req.headers, 'content-encoding');
  if (coding !== undefined && coding.trim().toLowerCase() !== 'identity')
    return unknown('json', `the JSON body has Content-Encoding ${coding.slice(0, 40)}`);
  // JSON protocol requests carry everything in the body. A query string is read by nothing here, but
  // a service that also speaks the query protocol (SQS, CloudWatch) reads `?Action=…` from it.
  if (Object.keys(req.query).length > 0)
    return unknown(
      'json',
      'JSON protocol requests have no query string (a service may read ?Action= from it)',
    );
  const dot = target.lastIndexOf('.');
  const service = dot > 0 ? JSON_TARGETS[target.slice(0, dot)] : undefined;
  const op = target.slice(dot + 1);
  if (service === undefined || !Object.hasOwn(JSON_TARGETS, target.slice(0, dot)))
    return unknown('json', `unknown X-Amz-Target ${target.slice(0, 120)}`);
  if (!OPERATION.test(op)) return unknown('json', 'the X-Amz-Target operation is malformed');
  if (!service.signing.includes(req.service)) {
    return unknown('json', `X-Amz-Target ${target} does not belong to the signed service ${req.service}`);
  }
  const parsed = jsonObjectBody('json', req.body);
  if (!('object' in parsed)) return parsed;
  const body = parsed.object;
  // Each resource named is decided (named-resources.ts); a role the request hands to the service is
  // decided as iam:PassRole too (passed-roles.ts), and tags it sets as the tagging action
  // (tags-on-create.ts).
  let resources: string[];
  if (service.prefix === 'dynamodb') {
    resources = dynamoResources(body);
    // PartiQL names its tables in the statement alone.
    for (const statement of partiqlStatements(op, body)) {
      const tables = typeof statement === 'string' ? partiqlTables(statement) : undefined;
      if (tables === undefined)
        return unknown('json', 'a PartiQL statement whose tables Gatehouse cannot read');
      resources.push(...tables);
    }
  } else resources = genericResources(body);
  const operation = `${service.prefix}:${op}`;
  const selects = selectionsInJson(operation, body);
  const named = withNamedResources(
    {
      protocol: 'json',
      operation,
      mentions: mentionsInJson(body),
      ...(selects === undefined ? {} : { selects }),
    },
    'POST',
    resources,
  );
  const passing = withPassedRoles(service.prefix, named, () => rolesInJson(body));
  const tagging = withTagsOnCreate(service.prefix, passing, () => tagsInJson(body));
  // A parameter that references a Secrets Manager secret reads the secret (ssm-secret-references.ts).
  return withReferencedSecrets(service.prefix, tagging, () => parameterNamesInJson(body));
}
