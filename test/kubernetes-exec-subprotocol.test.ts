// The subprotocol an exec's client is told is the one Gatehouse relays in: a client offering several
// (`base64.channel.k8s.io` or `v4.channel.k8s.io` before `v5.channel.k8s.io`) was told the first it
// offered while Gatehouse spoke v5 to it and to the API server. Raw WebSocket clients through the gateway
// against the fake API server.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

const OPERATOR: PolicyConfig = {
  id: 'operator',
  subjects: { subjects: ['operator'] },
  connections: ['prod-k8s'],
  rules: [{ id: 'operator-exec', effect: 'allow', match: { resources: ['pods', 'pods/exec'] } }],
};

describe('exec subprotocols', { timeout: 60_000 }, () => {
  let api: FakeKubeApi;
  let gw: KubeTestGateway;
  let operator: string;
  let ca: string;

  beforeAll(async () => {
    api = await startFakeKubeApi();
    gw = await startKubeTestGateway({ api, policies: [OPERATOR] });
    operator = await gw.token({ subject: 'operator', agent: false });
    ca = readFileSync(path.join(gw.dir, 'listener-ca.crt'), 'utf8');
  });

  afterAll(async () => {
    await gw?.stop();
    await api?.close();
  });

  it('answers the client with the subprotocol spoken upstream, whatever it offered first', async () => {
    for (const [offered, spoken] of [
      [['base64.channel.k8s.io', 'v5.channel.k8s.io'], 'v5.channel.k8s.io'],
      [['v4.channel.k8s.io', 'v5.channel.k8s.io'], 'v5.channel.k8s.io'],
      [['v4.base64.channel.k8s.io', 'v4.channel.k8s.io'], 'v4.channel.k8s.io'],
    ] as const) {
      const before = api.execs.length;
      const ws = new WebSocket(
        `${gw.server.replace('https:', 'wss:')}/api/v1/namespaces/default/pods/web/exec?command=ls&command=%2F&stdout=true`,
        [...offered],
        { ca, headers: { authorization: `Bearer ${operator}` } },
      );
      const messages: Buffer[] = [];
      ws.on('message', (d: Buffer) => messages.push(Buffer.from(d)));
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      expect(ws.protocol, offered.join(',')).toBe(spoken);
      await new Promise((resolve) => ws.once('close', resolve));
      expect(api.execs[before]?.protocol).toBe(spoken);
      expect(Buffer.concat(messages.filter((m) => m[0] === 1).map((m) => m.subarray(1))).toString()).toBe(
        'bin\netc\nusr\nvar\n',
      );
    }
  });
});
