// The console's inbox event stream (`/inbox/events`) was authenticated once, when it opened, and then
// ran as long as the browser kept it: after the person's token was revoked (or a SAML sign-in's bound
// passed), it went on telling that browser which approval requests changed — new ones included — for
// as long as it stayed open. It now asks again who is looking each time it wakes, and ends when the
// sign-in no longer holds (docs/security.md, classes 6 and 390).

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { httpBase } from './approvals-kit.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { CookieJarClient } from './testkit/cookie-jar.js';

const POLICIES: PolicyConfig[] = [
  {
    id: 'agents',
    subjects: { agent: true },
    connections: ['app'],
    rules: [
      {
        id: 'writes-reviewed',
        effect: 'review',
        mode: 'defer',
        approval: 'dba',
        match: { kinds: ['update'] },
      },
      { id: 'allow-rest', effect: 'allow', match: {} },
    ],
  },
];

let gw: TestGateway;
let agent: string;
let bob: string;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: POLICIES,
    setupSql: `CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items VALUES (1, 'one');`,
    extra: {
      listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
      approvals: { rules: { dba: { approverGroups: ['dba'] } } },
    },
  });
  agent = await gw.token({ subject: 'claude', groups: [], agent: true });
  bob = await gw.token({ subject: 'bob', groups: ['dba'] });
}, 120_000);
afterAll(async () => gw?.stop());

const jtiOf = (token: string): string =>
  (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The agent asks for a reviewed write; the id of the request it opened. */
async function ask(sql: string): Promise<string> {
  const c = gw.client(agent);
  await c.connect();
  try {
    const e = (await c.query(sql).then(
      () => undefined,
      (x: unknown) => x,
    )) as pg.DatabaseError | undefined;
    return /request ([0-9a-f-]{36}) was created/.exec(e?.message ?? '')![1]!;
  } finally {
    await c.end();
  }
}

describe("the console's inbox event stream", () => {
  it('ends when the token of the person watching it is revoked', async () => {
    const b = new CookieJarClient(() => httpBase(gw));
    const form = await (await b.go('/login')).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(form)![1]!;
    expect((await b.post('/login/token', { token: bob, next: '/inbox', csrf })).status).toBe(200);

    const ctl = new AbortController();
    const res = await b.go('/inbox/events', { signal: ctl.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let seen = '';
    let ended = false;
    const reading = (async () => {
      const dec = new TextDecoder();
      for (;;) {
        const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
        if (done) {
          ended = true;
          return;
        }
        seen += dec.decode(value, { stream: true });
      }
    })();
    try {
      // While Bob's token holds, he is told of a new request.
      const first = await ask(`UPDATE items SET name = 'first' WHERE id = 1`);
      for (let i = 0; i < 50 && !seen.includes(first); i++) await sleep(100);
      expect(seen).toContain(first);

      // Bob's token is revoked (another process: the CLI); past the 4 s a "not revoked" answer is kept.
      await gw.gateway.store.revokeServiceToken(jtiOf(bob), new Date());
      await sleep(5_000);
      const second = await ask(`UPDATE items SET name = 'second' WHERE id = 1`);
      for (let i = 0; i < 30 && !ended; i++) await sleep(100);
      expect(seen, "the revoked token's stream was told of a new request").not.toContain(second);
      expect(ended, 'the stream of a revoked token is still open').toBe(true);
    } finally {
      ctl.abort();
      await reading;
    }
  }, 60_000);
});
