// Just-in-time approvals through the real wire path: a `pg` client against the gateway in front of a
// real PostgreSQL, approvers through the HTTP API. Held statements resume in the same session.

import { spawn } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { api, sendCancel, sleep, waitForRequest, type Json } from './approvals-kit.js';
import { hasCommand } from './testkit/commands.js';

const POLICIES: PolicyConfig[] = [
  {
    id: 'testers',
    subjects: { groups: ['testers'] },
    connections: ['app'],
    rules: [
      {
        id: 'review-updates',
        effect: 'review',
        match: { kinds: ['update'] },
        mode: 'hold',
        approval: 'dba',
        message: 'Updates need a DBA.',
      },
      {
        id: 'review-inserts',
        effect: 'review',
        match: { kinds: ['insert'] },
        mode: 'hold',
        approval: 'quick',
        message: 'Inserts need a DBA.',
      },
      {
        id: 'review-deletes',
        effect: 'review',
        match: { kinds: ['delete'] },
        mode: 'defer',
        approval: 'dba',
        message: 'Deletes need a DBA.',
      },
      {
        id: 'review-ddl',
        effect: 'review',
        match: { categories: ['ddl-drop', 'truncate'] },
        mode: 'defer',
        approval: 'dba',
      },
      { id: 'allow-rest', effect: 'allow', match: {} },
    ],
  },
];

let gw: TestGateway;
let agent: string; // the requester: an AI agent
let alice: string; // approver
let robo: string; // an agent in the approver group
let carol: string; // a human who is both requester and approver

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: POLICIES,
    setupSql: `CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);
               INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 50) g;
               CREATE TABLE scratch (id int);`,
    extra: {
      listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
      approvals: {
        rules: {
          dba: { approverGroups: ['dba'], holdTimeout: '20s' },
          quick: { approverGroups: ['dba'], holdTimeout: '1s' },
        },
      },
    },
  });
  agent = await gw.token({ subject: 'claude', groups: ['testers'], agent: true });
  alice = await gw.token({ subject: 'alice', groups: ['dba'] });
  robo = await gw.token({ subject: 'robo', groups: ['dba', 'testers'], agent: true });
  carol = await gw.token({ subject: 'carol', groups: ['dba', 'testers'] });
});
afterAll(async () => gw?.stop());

async function connect(token: string): Promise<pg.Client> {
  const c = gw.client(token);
  await c.connect();
  return c;
}

async function direct<T>(sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: gw.directUrl });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

const byText = (text: string) => (r: Json) => r.statement?.text === text;

describe('the approver sees what will run', () => {
  it("previews under the session's own settings, and binds the approval to them", async () => {
    await direct(`CREATE TABLE IF NOT EXISTS dated (id int PRIMARY KEY, d date, name text);
      INSERT INTO dated SELECT g, '2024-01-02', 'jan' FROM generate_series(1, 5) g ON CONFLICT DO NOTHING;
      INSERT INTO dated VALUES (6, '2024-02-01', 'feb') ON CONFLICT DO NOTHING;`);
    const c = await connect(agent);
    try {
      await c.query("SET datestyle = 'ISO, DMY'");
      const text = `UPDATE dated SET name = 'x' WHERE d = '02/01/2024'`;
      const held = c.query(text).catch((e: unknown) => e as pg.DatabaseError);
      const r = await waitForRequest(gw, alice, byText(text));
      // Day first, as this session reads dates: 2 January, five rows (month first would be one).
      expect(r.preview.rowCount).toBe(5);
      expect(r.preview.settings).toMatchObject({ datestyle: 'ISO, DMY' });
      await api(gw, alice, 'POST', `/api/approvals/${r.id}/deny`, { comment: 'no' });
      expect(((await held) as pg.DatabaseError).code).toBe('42501');

      // Defer mode: an approval given under DMY does not cover the same text run under MDY.
      const del = `DELETE FROM dated WHERE d = '02/01/2024' AND id > 100`;
      const first = (await c.query(del).catch((e: unknown) => e)) as pg.DatabaseError;
      expect(first.code).toBe('42501');
      const req = await waitForRequest(
        gw,
        alice,
        (x: Json) => x.statement?.text === del && x.status === 'pending',
      );
      expect((await api(gw, alice, 'POST', `/api/approvals/${req.id}/approve`, {})).status).toBe(200);
      await c.query("SET datestyle = 'ISO, MDY'");
      const other = (await c.query(del).catch((e: unknown) => e)) as pg.DatabaseError;
      expect(other.code).toBe('42501');
      expect(other.message).not.toContain(req.id);
      await c.query("SET datestyle = 'ISO, DMY'");
      await c.query(del); // the approved one, under the settings it was approved for
    } finally {
      await c.end();
    }
  });
});

describe('hold mode', () => {
  it('holds a statement until it is approved through the API, then runs it in the same session', async () => {
    const c = await connect(agent);
    try {
      const text = `UPDATE items SET name = 'approved' WHERE id = 3 RETURNING name`;
      const held = c.query(text);
      let settled = false;
      void held.then(() => (settled = true)).catch(() => (settled = true));
      const r = await waitForRequest(gw, alice, byText(text));
      expect(r.status).toBe('pending');
      expect(r.mode).toBe('hold');
      expect(r.requester).toMatchObject({ subject: 'claude', agent: true });
      expect(r.statement.hash).toMatch(/^[0-9a-f]{64}$/);
      // The impact preview: EXPLAIN through the gateway's own connection, and the WHERE's count.
      expect(r.preview.kind).toBe('plan');
      expect(r.preview.plan.join('\n')).toMatch(/Update on items/);
      expect(r.preview.rowCount).toBe(1);
      await sleep(150);
      expect(settled).toBe(false);
      expect((await direct<{ name: string }>('SELECT name FROM items WHERE id = 3'))[0]!.name).toBe('item 3');

      const t0 = Date.now();
      const ok = await api(gw, alice, 'POST', `/api/approvals/${r.id}/approve`, { comment: 'looks fine' });
      expect(ok.status).toBe(200);
      expect(ok.body.request.status).toBe('approved');
      const result = await held;
      expect(Date.now() - t0).toBeLessThan(1000);
      expect(result.rows).toEqual([{ name: 'approved' }]);
      // Same session afterwards.
      expect((await c.query('SELECT name FROM items WHERE id = 3')).rows[0].name).toBe('approved');

      const details = await api(gw, alice, 'GET', `/api/approvals/${r.id}`);
      const types = details.body.history.map((e: Json) => e.type);
      expect(types).toEqual(
        expect.arrayContaining([
          'approval.requested',
          'approval.vote',
          'approval.approved',
          'approval.executed',
        ]),
      );
      expect(details.body.request.decidedBy).toBe('alice (gatehouse)');
      expect(details.body.request.decisionComment).toBe('looks fine');
      // Each step is also an event of the session's own (hash-chained) record.
      const recorded = await gw.gateway.store.getEvents(r.sessionId);
      const steps = recorded.filter((e) => e.type.startsWith('approval.'));
      expect(steps.map((e) => e.type)).toEqual([
        'approval.requested',
        'approval.approved',
        'approval.executed',
      ]);
      expect(steps.every((e) => e.data.requestId === r.id)).toBe(true);
      expect(steps[1]!.data).toMatchObject({ by: 'alice (gatehouse)', comment: 'looks fine', via: 'api' });
    } finally {
      await c.end();
    }
  });

  it.skipIf(!hasCommand('psql'))(
    'tells psql at once that its statement is held, with the request and URL, and how it ended',
    async () => {
      const text = `UPDATE items SET name = 'told' WHERE id = 4`;
      const psql = spawn('psql', [gw.url(agent), '-X', '-v', 'ON_ERROR_STOP=1', '-c', text], {
        env: { ...process.env, PGCONNECT_TIMEOUT: '10' },
      });
      let stderr = '';
      psql.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number>((resolve) => psql.once('exit', (code) => resolve(code ?? -1)));
      const r = await waitForRequest(gw, alice, byText(text));
      // The notice reaches psql while it waits, before anyone decides.
      for (let i = 0; i < 100 && !stderr.includes(r.id); i++) await sleep(50);
      expect(stderr).toMatch(/NOTICE: {2}Gatehouse: .*held/i);
      expect(stderr).toContain(r.id);
      expect(stderr).toMatch(/https?:\/\//);
      const ok = await api(gw, alice, 'POST', `/api/approvals/${r.id}/approve`, { comment: 'go' });
      expect(ok.status).toBe(200);
      expect(await exited).toBe(0);
      expect(stderr).toMatch(/NOTICE: {2}Gatehouse: .*approved/i);
      expect((await direct<{ name: string }>('SELECT name FROM items WHERE id = 4'))[0]!.name).toBe('told');
    },
  );

  it('holds an extended-protocol statement with its bind parameters and previews it with them', async () => {
    const c = await connect(agent);
    try {
      const text = 'UPDATE items SET name = $1 WHERE id >= $2';
      const held = c.query(text, ['bulk', 45]);
      const r = await waitForRequest(gw, alice, byText(text));
      expect(r.statement.params).toEqual(['bulk', '45']);
      expect(r.preview.rowCount).toBe(6);
      await api(gw, alice, 'POST', `/api/approvals/${r.id}/approve`, {});
      expect((await held).rowCount).toBe(6);
    } finally {
      await c.end();
    }
  });

  it('answers a denial with an ErrorResponse naming who denied it and why; the session stays usable', async () => {
    const c = await connect(agent);
    try {
      const text = `UPDATE items SET name = 'nope' WHERE id = 5`;
      const held = c.query(text).catch((e: unknown) => e as pg.DatabaseError);
      const r = await waitForRequest(gw, alice, byText(text));
      const d = await api(gw, alice, 'POST', `/api/approvals/${r.id}/deny`, {
        comment: 'not during the freeze',
      });
      expect(d.status).toBe(200);
      const err = (await held) as pg.DatabaseError;
      expect(err.code).toBe('42501');
      expect(err.message).toContain('alice');
      expect(err.message).toContain('not during the freeze');
      expect(err.message).toContain(r.id);
      expect((await c.query('SELECT 1 AS ok')).rows[0].ok).toBe(1);
      expect((await direct<{ name: string }>('SELECT name FROM items WHERE id = 5'))[0]!.name).toBe('item 5');
    } finally {
      await c.end();
    }
  });

  it('expires a held statement after the hold timeout', async () => {
    const c = await connect(agent);
    try {
      const text = 'INSERT INTO scratch VALUES (1)';
      const t0 = Date.now();
      const err = (await c.query(text).catch((e: unknown) => e)) as pg.DatabaseError;
      expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
      expect(err.code).toBe('42501');
      expect(err.message).toMatch(/expired/);
      const r = await waitForRequest(gw, alice, byText(text));
      expect(r.status).toBe('expired');
      expect((await direct<{ n: number }>('SELECT count(*)::int AS n FROM scratch'))[0]!.n).toBe(0);
      // Deciding an expired request is refused.
      expect((await api(gw, alice, 'POST', `/api/approvals/${r.id}/approve`, {})).status).toBe(409);
      expect((await c.query('SELECT 2 AS ok')).rows[0].ok).toBe(2);
    } finally {
      await c.end();
    }
  });

  it('refuses self-approval and approval by an agent principal', async () => {
    const c = await connect(carol);
    try {
      const text = `UPDATE items SET name = 'carol' WHERE id = 7`;
      const held = c.query(text).catch((e: unknown) => e);
      const r = await waitForRequest(gw, alice, byText(text));
      const self = await api(gw, carol, 'POST', `/api/approvals/${r.id}/approve`, {});
      expect(self.status).toBe(403);
      expect(self.body.detail).toMatch(/your own request/);
      const bot = await api(gw, robo, 'POST', `/api/approvals/${r.id}/approve`, {});
      expect(bot.status).toBe(403);
      expect(bot.body.detail).toMatch(/agent/);
      const notApprover = await api(gw, agent, 'POST', `/api/approvals/${r.id}/approve`, {});
      expect(notApprover.status).toBe(403);
      // Still pending after the refused attempts; a real approver releases it.
      expect((await api(gw, alice, 'GET', `/api/approvals/${r.id}`)).body.request.status).toBe('pending');
      await api(gw, alice, 'POST', `/api/approvals/${r.id}/approve`, {});
      expect(await held).toMatchObject({ rowCount: 1 });
    } finally {
      await c.end();
    }
  });

  it('withdraws the request when the client cancels while held', async () => {
    const c = await connect(agent);
    try {
      const text = `UPDATE items SET name = 'cancelled' WHERE id = 9`;
      const held = c.query(text).catch((e: unknown) => e as pg.DatabaseError);
      const r = await waitForRequest(gw, alice, byText(text));
      await sendCancel(gw.port, c);
      const err = (await held) as pg.DatabaseError;
      expect(err.code).toBe('42501');
      expect(err.message).toMatch(/withdrawn/);
      const after = await api(gw, alice, 'GET', `/api/approvals/${r.id}`);
      expect(after.body.request.status).toBe('withdrawn');
      expect(after.body.history.map((e: Json) => e.type)).toContain('approval.withdrawn');
      expect((await api(gw, alice, 'POST', `/api/approvals/${r.id}/approve`, {})).status).toBe(409);
      expect((await c.query('SELECT 3 AS ok')).rows[0].ok).toBe(3);
      expect((await direct<{ name: string }>('SELECT name FROM items WHERE id = 9'))[0]!.name).toBe('item 9');
    } finally {
      await c.end();
    }
  });
});

describe('defer mode', () => {
  it('refuses at once with the request id and URL; the approval covers only its own hash, once', async () => {
    const c = await connect(agent);
    try {
      const text = 'DELETE FROM items WHERE id = 10';
      const first = (await c.query(text).catch((e: unknown) => e)) as pg.DatabaseError;
      expect(first.code).toBe('42501');
      expect(first.message).toContain('re-run the same statement once approved');
      const id = /request ([0-9a-f-]{36})/.exec(first.message)?.[1];
      expect(id).toBeDefined();
      expect(first.message).toContain(`/approvals/${id}`);
      // Re-running before the decision points at the same request.
      const again = (await c.query(text).catch((e: unknown) => e)) as pg.DatabaseError;
      expect(again.message).toContain(id);
      expect(again.message).toContain('still pending');

      const r = await api(gw, alice, 'GET', `/api/approvals/${id}`);
      expect(r.body.request.mode).toBe('defer');
      expect(r.body.request.preview.rowCount).toBe(1);
      expect(
        (await api(gw, alice, 'POST', `/api/approvals/${id}/approve`, { comment: 'ok once' })).status,
      ).toBe(200);

      // A different statement is not covered.
      const other = (await c
        .query('DELETE FROM items WHERE id = 11')
        .catch((e: unknown) => e)) as pg.DatabaseError;
      expect(other.code).toBe('42501');
      expect(other.message).not.toContain(id);
      // The approved one runs once…
      expect((await c.query(text)).rowCount).toBe(1);
      // …and only once.
      const third = (await c.query(text).catch((e: unknown) => e)) as pg.DatabaseError;
      expect(third.code).toBe('42501');
      expect(third.message).not.toContain(id);
      const done = await api(gw, alice, 'GET', `/api/approvals/${id}`);
      expect(done.body.request.uses).toBe(1);
      expect(done.body.history.map((e: Json) => e.type)).toContain('approval.executed');
      expect(
        (await direct<{ n: number }>('SELECT count(*)::int AS n FROM items WHERE id IN (10, 11)'))[0]!.n,
      ).toBe(1);
    } finally {
      await c.end();
    }
  });

  it('lets an approver allow N runs or a time window, and binds the approval to the principal', async () => {
    const c = await connect(agent);
    const other = await connect(carol);
    try {
      const text = 'DELETE FROM items WHERE id > 100';
      const first = (await c.query(text).catch((e: unknown) => e)) as pg.DatabaseError;
      const id = /request ([0-9a-f-]{36})/.exec(first.message)![1]!;
      const ok = await api(gw, alice, 'POST', `/api/approvals/${id}/approve`, { uses: 2 });
      expect(ok.body.request.usesAllowed).toBe(2);
      // Carol's identical statement has a different hash (the principal is part of it).
      expect(((await other.query(text).catch((e: unknown) => e)) as pg.DatabaseError).code).toBe('42501');
      await c.query(text);
      await c.query(text);
      expect(((await c.query(text).catch((e: unknown) => e)) as pg.DatabaseError).code).toBe('42501');

      const text2 = 'DELETE FROM items WHERE id > 200';
      const id2 = /request ([0-9a-f-]{36})/.exec(
        ((await c.query(text2).catch((e: unknown) => e)) as Error).message,
      )![1]!;
      const timed = await api(gw, alice, 'POST', `/api/approvals/${id2}/approve`, { for: '10m' });
      expect(timed.body.request.usesAllowed).toBeUndefined();
      for (let i = 0; i < 3; i++) await c.query(text2);
    } finally {
      await c.end();
      await other.end();
    }
  });

  it('previews DDL with the objects it touches and their sizes', async () => {
    const c = await connect(agent);
    try {
      const e = (await c.query('TRUNCATE items').catch((x: unknown) => x)) as pg.DatabaseError;
      const id = /request ([0-9a-f-]{36})/.exec(e.message)![1]!;
      const r = await api(gw, alice, 'GET', `/api/approvals/${id}`);
      expect(r.body.request.preview.kind).toBe('objects');
      const obj = r.body.request.preview.objects[0];
      expect(obj).toMatchObject({ name: 'items', type: 'table', exists: true });
      expect(obj.bytes).toBeGreaterThan(0);
    } finally {
      await c.end();
    }
  });
});

describe('visibility', () => {
  it('shows a request to its requester and approvers only', async () => {
    const c = await connect(agent);
    try {
      const e = (await c
        .query(`DELETE FROM items WHERE id = 12 /*reason='duplicate%20row',traceparent='x'*/`)
        .catch((x: unknown) => x)) as Error;
      const id = /request ([0-9a-f-]{36})/.exec(e.message)![1]!;
      const own = await api(gw, agent, 'GET', `/api/approvals/${id}`);
      expect(own.status).toBe(200);
      // The reason the agent gave in a sqlcommenter comment is shown to the approver.
      expect(own.body.request.reason).toBe('duplicate row');
      const stranger = await gw.token({ subject: 'mallory', groups: ['testers'] });
      expect((await api(gw, stranger, 'GET', `/api/approvals/${id}`)).status).toBe(403);
      const list = await api(gw, stranger, 'GET', '/api/approvals?status=all');
      expect(list.body.requests.some((r: Json) => r.id === id)).toBe(false);
      expect((await api(gw, alice, 'GET', '/api/approvals/does-not-exist')).status).toBe(404);
    } finally {
      await c.end();
    }
  });

  it('lists the approvals routes in the OpenAPI document', async () => {
    const doc = (await (await fetch(`http://127.0.0.1:${gw.gateway.http!.port}/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/approvals',
        '/api/approvals/{id}',
        '/api/approvals/{id}/approve',
        '/api/approvals/{id}/deny',
        '/api/access-requests',
        '/slack/interactions',
      ]),
    );
  });
});
