// The `kubernetes` MCP tool: one kubectl-shaped command ("get pods -n shop", "logs web", "exec web -- ls
// /") sent to the gateway's own Kubernetes listener over loopback TLS with the caller's token, so it
// passes the same gate as kubectl (decided, held for review, recorded, masked). exec runs without a
// terminal or input; its output and exit code come back. The listener's certificate is pinned.

import { X509Certificate } from 'node:crypto';
import https from 'node:https';
import type { PeerCertificate } from 'node:tls';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import WebSocket from 'ws';
import { z } from 'zod';
import { kubectlRequest, KubectlArgsError } from '../wire/kubernetes/kubectl-args.js';
import type { Caller, McpToolDeps } from './tool-deps.js';
import { textResult, toolError } from './tool-text.js';

export const kubernetesInputShape = {
  connection: z.string().min(1).describe('a kubernetes connection (see list_connections)'),
  command: z
    .string()
    .min(1)
    .max(4096)
    .describe('a kubectl command without "kubectl": "get pods -n shop", "logs web", "exec web -- ls /"'),
  reason: z.string().min(3).max(500).describe('why you run it; recorded with the request'),
};

/** Where a kubernetes connection listens, for loopback calls, and the certificate to pin. */
export interface KubernetesLoopback {
  readonly url: string;
  readonly certPem: string;
}

const MAX_TEXT = 32 * 1024;

function fingerprint(pem: string): string | undefined {
  try {
    return new X509Certificate(pem).fingerprint256;
  } catch {
    return undefined;
  }
}

/** The listener's own certificate (the first in its file), trusted directly and pinned. */
function tlsOptions(lb: KubernetesLoopback) {
  const leaf = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(lb.certPem)?.[0] ?? '';
  const pinned = fingerprint(leaf);
  return {
    ca: leaf,
    allowPartialTrustChain: true,
    checkServerIdentity: (_host: string, cert: PeerCertificate) =>
      pinned !== undefined && cert.fingerprint256 === pinned
        ? undefined
        : new Error('the loopback listener did not present its configured certificate'),
  };
}

function cap(text: string): string {
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}\n… (cut at ${MAX_TEXT} characters)` : text;
}

function statusMessage(body: string): string {
  try {
    const s = JSON.parse(body) as { kind?: string; message?: string };
    if (s.kind === 'Status' && typeof s.message === 'string') return s.message;
  } catch {
    // not a Status
  }
  return body.slice(0, 2000);
}

function userAgent(reason: string): string {
  // The reason is recorded with the session (its application) — the listener records no headers —
  // so every call opens its own connection (its own session).
  // A header carries printable ASCII only (a character above U+00FF made the call throw): the rest is
  // `?`, as in the ssh tool's identification comment.
  const clean = reason.replace(/[^\x20-\x7e]/g, '?').replace(/"/g, "'");
  return `gatehouse-mcp/kubernetes reason="${clean.slice(0, 150)}"`;
}

function request(
  lb: KubernetesLoopback,
  method: string,
  target: string,
  token: string,
  reason: string,
  signal: AbortSignal,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(target, lb.url);
    const req = https.request(url, {
      method,
      // A connection of its own, closed after the answer: the listener records one session per
      // connection, with the first request's user agent (this call's reason) as its application. A
      // pooled connection would file this call under an earlier call's reason.
      agent: false,
      ...tlsOptions(lb),
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        'user-agent': userAgent(reason),
        ...(method === 'POST' || method === 'PUT' || method === 'PATCH' ? { 'content-length': '0' } : {}),
      },
      signal,
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (b: Buffer) => {
        size += b.length;
        if (size <= MAX_TEXT * 4) chunks.push(b);
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

function exec(
  lb: KubernetesLoopback,
  target: string,
  token: string,
  reason: string,
  signal: AbortSignal,
): Promise<{ stdout: string; stderr: string; exitCode?: number; refused?: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(target, lb.url);
    url.protocol = 'wss:';
    const ws = new WebSocket(url, ['v5.channel.k8s.io'], {
      headers: { authorization: `Bearer ${token}`, 'user-agent': userAgent(reason) },
      ...tlsOptions(lb),
    });
    let stdout = '';
    let stderr = '';
    let exitCode: number | undefined;
    signal.addEventListener('abort', () => ws.terminate(), { once: true });
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString('utf8')));
      res.on('end', () => {
        ws.terminate();
        resolve({ stdout, stderr, refused: statusMessage(body) });
      });
    });
    ws.on('message', (data: Buffer) => {
      const channel = data[0];
      const payload = data.subarray(1).toString('utf8');
      if (channel === 1 && stdout.length < MAX_TEXT) stdout += payload;
      else if (channel === 2 && stderr.length < MAX_TEXT) stderr += payload;
      else if (channel === 3) {
        try {
          const s = JSON.parse(payload) as {
            status?: string;
            details?: { causes?: { reason?: string; message?: string }[] };
          };
          const cause = s.details?.causes?.find((c) => c.reason === 'ExitCode');
          exitCode =
            s.status === 'Success' ? 0 : cause?.message !== undefined ? Number(cause.message) : undefined;
        } catch {
          // unreadable status: no exit code
        }
      }
    });
    ws.on('close', () => resolve({ stdout, stderr, ...(exitCode !== undefined ? { exitCode } : {}) }));
    ws.on('error', (e) => reject(e));
  });
}

export async function kubernetesTool(
  deps: McpToolDeps,
  caller: Caller,
  args: { connection: string; command: string; reason: string },
  signal: AbortSignal,
): Promise<CallToolResult> {
  const lb = deps.kubernetes?.(args.connection);
  if (!lb) return toolError(`There is no kubernetes connection ${args.connection} on this gateway.`);
  let shape;
  try {
    shape = kubectlRequest(args.command);
  } catch (e) {
    if (!(e instanceof KubectlArgsError)) throw e;
    return toolError(`Gatehouse could not read that kubectl command: ${e.message}.`);
  }
  if (shape.upgrade) {
    if (!shape.target.includes('/exec?'))
      return toolError(
        'Only exec runs through this tool (attach and port-forward need a terminal): use kubectl.',
      );
    if (/[?&](stdin|tty)=true/.test(shape.target))
      return toolError(
        'exec through this tool runs without -i or -t (no input, no terminal). Drop those flags.',
      );
    const r = await exec(lb, shape.target, caller.token, args.reason, signal);
    if (r.refused !== undefined) return toolError(r.refused);
    const parts = [
      r.stdout === '' ? '(no output)' : cap(r.stdout),
      ...(r.stderr !== '' ? [`stderr:\n${cap(r.stderr)}`] : []),
      `exit code: ${r.exitCode ?? 'unknown'}`,
    ];
    return textResult(parts.join('\n'), { exitCode: r.exitCode ?? null });
  }
  if (shape.method !== 'GET' && shape.method !== 'DELETE')
    return toolError(
      'This tool sends no request bodies: use it for get, describe, logs, delete and exec; apply or patch with kubectl.',
    );
  const r = await request(lb, shape.method, shape.target, caller.token, args.reason, signal);
  if (r.status >= 400) return toolError(statusMessage(r.body), { status: r.status });
  return textResult(cap(r.body), { status: r.status });
}
