// One person under two addresses (docs/security.md, class 146): alice's identity at the OIDC provider
// names alice@corp.example, her SAML or second provider's identity alice@corp-sso.example. Persons are
// compared as addresses, so she was two approvers of a `minApprovals: 2` rule, and approved the
// request of an agent acting for her under her other address. With `approvals.people` naming both
// addresses as one person, against the real gateway over real HTTP: her second vote is refused (409),
// her vote on her agent's request too (403), and the rows stay untouched until someone else approves.

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { api, flaggedRows, HOLD_UPDATES_FOR_DBA, sleep, waitForRequest } from './approvals-kit.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { startTestIssuer, type TestIssuer } from './testkit/jwt-issuer.js';

let gw: TestGateway;
let issuer: TestIssuer;

beforeAll(async () => {
  issuer = await startTestIssuer();
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: HOLD_UPDATES_FOR_DBA,
    setupSql: `CREATE TABLE t (id int PRIMARY KEY, flag text); INSERT INTO t VALUES (1, 'new');`,
    extra: {
      listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
      identity: { oidc: [{ issuer: issuer.url, audience: 'gatehouse', groupsClaim: 'groups' }] },
      approvals: {
        rules: { dba: { approverGroups: ['dba'], minApprovals: 2, holdTimeout: '20s' } },
        people: {
          'alice@corp.example': ['Alice@corp-sso.example'],
          '@corp.example': ['@corp.io'],
        },
      },
    },
  });
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await issuer?.close();
});

const person = (sub: string, email: string) =>
  issuer.sign({ sub, aud: 'gatehouse', groups: ['dba'], email, email_verified: true });

async function held(token: string, text: string) {
  const client = gw.client(token);
  await client.connect();
  const outcome = client.query(text).then(
    () => 'ran',
    (e: unknown) => (e as Error).message,
  );
  return { client, outcome };
}

describe('one person under two addresses', () => {
  it('is one approver of a minApprovals: 2 rule', async () => {
    const agent = await gw.token({ subject: 'claude', groups: ['testers'], agent: true });
    const aliceOidc = await person('00u-alice', 'alice@corp.example');
    const aliceSso = await person('alice.sso', 'alice@corp-sso.example');
    const bob = await person('00u-bob', 'bob@corp.example');
    const text = `UPDATE t SET flag = 'two-addresses' WHERE id = 1`;
    const { client, outcome } = await held(agent, text);
    try {
      const r = await waitForRequest(gw, bob, (x) => x.status === 'pending' && x.statement?.text === text);
      expect((await api(gw, aliceOidc, 'POST', `/api/approvals/${r.id}/approve`, {})).status).toBe(200);
      const second = await api(gw, aliceSso, 'POST', `/api/approvals/${r.id}/approve`, {});
      expect(second.status).toBe(409);
      expect(second.body.detail).toMatch(/same person: alice@corp\.example/);
      await sleep(300);
      expect(await flaggedRows(gw, 't', 'two-addresses')).toBe(0);
      expect((await api(gw, bob, 'POST', `/api/approvals/${r.id}/approve`, {})).status).toBe(200);
      expect(await outcome).toBe('ran');
      expect(await flaggedRows(gw, 't', 'two-addresses')).toBe(1);
    } finally {
      await client.end().catch(() => undefined);
    }
  });

  it("cannot approve their agent's request under the other address (a whole domain aliased)", async () => {
    const agent = await gw.token({
      subject: 'claude-of-carol',
      groups: ['testers'],
      agent: true,
      person: 'carol@corp.example',
    });
    const carolOld = await person('carol.old', 'carol@corp.io');
    const bob = await person('00u-bob', 'bob@corp.example');
    const text = `UPDATE t SET flag = 'owner-domain' WHERE id = 1`;
    const { client, outcome } = await held(agent, text);
    try {
      const r = await waitForRequest(gw, bob, (x) => x.status === 'pending' && x.statement?.text === text);
      const own = await api(gw, carolOld, 'POST', `/api/approvals/${r.id}/approve`, {});
      expect(own.status).toBe(403);
      expect(own.body.detail).toMatch(/your own request/);
      await sleep(300);
      expect(await flaggedRows(gw, 't', 'owner-domain')).toBe(0);
      expect((await api(gw, bob, 'POST', `/api/approvals/${r.id}/deny`, {})).status).toBe(200);
      expect(await outcome).not.toBe('ran');
      expect(await flaggedRows(gw, 't', 'owner-domain')).toBe(0);
    } finally {
      await client.end().catch(() => undefined);
    }
  });
});
