// A request that names an object version (`?versionId=<id>`) asks IAM for another action than the same
// request without one ("Required permissions for Amazon S3 API operations", S3 User Guide): a DELETE of
// a version is s3:DeleteObjectVersion, a permanent deletion, where a DELETE without one only adds a
// delete marker (recoverable) in a versioned bucket; a GET of a version is s3:GetObjectVersion, which
// reads what was overwritten or deleted; likewise the ACL, tags, attributes and torrent of a version.
//
// Gatehouse names every request by its API operation (s3:DeleteObject, with or without a version), so
// a rule on `s3:DeleteObjectVersion` matched nothing and a policy could not let an agent delete objects
// without letting it destroy their history. The version's action is now decided too, as an implied
// request (the same method, path and query), beside the operation: a rule on either applies, all must
// be allowed. Keeping the operation's own name means no rule written before matches less than it did
// (a deny of s3:GetObject still covers a GET of a version); an allow must now allow both, which is
// never looser than IAM. The same holds for the requests a request implies (a copy's source read, its
// tag copy, each key of a DeleteObjects): each that names a version is decided as its version action too.
//
// Fail closed: a versionId on an operation that takes none (a PUT of an object, a multipart upload, a
// bucket-level request), given twice, or not in the form S3 hands them out, leaves the request unknown.

import type { AwsClassification, AwsRequest, ImpliedRequest } from './aws-request.js';
import { unknown } from './aws-request.js';
import { encodeStrict, objectPath, validVersionId } from './s3-copy-source.js';
import { parseQuery } from '../sigv4/canonical-query.js';

/** Operations whose IAM action differs for a version: the action, and the sub-resource it is asked on. */
const VERSION_ACTIONS: Readonly<Record<string, { readonly action: string; readonly sub: string }>> = {
  's3:GetObject': { action: 's3:GetObjectVersion', sub: '' },
  's3:HeadObject': { action: 's3:GetObjectVersion', sub: '' },
  's3:DeleteObject': { action: 's3:DeleteObjectVersion', sub: '' },
  's3:GetObjectAcl': { action: 's3:GetObjectVersionAcl', sub: 'acl' },
  's3:PutObjectAcl': { action: 's3:PutObjectVersionAcl', sub: 'acl' },
  's3:GetObjectTagging': { action: 's3:GetObjectVersionTagging', sub: 'tagging' },
  's3:PutObjectTagging': { action: 's3:PutObjectVersionTagging', sub: 'tagging' },
  's3:DeleteObjectTagging': { action: 's3:DeleteObjectVersionTagging', sub: 'tagging' },
  's3:GetObjectAttributes': { action: 's3:GetObjectVersionAttributes', sub: 'attributes' },
};

/** Operations that take a versionId and ask IAM for their own action on a version too. */
const SAME_ACTION = new Set([
  's3:GetObjectRetention',
  's3:PutObjectRetention',
  's3:GetObjectLegalHold',
  's3:PutObjectLegalHold',
  's3:RestoreObject',
]);

type Named = { readonly version: string } | 'none' | 'bad';

/** The version a request names: 'none', or 'bad' when repeated or malformed. */
function versionOf(query: Readonly<Record<string, string | string[]>>): Named {
  if (!Object.hasOwn(query, 'versionId')) return 'none';
  const v = query['versionId'];
  return typeof v === 'string' && validVersionId(v) ? { version: v } : 'bad';
}

/** The version action of an implied request that names a version (a copy's source, a deleted key). */
function impliedVersion(i: ImpliedRequest): ImpliedRequest | undefined | 'bad' {
  const spec = VERSION_ACTIONS[i.operation];
  if (spec === undefined) return undefined;
  const query = parseQuery(i.rawQuery);
  if (query === undefined) return 'bad';
  const named = versionOf(query);
  if (named === 'none') return undefined;
  if (named === 'bad') return 'bad';
  return { ...i, operation: spec.action };
}

/** Adds the version actions a request and what it implies ask for (see the header). */
export function withVersionActions(req: AwsRequest, cls: AwsClassification): AwsClassification {
  const operation = cls.operation;
  if (operation === undefined) return cls;
  /** The request's own version action: first, before what it implies. */
  const own: ImpliedRequest[] = [];
  const named = versionOf(req.query);
  if (named === 'bad') return unknown('s3', 'the versionId is repeated or not a version id');
  if (named !== 'none') {
    const spec = VERSION_ACTIONS[operation];
    if (spec === undefined && !SAME_ACTION.has(operation))
      return unknown('s3', `versionId on ${operation}, which takes none`);
    if (spec !== undefined) {
      const resource = cls.resource ?? '';
      const slash = resource.indexOf('/');
      const path = slash > 0 ? objectPath(resource.slice(0, slash), resource.slice(slash + 1)) : undefined;
      if (path === undefined || !path.ok) return unknown('s3', 'the object cannot be named canonically');
      const versionQuery = `versionId=${encodeStrict(named.version)}`;
      own.push({
        operation: spec.action,
        method: req.method.toUpperCase(),
        path,
        rawQuery: spec.sub === '' ? versionQuery : `${spec.sub}=&${versionQuery}`,
        resource,
        // An ACL given to a version is bound with its action, as with PutObjectAcl's own.
        ...(cls.headers !== undefined && spec.action === 's3:PutObjectVersionAcl'
          ? { headers: cls.headers }
          : {}),
      });
    }
  }
  // Each implied request's version action right after it.
  const implied: ImpliedRequest[] = [...own];
  for (const i of cls.implied ?? []) {
    implied.push(i);
    const v = impliedVersion(i);
    if (v === 'bad') return unknown('s3', `the version of ${i.operation} ${i.resource} is not a version id`);
    if (v !== undefined) implied.push(v);
  }
  if (implied.length === (cls.implied?.length ?? 0)) return cls;
  return { ...cls, implied };
}
