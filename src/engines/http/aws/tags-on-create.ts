// A request that sets tags while it does something else (ec2:RunInstances with TagSpecifications,
// iam:CreateRole with Tags, sts:AssumeRole with session Tags, dynamodb:CreateTable with Tags…) makes
// IAM ask the caller for the tagging action too ("Grant permission to tag resources during creation",
// IAM User Guide; `sts:TagSession` for session tags). Tags are not decoration: IAM policies grant by
// them (attribute-based access control, `aws:ResourceTag`, `aws:PrincipalTag`), so an agent that may
// not tag could still give a role it creates `team=admins`, or itself a session tag another role's
// trust trusts, under a request named for something else — and the gateway's credentials are the
// caller IAM checks. Each such request is decided as the tagging action too, an implied part of it
// (HttpAction.implied), with the tags in its record and in what an approver sees.
//
// Which parameters carry tags differs per service; over-approximating is the safe side: a request's
// top-level `Tags`/`tags`/`TagSpecifications`/`TagList` (JSON) or any `Tags.…`/`Tag.…`/
// `TagSpecification.…` parameter (query) counts, except on the tagging operations themselves.

import { canonicalPath } from '../../../wire/http/canonical-path.js';
import { clipShown } from '../../../core/visible-text.js';
import type { AwsClassification, ImpliedRequest } from './aws-request.js';
import { unknown } from './aws-request.js';

/** The tagging action IAM asks for, per service, when it is not `<service>:TagResource`. */
const TAG_ACTION: Readonly<Record<string, string>> = {
  ec2: 'ec2:CreateTags',
  sqs: 'sqs:TagQueue',
  sts: 'sts:TagSession',
  ssm: 'ssm:AddTagsToResource',
  rds: 'rds:AddTagsToResource',
  elasticloadbalancing: 'elasticloadbalancing:AddTags',
  autoscaling: 'autoscaling:CreateOrUpdateTags',
  cloudtrail: 'cloudtrail:AddTags',
  elasticache: 'elasticache:AddTagsToResource',
  redshift: 'redshift:CreateTags',
  emr: 'elasticmapreduce:AddTags',
  elasticmapreduce: 'elasticmapreduce:AddTags',
};

/** IAM's `Create<Noun>`/`Upload<Noun>` asks for `iam:Tag<Noun>` (CreateVirtualMFADevice: TagMFADevice). */
function iamTagAction(operation: string): string {
  const op = operation.slice('iam:'.length);
  if (op === 'CreateVirtualMFADevice') return 'iam:TagMFADevice';
  const noun = /^(?:Create|Upload)(.+)$/.exec(op)?.[1];
  return noun ? `iam:Tag${noun}` : 'iam:TagResource';
}

/** The operations that tag (or untag): their tags are what they are decided as already. */
const TAGGING = /^[a-z0-9-]+:(?:Tag|Untag|AddTags|RemoveTags|CreateTags|DeleteTags|CreateOrUpdateTags)/;

/** Tags one request may set before it is refused as unreadable. */
const MAX_TAGS = 256;
/** Characters of the tags shown in the record and to an approver, at most (then clipped, saying so). */
const SHOWN_TAGS_CHARS = 2048;

const JSON_TAG_KEYS = new Set(['Tags', 'tags', 'TagSpecifications', 'TagList']);

type Tag = readonly [key: string, value: string];
type Found = Tag[] | 'unreadable';

function str(v: unknown): string {
  return typeof v === 'string' ? v : (JSON.stringify(v) ?? '');
}

/** `[{Key, Value}]`, `{k: v}`, `[{ResourceType, Tags: [...]}]` (EC2's TagSpecifications). */
function tagsIn(value: unknown, out: Tag[], depth = 0): boolean {
  if (depth > 4 || out.length > MAX_TAGS) return false;
  if (Array.isArray(value)) {
    for (const v of value) if (!tagsIn(v, out, depth + 1)) return false;
    return true;
  }
  if (value === null || typeof value !== 'object') return value === undefined;
  const o = value as Record<string, unknown>;
  const key = o['Key'] ?? o['key'];
  if (key !== undefined) {
    out.push([str(key), str(o['Value'] ?? o['value'] ?? '')]);
    return true;
  }
  const nested = o['Tags'] ?? o['tags'];
  if (nested !== undefined) return tagsIn(nested, out, depth + 1);
  for (const [k, v] of Object.entries(o)) out.push([k, str(v)]);
  return true;
}

/** The tags a JSON body's top level sets. */
export function tagsInJson(body: Readonly<Record<string, unknown>>): Found {
  const out: Tag[] = [];
  for (const k of JSON_TAG_KEYS) {
    if (!(k in body)) continue;
    if (!tagsIn(body[k], out)) return 'unreadable';
  }
  return out.length > MAX_TAGS ? 'unreadable' : out;
}

const QUERY_TAG = /^(?:Tags|Tag|TagSpecification|TagSpecifications|TagList)\.(.+)$/;

/** The tags query-protocol parameters set (`Tags.member.1.Key`, `TagSpecification.1.Tag.2.Value`). */
export function tagsInQuery(params: ReadonlyMap<string, string>): Found {
  const keys = new Map<string, string>();
  const values = new Map<string, string>();
  let any = false;
  for (const [name, value] of params) {
    const m = QUERY_TAG.exec(name);
    if (!m) continue;
    any = true;
    const rest = m[1]!;
    if (rest.endsWith('.Key')) keys.set(rest.slice(0, -4), value);
    else if (rest.endsWith('.Value')) values.set(rest.slice(0, -6), value);
  }
  if (!any) return [];
  const out: Tag[] = [...keys].map(([at, key]) => [key, values.get(at) ?? '']);
  for (const [at, value] of values) if (!keys.has(at)) out.push(['', value]);
  // A tag parameter that names neither a key nor a value (ResourceType) still marks the request.
  if (out.length === 0) out.push(['', '']);
  return out.length > MAX_TAGS ? 'unreadable' : out;
}

function shown(tags: readonly Tag[]): string {
  return clipShown(tags.map(([k, v]) => `${k}=${v}`).join(', '), SHOWN_TAGS_CHARS);
}

/**
 * The classification with the tags it sets decided as the tagging action IAM asks for. `found` reads
 * them (only for an operation that is not itself a tagging one).
 */
export function withTagsOnCreate(
  service: string,
  cls: AwsClassification,
  found: () => Found,
): AwsClassification {
  const operation = cls.operation;
  if (operation === undefined || TAGGING.test(operation)) return cls;
  const tags = found();
  if (tags === 'unreadable')
    return unknown(cls.protocol, `the request's tags cannot be read (or are over ${MAX_TAGS})`);
  if (tags.length === 0) return cls;
  const root = canonicalPath('/', {});
  if (!root.ok) return unknown(cls.protocol, 'the tagging cannot be named');
  const action =
    service === 'iam' ? iamTagAction(operation) : (TAG_ACTION[service] ?? `${service}:TagResource`);
  const tagging: ImpliedRequest = {
    operation: action,
    method: 'POST',
    path: root,
    rawQuery: '',
    resource: cls.resource ?? '*',
    // In the record's text and what an approver sees: `+ iam:TagRole POST / [tags: team=admins]`.
    headers: { tags: shown(tags) },
  };
  return { ...cls, implied: [...(cls.implied ?? []), tagging] };
}
