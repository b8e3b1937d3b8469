// Base64 and hex runs that decode to text in which a detector fires (a card number base64-encoded in a
// JSON field, a bytea holding a token). The whole run is the finding. Bounded: 64 KiB decoded per run.

import { ENCODED_PREFIX } from './detector-names.js';
import type { Finding } from './finding.js';

export const MIN_BASE64_RUN = 24;
export const MIN_HEX_RUN = 26;
export const MAX_DECODED_BYTES = 64 * 1024;

/** base64 and base64url alphabet values; 255: not in the alphabet. */
const B64_VALUE: Uint8Array = (() => {
  const t = new Uint8Array(128).fill(255);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < 64; i++) t[alphabet.charCodeAt(i)] = i;
  t[45] = 62; // - (base64url)
  t[95] = 63; // _ (base64url)
  return t;
})();

function b64Value(c: number): number {
  return c < 128 ? (B64_VALUE[c] as number) : 255;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : 255;
}

/**
 * Whether bytes[0, len) are UTF-8 text: well-formed sequences (no overlongs, surrogates or code points
 * past U+10FFFF) and no control characters other than tab, CR and LF. With `prefix`, a sequence cut
 * off by the end is accepted. Hand-written: TextDecoder's fatal mode throws, and throwing is slow.
 */
function isUtf8Text(bytes: Uint8Array, len: number, prefix: boolean): boolean {
  let i = 0;
  while (i < len) {
    const b = bytes[i] as number;
    if (b < 0x80) {
      if (b < 0x20 ? b !== 9 && b !== 10 && b !== 13 : b === 0x7f) return false;
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      if (b === 0xe0) lo = 0xa0;
      else if (b === 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      if (b === 0xf0) lo = 0x90;
      else if (b === 0xf4) hi = 0x8f;
    } else return false;
    for (let j = 1; j <= need; j++) {
      if (i + j >= len) return prefix;
      const c = bytes[i + j] as number;
      if (c < (j === 1 ? lo : 0x80) || c > (j === 1 ? hi : 0xbf)) return false;
    }
    i += need + 1;
  }
  return true;
}

const PREFIX_BYTES = 12;
const prefixScratch = new Uint8Array(PREFIX_BYTES);

/** Decodes the first bytes of a base64 run by hand: random data fails here before any allocation. */
function base64LooksLikeText(text: string, start: number, end: number): boolean {
  const stop = start + Math.min((PREFIX_BYTES / 3) * 4, (end - start) & ~3);
  let n = 0;
  for (let i = start; i + 4 <= stop; i += 4) {
    const v =
      (b64Value(text.charCodeAt(i)) << 18) |
      (b64Value(text.charCodeAt(i + 1)) << 12) |
      (b64Value(text.charCodeAt(i + 2)) << 6) |
      b64Value(text.charCodeAt(i + 3));
    prefixScratch[n++] = (v >> 16) & 255;
    prefixScratch[n++] = (v >> 8) & 255;
    prefixScratch[n++] = v & 255;
  }
  return isUtf8Text(prefixScratch, n, true);
}

function hexLooksLikeText(text: string, start: number, end: number): boolean {
  const stop = Math.min(end, start + 2 * PREFIX_BYTES);
  let n = 0;
  for (let i = start; i + 2 <= stop; i += 2) {
    prefixScratch[n++] = (hexValue(text.charCodeAt(i)) << 4) | hexValue(text.charCodeAt(i + 1));
  }
  return isUtf8Text(prefixScratch, n, true);
}

/** The bytes as text, or undefined when they are not UTF-8 text; `capped`: cut at the decode limit. */
function asText(bytes: Buffer, capped: boolean): string | undefined {
  if (bytes.length === 0 || !isUtf8Text(bytes, bytes.length, capped)) return undefined;
  return bytes.toString('utf8');
}

/** 8-4-4-4-12 hex digits: the most common long run in databases, and never an encoding of text. */
function isUuid(text: string, start: number, end: number): boolean {
  if (end - start !== 36) return false;
  for (let i = start; i < end; i++) {
    const k = i - start;
    const c = text.charCodeAt(i);
    if (k === 8 || k === 13 || k === 18 || k === 23 ? c !== 45 : hexValue(c) === 255) return false;
  }
  return true;
}

function overlapsAny(findings: readonly Finding[], start: number, end: number): boolean {
  for (const f of findings) if (f.start < end && start < f.end) return true;
  return false;
}

/**
 * Finds runs of [A-Za-z0-9+/_-] (plus `=` padding): 24+ characters tried as base64, 26+ hex digits
 * (also after `\x` as PostgreSQL prints bytea, or `0x`) tried as hex. A run that decodes to valid UTF-8
 * text without control characters is handed to `inner`; when it names a detector, the run becomes
 * an `encoded:<name>` finding. Runs overlapping an existing finding are skipped.
 */
export function scanEncodedRuns(
  text: string,
  existing: readonly Finding[],
  inner: (decoded: string) => string | undefined,
  out: Finding[],
): void {
  const n = text.length;
  let i = 0;
  while (i < n) {
    if (b64Value(text.charCodeAt(i)) === 255) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < n && b64Value(text.charCodeAt(j)) !== 255) j++;
    let e = j;
    while (e < n && e - j < 2 && text.charCodeAt(e) === 61) e++;
    if (e - i >= MIN_BASE64_RUN && !isUuid(text, i, e) && !overlapsAny(existing, i, e)) {
      const hit = decodeRun(text, i, j, e, inner);
      if (hit)
        out.push({
          detector: ENCODED_PREFIX + hit.name,
          start: hit.start,
          end: e,
          text: text.slice(hit.start, e),
        });
    }
    i = e;
  }
}

function decodeRun(
  text: string,
  start: number,
  runEnd: number,
  padEnd: number,
  inner: (decoded: string) => string | undefined,
): { name: string; start: number } | undefined {
  // Hex first: `\x…` (bytea), `0x…`, or a run of hex digits only.
  let hs = start;
  if (text.charCodeAt(hs) === 120 && hs > 0 && text.charCodeAt(hs - 1) === 92) hs++;
  else if (text.charCodeAt(hs) === 48 && text.charCodeAt(hs + 1) === 120) hs += 2;
  const hexLen = runEnd - hs;
  if (
    padEnd === runEnd &&
    hexLen >= MIN_HEX_RUN &&
    hexLen % 2 === 0 &&
    allHex(text, hs, runEnd) &&
    hexLooksLikeText(text, hs, runEnd)
  ) {
    const stop = Math.min(runEnd, hs + 2 * MAX_DECODED_BYTES);
    const decoded = asText(Buffer.from(text.slice(hs, stop), 'hex'), stop < runEnd);
    const name = decoded === undefined ? undefined : inner(decoded);
    if (name) return { name, start: hs };
  }
  const len = runEnd - start;
  if (padEnd - start < MIN_BASE64_RUN || len % 4 === 1 || !base64LooksLikeText(text, start, runEnd))
    return undefined;
  const cap = Math.floor((MAX_DECODED_BYTES * 4) / 3) & ~3;
  const stop = Math.min(runEnd, start + cap);
  const decoded = asText(Buffer.from(text.slice(start, stop), 'base64'), stop < runEnd);
  const name = decoded === undefined ? undefined : inner(decoded);
  return name ? { name, start } : undefined;
}

function allHex(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (hexValue(text.charCodeAt(i)) === 255) return false;
  return true;
}
