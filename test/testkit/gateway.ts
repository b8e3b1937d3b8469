// Starts a real Gatehouse in-process in front of the test PostgreSQL, with a config written to a
// temp dir, a dedicated upstream role whose password only the gateway holds, and captured logs.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import pino from 'pino';
import { stringify } from 'yaml';
import { loadConfig } from '../../src/config/load-config.js';
import type { PolicyConfig } from '../../src/config/policy-schema.js';
import type { Logger } from '../../src/core/ports.js';
import { startGateway, type Gateway } from '../../src/main.js';
import { createTestDatabase } from './databases.js';

export interface TestGatewayOptions {
  readonly superUrl: string;
  /** Policies; default: everyone in `testers` may do anything on `app`. */
  readonly policies?: PolicyConfig[];
  /** Extra listener settings for listeners.postgres. */
  readonly listener?: Record<string, unknown>;
  /** Extra top-level config merged in. */
  readonly extra?: Record<string, unknown>;
  /** SQL run as superuser in the new database before the gateway starts. */
  readonly setupSql?: string;
  /** Options of the test database's CREATE DATABASE (`ENCODING 'LATIN1' … TEMPLATE template0`). */
  readonly databaseOptions?: string;
  readonly connectionName?: string;
  readonly upstreamTls?: Record<string, unknown>;
  /** Extra fields of the connection (e.g. `via: { agent: NAME }`). */
  readonly connectionExtra?: Record<string, unknown>;
  /** Upstream host/port instead of the test PostgreSQL's. */
  readonly upstreamAddress?: { host: string; port: number };
  /** Reload when the config file changes (as `gatehouse start` does). */
  readonly watchConfig?: boolean;
}

export interface TestGateway {
  readonly gateway: Gateway;
  readonly port: number;
  readonly dir: string;
  readonly database: string;
  /** Superuser URL of the upstream database (direct access, for assertions). */
  readonly directUrl: string;
  readonly upstreamPassword: string;
  readonly connection: string;
  readonly logs: string[];
  /** The config file the gateway was started from. */
  readonly configFile: string;
  token(opts?: {
    subject?: string;
    groups?: string[];
    agent?: boolean;
    ttlMs?: number;
    person?: string;
  }): Promise<string>;
  /** `pg` client config for the gateway with this token. */
  client(token: string, extra?: Partial<pg.ClientConfig>): pg.Client;
  url(token: string, user?: string): string;
  stop(): Promise<void>;
}

export const ALLOW_ALL: PolicyConfig[] = [
  {
    id: 'testers-all',
    subjects: { groups: ['testers'] },
    connections: ['*'],
    rules: [{ id: 'allow-everything', effect: 'allow', match: {} }],
  },
];

export function memoryLogger(lines: string[]): Logger {
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString('utf8'));
      cb();
    },
  });
  return pino({ level: 'debug' }, stream);
}

export async function startTestGateway(options: TestGatewayOptions): Promise<TestGateway> {
  const db = await createTestDatabase(options.superUrl, 'gw', options.databaseOptions);
  const role = `gh_up_${randomBytes(4).toString('hex')}`;
  const upstreamPassword = `UpPw-${randomBytes(12).toString('hex')}`;
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  try {
    await admin.query(`CREATE ROLE ${role} LOGIN SUPERUSER PASSWORD '${upstreamPassword}'`);
    if (options.setupSql) await admin.query(options.setupSql);
  } finally {
    await admin.end();
  }
  const su = new URL(options.superUrl);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-gw-'));
  writeFileSync(path.join(dir, 'upstream-password'), `${upstreamPassword}\n`, { mode: 0o600 });
  const connection = options.connectionName ?? 'app';
  const config = {
    dataDir: '.',
    log: { level: 'debug' },
    listeners: { postgres: { address: '127.0.0.1:0', ...options.listener } },
    connections: {
      [connection]: {
        protocol: 'postgres',
        ...options.connectionExtra,
        upstream: {
          host: options.upstreamAddress?.host ?? su.hostname,
          port: options.upstreamAddress?.port ?? Number(su.port || 5432),
          database: db.name,
          user: role,
          password: { file: 'upstream-password' },
          ...(options.upstreamTls ? { tls: options.upstreamTls } : {}),
        },
      },
    },
    policies: options.policies ?? ALLOW_ALL,
    ...options.extra,
  };
  const file = path.join(dir, 'gatehouse.yaml');
  writeFileSync(file, stringify(config));
  const logs: string[] = [];
  const gateway = await startGateway(await loadConfig(file), {
    logger: memoryLogger(logs),
    ...(options.watchConfig ? { watchConfig: true } : {}),
  });
  const port = gateway.postgres!.port;
  const url = (token: string, user = 'tester') =>
    `postgresql://${user}:${encodeURIComponent(token)}@127.0.0.1:${port}/${connection}`;
  return {
    gateway,
    port,
    dir,
    database: db.name,
    directUrl: db.url,
    upstreamPassword,
    connection,
    logs,
    configFile: file,
    async token(o = {}) {
      const issued = await gateway.identity.issuer!.issue({
        subject: o.subject ?? 'tester',
        groups: o.groups ?? ['testers'],
        agent: o.agent ?? false,
        ttlMs: o.ttlMs ?? 3_600_000,
        ...(o.person !== undefined ? { person: o.person } : {}),
      });
      return issued.token;
    },
    client(token, extra = {}) {
      return new pg.Client({
        host: '127.0.0.1',
        port,
        user: 'tester',
        password: token,
        database: connection,
        ...extra,
      });
    },
    url,
    async stop() {
      await gateway.stop();
      await db.drop().catch(() => undefined);
      // Roles are the cluster's, not the database's: on a shared server (PG_TEST_URL, the machine's
      // PostgreSQL 15) the upstream superuser would outlive the test.
      await dropRole(options.superUrl, role).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function dropRole(superUrl: string, role: string): Promise<void> {
  const c = new pg.Client({ connectionString: superUrl });
  await c.connect();
  try {
    await c.query(`DROP ROLE IF EXISTS ${role}`);
  } finally {
    await c.end();
  }
}
