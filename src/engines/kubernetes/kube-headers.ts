// Which headers cross the gateway to the API server: only those a request needs for itself — content
// negotiation, its body's type, the client's name, conditional reads — and an Audit-ID naming
// Gatehouse's record of it. The API server acts on other headers too: it takes a client's Audit-ID as
// its audit event's id, X-Forwarded-For and X-Real-Ip as the event's source IPs, a front proxy's
// X-Remote-User/-Group/-Uid/-Extra-* (under names the cluster chooses) as the user, traceparent as the
// trace; none of these are the client's to set, so no header outside the list goes up. Impersonation
// headers (kubectl --as) are refused before this, since they would act with the gateway's own
// credential as someone else.

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

/** The client's request headers that go up (lower-case); the credential and Host never do. */
const FORWARDED = new Set([
  'accept',
  'accept-encoding',
  'content-type',
  'user-agent',
  'kubectl-command',
  'kubectl-session',
  'if-none-match',
  'if-modified-since',
  'cache-control',
]);

/** Headers the API server reads as "act as someone else" (kubectl --as, --as-group, --as-uid). */
export function impersonationHeader(headers: IncomingHttpHeaders): string | undefined {
  return Object.keys(headers).find((h) => h.startsWith('impersonate-'));
}

/**
 * The headers to send the API server: the client's that the request needs (FORWARDED; not those its
 * Connection header names), and `audit-id`, the id of Gatehouse's record of the request, so the
 * cluster's audit event names it (the API server takes the id it is given).
 */
export function forwardHeaders(
  headers: IncomingHttpHeaders,
  options: { readonly masking: boolean; readonly auditId: string },
): Record<string, string> {
  const named = new Set(
    String(headers['connection'] ?? '')
      .split(',')
      .map((t) => t.trim().toLowerCase()),
  );
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || !FORWARDED.has(name) || named.has(name)) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  out['audit-id'] = options.auditId;
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
