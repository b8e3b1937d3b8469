// The body of a request held for approval (HTTP, AWS, Kubernetes): read whole before the approval is
// asked for or taken, bound to it by its SHA-256, forwarded byte for byte as read, and shown to the
// approver masked and clipped. A body an approver could be shown a secret in, or that Gatehouse cannot
// mask, is shown as a note: the digest still binds it.

import { createHash } from 'node:crypto';
import type { RequestBody } from '../../core/action.js';
import { clipShown } from '../../core/visible-text.js';
import { maskJsonText, type DetectorSet } from '../../masking/index.js';
import { undoContentCodings } from './content-coding.js';
import type { FieldMatcher } from './field-names.js';
import type { ResponseMasking } from './http-settings.js';
import { maskXmlText } from './xml-masking.js';

/**
 * A masked body up to this many characters is shown to the approver whole (as a bind parameter and a
 * COPY's rows are, class 28): a body clipped at a few KiB hid its tail behind the clip, where a hostile
 * client puts what it wants unseen, and a Kubernetes object with its last-applied copy is often longer
 * (docs/security.md class 254).
 */
export const SHOWN_WHOLE_BODY_CHARS = 64 * 1024;
/** Characters of a longer masked body an approver is shown; the rest is clipped, saying so. */
export const SHOWN_BODY_CHARS = 4096;

/** Rule id of a reviewed request whose body is past the limit of what Gatehouse reads whole (413). */
export const REVIEWED_BODY_LIMIT_RULE = 'http-reviewed-body-too-large';

/** The message of that refusal. */
export function reviewedBodyTooLarge(max: number): string {
  return (
    `Gatehouse refused the request: it needs approval, and its body is larger than this connection's ` +
    `limit (${max} bytes) for a body Gatehouse reads whole to show it to the approver and bind the approval to it.`
  );
}

/**
 * Renders a body's text for an approver, masked; undefined when it cannot be masked, or a note saying
 * why it is not shown (then only the digest is). Called with the whole body as UTF-8 text.
 */
export type BodyView = (text: string) => string | { readonly note: string } | undefined;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The body as its upstream reads it, for the approver's eyes: its Content-Encoding (gzip, deflate, br,
 * as frameworks' body parsers inflate them) undone, within `max` bytes; or why it cannot be.
 */
function decodedForView(body: Buffer, contentEncoding: string | undefined, max: number): Buffer | string {
  // aws-chunked is framing Gatehouse has already taken off (the AWS engine reviews the decoded body).
  const out = undoContentCodings(body, contentEncoding, max, ['aws-chunked']);
  if (Buffer.isBuffer(out)) return out;
  return out.reason === 'unknown'
    ? `its Content-Encoding ${out.coding.slice(0, 20)} cannot be decoded to show it`
    : `its ${out.coding} coding does not decode within ${max} bytes`;
}

/**
 * The digest, size and masked, clipped rendering of a body read whole. The digest is of the bytes
 * forwarded; the rendering is of what the upstream reads, its `contentEncoding` undone (docs/security.md,
 * class 211: a coded body was shown as "not UTF-8 text", and approved unseen).
 */
export function reviewedBody(
  body: Buffer,
  view: BodyView,
  coding: { readonly contentEncoding?: string | undefined; readonly max?: number } = {},
): RequestBody {
  const sha256 = createHash('sha256').update(body).digest('hex');
  let shown: string;
  let clippedChars: number | undefined;
  const decoded =
    coding.contentEncoding === undefined
      ? body
      : decodedForView(body, coding.contentEncoding, coding.max ?? 8 * 1024 * 1024);
  if (body.length === 0) shown = '(empty)';
  else if (typeof decoded === 'string') shown = `(not shown: ${decoded})`;
  else {
    let text: string | undefined;
    try {
      text = utf8.decode(decoded);
    } catch {
      text = undefined;
    }
    let masked: ReturnType<BodyView>;
    try {
      masked = text === undefined ? undefined : view(text);
    } catch {
      masked = { note: 'Gatehouse could not mask it' };
    }
    if (text === undefined) shown = '(not shown: not UTF-8 text)';
    else if (masked === undefined) shown = '(not shown: Gatehouse cannot mask this content type)';
    else if (typeof masked !== 'string') shown = `(not shown: ${masked.note})`;
    else if (masked.length <= SHOWN_WHOLE_BODY_CHARS) shown = masked;
    else {
      shown = clipShown(masked, SHOWN_BODY_CHARS);
      clippedChars = masked.length - SHOWN_BODY_CHARS;
    }
  }
  return { sha256, bytes: body.length, shown, ...(clippedChars === undefined ? {} : { clippedChars }) };
}

function mediaType(contentType: string | string[] | undefined): string {
  const t = Array.isArray(contentType) ? contentType[0] : contentType;
  return (t ?? '').split(';')[0]!.trim().toLowerCase();
}

function looksLikeJson(text: string): boolean {
  return /^\s*[[{]/.test(text);
}

/** `a.b.1.Password`: the name or any of its non-numeric dotted parts names a sensitive field. */
function sensitiveName(name: string, fields: FieldMatcher): string | undefined {
  const whole = fields(name);
  if (whole !== undefined) return whole;
  for (const part of name.split('.')) {
    if (part === '' || /^\d+$/.test(part)) continue;
    const tag = fields(part);
    if (tag !== undefined) return tag;
  }
  return undefined;
}

function decodeForm(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/**
 * A form body (the AWS query protocol) as `name=value` lines, decoded: values under sensitive names
 * masked whole, the rest through the detectors.
 */
function maskForm(text: string, detectors: DetectorSet, fields: FieldMatcher): string {
  return text
    .split('&')
    .filter((p) => p !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      const name = decodeForm(eq < 0 ? part : part.slice(0, eq));
      if (eq < 0) return detectors.mask(name, 'redact', 'text')?.text ?? name;
      const tag = sensitiveName(name, fields);
      if (tag !== undefined) return `${name}=[REDACTED:${tag}]`;
      const value = decodeForm(part.slice(eq + 1));
      return `${name}=${detectors.mask(value, 'redact', 'text')?.text ?? value}`;
    })
    .join('\n');
}

/**
 * How an HTTP or AWS connection shows a body: JSON with the connection's masking field names (and the
 * detectors), forms and XML likewise; anything else is not shown (its digest is).
 */
export function httpBodyView(
  contentType: string | string[] | undefined,
  masking: Pick<ResponseMasking, 'detectors' | 'fieldNames' | 'fields'>,
): BodyView {
  const type = mediaType(contentType);
  const asJson = (text: string) =>
    maskJsonText(text, masking.detectors, {
      keyNames: masking.fieldNames,
      style: 'redact',
      keysInInvalidJson: true,
    });
  const json = (text: string) => asJson(text)?.text ?? text;
  return (text) => {
    if (type.includes('json')) return json(text);
    if (type === 'application/x-www-form-urlencoded')
      return maskForm(text, masking.detectors, masking.fields);
    if (type.endsWith('/xml') || type.endsWith('+xml'))
      return maskXmlText(text, masking.detectors, 'redact', masking.fields, asJson)?.text ?? text;
    // No type, or one without named fields (text, an S3 object, a Lambda payload): a body that reads
    // as JSON is masked as JSON; other text could hold a secret no field name marks, so it is not shown.
    if (looksLikeJson(text)) return json(text);
    return undefined;
  };
}
