// The gateway's own login upstream: SCRAM-SHA-256, MD5 and cleartext password authentication, and
// TLS to the upstream with verify-full against a CA bundle (as Amazon RDS needs), against a real
// PostgreSQL started for this test with ssl = on and a certificate from a test CA.

import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startEmbeddedPostgres, type RunningPostgres } from '../src/demo/embedded-postgres.js';
import { freePort } from './testkit/free-port.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-upstream-'));
chmodSync(dir, 0o755);
let server: RunningPostgres;
let caFile: string;
let otherCaFile: string;

async function makeCa(cn: string) {
  return generate([{ name: 'commonName', value: cn }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
}

beforeAll(async () => {
  const ca = await makeCa('Gatehouse Test CA');
  const other = await makeCa('Some Other CA');
  const leaf = await generate([{ name: 'commonName', value: 'db.test' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'db.test' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  caFile = path.join(dir, 'ca.pem');
  otherCaFile = path.join(dir, 'other-ca.pem');
  writeFileSync(caFile, ca.cert);
  writeFileSync(otherCaFile, other.cert);
  const certFile = path.join(dir, 'server.crt');
  const keyFile = path.join(dir, 'server.key');
  writeFileSync(certFile, leaf.cert);
  writeFileSync(keyFile, leaf.private, { mode: 0o600 });
  if (process.getuid?.() === 0) {
    // The server runs as the postgres OS user and insists its key is private to it.
    const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    if (uid > 0) {
      chownSync(keyFile, uid, gid);
      chownSync(certFile, uid, gid);
    }
  }
  server = await startEmbeddedPostgres({
    dataDir: path.join(dir, 'data'),
    port: await freePort(),
    password: 'upstream-super',
    settings: { ssl: 'on', ssl_cert_file: certFile, ssl_key_file: keyFile },
  });
  const admin = new pg.Client({ connectionString: server.url() });
  await admin.connect();
  await admin.query(
    `SET password_encryption = 'scram-sha-256'; CREATE ROLE scram_user LOGIN SUPERUSER PASSWORD 'scram-pw'`,
  );
  await admin.query(
    `SET password_encryption = 'md5'; CREATE ROLE md5_user LOGIN SUPERUSER PASSWORD 'md5-pw'`,
  );
  await admin.query(`CREATE ROLE clear_user LOGIN SUPERUSER PASSWORD 'clear-pw'`);
  const hba = (await admin.query(`SHOW hba_file`)).rows[0].hba_file as string;
  await admin.end();
  writeFileSync(
    hba,
    [
      'host all md5_user 127.0.0.1/32 md5',
      'host all clear_user 127.0.0.1/32 password',
      'hostssl all tls_only 127.0.0.1/32 scram-sha-256',
      'host all all 127.0.0.1/32 scram-sha-256',
      '',
    ].join('\n'),
  );
  const reload = new pg.Client({ connectionString: server.url() });
  await reload.connect();
  await reload.query('SELECT pg_reload_conf()');
  await reload.end();
});

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A gateway whose `app` connection logs into the TLS server as `user` with `password`. */
async function gatewayFor(
  user: string,
  password: string,
  tls?: Record<string, unknown>,
): Promise<TestGateway> {
  const gw = await startTestGateway({ superUrl: inject('pgUrl') });
  const { readFileSync } = await import('node:fs');
  const { parse, stringify } = await import('yaml');
  const cfg = parse(readFileSync(gw.configFile, 'utf8')) as {
    connections: { app: { upstream: Record<string, unknown> } };
  };
  cfg.connections.app.upstream = {
    host: '127.0.0.1',
    port: server.port,
    database: 'postgres',
    user,
    password: { file: 'upstream-password' },
    ...(tls ? { tls } : {}),
  };
  writeFileSync(path.join(gw.dir, 'upstream-password'), `${password}\n`);
  writeFileSync(gw.configFile, stringify(cfg));
  const r = await gw.gateway.reload();
  expect(r).toEqual({ ok: true });
  return gw;
}

async function tryQuery(
  gw: TestGateway,
): Promise<{ ok: true; ssl: boolean } | { ok: false; message: string }> {
  const c = gw.client(await gw.token());
  try {
    await c.connect();
    const r = await c.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    return { ok: true, ssl: r.rows[0].ssl as boolean };
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  } finally {
    await c.end().catch(() => undefined);
  }
}

describe('upstream authentication methods', () => {
  for (const [user, password] of [
    ['scram_user', 'scram-pw'],
    ['md5_user', 'md5-pw'],
    ['clear_user', 'clear-pw'],
  ] as const) {
    it(`logs in with ${user.replace('_user', '')}`, async () => {
      const gw = await gatewayFor(user, password);
      try {
        expect(await tryQuery(gw)).toEqual({ ok: true, ssl: false });
      } finally {
        await gw.stop();
      }
    });
  }

  it('resolves an encrypted password (gatehouse secret encrypt, key from GATEHOUSE_MASTER_KEY)', async () => {
    const { encryptSecret, generateMasterKey, parseMasterKey } = await import('../src/secrets/secret-box.js');
    const key = generateMasterKey();
    process.env.GATEHOUSE_MASTER_KEY = key;
    const gw = await startTestGateway({ superUrl: inject('pgUrl') });
    try {
      const { readFileSync } = await import('node:fs');
      const { parse, stringify } = await import('yaml');
      const cfg = parse(readFileSync(gw.configFile, 'utf8')) as {
        connections: { app: { upstream: Record<string, unknown> } };
      };
      cfg.connections.app.upstream = {
        host: '127.0.0.1',
        port: server.port,
        database: 'postgres',
        user: 'scram_user',
        password: { encrypted: encryptSecret('scram-pw', parseMasterKey(key)) },
      };
      writeFileSync(gw.configFile, stringify(cfg));
      expect(await gw.gateway.reload()).toEqual({ ok: true });
      expect(await tryQuery(gw)).toEqual({ ok: true, ssl: false });
      expect(readFileSync(gw.configFile, 'utf8')).not.toContain('scram-pw');
    } finally {
      delete process.env.GATEHOUSE_MASTER_KEY;
      await gw.stop();
    }
  });

  it('a wrong upstream password is a clear connection error for the client', async () => {
    const gw = await gatewayFor('scram_user', 'wrong');
    try {
      const r = await tryQuery(gw);
      expect(r.ok).toBe(false);
      expect(r.ok ? '' : r.message).toMatch(
        /could not open connection "app".*password authentication failed/,
      );
    } finally {
      await gw.stop();
    }
  });
});

describe('TLS to the upstream', () => {
  it('verify-full with the right CA bundle', async () => {
    const gw = await gatewayFor('scram_user', 'scram-pw', { mode: 'verify-full', ca: caFile });
    try {
      expect(await tryQuery(gw)).toEqual({ ok: true, ssl: true });
    } finally {
      await gw.stop();
    }
  });

  it('verify-full refuses a server whose certificate another CA signed', async () => {
    const gw = await gatewayFor('scram_user', 'scram-pw', { mode: 'verify-full', ca: otherCaFile });
    try {
      const r = await tryQuery(gw);
      expect(r.ok).toBe(false);
      expect(r.ok ? '' : r.message).toMatch(/TLS to upstream failed/);
    } finally {
      await gw.stop();
    }
  });

  it('verify-full checks the host name; verify-ca does not', async () => {
    const full = await gatewayFor('scram_user', 'scram-pw', {
      mode: 'verify-full',
      ca: caFile,
      serverName: 'wrong.example.com',
    });
    try {
      const r = await tryQuery(full);
      expect(r.ok).toBe(false);
      expect(r.ok ? '' : r.message).toMatch(/TLS to upstream failed.*(altnames|Hostname)/i);
    } finally {
      await full.stop();
    }
    const ca = await gatewayFor('scram_user', 'scram-pw', {
      mode: 'verify-ca',
      ca: caFile,
      serverName: 'wrong.example.com',
    });
    try {
      expect(await tryQuery(ca)).toEqual({ ok: true, ssl: true });
    } finally {
      await ca.stop();
    }
  });
});
