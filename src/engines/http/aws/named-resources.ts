// Every resource a request names is decided, not one of them. A DynamoDB BatchGetItem reads each table
// in its RequestItems, an EC2 TerminateInstances ends each InstanceId.N, and a service reads the one
// parameter it defines while ignoring the others a client adds: Gatehouse decided such a request on the
// first name it found (or on the names joined with ",", which a rule's `*` matched across), so a rule
// on `awsResources` allowed `dev/*` let `{"KeyId":"dev/x","SecretId":"prod/db"}` read prod/db, and a
// deny of `secrets` missed `app,secrets` (docs/security.md, class 55).
//
// So the first resource named is the request's own, and the operation is decided again on each other
// one as an implied part (the same request, for that resource): all must be allowed, a deny of any
// refuses the request naming it, a review of any holds it, and the record shows each.

import { canonicalPath } from '../../../wire/http/canonical-path.js';
import type { AwsClassification, ImpliedRequest } from './aws-request.js';
import { unknown } from './aws-request.js';

/** Resources one request may name before it is refused as more than can be shown and decided. */
export const MAX_RESOURCES = 100;

/** The classification deciding its operation on every resource named (distinct, in order found). */
export function withNamedResources(
  cls: AwsClassification,
  method: string,
  named: readonly string[],
): AwsClassification {
  if (cls.operation === undefined) return cls;
  const resources = [...new Set(named)];
  // A name decided as a resource need not be looked at again as a mention.
  const mentioned = cls.mentions;
  if (mentioned !== undefined && mentioned !== 'too-many') {
    const rest = mentioned.filter((m) => !resources.includes(m));
    const { mentions: _, ...without } = cls;
    cls = rest.length === 0 ? without : { ...without, mentions: rest };
  }
  if (resources.length === 0) return cls;
  if (resources.length > MAX_RESOURCES)
    return unknown(cls.protocol, `the request names more than ${MAX_RESOURCES} resources`);
  const [own, ...others] = resources as [string, ...string[]];
  if (others.length === 0) return { ...cls, resource: own };
  const root = canonicalPath('/', {});
  if (!root.ok) return unknown(cls.protocol, 'the resources cannot be named');
  const each: ImpliedRequest[] = others.map((resource) => ({
    operation: cls.operation!,
    method,
    path: root,
    rawQuery: '',
    resource,
    headers: { resource },
  }));
  return { ...cls, resource: own, implied: [...(cls.implied ?? []), ...each] };
}
