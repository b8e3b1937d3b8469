// A hostile Kubernetes client through Gatehouse: requests kubectl would never send, written by hand
// against the gateway in front of the fake API server (test/testkit/kube-api.ts, which reads queries as
// the real API server does). Whatever the gateway decides and records must be what the API server
// then does; what cannot be made so is refused before it reaches the server.

import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultKubernetesPolicies } from '../src/policy/index.js';
import { startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

interface Opened {
  readonly status: number | 'open';
  readonly body: string;
  readonly ws?: WebSocket;
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 20));
}

describe('a hostile Kubernetes client', { timeout: 60_000 }, () => {
  let api: FakeKubeApi;
  let gw: KubeTestGateway;
  let agent: string;
  let ca: string;

  beforeAll(async () => {
    api = await startFakeKubeApi();
    gw = await startKubeTestGateway({
      api,
      policies: defaultKubernetesPolicies(['prod-k8s']),
    });
    agent = await gw.token({ subject: 'hostile', agent: true });
    ca = readFileSync(path.join(gw.dir, 'listener-ca.crt'), 'utf8');
  });

  afterAll(async () => {
    await gw?.stop();
    await api?.close();
  });

  /** Opens a WebSocket exec/attach by hand; resolves with the refusal's status or the open socket. */
  function openExec(target: string): Promise<Opened> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${gw.server.replace('https:', 'wss:')}${target}`, ['v5.channel.k8s.io'], {
        ca,
        headers: { authorization: `Bearer ${agent}` },
      });
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      ws.once('open', () => resolve({ status: 'open', body: '', ws }));
      ws.once('error', reject);
    });
  }

  function get(target: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        `${gw.server}${target}`,
        { ca, headers: { authorization: `Bearer ${agent}` } },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.once('error', reject);
      req.end();
    });
  }

  it('reads stdin=f and tty=f as the API server does (true), so the exec is decided as interactive', async () => {
    const before = api.execs.length;
    const opened = openExec(
      '/api/v1/namespaces/default/pods/web/exec?command=ls&command=%2F&stdin=f&stdout=true&tty=F',
    );
    const asked = gw.approver.seen.length;
    const first = await Promise.race([
      opened.then(() => 'forwarded'),
      until(() => gw.approver.seen.length > asked).then(() => 'held'),
    ]);
    if (first === 'forwarded') {
      // Forwarded without review: what reached the API server must at least be what was decided.
      const o = await opened;
      o.ws?.terminate();
      const exec = api.execs.at(-1);
      expect.fail(
        `forwarded without review: the API server ran it with stdin=${exec?.stdin} tty=${exec?.tty}`,
      );
    }
    const review = await gw.approver.next();
    expect(review.ctx.decision.ruleId).toBe('k8s-agents-review-interactive-exec');
    review.deny();
    const o = await opened;
    expect(o.status).toBe(403);
    expect(api.execs.length).toBe(before);
  });

  it('reads watch=f as a watch, as the API server does', async () => {
    const r = await get('/api/v1/namespaces/default/pods?watch=f');
    expect(r.status).toBe(200);
    const sessions = await gw.gateway.store.listSessions({ subject: 'hostile', limit: 100 });
    const kinds: string[] = [];
    for (const s of sessions)
      for (const st of (await gw.gateway.store.getSession(s.id))?.statements ?? [])
        if (st.text.includes('watch=f')) kinds.push(st.kind);
    expect(kinds).toEqual(['watch pods']);
  });
});
