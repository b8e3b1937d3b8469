// Helpers for the approvals tests: the HTTP API as an approver calls it, waiting for a request to
// appear, a raw PostgreSQL CancelRequest (the `pg` package exposes no cancel API of its own), and the
// policy most of them hold UPDATEs under.

import net from 'node:net';
import type pg from 'pg';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import type { TestGateway } from './testkit/gateway.js';

/** Loosely typed JSON from the API, for assertions. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface ApiAnswer<T = Json> {
  readonly status: number;
  readonly body: T;
}

export function httpBase(gw: TestGateway): string {
  const http = gw.gateway.http;
  if (!http) throw new Error('the test gateway has no http listener');
  return `http://127.0.0.1:${http.port}`;
}

export async function api<T = Json>(
  gw: TestGateway,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<ApiAnswer<T>> {
  const res = await fetch(`${httpBase(gw)}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
}

/** Polls the API until a pending request matching `pred` shows up. */
export async function waitForRequest(
  gw: TestGateway,
  token: string,
  pred: (r: Json) => boolean,
  timeoutMs = 10_000,
): Promise<Json> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await api<{ requests: Json[] }>(gw, token, 'GET', '/api/approvals?status=all');
    const hit = r.body.requests?.find(pred);
    if (hit) return hit;
    if (Date.now() > until) throw new Error(`no matching approval request appeared (status ${r.status})`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

/** Sends a CancelRequest (protocol 55.2.7) for a connected pg.Client to the gateway port. */
export function sendCancel(port: number, client: pg.Client): Promise<void> {
  const c = client as unknown as { processID: number; secretKey: number };
  const buf = Buffer.alloc(16);
  buf.writeInt32BE(16, 0);
  buf.writeInt32BE(80877102, 4);
  buf.writeInt32BE(c.processID, 8);
  buf.writeInt32BE(c.secretKey, 12);
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => s.end(buf));
    s.on('error', reject);
    s.on('close', () => resolve());
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Testers' UPDATEs are held for a dba (mode hold); the rest is allowed: the approval tests' policy. */
export const HOLD_UPDATES_FOR_DBA: PolicyConfig[] = [
  {
    id: 'testers',
    subjects: { groups: ['testers'] },
    connections: ['app'],
    rules: [
      { id: 'review-updates', effect: 'review', match: { kinds: ['update'] }, mode: 'hold', approval: 'dba' },
      { id: 'allow-rest', effect: 'allow', match: {} },
    ],
  },
];
