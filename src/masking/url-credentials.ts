// The password in a URL's userinfo: `postgres://app:<password>@db:5432/app`, `redis://:<password>@cache`,
// `https://bob:<password>@git.example.com/repo.git`, `amqp://…`, `mongodb+srv://…`. A connection
// string names its password by its place, not by a field name: `DATABASE_URL=postgres://…` in a `.env`
// file, `env` output, a ConfigMap, a text column or a log line showed it in clear to a masked principal
// (docs/security.md, class 263). Only the password is the finding: the user, the host and the rest of
// the URL stay, so a masked principal still sees which server it names. One pass over the text, no
// regular expressions.

import type { Finding } from './finding.js';

/**
 * Characters that end a URL in running text (a control character or blank, a quote, an angle bracket,
 * a backtick) or its authority for good (`?`, `#`: a query or a fragment follows, and an `@` in it is
 * not the userinfo's).
 */
function endsUrl(c: number): boolean {
  return (
    c <= 32 || c === 34 || c === 39 || c === 60 || c === 62 || c === 96 || c === 63 || c === 35 || c === 127
  );
}

/**
 * Appends a `url_password` finding for each URL in `text` whose userinfo holds a non-empty password:
 * after `://` (or JSON's `:\/\/`), a user holding no `/` or `\`, its `:`, then the password to the last
 * `@` before the URL ends (a raw `@`, `/` or `:` in a password is read as WHATWG and Python's parsers
 * read it: the host follows the last `@`). A `://` inside a password is part of it.
 */
export function scanUrlCredentials(text: string, out: Finding[]): void {
  const n = text.length;
  /** 0: no URL; 1: reading its user; 2: reading its password (from `colon`). */
  let phase = 0;
  let colon = -1;
  let lastAt = -1;
  // Most texts holding an `@` (an email address) hold no URL: one search each, then nothing.
  const plain = text.indexOf(':/');
  const escaped = text.indexOf(':\\/');
  if (plain < 0 && escaped < 0) return;
  const first = plain < 0 ? escaped : escaped < 0 ? plain : Math.min(plain, escaped);
  for (let i = first; i <= n; i++) {
    const c = i < n ? text.charCodeAt(i) : 0;
    if (i === n || endsUrl(c)) {
      if (phase === 2 && lastAt > colon + 1) push(text, colon + 1, lastAt, out);
      phase = 0;
      continue;
    }
    if (phase === 2) {
      if (c === 64) lastAt = i;
      continue;
    }
    if (c === 58) {
      if (phase === 1) {
        phase = 2;
        colon = i;
        lastAt = -1;
        continue;
      }
      // `://`, or `:\/\/` (JSON escapes `/`): a URL's authority begins after it.
      if (text.charCodeAt(i + 1) === 47 && text.charCodeAt(i + 2) === 47) {
        phase = 1;
        i += 2;
      } else if (text.startsWith('\\/\\/', i + 1)) {
        phase = 1;
        i += 4;
      }
      continue;
    }
    // A `/` or `\` before the user's `:` (a path), or an `@` (a user with no password): no password here.
    if (phase === 1 && (c === 47 || c === 92 || c === 64)) phase = 0;
  }
}

/**
 * A password as a mask style wrote it (`[REDACTED:…]`, partial's `****word`, hash's `hmac:…`): masking
 * scans its output again (detector-set.ts), and a masked password is not found a second time.
 */
const MASKED = /^(?:\[REDACTED:[a-z0-9_:]{1,80}\]|hmac:[0-9a-f]{16})$/;
/** Partial's mark: a `*`, and at most the 4 letters or digits it leaves. */
const PARTIAL = /^(?=.*\*)[^\p{L}\p{N}]*(?:[\p{L}\p{N}][^\p{L}\p{N}]*){0,4}$/u;

function push(text: string, start: number, end: number, out: Finding[]): void {
  const value = text.slice(start, end);
  if (!MASKED.test(value) && !PARTIAL.test(value))
    out.push({ detector: 'url_password', start, end, text: value });
}

/**
 * Whether `at` is inside a URL's userinfo after its user's `:` (`scheme://user:pass@word@host`, or JSON's
 * `:\/\/`): what starts there is part of the URL's password, not an email address's local part
 * (email-detector.ts). Looks back at most 256 characters.
 */
export function afterUrlUser(text: string, at: number): boolean {
  let colon = false;
  const stop = Math.max(0, at - 256);
  for (let i = at - 1; i >= stop; i--) {
    const c = text.charCodeAt(i);
    if (c === 47 && text.charCodeAt(i - 1) === 47) return colon && text.charCodeAt(i - 2) === 58;
    if (c === 47 && text.charCodeAt(i - 1) === 92) return colon && text.startsWith(':\\/\\/', i - 4);
    if (c === 47 || c === 92 || endsUrl(c)) return false;
    if (c === 58) colon = true;
  }
  return false;
}
