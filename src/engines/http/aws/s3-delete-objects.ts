// The objects an S3 DeleteObjects request (POST /<bucket>?delete) deletes, read from its XML body so
// that each can be decided as the s3:DeleteObject a client would send for it (IAM, too, asks for
// s3:DeleteObject on every key).
//
// Not a general XML parser: only the document the S3 API Reference gives is read, and anything else
// is refused, so that what S3's parser reads and what Gatehouse reads cannot differ:
//
//   <?xml version="1.0" encoding="UTF-8"?>            (optional; UTF-8 only)
//   <Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">   (the xmlns attribute is optional)
//     <Object><Key>k</Key><VersionId>v</VersionId></Object>   (1 to 1000; Key once, the others at most once)
//     <Quiet>true</Quiet>                               (at most once)
//   </Delete>
//
// Object may also carry ETag, LastModifiedTime and Size (conditional deletes). Text is character data
// with the five predefined entities and character references; refused: DOCTYPE, comments, CDATA,
// processing instructions, namespace prefixes, other attributes or elements, a raw CR (parsers turn
// CR LF into LF), keys with leading or trailing white space, and any key a request path could not
// carry (s3-copy-source.ts objectPath).

import type { CanonicalPath } from '../../../wire/http/canonical-path.js';
import { encodeStrict, objectPath, validVersionId } from './s3-copy-source.js';

export interface DeletedObject {
  readonly key: string;
  readonly versionId?: string;
  /** `/<bucket>/<key>`, canonical as a request path is. */
  readonly path: CanonicalPath;
  /** `versionId=<id>` percent-encoded, or ''. */
  readonly rawQuery: string;
}

export type DeleteObjectsResult =
  | { readonly ok: true; readonly objects: readonly DeletedObject[] }
  | { readonly ok: false; readonly reason: string };

const MAX_OBJECTS = 1000;
const S3_NS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const OBJECT_FIELDS = new Set(['Key', 'VersionId', 'ETag', 'LastModifiedTime', 'Size']);
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

const refuse = (reason: string): DeleteObjectsResult => ({
  ok: false,
  reason: `the DeleteObjects body ${reason}`,
});

/** XML 1.0 Char (§2.2). */
function isXmlChar(cp: number): boolean {
  return (
    cp === 0x9 ||
    cp === 0xa ||
    cp === 0xd ||
    (cp >= 0x20 && cp <= 0xd7ff) ||
    (cp >= 0xe000 && cp <= 0xfffd) ||
    (cp >= 0x10000 && cp <= 0x10ffff)
  );
}

/** Character data with predefined entities and character references, decoded; undefined if malformed. */
function decodeText(raw: string): string | undefined {
  if (/[<>\r]/.test(raw)) return undefined;
  let bad = false;
  const out = raw.replace(/&([^;&]{0,10});|&/g, (whole, ref: string | undefined) => {
    if (ref === undefined) {
      bad = true;
      return '';
    }
    const named = ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" } as Record<string, string>)[ref];
    if (named !== undefined) return named;
    const m = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(ref);
    const cp = m ? (m[1] !== undefined ? parseInt(m[1], 16) : parseInt(m[2]!, 10)) : -1;
    if (!isXmlChar(cp)) {
      bad = true;
      return '';
    }
    return String.fromCodePoint(cp);
  });
  return bad ? undefined : out;
}

export function parseDeleteObjects(bucket: string, body: Buffer): DeleteObjectsResult {
  let text: string;
  try {
    text = UTF8.decode(body);
  } catch {
    return refuse('is not UTF-8');
  }
  let i = 0;
  /** Matches `re` (sticky) at i; on a match, moves past it. */
  const at = (re: RegExp): RegExpExecArray | null => {
    re.lastIndex = i;
    const m = re.exec(text);
    if (m) i = re.lastIndex;
    return m;
  };
  const ws = (): void => {
    at(/[ \t\n]*/y);
  };
  if (
    !at(
      /<\?xml\s+version\s*=\s*(["'])1\.[01]\1(?:\s+encoding\s*=\s*(["'])utf-8\2)?(?:\s+standalone\s*=\s*(["'])(?:yes|no)\3)?\s*\?>/iy,
    ) &&
    text.startsWith('<?')
  )
    return refuse('has an XML declaration Gatehouse does not read');
  ws();
  const open = at(/<Delete(?:\s+xmlns\s*=\s*(["'])([^"'<>&]*)\1)?\s*>/y);
  if (!open) return refuse('is not a <Delete> document (no DOCTYPE, comments or namespace prefixes)');
  if (open[2] !== undefined && open[2] !== S3_NS) return refuse(`has an xmlns other than ${S3_NS}`);
  const objects: DeletedObject[] = [];
  let quiet = false;
  for (;;) {
    ws();
    if (at(/<\/Delete>/y)) break;
    if (at(/<Quiet>/y)) {
      if (quiet || !at(/(?:true|false)<\/Quiet>/y)) return refuse('has a malformed or repeated <Quiet>');
      quiet = true;
      continue;
    }
    if (!at(/<Object>/y)) return refuse('has something other than <Object> and <Quiet> in <Delete>');
    const fields = new Map<string, string>();
    for (;;) {
      ws();
      if (at(/<\/Object>/y)) break;
      const f = at(/<([A-Za-z]{1,20})>([^<]*)<\/([A-Za-z]{1,20})>/y);
      if (!f || f[1] !== f[3] || !OBJECT_FIELDS.has(f[1]!))
        return refuse(
          'has an <Object> with something other than Key, VersionId, ETag, LastModifiedTime, Size',
        );
      if (fields.has(f[1]!)) return refuse(`has an <Object> with two <${f[1]}>`);
      const value = decodeText(f[2]!);
      if (value === undefined) return refuse(`has malformed text in <${f[1]}>`);
      fields.set(f[1]!, value);
    }
    const key = fields.get('Key');
    if (key === undefined || key === '') return refuse('has an <Object> without a <Key>');
    if (key.trim() !== key) return refuse('has a key with leading or trailing white space');
    const versionId = fields.get('VersionId');
    if (versionId !== undefined && !validVersionId(versionId)) return refuse('has a malformed <VersionId>');
    const path = objectPath(bucket, key);
    if (!path.ok)
      return refuse(`names a key Gatehouse does not forward: ${path.reason.replace(/^the path/, 'it')}`);
    objects.push({
      key,
      ...(versionId === undefined ? {} : { versionId }),
      path,
      rawQuery: versionId === undefined ? '' : `versionId=${encodeStrict(versionId)}`,
    });
    if (objects.length > MAX_OBJECTS) return refuse(`names more than ${MAX_OBJECTS} objects`);
  }
  ws();
  if (i !== text.length) return refuse('has something after </Delete>');
  if (objects.length === 0) return refuse('names no object');
  return { ok: true, objects };
}
