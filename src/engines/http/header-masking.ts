// Masks the headers of a response a masked principal reads, as its body is (docs/security.md, class
// 157): a header's name is a field name, so the value of a sensitive one is masked whole
// (`x-amz-meta-db-password`, an echoed `X-Api-Key`, a `Set-Cookie` a connection passes); every other
// value is read as text is (the field names it holds: a `Location`'s `?access_token=`, a `key: value`)
// and by the content detectors. Lambda's `X-Amz-Log-Result` (base64 of the function's last log lines)
// is masked once decoded, and encoded again. A masked value is written as ASCII, never with a line break.

import { maskKeyedText, sensitiveKeyTag, type KeyTagOf } from '../../masking/index.js';
import { isBodyDigestHeader } from './http-headers.js';
import type { ResponseMasking } from './http-settings.js';

/**
 * A storage service's user metadata (`x-amz-meta-` in S3 and what copies it, `x-goog-meta-`,
 * `x-ms-meta-`, `x-oss-meta-`, Swift's `x-object-meta-`…): the name after it is the user's own key.
 */
const USER_METADATA = /^x-(?:[a-z0-9]+-){0,2}meta-(?=.)/;

/**
 * Headers that frame the body or digest it, which the client checks: changed, the response would not
 * read. Gatehouse drops the digests itself when it changes the body.
 */
const FRAMING = new Set(['content-type', 'content-range', 'etag']);

/**
 * What masking a header needs: the connection's detectors, its style and its field names. Every engine
 * that relays an upstream's headers to a masked principal (HTTP and AWS here, Kubernetes in
 * kube-request.ts) masks them through this one reading (docs/security.md, classes 157 and 218).
 */
export type HeaderMasking = Pick<ResponseMasking, 'detectors' | 'style' | 'fieldNames'>;

/** Headers whose value is base64 of a text (AWS Lambda's log tail of an Invoke with LogType Tail). */
const BASE64_TEXT = new Set(['x-amz-log-result']);

/** An environment variable's spelling of a header name (`x-api-key` → `X_API_KEY`), as names are read. */
function envSpelling(name: string): string {
  return name.toUpperCase().replace(/-/g, '_');
}

/**
 * The tag a header's name masks its value under, or undefined. Compared as a JSON key is, in an
 * environment variable's spelling (its words joined by `_`, so a name that ends in a sensitive one
 * matches, as `GITHUB_TOKEN` does: `X-Auth-Token`, `x-amz-meta-github-token`), the whole name and
 * the name after `x-` or a user-metadata prefix (`x-amz-meta-ssn` is `ssn`).
 */
export function headerNameTag(name: string, keys: KeyTagOf): string | undefined {
  const n = name.toLowerCase();
  const meta = USER_METADATA.exec(n);
  const bare = meta ? n.slice(meta[0].length) : n.startsWith('x-') ? n.slice(2) : undefined;
  return keys(envSpelling(n)) ?? (bare === undefined ? undefined : keys(envSpelling(bare)));
}

/** What may go in a header value: visible ASCII, space and tab (RFC 9110 §5.5, without obs-text). */
function headerSafe(v: string): string {
  return v.replace(/[^\t\x20-\x7e]/g, '?');
}

function add(counts: Record<string, number>, more: Readonly<Record<string, number>>): void {
  for (const [k, n] of Object.entries(more)) counts[k] = (counts[k] ?? 0) + n;
}

function maskValue(
  name: string,
  value: string,
  m: HeaderMasking,
  keys: KeyTagOf,
  counts: Record<string, number>,
): string {
  const tag = headerNameTag(name, keys);
  if (tag !== undefined) {
    const masked = m.detectors.maskWhole(value, m.style, tag) ?? '';
    add(counts, { [tag]: 1 });
    return headerSafe(masked);
  }
  if (BASE64_TEXT.has(name)) {
    const bytes = Buffer.from(value, 'base64');
    let text: string | undefined;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      text = undefined;
    }
    if (text !== undefined && bytes.toString('base64') === value.trim()) {
      const r = maskKeyedText(text, m.detectors, m.style, keys, 'text', { tables: false });
      if (r === null) return value;
      add(counts, r.counts);
      return Buffer.from(r.text, 'utf8').toString('base64');
    }
    // Not base64 of UTF-8 text after all: read as it is, below.
  }
  const r = maskKeyedText(value, m.detectors, m.style, keys, 'text', { tables: false });
  if (r === null) return value;
  add(counts, r.counts);
  return headerSafe(r.text);
}

/**
 * One response header's value as a masked principal gets it (`name` in any case), with what was masked
 * added to `counts`. The field names are the connection's (`masking.fields`).
 */
export function maskHeaderValue(
  name: string,
  value: string,
  m: HeaderMasking,
  counts: Record<string, number>,
): string {
  const n = name.toLowerCase();
  if (FRAMING.has(n) || isBodyDigestHeader(n)) return value;
  return maskValue(n, value, m, sensitiveKeyTag(m.fieldNames), counts);
}

/**
 * Masks `headers` (lower-case names, as relayed) in place for a masked principal; returns what was
 * masked, per tag, for the record.
 */
export function maskResponseHeaders(
  headers: Record<string, string | string[]>,
  m: HeaderMasking,
): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [name, value] of Object.entries(headers)) {
    headers[name] = Array.isArray(value)
      ? value.map((v) => maskHeaderValue(name, v, m, counts))
      : maskHeaderValue(name, value, m, counts);
  }
  return counts;
}
