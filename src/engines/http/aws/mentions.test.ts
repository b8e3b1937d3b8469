import { describe, expect, it } from 'vitest';
import {
  MAX_MENTIONS,
  mentionsInJson,
  mentionsInQuery,
  selectionsInJson,
  selectionsInQuery,
} from './mentions.js';

describe('mentions (class 70)', () => {
  it('takes every string of a JSON body at any depth, but item, message and secret data', () => {
    expect(
      mentionsInJson({
        SecretIdList: ['a', 'b'],
        Nested: { Deep: [{ BackupArn: 'arn:aws:dynamodb:us-east-1:1:table/secrets/backup/x' }] },
        Item: { id: { S: 'secrets' } },
        SecretString: 'prod/db',
        Tags: [{ Key: 'env', Value: 'prod/db' }],
        Limit: 10,
      }),
    ).toEqual(['a', 'b', 'arn:aws:dynamodb:us-east-1:1:table/secrets/backup/x']);
  });

  it('is too many past its bound, or nested too deep', () => {
    expect(mentionsInJson({ L: Array.from({ length: MAX_MENTIONS + 1 }, (_, i) => `n${i}`) })).toBe(
      'too-many',
    );
    let deep: unknown = 'x';
    for (let i = 0; i < 100; i++) deep = { d: deep };
    expect(mentionsInJson({ deep })).toBe('too-many');
  });

  it('takes a query request’s values but its Action, Version and data', () => {
    const params = new Map([
      ['Action', 'SendMessage'],
      ['Version', '2012-11-05'],
      ['QueueUrl', 'https://sqs/1/q'],
      ['MessageBody', 'prod/db'],
      ['MessageAttribute.1.Value.StringValue', 'secrets'],
      ['RoleName', 'admin'],
    ]);
    expect(mentionsInQuery(params)).toEqual(['https://sqs/1/q', 'admin']);
  });

  it('names what a request selects by prefix', () => {
    expect(selectionsInJson('ssm:GetParametersByPath', { Path: '/prod' })).toEqual(['/prod']);
    // Instructions the caller writes for a task, a build or a later run (class 322).
    expect(selectionsInJson('ssm:CreateAssociation', { Name: 'AWS-RunShellScript' })).toEqual(['*']);
    // Code run at once as a role, its output returned (class 369).
    expect(selectionsInJson('states:TestState', { definition: '{}', roleArn: 'r' })).toEqual(['*']);
    expect(selectionsInJson('glue:RunStatement', { SessionId: 's', Code: 'print(1)' })).toEqual(['*']);
    expect(selectionsInJson('states:StartExecution', { stateMachineArn: 'm' })).toBeUndefined();
    // User data an instance runs at boot as its role (class 370).
    const q = (o: string, p: Record<string, string>) => selectionsInQuery(o, new Map(Object.entries(p)));
    expect(q('ec2:RunInstances', { ImageId: 'ami-1', UserData: 'IyEv' })).toEqual(['*']);
    expect(q('ec2:ModifyInstanceAttribute', { InstanceId: 'i-1', 'UserData.Value': 'IyEv' })).toEqual(['*']);
    expect(
      q('ec2:ModifyInstanceAttribute', { InstanceId: 'i-1', Attribute: 'userData', Value: 'x' }),
    ).toEqual(['*']);
    expect(q('ec2:CreateLaunchTemplateVersion', { 'LaunchTemplateData.UserData': 'x' })).toEqual(['*']);
    expect(q('autoscaling:CreateLaunchConfiguration', { UserData: 'x' })).toEqual(['*']);
    expect(q('ec2:RunInstances', { ImageId: 'ami-1' })).toBeUndefined();
    expect(
      q('ec2:ModifyInstanceAttribute', { InstanceId: 'i-1', Attribute: 'instanceType' }),
    ).toBeUndefined();
    expect(
      selectionsInJson('ecs:RunTask', {
        taskDefinition: 'worker',
        overrides: { containerOverrides: [{ name: 'app', command: ['sh'] }] },
      }),
    ).toEqual(['*']);
    expect(
      selectionsInJson('ecs:RunTask', {
        taskDefinition: 'worker',
        overrides: { containerOverrides: [{ name: 'app', environment: [{ name: 'A', value: 'b' }] }] },
      }),
    ).toEqual(['*']);
    expect(
      selectionsInJson('ecs:RunTask', {
        taskDefinition: 'worker',
        overrides: { containerOverrides: [{ name: 'app', cpu: 256 }] },
      }),
    ).toBeUndefined();
    expect(selectionsInJson('ecs:RunTask', { taskDefinition: 'worker' })).toBeUndefined();
    expect(selectionsInJson('codebuild:StartBuild', { projectName: 'site', buildspecOverride: 'x' })).toEqual(
      ['*'],
    );
    expect(selectionsInJson('codebuild:StartBuild', { projectName: 'site', sourceVersion: 'evil' })).toEqual([
      '*',
    ]);
    expect(
      selectionsInJson('codebuild:StartBuild', { projectName: 'site', timeoutInMinutesOverride: 5 }),
    ).toBeUndefined();
    expect(
      selectionsInJson('events:PutTargets', {
        Rule: 'nightly',
        Targets: [{ Id: '1', Arn: 'arn:aws:ssm:us-east-1::document/AWS-RunShellScript', Input: '{}' }],
      }),
    ).toEqual(['*']);
    expect(
      selectionsInJson('events:PutTargets', {
        Rule: 'nightly',
        Targets: [{ Id: '1', Arn: 'arn:aws:lambda:us-east-1:123456789012:function:f', Input: '{}' }],
      }),
    ).toBeUndefined();
    // Code a data service runs with the caller's credentials (class 323).
    expect(selectionsInJson('athena:StartQueryExecution', { QueryString: 'SELECT 1' })).toEqual(['*']);
    expect(
      selectionsInJson('glue:StartJobRun', {
        JobName: 'etl',
        Arguments: { '--scriptLocation': 's3://x/y.py' },
      }),
    ).toEqual(['*']);
    expect(
      selectionsInJson('glue:StartJobRun', {
        JobName: 'etl',
        Arguments: { '--Additional-Python-Modules': 'evil' },
      }),
    ).toEqual(['*']);
    expect(
      selectionsInJson('glue:StartJobRun', { JobName: 'etl', Arguments: { '--day': '2026-12-07' } }),
    ).toBeUndefined();
    expect(selectionsInJson('secretsmanager:BatchGetSecretValue', { Filters: [] })).toEqual(['']);
    expect(selectionsInJson('secretsmanager:BatchGetSecretValue', { SecretIdList: ['a'] })).toBeUndefined();
  });
});
