// Sign-ins are kept in bounded maps (the approval pages' and the console's, 10,000 each); when a map
// was full, a new sign-in pushed out the oldest one, whoever's it was. So one principal signing in
// over and over signed everyone else out: an agent, with its own token, posted the approval pages'
// login form 10,000 times and every approver's page sign-in was gone (and again as soon as they
// signed back in); a person did the same to the admins' console sign-ins. Each principal now keeps a
// few sign-ins of its own, its oldest giving way to its newest, and a full map takes no one's place.

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { httpBase } from './approvals-kit.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { CookieJarClient } from './testkit/cookie-jar.js';

let gw: TestGateway;
let agent: string;
let alice: string;
let carol: string;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    extra: {
      listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
      approvals: { rules: { dba: { approverGroups: ['dba'] } } },
      api: { adminGroups: ['dba'] },
    },
  });
  agent = await gw.token({ subject: 'claude', groups: ['ai-agents'], agent: true });
  alice = await gw.token({ subject: 'alice', groups: ['dba'] });
  carol = await gw.token({ subject: 'carol', groups: ['contractors'] });
}, 120_000);
afterAll(async () => gw?.stop());

const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)![1]!;

/** `n` sign-ins with one token, posted as fast as a program can, `parallel` at a time. */
async function flood(
  path: '/approvals/login' | '/login/token',
  token: string,
  n: number,
  parallel = 32,
): Promise<number> {
  const b = new CookieJarClient(() => httpBase(gw));
  const form = await (await b.go(path === '/login/token' ? '/login' : '/approvals/login')).text();
  const csrf = csrfOf(form);
  const cookie = [...b.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  let signedIn = 0;
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      const r = await fetch(`${httpBase(gw)}${path}`, {
        method: 'POST',
        redirect: 'manual',
        body: new URLSearchParams({ csrf, token, next: path === '/login/token' ? '/' : '/approvals' }),
        headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
      });
      await r.arrayBuffer();
      if (r.status === 200 && r.headers.getSetCookie().length > 0) signedIn++;
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return signedIn;
}

describe('one principal signing in again and again', () => {
  it("does not sign the approvers out of the approval pages (an agent's 10,000 page sign-ins)", async () => {
    const approver = new CookieJarClient(() => httpBase(gw));
    const form = await (await approver.go('/approvals/login')).text();
    const r = await approver.post('/approvals/login', {
      token: alice,
      next: '/approvals',
      csrf: csrfOf(form),
    });
    expect(r.status).toBe(200);
    const before = await approver.go('/approvals');
    expect(before.status).toBe(200);
    expect(await before.text()).toContain('alice');

    await flood('/approvals/login', agent, 10_050);

    const after = await approver.go('/approvals');
    expect(after.status).toBe(200);
    expect(await after.text(), "the agent's sign-ins pushed the approver's out").toContain('alice');
  }, 180_000);

  it("does not sign the admins out of the console (a person's 10,000 console sign-ins)", async () => {
    const admin = new CookieJarClient(() => httpBase(gw));
    const form = await (await admin.go('/login')).text();
    const r = await admin.post('/login/token', { token: alice, next: '/sessions', csrf: csrfOf(form) });
    expect(r.status).toBe(200);
    const before = await admin.go('/sessions');
    expect(before.status).toBe(200);

    await flood('/login/token', carol, 10_050);

    const after = await admin.go('/sessions');
    expect(after.status, "the person's sign-ins pushed the admin's out").toBe(200);
    expect(await after.text()).toContain('alice');
  }, 180_000);
});
