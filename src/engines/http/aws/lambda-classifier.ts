// Lambda's REST-JSON API → lambda:<Operation>, from the method and the path template of each
// operation (Lambda API Reference). Invoke is lambda:InvokeFunction, its IAM action. A path that fits
// no template is unknown. The resource is the function (name or ARN, decoded), layer or mapping id.
// CreateFunction and UpdateFunctionConfiguration name the role the function runs as and may set tags:
// their bodies are read (buffered, capped), the role decided as iam:PassRole (passed-roles.ts) and the
// tags as lambda:TagResource (tags-on-create.ts). Other bodies (an invocation's payload) are not read.

import type { AwsClassification, AwsRequest } from './aws-request.js';
import { unknown } from './aws-request.js';
import { jsonObjectBody } from './json-classifier.js';
import { mentionsInJson } from './mentions.js';
import { rolesInJson, withPassedRoles } from './passed-roles.js';
import { tagsInJson, withTagsOnCreate } from './tags-on-create.js';

/** The operations whose bodies pass a role or set tags. */
const READS_BODY = new Set(['CreateFunction', 'UpdateFunctionConfiguration']);
/**
 * The operations whose body is data for the function, not parameters (an invocation's payload): every
 * other request with a body is read for the names it mentions (an event source mapping's
 * `EventSourceArn`, a code update's `S3Bucket`, a destination's ARN), which deny and review rules on
 * resources look at (docs/security.md, class 110).
 */
const PAYLOAD_BODY = new Set(['InvokeFunction', 'InvokeAsync']);
/** The last path segment of the invocation routes (PAYLOAD_BODY): their bodies are not buffered. */
const PAYLOAD_SEGMENTS = new Set(['invocations', 'response-streaming-invocations', 'invoke-async']);

/**
 * A route: its method, its path template (and the literal query parameter that makes it another
 * operation on the same path, `?List=ALL`), the operation, and the query parameters it takes (the Lambda
 * API Reference; a parameter it does not take makes the request unknown).
 */
type Route = readonly [method: string, template: string, operation: string, params?: readonly string[]];

/** `{f}` is one path segment (function name or ARN, URL-encoded); `{*}` any one segment. */
const ROUTES: readonly Route[] = [
  [
    'GET',
    '/2015-03-31/functions',
    'ListFunctions',
    ['MasterRegion', 'FunctionVersion', 'Marker', 'MaxItems'],
  ],
  ['POST', '/2015-03-31/functions', 'CreateFunction'],
  ['GET', '/2015-03-31/functions/{f}', 'GetFunction', ['Qualifier']],
  ['DELETE', '/2015-03-31/functions/{f}', 'DeleteFunction', ['Qualifier']],
  ['GET', '/2015-03-31/functions/{f}/configuration', 'GetFunctionConfiguration', ['Qualifier']],
  ['PUT', '/2015-03-31/functions/{f}/configuration', 'UpdateFunctionConfiguration'],
  ['PUT', '/2015-03-31/functions/{f}/code', 'UpdateFunctionCode'],
  ['POST', '/2015-03-31/functions/{f}/invocations', 'InvokeFunction', ['Qualifier']],
  ['POST', '/2021-11-15/functions/{f}/response-streaming-invocations', 'InvokeFunction', ['Qualifier']],
  ['POST', '/2014-11-13/functions/{f}/invoke-async', 'InvokeAsync'],
  ['GET', '/2015-03-31/functions/{f}/versions', 'ListVersionsByFunction', ['Marker', 'MaxItems']],
  ['POST', '/2015-03-31/functions/{f}/versions', 'PublishVersion'],
  ['GET', '/2015-03-31/functions/{f}/aliases', 'ListAliases', ['FunctionVersion', 'Marker', 'MaxItems']],
  ['POST', '/2015-03-31/functions/{f}/aliases', 'CreateAlias'],
  ['GET', '/2015-03-31/functions/{f}/aliases/{*}', 'GetAlias'],
  ['PUT', '/2015-03-31/functions/{f}/aliases/{*}', 'UpdateAlias'],
  ['DELETE', '/2015-03-31/functions/{f}/aliases/{*}', 'DeleteAlias'],
  ['GET', '/2015-03-31/functions/{f}/policy', 'GetPolicy', ['Qualifier']],
  ['POST', '/2015-03-31/functions/{f}/policy', 'AddPermission', ['Qualifier']],
  ['DELETE', '/2015-03-31/functions/{f}/policy/{*}', 'RemovePermission', ['Qualifier', 'RevisionId']],
  ['PUT', '/2017-10-31/functions/{f}/concurrency', 'PutFunctionConcurrency'],
  ['DELETE', '/2017-10-31/functions/{f}/concurrency', 'DeleteFunctionConcurrency'],
  ['GET', '/2019-09-30/functions/{f}/concurrency', 'GetFunctionConcurrency'],
  [
    'GET',
    '/2019-09-30/functions/{f}/provisioned-concurrency?List=ALL',
    'ListProvisionedConcurrencyConfigs',
    ['Marker', 'MaxItems'],
  ],
  [
    'GET',
    '/2019-09-30/functions/{f}/provisioned-concurrency',
    'GetProvisionedConcurrencyConfig',
    ['Qualifier'],
  ],
  [
    'PUT',
    '/2019-09-30/functions/{f}/provisioned-concurrency',
    'PutProvisionedConcurrencyConfig',
    ['Qualifier'],
  ],
  [
    'DELETE',
    '/2019-09-30/functions/{f}/provisioned-concurrency',
    'DeleteProvisionedConcurrencyConfig',
    ['Qualifier'],
  ],
  ['GET', '/2019-09-25/functions/{f}/event-invoke-config', 'GetFunctionEventInvokeConfig', ['Qualifier']],
  ['PUT', '/2019-09-25/functions/{f}/event-invoke-config', 'PutFunctionEventInvokeConfig', ['Qualifier']],
  ['POST', '/2019-09-25/functions/{f}/event-invoke-config', 'UpdateFunctionEventInvokeConfig', ['Qualifier']],
  [
    'DELETE',
    '/2019-09-25/functions/{f}/event-invoke-config',
    'DeleteFunctionEventInvokeConfig',
    ['Qualifier'],
  ],
  [
    'GET',
    '/2019-09-25/functions/{f}/event-invoke-config/list',
    'ListFunctionEventInvokeConfigs',
    ['Marker', 'MaxItems'],
  ],
  ['GET', '/2021-10-31/functions/{f}/url', 'GetFunctionUrlConfig', ['Qualifier']],
  ['POST', '/2021-10-31/functions/{f}/url', 'CreateFunctionUrlConfig', ['Qualifier']],
  ['PUT', '/2021-10-31/functions/{f}/url', 'UpdateFunctionUrlConfig', ['Qualifier']],
  ['DELETE', '/2021-10-31/functions/{f}/url', 'DeleteFunctionUrlConfig', ['Qualifier']],
  ['GET', '/2021-10-31/functions/{f}/urls', 'ListFunctionUrlConfigs', ['Marker', 'MaxItems']],
  ['GET', '/2020-06-30/functions/{f}/code-signing-config', 'GetFunctionCodeSigningConfig'],
  ['PUT', '/2020-06-30/functions/{f}/code-signing-config', 'PutFunctionCodeSigningConfig'],
  ['DELETE', '/2020-06-30/functions/{f}/code-signing-config', 'DeleteFunctionCodeSigningConfig'],
  [
    'GET',
    '/2015-03-31/event-source-mappings',
    'ListEventSourceMappings',
    ['EventSourceArn', 'FunctionName', 'Marker', 'MaxItems'],
  ],
  ['POST', '/2015-03-31/event-source-mappings', 'CreateEventSourceMapping'],
  ['GET', '/2015-03-31/event-source-mappings/{f}', 'GetEventSourceMapping'],
  ['PUT', '/2015-03-31/event-source-mappings/{f}', 'UpdateEventSourceMapping'],
  ['DELETE', '/2015-03-31/event-source-mappings/{f}', 'DeleteEventSourceMapping'],
  ['GET', '/2017-03-31/tags/{f}', 'ListTags'],
  ['POST', '/2017-03-31/tags/{f}', 'TagResource'],
  ['DELETE', '/2017-03-31/tags/{f}', 'UntagResource', ['tagKeys']],
  ['GET', '/2016-08-19/account-settings', 'GetAccountSettings'],
  // GetLayerVersionByArn: IAM's lambda:GetLayerVersion, on the layer version its Arn names.
  ['GET', '/2018-10-31/layers?find=LayerVersion', 'GetLayerVersion', ['Arn']],
  [
    'GET',
    '/2018-10-31/layers',
    'ListLayers',
    ['CompatibleRuntime', 'Marker', 'MaxItems', 'CompatibleArchitecture'],
  ],
  [
    'GET',
    '/2018-10-31/layers/{f}/versions',
    'ListLayerVersions',
    ['CompatibleRuntime', 'Marker', 'MaxItems', 'CompatibleArchitecture'],
  ],
  ['POST', '/2018-10-31/layers/{f}/versions', 'PublishLayerVersion'],
  ['GET', '/2018-10-31/layers/{f}/versions/{*}', 'GetLayerVersion'],
  ['DELETE', '/2018-10-31/layers/{f}/versions/{*}', 'DeleteLayerVersion'],
  ['GET', '/2018-10-31/layers/{f}/versions/{*}/policy', 'GetLayerVersionPolicy'],
  ['POST', '/2018-10-31/layers/{f}/versions/{*}/policy', 'AddLayerVersionPermission', ['RevisionId']],
  [
    'DELETE',
    '/2018-10-31/layers/{f}/versions/{*}/policy/{*}',
    'RemoveLayerVersionPermission',
    ['RevisionId'],
  ],
];

function segments(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

const COMPILED = ROUTES.map(([method, template, operation, params]) => {
  const [path, literal] = template.split('?') as [string, string | undefined];
  const eq = literal?.indexOf('=') ?? -1;
  return {
    method,
    parts: segments(path),
    operation,
    // The parameter whose value makes this route another operation (`List=ALL`), if any.
    literal: literal === undefined ? undefined : ([literal.slice(0, eq), literal.slice(eq + 1)] as const),
    params: new Set(params ?? []),
  };
});

/** Parameters a Lambda request may give more than once (UntagResource's keys). */
const REPEATABLE = new Set(['tagKeys']);

export function classifyLambda(req: AwsRequest): AwsClassification {
  const method = req.method.toUpperCase();
  const parts = segments(req.rawPath);
  // A trailing slash is allowed (`/2015-03-31/functions/`), an empty segment in the middle is not.
  if (/\/\/./.test(req.rawPath)) return unknown('rest-json', 'the request path has an empty segment');
  // The query string is read as Lambda reads it: every parameter is one the operation takes, once
  // (docs/security.md, class 56). A parameter it does not take may be read by an endpoint as something
  // else entirely (moto reads `?Action=DeleteFunction` as the operation), and `?List=ALL` or
  // `?find=LayerVersion` make the same path another operation.
  for (const [name, value] of Object.entries(req.query))
    if (Array.isArray(value) && !REPEATABLE.has(name))
      return unknown('rest-json', `query parameter ${name.slice(0, 60)} is given more than once`);
  let misfit: string | undefined;
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
    if (route.literal !== undefined && req.query[route.literal[0]] !== route.literal[1]) continue;
    const stray = Object.keys(req.query).find((k) => !route.params.has(k) && k !== route.literal?.[0]);
    if (stray !== undefined) {
      misfit ??= `query parameter ${stray.slice(0, 60)} is not one lambda:${route.operation} takes`;
      continue;
    }
    // GetLayerVersionByArn names its layer version in the query.
    if (route.params.has('Arn')) {
      const arn = req.query['Arn'];
      if (typeof arn !== 'string' || arn === '')
        return unknown('rest-json', 'GetLayerVersionByArn without Arn');
      resource = arn;
    }
    const cls: AwsClassification = {
      protocol: 'rest-json',
      operation: `lambda:${route.operation}`,
      ...(resource !== undefined ? { resource } : {}),
    };
    if (READS_BODY.has(route.operation)) return withBody(cls, req.body);
    if ((method === 'POST' || method === 'PUT') && !PAYLOAD_BODY.has(route.operation))
      return withMentions(cls, req.body);
    return cls;
  }
  return unknown(
    'rest-json',
    misfit ?? `${method} ${req.rawPath.slice(0, 200)} is not a Lambda operation Gatehouse knows`,
  );
}

/** Whether a request is one whose body the classifier reads (aws-exchange.ts buffers it, capped). */
export function lambdaNeedsBody(method: string, rawPath: string): boolean {
  const m = method.toUpperCase();
  if (m !== 'POST' && m !== 'PUT') return false;
  // Every body but an invocation's payload (a request read otherwise than routed is unknown: withMentions).
  const parts = segments(rawPath);
  return !(parts.length === 4 && parts[1] === 'functions' && PAYLOAD_SEGMENTS.has(parts[3]!));
}

/** The names any other body mentions, for deny and review rules on resources. */
function withMentions(cls: AwsClassification, body: Buffer | undefined): AwsClassification {
  if (body === undefined) return unknown('rest-json', 'the request body was not read');
  const parsed = jsonObjectBody('rest-json', body);
  if (!('object' in parsed)) return parsed;
  return { ...cls, mentions: mentionsInJson(parsed.object) };
}

/** The role and tags a function's configuration names, decided with it. */
function withBody(cls: AwsClassification, body: Buffer | undefined): AwsClassification {
  if (body === undefined) return unknown('rest-json', 'the request body was not read');
  const parsed = jsonObjectBody('rest-json', body);
  if (!('object' in parsed)) return parsed;
  const withMentions: AwsClassification = { ...cls, mentions: mentionsInJson(parsed.object) };
  const passing = withPassedRoles('lambda', withMentions, () => rolesInJson(parsed.object));
  return withTagsOnCreate('lambda', passing, () => tagsInJson(parsed.object));
}
