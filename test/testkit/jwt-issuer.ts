// A small OIDC issuer over real HTTP whose keys and claims a test controls: discovery + JWKS, and a
// signer for tokens with any claims (expired, not yet valid, wrong audience, unknown kid…).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export interface TestIssuer {
  readonly url: string;
  sign(claims: JWTPayload, opts?: { kid?: string; key?: CryptoKey }): Promise<string>;
  /** A key that is not published (tokens signed with it have an unknown kid). */
  unpublishedKey(): Promise<{ kid: string; key: CryptoKey }>;
  close(): Promise<void>;
}

export async function startTestIssuer(): Promise<TestIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const kid = 'test-key-1';
  const jwks: JWK[] = [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }];
  const server = http.createServer((req, res) => {
    const send = (body: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/openid-configuration')
      send({ issuer: url, jwks_uri: `${url}/jwks`, id_token_signing_alg_values_supported: ['ES256'] });
    else if (req.url === '/jwks') send({ keys: jwks });
    else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    async sign(claims, opts = {}) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iat: now, exp: now + 600, iss: url, ...claims })
        .setProtectedHeader({ alg: 'ES256', kid: opts.kid ?? kid, typ: 'at+jwt' })
        .sign(opts.key ?? privateKey);
    },
    async unpublishedKey() {
      const k = await generateKeyPair('ES256');
      return { kid: 'never-published', key: k.privateKey };
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}
