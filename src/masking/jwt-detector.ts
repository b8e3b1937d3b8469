// JSON Web Tokens (RFC 7519 JWS compact form, and 5-part JWE): base64url segments joined by dots whose
// first segment decodes to a JSON object with an "alg" member (RFC 7515 §4.1.1). Pure.

import { isWordCode } from './char-class.js';

const MAX_HEADER = 4096;

/** End of the base64url segment starting at p. */
function segmentEnd(text: string, p: number): number {
  const n = text.length;
  while (p < n && isWordCode(text.charCodeAt(p))) p++;
  return p;
}

function headerHasAlg(segment: string): boolean {
  if (segment.length > MAX_HEADER) return false;
  try {
    const header: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return (
      typeof header === 'object' && header !== null && typeof (header as { alg?: unknown }).alg === 'string'
    );
  } catch {
    return false;
  }
}

/**
 * End of a JWT whose header segment is text[start, headerEnd) (already known to start with `eyJ`), or
 * -1. The signature segment may be empty (`alg: none`).
 */
export function jwtEnd(text: string, start: number, headerEnd: number): number {
  const ends: number[] = [headerEnd];
  let p = headerEnd;
  while (ends.length < 5 && p < text.length && text.charCodeAt(p) === 46) {
    p = segmentEnd(text, p + 1);
    ends.push(p);
  }
  if (ends.length < 3) return -1;
  const payloadStart = headerEnd + 1;
  if ((ends[1] as number) - payloadStart < 2) return -1;
  if (!headerHasAlg(text.slice(start, headerEnd))) return -1;
  return ends.length === 5 ? (ends[4] as number) : (ends[2] as number);
}
