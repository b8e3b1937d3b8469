// Approval-page and console login with OIDC authorization code + PKCE against a real OpenID provider
// (oidc-provider in-process, with its development login and consent screens driven over HTTP, and in
// Debian's chromium for the console).

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { hasChromium, launchBrowser } from './testkit/browser.js';
import { freePort } from './testkit/free-port.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

let provider: http.Server;
let issuer: string;
let gw: TestGateway;
let gatewayUrl: string;
const ENV = `GH_APPROVALS_OIDC_SECRET_${process.pid}`;

beforeAll(async () => {
  provider = http.createServer();
  await new Promise<void>((r) => provider.listen(0, '127.0.0.1', r));
  issuer = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;
  const httpPort = await freePort();
  gatewayUrl = `http://127.0.0.1:${httpPort}`;
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const oidc = new Provider(issuer, {
    clients: [
      {
        client_id: 'gatehouse-approvals',
        client_secret: 'approvals-client-secret',
        grant_types: ['authorization_code'],
        response_types: ['code'],
        redirect_uris: [`${gatewayUrl}/approvals/oidc/callback`, `${gatewayUrl}/login/oidc/callback`],
      },
    ],
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'k1', alg: 'RS256', use: 'sig' }] },
    claims: { openid: ['sub'], groups: ['groups'] },
    scopes: ['openid', 'groups'],
    conformIdTokenClaims: false,
    findAccount: (_ctx: unknown, sub: string) => ({
      accountId: sub,
      claims: () => ({ sub, groups: ['dba'] }),
    }),
    features: { devInteractions: { enabled: true } },
    pkce: { required: () => true },
    ttl: {
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
      AccessToken: 600,
      IdToken: 600,
      AuthorizationCode: 60,
    },
  } as ConstructorParameters<typeof Provider>[1]);
  provider.on('request', oidc.callback());
  process.env[ENV] = 'approvals-client-secret';
  gw = await startTestGateway({
    superUrl: inject('pgUrl'),
    extra: {
      listeners: {
        postgres: { address: '127.0.0.1:0' },
        http: { address: `127.0.0.1:${httpPort}`, publicUrl: gatewayUrl },
      },
      identity: { oidc: [{ issuer, audience: 'gatehouse-approvals', groupsClaim: 'groups' }] },
      approvals: {
        rules: { default: { approverGroups: ['dba'] } },
        oidc: {
          issuer,
          clientId: 'gatehouse-approvals',
          clientSecret: { env: ENV },
          scopes: ['openid', 'groups'],
        },
      },
    },
  });
});

afterAll(async () => {
  await gw?.stop();
  await new Promise<void>((r) => (provider ? provider.close(() => r()) : r()));
  delete process.env[ENV];
});

/** A cookie jar per origin, following nothing automatically. */
class Jar {
  readonly byOrigin = new Map<string, Map<string, string>>();

  async go(url: string, init: RequestInit = {}): Promise<Response> {
    const origin = new URL(url).origin;
    const jar = this.byOrigin.get(origin) ?? new Map<string, string>();
    this.byOrigin.set(origin, jar);
    const res = await fetch(url, {
      ...init,
      redirect: 'manual',
      headers: {
        ...(init.headers as Record<string, string>),
        cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
      },
    });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair!.indexOf('=');
      const name = pair!.slice(0, i);
      const value = pair!.slice(i + 1);
      if (!value || /max-age=0|expires=Thu, 01 Jan 1970/i.test(c)) jar.delete(name);
      else jar.set(name, value);
    }
    return res;
  }

  /** Follows redirects until one leaves `untilOrigin`'s callback path. */
  async follow(url: string, stop: (u: URL) => boolean): Promise<URL> {
    let next = new URL(url);
    for (let i = 0; i < 20; i++) {
      if (stop(next)) return next;
      const res = await this.go(next.toString());
      const loc = res.headers.get('location');
      if (!loc) {
        const html = await res.text();
        const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
        const prompt = /name="prompt" value="([^"]+)"/.exec(html)?.[1];
        if (!action || !prompt) throw new Error(`stuck at ${next.pathname} (${res.status})`);
        const form = new URLSearchParams({
          prompt,
          ...(prompt === 'login' ? { login: 'alice-oidc', password: 'x' } : {}),
        });
        const posted = await this.go(new URL(action, next).toString(), {
          method: 'POST',
          body: form,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        });
        next = new URL(posted.headers.get('location')!, next);
        continue;
      }
      next = new URL(loc, next);
    }
    throw new Error('too many redirects');
  }
}

const NONCE = 'a-start-nonce-kept-by-the-script';

describe('approval page OIDC login', () => {
  it('logs in with authorization code + PKCE and shows the approver as the OIDC subject', async () => {
    const jar = new Jar();
    // Without the nonce the page's script keeps when the person clicks the login button: refused.
    expect((await jar.go(`${gatewayUrl}/approvals/oidc/login?next=/approvals`)).status).toBe(400);
    const start = await jar.go(`${gatewayUrl}/approvals/oidc/login?next=/approvals&start=${NONCE}`);
    expect(start.status).toBe(302);
    const auth = new URL(start.headers.get('location')!);
    expect(auth.origin).toBe(issuer);
    expect(auth.searchParams.get('code_challenge_method')).toBe('S256');
    expect(auth.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(auth.searchParams.get('redirect_uri')).toBe(`${gatewayUrl}/approvals/oidc/callback`);

    const callback = await jar.follow(auth.toString(), (u) => u.origin === gatewayUrl);
    expect(callback.pathname).toBe('/approvals/oidc/callback');
    expect(callback.searchParams.get('code')).toBeTruthy();
    const done = await jar.go(callback.toString());
    // The answer hands the browser its binding secret (kept in origin storage by the page's script).
    expect(done.status).toBe(200);
    const bind =
      /<meta name="gatehouse-bind" content="([^"]+)" data-next="([^"]*)" data-start="([^"]*)"/.exec(
        await done.text(),
      );
    expect(bind?.[2]).toBe('/approvals');
    // The script takes it only where it kept that nonce (browser-binding.ts).
    expect(bind?.[3]).toBe(NONCE);
    expect(jar.byOrigin.get(gatewayUrl)!.has('gatehouse_approver')).toBe(true);

    const page = await (
      await jar.go(`${gatewayUrl}/approvals`, { headers: { 'x-gatehouse-bind': bind![1]! } })
    ).text();
    expect(page).toContain(`alice-oidc (${issuer})`);
  });

  it("refuses a callback whose state does not match the browser's login", async () => {
    const jar = new Jar();
    const start = await jar.go(`${gatewayUrl}/approvals/oidc/login?next=/approvals&start=${NONCE}`);
    const auth = new URL(start.headers.get('location')!);
    const callback = await jar.follow(auth.toString(), (u) => u.origin === gatewayUrl);
    callback.searchParams.set('state', 'forged');
    const res = await jar.go(callback.toString());
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('does not match');
    expect(jar.byOrigin.get(gatewayUrl)!.has('gatehouse_approver')).toBe(false);
  });

  it.skipIf(!hasChromium())(
    'signs a person in to the console in a real browser; a sign-in planted from another port is not taken',
    async () => {
      // mallory's program starts a console sign-in as herself and stops at the callback; her server
      // on another port of 127.0.0.1 plants the sign-in's state cookie in the person's browser
      // (cookies know no port) and sends it to that callback.
      const jar = new Jar();
      const start = await jar.go(`${gatewayUrl}/login/oidc?next=/sessions&start=${NONCE}`);
      expect(start.status).toBe(302);
      const callback = await jar.follow(start.headers.get('location')!, (u) => u.origin === gatewayUrl);
      const state = jar.byOrigin.get(gatewayUrl)!.get('gatehouse_console_oidc')!;
      const dev = http.createServer((_req, res) => {
        res.writeHead(302, {
          'set-cookie': `gatehouse_console_oidc=${state}; Path=/login/oidc; HttpOnly; SameSite=Lax`,
          location: callback.toString(),
        });
        res.end();
      });
      await new Promise<void>((r) => dev.listen(0, '127.0.0.1', r));
      const browser = await launchBrowser();
      try {
        const page = await browser.newPage();
        page.setDefaultTimeout(10_000);
        await page.goto(`http://127.0.0.1:${(dev.address() as AddressInfo).port}/`);
        await expect(page.locator('main').textContent()).resolves.toContain('not started in this browser');
        await page.goto(`${gatewayUrl}/sessions`);
        await page.waitForLoadState('networkidle');
        expect(await page.content()).not.toContain('alice-oidc');

        // The person's own sign-in, from the sign-in page.
        await page.goto(`${gatewayUrl}/login`);
        await page.click('a:has-text("Sign in with your identity provider")');
        await page.fill('input[name=login]', 'carol');
        await page.fill('input[name=password]', 'x');
        await page.click('button[type=submit]');
        await page.click('button[type=submit]'); // consent
        await page.waitForURL(`${gatewayUrl}/sessions`);
        await expect(page.locator('header .who').textContent()).resolves.toContain('carol');
      } finally {
        await browser.close();
        await new Promise((r) => dev.close(r));
      }
    },
  );
});
