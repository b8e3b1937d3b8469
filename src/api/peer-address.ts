// The peer's address of a request on the HTTP listener (@hono/node-server hands the node request in
// as the context's env), for refusals before authentication (core/preauth.ts). Undefined when the
// app runs without a socket (app.request in tests).

export function peerAddress(c: { readonly env: unknown }): string | undefined {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress;
}
