import { describe, expect, it } from 'vitest';
import { parameterNamesInJson, referencedSecrets, withReferencedSecrets } from './ssm-secret-references.js';

describe('SSM references to Secrets Manager secrets (class 372)', () => {
  it('reads the secret a reference names, in the spellings SSM may take', () => {
    expect(referencedSecrets('/aws/reference/secretsmanager/prod/db')).toEqual(['prod/db']);
    expect(referencedSecrets('aws/reference/secretsmanager/prod/db')).toEqual(['prod/db']);
    expect(referencedSecrets('/AWS/Reference/SecretsManager/prod/db')).toEqual(['prod/db']);
    expect(referencedSecrets('/aws/reference/secretsmanager/prod/db:AWSPREVIOUS')).toEqual([
      'prod/db:AWSPREVIOUS',
      'prod/db',
    ]);
    expect(
      referencedSecrets('arn:aws:ssm:us-east-1:123456789012:parameter/aws/reference/secretsmanager/prod/db'),
    ).toEqual(['prod/db']);
    expect(referencedSecrets('/app/aws/reference/secretsmanager/x')).toEqual([]);
    expect(parameterNamesInJson({ Name: 'a', Names: ['b', 3, 'c'] })).toEqual(['a', 'b', 'c']);
  });

  it('decides each as secretsmanager:GetSecretValue; refuses a reference that names none', () => {
    const cls = withReferencedSecrets('ssm', { protocol: 'json', operation: 'ssm:GetParameters' }, () => [
      '/app/region',
      '/aws/reference/secretsmanager/prod/db',
    ]);
    expect(cls.implied?.map((i) => [i.operation, i.resource])).toEqual([
      ['secretsmanager:GetSecretValue', 'prod/db'],
    ]);
    const none = withReferencedSecrets('ssm', { protocol: 'json', operation: 'ssm:GetParameter' }, () => [
      '/aws/reference/secretsmanager/',
    ]);
    expect(none.operation).toBeUndefined();
    const other = withReferencedSecrets('kms', { protocol: 'json', operation: 'kms:Decrypt' }, () => [
      '/aws/reference/secretsmanager/prod/db',
    ]);
    expect(other.implied).toBeUndefined();
  });
});
