import { describe, expect, it } from 'vitest';
import { classifyLambda, lambdaNeedsBody } from './lambda-classifier.js';

const lambda = (method: string, rawPath: string, body = '') =>
  classifyLambda({ service: 'lambda', method, rawPath, query: {}, headers: {}, body: Buffer.from(body) });

const withQuery = (method: string, rawPath: string, query: Record<string, string | string[]>) =>
  classifyLambda({ service: 'lambda', method, rawPath, query, headers: {} });

describe('classifyLambda', () => {
  it.each([
    ['GET', '/2015-03-31/functions/', 'lambda:ListFunctions', undefined],
    ['GET', '/2015-03-31/functions/billing', 'lambda:GetFunction', 'billing'],
    ['DELETE', '/2015-03-31/functions/billing', 'lambda:DeleteFunction', 'billing'],
    ['PUT', '/2015-03-31/functions/billing/code', 'lambda:UpdateFunctionCode', 'billing'],
    ['PUT', '/2015-03-31/functions/billing/configuration', 'lambda:UpdateFunctionConfiguration', 'billing'],
    ['POST', '/2015-03-31/functions/billing/invocations', 'lambda:InvokeFunction', 'billing'],
    [
      'POST',
      '/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Abilling/invocations',
      'lambda:InvokeFunction',
      'arn:aws:lambda:us-east-1:1:function:billing',
    ],
    ['DELETE', '/2015-03-31/functions/billing/aliases/live', 'lambda:DeleteAlias', 'billing'],
    ['POST', '/2015-03-31/functions/billing/policy', 'lambda:AddPermission', 'billing'],
    ['PUT', '/2017-10-31/functions/billing/concurrency', 'lambda:PutFunctionConcurrency', 'billing'],
    ['GET', '/2016-08-19/account-settings/', 'lambda:GetAccountSettings', undefined],
  ])('%s %s → %s', (method, path, operation, resource) => {
    const c = lambda(method, path);
    expect(c.operation).toBe(operation);
    expect(c.resource).toBe(resource);
  });

  it.each([
    ['PATCH', '/2015-03-31/functions/billing'],
    ['GET', '/2015-03-31/functions/billing/secrets'],
    ['GET', '/2015-03-31//functions/billing'],
    ['DELETE', '/2015-03-31/functions/%2e%2e'],
    ['DELETE', '/2015-03-31/functions/a%2Fb'],
    ['GET', '/2099-01-01/functions/billing'],
  ])('%s %s is unknown', (method, path) => {
    expect(lambda(method, path).operation).toBeUndefined();
  });

  it('reads the role and the tags of a function configuration', () => {
    const role = 'arn:aws:iam::123456789012:role/admin';
    const create = lambda(
      'POST',
      '/2015-03-31/functions',
      JSON.stringify({
        FunctionName: 'f',
        Role: role,
        Code: { ZipFile: 'UEsDBA==' },
        Tags: { team: 'admins' },
      }),
    );
    expect(create.operation).toBe('lambda:CreateFunction');
    expect(create.implied?.map((i) => [i.operation, i.resource])).toEqual([
      ['iam:PassRole', role],
      ['lambda:TagResource', '*'],
    ]);
    const update = lambda('PUT', '/2015-03-31/functions/f/configuration', JSON.stringify({ Role: role }));
    expect(update.implied?.map((i) => i.operation)).toEqual(['iam:PassRole']);
    expect(lambda('PUT', '/2015-03-31/functions/f/configuration', '{"Timeout":3}').implied).toBeUndefined();
    // A body that cannot be read as the service reads it is unknown (refused).
    expect(lambda('POST', '/2015-03-31/functions', '{"Role":"a","Role":"b"}').operation).toBeUndefined();
    expect(lambda('POST', '/2015-03-31/functions', 'not json').operation).toBeUndefined();
    // Bytes that are not UTF-8 are not read with replacement characters: the service reads the bytes.
    const invalid = Buffer.concat([
      Buffer.from('{"Role":"arn:aws:iam::1:role/a'),
      Buffer.from([0xff]),
      Buffer.from('"}'),
    ]);
    expect(
      classifyLambda({
        service: 'lambda',
        method: 'POST',
        rawPath: '/2015-03-31/functions',
        query: {},
        headers: {},
        body: invalid,
      }).reason,
    ).toMatch(/UTF-8/);
    expect(
      classifyLambda({
        service: 'lambda',
        method: 'POST',
        rawPath: '/2015-03-31/functions',
        query: {},
        headers: {},
      }).operation,
    ).toBeUndefined();
  });

  it('asks for every body but an invocation payload (class 110)', () => {
    expect(lambdaNeedsBody('POST', '/2015-03-31/functions')).toBe(true);
    expect(lambdaNeedsBody('POST', '/2015-03-31/functions/')).toBe(true);
    expect(lambdaNeedsBody('PUT', '/2015-03-31/functions/f/configuration')).toBe(true);
    expect(lambdaNeedsBody('PUT', '/2015-03-31/functions/f/code')).toBe(true);
    expect(lambdaNeedsBody('POST', '/2015-03-31/event-source-mappings')).toBe(true);
    expect(lambdaNeedsBody('POST', '/2015-03-31/functions/f/invocations')).toBe(false);
    expect(lambdaNeedsBody('POST', '/2021-11-15/functions/f/response-streaming-invocations')).toBe(false);
    expect(lambdaNeedsBody('POST', '/2014-11-13/functions/f/invoke-async')).toBe(false);
    expect(lambdaNeedsBody('GET', '/2015-03-31/functions/f')).toBe(false);
  });

  it('reads the names any other body mentions; a body it did not get is unknown (class 110)', () => {
    const body = Buffer.from(
      JSON.stringify({
        FunctionName: 'sink',
        EventSourceArn: 'arn:aws:dynamodb:us-east-1:1:table/secrets/stream/x',
      }),
    );
    const cls = classifyLambda({
      service: 'lambda',
      method: 'POST',
      rawPath: '/2015-03-31/event-source-mappings',
      query: {},
      headers: {},
      body,
    });
    expect(cls.operation).toBe('lambda:CreateEventSourceMapping');
    expect(cls.mentions).toContain('arn:aws:dynamodb:us-east-1:1:table/secrets/stream/x');
    const unread = classifyLambda({
      service: 'lambda',
      method: 'PUT',
      rawPath: '/2015-03-31/functions/f/code',
      query: {},
      headers: {},
    });
    expect(unread.operation).toBeUndefined();
    // An invocation's payload is the function's data: not read.
    const invoke = classifyLambda({
      service: 'lambda',
      method: 'POST',
      rawPath: '/2015-03-31/functions/f/invocations',
      query: {},
      headers: {},
    });
    expect(invoke.operation).toBe('lambda:InvokeFunction');
    expect(invoke.mentions).toBeUndefined();
  });

  it('reads the query string: only the parameters an operation takes, once (class 56)', () => {
    // moto runs `?Action=…` as that operation; AWS's own paths change operation with `?List=ALL` and
    // `?find=LayerVersion`.
    expect(
      withQuery('GET', '/2015-03-31/functions/billing', { Action: 'DeleteFunction' }).operation,
    ).toBeUndefined();
    expect(withQuery('GET', '/2015-03-31/functions/billing', { Qualifier: '3' })).toMatchObject({
      operation: 'lambda:GetFunction',
      resource: 'billing',
    });
    expect(
      withQuery('GET', '/2015-03-31/functions/billing', { Qualifier: ['3', '4'] }).operation,
    ).toBeUndefined();
    expect(withQuery('GET', '/2015-03-31/functions/billing', { qualifier: '3' }).operation).toBeUndefined();
    expect(
      withQuery('GET', '/2018-10-31/layers', {
        find: 'LayerVersion',
        Arn: 'arn:aws:lambda:us-east-1:1:layer:x:1',
      }),
    ).toMatchObject({
      operation: 'lambda:GetLayerVersion',
      resource: 'arn:aws:lambda:us-east-1:1:layer:x:1',
    });
    expect(withQuery('GET', '/2018-10-31/layers', { find: 'Other' }).operation).toBeUndefined();
    expect(withQuery('GET', '/2018-10-31/layers', { find: 'LayerVersion' }).operation).toBeUndefined();
    expect(withQuery('GET', '/2018-10-31/layers', { MaxItems: '5' }).operation).toBe('lambda:ListLayers');
    expect(
      withQuery('GET', '/2019-09-30/functions/billing/provisioned-concurrency', { List: 'ALL' }).operation,
    ).toBe('lambda:ListProvisionedConcurrencyConfigs');
    expect(
      withQuery('GET', '/2019-09-30/functions/billing/provisioned-concurrency', { Qualifier: 'live' })
        .operation,
    ).toBe('lambda:GetProvisionedConcurrencyConfig');
    expect(
      withQuery('GET', '/2019-09-30/functions/billing/provisioned-concurrency', { List: 'all' }).operation,
    ).toBeUndefined();
    expect(withQuery('DELETE', '/2017-03-31/tags/arn', { tagKeys: ['a', 'b'] }).operation).toBe(
      'lambda:UntagResource',
    );
    expect(
      withQuery('POST', '/2015-03-31/functions/billing/invocations', { Qualifier: 'live', x: '1' }).reason,
    ).toMatch(/x is not one lambda:InvokeFunction takes/);
  });
});
