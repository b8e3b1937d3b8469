// Writes the demo's gatehouse.yaml: a real config, meant as the starting point for a deployment.
// Credentials are referenced (a file), never inlined.

import { stringify } from 'yaml';
import { defaultAgentPolicies, defaultAwsPolicies } from '../policy/index.js';

export interface DemoConfigInput {
  readonly pgPort: number;
  readonly httpPort: number;
  readonly upstreamPort: number;
  readonly upstreamUser: string;
  readonly upstreamDatabase: string;
  readonly passwordFile: string;
  /** The least-privilege upstream role agents log in as, and its password file. */
  readonly agentUser?: string;
  readonly agentPasswordFile?: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** The local S3-compatible stand-in (docs/aws.md), when the demo runs one. */
  readonly aws?: {
    readonly port: number;
    readonly s3Url: string;
    readonly accessKeyId: string;
    readonly secretFile: string;
  };
}

export const DEMO_CONNECTION = 'demo';
export const DEMO_AWS_CONNECTION = 'aws';
/** Set by `gatehouse demo` to the local S3 server's URL; the generated config refers to it. */
export const DEMO_S3_URL_ENV = 'GATEHOUSE_DEMO_S3_URL';

export function demoConfigYaml(i: DemoConfigInput): string {
  const config = {
    dataDir: '.',
    listeners: {
      postgres: {
        address: `127.0.0.1:${i.pgPort}`,
        tls: { cert: i.certFile, key: i.keyFile },
        requireTls: true,
        authTimeout: '10s',
      },
      http: { address: `127.0.0.1:${i.httpPort}` },
    },
    store: { kind: 'sqlite' },
    identity: {
      oidc: [],
      serviceTokens: { enabled: true, issuer: 'gatehouse', maxTtl: '30d' },
    },
    connections: {
      ...(i.aws
        ? {
            // AWS API calls (docs/aws.md): clients sign with a Gatehouse key pair; the gateway re-signs
            // with the stand-in's own key, which no client ever sees.
            [DEMO_AWS_CONNECTION]: {
              protocol: 'http',
              description: 'Demo AWS account (a local S3-compatible server)',
              listen: `127.0.0.1:${i.aws.port}`,
              auth: {
                type: 'aws-sigv4',
                region: 'us-east-1',
                credentials: { accessKeyId: i.aws.accessKeyId, secretAccessKey: { file: i.aws.secretFile } },
                endpoints: { s3: i.aws.s3Url },
                services: ['s3'],
              },
            },
          }
        : {}),
      [DEMO_CONNECTION]: {
        protocol: 'postgres',
        description: 'Demo shop database (embedded PostgreSQL)',
        upstream: {
          host: '127.0.0.1',
          port: i.upstreamPort,
          database: i.upstreamDatabase,
          user: i.upstreamUser,
          password: { file: i.passwordFile },
          // Agents log in as a role that can read and write rows but owns nothing and is no
          // superuser, so even a classifier bug cannot drop a table (docs/security.md).
          ...(i.agentUser && i.agentPasswordFile
            ? {
                logins: [
                  {
                    subjects: [{ agent: true }, { groups: ['ai-agents'] }],
                    user: i.agentUser,
                    password: { file: i.agentPasswordFile },
                  },
                ],
              }
            : {}),
          tls: { mode: 'disable' },
        },
      },
    },
    // Reviewed statements are held for a human in the `dba` group (docs/approvals.md).
    approvals: {
      // With port 0 (tests) the listener's bound port is used for links instead.
      ...(i.httpPort ? { publicUrl: `http://127.0.0.1:${i.httpPort}` } : {}),
      rules: { default: { approverGroups: ['dba'], holdTimeout: '5m' } },
    },
    // Agents get every result masked (docs/masking.md); the `dba` group sees real values.
    policies: [
      ...defaultAgentPolicies([DEMO_CONNECTION], { mask: true }),
      // On AWS the agent reads (masked), its writes are held for the dba group, and deleting a
      // bucket is refused; alice (dba) has the admin rights.
      ...(i.aws ? defaultAwsPolicies([DEMO_AWS_CONNECTION], { adminGroups: ['dba'], mask: true }) : []),
    ],
    masking: {
      style: 'redact',
      columns: [
        { column: 'public.customers.card_number', style: 'partial', tag: 'card_number' },
        { column: 'public.customers.email', style: 'hash', tag: 'customer_email' },
        { column: 'public.customers.phone', style: 'redact', tag: 'customer_phone' },
        { column: 'public.api_keys.secret', style: 'redact', tag: 'api_secret' },
      ],
    },
  };
  return (
    '# Gatehouse demo configuration, written by `gatehouse demo` when it was not there. Edit it: the\n' +
    '# demo runs from this file, reloads it on SIGHUP or when it changes, and keeps your edits across\n' +
    '# restarts (`gatehouse demo --reset` writes it afresh). Every field: docs/config.md.\n' +
    (i.aws
      ? `# \${${DEMO_S3_URL_ENV}} is the local S3 server's URL, set by the demo at every start.\n`
      : '') +
    stringify(config)
  );
}
