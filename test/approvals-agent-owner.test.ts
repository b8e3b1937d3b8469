// An agent's owner approving the agent's request under another identity (docs/security.md, class
// 223). Votes are refused to the requester's own identity and to any identity naming the same person
// (class 11), but a service token named no person: the agent `claude` that alice runs could have its
// held UPDATE approved by alice herself, signed in through the company's OIDC provider. Against the
// real gateway (an OIDC issuer over real HTTP): the agent's token now names its owner
// (`gatehouse token issue --agent --person alice@corp.example`), alice's vote is refused with 403,
// bob's approves and the UPDATE runs.

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
      approvals: { rules: { dba: { approverGroups: ['dba'], holdTimeout: '20s' } } },
    },
  });
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await issuer?.close();
});

const person = (sub: string, email: string) =>
  issuer.sign({ sub, aud: 'gatehouse', groups: ['dba'], email, email_verified: true });

describe("an agent's owner", () => {
  it("cannot approve the agent's request under an identity naming them", async () => {
    const agent = await gw.token({
      subject: 'claude',
      groups: ['testers'],
      agent: true,
      person: 'Alice@Corp.example',
    });
    const alice = await person('00u-alice', 'alice@corp.example');
    const bob = await person('00u-bob', 'bob@corp.example');
    const client = gw.client(agent);
    await client.connect();
    try {
      const text = `UPDATE t SET flag = 'owner' WHERE id = 1`;
      const held = client.query(text).then(
        () => 'ran',
        (e: unknown) => (e as Error).message,
      );
      const r = await waitForRequest(gw, bob, (x) => x.status === 'pending' && x.statement?.text === text);

      const own = await api(gw, alice, 'POST', `/api/approvals/${r.id}/approve`, { comment: 'mine' });
      expect(own.status).toBe(403);
      expect(own.body.detail).toMatch(/your own request/);
      await sleep(300);
      expect(await flaggedRows(gw, 't', 'owner')).toBe(0);

      expect((await api(gw, bob, 'POST', `/api/approvals/${r.id}/approve`, {})).status).toBe(200);
      expect(await held).toBe('ran');
      expect(await flaggedRows(gw, 't', 'owner')).toBe(1);
    } finally {
      await client.end().catch(() => undefined);
    }
  });

  it('is kept with the token, and a token for no one names no person', async () => {
    const t = await gw.token({
      subject: 'claude2',
      groups: ['testers'],
      agent: true,
      person: 'ann@corp.example',
    });
    const id = await gw.gateway.identity.authenticator.authenticate(t);
    expect(id.person).toBe('ann@corp.example');
    const list = await gw.gateway.store.listServiceTokens();
    expect(list.find((x) => x.subject === 'claude2')?.person).toBe('ann@corp.example');
    const plain = await gw.gateway.identity.authenticator.authenticate(
      await gw.token({ subject: 'claude3' }),
    );
    expect(plain.person).toBeUndefined();
    await expect(gw.token({ subject: 'x', person: 'not an address' })).rejects.toThrow(/e-mail/);
  });
});
