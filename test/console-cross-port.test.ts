// Another port of the same host (docs/security.md class 94): browsers scope cookies by host, not by
// port (RFC 6265 §8.5), so a page an agent serves on 127.0.0.1:<any port> receives the console's and
// the approval page's cookies whenever the person opens it in the browser they signed in with. In
// Debian's chromium against the real gateway: the agent's server collects the cookies, and a program
// replays them from Node — reading what the pages show and approving the agent's own held UPDATE.
// The cookie alone must change nothing, show nothing, and never be a bearer credential.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { flaggedRows, httpBase, startDbaHoldGateway, waitForRequest } from './approvals-kit.js';
import { hasChromium, launchBrowser, type TestBrowser } from './testkit/browser.js';
import type { TestGateway } from './testkit/gateway.js';

const canRun = hasChromium();
let gw: TestGateway;
let agent: string;
let alice: string;
let browser: TestBrowser;
let page: Page;
let base: string;

/** The agent's dev server on another port of 127.0.0.1: it keeps every Cookie header it is sent. */
let devServer: http.Server;
let devBase: string;
const seenCookies: string[] = [];

beforeAll(async () => {
  if (!canRun) return;
  ({ gw, agent, alice } = await startDbaHoldGateway(
    inject('pgUrl'),
    `CREATE TABLE t (id int PRIMARY KEY, flag text);
     INSERT INTO t SELECT g, 'new' FROM generate_series(1, 10) g;`,
  ));
  base = httpBase(gw);
  devServer = http.createServer((req, res) => {
    if (req.headers.cookie) seenCookies.push(req.headers.cookie);
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>vite dev server</title><h1>It works</h1>');
  });
  await new Promise<void>((r) => devServer.listen(0, '127.0.0.1', r));
  devBase = `http://127.0.0.1:${(devServer.address() as AddressInfo).port}`;
  browser = await launchBrowser();
  page = await browser.newPage();
  page.setDefaultTimeout(10_000);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => devServer?.close(r));
  await gw?.stop();
});

function cookieNamed(name: string): string {
  for (const header of seenCookies.slice().reverse())
    for (const part of header.split(/;\s*/)) if (part.startsWith(`${name}=`)) return part;
  throw new Error(`the dev server never saw ${name}`);
}

/** A held UPDATE from the agent's own session. */
async function hold(flag: string): Promise<{ client: pg.Client; held: Promise<unknown>; id: string }> {
  const client = gw.client(agent);
  await client.connect();
  const text = `UPDATE t SET flag = '${flag}' WHERE id = 1`;
  const held = client.query(text).catch((e: unknown) => e as Error);
  const r = await waitForRequest(gw, alice, (x) => x.status === 'pending' && x.statement?.text === text);
  return { client, held, id: r.id as string };
}

const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)?.[1];

describe.skipIf(!canRun)('a page on another port of the same host', () => {
  it("gets the console's cookie, and replaying it from outside the browser approves nothing", async () => {
    await page.goto(`${base}/login`);
    await page.fill('input[name=token]', alice);
    await page.click('button:has-text("Sign in with a token")');
    await page.waitForURL(`${base}/sessions`);
    const { client, held, id } = await hold('console-replay');
    try {
      // The person opens the agent's dev server in the same browser: the console's cookie goes along.
      await page.goto(`${devBase}/`);
      const cookie = cookieNamed('gatehouse_console');

      // The agent's program, from Node, with that cookie.
      const read = await fetch(`${base}/inbox/${id}`, { headers: { cookie }, redirect: 'manual' });
      const body = await read.text();
      // What the console shows is not served on the cookie alone.
      expect(body).not.toContain('console-replay');
      // With the synchronizer token read from any page the cookie can fetch (if it can find one).
      const csrf = csrfOf(body) ?? '';
      const vote = await fetch(`${base}/inbox/${id}`, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ csrf, decision: 'approve', comment: 'lgtm' }).toString(),
        redirect: 'manual',
      });
      expect(vote.status).toBe(403);
      expect(await flaggedRows(gw, 't', 'console-replay')).toBe(0);

      // Nor does any other page, the record download or the live stream answer the cookie alone.
      for (const path of ['/sessions', '/inbox', '/inbox/events', '/tokens', '/playground', '/connections']) {
        const res = await fetch(`${base}${path}`, { headers: { cookie }, redirect: 'manual' });
        expect(res.headers.get('content-type'), path).toMatch(/^text\/html/);
        const text = await res.text();
        expect(text, path).toContain('data-bind-load');
        expect(text, path).not.toContain('name="csrf"');
        expect(text, path).not.toContain('alice');
      }

      // The person, in the console, still decides (here: denies) it.
      await page.goto(`${base}/inbox/${id}`);
      await page.click('#decide button[value=deny]');
      await page.waitForURL(/done=deny/);
      await held;
      expect(await flaggedRows(gw, 't', 'console-replay')).toBe(0);
    } finally {
      await client.end().catch(() => undefined);
    }
  });

  it("gets the approval page's cookie, which is no token and approves nothing on its own", async () => {
    await page.goto(`${base}/approvals`);
    await page.fill('input[name=token]', alice);
    await page.click('button:has-text("Log in")');
    await page.waitForURL(/\/approvals\?status=pending$/);
    const { client, held, id } = await hold('page-replay');
    try {
      await page.goto(`${devBase}/again`);
      const cookie = cookieNamed('gatehouse_approver');
      const value = cookie.slice(cookie.indexOf('=') + 1);
      expect(value).not.toBe(alice);
      // The cookie's value is not a bearer credential for the API.
      const api = await fetch(`${base}/api/approvals/${id}/approve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${decodeURIComponent(value)}`, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(api.status).toBe(401);
      // Replayed as a cookie, with the page's CSRF cookie and field.
      const read = await fetch(`${base}/approvals/${id}`, { headers: { cookie }, redirect: 'manual' });
      const body = await read.text();
      expect(body).not.toContain('page-replay');
      const csrfCookie = cookieNamed('gatehouse_csrf');
      const vote = await fetch(`${base}/approvals/${id}`, {
        method: 'POST',
        headers: {
          cookie: `${cookie}; ${csrfCookie}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({
          csrf: csrfCookie.slice(csrfCookie.indexOf('=') + 1),
          decision: 'approve',
        }).toString(),
        redirect: 'manual',
      });
      expect(vote.status).toBe(403);
      expect(await flaggedRows(gw, 't', 'page-replay')).toBe(0);

      // The person, on the approval page, still decides it.
      await page.goto(`${base}/approvals/${id}`);
      await page.click('button.deny');
      await page.waitForURL(/done=deny/);
      await held;
      expect(await flaggedRows(gw, 't', 'page-replay')).toBe(0);
    } finally {
      await client.end().catch(() => undefined);
    }
  });
});
