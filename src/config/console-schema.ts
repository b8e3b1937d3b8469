// The `console:` section of gatehouse.yaml: the web console on the HTTP listener (docs/console.md)
// and how people sign in to it (token, OIDC code + PKCE, SAML 2.0). Agents can never sign in.

import { z } from 'zod';

const duration = z
  .union([
    z.number().int().nonnegative(),
    z.string().regex(/^\d+(ms|s|m|h|d)$/, 'a duration like 500ms, 10s, 5m, 8h, 30d'),
  ])
  .describe('milliseconds, or a string such as "10s", "5m", "8h"');

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
function ms(d: number | string): number {
  if (typeof d === 'number') return d;
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(d);
  return m ? Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS] : Number.POSITIVE_INFINITY;
}

const secretRef = z.union([
  z.strictObject({ env: z.string() }),
  z.strictObject({ file: z.string() }),
  z.strictObject({ encrypted: z.string().regex(/^gh1:/, 'a value from `gatehouse secret encrypt`') }),
]);

export const consoleSamlSchema = z
  .strictObject({
    entryPoint: z.url().describe("the identity provider's SSO URL (HTTP-Redirect binding)"),
    idpIssuer: z
      .string()
      .min(1)
      .describe("the identity provider's entity ID; assertions must be issued by it"),
    idpCert: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .describe("PEM file(s) of the identity provider's signing certificate (relative to the config file)"),
    spEntityId: z
      .string()
      .min(1)
      .optional()
      .describe("Gatehouse's entity ID (default <publicUrl>/login/saml/metadata)"),
    audience: z.string().min(1).optional().describe('required Audience (default spEntityId)'),
    groupsAttribute: z.string().default('groups').describe('attribute holding the groups'),
    subjectAttribute: z.string().optional().describe('attribute holding the subject (default the NameID)'),
    personAttribute: z
      .string()
      .optional()
      .describe(
        'attribute naming the person (an e-mail address) behind the sign-in; default the NameID when its format is emailAddress',
      ),
    clockSkew: duration
      .default('60s')
      .refine((d) => ms(d) <= 5 * 60_000, 'clock skew is bounded: at most 5m')
      .describe('tolerated clock difference with the identity provider (at most 5m)'),
    maxAssertionAge: duration.default('5m').describe('refuse assertions issued longer ago than this'),
    sessionTtl: duration
      .default('1h')
      .refine((d) => ms(d) > 0, 'a SAML sign-in must last a while')
      .describe(
        'a SAML sign-in lasts at most this long (and never beyond console.sessionTtl): its groups are what the identity provider said at sign-in, so this bounds how long a group it removed still approves',
      ),
    wantResponseSigned: z
      .boolean()
      .default(false)
      .describe('also require the Response to be signed (assertions must always be signed)'),
  })
  .describe('SAML 2.0 sign-in (Web Browser SSO, signed assertions)');

export const consoleSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('serve the web console at / on the HTTP listener'),
    sessionTtl: duration.default('8h').describe('a console sign-in lasts at most this long'),
    tokenLogin: z
      .boolean()
      .default(true)
      .describe("allow signing in with a person's Gatehouse token (agents' tokens are always refused)"),
    oidc: z
      .strictObject({
        issuer: z.url().describe('one of identity.oidc issuers'),
        clientId: z.string().min(1),
        clientSecret: secretRef.optional(),
        scopes: z.array(z.string()).default(['openid', 'profile', 'email']),
        token: z.enum(['id_token', 'access_token']).default('id_token'),
      })
      .optional()
      .describe('OIDC sign-in (authorization code + PKCE); default approvals.oidc'),
    saml: consoleSamlSchema.optional(),
  })
  .default({ enabled: true, sessionTtl: '8h', tokenLogin: true });

export type ConsoleConfig = z.infer<typeof consoleSchema>;
export type ConsoleSamlConfig = z.infer<typeof consoleSamlSchema>;
