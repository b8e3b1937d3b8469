import { describe, expect, it } from 'vitest';
import { MAX_MENTIONS, mentionsInJson, mentionsInQuery, selectionsInJson } from './mentions.js';

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
    expect(selectionsInJson('secretsmanager:BatchGetSecretValue', { Filters: [] })).toEqual(['']);
    expect(selectionsInJson('secretsmanager:BatchGetSecretValue', { SecretIdList: ['a'] })).toBeUndefined();
  });
});
