// Email addresses: the practical `local@domain.tld` shape, found from each `@` outwards without regex.
// Not an RFC 5322 parser: quoted local parts, IP-literal domains and non-ASCII addresses are not matched.

import { isAlnumCode } from './char-class.js';
import type { Finding } from './finding.js';
import { afterUrlUser } from './url-credentials.js';

/** Local-part characters accepted: letters, digits and . _ % + - (what real addresses use). */
function isLocalChar(c: number): boolean {
  return isAlnumCode(c) || c === 46 || c === 95 || c === 37 || c === 43 || c === 45;
}

/** File extensions that look like TLDs in names such as `icon@2x.png`. */
const FILE_EXTENSIONS = new Set([
  'png',
  'jpg',
  'jpeg',
  'gif',
  'svg',
  'webp',
  'bmp',
  'ico',
  'tif',
  'tiff',
  'pdf',
  'js',
  'mjs',
  'cjs',
  'ts',
  'css',
  'map',
  'json',
  'txt',
  'html',
  'htm',
  'xml',
  'yaml',
  'yml',
  'lock',
  'log',
  'csv',
  'zip',
  'gz',
  'tgz',
]);

/** End of a valid domain starting at p (2+ labels, alphabetic TLD of 2–63), or -1. */
function domainEnd(text: string, p: number): number {
  const n = text.length;
  let labels = 0;
  let end = -1;
  let tldStart = -1;
  let i = p;
  for (;;) {
    const ls = i;
    while (i < n && i - ls < 64) {
      const c = text.charCodeAt(i);
      if (isAlnumCode(c) || c === 45) i++;
      else break;
    }
    const len = i - ls;
    if (len === 0 || text.charCodeAt(ls) === 45 || text.charCodeAt(i - 1) === 45) break;
    labels++;
    end = i;
    tldStart = ls;
    if (i + 1 < n && text.charCodeAt(i) === 46 && isAlnumCode(text.charCodeAt(i + 1))) i++;
    else break;
  }
  if (labels < 2 || end < 0) return -1;
  if (end - tldStart < 2) return -1;
  for (let j = tldStart; j < end; j++) {
    const c = text.charCodeAt(j) | 0x20;
    if (c < 97 || c > 122) return -1;
  }
  if (FILE_EXTENSIONS.has(text.slice(tldStart, end).toLowerCase())) return -1;
  return end;
}

/** `git@github.com:org/repo` is an SSH (scp-style) location, not an address. */
function scpPath(text: string, e: number): boolean {
  if (text.charCodeAt(e) !== 58 || e + 1 >= text.length) return false;
  const c = text.charCodeAt(e + 1);
  return isAlnumCode(c) || c === 47 || c === 126;
}

/** `urlPasswords`: the url_password detector runs, and reads `scheme://user:<password>@host` itself. */
export function scanEmails(text: string, out: Finding[], urlPasswords = false): void {
  let at = text.indexOf('@');
  while (at !== -1) {
    let s = at;
    while (s > 0 && at - s < 64 && isLocalChar(text.charCodeAt(s - 1))) s--;
    while (s < at && text.charCodeAt(s) === 46) s++;
    // `scheme://user:<password>@host`: a URL's password and host, the url_password detector's.
    if (s < at && text.charCodeAt(at - 1) !== 46 && !(urlPasswords && afterUrlUser(text, s))) {
      const e = domainEnd(text, at + 1);
      if (e > 0 && !scpPath(text, e)) {
        out.push({ detector: 'email', start: s, end: e, text: text.slice(s, e) });
        at = text.indexOf('@', e);
        continue;
      }
    }
    at = text.indexOf('@', at + 1);
  }
}
