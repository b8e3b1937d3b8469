// TLS on the PostgreSQL listener: SSLRequest upgrades with the configured certificate, requireTls
// refuses plaintext from the network but not from loopback, GSSENCRequest is answered 'N', and a
// client may open with TLS directly (PostgreSQL 17's sslnegotiation=direct, ALPN "postgresql").
// The off-loopback client runs in a network namespace of the test's own (veth pair, private /24).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { encode } from '../src/wire/postgres/index.js';
import { hasCommand, run } from './testkit/commands.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'gatehouse-tls-'));
let cert: string;
let key: string;
let loopbackGw: TestGateway;

const ns = `ghtls${process.pid % 100000}`;
const hostIp = `10.231.${process.pid % 200}.1`;
const nsIp = `10.231.${process.pid % 200}.2`;
const sh = (cmd: string) => spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
const netnsOk =
  process.getuid?.() === 0 &&
  hasCommand('psql') &&
  sh(
    `ip netns add ${ns} && ip link add ${ns}a type veth peer name ${ns}b && ip link set ${ns}b netns ${ns} && ip addr add ${hostIp}/24 dev ${ns}a && ip link set ${ns}a up && ip netns exec ${ns} ip addr add ${nsIp}/24 dev ${ns}b && ip netns exec ${ns} ip link set ${ns}b up && ip netns exec ${ns} ip link set lo up`,
  ).status === 0;

beforeAll(async () => {
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
          { type: 7, ip: hostIp },
        ],
      },
    ],
  });
  cert = path.join(dir, 'gw.crt');
  key = path.join(dir, 'gw.key');
  writeFileSync(cert, pems.cert);
  writeFileSync(key, pems.private);
  loopbackGw = await startTestGateway({
    superUrl: inject('pgUrl'),
    listener: { tls: { cert, key }, requireTls: true },
  });
});

afterAll(async () => {
  await loopbackGw?.stop();
  if (netnsOk) sh(`ip netns del ${ns}; ip link del ${ns}a`);
});

describe('TLS on loopback', () => {
  it('upgrades SSLRequest with the configured certificate (verified by the client)', async () => {
    const c = loopbackGw.client(await loopbackGw.token(), {
      ssl: { ca: readFileSync(cert, 'utf8'), servername: 'localhost' },
    });
    await c.connect();
    expect((await c.query('SELECT 1 AS ok')).rows[0].ok).toBe(1);
    await c.end();
  });

  it('allows plaintext from loopback even when TLS is required', async () => {
    const c = loopbackGw.client(await loopbackGw.token());
    await c.connect();
    await c.end();
  });

  it('accepts direct SSL negotiation (PostgreSQL 17+, ALPN "postgresql") with pg and psql', async () => {
    const token = await loopbackGw.token();
    const c = loopbackGw.client(token, {
      ssl: { ca: readFileSync(cert, 'utf8'), servername: 'localhost' },
      sslnegotiation: 'direct',
    });
    await c.connect();
    const stream = (c as unknown as { connection: { stream: tls.TLSSocket } }).connection.stream;
    expect(stream.alpnProtocol).toBe('postgresql');
    expect((await c.query('SELECT 1 AS ok')).rows[0].ok).toBe(1);
    await c.end();
    // libpq 17+ speaks it too (the psql here may be older: then it does not know the option).
    const v = await run('psql', ['--version']).catch(() => undefined);
    const major = Number(/(\d+)\./.exec(v?.stdout ?? '')?.[1] ?? 0);
    if (major >= 17) {
      const out = await run('psql', [
        `${loopbackGw.url(token)}?sslmode=require&sslnegotiation=direct`,
        '-Atc',
        'SELECT 7',
      ]);
      expect(out.stdout.trim()).toBe('7');
    }
  });

  it('closes a direct TLS handshake without ALPN "postgresql", without a reply', async () => {
    const s = tls.connect({ host: '127.0.0.1', port: loopbackGw.port, rejectUnauthorized: false });
    s.on('error', () => undefined);
    const got: Buffer[] = [];
    s.on('secureConnect', () => s.write(encode.startupMessage({ user: 'x', database: 'app' })));
    s.on('data', (d: Buffer) => got.push(d));
    await new Promise((resolve) => s.on('close', resolve));
    expect(Buffer.concat(got).length).toBe(0);
    expect(loopbackGw.logs.join('')).toContain('direct SSL connection without ALPN');
  });

  it('answers GSSENCRequest with N and carries on', async () => {
    const answer = await new Promise<Buffer>((resolve) => {
      const s = net.connect(loopbackGw.port, '127.0.0.1', () => {
        const gss = Buffer.alloc(8);
        gss.writeInt32BE(8, 0);
        gss.writeInt32BE(80877104, 4);
        s.write(gss);
      });
      let got = Buffer.alloc(0);
      s.on('data', (d) => {
        got = Buffer.concat([got, d]);
        if (got.length === 1) s.write(encode.startupMessage({ user: 'x', database: 'app' }));
        else if (got.length >= 10) {
          s.destroy();
          resolve(got);
        }
      });
    });
    expect(String.fromCharCode(answer[0]!)).toBe('N');
    // Then the startup continues: AuthenticationCleartextPassword ('R', code 3).
    expect(String.fromCharCode(answer[1]!)).toBe('R');
    expect(answer.readInt32BE(6)).toBe(3);
  });
});

describe.skipIf(!netnsOk)('requireTls from another host (network namespace)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({
      superUrl: inject('pgUrl'),
      listener: { address: `${hostIp}:0`, tls: { cert, key }, requireTls: true },
    });
  });
  afterAll(async () => gw?.stop());

  const psql = async (sslmode: string) => {
    const token = await gw.token();
    return run(
      'ip',
      [
        'netns',
        'exec',
        ns,
        'psql',
        '-X',
        '-At',
        '-c',
        'SELECT 42',
        `host=${hostIp} port=${gw.port} user=tester dbname=app sslmode=${sslmode} connect_timeout=5`,
      ],
      {
        env: { PGPASSWORD: token },
      },
    );
  };

  it('refuses a plaintext client off loopback with a clear FATAL', async () => {
    const r = await psql('disable');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/requires TLS/);
  });

  it('accepts the same client over TLS', async () => {
    const r = await psql('require');
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('42');
  });
});
