// /metrics and OTLP traces through the real gateway: Prometheus text that parses, moves when psql
// runs statements, is refused to agents and to callers without a token (and served without one on
// the separate metrics listener); spans of the gate's steps reach an OTLP/HTTP collector as
// children of the admit span, carrying no statement text and no token.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hasCommand, run } from './testkit/commands.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { parsePrometheusText } from './testkit/prometheus-text.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: { key: string; value: Record<string, unknown> }[];
}

let gw: TestGateway;
let collector: http.Server;
const received: string[] = [];
let admin: string;
let agent: string;

beforeAll(async () => {
  collector = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.url === '/v1/traces') received.push(body);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
  const port = (collector.address() as AddressInfo).port;
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    setupSql: 'CREATE TABLE t (id int primary key, email text); INSERT INTO t VALUES (1, $$a@example.com$$)',
    policies: [
      {
        id: 'people',
        subjects: { groups: ['testers'], agent: false },
        connections: ['*'],
        rules: [{ id: 'people-all', effect: 'allow', match: {} }],
      },
      {
        id: 'agents',
        subjects: { agent: true },
        connections: ['*'],
        rules: [
          { id: 'agents-no-drop', effect: 'deny', match: { categories: ['ddl-drop'] } },
          { id: 'agents-read', effect: 'allow', match: { categories: ['read'] }, mask: true },
        ],
      },
    ],
    extra: {
      listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
      api: { adminGroups: ['dba'] },
      metrics: { enabled: true, listen: '127.0.0.1:0' },
      tracing: { otlpEndpoint: `http://127.0.0.1:${port}/v1/traces`, serviceName: 'gatehouse-test' },
    },
  });
  admin = await gw.token({ subject: 'alice', groups: ['dba', 'testers'] });
  agent = await gw.token({ subject: 'claude', groups: ['testers'], agent: true });
});

afterAll(async () => {
  await gw?.stop();
  await new Promise<void>((r) => collector.close(() => r()));
});

const scrape = async (token?: string) => {
  const res = await fetch(`http://127.0.0.1:${gw.gateway.http!.port}/metrics`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
};

describe('metrics', () => {
  it('serve Prometheus text to admins only, and without a token on the separate listener', async () => {
    expect((await scrape()).status).toBe(401);
    expect((await scrape(agent)).status).toBe(403);
    const ok = await scrape(admin);
    expect(ok.status).toBe(200);
    expect(ok.type).toMatch(/^text\/plain; version=0\.0\.4/);
    const e = parsePrometheusText(ok.text);
    for (const family of [
      'gatehouse_build_info',
      'gatehouse_sessions_total',
      'gatehouse_sessions_open',
      'gatehouse_statements_total',
      'gatehouse_gate_added_latency_seconds',
      'gatehouse_store_write_seconds',
      'gatehouse_store_queue_depth',
      'gatehouse_store_wal_checkpoints_total',
      'gatehouse_store_folds_total',
      'gatehouse_store_staged_rows',
      'gatehouse_store_longest_fold_seconds',
      'gatehouse_upstream_connections',
      'gatehouse_limits_hit_total',
      'gatehouse_masked_values_total',
      'gatehouse_approval_wait_seconds',
      'gatehouse_approvals_held',
      'gatehouse_siem_dropped_events_total',
    ])
      expect(e.types.has(family), family).toBe(true);
    const side = await fetch(`http://127.0.0.1:${gw.gateway.metricsListener!.port}/metrics`);
    expect(side.status).toBe(200);
    parsePrometheusText(await side.text());
  });

  it('move when statements run through psql', async () => {
    const before = parsePrometheusText((await scrape(admin)).text);
    const c = gw.client(agent);
    await c.connect();
    await c.query('SELECT email FROM t');
    await c.query('SELECT 1');
    await expect(c.query('DROP TABLE t')).rejects.toThrow(/agents-no-drop/);
    const open = parsePrometheusText((await scrape(admin)).text);
    expect(open.value('gatehouse_sessions_open', { connection: gw.connection, protocol: 'postgres' })).toBe(
      before.value('gatehouse_sessions_open', { connection: gw.connection, protocol: 'postgres' }) + 1,
    );
    await c.end();
    if (hasCommand('psql')) {
      const r = await run('psql', [gw.url(agent, 'claude'), '-c', 'SELECT count(*) FROM t']);
      expect(r.code, r.stderr).toBe(0);
    }
    let after = parsePrometheusText((await scrape(admin)).text);
    for (
      let i = 0;
      i < 50 && after.value('gatehouse_sessions_open') > before.value('gatehouse_sessions_open');
      i++
    ) {
      await new Promise((r) => setTimeout(r, 20));
      after = parsePrometheusText((await scrape(admin)).text);
    }
    const d = (name: string, labels: Record<string, string> = {}) =>
      after.value(name, labels) - before.value(name, labels);
    expect(d('gatehouse_sessions_total', { protocol: 'postgres' })).toBe(hasCommand('psql') ? 2 : 1);
    expect(d('gatehouse_sessions_open')).toBe(0);
    expect(
      d('gatehouse_statements_total', { decision: 'allow', rule: 'agents-read', outcome: 'admitted' }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      d('gatehouse_statements_total', { decision: 'deny', rule: 'agents-no-drop', outcome: 'refused' }),
    ).toBe(1);
    expect(d('gatehouse_gate_added_latency_seconds_count', { decision: 'allow' })).toBeGreaterThanOrEqual(2);
    expect(d('gatehouse_store_write_seconds_count', { op: 'statement' })).toBeGreaterThanOrEqual(3);
    expect(d('gatehouse_masked_values_total')).toBeGreaterThanOrEqual(1);
    // The SQLite store's background thread checkpoints the WAL within a moment of those commits.
    let checkpoints = after;
    for (
      let i = 0;
      i < 100 && checkpoints.value('gatehouse_store_wal_checkpoints_total', { result: 'ok' }) === 0;
      i++
    ) {
      await new Promise((r) => setTimeout(r, 50));
      checkpoints = parsePrometheusText((await scrape(admin)).text);
    }
    expect(checkpoints.value('gatehouse_store_wal_checkpoints_total', { result: 'ok' })).toBeGreaterThan(0);
    expect(checkpoints.value('gatehouse_store_wal_checkpoints_total', { result: 'failed' })).toBe(0);
    // Staged statements and events are folded into the record's tables within a moment too.
    let folds = checkpoints;
    for (let i = 0; i < 100 && folds.value('gatehouse_store_folds_total', { result: 'ok' }) === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      folds = parsePrometheusText((await scrape(admin)).text);
    }
    expect(folds.value('gatehouse_store_folds_total', { result: 'ok' })).toBeGreaterThan(0);
    expect(folds.value('gatehouse_store_folds_total', { result: 'failed' })).toBe(0);
  });
});

describe('traces', () => {
  it('reach the OTLP collector: admit with decide and record as children, no statement text or token', async () => {
    const c = gw.client(agent);
    await c.connect();
    await c.query('SELECT id FROM t WHERE id = 424242');
    await c.end();
    let spans: OtlpSpan[] = [];
    for (let i = 0; i < 100; i++) {
      spans = received.flatMap((b) =>
        (JSON.parse(b) as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] }).resourceSpans.flatMap(
          (r) => r.scopeSpans.flatMap((s) => s.spans),
        ),
      );
      if (spans.some((s) => s.name === 'gatehouse.admit')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const admit = spans.find((s) => s.name === 'gatehouse.admit');
    expect(admit, JSON.stringify(spans.map((s) => s.name))).toBeDefined();
    const children = spans.filter((s) => s.parentSpanId === admit!.spanId).map((s) => s.name);
    expect(children).toContain('gatehouse.record.statement');
    // The policy decision is traced too: inside admit, or just before it when the engine decides
    // first and hands admit the decision (the extended protocol decides at Parse).
    expect(spans.some((s) => s.name === 'gatehouse.decide')).toBe(true);
    expect(spans.some((s) => s.name === 'gatehouse.session.open')).toBe(true);
    expect(spans.some((s) => s.name === 'gatehouse.authenticate')).toBe(true);
    const all = received.join('\n');
    expect(all).toContain('gatehouse-test');
    expect(all).not.toContain('424242');
    expect(all).not.toContain(agent);
  });
});
