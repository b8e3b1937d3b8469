// A hostile Kubernetes client through Gatehouse: requests kubectl would never send, written by hand
// against the gateway in front of the fake API server (test/testkit/kube-api.ts, which reads queries as
// the real API server does). Whatever the gateway decides and records must be what the API server
// then does; what cannot be made so is refused before it reaches the server.

import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import type { StatementResult, StoredStatement } from '../src/core/records.js';
import { defaultKubernetesPolicies, KUBERNETES_DISCOVERY_URLS } from '../src/policy/index.js';
import { hasCommand } from './testkit/commands.js';
import { goTypedDecode, startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

const haveKubectl = hasCommand('kubectl');

/** `narrow` may read the pod named web, and nothing else: a decision that rests on the name. */
const NARROW: PolicyConfig = {
  id: 'narrow',
  subjects: { subjects: ['narrow'] },
  connections: ['prod-k8s'],
  rules: [
    { id: 'narrow-discovery', effect: 'allow', match: { nonResourceURLs: [...KUBERNETES_DISCOVERY_URLS] } },
    {
      id: 'narrow-web-only',
      effect: 'allow',
      match: { verbs: ['get', 'list', 'watch'], resources: ['pods'], names: ['web'] },
    },
  ],
};

/** `operator` may exec into and attach to pods, with or without input or a terminal. */
const OPERATOR: PolicyConfig = {
  id: 'operator',
  subjects: { subjects: ['operator'] },
  connections: ['prod-k8s'],
  rules: [
    { id: 'operator-discovery', effect: 'allow', match: { nonResourceURLs: [...KUBERNETES_DISCOVERY_URLS] } },
    {
      id: 'operator-exec',
      effect: 'allow',
      match: { resources: ['pods', 'pods/exec', 'pods/attach', 'pods/portforward'] },
    },
  ],
};

interface ClientEnd {
  readonly messages: Buffer[];
  readonly code: number;
}

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
  let narrow: string;
  let operator: string;
  let ca: string;

  beforeAll(async () => {
    api = await startFakeKubeApi();
    gw = await startKubeTestGateway({
      api,
      policies: [...defaultKubernetesPolicies(['prod-k8s']), NARROW, OPERATOR],
    });
    agent = await gw.token({ subject: 'hostile', agent: true });
    narrow = await gw.token({ subject: 'narrow', agent: false });
    operator = await gw.token({ subject: 'operator', agent: false });
    ca = readFileSync(path.join(gw.dir, 'listener-ca.crt'), 'utf8');
  });

  afterAll(async () => {
    await gw?.stop();
    await api?.close();
  });

  /** Opens a WebSocket exec/attach by hand; resolves with the refusal's status or the open socket. */
  function openExec(
    target: string,
    o: { token?: string; protocol?: string; headers?: Record<string, string> } = {},
  ): Promise<Opened> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(
        `${gw.server.replace('https:', 'wss:')}${target}`,
        [o.protocol ?? 'v5.channel.k8s.io'],
        { ca, headers: { ...o.headers, authorization: `Bearer ${o.token ?? agent}` } },
      );
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      ws.once('open', () => resolve({ status: 'open', body: '', ws }));
      ws.once('error', reject);
    });
  }

  /** Everything the client receives until the connection closes, and the close code. */
  function untilClosed(ws: WebSocket): Promise<ClientEnd> {
    const messages: Buffer[] = [];
    ws.on('message', (d: Buffer) => messages.push(Buffer.from(d)));
    return new Promise((resolve) => ws.once('close', (code) => resolve({ messages, code })));
  }

  function statusOf(end: ClientEnd): { status?: string; message?: string } | undefined {
    const m = end.messages.find((b) => b[0] === 3);
    return m
      ? (JSON.parse(m.subarray(1).toString('utf8')) as { status?: string; message?: string })
      : undefined;
  }

  /** Opens an exec the operator may run, and waits until the API server has its session. */
  async function openOperatorExec(target: string, protocol?: string) {
    const before = api.execs.length;
    const o = await openExec(target, { token: operator, ...(protocol ? { protocol } : {}) });
    if (!o.ws) throw new Error(`refused: ${o.status} ${o.body}`);
    await until(() => api.execs.length > before);
    return { ws: o.ws, upstream: api.execs[before]!, end: untilClosed(o.ws) };
  }

  async function statementsOf(subject: string): Promise<StoredStatement[]> {
    const out: StoredStatement[] = [];
    for (const s of await gw.gateway.store.listSessions({ subject, limit: 100 }))
      out.push(...((await gw.gateway.store.getSession(s.id))?.statements ?? []));
    return out;
  }

  /** The recorded result of the subject's statement whose text matches (waits for it to be written). */
  async function resultOf(subject: string, pred: (text: string) => boolean): Promise<StatementResult> {
    for (let i = 0; i < 200; i++) {
      for (const s of await gw.gateway.store.listSessions({ subject, limit: 100 })) {
        const statements = (await gw.gateway.store.getSession(s.id))?.statements ?? [];
        const events = await gw.gateway.store.getEvents(s.id, 0, 10_000);
        for (const st of statements) {
          if (!pred(st.text)) continue;
          const result = events.find((e) => e.type === 'result' && e.statement === st.id);
          if (result) return result.data as unknown as StatementResult;
        }
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('no such statement was recorded');
  }

  function get(target: string, token?: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        `${gw.server}${target}`,
        { ca, headers: { authorization: `Bearer ${token ?? agent}` } },
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

  function request(
    method: string,
    target: string,
    body: string,
    headers: Record<string, string>,
    token?: string,
  ): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        `${gw.server}${target}`,
        { method, ca, headers: { ...headers, authorization: `Bearer ${token ?? agent}` } },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.once('error', reject);
      req.end(body);
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

  it('reads watch=f as a watch, as the API server does, and forwards and records it as watch=true', async () => {
    const r = await get('/api/v1/namespaces/default/pods?watch=f');
    expect(r.status).toBe(200);
    expect(api.seen.at(-1)?.url).toBe('/api/v1/namespaces/default/pods?watch=true');
    const kinds = (await statementsOf('hostile'))
      .filter((st) => st.text === 'GET /api/v1/namespaces/default/pods?watch=true')
      .map((st) => st.kind);
    expect(kinds).toEqual(['watch pods']);
  });

  describe('field selectors a decision rests on', () => {
    it.skipIf(!haveKubectl)(
      'kubectl get --field-selector metadata.name=web is decided on web and returns only web',
      async () => {
        const r = await gw.kubectl(narrow, [
          'get',
          'pods',
          '--field-selector',
          'metadata.name=web',
          '-o',
          'name',
        ]);
        expect(r.stderr).toBe('');
        expect(r.stdout).toBe('pod/web\n');
        expect(api.seen.at(-1)?.url).toBe(
          '/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Dweb&limit=500',
        );
        const all = await gw.kubectl(narrow, ['get', 'pods', '-o', 'name']);
        expect(all.code).not.toBe(0);
        expect(all.stderr).toMatch(/Forbidden/);
      },
    );

    it.skipIf(!haveKubectl)(
      'forwards == as the = the API server reads it, and records what it forwarded',
      async () => {
        const r = await gw.kubectl(narrow, [
          'get',
          'pods',
          '--field-selector',
          'metadata.name==web',
          '-o',
          'name',
        ]);
        expect(r.stderr).toBe('');
        expect(r.stdout).toBe('pod/web\n');
        const forwarded = '/api/v1/namespaces/default/pods?fieldSelector=metadata.name%3Dweb&limit=500';
        expect(api.seen.at(-1)?.url).toBe(forwarded);
        const st = (await statementsOf('narrow')).filter((s) => s.text === `GET ${forwarded}`);
        expect(st.map((s) => [s.kind, s.effect])).toContainEqual(['list pods', 'allow']);
      },
    );

    it.skipIf(!haveKubectl)(
      'refuses a selector that names metadata.name twice before it reaches the API server',
      async () => {
        const seen = api.seen.length;
        const r = await gw.kubectl(narrow, [
          'get',
          'pods',
          '--field-selector',
          'metadata.name=web,metadata.name=worker',
          '-o',
          'name',
        ]);
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(/BadRequest|names metadata.name more than once/);
        expect(api.seen.slice(seen).filter((s) => s.url.includes('fieldSelector'))).toEqual([]);
      },
    );

    it.each([
      // The API server reads a field " metadata.name" or "metadata.name " (not a name pin).
      ['a space before the field', '?fieldSelector=%20metadata.name%3Dweb'],
      ['a space before the operator', '?fieldSelector=metadata.name%20%3Dweb'],
      ['a term of whitespace', '?fieldSelector=metadata.name%3Dweb,%20'],
      ['a value with a trailing space', '?fieldSelector=metadata.name%3Dweb%20'],
      ['an unescaped = in the value', '?fieldSelector=metadata.name%3D%3D%3Dweb'],
      ['an unknown escape', '?fieldSelector=metadata.name%3Dw%5Ceb'],
      ['two names', '?fieldSelector=metadata.name%3Dworker,metadata.name%3D%3Dweb'],
      ['a name and a not-name', '?fieldSelector=metadata.name%3Dweb,metadata.name!%3Dweb'],
      ['the parameter twice', '?fieldSelector=metadata.name%3Dweb&fieldSelector=metadata.name%3Dworker'],
      ['watch twice', '?fieldSelector=metadata.name%3Dweb&watch=0&watch=1'],
    ])('refuses %s, and nothing reaches the API server', async (_what, query) => {
      const seen = api.seen.length;
      const r = await get(`/api/v1/namespaces/default/pods${query}`, narrow);
      expect(r.status).toBe(400);
      expect(r.body).toMatch(/Gatehouse cannot classify this request/);
      expect(api.seen.length).toBe(seen);
    });

    it("decides a /watch/ path without the selector's name, as RequestInfo does", async () => {
      const seen = api.seen.length;
      const r = await get('/api/v1/watch/namespaces/default/pods?fieldSelector=metadata.name%3Dweb', narrow);
      expect(r.status).toBe(403);
      expect(api.seen.length).toBe(seen);
    });
  });

  describe('exec and attach', () => {
    const SLEEP = '/api/v1/namespaces/default/pods/web/exec?command=sleep&command=3&stdout=true&stderr=true';

    it('ends a session whose client sends a message past 16 MiB, and records why', async () => {
      const { ws, upstream, end } = await openOperatorExec(
        '/api/v1/namespaces/default/pods/web/exec?command=sleep&command=4&stdout=true&stderr=true',
      );
      ws.send(Buffer.concat([Buffer.from([0]), Buffer.alloc(17 * 1024 * 1024, 0x61)]));
      const e = await end;
      expect(e.code).not.toBe(1000);
      await until(() => upstream.closed);
      expect(upstream.received).toEqual([]);
      const result = await resultOf('operator', (t) => t.includes('command=sleep&command=4'));
      expect(result.error?.code).toBe('message_too_large');
      expect(result.error?.message).toMatch(/Max payload size exceeded/);
    });

    it('ends a session decided without stdin when the client sends input, relaying none of it', async () => {
      const { ws, upstream, end } = await openOperatorExec(SLEEP);
      ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('rm -rf /data\n')]));
      const e = await end;
      expect(e.code).toBe(1008);
      expect(statusOf(e)).toMatchObject({
        status: 'Failure',
        message: expect.stringMatching(/decided without stdin/),
      });
      await until(() => upstream.closed);
      expect(upstream.received).toEqual([]);
      const result = await resultOf('operator', (t) => t.includes('command=sleep&command=3'));
      expect(result.error).toMatchObject({
        code: 'undecided_channel',
        message: expect.stringMatching(/decided without stdin/),
      });
    });

    it('ends a session decided without a terminal when the client sends a resize', async () => {
      const { ws, upstream, end } = await openOperatorExec(SLEEP);
      ws.send(Buffer.concat([Buffer.from([4]), Buffer.from('{"Width":80,"Height":24}')]));
      const e = await end;
      expect(e.code).toBe(1008);
      expect(statusOf(e)?.message).toMatch(/decided without a terminal/);
      await until(() => upstream.closed);
      expect(upstream.received).toEqual([]);
    });

    it.each([
      ['stdout', 'v5.channel.k8s.io', Buffer.from([1, 0x68, 0x69])],
      ['stderr', 'v5.channel.k8s.io', Buffer.from([2, 0x68, 0x69])],
      ['status', 'v5.channel.k8s.io', Buffer.from([3, 0x7b, 0x7d])],
      ['an unknown channel', 'v5.channel.k8s.io', Buffer.from([9, 0x68, 0x69])],
      ['an empty message', 'v5.channel.k8s.io', Buffer.alloc(0)],
      ['a close signal for an unknown channel', 'v5.channel.k8s.io', Buffer.from([255, 9])],
      ['a v5 close signal on v4', 'v4.channel.k8s.io', Buffer.from([255, 0])],
      ['stdin on v4', 'v4.channel.k8s.io', Buffer.from([0, 0x68, 0x69])],
    ])(
      'ends the session when the client writes %s (%s), relaying none of it',
      async (_what, protocol, message) => {
        const { ws, upstream, end } = await openOperatorExec(SLEEP, protocol);
        ws.send(message);
        const e = await end;
        expect(e.code).toBe(1008);
        expect(statusOf(e)?.status).toBe('Failure');
        await until(() => upstream.closed);
        expect(upstream.received).toEqual([]);
      },
    );

    it('drops a close signal for stdin that was not decided (nothing to close), and the command finishes', async () => {
      const { ws, upstream, end } = await openOperatorExec(
        '/api/v1/namespaces/default/pods/web/exec?command=sleep&command=0.3&stdout=true',
      );
      ws.send(Buffer.from([255, 0]));
      const e = await end;
      expect(statusOf(e)).toEqual({ metadata: {}, status: 'Success' });
      expect(upstream.received).toEqual([]);
    });

    it('relays input and resizes when they were decided, and forwards only the decided options', async () => {
      const { ws, upstream, end } = await openOperatorExec(
        '/api/v1/namespaces/default/pods/web/exec?tty=yes&command=cat&stdin=1&container=app&bogus=1&stdout=true',
      );
      expect(api.seen.at(-1)?.url).toBe(
        '/api/v1/namespaces/default/pods/web/exec?command=cat&container=app&stdin=true&stdout=true&tty=true',
      );
      const resize = Buffer.concat([Buffer.from([4]), Buffer.from('{"Width":100,"Height":30}')]);
      const input = Buffer.concat([Buffer.from([0]), Buffer.from('hello\n')]);
      ws.send(resize);
      ws.send(input);
      await until(() => upstream.received.length === 2);
      ws.send(Buffer.from([255, 0]));
      const e = await end;
      expect(statusOf(e)).toEqual({ metadata: {}, status: 'Success' });
      expect(e.messages.filter((m) => m[0] === 1).map((m) => m.subarray(1).toString())).toEqual(['hello\n']);
      expect(upstream.received).toEqual([resize, input, Buffer.from([255, 0])]);
    });

    it('applies the same to attach', async () => {
      const { ws, upstream, end } = await openOperatorExec(
        '/api/v1/namespaces/default/pods/web/attach?stdout=true&command=rm&container=app',
      );
      expect(api.seen.at(-1)?.url).toBe(
        '/api/v1/namespaces/default/pods/web/attach?container=app&stdout=true',
      );
      ws.send(Buffer.concat([Buffer.from([0]), Buffer.from('hi\n')]));
      const e = await end;
      expect(statusOf(e)?.message).toMatch(/decided without stdin/);
      await until(() => upstream.closed);
      expect(upstream.received).toEqual([]);
    });

    it('refuses an exec naming the container twice', async () => {
      const seen = api.seen.length;
      const o = await openExec(
        '/api/v1/namespaces/default/pods/web/exec?command=ls&container=app&container=sidecar&stdout=1',
        {
          token: operator,
        },
      );
      expect(o.status).toBe(400);
      expect(o.body).toMatch(/container more than once/);
      expect(api.seen.length).toBe(seen);
    });

    it.skipIf(!haveKubectl)(
      'kubectl exec without -i sends nothing up, and exec -i relays its input',
      async () => {
        const before = api.execs.length;
        const r = await gw.kubectl(operator, ['exec', 'web', '--', 'sleep', '0.5']);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(api.execs.slice(before).map((e) => e.received)).toEqual([[]]);
        const i = await gw.kubectl(operator, ['exec', '-i', 'web', '--', 'cat'], {
          input: 'typed by hand\n',
        });
        expect(i.stderr).toBe('');
        expect(i.stdout).toBe('typed by hand\n');
        expect(i.code).toBe(0);
      },
    );
  });

  describe('port-forward', () => {
    it.skipIf(!haveKubectl)(
      'refuses kubectl port-forward, allowed or not: the ports it asks for travel inside the tunnel, undecided',
      async () => {
        const before = api.seen.length;
        const r = await gw.kubectl(operator, ['port-forward', 'pod/web', '18080:80'], { timeoutMs: 15_000 });
        expect(r.code).not.toBe(0);
        expect(r.stderr).toMatch(/port-forward/);
        expect(api.seen.slice(before).filter((s) => s.url.includes('/portforward'))).toEqual([]);
        const st = (await statementsOf('operator'))
          .filter((x) => x.text === 'GET /api/v1/namespaces/default/pods/web/portforward')
          .at(-1);
        expect(st?.ruleId).toBe('kubernetes-stream-refused');
      },
    );

    it('refuses the tunnel upgrade by hand too, with ports in its query or not, and records it', async () => {
      for (const query of ['?ports=8080', '']) {
        const before = api.seen.length;
        const target = `/api/v1/namespaces/default/pods/web/portforward${query}`;
        const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = https.request(`${gw.server}${target}`, {
            ca,
            headers: {
              authorization: `Bearer ${operator}`,
              connection: 'Upgrade',
              upgrade: 'websocket',
              'sec-websocket-version': '13',
              'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
              'sec-websocket-protocol': 'SPDY/3.1+portforward.k8s.io',
            },
          });
          req.once('upgrade', (_res, socket) => {
            socket.destroy();
            resolve({ status: 101, body: '' });
          });
          req.once('response', (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          });
          req.once('error', reject);
          req.end();
        });
        expect(answer.status).toBe(400);
        expect(answer.body).toMatch(/port-forward/);
        expect(api.seen.length).toBe(before);
        const st = (await statementsOf('operator')).filter((x) => x.text === `GET ${target}`).at(-1);
        expect(st?.ruleId).toBe('kubernetes-stream-refused');
      }
    });
  });

  describe('request headers', () => {
    /**
     * Headers the API server acts on that are not the request's own: Audit-ID names the event in the
     * cluster's audit log (the API server takes the client's), X-Real-Ip and X-Forwarded-For its
     * source IPs, X-Remote-* a front proxy's user, traceparent its trace.
     */
    const FORGED = {
      'audit-id': 'forged-audit-id',
      'x-real-ip': '203.0.113.7',
      'x-forwarded-for': '203.0.113.8',
      'x-remote-uid': '0',
      'x-remote-extra-scopes': 'cluster-admin',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      'x-custom': 'anything',
    };

    function expectOnlyOwnHeaders(
      headers: Record<string, unknown>,
      text: string,
      statements: StoredStatement[],
    ) {
      for (const name of Object.keys(FORGED))
        expect(headers[name], name).not.toBe(FORGED[name as keyof typeof FORGED]);
      for (const name of [
        'x-real-ip',
        'x-forwarded-for',
        'x-remote-uid',
        'x-remote-extra-scopes',
        'traceparent',
        'x-custom',
      ])
        expect(headers[name], name).toBeUndefined();
      // The API server's audit event carries the id of Gatehouse's record of the request.
      const recorded = statements.filter((st) => st.text === text).at(-1);
      expect(recorded).toBeDefined();
      expect(headers['audit-id']).toBe(recorded?.id);
    }

    it("forwards none of them, and the Audit-ID of the record instead of the client's", async () => {
      const r = await request('GET', '/api/v1/namespaces/default/pods/web', '', FORGED);
      expect(r.status).toBe(200);
      const seen = api.seen.at(-1)!;
      expect(seen.url).toBe('/api/v1/namespaces/default/pods/web');
      expectOnlyOwnHeaders(
        seen.headers,
        'GET /api/v1/namespaces/default/pods/web',
        await statementsOf('hostile'),
      );
    });

    it('forwards none of them on an exec upgrade either', async () => {
      const target = '/api/v1/namespaces/default/pods/plain/exec?command=ls&command=%2F&stdout=true';
      const o = await openExec(target, { headers: FORGED });
      expect(o.status).toBe('open');
      const end = untilClosed(o.ws!);
      await end;
      const seen = api.seen.filter((s) => s.url.includes('/exec?')).at(-1)!;
      expectOnlyOwnHeaders(seen.headers, `GET ${target}`, await statementsOf('hostile'));
    });
  });

  describe('reviewed bodies', () => {
    /** A Pod whose `spec` is given twice: the first privileged, the second (JSON.parse's) plain. */
    const TWICE =
      '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"twice","labels":{"a":"1"}},' +
      '"spec":{"hostPID":true,"containers":[{"name":"c","image":"busybox","securityContext":{"privileged":true}}]},' +
      '"metadata":{"name":"twice","labels":{"b":"2"}},' +
      '"spec":{"containers":[{"name":"c","image":"busybox"}]}}';

    it('the fake API server decodes a key given twice as Go does (merged, not the last)', () => {
      // What Go's encoding/json (sigs.k8s.io/json's base) made of TWICE, decoded into Pod-shaped structs.
      expect(goTypedDecode(TWICE)).toEqual({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'twice', labels: { a: '1', b: '2' } },
        spec: {
          hostPID: true,
          containers: [{ name: 'c', image: 'busybox', securityContext: { privileged: true } }],
        },
      });
    });

    /**
     * Sends a create of a Pod (`send` resolves when answered). Held for approval, it is approved as
     * shown, and the API server must then have created exactly what the approver was shown; else it
     * must be refused before anything reaches the API server, and recorded so.
     */
    async function createPod(
      send: () => Promise<{ ok: boolean; out: string }>,
    ): Promise<{ held: boolean; out: string }> {
      const posts = () => api.seen.filter((s) => s.method === 'POST' && s.url.includes('/pods')).length;
      const before = posts();
      const asked = gw.approver.seen.length;
      const pending = send();
      const first = await Promise.race([
        pending.then(() => 'answered'),
        until(() => gw.approver.seen.length > asked).then(() => 'held'),
      ]);
      if (first === 'held') {
        const review = await gw.approver.next();
        const shown = (review.ctx.action as { body?: { shown: string } }).body?.shown ?? '';
        review.approve();
        const r = await pending;
        let shownSpec: unknown;
        try {
          shownSpec = (JSON.parse(shown) as { spec: unknown }).spec;
        } catch {
          shownSpec = `(no spec shown: ${shown})`;
        }
        const created = (JSON.parse(r.out) as { spec: unknown }).spec;
        expect(created, 'the API server created another pod than the approver was shown').toEqual(shownSpec);
        return { held: true, out: r.out };
      }
      const r = await pending;
      expect(r.ok).toBe(false);
      expect(posts()).toBe(before);
      const refused = (await statementsOf('hostile')).filter(
        (st) => st.text === 'POST /api/v1/namespaces/default/pods',
      );
      expect(refused.at(-1)?.ruleId).toBe('kubernetes-ambiguous-body');
      return { held: false, out: r.out };
    }

    it('refuses a JSON body that names a key twice: the API server merges both, an approver is shown the last', async () => {
      const { out } = await createPod(async () => {
        const r = await request('POST', '/api/v1/namespaces/default/pods', TWICE, {
          'content-type': 'application/json',
        });
        const ok = r.status < 300;
        return { ok, out: ok ? r.body : (JSON.parse(r.body) as { message: string }).message };
      });
      expect(out).toMatch(/names the key "(spec|metadata)" twice/);
    });

    it.skipIf(!haveKubectl)(
      'refuses it from kubectl create --raw too (no Content-Type: the API server reads JSON)',
      async () => {
        const file = path.join(gw.dir, 'twice.json');
        writeFileSync(file, TWICE);
        const { out } = await createPod(async () => {
          const r = await gw.kubectl(agent, [
            'create',
            '--raw',
            '/api/v1/namespaces/default/pods',
            '-f',
            file,
          ]);
          return { ok: r.code === 0, out: r.code === 0 ? r.stdout : r.stderr };
        });
        expect(out).toMatch(/names the key "(spec|metadata)" twice/);
      },
    );

    it.skipIf(!haveKubectl)(
      'shows kubectl create --raw (no Content-Type) to the approver as the JSON the API server reads',
      async () => {
        const file = path.join(gw.dir, 'once.json');
        writeFileSync(
          file,
          '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"once"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}',
        );
        const { held } = await createPod(async () => {
          const r = await gw.kubectl(agent, [
            'create',
            '--raw',
            '/api/v1/namespaces/default/pods',
            '-f',
            file,
          ]);
          return { ok: r.code === 0, out: r.code === 0 ? r.stdout : r.stderr };
        });
        expect(held).toBe(true);
      },
    );
  });
});
