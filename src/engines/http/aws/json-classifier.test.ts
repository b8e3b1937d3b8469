import { describe, expect, it } from 'vitest';
import { classifyJson, duplicateKey, formInertJson } from './json-classifier.js';

function json(target: string | undefined, body: unknown, service = 'dynamodb') {
  return classifyJson({
    service,
    method: 'POST',
    rawPath: '/',
    query: {},
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      ...(target === undefined ? {} : { 'x-amz-target': target }),
    },
    body: Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
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
    // Each table is decided: the first is the request's own, each other one an implied part
    // (class 55: joined with "," they were one name a rule's `*` matched across).
    const batch = json('DynamoDB_20120810.BatchWriteItem', { RequestItems: { a: [], b: [] } });
    expect(batch.resource).toBe('a');
    expect(batch.implied?.map((i) => [i.operation, i.resource])).toEqual([['dynamodb:BatchWriteItem', 'b']]);
    const transact = json('DynamoDB_20120810.TransactWriteItems', {
      TransactItems: [
        { Put: { TableName: 'x' } },
        { Delete: { TableName: 'y' } },
        { Put: { TableName: 'x' } },
      ],
    });
    expect([transact.resource, ...(transact.implied ?? []).map((i) => i.resource)]).toEqual(['x', 'y']);
  });

  it('decides every top-level resource key, not the first one found (class 55)', () => {
    const c = json(
      'secretsmanager.GetSecretValue',
      { KeyId: 'dev/x', SecretId: 'prod/db' },
      'secretsmanager',
    );
    expect(c.resource).toBe('dev/x');
    expect(c.implied?.map((i) => [i.operation, i.method, i.resource, i.headers])).toEqual([
      ['secretsmanager:GetSecretValue', 'POST', 'prod/db', { resource: 'prod/db' }],
    ]);
    const names = json('AmazonSSM.GetParameters', { Names: ['/app/a', '/prod/db'] }, 'ssm');
    expect([names.resource, ...(names.implied ?? []).map((i) => i.resource)]).toEqual(['/app/a', '/prod/db']);
    expect(json('TrentService.Encrypt', { KeyId: 'k', Plaintext: 'x' }, 'kms').implied).toBeUndefined();
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

  it('refuses a body that gives a key twice in one object, or is not UTF-8', () => {
    // JSON.parse keeps the last; the service's parser may keep the first.
    expect(
      json('secretsmanager.GetSecretValue', '{"SecretId":"public","SecretId":"prod/db"}', 'secretsmanager')
        .operation,
    ).toBeUndefined();
    expect(
      json('DynamoDB_20120810.Scan', '{"TableName":"a","Table\\u004eame":"b"}').operation,
    ).toBeUndefined();
    expect(
      json('DynamoDB_20120810.PutItem', '{"TableName":"t","Item":{"id":{"S":"1"},"id":{"S":"2"}}}').operation,
    ).toBeUndefined();
    expect(
      json('DynamoDB_20120810.Scan', Buffer.from('{"TableName":"caf\xe9"}', 'latin1')).operation,
    ).toBeUndefined();
    // The same key in different objects, in arrays, in values, or differing in case is fine.
    expect(
      json('DynamoDB_20120810.TransactWriteItems', {
        TransactItems: [
          { Put: { TableName: 'x', Item: { id: { S: '"id":' }, ID: { S: '[{' } } } },
          { Put: { TableName: 'y' } },
        ],
      }).resource,
    ).toBe('x');
  });

  it('finds duplicate keys as JSON.parse reads them', () => {
    expect(duplicateKey('{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}')).toBeUndefined();
    expect(duplicateKey('{"a":"\\"a\\":","a":1}')).toBe('a');
    expect(duplicateKey('{"x":[1,{"y":1}],"z":{"y":2,"y":3}}')).toBe('y');
    expect(duplicateKey('{"\\u0061":1,"a":2}')).toBe('a');
    // A request's members, at the top level, case aside; a caller's own maps below keep case.
    expect(duplicateKey('{"SecretId":"dev/x","secretId":"prod/db"}')).toBe('secretId');
    expect(duplicateKey('{"TableName":"t","Item":{"id":{"S":"1"},"Id":{"S":"2"}}}')).toBeUndefined();
    expect(duplicateKey('{"a":1}')).toBeUndefined();
  });

  it('takes only the JSON protocol Content-Type, without a Content-Encoding (class 54)', () => {
    const with_ = (headers: Record<string, string>) =>
      classifyJson({
        service: 'sqs',
        method: 'POST',
        rawPath: '/',
        query: {},
        headers: { 'x-amz-target': 'AmazonSQS.ListQueues', ...headers },
        body: Buffer.from('{}'),
      }).operation;
    expect(with_({ 'content-type': 'application/x-amz-json-1.0' })).toBe('sqs:ListQueues');
    expect(with_({ 'content-type': 'application/x-amz-json-1.1; charset=utf-8' })).toBe('sqs:ListQueues');
    expect(with_({})).toBeUndefined();
    expect(with_({ 'content-type': 'application/x-www-form-urlencoded' })).toBeUndefined();
    expect(with_({ 'content-type': 'application/json' })).toBeUndefined();
    expect(with_({ 'content-type': 'application/x-amz-cbor-1.1' })).toBeUndefined();
    expect(
      with_({ 'content-type': 'application/x-amz-json-1.0', 'content-encoding': 'gzip' }),
    ).toBeUndefined();
  });

  it('spells a body so that no form decoder finds a parameter in it, and JSON reads it the same', () => {
    const text = '{"QueueUrl":"q","x":"&Action=DeleteQueue;a=b","k&=;":["\\\\&"]}';
    const inert = formInertJson(Buffer.from(text)).toString();
    expect(inert).not.toMatch(/[&;=]/);
    expect(JSON.parse(inert)).toEqual(JSON.parse(text));
    expect(new URLSearchParams(inert).get('Action')).toBeNull();
    expect(formInertJson(Buffer.alloc(0)).toString()).toBe('{}');
    expect(formInertJson(Buffer.from(' \n')).toString()).toBe('{}');
  });
});
