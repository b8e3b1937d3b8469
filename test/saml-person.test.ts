// The person behind a SAML sign-in (docs/approvals.md, "One person, one vote"): an assertion signed by
// the test IdP (samlify) names a person by an emailAddress-format NameID or by the configured
// attribute, and names nobody otherwise.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryAssertionReplayCache, MemoryRequestIdCache } from '../src/console/saml-caches.js';
import { SamlLogin, type SamlLoginConfig } from '../src/console/saml-login.js';
import { startTestIdp, type IdpUser, type TestIdp } from './testkit/saml-idp.js';

const base = 'http://127.0.0.1:9';
const sp = { entityId: `${base}/login/saml/metadata`, acsUrl: `${base}/login/saml/acs` };
const EMAIL = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
let idp: TestIdp;

beforeAll(async () => {
  idp = await startTestIdp(sp);
});
afterAll(async () => {
  await idp?.close();
});

function login(extra: Partial<SamlLoginConfig> = {}): SamlLogin {
  return new SamlLogin(
    {
      entryPoint: `${idp.url}/sso`,
      idpIssuer: idp.entityId,
      idpCert: idp.certPem,
      spEntityId: sp.entityId,
      audience: sp.entityId,
      acsUrl: sp.acsUrl,
      groupsAttribute: 'groups',
      clockSkewMs: 30_000,
      maxAssertionAgeMs: 300_000,
      wantResponseSigned: false,
      ...extra,
    },
    { replay: new MemoryAssertionReplayCache(100), requests: new MemoryRequestIdCache(60_000, 100) },
  );
}

async function signIn(l: SamlLogin, user: IdpUser) {
  const { samlResponse } = await idp.respond((await l.loginUrl('/')).url, user);
  return l.complete(samlResponse);
}

describe('the person behind a SAML sign-in', () => {
  it('is an emailAddress NameID, lower-cased', async () => {
    const p = await signIn(login(), { nameId: 'Bob@Corp.example', nameIdFormat: EMAIL, groups: ['dba'] });
    expect(p).toMatchObject({ subject: 'Bob@Corp.example', person: 'bob@corp.example' });
  });

  it('is nobody when the NameID is of another format and no attribute is configured', async () => {
    const p = await signIn(login(), { nameId: 'bob@corp.example', groups: ['dba'] });
    expect(p.subject).toBe('bob@corp.example');
    expect(p.person).toBeUndefined();
  });

  it('is the configured attribute when one is configured', async () => {
    const l = login({ personAttribute: 'mail' });
    const p = await signIn(l, {
      nameId: 'u-4711',
      groups: ['dba'],
      attributes: { mail: ['Bob@Corp.example'] },
    });
    expect(p).toMatchObject({ subject: 'u-4711', person: 'bob@corp.example' });
    // Configured, the attribute alone counts: an e-mail NameID without it names nobody.
    const q = await signIn(l, { nameId: 'bob@corp.example', nameIdFormat: EMAIL, groups: ['dba'] });
    expect(q.person).toBeUndefined();
  });
});
