// The impact preview is for the approvers, through the real gateway and PostgreSQL: it runs with the
// requester's rights before anyone decides, so an agent that may not read a table must not read it
// through the preview of a write it asks for — neither a count over a filter it chose (a one-query
// oracle past a deny or a mask) nor a server error that quotes a row's value.

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { api, httpBase, type Json } from './approvals-kit.js';

const SECRET = 'wJalrXUtnFEMIK7MDENGbPxRfiCY';

const POLICIES: PolicyConfig[] = [
  {
    id: 'agents',
    subjects: { agent: true },
    connections: ['app'],
    rules: [
      {
        id: 'no-key-reads',
        effect: 'deny',
        match: { kinds: ['select'], tables: ['api_keys'] },
        message: 'agents may not read api_keys',
      },
      {
        id: 'key-writes-reviewed',
        effect: 'review',
        mode: 'defer',
        approval: 'ops',
        match: { kinds: ['update'] },
      },
      { id: 'allow-rest', effect: 'allow', match: {} },
    ],
  },
];

describe('the impact preview', () => {
  let gw: TestGateway;
  let agent: string;
  let olga: string;

  beforeAll(async () => {
    gw = await startTestGateway({
      superUrl: inject('pgUrl'),
      policies: POLICIES,
      setupSql: `CREATE TABLE api_keys (id int PRIMARY KEY, secret text NOT NULL, note text);
                 INSERT INTO api_keys VALUES (1, '${SECRET}', NULL), (2, 'AKIAOTHER', NULL);`,
      extra: {
        listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
        approvals: { rules: { ops: { approverGroups: ['ops'] } } },
      },
    });
    agent = await gw.token({ subject: 'claude', groups: [], agent: true });
    olga = await gw.token({ subject: 'olga', groups: ['ops'] });
  });

  afterAll(async () => {
    await gw?.stop();
  });

  const ask = async (sql: string): Promise<string> => {
    const c = gw.client(agent);
    await c.connect();
    try {
      const e = (await c.query(sql).then(
        () => undefined,
        (x: unknown) => x,
      )) as pg.DatabaseError | undefined;
      const id = /request ([0-9a-f-]{36}) was created/.exec(e?.message ?? '')?.[1];
      expect(id, e?.message).toBeDefined();
      return id!;
    } finally {
      await c.end();
    }
  };

  /** Everything the agent can read about its request: the API, the list, the approval page. */
  const agentView = async (id: string): Promise<string> => {
    const one = await api(gw, agent, 'GET', `/api/approvals/${id}`);
    expect(one.status).toBe(200);
    const list = await api(gw, agent, 'GET', '/api/approvals?status=all');
    const page = await (
      await fetch(`${httpBase(gw)}/approvals/${id}`, { headers: { authorization: `Bearer ${agent}` } })
    ).text();
    return JSON.stringify(one.body) + JSON.stringify(list.body) + page;
  };

  it('is not shown to the requesting agent: its count would read a table the agent may not read', async () => {
    // The agent may not SELECT from api_keys; the count of its UPDATE's WHERE would tell it anyway.
    const id = await ask(`UPDATE api_keys SET note = note WHERE secret LIKE 'wJa%'`);
    const seen = await agentView(id);
    const asAgent = (await api(gw, agent, 'GET', `/api/approvals/${id}`)).body;
    expect(asAgent.request.preview.rowCount).toBeUndefined();
    expect(asAgent.request.preview.notes).toEqual(['the impact preview is shown to the approvers only']);
    const requested = asAgent.history.find((e: Json) => e.type === 'approval.requested');
    expect(requested.data.preview.rowCount).toBeUndefined();
    expect(seen).not.toMatch(/"rowCount"/);
    expect(seen).not.toContain('Rows matched by its WHERE');

    // The approver sees it.
    const asApprover = (await api(gw, olga, 'GET', `/api/approvals/${id}`)).body;
    expect(asApprover.request.preview.rowCount).toBe(1);
  });

  it("never quotes a row's value from a failed count, to the agent or to the approver", async () => {
    const id = await ask(`UPDATE api_keys SET note = note WHERE secret::int = 1`);
    expect(await agentView(id)).not.toContain(SECRET);
    const asApprover = await api(gw, olga, 'GET', `/api/approvals/${id}`);
    const text = JSON.stringify(asApprover.body);
    expect(text).not.toContain(SECRET);
    expect(asApprover.body.request.preview.notes.join('\n')).toMatch(/count\(\*\) failed \(SQLSTATE 22P02\)/);
  });
});
