// SAML 2.0 sign-in to the console against an identity provider run inside the test (samlify):
// a person signs in through a real browser; a tampered, wrapped (XSW), replayed, misaddressed,
// wrong-audience, foreign-issuer or expired assertion is refused and opens no console session.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hasChromium, launchBrowser, screenshot } from './testkit/browser.js';
import { freePort } from './testkit/free-port.js';
import { parsePrometheusText } from './testkit/prometheus-text.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { startTestIdp, type IdpUser, type TestIdp } from './testkit/saml-idp.js';

let gw: TestGateway;

/**
 * The console's refusals before authentication so far, from the real /metrics (the log has only the
 * first few of a window: docs/operations.md).
 */
async function refusedCount(): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${gw.gateway.metricsListener!.port}/metrics`);
  return parsePrometheusText(await res.text()).value('gatehouse_preauth_refusals_total', {
    listener: 'console',
    reason: 'credentials_unknown',
  });
}
let idp: TestIdp;
let base: string;
let certDir: string;

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const spEntityId = `${base}/login/saml/metadata`;
  idp = await startTestIdp({ entityId: spEntityId, acsUrl: `${base}/login/saml/acs` });
  certDir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-saml-'));
  const certFile = path.join(certDir, 'idp.pem');
  writeFileSync(certFile, idp.certPem);
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    extra: {
      listeners: {
        postgres: { address: '127.0.0.1:0' },
        http: { address: `127.0.0.1:${port}`, publicUrl: base },
      },
      console: {
        tokenLogin: false,
        saml: { entryPoint: `${idp.url}/sso`, idpIssuer: idp.entityId, idpCert: certFile, clockSkew: '30s' },
      },
      metrics: { enabled: true, listen: '127.0.0.1:0' },
    },
  });
}, 120_000);

afterAll(async () => {
  await gw?.stop();
  await idp?.close();
  if (certDir) rmSync(certDir, { recursive: true, force: true });
});

/**
 * Starts a SAML sign-in at the console and has the IdP answer it; `cookie` is that browser's (and
 * `start` the nonce its script would have kept in origin storage).
 */
async function assertionFor(
  user: IdpUser,
  start = 'nonce-of-a-program-not-a-browser-0001',
): Promise<{ samlResponse: string; relayState?: string; cookie: string }> {
  const begin = await fetch(`${base}/login/saml?next=%2Fsessions&start=${start}`, { redirect: 'manual' });
  return answer(begin, user);
}

async function answer(
  start: Response,
  user: IdpUser,
): Promise<{ samlResponse: string; relayState?: string; cookie: string }> {
  expect(start.status).toBe(302);
  const cookie = start.headers
    .getSetCookie()
    .find((c) => c.startsWith('gatehouse_console_saml='))!
    .split(';')[0]!;
  return { ...(await idp.respond(start.headers.get('location')!, user)), cookie };
}

/**
 * Posts a response to the ACS as the IdP's page does (cross-site: no cookie of ours goes along),
 * then collects the sign-in as the browser with `cookie` would. `cookie`: a console session began.
 */
async function post(
  samlResponse: string,
  browserCookie: string | undefined,
  relayState = '/sessions',
): Promise<{ status: number; body: string; cookie: boolean }> {
  const res = await fetch(`${base}/login/saml/acs`, {
    method: 'POST',
    body: new URLSearchParams({ SAMLResponse: samlResponse, RelayState: relayState }),
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'null' },
    redirect: 'manual',
  });
  const began = (r: Response) =>
    r.headers.getSetCookie().some((c) => c.startsWith('gatehouse_console=') && !/Max-Age=0/i.test(c));
  const body = await res.text();
  if (res.status !== 200 || began(res)) return { status: res.status, body, cookie: began(res) };
  const code = /\/login\/saml\/finish\?code=([A-Za-z0-9_-]+)/.exec(body)?.[1];
  expect(code, body).toBeDefined();
  const fin = await fetch(`${base}/login/saml/finish?code=${code}`, {
    headers: browserCookie ? { cookie: browserCookie } : {},
    redirect: 'manual',
  });
  return { status: fin.status, body: await fin.text(), cookie: began(fin) };
}

const xmlOf = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
const b64Of = (xml: string) => Buffer.from(xml, 'utf8').toString('base64');
const SIGNATURE = /<(?:ds:)?Signature[\s\S]*?<\/(?:ds:)?Signature>/;

describe('console SAML sign-in', () => {
  it('accepts a signed assertion for this service, once', async () => {
    const { samlResponse, cookie } = await assertionFor({ nameId: 'bob', groups: ['dba'] });
    const ok = await post(samlResponse, cookie);
    expect(ok.status).toBe(200);
    expect(ok.cookie).toBe(true);
    expect(ok.body).toContain('Signed in');
    // The same response again: its request was answered and its assertion ID is spent.
    const replay = await post(samlResponse, cookie);
    expect(replay.status).toBe(403);
    expect(replay.cookie).toBe(false);
  });

  it('refuses a tampered assertion', async () => {
    const { samlResponse, cookie } = await assertionFor({ nameId: 'bob', groups: ['dba'] });
    const xml = xmlOf(samlResponse);
    expect(xml).toMatch(/>bob</);
    const before = await refusedCount();
    const r = await post(b64Of(xml.replace('>bob<', '>mallory<')), cookie);
    expect(r.status).toBe(403);
    expect(r.body).toContain('SAML sign-in refused');
    expect(r.cookie).toBe(false);
    // A refusal before authentication: counted and logged rate-limited (docs/operations.md), and what
    // the posted response said is not in the log.
    expect(await refusedCount()).toBe(before + 1);
    expect(gw.logs.join('')).not.toContain('mallory');
  });

  it('refuses a wrapped assertion (XSW: a forged assertion around the signed one)', async () => {
    const { samlResponse, cookie } = await assertionFor({ nameId: 'bob', groups: ['analysts'] });
    const xml = xmlOf(samlResponse);
    const signed = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(xml)![0];
    const forged = signed
      .replace(SIGNATURE, '')
      .replace(/ ID="[^"]+"/, ' ID="_forged"')
      .replace('>bob<', '>mallory<')
      .replace('>analysts<', '>dba<')
      .replace('</saml:Assertion>', `<saml:Advice>${signed}</saml:Advice></saml:Assertion>`);
    const r = await post(b64Of(xml.replace(signed, forged)), cookie);
    expect(r.status).toBe(403);
    expect(r.cookie).toBe(false);
  });

  it('refuses an assertion addressed to another service, audience or issuer, or expired', async () => {
    const cases: [IdpUser, RegExp][] = [
      [{ nameId: 'bob', groups: [], recipient: 'http://127.0.0.1:1/elsewhere' }, /Recipient/],
      [{ nameId: 'bob', groups: [], audience: 'urn:another-service' }, /audience/i],
      [{ nameId: 'bob', groups: [], issuer: 'urn:another-idp' }, /refused/],
      [{ nameId: 'bob', groups: [], validSeconds: -120 }, /refused/],
    ];
    for (const [user, why] of cases) {
      const { samlResponse, cookie } = await assertionFor(user);
      const r = await post(samlResponse, cookie);
      expect(r.status, JSON.stringify(user)).toBe(403);
      expect(r.body).toMatch(why);
      expect(r.cookie).toBe(false);
    }
  });

  it('refuses an unsolicited response (no request of ours)', async () => {
    const { samlResponse, cookie } = await assertionFor({ nameId: 'bob', groups: ['dba'] });
    const xml = xmlOf(samlResponse).replace(/InResponseTo="[^"]+"/g, 'InResponseTo="_not-ours"');
    const r = await post(b64Of(xml), cookie);
    expect(r.status).toBe(403);
  });

  it("signs in only the browser that started the sign-in (no one else's response: login CSRF)", async () => {
    // Mallory starts a sign-in, answers it at the IdP as herself, and has Alice's browser post it.
    const mallory = await assertionFor({ nameId: 'mallory', groups: ['dba'] });
    const alice = await assertionFor({ nameId: 'alice', groups: ['dba'] });
    const before = await refusedCount();
    const crossed = await post(mallory.samlResponse, alice.cookie);
    expect(crossed.status).toBe(403);
    expect(crossed.cookie).toBe(false);
    expect(crossed.body).toContain('this browser did not start that sign-in');
    // Counted and logged rate-limited as a refusal before authentication, not a warn per attempt.
    expect(await refusedCount()).toBe(before + 1);
    const none = await assertionFor({ nameId: 'mallory', groups: ['dba'] });
    const bare = await post(none.samlResponse, undefined);
    expect(bare.status).toBe(403);
    expect(bare.cookie).toBe(false);
    // Alice's own sign-in still completes in her browser.
    const own = await post(alice.samlResponse, alice.cookie);
    expect(own.status).toBe(200);
    expect(own.cookie).toBe(true);
  });

  it.skipIf(!hasChromium())(
    "a page on another port cannot sign the person's browser in as someone else",
    async () => {
      // mallory (a program on this machine) starts a sign-in, answers it at the IdP as herself and
      // posts the response; she keeps the hand-off code and her browser-binding cookie.
      const mine = await assertionFor({ nameId: 'mallory', groups: ['dba'] });
      const acs = await fetch(`${base}/login/saml/acs`, {
        method: 'POST',
        body: new URLSearchParams({ SAMLResponse: mine.samlResponse, RelayState: '/inbox' }),
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'null' },
      });
      const finish = /\/login\/saml\/finish\?code=[A-Za-z0-9_-]+/.exec(await acs.text())![0];
      // Her server on another port of 127.0.0.1 sets that cookie for the host (cookies know no
      // port) in the browser that opens it, and sends it on to the hand-off.
      const [name, value] = mine.cookie.split('=') as [string, string];
      const dev = http.createServer((_req, res) => {
        res.writeHead(302, {
          'set-cookie': `${name}=${value}; Path=/login/saml; HttpOnly; SameSite=Lax`,
          location: `${base}${finish}`,
        });
        res.end();
      });
      await new Promise<void>((r) => dev.listen(0, '127.0.0.1', r));
      const browser = await launchBrowser();
      try {
        const page = await browser.newPage();
        page.setDefaultTimeout(10_000);
        await page.goto(`http://127.0.0.1:${(dev.address() as AddressInfo).port}/`);
        await page.waitForLoadState('networkidle');
        // The hand-off page's script does not take a sign-in this browser did not start.
        await expect(page.locator('main').textContent()).resolves.toContain('not started in this browser');
        await page.goto(`${base}/inbox`);
        await page.waitForLoadState('networkidle');
        // The person is not working as mallory: no page opens as her.
        expect(await page.content()).not.toContain('mallory');
      } finally {
        await browser.close();
        await new Promise((r) => dev.close(r));
      }
    },
  );

  it.skipIf(!hasChromium())('signs a person in through a real browser, with roles from groups', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(10_000);
      await page.goto(`${base}/sessions`);
      expect(new URL(page.url()).pathname).toBe('/login');
      await page.click('a:has-text("Sign in with SAML")');
      await page.waitForSelector('#idp-continue');
      await page.click('#idp-continue');
      await page.waitForURL(`${base}/sessions`);
      const who = await page.locator('header .who').textContent();
      expect(who).toContain('bob');
      expect(who).toContain('admin');
      await screenshot(page, 'saml-signed-in');
    } finally {
      await browser.close();
    }
  });
});
