// Refusals before authentication through real listeners and clients (docs/operations.md, "Refusals
// before authentication"): the pg client with wrong passwords, raw HTTP with bad or no bearer tokens
// on a connection listener, on the API and on /mcp, an AWS body too large to check its signature and
// an unknown AWS key, kubectl with a junk and a forged token, a request head that never finishes, sockets past a
// connection cap and past the per-address cap; OpenSSH with a key nobody registered and with a wrong
// token. Each is read back from the real /metrics of the
// separate metrics listener as gatehouse_preauth_refusals_total{listener,reason}; the log has the
// first 5 of each listener and reason, then one summary line with the count not logged; and no
// password or token presented appears anywhere in the log.

import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultSshPolicies } from '../src/policy/index.js';
import { run } from './testkit/commands.js';
import { startTestGateway, type TestGateway } from './testkit/gateway.js';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';
import { startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';
import { parsePrometheusText } from './testkit/prometheus-text.js';
import { hasSshd, startSshd, type TestSshd } from './testkit/sshd.js';
import { startSshTestGateway, type SshTestGateway } from './testkit/ssh-gateway.js';

const METRIC = 'gatehouse_preauth_refusals_total';

async function refusals(port: number, listener: string, reason: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  return parsePrometheusText(await res.text()).value(METRIC, { listener, reason });
}

interface Line {
  msg?: string;
  listener?: string;
  reason?: string;
  source?: string;
  suppressed?: number;
}
const lines = (logs: string[]): Line[] =>
  logs
    .join('')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Line);
const refusalLines = (logs: string[], listener: string, reason: string) =>
  lines(logs).filter(
    (l) => l.msg === 'refused before authentication' && l.listener === listener && l.reason === reason,
  );
const summaries = (logs: string[], listener: string, reason: string) =>
  lines(logs).filter((l) => l.suppressed !== undefined && l.listener === listener && l.reason === reason);

/** A real token with its signature altered: well formed, from the right issuer, not ours. */
function tampered(token: string, i: number): string {
  const [h, p, s] = token.split('.');
  const c = s![5] === 'A' ? 'B' : 'A';
  return `${h}.${p}.${s!.slice(0, 5)}${c}${s!.slice(6, -2)}${String(i)
    .padStart(2, '0')
    .replace(/\d/g, (d) => 'QRSTUVWXYZ'[Number(d)]!)}`;
}

/** Sends `head` on a raw socket and resolves with what came back once the gateway closes it. */
function raw(port: number, head: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(head));
    let text = '';
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(text));
  });
}

function get(port: number, path: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });
}

describe('refusals before authentication on the PostgreSQL listener and the API', () => {
  let gw: TestGateway;
  let metricsPort: number;
  const presented: string[] = [];

  beforeAll(async () => {
    gw = await startTestGateway({
      superUrl: inject('pgUrl'),
      extra: {
        listeners: { postgres: { address: '127.0.0.1:0' }, http: { address: '127.0.0.1:0' } },
        metrics: { enabled: true, listen: '127.0.0.1:0' },
      },
    });
    metricsPort = gw.gateway.metricsListener!.port;
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('counts each wrong pg password, logs the first 5 and never the password', async () => {
    for (let i = 0; i < 8; i++) {
      const password = `Sup3r-Secret-Password-${i}-${Math.random().toString(36).slice(2)}`;
      presented.push(password);
      const c = gw.client(password);
      await expect(c.connect()).rejects.toThrow(/token is not a JWT/);
      await c.end().catch(() => undefined);
    }
    const real = await gw.token();
    for (let i = 0; i < 2; i++) {
      const forged = tampered(real, i);
      presented.push(forged, forged.split('.')[2]!);
      const c = gw.client(forged);
      await expect(c.connect()).rejects.toThrow(/token signature invalid/);
      await c.end().catch(() => undefined);
    }
    expect(await refusals(metricsPort, 'postgres', 'credentials_malformed')).toBe(8);
    expect(await refusals(metricsPort, 'postgres', 'credentials_unknown')).toBe(2);
    expect(refusalLines(gw.logs, 'postgres', 'credentials_malformed')).toHaveLength(5);
    expect(refusalLines(gw.logs, 'postgres', 'credentials_unknown')).toHaveLength(2);
    for (const l of refusalLines(gw.logs, 'postgres', 'credentials_malformed'))
      expect(l.source).toBe('127.0.0.1');
    // The per-event 'session refused' line is not written for a refused token any more.
    expect(lines(gw.logs).filter((l) => l.msg === 'session refused')).toHaveLength(0);
  });

  it('counts a bad and a missing bearer token on the API and on /mcp', async () => {
    const port = gw.gateway.http!.port;
    const bad = `not-a-jwt-${Math.random().toString(36).slice(2)}-SECRET`;
    presented.push(bad);
    expect(await get(port, '/api/sessions', { authorization: `Bearer ${bad}` })).toBe(401);
    expect(await get(port, '/api/sessions', {})).toBe(401);
    expect(await get(port, '/metrics', { authorization: `Bearer ${bad}` })).toBe(401);
    expect(await refusals(metricsPort, 'api', 'credentials_malformed')).toBe(2);
    expect(await refusals(metricsPort, 'api', 'credentials_missing')).toBe(1);
    // The MCP endpoint on the same listener counts under its own listener kind.
    const mcp = await fetch(`http://127.0.0.1:${port}/mcp`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bad}`, 'content-type': 'application/json' },
      body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}',
    });
    expect(mcp.status).toBe(401);
    expect(await refusals(metricsPort, 'mcp', 'credentials_malformed')).toBe(1);
  });

  it('writes the summary of a window when the gateway stops, and no secret presented is in the log', async () => {
    await gw.stop();
    const s = summaries(gw.logs, 'postgres', 'credentials_malformed');
    expect(s).toHaveLength(1);
    expect(s[0]!.suppressed).toBe(3);
    expect(summaries(gw.logs, 'postgres', 'credentials_unknown')).toHaveLength(0);
    const all = gw.logs.join('');
    expect(presented.length).toBeGreaterThan(10);
    for (const secret of presented) expect(all).not.toContain(secret);
  });
});

describe('refusals before authentication on an AWS connection listener', () => {
  let gw: HttpTestGateway;
  let metricsPort: number;

  beforeAll(async () => {
    gw = await startHttpTestGateway({
      env: { ...process.env, GW_PREAUTH_AWS_SECRET: 'NotUsedUpstreamSecret000000000000000000' },
      connections: {
        aws: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          maxRequestBodyBytes: 1024,
          auth: {
            type: 'aws-sigv4',
            region: 'us-east-1',
            credentials: {
              accessKeyId: 'AKIAPREAUTHUPSTREAM1',
              secretAccessKey: { env: 'GW_PREAUTH_AWS_SECRET' },
            },
            // Nothing here is ever reached: every request below is refused before its signature is checked.
            endpoints: { dynamodb: 'http://127.0.0.1:9' },
          },
        },
      },
      policies: [
        {
          id: 'all',
          subjects: { agent: true },
          connections: ['*'],
          rules: [{ id: 'allow', effect: 'allow', match: {} }],
        },
      ],
      extra: { metrics: { enabled: true, listen: '127.0.0.1:0' } },
    });
    metricsPort = gw.gateway.metricsListener!.port;
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('counts a body too large to check its signature, and an unknown key, without the key id in the log', async () => {
    const key = await gw.awsKey({ subject: 'claude', agent: true });
    const ddb = (credentials: { accessKeyId: string; secretAccessKey: string }) =>
      new DynamoDBClient({ endpoint: gw.endpoint('aws'), region: 'us-east-1', credentials, maxAttempts: 1 });
    const big = new PutItemCommand({ TableName: 't', Item: { k: { S: 'x'.repeat(4096) } } });
    const a = ddb(key);
    try {
      await expect(a.send(big)).rejects.toThrow();
    } finally {
      a.destroy();
    }
    const unknown = { accessKeyId: 'GHAKNOBODYISSUEDTHIS00', secretAccessKey: 'x'.repeat(40) };
    const b = ddb(unknown);
    try {
      await expect(b.send(new PutItemCommand({ TableName: 't', Item: { k: { S: 'x' } } }))).rejects.toThrow();
    } finally {
      b.destroy();
    }
    expect(await refusals(metricsPort, 'aws', 'body_unread')).toBe(1);
    expect(await refusals(metricsPort, 'aws', 'credentials_unknown')).toBe(1);
    expect(refusalLines(gw.logs, 'aws', 'body_unread')).toHaveLength(1);
    // The key id was not verified: a client could name any to fill the log. Neither is in it.
    const all = gw.logs.join('');
    expect(all).not.toContain(key.accessKeyId);
    expect(all).not.toContain(unknown.accessKeyId);
    expect(all).not.toContain(key.secretAccessKey);
  });
});

describe('refusals before authentication on a Kubernetes connection listener', () => {
  let api: FakeKubeApi;
  let gw: KubeTestGateway;

  beforeAll(async () => {
    api = await startFakeKubeApi();
    gw = await startKubeTestGateway({
      api,
      policies: [
        {
          id: 'all',
          subjects: { agent: true },
          connections: ['*'],
          rules: [{ id: 'allow', effect: 'allow', match: {} }],
        },
      ],
      extra: { metrics: { enabled: true, listen: '127.0.0.1:0' } },
    });
  });
  afterAll(async () => {
    await gw?.stop();
    await api?.close();
  });

  it('counts kubectl with a token that is no token and with a forged one, neither in the log', async () => {
    const metricsPort = gw.gateway.metricsListener!.port;
    const junk = `not-a-jwt-${Math.random().toString(36).slice(2)}-SECRET`;
    const forged = tampered(await gw.token(), 3);
    // `get --raw` sends one request (no discovery, which kubectl retries with back-off for ~20 s).
    for (const token of [junk, forged]) {
      const r = await gw.kubectl(token, [
        'get',
        '--raw',
        '/api/v1/namespaces/default/pods',
        '--request-timeout=10s',
      ]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/Unauthorized|logged in/);
    }
    expect(await refusals(metricsPort, 'kubernetes', 'credentials_malformed')).toBeGreaterThanOrEqual(1);
    expect(await refusals(metricsPort, 'kubernetes', 'credentials_unknown')).toBeGreaterThanOrEqual(1);
    expect(refusalLines(gw.logs, 'kubernetes', 'credentials_malformed').length).toBeGreaterThanOrEqual(1);
    const all = gw.logs.join('');
    expect(all).not.toContain(junk);
    expect(all).not.toContain(forged.split('.')[2]!);
  });
});

describe('refusals before authentication on an HTTP connection listener', () => {
  let up: http.Server;
  let gw: HttpTestGateway;
  let metricsPort: number;
  const port = (name: string) => Number(new URL(gw.endpoint(name)).port);

  beforeAll(async () => {
    up = http.createServer((_req, res) => res.end('{}'));
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
    const upstream = `http://127.0.0.1:${(up.address() as net.AddressInfo).port}`;
    gw = await startHttpTestGateway({
      connections: {
        web: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          upstream,
          clientLimits: { headersTimeout: '300ms', unauthenticatedPerAddress: 2 },
        },
        capped: {
          protocol: 'http',
          listen: '127.0.0.1:0',
          upstream,
          clientLimits: { maxConnections: 1 },
        },
      },
      policies: [
        {
          id: 'all',
          subjects: { groups: ['testers'] },
          connections: ['*'],
          rules: [{ id: 'allow', effect: 'allow', match: {} }],
        },
      ],
      extra: { metrics: { enabled: true, listen: '127.0.0.1:0' } },
    });
    metricsPort = gw.gateway.metricsListener!.port;
  });
  afterAll(async () => {
    await gw?.stop();
    up?.closeAllConnections();
    await new Promise((r) => up?.close(r));
  });

  it('counts bad and missing bearer tokens, without the token in the log', async () => {
    const real = await gw.token({ groups: ['testers'] });
    const forged = tampered(real, 7);
    expect(await get(port('web'), '/x', { authorization: `Bearer ${forged}` })).toBe(401);
    expect(await get(port('web'), '/x', {})).toBe(401);
    expect(await refusals(metricsPort, 'http', 'credentials_unknown')).toBe(1);
    expect(await refusals(metricsPort, 'http', 'credentials_missing')).toBe(1);
    expect(refusalLines(gw.logs, 'http', 'credentials_unknown')).toHaveLength(1);
    expect(gw.logs.join('')).not.toContain(forged.split('.')[2]!);
  });

  it('counts a request head that does not arrive within headersTimeout', async () => {
    const answer = await raw(port('web'), 'GET /x HTTP/1.1\r\nhost: x\r\n');
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(await refusals(metricsPort, 'http', 'header_timeout')).toBe(1);
    expect(refusalLines(gw.logs, 'http', 'header_timeout')).toHaveLength(1);
  });

  it('counts a socket past the per-address cap and one past the listener cap', async () => {
    const open = (p: number) =>
      new Promise<net.Socket>((resolve) => {
        const s = net.connect(p, '127.0.0.1', () => resolve(s));
        s.on('error', () => undefined);
      });
    const closed = (s: net.Socket) =>
      new Promise<void>((r) => (s.destroyed ? r() : s.once('close', () => r())));
    // Two sockets nobody authenticated on hold the address's two places; the third is dropped.
    const held = [await open(port('web')), await open(port('web'))];
    const third = await open(port('web'));
    await closed(third);
    expect(await refusals(metricsPort, 'http', 'address_limit')).toBe(1);
    for (const s of held) s.destroy();
    // One socket fills the listener; node drops the next and says so.
    const first = await open(port('capped'));
    const second = await open(port('capped'));
    await closed(second);
    expect(await refusals(metricsPort, 'http', 'connection_limit')).toBe(1);
    first.destroy();
  });
});

describe.skipIf(!hasSshd())(
  'refusals before authentication on the SSH listener',
  { timeout: 120_000 },
  () => {
    let sshd: TestSshd;
    let gw: SshTestGateway;
    let metricsPort: number;

    beforeAll(async () => {
      sshd = await startSshd();
      gw = await startSshTestGateway({
        sshd,
        policies: defaultSshPolicies(['prod-bastion']),
        extra: { metrics: { enabled: true, listen: '127.0.0.1:0' } },
      });
      metricsPort = gw.gateway.metricsListener!.port;
    });
    afterAll(async () => {
      await gw?.stop();
      await sshd?.stop();
    });

    it('counts a key nobody registered and a wrong token, with neither in the log', async () => {
      const key = path.join(gw.dir, 'stranger-key');
      expect((await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key])).code).toBe(0);
      const byKey = await run(
        'ssh',
        [
          '-F',
          '/dev/null',
          '-p',
          String(gw.port),
          '-i',
          key,
          '-o',
          'IdentitiesOnly=yes',
          '-o',
          'PreferredAuthentications=publickey',
          '-o',
          'BatchMode=yes',
          '-o',
          'StrictHostKeyChecking=no',
          '-o',
          `UserKnownHostsFile=${path.join(gw.dir, 'known_hosts')}`,
          `${gw.connection}@127.0.0.1`,
          'id',
        ],
        { env: { HOME: gw.dir } },
      );
      expect(byKey.code).toBe(255);
      expect(byKey.stderr).toMatch(/Permission denied \(publickey/);
      expect(await refusals(metricsPort, 'ssh', 'credentials_unknown')).toBe(1);

      const wrong = `wrong-ssh-token-${Math.random().toString(36).slice(2)}-SECRET`;
      const byToken = await gw.ssh(wrong, ['id']);
      expect(byToken.code).toBe(255);
      // The test kit's ssh offers the token once by keyboard-interactive and once by password.
      expect(await refusals(metricsPort, 'ssh', 'credentials_malformed')).toBe(2);
      expect(refusalLines(gw.logs, 'ssh', 'credentials_malformed')).toHaveLength(2);
      expect(refusalLines(gw.logs, 'ssh', 'credentials_unknown')).toHaveLength(1);
      expect(gw.logs.join('')).not.toContain(wrong);
    });
  },
);
