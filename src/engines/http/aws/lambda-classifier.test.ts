import { describe, expect, it } from 'vitest';
import { classifyLambda } from './lambda-classifier.js';

const lambda = (method: string, rawPath: string) =>
  classifyLambda({ service: 'lambda', method, rawPath, query: {}, headers: {} });

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
});
