// The gatehouse.yaml schema. Every field is documented in docs/config.md; a JSON Schema for editors
// is generated from this file (`npm run schema` → gatehouse.schema.json).

import { z } from 'zod';
import { policiesSchema, policyDefaultsSchema, ruleSchema, subjectsSchema } from './policy-schema.js';
import { maskingSchema } from '../masking/masking-schema.js';
import { consoleSchema } from './console-schema.js';
import { toMs } from './duration.js';
import { personAliasesProblem } from '../approvals/person-aliases.js';

const duration = z
  .union([
    z.number().int().nonnegative(),
    z.string().regex(/^\d+(ms|s|m|h|d)$/, 'a duration like 500ms, 10s, 5m, 8h, 30d'),
  ])
  .describe('milliseconds, or a string such as "10s", "5m", "8h"');

/** A duration that must be longer than nothing (a timeout that cannot be switched off). */
const positiveDuration = duration.refine((d) => toMs(d) > 0, 'a duration longer than 0');

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, 'host:port, e.g. 0.0.0.0:15432')
  .describe('host:port to listen on');

/** Where a secret comes from. Exactly one source. The value itself never appears in config output. */
export const secretRefSchema = z.union([
  z.strictObject({ env: z.string().describe('name of an environment variable holding the secret') }),
  z.strictObject({
    file: z.string().describe('path of a file holding the secret (trailing newline ignored)'),
  }),
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

/** Concurrent sessions on one connection (docs/security.md, fairness); the gate enforces it. */
export const connectionLimitsSchema = z
  .strictObject({
    maxSessions: z
      .number()
      .int()
      .positive()
      .default(50)
      .describe('concurrent sessions on this connection (for postgres: upstream connections)'),
    reservedForPeople: z
      .number()
      .int()
      .nonnegative()
      .default(10)
      .describe('of maxSessions, how many agent principals can never take (so a person can always get in)'),
  })
  .refine((l) => l.reservedForPeople <= l.maxSessions, {
    message: 'reservedForPeople cannot exceed maxSessions',
  })
  .default({ maxSessions: 50, reservedForPeople: 10 });
/**
 * What one client may hold on an HTTP or Kubernetes listener, and for how long
 * (src/engines/http/client-limits.ts; docs/security.md, fairness).
 */
export const clientLimitsSchema = z
  .strictObject({
    requestsPerPrincipal: z
      .number()
      .int()
      .positive()
      .default(32)
      .describe(
        'requests one principal may have in flight at once on this connection (held ones, watches and upgrades included); past it, 429 with Retry-After',
      ),
    bodyTimeout: positiveDuration
      .default('5m')
      .describe(
        "time from a request's start until its body is fully received, not counting time held for approval; past it, 408",
      ),
    headersTimeout: positiveDuration
      .default('20s')
      .describe('time a client has to send a request head; past it, 408 and the socket is closed (restart)'),
    keepAliveTimeout: positiveDuration
      .default('65s')
      .describe('an idle keep-alive client socket is closed after this long (restart)'),
    writeStallTimeout: positiveDuration
      .default('60s')
      .describe(
        'a client socket whose response output has waited this long with no byte of it read is closed, and its upstream request or stream with it (client_stalled); a quiet watch or exec is never cut (new connections)',
      ),
    maxConnections: z
      .number()
      .int()
      .positive()
      .default(1000)
      .describe('client sockets on the listener at once (restart)'),
    unauthenticatedPerAddress: z
      .number()
      .int()
      .positive()
      .default(64)
      .describe('sockets one source address may hold before a request on them authenticates (restart)'),
  })
  .default({
    requestsPerPrincipal: 32,
    bodyTimeout: '5m',
    headersTimeout: '20s',
    keepAliveTimeout: '65s',
    writeStallTimeout: '60s',
    maxConnections: 1000,
    unauthenticatedPerAddress: 64,
  })
  .describe('time and concurrency one client may hold on this listener (docs/security.md)');

/** Reach the upstream through a network-resident agent (docs/agent.md). */
export const viaSchema = z
  .strictObject({
    agent: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'an agent name (`gatehouse agent register NAME`)'),
  })
  .optional()
  .describe('open upstream connections through this agent (docs/agent.md); default: directly');

const unprovenChoice = z.enum(['refuse', 'mask']);
const predicateChoice = z.enum(['allow', 'review', 'deny']);

/** What masking does where column lineage cannot protect a value (docs/masking.md). */
export const connectionMaskingSchema = z
  .strictObject({
    unprovenLineage: z
      .union([
        unprovenChoice.transform((v) => ({ agents: v, people: v })),
        z.strictObject({ agents: unprovenChoice, people: unprovenChoice }),
      ])
      .default({ agents: 'refuse', people: 'mask' })
      .describe(
        "a masked principal's statement whose result columns cannot be traced (a function whose body Gatehouse cannot see, CALL…): refuse it, or mask every such column; one value, or { agents, people }",
      ),
    maskedPredicates: z
      .union([
        predicateChoice.transform((v) => ({ agents: v, people: v })),
        z.strictObject({ agents: predicateChoice, people: predicateChoice }),
      ])
      .default({ agents: 'review', people: 'allow' })
      .describe(
        "a masked principal's statement that filters, joins, groups or sorts on a masked column (an inference channel masking cannot close); one value, or { agents, people }",
      ),
  })
  .default({
    unprovenLineage: { agents: 'refuse', people: 'mask' },
    maskedPredicates: { agents: 'review', people: 'allow' },
  })
  .describe('column lineage choices for masked principals on this connection (docs/masking.md)');

export const postgresConnectionSchema = z.strictObject({
  protocol: z.literal('postgres'),
  description: z.string().optional(),
  limits: connectionLimitsSchema,
  via: viaSchema,
  masking: connectionMaskingSchema,
  readOnlyReads: z
    .enum(['agents', 'everyone', 'off'])
    .default('agents')
    .describe(
      'whose reads run in read-only transactions, so code a SELECT reaches without naming it (a view, an operator, a cast, a domain CHECK) cannot write; Gatehouse opens a read-write transaction itself for a statement admitted as a write (docs/security.md)',
    ),
  agentTransactionTimeout: duration
    .default('15m')
    .describe(
      "longest an agent's transaction may stay open (a block, a batch not yet synced, a single statement; its locks block other sessions meanwhile); past it the session ends with 25P04 and the server rolls the transaction back (0: no bound; docs/security.md, class 100)",
    ),
  upstream: z.strictObject({
    host: z.string(),
    port: z.number().int().min(1).max(65535).default(5432),
    database: z.string(),
    user: z.string(),
    password: secretRefSchema.optional(),
    logins: z
      .array(
        z.strictObject({
          subjects: subjectsSchema.describe('principals who log in upstream as this role (as in a policy)'),
          user: z.string(),
          password: secretRefSchema.optional(),
        }),
      )
      .default([])
      .describe(
        'per-principal upstream logins, first match wins (everyone else logs in as `user`): give agents a least-privilege role',
      ),
    tls: upstreamTlsSchema.default({ mode: 'disable' }),
    connectTimeout: duration.default('10s'),
  }),
});

const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'an HTTP header name');
const awsName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'an AWS region or service signing name, e.g. us-east-1, s3');

/** How the gateway authenticates to an HTTP upstream (docs/aws.md, docs/config.md). Clients never see it. */
export const httpUpstreamAuthSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('none') }),
  z.strictObject({ type: z.literal('bearer'), token: secretRefSchema }),
  z.strictObject({ type: z.literal('basic'), username: z.string().min(1), password: secretRefSchema }),
  z.strictObject({ type: z.literal('header'), name: headerName, value: secretRefSchema }),
  z.strictObject({
    type: z.literal('aws-sigv4'),
    region: awsName.describe('region the gateway signs for and whose endpoints it calls'),
    credentials: z
      .strictObject({
        accessKeyId: z.union([z.string().min(1), secretRefSchema]),
        secretAccessKey: secretRefSchema,
        sessionToken: secretRefSchema.optional(),
      })
      .optional()
      .describe(
        "the gateway's own AWS credentials (default: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN)",
      ),
    assumeRole: z
      .strictObject({
        roleArn: z.string().startsWith('arn:'),
        sessionName: z
          .string()
          .regex(/^[\w+=,.@-]{2,64}$/)
          .default('gatehouse'),
        externalId: z.string().optional(),
        duration: duration.default('1h'),
        stsEndpoint: z.url().optional().describe('default https://sts.<region>.amazonaws.com'),
      })
      .optional()
      .describe('sign with a role assumed through STS using the credentials above'),
    endpoints: z
      .record(awsName, z.url())
      .default({})
      .describe(
        'upstream base URL per service signing name (default https://<service>.<region>.amazonaws.com)',
      ),
    services: z
      .array(awsName)
      .min(1)
      .optional()
      .describe('service signing names clients may call (default: all Gatehouse classifies)'),
  }),
]);

export const httpConnectionSchema = z
  .strictObject({
    protocol: z.literal('http'),
    description: z.string().optional(),
    limits: connectionLimitsSchema,
    via: viaSchema,
    listen: hostPort.describe(
      "address of this connection's own listener (clients point their endpoint here)",
    ),
    listenTls: z
      .strictObject({ cert: z.string(), key: z.string() })
      .optional()
      .describe('PEM certificate and key: the listener speaks HTTPS (default plain HTTP)'),
    upstream: z
      .url()
      .optional()
      .describe('base URL of the upstream API (required unless auth.type is aws-sigv4)'),
    auth: httpUpstreamAuthSchema.default({ type: 'none' }),
    headers: z
      .record(headerName, z.string())
      .default({})
      .describe('extra headers sent upstream on every request'),
    tls: z
      .strictObject({
        ca: z.string().optional().describe('PEM CA bundle for the upstream'),
        rejectUnauthorized: z.boolean().default(true),
      })
      .default({ rejectUnauthorized: true }),
    masking: z
      .strictObject({
        fields: z
          .array(z.string().min(1))
          .optional()
          .describe('JSON keys / XML elements whose values are masked whole (default: the built-in list)'),
        extraFields: z.array(z.string().min(1)).default([]).describe('added to fields'),
        detectors: z
          .union([z.literal('all'), z.array(z.string())])
          .default('all')
          .describe('content detectors'),
        style: z.enum(['redact', 'partial']).default('redact'),
        maxBodyBytes: z
          .number()
          .int()
          .min(1024)
          .default(8 * 1024 * 1024)
          .describe('largest JSON/XML response masked; larger ones are withheld'),
        objectScanMaxBytes: z
          .number()
          .int()
          .min(0)
          .default(1024 * 1024)
          .describe(
            'largest object body (S3 GetObject, non-JSON) scanned when a rule sets mask; larger ones are withheld',
          ),
      })
      .default({
        extraFields: [],
        detectors: 'all',
        style: 'redact',
        maxBodyBytes: 8 * 1024 * 1024,
        objectScanMaxBytes: 1024 * 1024,
      }),
    maxRequestBodyBytes: z
      .number()
      .int()
      .min(1024)
      .default(1024 * 1024)
      .describe(
        'largest request body buffered to classify it (AWS JSON and query protocols, S3 DeleteObjects) or to hold it for approval (any request that needs approval: larger ones get 413)',
      ),
    holdTimeout: duration
      .default('50s')
      .describe('longest a reviewed request is held before a 403; keep it below the client timeout'),
    upstreamTimeout: duration.default('60s').describe('time to wait for the upstream response headers'),
    clientLimits: clientLimitsSchema,
    websockets: z.boolean().default(true).describe('pass WebSocket upgrades through (generic HTTP only)'),
    responseCookies: z
      .enum(['withhold', 'pass'])
      .optional()
      .describe(
        "the upstream's Set-Cookie headers: withheld from every client (the default when Gatehouse adds a credential or headers upstream: a session the upstream opens for a request carrying them is that credential, usable without Gatehouse) or passed (the default with auth none and no headers; still masked for a masked principal)",
      ),
  })
  .superRefine((c, ctx) => {
    if (c.auth.type !== 'aws-sigv4' && c.upstream === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['upstream'],
        message: 'upstream is required unless auth.type is aws-sigv4',
      });
    }
  });

/** How the gateway authenticates to a Kubernetes API server (docs/kubernetes.md). Clients never see it. */
export const kubernetesUpstreamAuthSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('token'),
    token: secretRefSchema.describe('a service-account (or other) bearer token'),
  }),
  z.strictObject({
    type: z.literal('client-certificate'),
    cert: z.string().describe('path of the PEM client certificate'),
    key: secretRefSchema.describe('the PEM private key (file, env or encrypted)'),
  }),
  z.strictObject({
    type: z.literal('eks'),
    cluster: z.string().min(1).describe('EKS cluster name (x-k8s-aws-id)'),
    region: awsName.describe('region of the cluster; tokens are presigned for its STS endpoint'),
    credentials: z
      .strictObject({
        accessKeyId: z.union([z.string().min(1), secretRefSchema]),
        secretAccessKey: secretRefSchema,
        sessionToken: secretRefSchema.optional(),
      })
      .optional()
      .describe(
        "the gateway's own AWS credentials (default: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN)",
      ),
    stsEndpoint: z.url().optional().describe('default https://sts.<region>.amazonaws.com'),
  }),
]);

export const kubernetesConnectionSchema = z.strictObject({
  protocol: z.literal('kubernetes'),
  description: z.string().optional(),
  listen: hostPort.describe("address of this connection's own TLS listener (kubeconfig's server)"),
  listenTls: z
    .strictObject({ cert: z.string(), key: z.string() })
    .describe('PEM certificate and key of the listener: Kubernetes clients send tokens only over TLS'),
  publicUrl: z
    .url()
    .optional()
    .describe('https URL clients reach the listener at (kubeconfig server); default from listen'),
  upstream: z.strictObject({
    server: z.url().describe('the API server, e.g. https://k8s.example.com:6443'),
    ca: z.string().optional().describe('PEM CA bundle of the API server (default: the system CAs)'),
    serverName: z.string().optional().describe('TLS server name to verify (default: the host)'),
  }),
  auth: kubernetesUpstreamAuthSchema,
  masking: z
    .strictObject({
      detectors: z
        .union([z.literal('all'), z.array(z.string())])
        .default('all')
        .describe('content detectors'),
      envNames: z
        .array(z.string().min(1))
        .optional()
        .describe('Pod env variable names whose values are masked whole (default: the sensitive-key list)'),
      maxBodyBytes: z
        .number()
        .int()
        .min(1024)
        .default(16 * 1024 * 1024)
        .describe('largest JSON response masked; larger ones are withheld'),
    })
    .default({ detectors: 'all', maxBodyBytes: 16 * 1024 * 1024 }),
  maxRequestBodyBytes: z
    .number()
    .int()
    .min(1024)
    .default(3 * 1024 * 1024)
    .describe(
      'largest body of a request that needs approval: it is read whole before the approval, shown masked, and bound by its digest (larger: 413)',
    ),
  holdTimeout: duration
    .default('50s')
    .describe('longest a reviewed request is held before a Forbidden; keep it below the client timeout'),
  upstreamTimeout: duration.default('60s').describe('time to wait for the API server response headers'),
  clientLimits: clientLimitsSchema,
  exec: z
    .strictObject({
      recordMaxBytes: z
        .number()
        .int()
        .min(1024)
        .default(8 * 1024 * 1024)
        .describe('largest terminal recording kept per exec session (cut, and marked, past it)'),
    })
    .default({ recordMaxBytes: 8 * 1024 * 1024 }),
});

/** An OpenSSH public key line (`ssh-ed25519 AAAA… comment`); the comment is ignored. */
const sshPublicKeyLine = z
  .string()
  .regex(
    /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/]+={0,3}( .*)?$/,
    'an OpenSSH public key line, e.g. "ssh-ed25519 AAAA…" (`gatehouse ssh keyscan HOST` prints them)',
  );

export const sshConnectionSchema = z.strictObject({
  protocol: z.literal('ssh'),
  description: z.string().optional(),
  limits: connectionLimitsSchema,
  via: viaSchema,
  upstream: z.strictObject({
    host: z.string().min(1).describe('the host or bastion'),
    port: z.number().int().min(1).max(65535).default(22),
    user: z.string().min(1).describe('the user Gatehouse logs in as (clients never choose it)'),
    privateKey: secretRefSchema.describe('the private key Gatehouse holds (OpenSSH or PEM format)'),
    passphrase: secretRefSchema.optional().describe('passphrase of an encrypted private key'),
    hostKeys: z
      .array(sshPublicKeyLine)
      .min(1)
      .describe('pinned host keys of the upstream (any one must match); `gatehouse ssh keyscan` prints them'),
    connectTimeout: duration.default('10s'),
  }),
  env: z
    .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*\*?$/, 'a variable name, optionally ending in *'))
    .default(['LANG', 'LC_*'])
    .describe('environment variables a client may pass (env requests); others are refused'),
  holdTimeout: duration
    .default('5m')
    .describe('longest an exec or shell waits for approval before it is refused'),
  masking: z
    .strictObject({
      detectors: z
        .union([z.literal('all'), z.array(z.string())])
        .default('all')
        .describe('content detectors applied to exec and shell output for masked principals'),
    })
    .default({ detectors: 'all' }),
  recordMaxBytes: z
    .number()
    .int()
    .min(1024)
    .default(8 * 1024 * 1024)
    .describe('largest terminal recording kept per channel (cut, and marked, past it)'),
  idleTimeout: duration.default(0).describe('close sessions with no traffic this long (0: never)'),
});

export const connectionSchema = z.discriminatedUnion('protocol', [
  postgresConnectionSchema,
  httpConnectionSchema,
  kubernetesConnectionSchema,
  sshConnectionSchema,
]);

export const oidcIssuerSchema = z.strictObject({
  issuer: z.url().describe('issuer URL; discovery at <issuer>/.well-known/openid-configuration'),
  audience: z.union([z.string(), z.array(z.string())]).describe('accepted `aud` value(s)'),
  groupsClaim: z.string().default('groups').describe('claim holding the groups (dot path allowed)'),
  subjectClaim: z.string().default('sub'),
  personClaim: z
    .string()
    .optional()
    .describe(
      'claim naming the person behind the token (dot path allowed), trusted as the IdP asserts it; ' +
        'default: `email` when `email_verified` is true. Two identities of one person count as one approver',
    ),
  agentClaim: z
    .strictObject({ claim: z.string(), value: z.union([z.string(), z.boolean()]).default(true) })
    .optional()
    .describe('the principal is an AI agent when this claim equals value'),
  peopleClients: z
    .array(z.string().min(1))
    .min(1)
    .optional()
    .describe(
      "OAuth clients whose tokens carry the person's own authority (e.g. your CLI's client id); a token any other client obtained (an MCP client's) is an agent's. Read from clientClaim, default client_id, azp, cid or appid. The console's and approval page's OIDC clients are added",
    ),
  clientClaim: z
    .string()
    .optional()
    .describe('claim naming the OAuth client a token was issued to (default: client_id, azp, cid, appid)'),
  algorithms: z.array(z.string()).default(['RS256', 'PS256', 'ES256', 'EdDSA']),
  clockTolerance: duration.default('30s'),
  jwksUri: z.url().optional().describe('override the JWKS URL found through discovery'),
});

// ---- approvals: (docs/approvals.md) ----------------------------------------------------------

const approvalName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, 'a name: letters, digits, _ . : -');

const approvalWindowSchema = z
  .strictObject({
    days: z
      .array(z.enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']))
      .min(1)
      .default(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']),
    start: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM (24 h)'),
    end: z.string().regex(/^([01]\d|2[0-4]):[0-5]\d$/, 'HH:MM (24 h; 24:00 for midnight)'),
    timeZone: z.string().default('UTC').describe('IANA time zone, e.g. Europe/Berlin'),
  })
  .describe('a time window in which approvals may be given and deferred approvals used');

export const approvalRuleSchema = z.strictObject({
  approverGroups: z.array(z.string().min(1)).min(1).describe('groups whose (non-agent) members may approve'),
  mode: z
    .enum(['any', 'all'])
    .default('any')
    .describe(
      'any: approvals from any listed group; all: one from each, by a different person for each group',
    ),
  minApprovals: z.number().int().min(1).default(1),
  expiresAfter: duration.default('30m').describe('a pending request expires after this long'),
  holdTimeout: duration.default('5m').describe('a held client waits this long for a decision'),
  grantValidFor: duration
    .default('24h')
    .describe('defer mode: how long an approval counted in uses stays usable'),
  windows: z.array(approvalWindowSchema).min(1).optional().describe('approvals only inside these windows'),
});

export const accessGrantSchema = z.strictObject({
  description: z.string().optional(),
  connections: z.array(z.string().min(1)).min(1).describe('connections the grant elevates ("*" for all)'),
  approval: approvalName.optional().describe('approval rule (default: "default")'),
  maxDuration: duration.default('8h'),
  rules: z
    .array(ruleSchema)
    .min(1)
    .describe("the elevated rules, evaluated with the principal's own policies"),
});

export const approvalsSchema = z
  .strictObject({
    publicUrl: z
      .url()
      .optional()
      .describe('base URL of the approval pages (default listeners.http.publicUrl)'),
    rules: z.record(approvalName, approvalRuleSchema).default({}),
    people: z
      .record(
        z.string().regex(/^(?:[^@\s]+)?@[^@\s]+$/, 'an e-mail address, or @domain'),
        z.array(z.string().regex(/^(?:[^@\s]+)?@[^@\s]+$/, 'an e-mail address, or @domain')).min(1),
      )
      .optional()
      .superRefine((people, ctx) => {
        const problem = people ? personAliasesProblem(people) : undefined;
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .describe(
        'one person under several addresses: person (an e-mail address, or @domain) → their other addresses (or @domains); identities naming any of them are one approver',
      ),
    maxPendingPerPrincipal: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(20)
      .describe(
        'most pending requests one principal may have at once; past it, what needs approval is refused without a new request',
      ),
    maxRequestsPerMinute: z
      .number()
      .int()
      .min(1)
      .max(10_000)
      .default(30)
      .describe(
        'most approval requests one principal may open in any 60 s, withdrawn and decided ones included; past it, what needs approval is refused without a new request',
      ),
    notifiers: z
      .strictObject({
        webhook: z
          .strictObject({
            url: z.url(),
            secret: secretRefSchema.describe('HMAC-SHA-256 key for X-Gatehouse-Signature'),
          })
          .optional(),
        slack: z
          .strictObject({
            webhookUrl: secretRefSchema.describe('Slack incoming webhook URL'),
            signingSecret: secretRefSchema.describe('Slack app signing secret (verifies interactions)'),
            users: z
              .record(
                z.string().min(1),
                z.strictObject({
                  subject: z.string().min(1),
                  issuer: z.string().min(1).describe('issuer of the identity this Slack user acts as'),
                  groups: z.array(z.string()).default([]),
                  person: z
                    .string()
                    .min(1)
                    .optional()
                    .describe(
                      'the person (e-mail address) behind that identity, as its identity provider names them',
                    ),
                }),
              )
              .default({})
              .describe('Slack user id → the approver identity it acts as'),
          })
          .optional(),
        smtp: z
          .strictObject({
            host: z.string(),
            port: z.number().int().min(1).max(65535).default(587),
            tls: z.enum(['none', 'starttls', 'implicit']).default('starttls'),
            user: z.string().optional(),
            password: secretRefSchema.optional(),
            from: z.string().min(3),
            to: z.array(z.string().min(3)).min(1),
          })
          .optional(),
      })
      .default({}),
    grants: z
      .record(approvalName, accessGrantSchema)
      .default({})
      .describe('time-bound access grants (JIT access)'),
    oidc: z
      .strictObject({
        issuer: z.url().describe('one of identity.oidc issuers'),
        clientId: z.string().min(1),
        clientSecret: secretRefSchema.optional(),
        scopes: z.array(z.string()).default(['openid', 'profile', 'email']),
        token: z
          .enum(['id_token', 'access_token'])
          .default('id_token')
          .describe('which token the gateway verifies'),
      })
      .optional()
      .describe('approval page login: OIDC authorization code + PKCE'),
  })
  .optional();

// ---- agents: (docs/agent.md) -------------------------------------------------------------------

export const agentsSchema = z
  .strictObject({
    listen: hostPort.describe('address agents connect to (TLS, or a WebSocket at /agent/v1/tunnel)'),
    tls: z
      .strictObject({ cert: z.string(), key: z.string() })
      .optional()
      .describe('PEM certificate and key of the agent listener; default: generated in <dataDir>/keys'),
    signingKeyFile: z
      .string()
      .optional()
      .describe('Ed25519 key that signs target lists; default <dataDir>/keys/agent-signing.pem'),
    websocket: z.boolean().default(true).describe('also accept agents through a WebSocket upgrade'),
    joinTokenTtl: duration.default('15m').describe('default lifetime of a join token'),
    heartbeatInterval: duration.default('5s'),
    heartbeatTimeout: duration
      .default('15s')
      .describe('an agent connection that misses heartbeats this long is dropped'),
    dialTimeout: duration.default('10s').describe('time for an agent to connect to an upstream'),
    maxStreamsPerAgent: z
      .number()
      .int()
      .min(1)
      .default(512)
      .describe('upstream connections one agent connection carries at most'),
    maxConnectionsPerAgent: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(4)
      .describe(
        'live connections one registered agent may hold to this gateway (a healthy agent holds one); more are refused until one ends',
      ),
    handshakeTimeout: duration
      .default('10s')
      .describe(
        'time from the first byte to an authenticated agent (TLS, WebSocket upgrade, hello), however slowly the bytes come',
      ),
    maxPendingHandshakes: z
      .number()
      .int()
      .min(1)
      .default(128)
      .describe('unauthenticated connections to the agent listener at once'),
    maxPendingHandshakesPerAddress: z
      .number()
      .int()
      .min(1)
      .default(8)
      .describe(
        'unauthenticated connections at once from one source address (IPv6: one /64); raise it when agents come through a NAT, a load balancer or an ingress',
      ),
  })
  .optional();

// ---- mcp: (docs/mcp.md) ------------------------------------------------------------------------

export const mcpSchema = z
  .strictObject({
    enabled: z.boolean().default(true).describe('serve the MCP endpoint (/mcp) on the HTTP listener'),
    resource: z
      .url()
      .optional()
      .describe(
        'canonical URL of the MCP endpoint (RFC 8707 resource); default <listeners.http.publicUrl>/mcp',
      ),
    audience: z
      .union([z.string(), z.array(z.string()).min(1)])
      .optional()
      .describe(
        'OIDC tokens sent to /mcp must also carry one of these aud values; service tokens are accepted as is',
      ),
    scopes: z
      .array(z.string())
      .optional()
      .describe('scopes advertised in the protected resource metadata and 401 challenge'),
    allowedOrigins: z
      .array(z.string())
      .default([])
      .describe("browser origins (besides the resource's own) allowed to call /mcp"),
    maxRows: z.number().int().min(1).max(10_000).default(200).describe('most rows a query tool result shows'),
    idleTimeout: duration
      .default('60s')
      .describe("close a caller's idle loopback PostgreSQL session after this long"),
  })
  .default({ enabled: true, allowedOrigins: [], maxRows: 200, idleTimeout: '60s' });

// ---- recording: (docs/recording.md) ------------------------------------------------------------

const recordingBlobsSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('local'),
    path: z.string().optional().describe('default <dataDir>/blobs'),
  }),
  z.strictObject({
    kind: z.literal('s3'),
    bucket: z.string().min(1),
    prefix: z.string().default('').describe('prepended to every object key, e.g. gatehouse/'),
    region: z.string().default('us-east-1'),
    endpoint: z.url().optional().describe('S3-compatible endpoint (MinIO, s3rver); default AWS'),
    forcePathStyle: z.boolean().optional(),
    accessKeyId: secretRefSchema.optional().describe('default: the AWS SDK credential chain'),
    secretAccessKey: secretRefSchema.optional(),
  }),
]);

const siemQueue = {
  batch: z.number().int().min(1).max(10_000).default(100).describe('events per write or request'),
  maxQueue: z
    .number()
    .int()
    .min(1)
    .default(10_000)
    .describe('events waiting at most; beyond it they are dropped and counted'),
};

export const siemSinkSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('file'),
    path: z.string().describe('JSON Lines appended here'),
    ...siemQueue,
  }),
  z.strictObject({ kind: z.literal('stdout'), ...siemQueue }),
  z.strictObject({
    kind: z.literal('webhook'),
    url: z.url(),
    headers: z
      .record(z.string(), z.union([z.string(), secretRefSchema]))
      .default({})
      .describe('e.g. Authorization: {env: SIEM_TOKEN}'),
    timeout: duration.default('10s'),
    ...siemQueue,
  }),
]);

export const recordingSchema = z
  .strictObject({
    sample: z
      .strictObject({
        rows: z.number().int().min(0).default(100).describe('result rows kept per statement (0: no samples)'),
        bytes: z
          .number()
          .int()
          .min(0)
          .default(65_536)
          .describe('bytes of cells kept per statement (0: no samples)'),
      })
      .default({ rows: 100, bytes: 65_536 }),
    inlineSampleBytes: z
      .number()
      .int()
      .min(0)
      .default(2048)
      .describe('samples larger than this go to the blob store'),
    blobs: recordingBlobsSchema.default({ kind: 'local' }),
    retention: duration
      .default(0)
      .describe('purge sessions that ended longer ago than this (never ended: last active; 0: keep forever)'),
    signingKeyFile: z
      .string()
      .optional()
      .describe('Ed25519 key sealing records; default <dataDir>/keys/record-signing.pem'),
    contextTtl: duration
      .default('12h')
      .describe('a prompt context from POST /api/context is attached this long at most'),
    siem: z
      .array(siemSinkSchema)
      .default([])
      .describe('where every committed event is streamed as JSON Lines'),
  })
  .default({
    sample: { rows: 100, bytes: 65_536 },
    inlineSampleBytes: 2048,
    blobs: { kind: 'local' },
    retention: 0,
    contextTtl: '12h',
    siem: [],
  });

// ---- metrics: and tracing: (docs/operations.md) ------------------------------------------------

export const metricsSchema = z
  .strictObject({
    enabled: z
      .boolean()
      .default(true)
      .describe('serve GET /metrics on the HTTP listener to non-agent members of api.adminGroups'),
    listen: hostPort
      .optional()
      .describe('also serve /metrics on this address without authentication (bind it to a private network)'),
    allowedHosts: z
      .array(z.string().min(1))
      .default([])
      .describe(
        "host names the metrics listener answers besides IP addresses, localhost, listen's and listeners.http.publicUrl's hosts; others get 421 (DNS rebinding)",
      ),
  })
  .default({ enabled: true, allowedHosts: [] });

export const tracingSchema = z
  .strictObject({
    otlpEndpoint: z
      .url()
      .optional()
      .describe('OTLP/HTTP traces URL, e.g. http://otel-collector:4318/v1/traces; no traces without it'),
    serviceName: z.string().min(1).default('gatehouse').describe('service.name of the spans'),
    headers: z
      .record(z.string(), z.union([z.string(), secretRefSchema]))
      .default({})
      .describe('headers sent to the collector, e.g. authorization: {env: OTLP_TOKEN}'),
    sampleRatio: z.number().min(0).max(1).default(1).describe('share of admits traced (0 to 1)'),
  })
  .default({ serviceName: 'gatehouse', headers: {}, sampleRatio: 1 });

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
          writeStallTimeout: positiveDuration
            .default('60s')
            .describe(
              'a client that has read none of the output waiting for it for this long is closed, and its upstream session with it (client_stalled)',
            ),
          maxMessageBytes: z
            .number()
            .int()
            .min(1024)
            .default(64 * 1024 * 1024),
          messageBytesPerPrincipal: z
            .number()
            .int()
            .min(1024)
            .default(256 * 1024 * 1024)
            .describe(
              "bytes of messages one principal's sessions may hold at once, counted together (each message of 64 KiB or more, from its header until it is handled, a statement held for approval included); a message past it ends its session (54000)",
            ),
          maxStatementsPerQuery: z
            .number()
            .int()
            .positive()
            .default(1000)
            .describe(
              'statements one simple Query message may hold; a longer one is refused whole (54000) before any of it is decided or forwarded, and the refusal recorded',
            ),
          parseTimeout: positiveDuration
            .default('10s')
            .describe(
              'a statement longer than 16 Ki characters is parsed on a thread of its own, in turn with other principals; one whose parse takes longer than this is refused (also for MCP queries). Needs a restart',
            ),
          maxConnections: z.number().int().positive().default(2000),
          unauthenticatedPerAddress: z
            .number()
            .int()
            .positive()
            .default(64)
            .describe(
              'connections one source address may hold before they authenticate; past it a new one is refused (53300) before it is read (restart)',
            ),
          maxPreparedStatements: z
            .number()
            .int()
            .positive()
            .default(1000)
            .describe('named prepared statements one session may hold (protocol and SQL PREPARE)'),
          maxPreparedBytes: z
            .number()
            .int()
            .min(1024)
            .default(16 * 1024 * 1024)
            .describe(
              "total text of one session's prepared statements (Parse, SQL PREPARE) and SQL cursors (DECLARE), in bytes",
            ),
          maxPortals: z
            .number()
            .int()
            .positive()
            .default(1000)
            .describe('portals and cursors one session may hold open'),
        })
        .optional(),
      ssh: z
        .strictObject({
          address: hostPort.default('127.0.0.1:2222'),
          hostKeyFile: z
            .string()
            .optional()
            .describe(
              'the listener host key (PEM/OpenSSH); default <dataDir>/keys/ssh-host-ed25519, generated',
            ),
          publicHost: z
            .string()
            .optional()
            .describe('host name agents reach the listener at (`gatehouse ssh config`); default the address'),
          authTimeout: duration.default('30s').describe('time a client has to authenticate'),
          maxConnections: z.number().int().positive().default(1000),
          unauthenticatedPerAddress: z
            .number()
            .int()
            .positive()
            .default(64)
            .describe(
              'connections one source address may hold before they authenticate; past it a new one is closed before it is read (restart)',
            ),
          maxChannels: z
            .number()
            .int()
            .min(1)
            .max(1000)
            .default(10)
            .describe('channels one client connection may hold open at once'),
          writeStallTimeout: positiveDuration
            .default('60s')
            .describe(
              'a client that has read none of the output waiting for it (its socket, or a channel whose window it stopped granting) for this long is closed with its upstream channels (client_stalled)',
            ),
        })
        .optional()
        .describe('the SSH listener (docs/ssh.md); needed by ssh connections'),
      http: z
        .strictObject({
          address: hostPort.default('127.0.0.1:8780'),
          publicUrl: z.url().optional().describe('external URL used in links (approval pages)'),
          allowedHosts: z
            .array(z.string().min(1))
            .default([])
            .describe(
              "host names answered besides IP addresses, localhost, the address's and publicUrl's hosts: exact, *.example.com, or * (any); other Host headers get 421 (DNS rebinding)",
            ),
        })
        .optional(),
    })
    .default({}),
  store: z
    .discriminatedUnion('kind', [
      z.strictObject({
        kind: z.literal('sqlite'),
        path: z.string().optional().describe('default <dataDir>/gatehouse.db'),
        fold: z
          .enum(['thread', 'inline'])
          .optional()
          .describe(
            "who folds the record journal into the record's tables: the event loop (default) or a thread of its own (for a host with a core to spare)",
          ),
      }),
      z.strictObject({
        kind: z.literal('postgres'),
        url: secretRefSchema.describe('libpq URL of the shared store'),
      }),
    ])
    .default({ kind: 'sqlite' }),
  identity: z
    .strictObject({
      oidc: z.array(oidcIssuerSchema).default([]),
      serviceTokens: z
        .strictObject({
          enabled: z.boolean().default(true),
          issuer: z.string().default('gatehouse'),
          keyFile: z
            .string()
            .optional()
            .describe('Ed25519 signing key (PEM); default <dataDir>/keys/token-signing.pem'),
          maxTtl: duration.default('30d'),
        })
        .default({ enabled: true, issuer: 'gatehouse', maxTtl: '30d' }),
    })
    .default({ oidc: [], serviceTokens: { enabled: true, issuer: 'gatehouse', maxTtl: '30d' } }),
  connections: z.record(z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/), connectionSchema).default({}),
  policies: policiesSchema,
  policyDefaults: policyDefaultsSchema,
  limits: z
    .strictObject({
      sessionsPerPrincipal: z
        .number()
        .int()
        .positive()
        .default(20)
        .describe('concurrent sessions one principal may hold across all connections and protocols'),
    })
    .default({ sessionsPerPrincipal: 20 })
    .describe('gateway-wide fairness limits (per connection: connections.<name>.limits)'),
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
  approvals: approvalsSchema.describe('just-in-time approvals (docs/approvals.md); off when absent'),
  mcp: mcpSchema.describe('the built-in MCP server (docs/mcp.md)'),
  console: consoleSchema.describe('the web console and how people sign in to it (docs/console.md)'),
  agents: agentsSchema.describe('network-resident agents (docs/agent.md); off when absent'),
  recording: recordingSchema.describe(
    'session recording, samples, blobs, retention, SIEM export (docs/recording.md)',
  ),
  masking: maskingSchema
    .default(maskingSchema.parse({}))
    .describe(
      'result masking: detectors, styles, column rules, profiles (docs/masking.md); applied where a rule sets mask',
    ),
  metrics: metricsSchema.describe('Prometheus metrics (docs/operations.md)'),
  tracing: tracingSchema.describe(
    'OpenTelemetry traces of the gate steps (docs/operations.md); off by default',
  ),
});

export type GatehouseConfig = z.infer<typeof configSchema>;
export type ConnectionConfig = z.infer<typeof connectionSchema>;
export type PostgresConnectionConfig = z.infer<typeof postgresConnectionSchema>;
export type HttpConnectionConfig = z.infer<typeof httpConnectionSchema>;
export type ClientLimitsConfig = z.infer<typeof clientLimitsSchema>;
export type HttpUpstreamAuthConfig = z.infer<typeof httpUpstreamAuthSchema>;
export type KubernetesConnectionConfig = z.infer<typeof kubernetesConnectionSchema>;
export type SshConnectionConfig = z.infer<typeof sshConnectionSchema>;
export type SecretRef = z.infer<typeof secretRefSchema>;
export type OidcIssuerConfig = z.infer<typeof oidcIssuerSchema>;
export type RecordingConfig = z.infer<typeof recordingSchema>;
export type ApprovalsConfig = NonNullable<z.infer<typeof approvalsSchema>>;
export type ApprovalRuleConfig = z.infer<typeof approvalRuleSchema>;
export type AccessGrantConfig = z.infer<typeof accessGrantSchema>;
export type AgentsConfig = NonNullable<z.infer<typeof agentsSchema>>;

export { toMs } from './duration.js';
