// The request target as Gatehouse sees it: the raw path and query (forwarded as received), the path
// policy matches (percent-decoded, so `/admin%2Fusers` cannot slip past a rule on `/admin/**`), and the
// text recorded, with secret-looking query values redacted.

import type { FieldMatcher } from './field-names.js';

export interface RequestTarget {
  /** Path as received, still percent-encoded. */
  readonly rawPath: string;
  /** Query string as received, without '?' ('' when none). */
  readonly rawQuery: string;
}

/** Splits an origin-form request target (RFC 9112 §3.2.1); undefined for any other form. */
export function splitTarget(url: string | undefined): RequestTarget | undefined {
  if (url === undefined || !url.startsWith('/') || url.startsWith('//')) return undefined;
  if (/[\s\0]/.test(url) || url.includes('#')) return undefined;
  const q = url.indexOf('?');
  return q < 0 ? { rawPath: url, rawQuery: '' } : { rawPath: url.slice(0, q), rawQuery: url.slice(q + 1) };
}

/**
 * Percent-decodes the path for policy matching. `?` and `#` stay encoded (policy cuts the path at them);
 * undefined when an escape is malformed or decodes to a control character.
 */
export function policyPath(rawPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return undefined;
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(decoded)) return undefined;
  return decoded.replace(/\?/g, '%3F').replace(/#/g, '%23');
}

const AUTH_PARAMS = /^x-amz-(signature|credential|security-token)$/i;

/** `path?query` for records and messages: values of sensitive query parameters become [REDACTED]. */
export function recordedTarget(path: string, rawQuery: string, fields: FieldMatcher): string {
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
  const text = `${path}?${parts.join('&')}`;
  return text.length > 4096 ? `${text.slice(0, 4096)}…` : text;
}
