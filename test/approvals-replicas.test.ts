// Two gateway replicas sharing one PostgreSQL store: a statement held on one replica is approved
// through the other's API, and LISTEN/NOTIFY wakes the holder at once (well under the 2 s poll).

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { createTestDatabase } from './testkit/databases.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { api, waitForRequest, type Json } from './approvals-kit.js';

const POLICIES: PolicyConfig[] = [
  {
    id: 'testers',
    subjects: { groups: ['testers'] },
    connections: ['app'],
    rules: [
      { id: 'review-updates', effect: 'review', match: { kinds: ['update'] }, mode: 'hold', approval: 'dba' },
      {
        id: 'review-deletes',
        effect: 'review',
        match: { kinds: ['delete'] },
        mode: 'defer',
        approval: 'dba',
      },
      { id: 'allow-rest', effect: 'allow', match: {} },
    ],
  },
];

const ENV = `GH_APPROVALS_STORE_URL_${process.pid}`;
let store: Awaited<ReturnType<typeof createTestDatabase>>;
let a: TestGateway;
let b: TestGateway;

beforeAll(async () => {
  store = await createTestDatabase(inject('pgUrl'), 'store');
  process.env[ENV] = store.url;
  const extra = {
    store: { kind: 'postgres', url: { env: ENV } },
    listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
    approvals: { rules: { dba: { approverGroups: ['dba'], holdTimeout: '30s' } } },
  };
  const setupSql = `CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);
                    INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 20) g;`;
  a = await startTestGateway({ superUrl: inject('pgUrl'), policies: POLICIES, setupSql, extra });
  b = await startTestGateway({ superUrl: inject('pgUrl'), policies: POLICIES, setupSql, extra });
});
afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await store?.drop().catch(() => undefined);
  delete process.env[ENV];
});

describe('replicas sharing a PostgreSQL store', () => {
  it('wakes a statement held on replica A when it is approved through replica B', async () => {
    const agent = await a.token({ subject: 'claude', groups: ['testers'], agent: true });
    // Each test replica has its own signing key: the approver's token comes from B.
    const alice = await b.token({ subject: 'alice', groups: ['dba'] });
    const c = a.client(agent);
    await c.connect();
    try {
      const text = `UPDATE items SET name = 'via replica b' WHERE id = 2 RETURNING name`;
      const held = c.query(text);
      const r = await waitForRequest(b, alice, (x) => x.statement?.text === text);
      expect(r.preview.rowCount).toBe(1);
      const t0 = performance.now();
      const ok = await api(b, alice, 'POST', `/api/approvals/${r.id}/approve`, {});
      expect(ok.status).toBe(200);
      const result = await held;
      expect(result.rows).toEqual([{ name: 'via replica b' }]);
      // Well under the holder's 2 s fallback poll even with the approve call's own round trips.
      expect(performance.now() - t0).toBeLessThan(1900);
      const hist = await api(b, alice, 'GET', `/api/approvals/${r.id}`);
      const at = (type: string) =>
        Date.parse(hist.body.history.find((e: Json) => e.type === type).at as string);
      // approval.approved is written on B after the decision commits; approval.executed on A once the
      // NOTIFY woke the holder and it re-read the request. Same machine, same clock.
      // Target: 200 ms. Measured 25-250 ms with both replicas, the client and the test in one process
      // on a shared 2-core machine (load ~12); the bound here only has to exclude the 2 s poll.
      const wake = at('approval.executed') - at('approval.approved');
      expect(wake).toBeGreaterThanOrEqual(0);
      expect(wake).toBeLessThan(1000);
    } finally {
      await c.end();
    }
  });

  it('lets a defer approval made on B cover the statement re-run on A', async () => {
    const agent = await a.token({ subject: 'claude', groups: ['testers'], agent: true });
    const alice = await b.token({ subject: 'alice', groups: ['dba'] });
    const c = a.client(agent);
    await c.connect();
    try {
      const text = 'DELETE FROM items WHERE id = 20';
      const e = (await c.query(text).catch((x: unknown) => x)) as pg.DatabaseError;
      const id = /request ([0-9a-f-]{36})/.exec(e.message)![1]!;
      expect((await api(b, alice, 'POST', `/api/approvals/${id}/approve`, {})).status).toBe(200);
      expect((await c.query(text)).rowCount).toBe(1);
    } finally {
      await c.end();
    }
  });
});
