import { describe, expect, it } from 'vitest';
import { templateObject, templateUrlsInQuery, withTemplateReads } from './template-urls.js';

describe('template URLs (class 324)', () => {
  it('reads the bucket and key of each S3 URL form', () => {
    expect(templateObject('https://vault.s3.amazonaws.com/app/t.json')).toEqual({
      source: 'vault/app/t.json',
    });
    expect(templateObject('https://vault.s3.us-east-1.amazonaws.com/app/t.json')).toEqual({
      source: 'vault/app/t.json',
    });
    expect(templateObject('https://vault.s3-eu-west-1.amazonaws.com/t.json')).toEqual({
      source: 'vault/t.json',
    });
    expect(templateObject('https://s3.amazonaws.com/vault/app/t.json')).toEqual({
      source: 'vault/app/t.json',
    });
    expect(templateObject('https://s3.eu-west-1.amazonaws.com/vault/t.json')).toEqual({
      source: 'vault/t.json',
    });
    expect(templateObject('HTTPS://VAULT.S3.AMAZONAWS.COM/t.json')).toEqual({ source: 'vault/t.json' });
    expect(templateObject('s3://vault/t.json')).toEqual({ source: 'vault/t.json' });
  });

  it('refuses what is not an S3 object URL', () => {
    for (const url of [
      'https://example.com/vault/t.json',
      'https://vault.s3.amazonaws.com:8443/t.json',
      'https://user@vault.s3.amazonaws.com/t.json',
      'https://vault.s3.amazonaws.com/t.json?versionId=1',
      'https://vault.s3.amazonaws.com/t.json#x',
      'ftp://vault/t.json',
    ])
      expect(templateObject(url), url).toHaveProperty('refused');
  });

  it('decides each URL as s3:GetObject on its object', () => {
    const cls = { protocol: 'query' as const, operation: 'cloudformation:ValidateTemplate' };
    const urls = templateUrlsInQuery(
      new Map([
        ['Action', 'ValidateTemplate'],
        ['TemplateURL', 'https://vault.s3.amazonaws.com/a%2Fb/t.json'],
      ]),
    );
    expect(withTemplateReads('cloudformation', cls, () => urls).implied).toMatchObject([
      { operation: 's3:GetObject', resource: 'vault/a/b/t.json' },
    ]);
    expect(
      withTemplateReads('cloudformation', cls, () => ['https://example.com/x']).operation,
    ).toBeUndefined();
    expect(withTemplateReads('sns', cls, () => ['https://example.com/x'])).toBe(cls);
  });
});
