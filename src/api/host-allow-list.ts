// Which Host headers an HTTP listener answers (docs/security.md, class 121). A page on
// attacker.example whose name the attacker re-points to 127.0.0.1 (DNS rebinding) is, to the
// browser, still the origin attacker.example: its script may read whatever its requests to "its own"
// host answer, and the Host header it sends names attacker.example. So a listener that answers every
// Host serves anything it serves without credentials (health, metadata, the unauthenticated metrics
// listener) to any web page the person behind it opens, and an Origin-equals-Host check passes for
// that page. A listener answers only names that are its own:
//
// - an IP literal (a browser sends one only for a URL naming that address: no name was resolved, so
//   nothing was rebound — this also keeps a scrape by address, e.g. a pod's IP, working);
// - `localhost` (browsers resolve it to loopback themselves);
// - the host of the address it is bound to, and of each URL it is configured to be reached at
//   (`listeners.http.publicUrl`, `approvals.publicUrl`, `mcp.resource`);
// - the names configured for it (`listeners.http.allowedHosts`, `metrics.allowedHosts`): exact names,
//   `*.example.com` for any name under example.com, or `*` for any name (a proxy in front checks).
//
// A request without a Host header (HTTP/1.0; node refuses an HTTP/1.1 one) comes from no browser and
// is answered.

import net from 'node:net';

/** The host name of a Host header value (`name`, `name:port`, `[v6]:port`), lower case; undefined if malformed. */
export function hostNameOf(value: string): string | undefined {
  const v = value.trim().toLowerCase();
  let name: string;
  let rest: string;
  if (v.startsWith('[')) {
    const end = v.indexOf(']');
    if (end < 0) return undefined;
    name = v.slice(1, end);
    if (net.isIPv6(name) === false) return undefined;
    rest = v.slice(end + 1);
  } else {
    const colon = v.indexOf(':');
    name = colon < 0 ? v : v.slice(0, colon);
    rest = colon < 0 ? '' : v.slice(colon);
  }
  if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined;
  name = name.replace(/\.$/, '');
  if (name === '' || !/^[a-z0-9._:-]+$/.test(name)) return undefined;
  return name;
}

/** The host name of a URL (no brackets), or undefined. */
function urlHost(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).hostname
      .replace(/^\[|\]$/g, '')
      .replace(/\.$/, '')
      .toLowerCase();
  } catch {
    return undefined;
  }
}

export interface HostSources {
  /** The listener's bound host (`address` without the port; a wildcard address names nothing). */
  readonly bound?: string;
  /** URLs the listener is reached at (their hosts are its own). */
  readonly urls: readonly (string | undefined)[];
  /** Configured extra names: exact, `*.suffix`, or `*`. */
  readonly allowed: readonly string[];
}

/** Whether a Host header value names this listener (read `sources` on every call: reloads apply). */
export function hostAllowed(header: string | undefined, sources: HostSources): boolean {
  if (header === undefined || header === '') return true;
  const name = hostNameOf(header);
  if (name === undefined) return false;
  if (net.isIP(name) !== 0 || name === 'localhost') return true;
  const bound = sources.bound?.replace(/^\[|\]$/g, '').toLowerCase();
  if (bound && name === bound) return true;
  for (const u of sources.urls) if (urlHost(u) === name) return true;
  for (const raw of sources.allowed) {
    const entry = raw.trim().toLowerCase().replace(/\.$/, '');
    if (entry === '*') return true;
    if (entry.startsWith('*.')) {
      if (name.endsWith(entry.slice(1)) && name.length > entry.length - 1) return true;
    } else if ((hostNameOf(entry) ?? entry) === name) return true;
  }
  return false;
}

/** The answer to a request whose Host is not this listener's: 421 Misdirected Request (RFC 9110 §15.5.20). */
export const MISDIRECTED_STATUS = 421;

export function misdirectedBody(setting: string): string {
  return JSON.stringify({
    type: 'about:blank',
    title: 'Misdirected Request',
    status: MISDIRECTED_STATUS,
    detail: `this listener does not answer the host name in the Host header; if it is the gateway's, add it to ${setting} (docs/operations.md, "Host names")`,
  });
}

export const MISDIRECTED_HEADERS = {
  'content-type': 'application/problem+json',
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
} as const;
