// AWS query protocol requests (awsQuery / ec2Query: IAM, STS, SNS, EC2, RDS, CloudFormation…) →
// service:<Action>, from the form body (POST) or the query string (GET). One Action, in one place:
// two different ones (body and query string, or repeated) leave the operation unknown.

import { parseQuery, type QueryMap } from '../sigv4/canonical-query.js';
import type { AwsClassification, AwsRequest } from './aws-request.js';
import { header, unknown } from './aws-request.js';

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
  'InstanceId.1',
  'LoadBalancerName',
  'AutoScalingGroupName',
  'SerialNumber',
];

function one(q: QueryMap, key: string): string | undefined | null {
  const v = q[key];
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : null;
}

export function classifyQuery(req: AwsRequest): AwsClassification {
  const prefix = QUERY_SERVICES[req.service];
  if (prefix === undefined) return unknown('query', `service ${req.service} is not classified`);
  const method = req.method.toUpperCase();
  if (method !== 'POST' && method !== 'GET')
    return unknown('query', 'query protocol requests are GET or POST');
  let form: QueryMap = {};
  if (method === 'POST' && req.body !== undefined && req.body.length > 0) {
    const type = header(req.headers, 'content-type') ?? '';
    if (!/^application\/x-www-form-urlencoded\b/i.test(type))
      return unknown('query', 'the request body is not form-encoded');
    const parsed = parseQuery(req.body.toString('utf8').replace(/\+/g, '%20'));
    if (parsed === undefined) return unknown('query', 'the form body is malformed');
    form = parsed;
  }
  const fromBody = one(form, 'Action');
  const fromQuery = one(req.query, 'Action');
  if (fromBody === null || fromQuery === null) return unknown('query', 'Action is repeated');
  if (fromBody !== undefined && fromQuery !== undefined && fromBody !== fromQuery)
    return unknown('query', 'Action differs between the query string and the body');
  const action = fromBody ?? fromQuery;
  if (action === undefined) return unknown('query', 'the request names no Action');
  if (!ACTION.test(action)) return unknown('query', 'Action is malformed');
  let resource: string | undefined;
  for (const key of RESOURCE_PARAMS) {
    const v = one(form, key) ?? one(req.query, key);
    if (typeof v === 'string') {
      resource = v;
      break;
    }
  }
  return {
    protocol: 'query',
    operation: `${prefix}:${action}`,
    ...(resource !== undefined ? { resource } : {}),
  };
}
