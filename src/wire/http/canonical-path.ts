// The one canonical form of an HTTP request path (RFC 3986 §6.2.2): what policy decides on is exactly
// what is forwarded, byte for byte. Forms that servers and proxies read differently are refused, never
// guessed at: backslashes, encoded `/` `\` `.` `%` `;`, dot segments, empty segments, `;` path
// parameters, controls, raw non-ASCII. Pure; used by the HTTP, AWS and Kubernetes engines. It knows
// nothing of queries (split them off first).

export interface CanonicalPath {
  readonly ok: true;
  /** The path to decide on and to forward: percent-escapes of unreserved characters decoded, the rest upper-cased. */
  readonly path: string;
  /** Each segment percent-decoded (safe: no segment can contain `/` after decoding). */
  readonly segments: readonly string[];
  /** The path percent-decoded, for matching and records. */
  readonly decoded: string;
  /** The path ended with `/` (kept in `path`). */
  readonly trailingSlash: boolean;
}

export interface RefusedPath {
  readonly ok: false;
  /** Written for the client: what is wrong and how to send it instead. */
  readonly reason: string;
}

/**
 * Which reading of a path the upstream has.
 * - `strict` (the default; generic HTTP APIs, AWS services other than S3, Kubernetes): every form
 *   some server, framework or proxy reads differently is refused.
 * - `s3`: an S3 path-style path, `/<bucket>/<key>`. S3 reads the key as the percent-decoded rest of
 *   the path and never splits or resolves it, so `%5C` (`\`), `%25` (`%`) and `%3B` (`;`) are plain key
 *   characters there (SDKs send them so). Everything else stays refused, and so is a raw `+` (S3 reads
 *   it as a space, Gatehouse would read it as a plus: SDKs send `%2B`).
 */
export type PathProfile = 'strict' | 's3';

export interface CanonicalPathOptions {
  readonly profile?: PathProfile;
}

/** ALPHA / DIGIT / "-" / "." / "_" / "~" (RFC 3986 §2.3). */
function isUnreserved(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    c === 0x2d ||
    c === 0x2e ||
    c === 0x5f ||
    c === 0x7e
  );
}

/**
 * pchar sub-delims and ":" "@" (RFC 3986 §3.3), allowed raw in a segment; `;` is not among them: it
 * starts path parameters (RFC 2396 §3.3), which Tomcat, Jetty and others strip (`/admin;x=1` is
 * `/admin` to them, but not to a rule on `/admin/**`).
 */
const RAW_ALLOWED = new Set("!$&'()*+,=:@".split('').map((c) => c.charCodeAt(0)));

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

const refuse = (reason: string): RefusedPath => ({ ok: false, reason });

/** Escapes that change how a path splits or resolves somewhere; refused wherever they appear. */
const AMBIGUOUS_ESCAPES: Readonly<Record<number, string>> = {
  0x2f: 'an encoded "/" (%2F)',
  0x5c: 'an encoded "\\" (%5C)',
  0x2e: 'an encoded "." (%2E)',
  0x25: 'an encoded "%" (%25, double encoding)',
  0x3b: 'an encoded ";" (%3B)',
};

/** In an S3 key these are ordinary characters (see PathProfile). */
const S3_KEY_ESCAPES = new Set([0x5c, 0x25, 0x3b]);

const MAX_PATH = 8192;

/**
 * Canonicalises a raw origin-form path (no query, no fragment). Returns the canonical path, or a
 * refusal naming the ambiguous form.
 */
export function canonicalPath(raw: string, options: CanonicalPathOptions = {}): CanonicalPath | RefusedPath {
  const s3 = options.profile === 's3';
  if (raw.length === 0 || raw.charCodeAt(0) !== 0x2f) return refuse('the path must start with "/"');
  if (raw.length > MAX_PATH) return refuse(`the path is longer than ${MAX_PATH} characters`);
  const out: string[] = [];
  const segments: string[] = [];
  let segOut = '';
  let segDecoded: number[] = [];
  /** The segment decoded so far, while every byte of it is ASCII (its UTF-8 decoding is itself). */
  let segAscii = '';
  let segHigh = false;
  let trailingSlash = false;
  const endSegment = (): RefusedPath | undefined => {
    let text = segAscii;
    if (segHigh) {
      const bytes = Buffer.from(segDecoded);
      text = bytes.toString('utf8');
      if (!Buffer.from(text, 'utf8').equals(bytes))
        return refuse('the path has percent-escapes that are not valid UTF-8');
    }
    if (text === '.' || text === '..') return refuse(`the path has a dot segment ("${text}")`);
    segments.push(text);
    out.push(segOut);
    segOut = '';
    segDecoded = [];
    segAscii = '';
    segHigh = false;
    return undefined;
  };
  for (let i = 1; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x2f) {
      if (segOut === '') return refuse('the path has an empty segment ("//")');
      const r = endSegment();
      if (r) return r;
      if (i === raw.length - 1) trailingSlash = true;
      continue;
    }
    if (c === 0x5c) return refuse('the path has a backslash ("\\")');
    if (c < 0x21 || c === 0x7f) return refuse('the path has a space or a control character');
    if (c > 0x7e) return refuse('the path has a raw non-ASCII character (percent-encode it as UTF-8)');
    if (c === 0x3f || c === 0x23) return refuse('the path has a "?" or "#" (split the query off first)');
    if (c === 0x3b)
      return refuse(
        'the path has a ";" (a path parameter, which some servers strip: /admin;x=1 is /admin to them)',
      );
    if (c === 0x2b && s3) return refuse('the path has a raw "+" (S3 reads it as a space): send it as %2B');
    if (c === 0x25) {
      const h = i + 2 < raw.length ? hexValue(raw.charCodeAt(i + 1)) : -1;
      const l = i + 2 < raw.length ? hexValue(raw.charCodeAt(i + 2)) : -1;
      if (h < 0 || l < 0) return refuse('the path has a malformed percent-escape');
      const byte = h * 16 + l;
      const ambiguous = AMBIGUOUS_ESCAPES[byte];
      if (ambiguous !== undefined && !(s3 && S3_KEY_ESCAPES.has(byte)))
        return refuse(`the path has ${ambiguous}`);
      if (byte < 0x20 || byte === 0x7f) return refuse('the path has an encoded control character');
      i += 2;
      segDecoded.push(byte);
      if (byte > 0x7f) segHigh = true;
      else segAscii += String.fromCharCode(byte);
      // Unreserved characters are equivalent decoded (RFC 3986 §6.2.2.2); other escapes stay, upper-case.
      segOut += isUnreserved(byte)
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
      continue;
    }
    if (!isUnreserved(c) && !RAW_ALLOWED.has(c)) {
      return refuse(`the path has a character that must be percent-encoded ("${String.fromCharCode(c)}")`);
    }
    const ch = String.fromCharCode(c);
    segOut += ch;
    segAscii += ch;
    segDecoded.push(c);
  }
  if (segOut !== '') {
    const r = endSegment();
    if (r) return r;
  }
  const path = `/${out.join('/')}${trailingSlash ? '/' : ''}`;
  return {
    ok: true,
    path,
    segments,
    decoded: `/${segments.join('/')}${trailingSlash ? '/' : ''}`,
    trailingSlash,
  };
}

/**
 * The path prefix an upstream base URL's path gives: '' for `/`, else the path without a trailing
 * `/`. Undefined when that prefix is not itself canonical (a base the gateway could not vouch for).
 */
export function basePrefix(basePathname: string): string | undefined {
  const prefix = basePathname.endsWith('/') ? basePathname.slice(0, -1) : basePathname;
  if (prefix === '') return '';
  const c = canonicalPath(prefix);
  return c.ok && c.path === prefix ? prefix : undefined;
}

/**
 * The path to send upstream: the base prefix followed by the canonical path, composed as a string
 * (never through WHATWG `URL`, which would turn `\` into `/` and resolve dot segments). Checked once
 * more: the result must be canonical under the same profile and lie under the prefix; undefined if not
 * (it cannot happen for a canonical path and a prefix from `basePrefix`; the caller fails closed).
 */
export function pathUnderBase(
  prefix: string,
  path: CanonicalPath,
  options: CanonicalPathOptions = {},
): string | undefined {
  const full = `${prefix}${path.path}`;
  if (prefix !== '' && !full.startsWith(`${prefix}/`)) return undefined;
  const again = canonicalPath(full, options);
  if (!again.ok || again.path !== full) return undefined;
  return full;
}
