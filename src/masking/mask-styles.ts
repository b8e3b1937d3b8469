// The replacement text for each masking style: redact tag, partial (last 4 kept), keyed HMAC.
// Pure functions of the value (and the key); choosing a style per detector happens in the caller.

import { createHmac } from 'node:crypto';
import { isAlnumCode } from './char-class.js';

/** Hex characters of the HMAC kept in `hmac:<hex>`: 64 bits, so collisions stay negligible for joins. */
export const HASH_HEX_CHARS = 16;
/** Letters and digits a value needs before `partial` shows its last 4 (fewer: all hidden). */
export const PARTIAL_MIN_CHARS = 9;
export const PARTIAL_VISIBLE = 4;

export function redactTag(name: string): string {
  return `[REDACTED:${name}]`;
}

const LETTER_OR_DIGIT = /^[\p{L}\p{N}]$/u;

function maskable(ch: string): boolean {
  return ch.length === 1 && ch.charCodeAt(0) < 128 ? isAlnumCode(ch.charCodeAt(0)) : LETTER_OR_DIGIT.test(ch);
}

/**
 * Letters and digits become `*`, except the last 4 when the value has at least 9 of them; everything
 * else (spaces, dashes, dots, `@`, `+`, parentheses) stays so the shape remains readable:
 * `4111-1111-1111-1111` → `****-****-****-1111`, `123-45-6789` → `***-**-6789`.
 */
export function partialMask(value: string): string {
  const chars = [...value];
  let count = 0;
  for (const ch of chars) if (maskable(ch)) count++;
  let hide = count >= PARTIAL_MIN_CHARS ? count - PARTIAL_VISIBLE : count;
  let out = '';
  for (const ch of chars) {
    if (hide > 0 && maskable(ch)) {
      out += '*';
      hide--;
    } else out += ch;
  }
  return out;
}

/**
 * `hmac:` + the first 16 hex characters of HMAC-SHA-256(key, value as UTF-8). Deterministic for a key,
 * so equal values still join and group; without the key it cannot be reversed by guessing values.
 */
export function hmacTag(key: Uint8Array, value: string): string {
  return `hmac:${createHmac('sha256', key).update(value, 'utf8').digest('hex').slice(0, HASH_HEX_CHARS)}`;
}
