// A SAML console sign-in carries the groups the identity provider asserted at sign-in, and nothing
// re-checks them later (there is no token to re-verify): it lasts at most console.saml.sessionTtl,
// so a group the IdP removed stops approving then, not after console.sessionTtl (docs/security.md,
// class 145).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from './testkit/free-port.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { startTestIdp, type IdpUser, type TestIdp } from './testkit/saml-idp.js';

let gw: TestGateway;
let idp: TestIdp;
let base: string;
let certDir: string;

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  idp = await startTestIdp({ entityId: `${base}/login/saml/metadata`, acsUrl: `${base}/login/saml/acs` });
  certDir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-saml-groups-'));
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
        sessionTtl: '8h',
        saml: { entryPoint: `${idp.url}/sso`, idpIssuer: idp.entityId, idpCert: certFile, sessionTtl: '3s' },
      },
    },
  });
}, 120_000);

afterAll(async () => {
  await gw?.stop();
  await idp?.close();
  if (certDir) rmSync(certDir, { recursive: true, force: true });
});

/** The whole SAML sign-in as one browser does it; its session cookie, Max-Age and binding secret. */
async function signIn(user: IdpUser): Promise<{ cookie: string; maxAge: number; bind: string }> {
  const begin = await fetch(`${base}/login/saml?next=%2Finbox&start=nonce-of-this-test-browser-00001`, {
    redirect: 'manual',
  });
  expect(begin.status).toBe(302);
  const pending = begin.headers
    .getSetCookie()
    .find((c) => c.startsWith('gatehouse_console_saml='))!
    .split(';')[0]!;
  const { samlResponse } = await idp.respond(begin.headers.get('location')!, user);
  const acs = await fetch(`${base}/login/saml/acs`, {
    method: 'POST',
    body: new URLSearchParams({ SAMLResponse: samlResponse, RelayState: '/inbox' }),
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'null' },
  });
  const code = /\/login\/saml\/finish\?code=([A-Za-z0-9_-]+)/.exec(await acs.text())![1];
  const fin = await fetch(`${base}/login/saml/finish?code=${code}`, {
    headers: { cookie: pending },
    redirect: 'manual',
  });
  expect(fin.status).toBe(200);
  const set = fin.headers.getSetCookie().find((c) => c.startsWith('gatehouse_console='))!;
  const bind = /<meta name="gatehouse-bind" content="([^"]+)"/.exec(await fin.text())![1]!;
  return {
    cookie: set.split(';')[0]!,
    maxAge: Number(/Max-Age=(\d+)/i.exec(set)![1]),
    bind,
  };
}

const inbox = (s: { cookie: string; bind: string }) =>
  fetch(`${base}/inbox`, { headers: { cookie: s.cookie, 'x-gatehouse-bind': s.bind }, redirect: 'manual' });

describe('SAML console sign-ins and the groups they carry', () => {
  it('end after console.saml.sessionTtl, not console.sessionTtl', async () => {
    const alice = await signIn({ nameId: 'alice', groups: ['dba'] });
    // The cookie and the session both end at the SAML bound (3 s), not in 8 h.
    expect(alice.maxAge).toBeLessThanOrEqual(3);
    const now = await inbox(alice);
    expect(now.status).toBe(200);
    expect(await now.text()).toContain('alice');
    // The IdP has since removed alice from dba; her sign-in, carrying dba, must not outlive the bound.
    await new Promise((r) => setTimeout(r, 3_500));
    const later = await inbox(alice);
    expect(later.status).toBe(303);
    expect(later.headers.get('location')).toMatch(/^\/login\?/);
    // Signing in again reads her groups afresh from the IdP.
    const again = await signIn({ nameId: 'alice', groups: [] });
    const page = await inbox(again);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('alice');
  });
});
