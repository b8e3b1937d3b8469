// The one spelling of a port-forward destination (direct-tcpip), decided on and forwarded: the host
// sshd will resolve, not the text the client sent. Resolvers read `127.1`, `2130706433`, `0x7f.0.0.1`
// and `0177.0.0.1` as 127.0.0.1 (inet_aton), names case-insensitively and with a trailing dot, and
// `::ffff:a.b.c.d` as the IPv4 address; a rule on `127.0.0.1` or `localhost` must hold for them all.
// Parsed with the WHATWG host parser (which reads IPv4 as inet_aton does); what is not a plain DNS
// name or IP address is refused. Pure.

const NAME = /^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$/;

/** The canonical host, or undefined when the destination is not a plain host name or IP address. */
export function canonicalForwardHost(raw: string): string | undefined {
  if (raw === '' || raw.length > 255 || /[^\x21-\x7e]/.test(raw)) return undefined;
  const bracketed = raw.startsWith('[') && raw.endsWith(']');
  const ipv6 = bracketed || raw.includes(':');
  let host: string;
  try {
    host = new URL(`http://${ipv6 && !bracketed ? `[${raw}]` : raw}/`).hostname;
  } catch {
    return undefined;
  }
  if (host.startsWith('[')) {
    const inner = host.slice(1, -1);
    // IPv4-mapped: the IPv4 address it reaches.
    const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(inner);
    if (mapped) {
      const hi = parseInt(mapped[1]!, 16);
      const lo = parseInt(mapped[2]!, 16);
      return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
    }
    return inner;
  }
  if (ipv6) return undefined;
  if (host.endsWith('.')) host = host.slice(0, -1);
  // The WHATWG parser turned every IPv4 spelling into a dotted quad; what is left must be a DNS name
  // (no percent-escapes or IDNA forms the upstream might read otherwise).
  return NAME.test(host) ? host : undefined;
}
