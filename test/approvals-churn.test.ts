// One principal cannot open approval requests without end by withdrawing each one: through the real
// gateway, a `pg` client whose UPDATE is held for approval cancels it the moment it is told, and runs
// it again, in a loop. Every request it opens costs an impact preview on the upstream and a notice to
// every approver channel (here a real webhook receiver), and the pending bound never fills.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { api, HOLD_UPDATES_FOR_DBA, sendCancel } from './approvals-kit.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const ENV = `GH_CHURN_WEBHOOK_${process.pid}`;
let gw: TestGateway;
let receiver: http.Server;
let notices: { event: string; subject: string }[] = [];

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const n = JSON.parse(body) as { type: string; request: { requester: { subject: string } } };
      notices.push({ event: n.type, subject: n.request.requester.subject });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  process.env[ENV] = 'webhook-key';
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: HOLD_UPDATES_FOR_DBA,
    setupSql: `CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t VALUES (1, 0);`,
    extra: {
      listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
      approvals: {
        maxRequestsPerMinute: 5,
        rules: { dba: { approverGroups: ['dba'], holdTimeout: '20s' } },
        notifiers: {
          webhook: {
            url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`,
            secret: { env: ENV },
          },
        },
      },
    },
  });
});

afterAll(async () => {
  await gw?.stop();
  await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
  delete process.env[ENV];
});

/** Runs the UPDATE `times` times, cancelling each as soon as it is held; the errors it got. */
async function churn(token: string, times: number): Promise<string[]> {
  const c: pg.Client = gw.client(token);
  await c.connect();
  c.on('notice', (n) => {
    if (/held for approval/.test(n.message ?? '')) void sendCancel(gw.port, c);
  });
  const errors: string[] = [];
  try {
    for (let i = 0; i < times; i++)
      errors.push(
        await c.query(`UPDATE t SET v = ${i} WHERE id = 1`).then(
          () => 'ran',
          (e: Error) => e.message,
        ),
      );
  } finally {
    await c.end();
  }
  return errors;
}

describe('approval requests per principal per minute', { timeout: 60_000 }, () => {
  it('refuses to open more than maxRequestsPerMinute, withdrawn ones included, for that principal only', async () => {
    notices = [];
    const looper = await gw.token({ subject: 'looper', groups: ['testers'], agent: true });
    const errors = await churn(looper, 30);
    // Five requests were opened (and withdrawn); the rest were refused without one.
    expect(errors.filter((e) => /withdr|cancel/i.test(e))).toHaveLength(5);
    const refused = errors.filter((e) => /approvals\.maxRequestsPerMinute/.test(e));
    expect(refused).toHaveLength(25);
    expect(refused[0]).toMatch(/no new one was opened and nothing was run/);
    const admin = await gw.token({ subject: 'admin', groups: ['dba'] });
    const all = await api(gw, admin, 'GET', '/api/approvals?status=all&limit=1000');
    expect(
      all.body.requests.filter((r: { requester: { subject: string } }) => r.requester.subject === 'looper'),
    ).toHaveLength(5);
    await new Promise((r) => setTimeout(r, 500));
    expect(notices.filter((n) => n.subject === 'looper' && n.event === 'approval.requested')).toHaveLength(5);

    // Another principal is not held back by it.
    const other = await gw.token({ subject: 'other', groups: ['testers'], agent: true });
    expect((await churn(other, 1))[0]).not.toMatch(/maxRequestsPerMinute/);
    // Nothing ran.
    const row = await import('pg').then((m) => new m.default.Client({ connectionString: gw.directUrl }));
    await row.connect();
    try {
      expect((await row.query('SELECT v FROM t WHERE id = 1')).rows[0].v).toBe(0);
    } finally {
      await row.end();
    }
  });
});
