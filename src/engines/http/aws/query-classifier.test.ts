import { describe, expect, it } from 'vitest';
import { parseQuery } from '../sigv4/canonical-query.js';
import { classifyQuery } from './query-classifier.js';

function q(service: string, body: string, query = '', method = 'POST') {
  return classifyQuery({
    service,
    method,
    rawPath: '/',
    query: parseQuery(query)!,
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body: Buffer.from(body),
  });
}

describe('classifyQuery', () => {
  it('names IAM and STS actions and their resource', () => {
    expect(
      q(
        'iam',
        'Action=AttachRolePolicy&Version=2010-05-08&RoleName=admin&PolicyArn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FAdministratorAccess',
      ),
    ).toEqual({
      protocol: 'query',
      operation: 'iam:AttachRolePolicy',
      resource: 'admin',
    });
    expect(q('iam', 'Action=CreateAccessKey&Version=2010-05-08&UserName=bob')).toMatchObject({
      operation: 'iam:CreateAccessKey',
      resource: 'bob',
    });
    expect(
      q('sts', 'Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fx&RoleSessionName=s'),
    ).toMatchObject({
      operation: 'sts:AssumeRole',
      resource: 'arn:aws:iam::1:role/x',
    });
    expect(q('monitoring', 'Action=PutMetricAlarm').operation).toBe('cloudwatch:PutMetricAlarm');
    expect(q('ec2', '', 'Action=TerminateInstances&InstanceId.1=i-1', 'GET')).toMatchObject({
      operation: 'ec2:TerminateInstances',
      resource: 'i-1',
    });
  });

  it('leaves ambiguous or malformed requests unknown', () => {
    expect(q('iam', 'Version=2010-05-08').operation).toBeUndefined();
    expect(q('iam', 'Action=ListUsers&Action=DeleteUser').operation).toBeUndefined();
    expect(q('iam', 'Action=ListUsers', 'Action=DeleteUser').operation).toBeUndefined();
    expect(q('iam', 'Action=list-users').operation).toBeUndefined();
    expect(q('iam', 'Action=%zz').operation).toBeUndefined();
    expect(q('apigateway', 'Action=GetRestApis').operation).toBeUndefined();
  });
});
