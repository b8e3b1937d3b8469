// The approval page over real HTTP: token login kept in an HttpOnly cookie, CSRF on every POST,
// hostile statement text escaped, and a decision on the page releasing a held statement.

import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { HOLD_UPDATES_FOR_DBA, httpBase, waitForRequest } from './approvals-kit.js';
import { CookieJarClient } from './testkit/cookie-jar.js';

let gw: TestGateway;
let agent: string;
let alice: string;

beforeAll(async () => {
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    policies: HOLD_UPDATES_FOR_DBA,
    setupSql: `CREATE TABLE items (id int PRIMARY KEY, name text); INSERT INTO items VALUES (1, 'one'), (2, 'two');`,
    extra: {
      listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
      approvals: { rules: { dba: { approverGroups: ['dba'], holdTimeout: '20s' } } },
    },
  });
  agent = await gw.token({ subject: 'claude', groups: ['testers'], agent: true });
  alice = await gw.token({ subject: 'alice', groups: ['dba'] });
});
afterAll(async () => gw?.stop());

/** A cookie jar over fetch on the gateway's HTTP listener, like a browser on this one origin. */
class Browser extends CookieJarClient {
  constructor() {
    super(() => httpBase(gw));
  }
}

function csrfOf(html: string): string {
  return /name="csrf" value="([^"]+)"/.exec(html)![1]!;
}

async function hold(
  text: string,
): Promise<{ client: pg.Client; held: Promise<pg.QueryResult | Error>; id: string }> {
  const client = gw.client(agent);
  await client.connect();
  const held = client.query(text).catch((e: unknown) => e as Error);
  const r = await waitForRequest(gw, alice, (x) => x.statement?.text === text);
  return { client, held, id: r.id };
}

/** The request as the approval page and as the console's inbox show it to alice. */
async function approverViews(id: string): Promise<[string, string][]> {
  const page = await (
    await fetch(`${httpBase(gw)}/approvals/${id}`, { headers: { authorization: `Bearer ${alice}` } })
  ).text();
  const b = new Browser();
  const login = await (await b.go('/login')).text();
  await b.post('/login/token', { token: alice, next: '/inbox', csrf: csrfOf(login) });
  return [
    ['approval page', page],
    ['console', await (await b.go(`/inbox/${id}`)).text()],
  ];
}

async function deny(id: string): Promise<void> {
  await fetch(`${httpBase(gw)}/api/approvals/${id}/deny`, {
    method: 'POST',
    headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
    body: '{}',
  });
}

describe('approval page', () => {
  it('asks for a login, keeps the token in an HttpOnly cookie, escapes the statement, and releases the hold', async () => {
    const text = `UPDATE items SET name = '<script>alert(1)</script>' WHERE id = 1 RETURNING name`;
    const { client, held, id } = await hold(text);
    try {
      const b = new Browser();
      const first = await b.go(`/approvals/${id}`);
      expect(first.status).toBe(200);
      expect(first.headers.get('content-security-policy')).toContain("default-src 'none'");
      const loginHtml = await first.text();
      expect(loginHtml).toContain('name="token"');
      expect(loginHtml).not.toContain('alert(1)');

      // Without the CSRF token the login is refused.
      const noCsrf = await b.post('/approvals/login', { token: alice, next: `/approvals/${id}` });
      expect(noCsrf.status).toBe(400);
      expect(b.cookies.has('gatehouse_approver')).toBe(false);

      const login = await b.post('/approvals/login', {
        token: alice,
        next: `/approvals/${id}`,
        csrf: csrfOf(loginHtml),
      });
      // The answer hands the browser its binding secret (origin storage) and goes on to the request.
      expect(login.status).toBe(200);
      expect(b.nextAfterSignIn).toBe(`/approvals/${id}`);
      const cookie = b.setCookieHeaders.find((c) => c.startsWith('gatehouse_approver='))!;
      expect(cookie).toMatch(/HttpOnly/i);
      expect(cookie).toMatch(/SameSite=Strict/i);
      // An opaque session id, never the token itself.
      expect(decodeURIComponent(b.cookies.get('gatehouse_approver')!)).not.toBe(alice);

      const page = await b.go(`/approvals/${id}`);
      const html = await page.text();
      expect(html).not.toContain('<script>');
      expect(html).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
      expect(html).toContain('claude');
      expect(html).toContain('Impact preview');
      expect(html).toContain('Rows matched by its WHERE:</strong> 1');
      expect(html).toContain('value="approve"');

      // A forged POST (no CSRF token from the page) is refused and changes nothing.
      const forged = await b.post(`/approvals/${id}`, { decision: 'approve', comment: 'forged' });
      expect(forged.status).toBe(403);

      const ok = await b.post(`/approvals/${id}`, {
        decision: 'approve',
        comment: 'from the page',
        csrf: csrfOf(html),
      });
      expect(ok.status).toBe(303);
      const result = (await held) as pg.QueryResult;
      expect(result.rows).toEqual([{ name: '<script>alert(1)</script>' }]);
      const after = await (await b.go(`/approvals/${id}?done=approve`)).text();
      expect(after).toContain('approved');
      expect(after).toContain('from the page');
      expect(after).toContain('approval.executed');

      // Open redirects are not followed after login.
      const evil = await b.post('/approvals/login', {
        token: alice,
        next: 'https://evil.example/',
        csrf: csrfOf(html),
      });
      expect(evil.status).toBe(200);
      expect(b.nextAfterSignIn).toBe('/approvals');
    } finally {
      await client.end();
    }
  });

  it('shows the requester the request without a decision form, and accepts a Bearer header', async () => {
    const text = `UPDATE items SET name = 'two!' WHERE id = 2`;
    const { client, held, id } = await hold(text);
    try {
      const own = await fetch(`${httpBase(gw)}/approvals/${id}`, {
        headers: { authorization: `Bearer ${agent}` },
      });
      const html = await own.text();
      expect(own.status).toBe(200);
      expect(html).toContain('You cannot decide this request');
      expect(html).not.toContain('value="approve"');
      const stranger = await gw.token({ subject: 'mallory', groups: ['testers'] });
      expect(
        (await fetch(`${httpBase(gw)}/approvals/${id}`, { headers: { authorization: `Bearer ${stranger}` } }))
          .status,
      ).toBe(403);
      const list = await (
        await fetch(`${httpBase(gw)}/approvals`, { headers: { authorization: `Bearer ${alice}` } })
      ).text();
      expect(list).toContain(`/approvals/${id}`);
      // Release the held statement with a denial from the page.
      const b = new Browser();
      const loginHtml = await (await b.go(`/approvals/${id}`)).text();
      await b.post('/approvals/login', { token: alice, next: `/approvals/${id}`, csrf: csrfOf(loginHtml) });
      const page = await (await b.go(`/approvals/${id}`)).text();
      await b.post(`/approvals/${id}`, { decision: 'deny', comment: 'no <b>way</b>', csrf: csrfOf(page) });
      const err = (await held) as Error;
      expect(err.message).toContain('no <b>way</b>');
    } finally {
      await client.end();
    }
  });

  it('shows the characters that reorder or hide text, on the approval page and in the console', async () => {
    // Rendered raw, the override makes the comment's tail read as a WHERE clause after it.
    const text =
      "UPDATE items SET name = 'x' /* \u202E 1 = di EREHW \u2066 */ --\u200B\u{E0041}\nWHERE id = 1";
    const { client, held, id } = await hold(text);
    try {
      const page = await (
        await fetch(`${httpBase(gw)}/approvals/${id}`, { headers: { authorization: `Bearer ${alice}` } })
      ).text();
      const b = new Browser();
      const login = await (await b.go('/login')).text();
      const signedIn = await b.post('/login/token', { token: alice, next: '/inbox', csrf: csrfOf(login) });
      expect(signedIn.status).toBe(200);
      const consolePage = await (await b.go(`/inbox/${id}`)).text();
      for (const [where, html] of [
        ['approval page', page],
        ['console', consolePage],
      ] as const) {
        expect(html, where).toContain('UPDATE items');
        for (const c of ['\u202E', '\u2066', '\u200B', '\u{E0041}']) expect(html, where).not.toContain(c);
        expect(html, where).toContain('⟨U+202E⟩');
        expect(html, where).toContain('⟨U+2066⟩');
        expect(html, where).toContain('⟨U+200B⟩');
        expect(html, where).toContain('⟨U+E0041⟩');
      }
      await deny(id);
      await held;
    } finally {
      await client.end();
    }
  });

  it('shows every character Unicode says is not drawn, not only the ones a list named', async () => {
    // Rendered raw, U+FE00 draws nothing: the approver reads "every item but 'one'", and item one is
    // renamed too ('one\uFE00' is not 'one'). Hangul fillers, the combining grapheme joiner and the
    // supplementary variation selectors are as invisible.
    const text =
      "UPDATE items SET name = 'x' WHERE name <> 'one\uFE00' AND name <> 'two\u3164\u034F\u{E0100}\u115F\uFFA0'";
    const { client, held, id } = await hold(text);
    try {
      for (const [where, html] of await approverViews(id)) {
        expect(html, where).toContain('UPDATE items');
        for (const c of ['\uFE00', '\u3164', '\u034F', '\u{E0100}', '\u115F', '\uFFA0']) {
          expect(html, where).not.toContain(c);
          expect(html, where).toContain(
            `⟨U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}⟩`,
          );
        }
      }
      await deny(id);
      await held;
    } finally {
      await client.end();
    }
  });

  it('spells out what draws as a blank or nothing, and a typed marker', async () => {
    // A form feed draws nothing in a page (Chromium: 'one\f' as wide as 'one'); a no-break space, U+2028
    // and U+2029 draw as a space, yet to PostgreSQL none is a blank ('two\u00A0' is not 'two '). A
    // client that types the page's own notation, '⟨U+FE00⟩', must not read as a revealed character.
    const text =
      "UPDATE items SET name = 'x' WHERE name <> 'one\f' AND name <> 'two\u00A0' AND name <> 'three\u2028\u2029'" +
      " AND name <> 'four\u001b\u0085' AND name <> 'one⟨U+FE00⟩'";
    const { client, held, id } = await hold(text);
    try {
      for (const [where, html] of await approverViews(id)) {
        expect(html, where).toContain('UPDATE items');
        for (const c of ['\f', '\u00A0', '\u2028', '\u2029', '\u001b', '\u0085']) {
          expect(html, where).not.toContain(c);
          expect(html, where).toContain(
            `⟨U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}⟩`,
          );
        }
        expect(html, where).toContain('one⟨U+27E8⟩U+FE00⟩');
      }
      await deny(id);
      await held;
    } finally {
      await client.end();
    }
  });

  it('counts a run of blank lines, so the tail of a statement is not pushed below the fold', async () => {
    // 300 blank lines (or thousands of blanks) between a statement's head and its tail: an approver who
    // read the head would approve the tail unseen.
    const text =
      "UPDATE items SET name = 'y' WHERE id = 1" +
      '\n'.repeat(301) +
      'OR id > 0' +
      ' '.repeat(5000) +
      'OR true';
    const { client, held, id } = await hold(text);
    try {
      for (const [where, html] of await approverViews(id)) {
        expect(html, where).toContain('UPDATE items');
        expect(html, where).not.toContain('\n\n\n\n');
        expect(html, where).toMatch(/⟨300 blank lines⟩\nOR id (&#62;|&gt;) 0⟨5000 blanks⟩OR true/);
      }
      await deny(id);
      await held;
    } finally {
      await client.end();
    }
  });

  it('refuses a decision posted from another origin, even with a CSRF cookie planted to match', async () => {
    const text = `UPDATE items SET name = 'planted' WHERE id = 2`;
    const { client, held, id } = await hold(text);
    try {
      const b = new Browser();
      const loginHtml = await (await b.go(`/approvals/${id}`)).text();
      await b.post('/approvals/login', { token: alice, next: `/approvals/${id}`, csrf: csrfOf(loginHtml) });
      expect(b.cookies.has('gatehouse_approver')).toBe(true);
      // A sibling subdomain is same-site: the login cookie goes along, and it can set a cookie
      // for the parent domain, so the double-submit pair is the attacker's own.
      const planted = 'plantedplantedplantedplantedplan';
      b.cookies.set('gatehouse_csrf', planted);
      const forged = await b.go(`/approvals/${id}`, {
        method: 'POST',
        body: new URLSearchParams({ decision: 'approve', comment: 'forged', csrf: planted }),
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          origin: 'https://attacker.example.test',
        },
      });
      expect(forged.status).toBe(403);
      const status = await fetch(`${httpBase(gw)}/api/approvals/${id}`, {
        headers: { authorization: `Bearer ${alice}` },
      });
      expect(((await status.json()) as { request: { status: string } }).request.status).toBe('pending');
      // The same form from this origin is taken.
      const ok = await b.go(`/approvals/${id}`, {
        method: 'POST',
        body: new URLSearchParams({ decision: 'deny', comment: 'not now', csrf: planted }),
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: httpBase(gw) },
      });
      expect(ok.status).toBe(303);
      expect(((await held) as Error).message).toContain('not now');
    } finally {
      await client.end();
    }
  });

  it("bounds one person's open console event streams, without taking others' places", async () => {
    const signIn = async (token: string): Promise<Browser> => {
      const b = new Browser();
      const login = await (await b.go('/login')).text();
      expect((await b.post('/login/token', { token, next: '/inbox', csrf: csrfOf(login) })).status).toBe(200);
      return b;
    };
    const open = async (b: Browser, ctl: AbortController): Promise<number> =>
      (await b.go('/inbox/events', { signal: ctl.signal })).status;
    const a = await signIn(alice);
    const controllers: AbortController[] = [];
    try {
      for (let i = 0; i < 10; i++) {
        const ctl = new AbortController();
        controllers.push(ctl);
        expect(await open(a, ctl)).toBe(200);
      }
      const extra = new AbortController();
      controllers.push(extra);
      expect(await open(a, extra)).toBe(429);
      const bob = await signIn(await gw.token({ subject: 'bob', groups: ['dba'] }));
      const theirs = new AbortController();
      controllers.push(theirs);
      expect(await open(bob, theirs)).toBe(200);
    } finally {
      for (const c of controllers) c.abort();
    }
    // Closed streams give their places back.
    const end = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < end) {
      const ctl = new AbortController();
      status = await open(a, ctl);
      ctl.abort();
      if (status === 200) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
  });
});
