// The names an S3 configuration body holds, for deny and review rules on resources, and the role it
// hands to S3 (docs/security.md, class 110).
//
// A bucket's configuration names other resources S3 then acts on with the bucket owner's (the
// gateway's) authority: a replication rule's destination bucket (S3 writes every new object there,
// as the role the configuration names), a logging target bucket, an inventory's or analytics
// export's destination, a notification's Lambda function, queue or topic, a default encryption key,
// a restore's output bucket. Gatehouse decided such a request on the bucket in its path alone, so a
// deny of `vault` let `PutBucketReplication` on an allowed bucket write into vault, and the replication
// role was never decided as `iam:PassRole`. So the body of every S3 configuration write is read (up to
// maxRequestBodyBytes, as a DeleteObjects body is), every text it holds is a name it mentions, and
// each role it names is decided as `iam:PassRole` (passed-roles.ts).
//
// The XML is read as S3 reads it, and what could be read two ways is refused: a comment, CDATA
// section, DTD or processing instruction (text inside one would be hidden from this reading); a
// malformed tag. Tag keys and values (`<Tag><Key>…</Key><Value>…</Value></Tag>`) are data, not names.
// A bucket policy is JSON: every string in it is a name it mentions.

import type { AwsClassification } from './aws-request.js';
import { unknown } from './aws-request.js';
import { jsonObjectBody } from './json-classifier.js';
import { MAX_DEPTH, MAX_LENGTH, MAX_MENTIONS } from './mentions.js';
import { ROLE_ARN, withPassedRoles } from './passed-roles.js';
import { decodeXmlText } from '../xml-text.js';

/**
 * The sub-resources whose PUT or POST carries a configuration body (bucket and object): every one S3
 * has but `select` (the body is a query over the object's data), `uploads` (no body), `delete` (read
 * by s3-delete-objects.ts) and `tagging` (tags are data).
 */
export const CONFIG_SUBRESOURCES: ReadonlySet<string> = new Set([
  'accelerate',
  'acl',
  'analytics',
  'cors',
  'encryption',
  'intelligent-tiering',
  'inventory',
  'legal-hold',
  'lifecycle',
  'logging',
  'metrics',
  'notification',
  'object-lock',
  'ownershipControls',
  'policy',
  'publicAccessBlock',
  'replication',
  'requestPayment',
  'restore',
  'retention',
  'versioning',
  'website',
]);

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

interface XmlReading {
  readonly texts: string[];
  readonly roles: string[];
}

/** Every text of an XML document outside tags (trimmed, decoded), but tag keys and values; or why not. */
export function readConfigXml(xml: string): XmlReading | string {
  let s = xml;
  const decl = /^\s*<\?xml\s[^?]*\?>/.exec(s);
  if (decl !== null) s = s.slice(decl[0].length);
  if (s.includes('<!') || s.includes('<?'))
    return 'comments, CDATA sections, DTDs and processing instructions are refused in an S3 configuration body';
  const texts: string[] = [];
  const roles: string[] = [];
  const stack: string[] = [];
  let i = 0;
  const text = (raw: string): void => {
    const t = decodeXmlText(raw).trim();
    if (t === '') return;
    if (stack.includes('Tag')) return;
    texts.push(t.length <= MAX_LENGTH ? t : t.slice(0, MAX_LENGTH));
    if (stack.at(-1) === 'Role' || ROLE_ARN.test(t)) roles.push(t);
  };
  while (i < s.length) {
    const lt = s.indexOf('<', i);
    if (lt < 0) {
      text(s.slice(i));
      break;
    }
    text(s.slice(i, lt));
    // A tag ends at the first `>` outside a quoted attribute value.
    let j = lt + 1;
    let quote: string | undefined;
    for (; j < s.length; j++) {
      const c = s[j]!;
      if (quote !== undefined) {
        if (c === quote) quote = undefined;
      } else if (c === '"' || c === "'") quote = c;
      else if (c === '>') break;
      else if (c === '<') return 'a malformed tag';
    }
    if (j >= s.length) return 'an unterminated tag';
    const tag = s.slice(lt + 1, j);
    const m = /^(\/)?(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)([\s/][\s\S]*)?$/.exec(tag);
    if (m === null) return 'a malformed tag';
    const [, close, name, rest] = m;
    if (close !== undefined) {
      if (stack.pop() !== name) return `a closing tag ${name!.slice(0, 40)} that closes nothing open`;
    } else if (!(rest ?? '').trimEnd().endsWith('/')) {
      stack.push(name!);
      if (stack.length > MAX_DEPTH) return `elements nested deeper than ${MAX_DEPTH}`;
    }
    // More than deny rules read: refused whole (a role past the count would not be decided).
    if (texts.length > MAX_MENTIONS) return `more than ${MAX_MENTIONS} texts`;
    i = j + 1;
  }
  if (texts.length > MAX_MENTIONS) return `more than ${MAX_MENTIONS} texts`;
  if (stack.length > 0) return 'an element that is not closed';
  return { texts, roles };
}

/** The configuration write with the names its body mentions and the roles it passes, or unknown. */
export function withConfigBody(
  cls: AwsClassification,
  sub: string,
  body: Buffer | undefined,
): AwsClassification {
  if (cls.operation === undefined) return cls;
  if (body === undefined) return unknown('s3', 'the configuration body was not read');
  if (sub === 'policy') {
    const parsed = jsonObjectBody('s3', body);
    if (!('object' in parsed)) return parsed;
    const strings = stringsInJson(parsed.object);
    if (strings === undefined) return unknown('s3', `the policy holds more than ${MAX_MENTIONS} strings`);
    return { ...cls, mentions: strings };
  }
  let xml: string;
  try {
    xml = UTF8.decode(body);
  } catch {
    return unknown('s3', 'the configuration body is not valid UTF-8');
  }
  const read = readConfigXml(xml);
  if (typeof read === 'string') return unknown('s3', read);
  return withPassedRoles('s3', { ...cls, mentions: [...new Set(read.texts)] }, () => [
    ...new Set(read.roles),
  ]);
}

/** Every string of a JSON document (a policy has no data: its Statement is names), or undefined past the bound. */
function stringsInJson(doc: unknown): string[] | undefined {
  const out = new Set<string>();
  const walk = (v: unknown, depth: number): boolean => {
    if (depth > MAX_DEPTH) return false;
    if (typeof v === 'string') {
      if (v !== '') out.add(v.length <= MAX_LENGTH ? v : v.slice(0, MAX_LENGTH));
      return out.size <= MAX_MENTIONS;
    }
    if (Array.isArray(v)) return v.every((x) => walk(x, depth + 1));
    if (v !== null && typeof v === 'object')
      return Object.values(v as Record<string, unknown>).every((x) => walk(x, depth + 1));
    return true;
  };
  return walk(doc, 0) ? [...out] : undefined;
}
