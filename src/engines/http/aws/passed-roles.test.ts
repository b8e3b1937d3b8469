import { describe, expect, it } from 'vitest';
import { rolesInJson, rolesInQuery, withPassedRoles } from './passed-roles.js';

const ROLE = 'arn:aws:iam::123456789012:role/service-role/admin';

describe('roles a request hands to a service', () => {
  it('finds role ARNs anywhere in a JSON body, and strings under role-named keys', () => {
    expect(
      (
        rolesInJson({
          taskRoleArn: ROLE,
          executionRoleArn: 'arn:aws:iam::123456789012:role/exec',
          containerDefinitions: [{ name: 'c', environment: [{ name: 'X', value: ROLE }] }],
          Role: 'glue-role-by-name',
          serviceRole: 'codebuild-role',
          IamInstanceProfile: { Arn: 'arn:aws:iam::123456789012:instance-profile/p', Name: 'p' },
          RoleName: 'not-passed',
          Description: 'mentions role/admin but is not an ARN',
        }) as string[]
      ).sort(),
    ).toEqual(
      [
        ROLE,
        'arn:aws:iam::123456789012:role/exec',
        'glue-role-by-name',
        'codebuild-role',
        'arn:aws:iam::123456789012:instance-profile/p',
        'p',
      ].sort(),
    );
    expect(rolesInJson({ a: 1, b: [true, null], c: { d: 'x' } })).toEqual([]);
  });

  it('refuses a body nested too deep to search', () => {
    let deep: unknown = ROLE;
    for (let i = 0; i < 300; i++) deep = { x: deep };
    expect(rolesInJson(deep)).toBe('too-deep');
    const cls = withPassedRoles(
      'states',
      { protocol: 'json', operation: 'states:CreateStateMachine' },
      () => 'too-deep',
    );
    expect(cls.operation).toBeUndefined();
    // A DynamoDB item may nest 32 levels of attributes (about 70 levels of JSON): searched, not refused.
    let item: unknown = { S: ROLE };
    for (let i = 0; i < 32; i++) item = { M: { a: item } };
    expect(rolesInJson({ Item: { a: item } })).toEqual([ROLE]);
  });

  it('finds roles in query-protocol parameters', () => {
    expect(
      rolesInQuery(
        new Map([
          ['Action', 'CreateStack'],
          ['RoleARN', ROLE],
          ['IamInstanceProfile.Name', 'profile'],
          ['Targets.member.1.RoleArn', 'arn:aws:iam::123456789012:role/events'],
          ['Parameters.member.1.ParameterValue', 'arn:aws:iam::123456789012:role/in-a-parameter'],
          ['StackName', 's'],
          ['RoleSessionName', 'x'],
        ]),
      ).sort(),
    ).toEqual(
      [
        ROLE,
        'profile',
        'arn:aws:iam::123456789012:role/events',
        'arn:aws:iam::123456789012:role/in-a-parameter',
      ].sort(),
    );
  });

  it('decides each as iam:PassRole, not for services that pass none (IAM, STS manage or assume roles; DynamoDB, SQS, Secrets Manager carry data)', () => {
    const cls = withPassedRoles(
      'cloudformation',
      { protocol: 'query', operation: 'cloudformation:CreateStack' },
      () => [ROLE],
    );
    expect(cls.implied).toEqual([
      expect.objectContaining({
        operation: 'iam:PassRole',
        method: 'POST',
        resource: ROLE,
        headers: { role: ROLE },
      }),
    ]);
    for (const service of ['iam', 'sts', 'dynamodb', 'sqs', 'secretsmanager'])
      expect(
        withPassedRoles(service, { protocol: 'query', operation: `${service}:X` }, () => [ROLE]).implied,
      ).toBeUndefined();
  });
});
