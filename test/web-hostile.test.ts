// The web surface for people under a hostile agent (docs/security.md classes 27–29): an agent that
// holds its own gateway token and knows the code tries to get its own risky statement approved by
// making the approver read something other than what is approved.
//
// 23. What binds an approval besides the statement text and parameters (the session's DateStyle,
//     TimeZone, search_path…) is shown on every approver surface: the same text under other
//     settings is another statement.
// 24. A bind parameter is shown to the approver whole (up to 64 KiB), not the record's 1 KiB clip
//     whose `…` hid the tail the approval binds; a longer one says that it is clipped.

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { api, httpBase, waitForRequest } from './approvals-kit.js';
import { hasChromium, launchBrowser } from './testkit/browser.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { CookieJarClient } from './testkit/cookie-jar.js';

const POLICIES: PolicyConfig[] = [
  {
    id: 'agents',
    subjects: { groups: ['ai-agents'] },
    connections: ['app'],
    rules: [
      {
        id: 'review-deletes',
        effect: 'review',
        match: { kinds: ['delete'] },
        mode: 'defer',
        approval: 'dba',
      },
      { id: 'allow-rest', effect: 'allow', match: { categories: ['read', 'session', 'transaction'] } },
    ],
  },
];

let gw: TestGateway;
let agent: string;
let alice: string;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: POLICIES,
    setupSql: `CREATE TABLE audit_log (id int PRIMARY KEY, at date);
               INSERT INTO audit_log SELECT g, date '2026-01-01' + g FROM generate_series(1, 200) g;`,
    extra: {
      listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
      approvals: { rules: { dba: { approverGroups: ['dba'] } } },
    },
  });
  agent = await gw.token({ subject: 'claude', groups: ['ai-agents'], agent: true });
  alice = await gw.token({ subject: 'alice', groups: ['dba'] });
}, 120_000);
afterAll(async () => gw?.stop());

/** A cookie jar over fetch on the gateway's HTTP listener, like a browser on this one origin. */
class Browser extends CookieJarClient {
  constructor() {
    super(() => httpBase(gw));
  }
}

const csrfOf = (html: string) => /name="csrf" value="([^"]+)"/.exec(html)![1]!;

/** A person signed in to the console with their token (the token sign-in form). */
async function consoleAs(token: string): Promise<Browser> {
  const b = new Browser();
  const form = await (await b.go('/login')).text();
  const r = await b.post('/login/token', { csrf: csrfOf(form), token, next: '/inbox' });
  expect(r.status).toBe(200);
  return b;
}

/** The agent sets a session setting, then asks for a reviewed statement (deferred: it returns). */
async function requestUnder(setting: string, text: string): Promise<string> {
  const client = gw.client(agent);
  await client.connect();
  try {
    await client.query(setting);
    await expect(client.query(text)).rejects.toThrow(/approval/i);
  } finally {
    await client.end();
  }
  const r = await waitForRequest(gw, alice, (x) => x.statement?.text === text);
  return r.id as string;
}

/** Text of an HTML page without its tags, entities decoded enough for these assertions. */
const textOf = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/&quot;|&#34;/g, '"')
    .replace(/&lt;|&#60;/g, '<')
    .replace(/&gt;|&#62;/g, '>')
    .replace(/&amp;|&#38;/g, '&')
    .replace(/\s+/g, ' ');

describe('23. the settings an approval is bound to are shown to the approver', () => {
  // Under DateStyle = DMY, '03/04/2026' is 3 April, not 4 March: the same text deletes another month.
  const TEXT = `DELETE FROM audit_log WHERE at < '03/04/2026'`;
  let id: string;

  beforeAll(async () => {
    id = await requestUnder(`SET DateStyle = 'SQL, DMY'`, TEXT);
  });

  it('in the API', async () => {
    const d = await api(gw, alice, 'GET', `/api/approvals/${id}`);
    expect(d.status).toBe(200);
    expect(d.body.request.preview.settings).toMatchObject({ datestyle: 'SQL, DMY' });
  });

  it('on the approval page', async () => {
    const res = await fetch(`${httpBase(gw)}/approvals/${id}`, {
      headers: { authorization: `Bearer ${alice}` },
    });
    expect(res.status).toBe(200);
    const text = textOf(await res.text());
    expect(text).toContain(TEXT);
    expect(text).toMatch(/Runs under these session settings .*datestyle SQL, DMY/);
  });

  it('on the console request page and in the inbox', async () => {
    const b = await consoleAs(alice);
    const page = await b.go(`/inbox/${id}`);
    expect(page.status).toBe(200);
    const text = textOf(await page.text());
    expect(text).toContain(TEXT);
    expect(text).toMatch(/Runs under these session settings .*datestyle SQL, DMY/);
    const inbox = textOf(await (await b.go('/inbox')).text());
    expect(inbox).toMatch(/Runs under these session settings .*datestyle SQL, DMY/);
  });
});

describe('24. the approver sees each bind parameter whole, or is told it is clipped', () => {
  const TEXT = 'DELETE FROM audit_log WHERE id = ANY($1::int[])';
  // Past the record's first 1024 bytes, the id the agent wants gone.
  const IDS = `{${'1,'.repeat(1500)}199}`;

  it('in the API, on the approval page and in the console', async () => {
    const client = gw.client(agent);
    await client.connect();
    try {
      await expect(client.query(TEXT, [IDS])).rejects.toThrow(/approval/i);
    } finally {
      await client.end();
    }
    const r = await waitForRequest(gw, alice, (x) => x.statement?.text === TEXT);
    expect(r.statement.params).toEqual([IDS]);
    const page = await fetch(`${httpBase(gw)}/approvals/${r.id}`, {
      headers: { authorization: `Bearer ${alice}` },
    });
    expect(textOf(await page.text())).toContain(IDS);
    const b = await consoleAs(alice);
    expect(textOf(await (await b.go(`/inbox/${r.id}`)).text())).toContain(JSON.stringify([IDS]));
  });

  it('past 64 KiB, clipped with how long it is', async () => {
    const client = gw.client(agent);
    await client.connect();
    const text = `${TEXT} AND $2::text IS NOT NULL`;
    const long = `${'x'.repeat(70_000)}tail`;
    try {
      await expect(client.query(text, ['{1}', long])).rejects.toThrow(/approval/i);
    } finally {
      await client.end();
    }
    const r = await waitForRequest(gw, alice, (x) => x.statement?.text === text);
    expect(r.statement.params[0]).toBe('{1}');
    expect(r.statement.params[1]).toMatch(/^x{4096}… \(clipped: 70004 characters in all\)$/);
  });
});

describe('hostile text in what an agent controls renders as text on the approver pages', () => {
  // Not a class of its own: a check, in a real browser, that the approver pages stay inert under
  // the statement, its sqlcommenter reason, its parameters, the declared prompt and session settings.
  const XSS = `<img src=x onerror=alert(1)>"'><script>alert(2)</script>`;

  it.skipIf(!hasChromium())('in the console and on the approval page (Chromium)', async () => {
    const ctx = await fetch(`${httpBase(gw)}/api/context`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agent}`, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: XSS, prompt_id: 'p-xss' }),
    });
    expect(ctx.status).toBeLessThan(300);
    const text = `DELETE FROM audit_log WHERE id = $1 /*reason='${encodeURIComponent(XSS).replace(/'/g, '%27')}'*/`;
    const client = gw.client(agent);
    await client.connect();
    try {
      await client.query(`SET TimeZone = 'Europe/Berlin'`);
      await expect(client.query(text, [XSS])).rejects.toThrow(/approval/i);
    } finally {
      await client.end();
    }
    const r = await waitForRequest(gw, alice, (x) => x.statement?.text === text);
    expect(r.reason).toBe(XSS);

    const browser = await launchBrowser();
    const dialogs: string[] = [];
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(10_000);
      page.on('dialog', (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      await page.goto(`${httpBase(gw)}/login`);
      await page.fill('input[name=token]', alice);
      await page.click('button:has-text("Sign in with a token")');
      await page.waitForURL(/\/sessions$/);
      await page.goto(`${httpBase(gw)}/inbox`);
      await expect(page.locator(`li[data-request="${r.id}"]`).textContent()).resolves.toContain(XSS);
      await page.goto(`${httpBase(gw)}/inbox/${r.id}`);
      await expect(page.locator('pre.stmt').textContent()).resolves.toBe(text);
      await expect(page.locator('h2:has-text("Reason") + .card').textContent()).resolves.toBe(XSS);
      await expect(page.locator('.bound-settings').textContent()).resolves.toContain('Europe/Berlin');
      await page.goto(`${httpBase(gw)}/sessions/${r.sessionId}`);
      // The session page is drawn by its script after a fetch: wait for the text, not the first
      // paint ("Loading…"), which a loaded CI machine once read.
      await expect(page.locator('main', { hasText: XSS }).textContent()).resolves.toContain(XSS);
      // The approval page, logged in with the token form.
      await page.goto(`${httpBase(gw)}/approvals/${r.id}`);
      await page.fill('input[name=token]', alice);
      await page.click('button:has-text("Log in")');
      await page.waitForURL(new RegExp(`/approvals/${r.id}$`));
      await expect(page.locator('pre').first().textContent()).resolves.toBe(text);
      await expect(page.locator('main').textContent()).resolves.toContain(XSS);
      expect(await page.locator('img[src=x]').count()).toBe(0);
      expect(await page.locator('main script').count()).toBe(0);
      expect(dialogs).toEqual([]);
      // And the page's own form works in the browser (its CSRF and Origin checks pass): the page
      // once sent `Referrer-Policy: no-referrer`, under which Chromium posts `Origin: null`, so
      // every login and decision there was refused as cross-site.
      await page.click('button.deny');
      await page.waitForURL(/\?done=deny$/);
      await expect(page.locator('.status').first().textContent()).resolves.toBe('denied');
    } finally {
      await browser.close();
    }
  });
});
