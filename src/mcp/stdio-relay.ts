// `gatehouse mcp --gateway URL`: an MCP server on stdio for clients that only speak stdio, relaying
// every JSON-RPC message to the gateway's /mcp endpoint with the token from the environment. It
// decides nothing and holds no database credential: the gateway does all of that.
//
// MCP authorization: stdio transports take credentials from the environment (the spec's stdio
// guidance), so the relay reads GATEHOUSE_TOKEN and sends it as `Authorization: Bearer` on HTTP.

import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Readable, Writable } from 'node:stream';
import { MCP_PATH, TOKEN_ENV } from './resource-metadata.js';

export { TOKEN_ENV };

export interface StdioRelayOptions {
  /** The gateway's base URL (`https://gw.example.com`) or its MCP endpoint (`…/mcp`). */
  readonly gateway: string;
  readonly token: string;
  readonly stdin?: Readable;
  readonly stdout?: Writable;
  /** Diagnostics (never stdout, which carries the protocol). */
  readonly log?: (line: string) => void;
}

/** The MCP endpoint for a gateway URL: a base URL gets `/mcp` appended. */
export function mcpEndpoint(gateway: string): URL {
  const u = new URL(gateway);
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    throw new Error(`--gateway must be an http(s) URL, not ${u.protocol}`);
  if (!u.pathname.endsWith(MCP_PATH)) u.pathname = `${u.pathname.replace(/\/+$/, '')}${MCP_PATH}`;
  return u;
}

function isRequest(m: JSONRPCMessage): m is JSONRPCMessage & { id: string | number; method: string } {
  return 'method' in m && 'id' in m && m.id !== undefined;
}

/** Relays until stdin closes; resolves then. */
export async function runStdioRelay(opts: StdioRelayOptions): Promise<void> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const endpoint = mcpEndpoint(opts.gateway);
  if (endpoint.protocol === 'http:' && !['localhost', '127.0.0.1', '[::1]'].includes(endpoint.hostname)) {
    log(`gatehouse mcp: warning: ${endpoint.origin} is plain http; the token is sent unencrypted`);
  }
  const stdio = new StdioServerTransport(opts.stdin, opts.stdout);
  const http = new StreamableHTTPClientTransport(endpoint, {
    requestInit: { headers: { Authorization: `Bearer ${opts.token}` } },
  });
  const initializeIds = new Set<string | number>();

  const fail = (m: JSONRPCMessage, error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    log(`gatehouse mcp: ${message}`);
    if (!isRequest(m)) return;
    // The client is waiting for an answer to this request: give it one instead of silence.
    const reply: JSONRPCMessage = {
      jsonrpc: '2.0',
      id: m.id,
      error: { code: -32000, message: `Gatehouse gateway unreachable or refused the request: ${message}` },
    };
    void stdio.send(reply).catch(() => undefined);
  };

  stdio.onmessage = (m) => {
    if (isRequest(m) && m.method === 'initialize') initializeIds.add(m.id);
    http.send(m).catch((e: unknown) => fail(m, e));
  };
  http.onmessage = (m) => {
    // The negotiated version goes on every later HTTP request as MCP-Protocol-Version (2025-06-18+).
    if ('id' in m && m.id !== undefined && initializeIds.delete(m.id) && 'result' in m) {
      const v = (m.result as { protocolVersion?: unknown }).protocolVersion;
      if (typeof v === 'string') http.setProtocolVersion(v);
    }
    void stdio.send(m).catch((e: unknown) => log(`gatehouse mcp: could not write to stdout: ${String(e)}`));
  };
  http.onerror = (e) => log(`gatehouse mcp: ${e.message}`);

  const closed = new Promise<void>((resolve) => {
    stdio.onclose = () => resolve();
  });
  await http.start();
  await stdio.start();
  (opts.stdin ?? process.stdin).once('end', () => void stdio.close());
  await closed;
  await http.close().catch(() => undefined);
}
