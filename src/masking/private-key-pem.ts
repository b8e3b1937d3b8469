// PEM-armoured private keys (RFC 7468): RSA, EC, DSA, OPENSSH, ENCRYPTED, PKCS#8, PGP blocks, from BEGIN
// to END, across real newlines or JSON-escaped "\n" (GCP service-account files). Pure.

import type { Finding } from './finding.js';

const BEGIN = /-----BEGIN ((?:[A-Z0-9]+ )*)PRIVATE KEY( BLOCK)?-----/g;

/** Characters of a PEM body and its headers (Proc-Type, DEK-Info), including escaped newlines. */
function isBodyChar(c: number): boolean {
  return (
    (c >= 48 && c <= 57) ||
    (c >= 65 && c <= 90) ||
    (c >= 97 && c <= 122) ||
    c === 43 || // +
    c === 47 || // /
    c === 61 || // =
    c === 45 || // -
    c === 58 || // :
    c === 44 || // ,
    c === 92 || // \ (escaped newline)
    c === 32 ||
    c === 9 ||
    c === 10 ||
    c === 13
  );
}

/** The END line that closes the key a BEGIN match opens (`-----END RSA PRIVATE KEY-----`). */
function endMarkerOf(m: RegExpExecArray): string {
  return `-----END ${m[1] ?? ''}PRIVATE KEY${m[2] ?? ''}-----`;
}

/** An END line of a private key, whatever its label. */
export const PRIVATE_KEY_END = /-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/;

/**
 * Where the first private key in `text` whose END line is not in it begins (its BEGIN marker), or -1.
 * A stream masked in pieces holds or carries such a key's lines until its END comes, since
 * scanPrivateKeys reads a key from BEGIN to END (docs/security.md, classes 233 and 242).
 */
export function openPrivateKeyAt(text: string): number {
  const re = BEGIN;
  re.lastIndex = 0;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const endMarker = endMarkerOf(m);
    const at = text.indexOf(endMarker, m.index + m[0].length);
    if (at < 0) return m.index;
    re.lastIndex = at + endMarker.length;
  }
  return -1;
}

/**
 * Each key spans BEGIN to its matching END line. A key with no END (a truncated value) is masked over
 * its whole body: failing closed matters more than the text after it.
 */
export function scanPrivateKeys(text: string, out: Finding[]): void {
  const re = BEGIN;
  re.lastIndex = 0;
  // END markers known to be absent from the rest of the text: looking again from a later position
  // cannot find them, and would make many unterminated BEGIN lines quadratic.
  let missing: Set<string> | undefined;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const endMarker = endMarkerOf(m);
    const after = m.index + m[0].length;
    const idx = missing?.has(endMarker) ? -1 : text.indexOf(endMarker, after);
    if (idx < 0) (missing ??= new Set()).add(endMarker);
    let end: number;
    if (idx >= 0) end = idx + endMarker.length;
    else {
      end = after;
      while (end < text.length && isBodyChar(text.charCodeAt(end))) end++;
      while (end > after && text.charCodeAt(end - 1) <= 32) end--;
    }
    out.push({ detector: 'private_key', start: m.index, end, text: text.slice(m.index, end) });
    re.lastIndex = end;
  }
}
