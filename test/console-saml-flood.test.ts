// SAML sign-ins in flight were kept on the gateway (the AuthnRequest's ID for the InResponseTo check,
// and the browser that started it), 10,000 at most, the oldest forgotten first. `/login/saml` is
// anyone's to ask for, so a client with no credential at all could start sign-ins without end and
// push out every person's sign-in in flight: their IdP's answer came back to a gateway that no longer
// knew the request ("this browser did not start that sign-in"). A sign-in in flight is now carried by
// the browser that started it (its cookie) and the request's own ID, both MACed by the gateway, so
// there is nothing to push out.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from './testkit/free-port.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { startTestIdp, type TestIdp } from './testkit/saml-idp.js';

let gw: TestGateway;
let idp: TestIdp;
let base: string;
let certDir: string;

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  idp = await startTestIdp({ entityId: `${base}/login/saml/metadata`, acsUrl: `${base}/login/saml/acs` });
  certDir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-saml-flood-'));
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
    },
  });
}, 120_000);

afterAll(async () => {
  await gw?.stop();
  await idp?.close();
  if (certDir) rmSync(certDir, { recursive: true, force: true });
});

const START = 'nonce-of-alices-browser-000000001';

describe('SAML sign-ins in flight', () => {
  it('are not pushed out by a client that starts 10,000 sign-ins without a credential', async () => {
    // Alice starts signing in; her browser goes to the IdP.
    const begin = await fetch(`${base}/login/saml?next=%2Finbox&start=${START}`, { redirect: 'manual' });
    expect(begin.status).toBe(302);
    const pending = begin.headers
      .getSetCookie()
      .find((c) => c.startsWith('gatehouse_console_saml='))!
      .split(';')[0]!;

    // Meanwhile a client with no credential starts sign-ins, 32 at a time.
    let next = 0;
    const worker = async () => {
      while (next < 10_050) {
        next++;
        const r = await fetch(`${base}/login/saml?start=nonce-of-a-flooding-program-01`, {
          redirect: 'manual',
        });
        await r.arrayBuffer();
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));

    // Alice signs in at the IdP; its answer comes back to the gateway, and her browser collects it.
    const { samlResponse } = await idp.respond(begin.headers.get('location')!, {
      nameId: 'alice',
      groups: ['dba'],
    });
    const acs = await fetch(`${base}/login/saml/acs`, {
      method: 'POST',
      body: new URLSearchParams({ SAMLResponse: samlResponse, RelayState: '/inbox' }),
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'null' },
    });
    const acsBody = await acs.text();
    const refusal = (body: string) => /SAML sign-in refused[^<]*/.exec(body)?.[0] ?? body.slice(0, 200);
    expect(acs.status, `the flood pushed out Alice's sign-in: ${refusal(acsBody)}`).toBe(200);
    const code = /\/login\/saml\/finish\?code=([A-Za-z0-9_-]+)/.exec(acsBody)![1];
    const fin = await fetch(`${base}/login/saml/finish?code=${code}`, {
      headers: { cookie: pending },
      redirect: 'manual',
    });
    const finBody = await fin.text();
    expect(fin.status, `the flood pushed out Alice's sign-in: ${refusal(finBody)}`).toBe(200);
    expect(finBody).toContain(`data-start="${START}"`);
    expect(fin.headers.getSetCookie().some((c) => c.startsWith('gatehouse_console='))).toBe(true);
  }, 240_000);
});
