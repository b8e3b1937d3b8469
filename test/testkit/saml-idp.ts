// A SAML 2.0 identity provider for tests, on samlify: it reads the console's AuthnRequest (HTTP-
// Redirect) and answers with a signed assertion for the console's ACS (HTTP-POST), which tests can
// then tamper with, wrap or replay. Also serves a tiny sign-in page so a real browser can go through.

import { randomUUID } from 'node:crypto';
import http from 'node:http';
import * as samlify from 'samlify';
import { generate } from 'selfsigned';

// The IdP here only reads requests from the console under test; their schema is not what is tested.
samlify.setSchemaValidator({ validate: () => Promise.resolve('skipped') });

export interface TestIdp {
  readonly url: string;
  readonly entityId: string;
  readonly certPem: string;
  /** A signed SAMLResponse (base64) answering the AuthnRequest in this redirect URL. */
  respond(redirectUrl: string, user: IdpUser): Promise<{ samlResponse: string; relayState?: string }>;
  close(): Promise<void>;
}

export interface IdpUser {
  readonly nameId: string;
  /** The NameID's Format (default unspecified). */
  readonly nameIdFormat?: string;
  /** Extra attributes (name → values) beside `groups`. */
  readonly attributes?: Readonly<Record<string, readonly string[]>>;
  readonly groups: readonly string[];
  /** Override the Recipient (default: the SP's ACS URL). */
  readonly recipient?: string;
  /** Override the Audience (default: the SP's entity ID). */
  readonly audience?: string;
  /** Override the Issuer (default: the IdP's entity ID). */
  readonly issuer?: string;
  /** Seconds the assertion stays valid (negative: already expired). */
  readonly validSeconds?: number;
}

const xmlEscape = (s: string) =>
  s.replace(
    /[<>&"']/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!,
  );

export async function startTestIdp(sp: { entityId: string; acsUrl: string }): Promise<TestIdp> {
  const pems = await generate([{ name: 'commonName', value: 'test-idp' }], {
    keySize: 2048,
    algorithm: 'sha256',
  });
  const server = http.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const url = `http://127.0.0.1:${port}`;
  const entityId = `${url}/metadata`;
  const idp = samlify.IdentityProvider({
    entityID: entityId,
    privateKey: pems.private,
    signingCert: pems.cert,
    isAssertionEncrypted: false,
    wantAuthnRequestsSigned: false,
    singleSignOnService: [
      { Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', Location: `${url}/sso` },
    ],
  });
  const spEntity = samlify.ServiceProvider({
    entityID: sp.entityId,
    wantAssertionsSigned: true,
    assertionConsumerService: [
      { Binding: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST', Location: sp.acsUrl },
    ],
  });

  async function respond(redirectUrl: string, user: IdpUser) {
    const u = new URL(redirectUrl);
    const query = Object.fromEntries(u.searchParams);
    const parsed = await idp.parseLoginRequest(spEntity, 'redirect', { query, octetString: '' });
    const requestId = (parsed.extract as { request: { id: string } }).request.id;
    const res = await idp.createLoginResponse(
      spEntity,
      parsed as never,
      'post',
      {},
      {
        customTagReplacement: (template: string) => {
          const id = `_${randomUUID()}`;
          const now = new Date();
          const until = new Date(now.getTime() + (user.validSeconds ?? 300) * 1000);
          const attribute = (name: string, values: readonly string[]) =>
            `<saml:Attribute Name="${xmlEscape(name)}">${values.map((g) => `<saml:AttributeValue>${xmlEscape(g)}</saml:AttributeValue>`).join('')}</saml:Attribute>`;
          const extra = Object.entries(user.attributes ?? {}).map(([n, v]) => attribute(n, v));
          const attributes = `<saml:AttributeStatement>${attribute('groups', user.groups)}${extra.join('')}</saml:AttributeStatement>`;
          const context = samlify.SamlLib.replaceTagsByValue(
            template.replace('{AttributeStatement}', attributes).replace('{AuthnStatement}', ''),
            {
              ID: id,
              AssertionID: `_${randomUUID()}`,
              Destination: sp.acsUrl,
              Audience: user.audience ?? sp.entityId,
              SubjectRecipient: user.recipient ?? sp.acsUrl,
              Issuer: user.issuer ?? entityId,
              IssueInstant: now.toISOString(),
              StatusCode: 'urn:oasis:names:tc:SAML:2.0:status:Success',
              ConditionsNotBefore: now.toISOString(),
              ConditionsNotOnOrAfter: until.toISOString(),
              SubjectConfirmationDataNotOnOrAfter: until.toISOString(),
              NameIDFormat: user.nameIdFormat ?? 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
              NameID: user.nameId,
              InResponseTo: requestId,
            },
          );
          return { id, context };
        },
      },
    );
    const relayState = u.searchParams.get('RelayState') ?? undefined;
    return { samlResponse: res.context, ...(relayState ? { relayState } : {}) };
  }

  // The browser flow: /sso shows a one-button sign-in page that posts the response to the ACS.
  server.on('request', (req, res) => {
    void (async () => {
      const full = `${url}${req.url ?? '/'}`;
      if (!full.startsWith(`${url}/sso`)) {
        res.writeHead(404).end();
        return;
      }
      const user = { nameId: 'bob', groups: ['dba'] };
      const r = await respond(full, user);
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><html><body><h1>Test IdP</h1><form method="post" action="${xmlEscape(sp.acsUrl)}">
<input type="hidden" name="SAMLResponse" value="${xmlEscape(r.samlResponse)}">
${r.relayState ? `<input type="hidden" name="RelayState" value="${xmlEscape(r.relayState)}">` : ''}
<button type="submit" id="idp-continue">Continue as bob</button></form></body></html>`);
    })().catch((e: unknown) => {
      res.writeHead(500).end(String(e));
    });
  });

  return {
    url,
    entityId,
    certPem: pems.cert,
    respond,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
