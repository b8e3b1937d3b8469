// The impact preview is for the approvers (class 258's neighbour, test/approvals-preview-access.test.ts),
// and the session's record is for whoever may see the session: the requester itself, in the console.
// So the record must not carry the preview: a person the policy keeps from a table, who is not an
// approver, asks for a reviewed write over it, signs in to the console, and exports the session —
// the record's `approval.requested` event must not answer with the count of the write's WHERE (a
// one-query oracle past a deny or a mask) before anyone approved it.

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { api, httpBase } from './approvals-kit.js';
import { CookieJarClient } from './testkit/cookie-jar.js';

const SECRET = 'wJalrXUtnFEMIK7MDENGbPxRfiCY';

const POLICIES: PolicyConfig[] = [
  {
    id: 'contractors',
    subjects: { groups: ['contractors'] },
    connections: ['app'],
    rules: [
      {
        id: 'no-key-reads',
        effect: 'deny',
        match: { kinds: ['select'], tables: ['api_keys'] },
        message: 'contractors may not read api_keys',
      },
      {
        id: 'writes-reviewed',
        effect: 'review',
        mode: 'defer',
        approval: 'ops',
        match: { kinds: ['update'] },
      },
      { id: 'allow-rest', effect: 'allow', match: {} },
    ],
  },
];

describe("the impact preview in the session's record", () => {
  let gw: TestGateway;
  let carol: string;
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
    // A person, not an agent and not an approver: the policy keeps api_keys from her.
    carol = await gw.token({ subject: 'carol', groups: ['contractors'] });
    olga = await gw.token({ subject: 'olga', groups: ['ops'] });
  }, 120_000);

  afterAll(async () => {
    await gw?.stop();
  });

  /** Carol asks for the reviewed write; the id of the request it opened. */
  const ask = async (sql: string): Promise<string> => {
    const c = gw.client(carol);
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

  /** Carol in the console (token sign-in), as a browser with the pages' script. */
  const consoleAs = async (token: string): Promise<CookieJarClient> => {
    const b = new CookieJarClient(() => httpBase(gw));
    const form = await (await b.go('/login')).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(form)![1]!;
    const r = await b.post('/login/token', { csrf, token, next: '/sessions' });
    expect(r.status).toBe(200);
    return b;
  };

  it('is not in the record the requester reads: the count of a WHERE over a table she may not read', async () => {
    const id = await ask(`UPDATE api_keys SET note = note WHERE secret LIKE 'wJa%'`);
    // The approver sees the count on the approver surfaces; Carol does not.
    const asApprover = (await api(gw, olga, 'GET', `/api/approvals/${id}`)).body;
    expect(asApprover.request.preview.rowCount).toBe(1);
    const asCarol = (await api(gw, carol, 'GET', `/api/approvals/${id}`)).body;
    expect(asCarol.request.preview.rowCount).toBeUndefined();
    const sessionId = asApprover.request.sessionId as string;
    expect(sessionId).toBeTruthy();

    // Her own session, in the console: the page and the record's export.
    const b = await consoleAs(carol);
    // The record is written asynchronously: wait for the request's event to be in it.
    let exported = '';
    for (let i = 0; i < 50; i++) {
      const r = await b.go(`/sessions/${sessionId}/export`);
      expect(r.status).toBe(200);
      exported = await r.text();
      if (exported.includes('approval.requested')) break;
      await new Promise((res) => setTimeout(res, 100));
    }
    const events = exported
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as unknown);
    const requested = events.find((e) => JSON.stringify(e).includes('"approval.requested"'));
    expect(requested, exported.slice(0, 2000)).toBeDefined();
    expect(exported, 'the preview reached the requester through the session record').not.toMatch(
      /"rowCount"/,
    );
    expect(exported).not.toContain('Seq Scan');
    const pageText = await (await b.go(`/sessions/${sessionId}`)).text();
    expect(pageText).not.toMatch(/rowCount|Rows matched/);
    // The record still says a request was opened, and that its preview went to the approvers.
    expect(exported).toContain('the impact preview is shown to the approvers only');
  });
});
