// Which headers cross the gateway. Hop-by-hop headers (RFC 9110 §7.6.1) never do; the client's
// credential and Host never reach the upstream; AWS signing headers are replaced by the gateway's own;
// method-override headers never do (the method decided is the method sent: method-override.ts); nor
// any name a CGI-style server reads as one of these, nor, to a generic upstream, any name with a
// character but a letter, a digit or "-" (CGI-style servers read "_", "." and the like as "-").

import type { IncomingHttpHeaders } from 'node:http';
import { cgiHeaderName, METHOD_OVERRIDE_HEADERS } from './method-override.js';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'http2-settings',
]);

/** Request headers that never go upstream, whatever the connection. */
const CLIENT_ONLY = new Set([
  'host',
  'authorization',
  'content-length',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  ...METHOD_OVERRIDE_HEADERS,
  // CGI-style servers hand `Proxy` to the application as HTTP_PROXY, which HTTP clients there read
  // as the proxy for their own outgoing requests ("httpoxy"): the client would choose where the
  // upstream application's requests (and the credentials they carry) go.
  'proxy',
  // Path overrides: IIS URL Rewrite and Symfony/Zend read these as the real request path.
  'x-original-url',
  'x-rewrite-url',
  'x-original-uri',
]);

/** The names above as CGI-style servers read them (`X.Original.URL` is `X-Original-URL` there). */
const WITHHELD_CGI = new Set([...HOP_BY_HOP, ...CLIENT_ONLY].map(cgiHeaderName));

/** AWS signing headers the gateway replaces with its own. */
const AWS_SIGNING = new Set(['x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256']);

/** aws-chunked framing the gateway decodes: the trailing checksum it announces is not forwarded. */
const AWS_CHUNKED = new Set([
  'x-amz-decoded-content-length',
  'x-amz-trailer',
  'x-amz-sdk-checksum-algorithm',
]);

function connectionTokens(headers: IncomingHttpHeaders): Set<string> {
  const c = headers['connection'];
  return new Set(
    (c ?? '')
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter((t) => t !== ''),
  );
}

/**
 * The end-to-end headers of this request that its Connection header names, which a proxy would strip
 * (RFC 9110 §7.6.1): undefined when there are none. Hop-by-hop names (`keep-alive`, `upgrade`, `te`…)
 * are fine. A request that names one is refused, not stripped: what was decided may have read the
 * header (S3's x-amz-copy-source makes a PutObject a CopyObject), so dropping it would forward another
 * request than the one decided.
 */
export function connectionStrippedHeaders(headers: IncomingHttpHeaders): string | undefined {
  if (headers['connection'] === undefined) return undefined;
  const named = [...connectionTokens(headers)].filter(
    (name) => !HOP_BY_HOP.has(name) && headers[name] !== undefined,
  );
  return named.length > 0 ? named.join(', ') : undefined;
}

/** The refusal for a request whose Connection header names end-to-end headers, written for the client. */
export function connectionRefusal(named: string): string {
  return (
    `Gatehouse refused the request: its Connection header names ${named.slice(0, 200)}, a header the request ` +
    'carries and Gatehouse would have to drop. Send the request without naming it in Connection.'
  );
}

/** Whether a request header never goes upstream, on any connection (hop-by-hop, the client's own). */
export function neverForwarded(name: string): boolean {
  const n = name.toLowerCase();
  return HOP_BY_HOP.has(n) || CLIENT_ONLY.has(n) || n.startsWith('proxy-');
}

/** Headers to forward upstream (lower-case names, one value each). */
export function forwardRequestHeaders(
  headers: IncomingHttpHeaders,
  options: { aws: boolean; awsChunked: boolean },
): Record<string, string> {
  const named = connectionTokens(headers);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || CLIENT_ONLY.has(name) || named.has(name)) continue;
    if (options.aws && (AWS_SIGNING.has(name) || name === 'x-amz-decoded-content-length')) continue;
    // CGI, WSGI and PHP name a header HTTP_<NAME>, with "-" turned to "_" (PHP: "." too; Apache httpd
    // 2.2: any character but a letter or digit): X_Original_URL and X.Original.URL read as
    // X-Original-URL there, past every name withheld above (docs/security.md, classes 41 and 156). None
    // goes upstream; a generic upstream gets only names of letters, digits and "-" (nginx's default
    // too); AWS keeps the others (x-amz-meta-my_key).
    if (WITHHELD_CGI.has(cgiHeaderName(name))) continue;
    if (!options.aws && /[^A-Za-z0-9-]/.test(name)) continue;
    if (options.awsChunked && AWS_CHUNKED.has(name)) continue;
    if (name.startsWith('proxy-')) continue;
    let v = Array.isArray(value) ? value.join(', ') : value;
    if (name === 'content-encoding' && options.awsChunked) {
      // aws-chunked is framing the gateway removes; other codings (gzip of the object) stay.
      v = v
        .split(',')
        .map((t) => t.trim())
        .filter((t) => t !== '' && t.toLowerCase() !== 'aws-chunked')
        .join(', ');
      if (v === '') continue;
    }
    out[name] = v;
  }
  return out;
}

/** The headers an upstream sets a cookie with (RFC 6265, and RFC 2965's obsolete one). */
export const SET_COOKIE_HEADERS: readonly string[] = ['set-cookie', 'set-cookie2'];

/**
 * Response headers to relay to the client. `withholdCookies`: the upstream's cookies are not (a session
 * the upstream opens for a request that carried the gateway's credential is that credential, usable
 * without Gatehouse: docs/security.md, class 157).
 */
export function relayResponseHeaders(
  headers: Record<string, string | string[] | undefined>,
  options: { readonly withholdCookies: boolean },
): Record<string, string | string[]> {
  const named = new Set(
    String(headers['connection'] ?? '')
      .split(',')
      .map((t) => t.trim().toLowerCase()),
  );
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    const n = name.toLowerCase();
    if (value === undefined || HOP_BY_HOP.has(n) || named.has(n)) continue;
    if (options.withholdCookies && SET_COOKIE_HEADERS.includes(n)) continue;
    out[n] = value;
  }
  return out;
}

/** Headers that describe the exact bytes of a body: dropped when Gatehouse changes the body. */
export const BODY_DIGEST_HEADERS = [
  'content-length',
  'content-md5',
  'content-encoding',
  'x-amz-crc32',
  'digest',
  'repr-digest',
  'content-digest',
];

export function isBodyDigestHeader(name: string): boolean {
  return BODY_DIGEST_HEADERS.includes(name) || name.startsWith('x-amz-checksum-');
}
