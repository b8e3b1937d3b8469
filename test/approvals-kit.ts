// Helpers for the approvals tests: the HTTP API as an approver calls it, waiting for a request to
// appear, a raw PostgreSQL CancelRequest (the `pg` package exposes no cancel API of its own), the
// policy most of them hold UPDATEs under, and a gateway that holds them for a dba.

import net from 'node:net';
import pg from 'pg';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

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

/** A gateway holding the testers' UPDATEs for a dba, with the tokens of an agent tester and a dba. */
export interface DbaHoldGateway {
  readonly gw: TestGateway;
  /** claude: an agent in the testers group. */
  readonly agent: string;
  /** alice: a person in the dba group, who approves. */
  readonly alice: string;
}

/** HOLD_UPDATES_FOR_DBA on a gateway with its HTTP API, over a database made by `setupSql`. */
export async function startDbaHoldGateway(pgUrl: string, setupSql: string): Promise<DbaHoldGateway> {
  const gw = await startTestGateway({
    superUrl: pgUrl,
    policies: HOLD_UPDATES_FOR_DBA,
    setupSql,
    extra: {
      listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
      approvals: { rules: { dba: { approverGroups: ['dba'], holdTimeout: '20s' } } },
    },
  });
  const agent = await gw.token({ subject: 'claude', groups: ['testers'], agent: true });
  const alice = await gw.token({ subject: 'alice', groups: ['dba'] });
  return { gw, agent, alice };
}

/** The rows of `table` whose `flag` column is `flag`, read directly from the database. */
export async function flaggedRows(gw: TestGateway, table: string, flag: string): Promise<number> {
  const c = new pg.Client({ connectionString: gw.directUrl });
  await c.connect();
  try {
    return (await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE flag = $1`, [flag]))
      .rows[0]!.n;
  } finally {
    await c.end();
  }
}
