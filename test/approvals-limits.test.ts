// One principal's pending approval requests are bounded, through the real gateway: an agent in a loop
// of distinct statements that need approval (defer: each refused at once) cannot open requests — each
// with its impact preview on the upstream and a notice to every approver channel — without end.

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { api } from './approvals-kit.js';

const POLICIES: PolicyConfig[] = [
  {
    id: 'agents',
    subjects: { agent: true },
    connections: ['app'],
    rules: [
      {
        id: 'deletes-deferred',
        effect: 'review',
        mode: 'defer',
        approval: 'ops',
        match: { kinds: ['delete'] },
      },
      { id: 'allow-rest', effect: 'allow', match: {} },
    ],
  },
];

describe('pending approval requests per principal', () => {
  let gw: TestGateway;
  let olga: string;

  beforeAll(async () => {
    gw = await startTestGateway({
      superUrl: inject('pgUrl'),
      policies: POLICIES,
      setupSql: `CREATE TABLE jobs (id int PRIMARY KEY); INSERT INTO jobs SELECT generate_series(1, 50);`,
      extra: {
        listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
        approvals: {
          maxPendingPerPrincipal: 3,
          rules: { ops: { approverGroups: ['ops'] } },
          grants: {
            ops: {
              connections: ['app'],
              maxDuration: '1h',
              rules: [{ id: 'ops-deletes', effect: 'allow', match: { kinds: ['delete'] } }],
            },
          },
        },
      },
    });
    olga = await gw.token({ subject: 'olga', groups: ['ops'] });
  });

  afterAll(async () => {
    await gw?.stop();
  });

  const run = async (token: string, sql: string): Promise<string> => {
    const c = gw.client(token);
    await c.connect();
    try {
      const e = (await c.query(sql).then(
        () => undefined,
        (x: unknown) => x,
      )) as pg.DatabaseError | undefined;
      return e?.message ?? 'ran';
    } finally {
      await c.end();
    }
  };

  it('refuses a request past the bound without opening one, and frees a place once one is decided', async () => {
    const agent = await gw.token({ subject: 'looper', agent: true });
    const other = await gw.token({ subject: 'other', agent: true });
    for (let i = 1; i <= 3; i++)
      expect(await run(agent, `DELETE FROM jobs WHERE id = ${i}`)).toMatch(/was created/);
    // The same statement again finds its own request: no new one is needed.
    expect(await run(agent, 'DELETE FROM jobs WHERE id = 1')).toMatch(/is still pending/);

    const refused = await run(agent, 'DELETE FROM jobs WHERE id = 4');
    expect(refused).toMatch(/already has 3 approval requests waiting/);
    expect(refused).not.toMatch(/was created/);
    const access = await api(gw, agent, 'POST', '/api/access-requests', {
      connection: 'app',
      for: '30m',
      reason: 'one more',
    });
    expect(access.status).toBe(400);
    expect(access.body.detail).toMatch(/already has 3 approval requests waiting/);
    const mine = await api(gw, olga, 'GET', '/api/approvals?status=pending');
    const looper = mine.body.requests.filter(
      (r: { requester: { subject: string } }) => r.requester.subject === 'looper',
    );
    expect(looper).toHaveLength(3);

    // Another principal is not held back by this one.
    expect(await run(other, 'DELETE FROM jobs WHERE id = 4')).toMatch(/was created/);

    // A decision frees a place.
    const denied = await api(gw, olga, 'POST', `/api/approvals/${looper[0].id}/deny`, { comment: 'no' });
    expect(denied.status).toBe(200);
    expect(await run(agent, 'DELETE FROM jobs WHERE id = 4')).toMatch(/was created/);
  });

  // An MCP client's token names the person who signed in for it: the agent holding it is another
  // principal, and its loop must not use up the person's own requests (class 289).
  it("keeps the person's requests from the agent that holds a token in her name", async () => {
    const agent = await gw.token({ subject: 'petra', agent: true });
    const person = await gw.token({ subject: 'petra', groups: ['ops'] });
    for (let i = 11; i <= 13; i++)
      expect(await run(agent, `DELETE FROM jobs WHERE id = ${i}`)).toMatch(/was created/);
    expect(await run(agent, 'DELETE FROM jobs WHERE id = 14')).toMatch(/already has 3 approval requests/);
    const asked = await api(gw, person, 'POST', '/api/access-requests', {
      connection: 'app',
      for: '30m',
      reason: 'INC-9: my own request',
    });
    expect(asked.status).toBe(201);
  });
});
