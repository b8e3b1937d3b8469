// The gatehouse.yaml schema. Every field is documented in docs/config.md; a JSON Schema for editors
// is generated from this file (`npm run schema` → gatehouse.schema.json).

import { z } from 'zod';
import { policiesSchema, policyDefaultsSchema } from './policy-schema.js';

const duration = z
  .union([z.number().int().nonnegative(), z.string().regex(/^\d+(ms|s|m|h|d)$/, 'a duration like 500ms, 10s, 5m, 8h, 30d')])
  .describe('milliseconds, or a string such as "10s", "5m", "8h"');

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, 'host:port, e.g. 0.0.0.0:15432')
  .describe('host:port to listen on');

/** Where a secret comes from. Exactly one source. The value itself never appears in config output. */
export const secretRefSchema = z.union([
  z.strictObject({ env: z.string().describe('name of an environment variable holding the secret') }),
  z.strictObject({ file: z.string().describe('path of a file holding the secret (trailing newline ignored)') }),
  z.strictObject({
    encrypted: z
      .string()
      .regex(/^gh1:/, 'a value from `gatehouse secret encrypt` (starts with gh1:)')
      .describe('value encrypted with `gatehouse secret encrypt`; key from GATEHOUSE_MASTER_KEY'),
  }),
]);

export const upstreamTlsSchema = z.strictObject({
  mode: z.enum(['disable', 'require', 'verify-ca', 'verify-full']).default('disable'),
  ca: z.string().optional().describe('path of a PEM CA bundle (e.g. the Amazon RDS bundle)'),
  serverName: z.string().optional().describe('name to verify and send as SNI (default: host)'),
});

export const postgresConnectionSchema = z.strictObject({
  protocol: z.literal('postgres'),
  description: z.string().optional(),
  upstream: z.strictObject({
    host: z.string(),
    port: z.number().int().min(1).max(65535).default(5432),
    database: z.string(),
    user: z.string(),
    password: secretRefSchema.optional(),
    tls: upstreamTlsSchema.default({ mode: 'disable' }),
    connectTimeout: duration.default('10s'),
  }),
});

export const connectionSchema = z.discriminatedUnion('protocol', [postgresConnectionSchema]);

export const oidcIssuerSchema = z.strictObject({
  issuer: z.url().describe('issuer URL; discovery at <issuer>/.well-known/openid-configuration'),
  audience: z.union([z.string(), z.array(z.string())]).describe('accepted `aud` value(s)'),
  groupsClaim: z.string().default('groups').describe('claim holding the groups (dot path allowed)'),
  subjectClaim: z.string().default('sub'),
  agentClaim: z
    .strictObject({ claim: z.string(), value: z.union([z.string(), z.boolean()]).default(true) })
    .optional()
    .describe('the principal is an AI agent when this claim equals value'),
  algorithms: z.array(z.string()).default(['RS256', 'PS256', 'ES256', 'EdDSA']),
  clockTolerance: duration.default('30s'),
  jwksUri: z.url().optional().describe('override the JWKS URL found through discovery'),
});

export const configSchema = z.strictObject({
  dataDir: z.string().default('.gatehouse').describe('gateway state: SQLite store, keys, blobs'),
  listeners: z
    .strictObject({
      postgres: z
        .strictObject({
          address: hostPort.default('127.0.0.1:15432'),
          tls: z
            .strictObject({ cert: z.string(), key: z.string() })
            .optional()
            .describe('PEM files for SSLRequest; without it SSLRequest is answered N'),
          requireTls: z.boolean().default(false).describe('refuse non-TLS clients except on loopback'),
          authTimeout: duration.default('10s'),
          idleTimeout: duration.default(0).describe('close sessions idle this long (0: never)'),
          maxMessageBytes: z.number().int().min(1024).default(64 * 1024 * 1024),
          maxConnections: z.number().int().positive().default(2000),
        })
        .optional(),
      http: z
        .strictObject({
          address: hostPort.default('127.0.0.1:8780'),
          publicUrl: z.url().optional().describe('external URL used in links (approval pages)'),
        })
        .optional(),
    })
    .default({}),
  store: z
    .discriminatedUnion('kind', [
      z.strictObject({ kind: z.literal('sqlite'), path: z.string().optional().describe('default <dataDir>/gatehouse.db') }),
      z.strictObject({ kind: z.literal('postgres'), url: secretRefSchema.describe('libpq URL of the shared store') }),
    ])
    .default({ kind: 'sqlite' }),
  identity: z
    .strictObject({
      oidc: z.array(oidcIssuerSchema).default([]),
      serviceTokens: z
        .strictObject({
          enabled: z.boolean().default(true),
          issuer: z.string().default('gatehouse'),
          keyFile: z.string().optional().describe('Ed25519 signing key (PEM); default <dataDir>/keys/token-signing.pem'),
          maxTtl: duration.default('30d'),
        })
        .default({ enabled: true, issuer: 'gatehouse', maxTtl: '30d' }),
    })
    .default({ oidc: [], serviceTokens: { enabled: true, issuer: 'gatehouse', maxTtl: '30d' } }),
  connections: z.record(z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/), connectionSchema).default({}),
  policies: policiesSchema,
  policyDefaults: policyDefaultsSchema,
  api: z
    .strictObject({
      adminGroups: z
        .array(z.string())
        .default(['dba', 'gatehouse-admins'])
        .describe('groups whose non-agent members may read records and manage the gateway over HTTP'),
    })
    .default({ adminGroups: ['dba', 'gatehouse-admins'] }),
  log: z
    .strictObject({ level: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info') })
    .default({ level: 'info' }),
});

export type GatehouseConfig = z.infer<typeof configSchema>;
export type ConnectionConfig = z.infer<typeof connectionSchema>;
export type PostgresConnectionConfig = z.infer<typeof postgresConnectionSchema>;
export type SecretRef = z.infer<typeof secretRefSchema>;
export type OidcIssuerConfig = z.infer<typeof oidcIssuerSchema>;

/** Parses "10s", "5m", 250 … into milliseconds. */
export function toMs(d: number | string): number {
  if (typeof d === 'number') return d;
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(d);
  if (!m) throw new Error(`bad duration ${d}`);
  const n = Number(m[1]);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return n * unit;
}
