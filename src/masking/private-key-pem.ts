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
    const label = `${m[1] ?? ''}PRIVATE KEY${m[2] ?? ''}`;
    const endMarker = `-----END ${label}-----`;
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
