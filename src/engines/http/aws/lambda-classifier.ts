// Lambda's REST-JSON API → lambda:<Operation>, from the method and the path template of each
// operation (Lambda API Reference). Invoke is lambda:InvokeFunction, its IAM action. A path that fits
// no template is unknown. The resource is the function (name or ARN, decoded), layer or mapping id.
// CreateFunction and UpdateFunctionConfiguration name the role the function runs as and may set tags:
// their bodies are read (buffered, capped), the role decided as iam:PassRole (passed-roles.ts) and the
// tags as lambda:TagResource (tags-on-create.ts). Other bodies (an invocation's payload) are not read.

import type { AwsClassification, AwsRequest } from './aws-request.js';
import { unknown } from './aws-request.js';
import { jsonObjectBody } from './json-classifier.js';
import { rolesInJson, withPassedRoles } from './passed-roles.js';
import { tagsInJson, withTagsOnCreate } from './tags-on-create.js';

/** The operations whose bodies pass a role or set tags. */
const READS_BODY = new Set(['CreateFunction', 'UpdateFunctionConfiguration']);

type Route = readonly [method: string, template: string, operation: string];

/** `{f}` is one path segment (function name or ARN, URL-encoded); `{*}` any one segment. */
const ROUTES: readonly Route[] = [
  ['GET', '/2015-03-31/functions', 'ListFunctions'],
  ['POST', '/2015-03-31/functions', 'CreateFunction'],
  ['GET', '/2015-03-31/functions/{f}', 'GetFunction'],
  ['DELETE', '/2015-03-31/functions/{f}', 'DeleteFunction'],
  ['GET', '/2015-03-31/functions/{f}/configuration', 'GetFunctionConfiguration'],
  ['PUT', '/2015-03-31/functions/{f}/configuration', 'UpdateFunctionConfiguration'],
  ['PUT', '/2015-03-31/functions/{f}/code', 'UpdateFunctionCode'],
  ['POST', '/2015-03-31/functions/{f}/invocations', 'InvokeFunction'],
  ['POST', '/2021-11-15/functions/{f}/response-streaming-invocations', 'InvokeFunction'],
  ['POST', '/2014-11-13/functions/{f}/invoke-async', 'InvokeAsync'],
  ['GET', '/2015-03-31/functions/{f}/versions', 'ListVersionsByFunction'],
  ['POST', '/2015-03-31/functions/{f}/versions', 'PublishVersion'],
  ['GET', '/2015-03-31/functions/{f}/aliases', 'ListAliases'],
  ['POST', '/2015-03-31/functions/{f}/aliases', 'CreateAlias'],
  ['GET', '/2015-03-31/functions/{f}/aliases/{*}', 'GetAlias'],
  ['PUT', '/2015-03-31/functions/{f}/aliases/{*}', 'UpdateAlias'],
  ['DELETE', '/2015-03-31/functions/{f}/aliases/{*}', 'DeleteAlias'],
  ['GET', '/2015-03-31/functions/{f}/policy', 'GetPolicy'],
  ['POST', '/2015-03-31/functions/{f}/policy', 'AddPermission'],
  ['DELETE', '/2015-03-31/functions/{f}/policy/{*}', 'RemovePermission'],
  ['PUT', '/2017-10-31/functions/{f}/concurrency', 'PutFunctionConcurrency'],
  ['DELETE', '/2017-10-31/functions/{f}/concurrency', 'DeleteFunctionConcurrency'],
  ['GET', '/2019-09-30/functions/{f}/concurrency', 'GetFunctionConcurrency'],
  ['GET', '/2019-09-30/functions/{f}/provisioned-concurrency', 'GetProvisionedConcurrencyConfig'],
  ['PUT', '/2019-09-30/functions/{f}/provisioned-concurrency', 'PutProvisionedConcurrencyConfig'],
  ['DELETE', '/2019-09-30/functions/{f}/provisioned-concurrency', 'DeleteProvisionedConcurrencyConfig'],
  ['GET', '/2019-09-25/functions/{f}/event-invoke-config', 'GetFunctionEventInvokeConfig'],
  ['PUT', '/2019-09-25/functions/{f}/event-invoke-config', 'PutFunctionEventInvokeConfig'],
  ['POST', '/2019-09-25/functions/{f}/event-invoke-config', 'UpdateFunctionEventInvokeConfig'],
  ['DELETE', '/2019-09-25/functions/{f}/event-invoke-config', 'DeleteFunctionEventInvokeConfig'],
  ['GET', '/2019-09-25/functions/{f}/event-invoke-config/list', 'ListFunctionEventInvokeConfigs'],
  ['GET', '/2021-10-31/functions/{f}/url', 'GetFunctionUrlConfig'],
  ['POST', '/2021-10-31/functions/{f}/url', 'CreateFunctionUrlConfig'],
  ['PUT', '/2021-10-31/functions/{f}/url', 'UpdateFunctionUrlConfig'],
  ['DELETE', '/2021-10-31/functions/{f}/url', 'DeleteFunctionUrlConfig'],
  ['GET', '/2021-10-31/functions/{f}/urls', 'ListFunctionUrlConfigs'],
  ['GET', '/2020-06-30/functions/{f}/code-signing-config', 'GetFunctionCodeSigningConfig'],
  ['PUT', '/2020-06-30/functions/{f}/code-signing-config', 'PutFunctionCodeSigningConfig'],
  ['DELETE', '/2020-06-30/functions/{f}/code-signing-config', 'DeleteFunctionCodeSigningConfig'],
  ['GET', '/2015-03-31/event-source-mappings', 'ListEventSourceMappings'],
  ['POST', '/2015-03-31/event-source-mappings', 'CreateEventSourceMapping'],
  ['GET', '/2015-03-31/event-source-mappings/{f}', 'GetEventSourceMapping'],
  ['PUT', '/2015-03-31/event-source-mappings/{f}', 'UpdateEventSourceMapping'],
  ['DELETE', '/2015-03-31/event-source-mappings/{f}', 'DeleteEventSourceMapping'],
  ['GET', '/2017-03-31/tags/{f}', 'ListTags'],
  ['POST', '/2017-03-31/tags/{f}', 'TagResource'],
  ['DELETE', '/2017-03-31/tags/{f}', 'UntagResource'],
  ['GET', '/2016-08-19/account-settings', 'GetAccountSettings'],
  ['GET', '/2018-10-31/layers', 'ListLayers'],
  ['GET', '/2018-10-31/layers/{f}/versions', 'ListLayerVersions'],
  ['POST', '/2018-10-31/layers/{f}/versions', 'PublishLayerVersion'],
  ['GET', '/2018-10-31/layers/{f}/versions/{*}', 'GetLayerVersion'],
  ['DELETE', '/2018-10-31/layers/{f}/versions/{*}', 'DeleteLayerVersion'],
  ['GET', '/2018-10-31/layers/{f}/versions/{*}/policy', 'GetLayerVersionPolicy'],
  ['POST', '/2018-10-31/layers/{f}/versions/{*}/policy', 'AddLayerVersionPermission'],
  ['DELETE', '/2018-10-31/layers/{f}/versions/{*}/policy/{*}', 'RemoveLayerVersionPermission'],
];

function segments(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

const COMPILED = ROUTES.map(([method, template, operation]) => ({
  method,
  parts: segments(template),
  operation,
}));

export function classifyLambda(req: AwsRequest): AwsClassification {
  const method = req.method.toUpperCase();
  const parts = segments(req.rawPath);
  // A trailing slash is allowed (`/2015-03-31/functions/`), an empty segment in the middle is not.
  if (/\/\/./.test(req.rawPath)) return unknown('rest-json', 'the request path has an empty segment');
  for (const route of COMPILED) {
    if (route.method !== method || route.parts.length !== parts.length) continue;
    let resource: string | undefined;
    let ok = true;
    for (let i = 0; i < parts.length && ok; i++) {
      const want = route.parts[i]!;
      const got = parts[i]!;
      if (want === '{f}' || want === '{*}') {
        let decoded: string;
        try {
          decoded = decodeURIComponent(got);
        } catch {
          return unknown('rest-json', 'the request path has a malformed %-escape');
        }
        if (decoded === '.' || decoded === '..' || decoded.includes('/')) ok = false;
        else if (want === '{f}') resource = decoded;
      } else ok = want === got;
    }
    if (!ok) continue;
    const cls: AwsClassification = {
      protocol: 'rest-json',
      operation: `lambda:${route.operation}`,
      ...(resource !== undefined ? { resource } : {}),
    };
    return READS_BODY.has(route.operation) ? withBody(cls, req.body) : cls;
  }
  return unknown(
    'rest-json',
    `${method} ${req.rawPath.slice(0, 200)} is not a Lambda operation Gatehouse knows`,
  );
}

/** Whether a request is one whose body the classifier reads (aws-exchange.ts buffers it, capped). */
export function lambdaNeedsBody(method: string, rawPath: string): boolean {
  const m = method.toUpperCase();
  const parts = segments(rawPath);
  return (
    (m === 'POST' && parts.length === 2 && parts[0] === '2015-03-31' && parts[1] === 'functions') ||
    (m === 'PUT' && parts.length === 4 && parts[0] === '2015-03-31' && parts[3] === 'configuration')
  );
}

/** The role and tags a function's configuration names, decided with it. */
function withBody(cls: AwsClassification, body: Buffer | undefined): AwsClassification {
  if (body === undefined) return unknown('rest-json', 'the request body was not read');
  const parsed = jsonObjectBody('rest-json', body);
  if (!('object' in parsed)) return parsed;
  const passing = withPassedRoles('lambda', cls, () => rolesInJson(parsed.object));
  return withTagsOnCreate('lambda', passing, () => tagsInJson(parsed.object));
}
