// An approver whose sign-in is revoked between loading a request's page and clicking Approve: the
// click must not count. In Debian's chromium against the real gateway, bob signs in to the approval
// page and to the console with service tokens, opens the agent's held UPDATE, his token is revoked
// from outside the gateway process (as `gatehouse token revoke` does, through the shared store), and
// he clicks Approve after the revocation bound (5 s): the request stays pending, the row untouched.

import type pg from 'pg';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { api, flaggedRows, httpBase, sleep, startDbaHoldGateway, waitForRequest } from './approvals-kit.js';
import { hasChromium, launchBrowser, type TestBrowser } from './testkit/browser.js';
import type { TestGateway } from './testkit/gateway.js';

const canRun = hasChromium();
let gw: TestGateway;
let agent: string;
let alice: string;
let browser: TestBrowser;
let page: Page;
let base: string;

beforeAll(async () => {
  if (!canRun) return;
  ({ gw, agent, alice } = await startDbaHoldGateway(
    inject('pgUrl'),
    `CREATE TABLE t (id int PRIMARY KEY, flag text); INSERT INTO t VALUES (1, 'new');`,
  ));
  base = httpBase(gw);
  browser = await launchBrowser();
  page = await browser.newPage();
  page.setDefaultTimeout(10_000);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await gw?.stop();
});

const jtiOf = (token: string): string =>
  (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti;

async function hold(flag: string): Promise<{ client: pg.Client; held: Promise<unknown>; id: string }> {
  const client = gw.client(agent);
  await client.connect();
  const text = `UPDATE t SET flag = '${flag}' WHERE id = 1`;
  const held = client.query(text).catch((e: unknown) => e as Error);
  const r = await waitForRequest(gw, alice, (x) => x.status === 'pending' && x.statement?.text === text);
  return { client, held, id: r.id as string };
}

async function statusOf(id: string): Promise<string> {
  return (await api(gw, alice, 'GET', `/api/approvals/${id}`)).body.request.status as string;
}

describe.skipIf(!canRun)('an approver whose token is revoked after the page loaded', () => {
  it('approves nothing on the approval page', async () => {
    const bob = await gw.token({ subject: 'bob', groups: ['dba'] });
    await page.goto(`${base}/approvals`);
    await page.fill('input[name=token]', bob);
    await page.click('button:has-text("Log in")');
    await page.waitForURL(/\/approvals\?status=pending$/);
    const { client, held, id } = await hold('page-revoked');
    try {
      await page.goto(`${base}/approvals/${id}`);
      await page.waitForSelector('button.deny');
      await gw.gateway.store.revokeServiceToken(jtiOf(bob), new Date());
      await sleep(5_000);
      await page.click('button.approve');
      await page.waitForLoadState('load');
      await sleep(300);
      expect(await statusOf(id)).toBe('pending');
      expect(await flaggedRows(gw, 't', 'page-revoked')).toBe(0);
      expect((await api(gw, alice, 'POST', `/api/approvals/${id}/deny`, {})).status).toBe(200);
      await held;
    } finally {
      await client.end().catch(() => undefined);
    }
  });

  it('approves nothing in the console', async () => {
    const bob = await gw.token({ subject: 'bob', groups: ['dba'] });
    await page.goto(`${base}/login`);
    await page.fill('input[name=token]', bob);
    await page.click('button:has-text("Sign in with a token")');
    await page.waitForURL(`${base}/sessions`);
    const { client, held, id } = await hold('console-revoked');
    try {
      await page.goto(`${base}/inbox/${id}`);
      await page.waitForSelector('#decide button[value=approve]');
      await gw.gateway.store.revokeServiceToken(jtiOf(bob), new Date());
      await sleep(5_000);
      await page.click('#decide button[value=approve]');
      await page.waitForLoadState('load');
      await sleep(300);
      expect(await statusOf(id)).toBe('pending');
      expect(await flaggedRows(gw, 't', 'console-revoked')).toBe(0);
      expect((await api(gw, alice, 'POST', `/api/approvals/${id}/deny`, {})).status).toBe(200);
      await held;
    } finally {
      await client.end().catch(() => undefined);
    }
  });
});
