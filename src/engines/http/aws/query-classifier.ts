// AWS query protocol requests (awsQuery / ec2Query: IAM, STS, SNS, EC2, RDS, CloudFormation…) →
// service:<Action>, from the form body (POST) and the query string.
//
// What Gatehouse decides on must be what AWS acts on, and AWS documents no rule for a parameter given
// twice (in the query string and the body, or repeated in one of them), nor one for names that differ
// only in case. So a request that carries any parameter twice, in any of these ways, is not classified
// (unknown operation), whichever parameter it is. Both places must also be spelled so that every
// form decoder reads them alike: `name=value` pairs joined by `&`, unreserved characters and
// percent-escapes of UTF-8 only; a `+` (a space in a form body, a plus or a space in a query string,
// depending on the reader) is accepted in the body alone. The body must be plain UTF-8
// application/x-www-form-urlencoded (no other charset, no Content-Encoding); a GET has no body.
// The path is "/", except that SQS may be sent to a queue's URL; then QueueUrl may not name one too.
// Forwarded as received: what passes these checks reads one way only.

import type { AwsClassification, AwsRequest } from './aws-request.js';
import { header, unknown } from './aws-request.js';
import { mentionsInQuery, selectionsInQuery } from './mentions.js';
import { withNamedResources } from './named-resources.js';
import { rolesInQuery, withPassedRoles } from './passed-roles.js';
import { tagsInQuery, withTagsOnCreate } from './tags-on-create.js';
import { templateUrlsInQuery, withTemplateReads } from './template-urls.js';

/** Signing name → IAM service prefix, for services that speak the query protocol. */
export const QUERY_SERVICES: Readonly<Record<string, string>> = {
  iam: 'iam',
  sts: 'sts',
  sns: 'sns',
  sqs: 'sqs',
  ec2: 'ec2',
  rds: 'rds',
  cloudformation: 'cloudformation',
  elasticloadbalancing: 'elasticloadbalancing',
  autoscaling: 'autoscaling',
  monitoring: 'cloudwatch',
  email: 'ses',
  elasticache: 'elasticache',
  redshift: 'redshift',
  elasticbeanstalk: 'elasticbeanstalk',
};

const ACTION = /^[A-Z][A-Za-z0-9]{0,127}$/;

/** Whether parameter `name` is `key` or a member of a list of them (`key.N`, `key.member.N`). */
function resourceParam(name: string, key: string): boolean {
  if (name === key) return true;
  if (!name.startsWith(`${key}.`)) return false;
  return /^(?:member\.)?\d{1,6}$/.test(name.slice(key.length + 1));
}

const RESOURCE_PARAMS = [
  'RoleArn',
  'RoleName',
  'UserName',
  'GroupName',
  'PolicyArn',
  'InstanceProfileName',
  'TopicArn',
  'QueueUrl',
  'StackName',
  'DBInstanceIdentifier',
  'DBClusterIdentifier',
  'InstanceId',
  'LoadBalancerName',
  'AutoScalingGroupName',
  'SerialNumber',
];

/** Characters a form pair may carry raw and every decoder reads alike (RFC 3986 unreserved + `!'()*`). */
const SAFE = /^(?:[A-Za-z0-9\-._~!'()*]|%[0-9A-Fa-f]{2})*$/;
const SAFE_BODY = /^(?:[A-Za-z0-9\-._~!'()*+]|%[0-9A-Fa-f]{2})*$/;

type Pairs = { readonly pairs: (readonly [string, string])[] } | { readonly refused: string };

/** Strictly `name=value&…`, decoded; in a form body `+` is a space. No pairs for the empty string. */
function strictPairs(raw: string, where: 'query string' | 'body'): Pairs {
  const out: (readonly [string, string])[] = [];
  if (raw === '') return { pairs: out };
  const safe = where === 'body' ? SAFE_BODY : SAFE;
  for (const part of raw.split('&')) {
    const eq = part.indexOf('=');
    if (eq <= 0) return { refused: `the ${where} has a part that is not name=value` };
    const name = part.slice(0, eq);
    const value = part.slice(eq + 1);
    if (!safe.test(name) || !safe.test(value))
      return {
        refused: `the ${where} has a character that must be percent-encoded${where === 'query string' ? ' (a "+" too: send %20 or %2B)' : ''}`,
      };
    try {
      const plus = (t: string): string => (where === 'body' ? t.replace(/\+/g, ' ') : t);
      out.push([decodeURIComponent(plus(name)), decodeURIComponent(plus(value))]);
    } catch {
      return { refused: `the ${where} has a percent-escape that is not UTF-8` };
    }
  }
  return { pairs: out };
}

const FORM_TYPE = /^application\/x-www-form-urlencoded\s*(?:;\s*charset\s*=\s*(?:utf-8|"utf-8")\s*)?$/i;

export function classifyQuery(req: AwsRequest): AwsClassification {
  const prefix = QUERY_SERVICES[req.service];
  if (prefix === undefined) return unknown('query', `service ${req.service} is not classified`);
  const method = req.method.toUpperCase();
  if (method !== 'POST' && method !== 'GET')
    return unknown('query', 'query protocol requests are GET or POST');
  const hasBody = req.body !== undefined && req.body.length > 0;
  let bodyPairs: (readonly [string, string])[] = [];
  if (hasBody) {
    if (method === 'GET') return unknown('query', 'a GET request with a body');
    const type = header(req.headers, 'content-type') ?? '';
    if (!FORM_TYPE.test(type))
      return unknown('query', 'the request body is not application/x-www-form-urlencoded in UTF-8');
    const coding = header(req.headers, 'content-encoding');
    if (coding !== undefined && coding.trim().toLowerCase() !== 'identity')
      return unknown('query', `the form body has Content-Encoding ${coding.slice(0, 40)}`);
    const parsed = strictPairs(req.body.toString('latin1'), 'body');
    if ('refused' in parsed) return unknown('query', parsed.refused);
    bodyPairs = parsed.pairs;
  }
  const fromQuery = strictPairs(req.rawQuery ?? '', 'query string');
  if ('refused' in fromQuery) return unknown('query', fromQuery.refused);

  // Every parameter once, in one place, in one spelling.
  const params = new Map<string, string>();
  const seen = new Map<string, string>();
  for (const [where, pairs] of [
    ['body', bodyPairs],
    ['query string', fromQuery.pairs],
  ] as const) {
    for (const [name, value] of pairs) {
      const folded = name.toLowerCase();
      const first = seen.get(folded);
      if (first !== undefined) {
        return unknown(
          'query',
          first === where
            ? `parameter ${name.slice(0, 80)} is given more than once in the ${where}`
            : `parameter ${name.slice(0, 80)} is given in both the body and the query string`,
        );
      }
      seen.set(folded, where);
      params.set(name, value);
    }
  }
  const action = params.get('Action');
  if (action === undefined) return unknown('query', 'the request names no Action');
  if (!ACTION.test(action)) return unknown('query', 'Action is malformed');
  const resources: string[] = [];
  // The path is one more place a request can name what it acts on: SQS takes a queue's URL as the
  // request's own (/<account>/<queue>), which must not also be given as QueueUrl; elsewhere it is "/".
  if (req.rawPath !== '/') {
    const queue = /^\/(\d{12})\/([A-Za-z0-9_-]{1,80}(?:\.fifo)?)$/.exec(req.rawPath);
    if (req.service !== 'sqs' || !queue)
      return unknown('query', 'query protocol requests are sent to "/" (SQS: or to a queue URL)');
    if (params.has('QueueUrl'))
      return unknown('query', 'the queue is named twice: in the request path and in QueueUrl');
    resources.push(`${queue[1]}/${queue[2]}`);
  }
  // Every resource parameter given, each member of a list (`InstanceId.2`, `Names.member.3`) too: a
  // service reads the ones it defines, and may ignore the others (named-resources.ts).
  for (const key of RESOURCE_PARAMS) {
    // An STS caller's MFA device is its own, not what the request acts on.
    if (key === 'SerialNumber' && prefix === 'sts') continue;
    for (const [name, value] of params) if (resourceParam(name, key)) resources.push(value);
  }
  // Each resource named is decided (named-resources.ts); a role the request hands to the service is
  // decided as iam:PassRole too (passed-roles.ts), and tags it sets as the tagging action
  // (tags-on-create.ts).
  // Instructions another principal runs (a CloudFormation template: mentions.ts REMOTE_INSTRUCTIONS)
  // select every resource.
  const operation = `${prefix}:${action}`;
  const selects = selectionsInQuery(operation, params);
  const named = withNamedResources(
    {
      protocol: 'query',
      operation,
      mentions: mentionsInQuery(params),
      ...(selects === undefined ? {} : { selects }),
    },
    method,
    resources,
  );
  const passing = withPassedRoles(prefix, named, () => rolesInQuery(params));
  const tagging = withTagsOnCreate(prefix, passing, () => tagsInQuery(params));
  // A template or stack policy CloudFormation fetches from S3 is read as the s3:GetObject it is.
  return withTemplateReads(prefix, tagging, () => templateUrlsInQuery(params));
}
