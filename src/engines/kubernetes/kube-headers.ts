// Which headers cross the gateway to the API server. Hop-by-hop headers (RFC 9110 §7.6.1), the
// client's credential and Host never do; impersonation headers (kubectl --as) are refused before this,
// since they would act with the gateway's own credential as someone else.

import type { IncomingHttpHeaders } from 'node:http';

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

const CLIENT_ONLY = new Set([
  'host',
  'authorization',
  'content-length',
  'forwarded',
  'x-forwarded-for',
  'x-forwarded-host',
  'x-forwarded-proto',
  'x-remote-user',
  'x-remote-group',
]);

/** Headers the API server reads as "act as someone else" (kubectl --as, --as-group, --as-uid). */
export function impersonationHeader(headers: IncomingHttpHeaders): string | undefined {
  return Object.keys(headers).find((h) => h.startsWith('impersonate-'));
}

export function forwardHeaders(
  headers: IncomingHttpHeaders,
  options: { readonly masking: boolean },
): Record<string, string> {
  const named = new Set(
    String(headers['connection'] ?? '')
      .split(',')
      .map((t) => t.trim().toLowerCase()),
  );
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || CLIENT_ONLY.has(name) || named.has(name)) continue;
    if (name.startsWith('proxy-') || name.startsWith('impersonate-') || name.startsWith('sec-websocket-'))
      continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  if (options.masking) {
    // Masking reads the body: ask for JSON, uncompressed (protobuf and gzip could not be masked).
    delete out['accept-encoding'];
    const accept = out['accept'];
    if (accept !== undefined) {
      const kept = accept
        .split(',')
        .map((p) => p.trim())
        .filter((p) => p !== '' && !p.toLowerCase().includes('protobuf'));
      out['accept'] = kept.length > 0 ? kept.join(', ') : 'application/json';
    }
  }
  return out;
}

export function relayHeaders(
  headers: Record<string, string | string[] | undefined>,
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
    out[n] = value;
  }
  return out;
}
