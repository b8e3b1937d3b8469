import { describe, expect, it } from 'vitest';
import { classifyJson } from './json-classifier.js';

function json(target: string | undefined, body: unknown, service = 'dynamodb') {
  return classifyJson({
    service,
    method: 'POST',
    rawPath: '/',
    query: {},
    headers: target === undefined ? {} : { 'x-amz-target': target },
    body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  });
}

describe('classifyJson', () => {
  it('names DynamoDB operations and the tables they touch', () => {
    expect(json('DynamoDB_20120810.DeleteTable', { TableName: 'orders' })).toEqual({
      protocol: 'json',
      operation: 'dynamodb:DeleteTable',
      resource: 'orders',
    });
    expect(json('DynamoDB_20120810.Scan', { TableName: 'orders' }).operation).toBe('dynamodb:Scan');
    expect(json('DynamoDB_20120810.ListTables', {}).resource).toBeUndefined();
    expect(json('DynamoDB_20120810.BatchWriteItem', { RequestItems: { a: [], b: [] } }).resource).toBe('a,b');
    expect(
      json('DynamoDB_20120810.TransactWriteItems', {
        TransactItems: [{ Put: { TableName: 'x' } }, { Delete: { TableName: 'y' } }],
      }).resource,
    ).toBe('x,y');
  });

  it('names KMS, CloudTrail and other JSON services with their IAM prefix', () => {
    expect(json('TrentService.ScheduleKeyDeletion', { KeyId: 'k-1' }, 'kms')).toMatchObject({
      operation: 'kms:ScheduleKeyDeletion',
      resource: 'k-1',
    });
    expect(
      json(
        'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.StopLogging',
        { Name: 'main' },
        'cloudtrail',
      ).operation,
    ).toBe('cloudtrail:StopLogging');
    expect(json('secretsmanager.GetSecretValue', { SecretId: 's' }, 'secretsmanager').operation).toBe(
      'secretsmanager:GetSecretValue',
    );
    expect(json('GraniteServiceVersion20100801.GetMetricData', {}, 'monitoring').operation).toBe(
      'cloudwatch:GetMetricData',
    );
  });

  it('leaves unknown, mismatched or malformed requests unknown', () => {
    expect(json(undefined, {}).operation).toBeUndefined();
    expect(json('Nope_2020.Thing', {}).operation).toBeUndefined();
    expect(json('constructor.Thing', {}).operation).toBeUndefined();
    expect(json('TrentService.Decrypt', {}, 'dynamodb').operation).toBeUndefined();
    expect(json('DynamoDB_20120810.scan-all', {}).operation).toBeUndefined();
    expect(json('DynamoDB_20120810.Scan', '{not json').operation).toBeUndefined();
    expect(json('DynamoDB_20120810.Scan', '[1]').operation).toBeUndefined();
  });
});
