// HTTP connections through a network-resident agent (docs/agent.md): TLS to the upstream runs from
// the gateway through the tunnel, so the bytes the agent relays never hold the credential or the
// request; with the agent gone, clients get 502 with the reason.

import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentsSection, joinToken, startAgent, until, type TestAgent } from './testkit/agents.js';
import { startHttpTestGateway, type HttpTestGateway } from './testkit/http-gateway.js';

const SECRET = `upstream-secret-${randomBytes(8).toString('hex')}`;

let gw: HttpTestGateway;
let agent: TestAgent;
let upstream: https.Server;
let tap: net.Server;
const relayed: Buffer[] = [];
const seenAuth: string[] = [];

beforeAll(async () => {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }] }],
  });
  upstream = https.createServer({ cert: pems.cert, key: pems.private }, (req, res) => {
    seenAuth.push(String(req.headers.authorization));
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ path: req.url, ok: true }));
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
  const upPort = (upstream.address() as net.AddressInfo).port;
  // What the agent dials: a tap that records every byte the agent relays, both ways.
  tap = net.createServer((inbound) => {
    const out = net.connect(upPort, '127.0.0.1');
    inbound.on('data', (d: Buffer) => relayed.push(d));
    out.on('data', (d: Buffer) => relayed.push(d));
    inbound.pipe(out).pipe(inbound);
    inbound.on('error', () => out.destroy());
    out.on('error', () => inbound.destroy());
  });
  await new Promise<void>((r) => tap.listen(0, '127.0.0.1', () => r()));
  const tapPort = (tap.address() as net.AddressInfo).port;
  gw = await startHttpTestGateway({
    env: { ...process.env, UP_TOKEN: SECRET },
    connections: {
      api: {
        protocol: 'http',
        listen: '127.0.0.1:0',
        via: { agent: 'web' },
        upstream: `https://localhost:${tapPort}`,
        auth: { type: 'bearer', token: { env: 'UP_TOKEN' } },
        tls: { ca: 'upstream-ca.pem' },
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
    extra: { agents: agentsSection() },
    beforeStart: (dir: string) => writeFileSync(path.join(dir, 'upstream-ca.pem'), pems.cert),
  });
  agent = await startAgent(gw.gateway.agents!, { joinToken: await joinToken(gw.gateway.agents!, 'web') });
  await agent.ready();
});
afterAll(async () => {
  await agent?.stop();
  await gw?.stop();
  upstream?.close();
  tap?.close();
});

describe('an HTTPS API through an agent', () => {
  it('answers through gateway → agent → upstream; the agent relays only ciphertext', async () => {
    const token = await gw.token({ groups: ['testers'] });
    const res = await fetch(`${gw.endpoint('api')}/v1/secret-report?q=needle`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ path: '/v1/secret-report?q=needle', ok: true });
    expect(seenAuth).toEqual([`Bearer ${SECRET}`]);
    const bytes = Buffer.concat(relayed);
    expect(bytes.length).toBeGreaterThan(0);
    for (const needle of [SECRET, 'secret-report', 'needle', 'Bearer', '"ok":true'])
      expect(bytes.includes(Buffer.from(needle))).toBe(false);
  });

  it('answers 502 with the reason when the agent is gone', async () => {
    await agent.stop();
    await until(() => gw.gateway.agents!.hub.list().length === 0, 5000, 'the agent to leave');
    const token = await gw.token({ groups: ['testers'] });
    const res = await fetch(`${gw.endpoint('api')}/v1/anything`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(502);
    const body = (await res.json()) as { detail: string };
    expect(body.detail).toMatch(/the agent "web" is not connected/);
    expect(JSON.stringify(body)).not.toContain(SECRET);
  });
});

describe('a credential the gateway adds', () => {
  it('is never sent through an agent where the agent could read it: plain HTTP, or TLS not verified', async () => {
    const policies = [
      {
        id: 'all',
        subjects: { groups: ['testers'] },
        connections: ['*'],
        rules: [{ id: 'allow', effect: 'allow' as const, match: {} }],
      },
    ];
    for (const [upstream, tls, how] of [
      ['http://billing.internal:8080', {}, 'over plain HTTP'],
      ['https://billing.internal:8443', { rejectUnauthorized: false }, 'over TLS it does not verify'],
    ] as const) {
      await expect(
        startHttpTestGateway({
          env: { ...process.env, UP_TOKEN: SECRET },
          connections: {
            api: {
              protocol: 'http',
              listen: '127.0.0.1:0',
              via: { agent: 'web' },
              upstream,
              auth: { type: 'bearer', token: { env: 'UP_TOKEN' } },
              tls,
            },
          },
          policies,
          extra: { agents: agentsSection() },
        }),
      ).rejects.toThrow(
        new RegExp(`send its bearer credential through agent "web" ${how}: the agent could read it`),
      );
    }
  });
});
