import { describe, expect, it } from 'vitest';
import { parseQuery } from '../sigv4/canonical-query.js';
import { classifyQuery } from './query-classifier.js';

function q(
  service: string,
  body: string | Buffer,
  query = '',
  method = 'POST',
  headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
  rawPath = '/',
) {
  return classifyQuery({
    service,
    method,
    rawPath,
    query: parseQuery(query)!,
    rawQuery: query,
    headers,
    body: Buffer.isBuffer(body) ? body : Buffer.from(body),
  });
}

describe('classifyQuery', () => {
  it('a CloudFormation template run, not a stack read, selects every resource (class 321)', () => {
    for (const action of [
      'CreateStack',
      'UpdateStack',
      'CreateChangeSet',
      'ExecuteChangeSet',
      'DeleteStack',
    ]) {
      expect(q('cloudformation', `Action=${action}&Version=2010-05-15&StackName=app`)).toMatchObject({
        operation: `cloudformation:${action}`,
        resource: 'app',
        selects: ['*'],
      });
    }
    expect(
      q('cloudformation', 'Action=DescribeStacks&Version=2010-05-15&StackName=app').selects,
    ).toBeUndefined();
    expect(q('cloudformation', 'Action=ValidateTemplate&Version=2010-05-15').selects).toBeUndefined();
  });

  it('names IAM and STS actions and their resource', () => {
    expect(
      q(
        'iam',
        'Action=AttachRolePolicy&Version=2010-05-08&RoleName=admin&PolicyArn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FAdministratorAccess',
      ),
    ).toMatchObject({
      protocol: 'query',
      operation: 'iam:AttachRolePolicy',
      resource: 'admin',
      // The policy it attaches is named too, and decided as the same operation on it.
      implied: [
        {
          operation: 'iam:AttachRolePolicy',
          resource: 'arn:aws:iam::aws:policy/AdministratorAccess',
        },
      ],
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

  it('decides the operation on every resource named, each list member too (class 55)', () => {
    const others = (c: { implied?: readonly { operation: string; resource: string; method: string }[] }) =>
      (c.implied ?? []).map((i) => `${i.method} ${i.operation} ${i.resource}`);
    const ec2 = q('ec2', '', 'Action=TerminateInstances&InstanceId.1=i-test&InstanceId.2=i-prod', 'GET');
    expect(ec2.resource).toBe('i-test');
    expect(others(ec2)).toEqual(['GET ec2:TerminateInstances i-prod']);
    // A parameter the operation does not define is still a name the service might read.
    const iam = q('iam', 'Action=GetRole&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fdev&RoleName=admin');
    expect(iam.resource).toBe('arn:aws:iam::1:role/dev');
    expect(others(iam)).toEqual(['POST iam:GetRole admin']);
    expect(q('iam', 'Action=GetRole&RoleName=admin&InstanceId.x=1').implied).toBeUndefined();
    // An STS caller's MFA device is not what AssumeRole acts on.
    const sts = q(
      'sts',
      'Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fx&SerialNumber=mfa&RoleSessionName=s',
    );
    expect(sts.implied).toBeUndefined();
    expect(sts.resource).toBe('arn:aws:iam::1:role/x');
    const many = Array.from({ length: 101 }, (_, i) => `InstanceId.${i + 1}=i-${i}`).join('&');
    expect(q('ec2', `Action=TerminateInstances&${many}`).operation).toBeUndefined();
  });

  it('leaves ambiguous or malformed requests unknown', () => {
    expect(q('iam', 'Version=2010-05-08').operation).toBeUndefined();
    expect(q('iam', 'Action=ListUsers&Action=DeleteUser').operation).toBeUndefined();
    expect(q('iam', 'Action=ListUsers', 'Action=DeleteUser').operation).toBeUndefined();
    expect(q('iam', 'Action=list-users').operation).toBeUndefined();
    expect(q('iam', 'Action=%zz').operation).toBeUndefined();
    expect(q('apigateway', 'Action=GetRestApis').operation).toBeUndefined();
  });

  it('reads a form body as forms are read (+ is a space) and a query string without ambiguity', () => {
    expect(q('iam', 'Action=GetUser&UserName=a+b%2Bc').resource).toBe('a b+c');
    expect(q('iam', 'Action=GetUser&UserName=a%20b', '', 'POST').resource).toBe('a b');
    expect(q('iam', '', 'Action=GetUser&UserName=a%2Bb', 'GET').resource).toBe('a+b');
    expect(q('iam', 'Action=ListUsers&Marker=').operation).toBe('iam:ListUsers');
    expect(
      q('sts', 'Action=GetCallerIdentity&Version=2011-06-15', '', 'POST', {
        'content-type': 'application/x-www-form-urlencoded',
      }).operation,
    ).toBe('sts:GetCallerIdentity');
  });

  it.each([
    // the same parameter twice, wherever it is: AWS documents no rule for which one it acts on
    ['Action in the body and the query string, equal', 'Action=DeleteUser&UserName=bob', 'Action=DeleteUser'],
    ['a resource in the body and the query string', 'Action=DeleteUser&UserName=bob', 'UserName=admin'],
    ['a resource repeated in the body', 'Action=DeleteUser&UserName=bob&UserName=admin', ''],
    ['a resource repeated in the query string', 'Action=DeleteUser', 'UserName=bob&UserName=admin'],
    ['an ordinary parameter in both', 'Action=ListUsers&Version=2010-05-08', 'Version=2010-05-08'],
    ['Action and action', 'Action=ListUsers&action=DeleteUser', ''],
    ['RoleName and rolename', 'Action=GetRole&RoleName=a', 'rolename=b'],
    ['an encoded name equal to another', 'Action=GetRole&Role%4Eame=a&RoleName=b', ''],
    // spellings a reader could take another way
    ['a raw + in the query string', '', 'Action=GetUser&UserName=a+b'],
    ['a raw space', 'Action=GetUser&UserName=a b', ''],
    ['a raw ;', 'Action=GetUser;UserName=b', ''],
    ['an empty pair', 'Action=GetUser&&UserName=b', ''],
    ['a trailing &', 'Action=GetUser&', ''],
    ['a name without =', 'Action=GetUser&UserName', ''],
    ['a raw non-ASCII byte', Buffer.from('Action=GetUser&UserName=b\u00e9', 'latin1'), ''],
    ['an escape that is not UTF-8', 'Action=GetUser&UserName=%C3%28', ''],
    ['a malformed escape', 'Action=GetUser&UserName=%2', ''],
  ])('refuses %s (unknown operation)', (_what, body, query) => {
    const c = q('iam', body, query);
    expect(c.operation).toBeUndefined();
    expect(c.reason).toBeTruthy();
  });

  it('takes an SQS queue from its URL path, but not from the path and QueueUrl at once', () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    expect(
      q('sqs', 'Action=SendMessage&MessageBody=x', '', 'POST', form, '/123456789012/jobs'),
    ).toMatchObject({
      operation: 'sqs:SendMessage',
      resource: '123456789012/jobs',
    });
    expect(
      q(
        'sqs',
        'Action=SendMessage&MessageBody=x&QueueUrl=https%3A%2F%2Fsqs.us-east-1.amazonaws.com%2F123456789012%2Fother',
        '',
        'POST',
        form,
        '/123456789012/jobs',
      ).operation,
    ).toBeUndefined();
    expect(q('iam', 'Action=ListUsers', '', 'POST', form, '/123456789012/jobs').operation).toBeUndefined();
    expect(q('sqs', 'Action=SendMessage', '', 'POST', form, '/admin').operation).toBeUndefined();
  });

  it('refuses a body it cannot read as AWS would', () => {
    const form = 'Action=ListUsers';
    expect(q('iam', form, '', 'GET').operation).toBeUndefined();
    for (const type of [
      'application/x-www-form-urlencoded; charset=iso-8859-1',
      'application/x-www-form-urlencoded; charset=utf-8; x=1',
      'text/plain',
      'multipart/form-data; boundary=x',
    ])
      expect(q('iam', form, '', 'POST', { 'content-type': type }).operation, type).toBeUndefined();
    expect(
      q('monitoring', form, '', 'POST', {
        'content-type': 'application/x-www-form-urlencoded',
        'content-encoding': 'gzip',
      }).operation,
    ).toBeUndefined();
  });
});
