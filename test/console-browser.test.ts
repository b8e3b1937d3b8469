// The web console in a real browser (Debian's chromium through playwright-core) in front of a real
// gateway, PostgreSQL and psql: sign in, find the agent's refused DROP by search, see its rule and
// prompt, approve a held UPDATE while psql waits, hostile statement text rendered as text, CSRF,
// agents refused at sign-in, an admin ending a live session. Takes the screenshots of docs/console.md.

import type { ChildProcess } from 'node:child_process';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { httpBase, waitForRequest } from './approvals-kit.js';
import { hasChromium, launchBrowser, screenshot, type TestBrowser } from './testkit/browser.js';
import { hasCommand, run } from './testkit/commands.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const POLICIES: PolicyConfig[] = [
  {
    id: 'agents',
    subjects: { groups: ['ai-agents'] },
    connections: ['app'],
    rules: [
      { id: 'agents-read', effect: 'allow', match: { categories: ['read'] } },
      {
        id: 'agents-no-drop',
        effect: 'deny',
        match: { categories: ['ddl-drop'] },
        message: 'DROP is refused for agents: ask a DBA',
      },
      {
        id: 'agents-review-writes',
        effect: 'review',
        match: { kinds: ['update'] },
        mode: 'hold',
        approval: 'dba',
      },
    ],
  },
  {
    id: 'dbas',
    subjects: { groups: ['dba'] },
    connections: ['*'],
    rules: [{ id: 'dba-all', effect: 'allow', match: {} }],
  },
];

const XSS = '<img src=x onerror=alert(1)>';
const PROMPT = 'Tidy up the orders schema before the release';

const canRun = hasChromium() && hasCommand('psql');
let gw: TestGateway;
let browser: TestBrowser;
let page: Page;
let base: string;
let agent: string;
let alice: string;
const dialogs: string[] = [];

beforeAll(async () => {
  if (!canRun) return;
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: POLICIES,
    setupSql: `CREATE TABLE orders (id int PRIMARY KEY, status text);
               INSERT INTO orders SELECT g, 'new' FROM generate_series(1, 20) g;`,
    extra: {
      listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
      approvals: { rules: { dba: { approverGroups: ['dba'], holdTimeout: '60s' } } },
      recording: { sample: { rows: 5 } },
    },
  });
  base = httpBase(gw);
  agent = await gw.token({ subject: 'claude', groups: ['ai-agents'], agent: true });
  alice = await gw.token({ subject: 'alice', groups: ['dba'] });
  browser = await launchBrowser();
  page = await browser.newPage();
  page.setDefaultTimeout(10_000);
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await gw?.stop();
});

function psql(token: string, sql: string, onSpawn?: (p: ChildProcess) => void) {
  return run('psql', [gw.url(token, 'claude'), '-X', '-v', 'ON_ERROR_STOP=1', '-c', sql], {
    env: { PGCONNECT_TIMEOUT: '10' },
    timeoutMs: 60_000,
    ...(onSpawn ? { onSpawn } : {}),
  });
}

describe.skipIf(!canRun)('web console in chromium', () => {
  it('an agent token cannot sign in', async () => {
    await page.goto(`${base}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.fill('input[name=token]', agent);
    await page.click('button:has-text("Sign in with a token")');
    await expect(page.locator('[role=alert]').textContent()).resolves.toContain(
      'agent principals cannot sign in',
    );
    expect(new URL(page.url()).pathname).toBe('/login/token');
    // Still signed out: the console sends us back to sign in.
    await page.goto(`${base}/sessions`);
    expect(new URL(page.url()).pathname).toBe('/login');
  });

  it('signs a person in with a token; the cookie is HttpOnly and SameSite=Strict', async () => {
    await page.goto(`${base}/login`);
    await screenshot(page, 'sign-in');
    await page.fill('input[name=token]', alice);
    await page.click('button:has-text("Sign in with a token")');
    await page.waitForURL(`${base}/sessions`);
    const cookies = await browser.context.cookies(base);
    const session = cookies.find((c) => c.name === 'gatehouse_console');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(session?.value).not.toContain(alice.slice(0, 20));
    await expect(page.locator('header .who').textContent()).resolves.toContain('alice');
  });

  it("finds the agent's refused DROP by search, and the session shows its rule and prompt", async () => {
    const ctx = await fetch(`${base}/api/context`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agent}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: PROMPT, prompt_id: 'prompt-1' }),
    });
    expect(ctx.status).toBeLessThan(300);
    const drop = await psql(agent, 'DROP TABLE orders');
    expect(drop.code).not.toBe(0);
    expect(drop.stderr).toContain('agents-no-drop');
    const xss = await psql(agent, `SELECT '${XSS}' AS "${XSS}"`);
    expect(xss.code).toBe(0);

    await page.goto(`${base}/sessions`);
    await page.fill('input[name=q]', 'drop table');
    await page.selectOption('select[name=decision]', 'deny');
    await Promise.all([page.waitForURL(/[?&]q=drop/), page.click('button:has-text("Filter")')]);
    // The page's content arrives after it loads (the browser binding's fetch): wait until it is shown.
    await page.locator('html[data-bound="1"]').waitFor({ state: 'attached' });
    const rows = page.locator('#sessions tbody tr.matches');
    await expect(rows.count()).resolves.toBe(1);
    await expect(rows.first().textContent()).resolves.toContain('DROP TABLE orders');
    await screenshot(page, 'sessions-search');

    await page.locator('#sessions tbody tr').first().locator('a').first().click();
    await page.waitForURL(/\/sessions\/[0-9a-f-]+$/);
    const timeline = page.locator('#timeline');
    await expect(timeline.textContent()).resolves.toContain('agents-no-drop');
    await expect(page.locator('.prompt-text').first().textContent()).resolves.toBe(PROMPT);
    await expect(page.locator('#verification').textContent()).resolves.toContain('intact');
    await screenshot(page, 'session-detail');
  });

  it('renders hostile statement text as text', async () => {
    await page.goto(`${base}/sessions?q=${encodeURIComponent('onerror')}`);
    await expect(page.locator('#sessions tr.matches code').first().textContent()).resolves.toContain(XSS);
    await page.locator('#sessions tbody tr').first().locator('a').first().click();
    await page.waitForURL(/\/sessions\/[0-9a-f-]+$/);
    await expect(page.locator('pre.stmt', { hasText: 'onerror' }).first().textContent()).resolves.toContain(
      XSS,
    );
    // The sample's column name and cell are the same text, shown as text.
    await page.locator('details.sample-box summary').first().click();
    await expect(page.locator('table.sample th').first().textContent()).resolves.toBe(XSS);
    expect(await page.locator('img[src=x]').count()).toBe(0);
    expect(dialogs).toEqual([]);
  });

  it('approves a held UPDATE in the inbox while psql waits; the inbox updates by itself', async () => {
    await page.goto(`${base}/inbox`);
    await page.locator('html[data-live-ready="1"]').waitFor({ state: 'attached' });
    await expect(page.locator('#mine-count').textContent()).resolves.toBe('0');
    let done = false;
    const held = psql(agent, "UPDATE orders SET status = 'refunded' WHERE id = 12").then((r) => {
      done = true;
      return r;
    });
    await waitForRequest(
      gw,
      alice,
      (r) => r.status === 'pending' && /UPDATE orders/.test(r.statement?.text ?? ''),
    );
    // The page was not reloaded by the test: the SSE stream told it to re-render.
    await page.waitForSelector('#inbox-mine li');
    await expect(page.locator('#mine-count').textContent()).resolves.toBe('1');
    await expect(page.locator('#inbox-mine').textContent()).resolves.toContain(
      "UPDATE orders SET status = 'refunded'",
    );
    await expect(page.locator('#inbox-mine .rowcount').textContent()).resolves.toBe('1');
    await screenshot(page, 'inbox');
    expect(done).toBe(false);

    await page.click('#inbox-mine a:has-text("Review and decide")');
    await page.fill('#decide textarea[name=comment]', 'refund ok');
    await screenshot(page, 'request');
    await page.click('#decide button[value=approve]');
    await page.waitForURL(/done=approve/);
    const r = await held;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('UPDATE 1');
    await expect(page.locator('.status-live').textContent()).resolves.toContain('approved');
  });

  it('a state change without the CSRF token is refused', async () => {
    // Same browser, same cookies, even with the browser's binding secret (docs/security.md class 94),
    // but no token: refused.
    const bind = await page.evaluate(() => localStorage.getItem('gatehouse.console'));
    expect(bind).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const noToken = await page.request.post(`${base}/tokens`, {
      form: { subject: 'evil', groups: 'dba', ttl: '1h' },
      headers: { 'x-gatehouse-bind': bind! },
      maxRedirects: 0,
    });
    expect(noToken.status()).toBe(403);
    // The right token from another origin: refused too.
    const csrf = await page.locator('header form.who input[name=csrf]').getAttribute('value');
    const crossSite = await page.request.post(`${base}/tokens`, {
      form: { subject: 'evil', groups: 'dba', ttl: '1h', csrf: csrf! },
      headers: { origin: 'http://evil.example', 'x-gatehouse-bind': bind! },
      maxRedirects: 0,
    });
    expect(crossSite.status()).toBe(403);
    const list = await gw.gateway.store.listServiceTokens();
    expect(list.some((t) => t.subject === 'evil')).toBe(false);
  });

  it('issues a token shown once, explains a policy, and ends a live session', async () => {
    await page.goto(`${base}/tokens`);
    await page.fill('#issue input[name=subject]', 'ci-bot');
    await page.fill('#issue input[name=groups]', 'ai-agents');
    await page.click('#issue button[type=submit]');
    const token = await page.locator('#new-token').inputValue();
    expect(token.split('.')).toHaveLength(3);
    await screenshot(page, 'tokens');
    await page.reload();
    await page.locator('html[data-bound="1"]').waitFor({ state: 'attached' });
    await page.locator('#issue').waitFor();
    expect(await page.locator('#new-token').count()).toBe(0);
    expect(await page.content()).not.toContain(token);

    await page.goto(`${base}/playground`);
    await page.fill('#playground textarea[name=input]', 'DROP TABLE orders');
    await page.click('#playground button[type=submit]');
    await expect(page.locator('#traces').textContent()).resolves.toContain('agents-no-drop');
    await screenshot(page, 'playground');

    let child: ChildProcess | undefined;
    const sleeping = psql(agent, 'SELECT pg_sleep(60)', (p) => (child = p));
    await expect
      .poll(async () => {
        await page.goto(`${base}/sessions?who=agent`);
        return page.locator('#sessions .live').count();
      })
      .toBeGreaterThan(0);
    expect(child).toBeDefined();
    await page
      .locator('#sessions tr', { has: page.locator('.live') })
      .first()
      .locator('a')
      .first()
      .click();
    await page.click('button:has-text("End session")');
    await page.waitForURL(/ended=1/);
    const r = await sleeping;
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/ended by alice in the console/);
  });
});
