import { describe, expect, it } from 'vitest';
import { compileAwsResources, mayMatchUnder, resourceNames } from './aws-resource-names.js';

describe('resourceNames (class 70)', () => {
  it('reads the name an ARN of the request’s own service gives, for certain', () => {
    expect(
      resourceNames('secretsmanager', 'arn:aws:secretsmanager:us-east-1:1:secret:prod/db-AbCdEf'),
    ).toEqual({
      certain: ['arn:aws:secretsmanager:us-east-1:1:secret:prod/db-AbCdEf', 'prod/db-AbCdEf'],
      possible: ['prod/db'],
    });
    expect(
      resourceNames('dynamodb', 'arn:aws:dynamodb:eu-west-1:1:table/secrets/stream/2026').certain,
    ).toContain('secrets');
    expect(resourceNames('kms', 'arn:aws:kms:us-east-1:1:alias/prod').certain).toContain('alias/prod');
    expect(resourceNames('kms', 'arn:aws:kms:us-east-1:1:key/1234').certain).toContain('1234');
    expect(resourceNames('ssm', 'arn:aws:ssm:us-east-1:1:parameter/prod/db').certain).toContain('/prod/db');
    expect(resourceNames('ssm', 'arn:aws:ssm:us-east-1:1:parameter/plain').certain).toContain('plain');
    expect(resourceNames('logs', 'arn:aws:logs:us-east-1:1:log-group:/app/prod:*').certain).toContain(
      '/app/prod',
    );
    expect(resourceNames('iam', 'arn:aws:iam::1:role/service/admin').certain).toContain('admin');
    expect(resourceNames('sns', 'arn:aws:sns:us-east-1:1:alerts').certain).toContain('alerts');
  });

  it('reads Lambda’s partial and qualified names and SQS queue URLs', () => {
    expect(resourceNames('lambda', '123456789012:function:prod-fn:3').certain).toContain('prod-fn');
    expect(resourceNames('lambda', 'prod-fn:live').certain).toContain('prod-fn');
    expect(resourceNames('lambda', 'arn:aws:lambda:us-east-1:1:function:prod-fn:$LATEST').certain).toContain(
      'prod-fn',
    );
    expect(resourceNames('sqs', 'https://sqs.us-east-1.amazonaws.com/123456789012/prod-q').certain).toContain(
      'prod-q',
    );
    expect(resourceNames('sqs', '123456789012/prod-q').certain).toContain('prod-q');
  });

  it('takes the SSM parameter a `resolve:ssm:` value names as a name it may have (class 345)', () => {
    expect(resourceNames('ec2', 'resolve:ssm:/prod/db-password').possible).toContain('/prod/db-password');
    expect(resourceNames('ec2', 'resolve:ssm:/prod/db-password:3').possible).toContain('/prod/db-password');
    expect(
      resourceNames('ec2', 'resolve:ssm:arn:aws:ssm:us-east-1:123456789012:parameter/prod/db:prod').possible,
    ).toEqual(expect.arrayContaining(['prod/db']));
  });

  it('takes an ARN of another service as a name it may have, not for certain', () => {
    const n = resourceNames('dynamodb', 'arn:aws:kinesis:us-east-1:1:stream/orders');
    expect(n.certain).toEqual(['arn:aws:kinesis:us-east-1:1:stream/orders']);
    expect(n.possible).toContain('orders');
  });
});

describe('compileAwsResources (class 70)', () => {
  it('an allow matches certain spellings only; a deny matches possible ones too', () => {
    const m = compileAwsResources(['prod/db']);
    const arn = 'arn:aws:secretsmanager:us-east-1:1:secret:prod/db-AbCdEf';
    expect(m.allows('secretsmanager', arn)).toBe(false);
    expect(m.restricts('secretsmanager', arn)).toBe(true);
    expect(m.allows('secretsmanager', 'arn:aws:secretsmanager:us-east-1:1:secret:prod/db')).toBe(true);
  });

  it('a pattern written as an ARN also matches by name: exact when any region and account', () => {
    const any = compileAwsResources(['arn:aws:dynamodb:*:*:table/secrets']);
    expect(any.allows('dynamodb', 'secrets')).toBe(true);
    expect(any.restricts('dynamodb', 'secrets')).toBe(true);
    expect(any.restricts('dynamodb', 'orders')).toBe(false);
    // Another service's request does not take the table's name.
    expect(any.allows('sqs', 'secrets')).toBe(false);
    const pinned = compileAwsResources(['arn:aws:dynamodb:us-east-1:111122223333:table/secrets']);
    expect(pinned.allows('dynamodb', 'secrets')).toBe(false);
    expect(pinned.restricts('dynamodb', 'secrets')).toBe(true);
    // IAM's advice for secrets, `-??????`: a deny also sees the secret asked for by name.
    const suffixed = compileAwsResources(['arn:aws:secretsmanager:*:*:secret:prod/db-??????']);
    expect(suffixed.restricts('secretsmanager', 'prod/db')).toBe(true);
    expect(suffixed.allows('secretsmanager', 'prod/db')).toBe(false);
    // S3 ARNs name bucket/key as Gatehouse does.
    expect(compileAwsResources(['arn:aws:s3:::vault/*']).allows('s3', 'vault/k')).toBe(true);
  });

  it('a selection by prefix is restricted when a denied name may be under it', () => {
    const m = compileAwsResources(['/prod/*']);
    expect(m.restrictsUnder('ssm', '/prod')).toBe(true);
    expect(m.restrictsUnder('ssm', '/')).toBe(true);
    expect(m.restrictsUnder('ssm', '')).toBe(true);
    expect(m.restrictsUnder('ssm', '/dev')).toBe(false);
    expect(mayMatchUnder('a*b', 'axxxx')).toBe(true);
    expect(mayMatchUnder('abc', 'ab')).toBe(true);
    expect(mayMatchUnder('abc', 'abd')).toBe(false);
  });

  it('a deny matches IAM and RDS names in any case; an allow, as written', () => {
    const m = compileAwsResources(['admin', 'arn:aws:iam::*:role/Deploy*']);
    expect(m.restricts('iam', 'ADMIN')).toBe(true);
    expect(m.restricts('iam', 'deploy-prod')).toBe(true);
    expect(m.restricts('rds', 'Admin')).toBe(true);
    expect(m.allows('iam', 'ADMIN')).toBe(false);
    // DynamoDB and Secrets Manager names are case-sensitive.
    expect(m.restricts('dynamodb', 'ADMIN')).toBe(false);
  });

  it('a KMS alias may be any key a deny names by id, and a key id what any alias it names points at (class 110)', () => {
    const key = '1234abcd-12ab-34cd-56ef-1234567890ab';
    const byId = compileAwsResources([key]);
    expect(byId.restrictsWhy('kms', key)).toBe('name');
    expect(byId.restrictsWhy('kms', 'alias/anything')).toBe('alias');
    expect(byId.restrictsWhy('kms', 'arn:aws:kms:us-east-1:111122223333:alias/x')).toBe('alias');
    // Named in another service's request (a Lambda function's KMSKeyArn) as an alias ARN.
    expect(byId.restricts('lambda', 'arn:aws:kms:us-east-1:111122223333:alias/x')).toBe(true);
    expect(byId.restricts('kms', 'ffffffff-12ab-34cd-56ef-1234567890ab')).toBe(false);
    expect(byId.allows('kms', 'alias/anything')).toBe(false);
    const byAlias = compileAwsResources(['arn:aws:kms:*:*:alias/prod']);
    expect(byAlias.restrictsWhy('kms', 'alias/prod')).toBe('name');
    expect(byAlias.restrictsWhy('kms', key)).toBe('key');
    expect(byAlias.restrictsWhy('kms', 'alias/dev')).toBeUndefined();
    // A pattern that cannot name a key or an alias (literal letters a key id has not) is not widened.
    const secrets = compileAwsResources(['prod/*']);
    expect(secrets.restricts('kms', 'alias/dev')).toBe(false);
    expect(secrets.restricts('kms', key)).toBe(false);
    // A Decrypt without KeyId selects the key its ciphertext names: any key, for KMS patterns only.
    expect(byId.restrictsUnder('kms', '')).toBe(true);
    expect(byAlias.restrictsUnder('kms', '')).toBe(true);
    expect(secrets.restrictsUnder('kms', '')).toBe(false);
    expect(compileAwsResources(['*']).restrictsUnder('kms', '')).toBe(true);
  });
});
