// The body of a request held for approval (HTTP, AWS, Kubernetes): read whole before the approval is
// asked for or taken, bound to it by its SHA-256, forwarded byte for byte as read, and shown to the
// approver masked and clipped. A body an approver could be shown a secret in, or that Gatehouse cannot
// mask, is shown as a note: the digest still binds it.

import { createHash } from 'node:crypto';
import type { RequestBody } from '../../core/action.js';
import { clipShown } from '../../core/visible-text.js';
import {
  jsonViewHidesCode,
  maskJsonText,
  stringViewHidesCode,
  textViewHidesCode,
  type DetectorSet,
} from '../../masking/index.js';
import { undoContentCodings } from './content-coding.js';
import type { FieldMatcher } from './field-names.js';
import type { ResponseMasking } from './http-settings.js';
import { decodeFormPart } from './request-target.js';
import { maskXmlText } from './xml-masking.js';
import { decodeXmlText } from './xml-text.js';

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

/** Rule id of a reviewed request whose masked view would hide code behind a masked value (class 275). */
export const HIDDEN_CODE_RULE = 'http-masked-code-body';

/** Rule id of a reviewed request whose masked body is too long to show the approver whole (413). */
export const CLIPPED_BODY_RULE = 'http-body-too-long-to-show';

/**
 * Why a reviewed body must not be held for approval because the approver would see only its head
 * (undefined when it is shown whole): an approval of a clipped view covers what nobody read, and a
 * client puts what it wants unseen after a long first field (docs/security.md, class 291).
 */
export function clippedBodyRefusal(body: RequestBody | undefined, advice: string): string | undefined {
  if (body?.clippedChars === undefined) return undefined;
  return (
    `Gatehouse refused the request: it needs approval, and its body is too long to show the approver whole ` +
    `(${body.bytes} bytes; at most ${SHOWN_WHOLE_BODY_CHARS} characters are shown whole). ${advice}`
  );
}

/** Why a reviewed body is refused instead of held: its rule, message and how the client is answered. */
export interface ReviewedBodyRefusal {
  readonly ruleId: string;
  readonly message: string;
  readonly failure: 'too-large' | 'denied';
}

/**
 * Whether a request held for review may be held with this body (undefined), or is refused: its masked
 * view is too long to show whole (class 291), or would hide what it runs behind a masked value (class
 * 275). `advice` ends the hidden-code message (where secrets belong on this kind of connection).
 */
export function reviewedBodyRefusal(
  shown: RequestBody | undefined,
  body: Buffer,
  contentType: string | string[] | undefined,
  masking: Pick<ResponseMasking, 'detectors' | 'fieldNames' | 'fields'>,
  options: Parameters<typeof httpBodyHidesCode>[3] & { readonly advice: string },
): ReviewedBodyRefusal | undefined {
  const clipped = clippedBodyRefusal(
    shown,
    'Send it in smaller requests, or ask a person with access to send it.',
  );
  if (clipped !== undefined) return { ruleId: CLIPPED_BODY_RULE, message: clipped, failure: 'too-large' };
  const hidden = httpBodyHidesCode(body, contentType, masking, options);
  if (hidden !== undefined)
    return {
      ruleId: HIDDEN_CODE_RULE,
      message: hiddenCodeRefusal(hidden, options.advice),
      failure: 'denied',
    };
  return undefined;
}

/** The message of that refusal: where, never what (the span may be the secret itself). */
export function hiddenCodeRefusal(hidden: string, advice: string): string {
  return `Gatehouse refused the request: it needs approval, and ${hidden}. ${advice}`;
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

/** One field of a form body, decoded, and how the approver is shown it. */
interface FormField {
  readonly name: string;
  readonly value: string | undefined;
  readonly shownName: string;
  readonly shownValue: string | undefined;
}

/** A form body's fields: values under sensitive names masked whole, the rest through the detectors. */
function formFields(text: string, detectors: DetectorSet, fields: FieldMatcher): FormField[] {
  return text
    .split('&')
    .filter((p) => p !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      const name = decodeFormPart(eq < 0 ? part : part.slice(0, eq));
      if (eq < 0)
        return {
          name,
          value: undefined,
          shownName: detectors.mask(name, 'redact', 'text')?.text ?? name,
          shownValue: undefined,
        };
      const value = decodeFormPart(part.slice(eq + 1));
      const tag = sensitiveName(name, fields);
      const shownValue =
        tag !== undefined ? `[REDACTED:${tag}]` : (detectors.mask(value, 'redact', 'text')?.text ?? value);
      return { name, value, shownName: name, shownValue };
    });
}

/** A form body (the AWS query protocol) as `name=value` lines, decoded and masked. */
function maskForm(text: string, detectors: DetectorSet, fields: FieldMatcher): string {
  return formFields(text, detectors, fields)
    .map((f) => (f.shownValue === undefined ? f.shownName : `${f.name}=${f.shownValue}`))
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

/**
 * Why the approver's masked view of a reviewed body would hide what the request runs, for the client;
 * undefined when every span it masks is a literal, or the body is not shown at all (its note says so).
 * A masked span that holds whitespace or what a shell or a template reads as code could be a command:
 * SSM SendCommand's `DB_PASSWORD=$(curl …|sh); rm -rf /data` was shown as `DB_PASSWORD=[REDACTED:password]`
 * (docs/security.md class 275, as class 252 for Kubernetes). `literal` names the fields that a request
 * stores as a secret and never runs (a secret store's value, a password a service sets): not compared.
 */
export function httpBodyHidesCode(
  body: Buffer,
  contentType: string | string[] | undefined,
  masking: Pick<ResponseMasking, 'detectors' | 'fieldNames' | 'fields'>,
  options: {
    readonly contentEncoding?: string | undefined;
    readonly max?: number;
    readonly literal?: (text: string) => ((path: string) => boolean) | undefined;
  } = {},
): string | undefined {
  if (body.length === 0) return undefined;
  const decoded =
    options.contentEncoding === undefined
      ? body
      : decodedForView(body, options.contentEncoding, options.max ?? 8 * 1024 * 1024);
  if (typeof decoded === 'string') return undefined;
  let text: string;
  try {
    text = utf8.decode(decoded);
  } catch {
    return undefined;
  }
  let view: ReturnType<BodyView>;
  try {
    view = httpBodyView(contentType, masking)(text);
  } catch {
    return undefined; // shown as a note that it could not be masked: nothing in it is shown, or hidden
  }
  if (typeof view !== 'string' || view === text) return undefined;
  const literal = options.literal?.(text);
  const type = mediaType(contentType);
  let at: string | undefined;
  if (type === 'application/x-www-form-urlencoded') {
    for (const f of formFields(text, masking.detectors, masking.fields)) {
      at =
        f.value === undefined
          ? stringViewHidesCode(f.name, f.shownName, "a form field's name")
          : literal?.(f.name)
            ? undefined
            : stringViewHidesCode(f.value, f.shownValue!, f.name);
      if (at !== undefined) break;
    }
  } else if (type.endsWith('/xml') || type.endsWith('+xml')) {
    // Compared as character data: the view re-encodes a text it masked in part (`'` as `&apos;`).
    try {
      at = textViewHidesCode(decodeXmlText(text), decodeXmlText(view), 'the body');
    } catch {
      at = 'the body: the view of the body could not be compared with the body';
    }
  } else {
    const original = parsedJson(text);
    const shown = original === undefined ? undefined : parsedJson(view);
    at =
      shown !== undefined
        ? jsonViewHidesCode(original, shown, literal === undefined ? {} : { literal })
        : textViewHidesCode(text, view, 'the body');
  }
  return at === undefined
    ? undefined
    : `in what the approver would be shown, a masked value holds more than a literal (${at.slice(0, 200)}): a command or a script the approver could not see`;
}

function parsedJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
