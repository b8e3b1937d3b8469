// `mode: all` (docs/security.md, class 122): a rule with approverGroups [dba, security] and
// mode: all means a dba and someone from security. Approvals were counted by whether each group had
// an approval among them, so one person in both groups covered both with one click (minApprovals
// defaults to 1), and the held UPDATE ran on one person's word. Against the real gateway: the agent's
// UPDATE is held; dana (dba and security) approves and it stays held; sam (security) approves and it
// runs.

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { api, flaggedRows, HOLD_UPDATES_FOR_DBA, sleep, waitForRequest } from './approvals-kit.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

let gw: TestGateway;
let agent: string;
let dana: string;
let sam: string;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: HOLD_UPDATES_FOR_DBA,
    setupSql: `CREATE TABLE t (id int PRIMARY KEY, flag text); INSERT INTO t VALUES (1, 'new');`,
    extra: {
      listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
      approvals: {
        rules: { dba: { approverGroups: ['dba', 'security'], mode: 'all', holdTimeout: '30s' } },
      },
    },
  });
  agent = await gw.token({ subject: 'claude', groups: ['testers'], agent: true });
  dana = await gw.token({ subject: 'dana', groups: ['dba', 'security'] });
  sam = await gw.token({ subject: 'sam', groups: ['security'] });
}, 60_000);

afterAll(async () => {
  await gw?.stop();
});

describe('an approval rule with mode: all', () => {
  it('needs a person for each group: one approver in both groups is one of them', async () => {
    const client = gw.client(agent);
    await client.connect();
    try {
      const text = `UPDATE t SET flag = 'one-person' WHERE id = 1`;
      const held = client.query(text).then(
        () => 'ran',
        (e: unknown) => (e as Error).message,
      );
      const r = await waitForRequest(gw, dana, (x) => x.status === 'pending' && x.statement?.text === text);

      const first = await api(gw, dana, 'POST', `/api/approvals/${r.id}/approve`, { comment: 'ok' });
      expect(first.status).toBe(200);
      await sleep(500);
      expect((await api(gw, dana, 'GET', `/api/approvals/${r.id}`)).body.request.status).toBe('pending');
      expect(await flaggedRows(gw, 't', 'one-person')).toBe(0);

      // A second vote of the same person does not count either.
      expect((await api(gw, dana, 'POST', `/api/approvals/${r.id}/approve`, {})).status).toBe(409);

      const second = await api(gw, sam, 'POST', `/api/approvals/${r.id}/approve`, { comment: 'ok too' });
      expect(second.status).toBe(200);
      expect(await held).toBe('ran');
      expect(await flaggedRows(gw, 't', 'one-person')).toBe(1);
      expect((await api(gw, dana, 'GET', `/api/approvals/${r.id}`)).body.request.status).toBe('approved');
    } finally {
      await client.end().catch(() => undefined);
    }
  });
});
