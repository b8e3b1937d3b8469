// A JSON patch by a principal whose reads are masked: `copy` and `move` put a value of the object
// somewhere else in it, and `test` answers whether a value of it is a guess. Allowed unread, a copy of a
// Secret's data into an annotation came back in clear (annotations are not masked). Real kubectl and
// raw requests through Gatehouse against the fake API server (test/testkit/kube-api.ts, which applies
// JSON patches as the API server does) (docs/security.md class 83).

import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import type { StoredStatement } from '../src/core/records.js';
import { KUBERNETES_DISCOVERY_URLS } from '../src/policy/index.js';
import { hasCommand } from './testkit/commands.js';
import { SECRET_VALUE, startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

const haveKubectl = hasCommand('kubectl');
const SECRET_B64 = Buffer.from(SECRET_VALUE).toString('base64');
const PATCH_TYPE = 'application/json-patch+json';
const SECRET_PATH = '/api/v1/namespaces/default/secrets/db-creds';

/** `patcher` may read and patch Secrets, masked; `held` may too once a person approves. */
const POLICIES: PolicyConfig[] = [
  {
    id: 'patcher',
    subjects: { subjects: ['patcher'] },
    connections: ['prod-k8s'],
    rules: [
      {
        id: 'patcher-discovery',
        effect: 'allow',
        match: { nonResourceURLs: [...KUBERNETES_DISCOVERY_URLS] },
      },
      {
        id: 'patcher-secrets',
        effect: 'allow',
        match: { verbs: ['get', 'list', 'patch'], resources: ['secrets'] },
        mask: true,
      },
    ],
  },
  {
    id: 'held',
    subjects: { subjects: ['held'] },
    connections: ['prod-k8s'],
    rules: [
      {
        id: 'held-secrets',
        effect: 'review',
        match: { verbs: ['get', 'patch'], resources: ['secrets'] },
        mask: true,
      },
    ],
  },
];

/** Copies the Secret's password into an annotation, where masking does not look. */
const COPY = JSON.stringify([
  { op: 'add', path: '/metadata/annotations', value: {} },
  { op: 'copy', from: '/data/password', path: '/metadata/annotations/leak' },
]);

describe('a JSON patch by a masked principal', { timeout: 60_000 }, () => {
  let api: FakeKubeApi;
  let gw: KubeTestGateway;
  let patcher: string;
  let held: string;
  let ca: string;

  beforeAll(async () => {
    api = await startFakeKubeApi();
    gw = await startKubeTestGateway({ api, policies: POLICIES });
    patcher = await gw.token({ subject: 'patcher', agent: true });
    held = await gw.token({ subject: 'held', agent: true });
    ca = readFileSync(path.join(gw.dir, 'listener-ca.crt'), 'utf8');
  });

  afterAll(async () => {
    await gw?.stop();
    await api?.close();
  });

  function send(
    base: string,
    o: { method: string; target: string; token: string; ca: string; body?: string; type?: string },
  ): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        `${base}${o.target}`,
        {
          method: o.method,
          ca: o.ca,
          headers: { authorization: `Bearer ${o.token}`, ...(o.type ? { 'content-type': o.type } : {}) },
        },
        (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.once('error', reject);
      req.end(o.body);
    });
  }

  const patches = () => api.seen.filter((s) => s.method === 'PATCH').length;

  async function statementsOf(subject: string): Promise<StoredStatement[]> {
    const out: StoredStatement[] = [];
    for (const s of await gw.gateway.store.listSessions({ subject, limit: 100 }))
      out.push(...((await gw.gateway.store.getSession(s.id))?.statements ?? []));
    return out;
  }

  it('the fake API server applies the copy as the API server does: the data lands in the annotation', async () => {
    const other = await startFakeKubeApi();
    try {
      const r = await send(other.url, {
        method: 'PATCH',
        target: SECRET_PATH,
        token: other.token,
        ca: other.caPem,
        body: COPY,
        type: PATCH_TYPE,
      });
      expect(r.status).toBe(200);
      expect(
        (JSON.parse(r.body) as { metadata: { annotations: { leak: string } } }).metadata.annotations.leak,
      ).toBe(SECRET_B64);
      const t = await send(other.url, {
        method: 'PATCH',
        target: SECRET_PATH,
        token: other.token,
        ca: other.caPem,
        body: JSON.stringify([{ op: 'test', path: '/data/password', value: 'wrong' }]),
        type: PATCH_TYPE,
      });
      expect(t.status).toBe(422);
    } finally {
      await other.close();
    }
  });

  it.skipIf(!haveKubectl)(
    'kubectl patch --type=json copying the data into an annotation is refused, and reaches nothing',
    async () => {
      const before = patches();
      const r = await gw.kubectl(patcher, [
        'patch',
        'secret',
        'db-creds',
        '--type=json',
        '-p',
        COPY,
        '-o',
        'json',
      ]);
      expect(r.code).not.toBe(0);
      expect(r.stdout).not.toContain(SECRET_B64);
      expect(r.stderr).toMatch(/Forbidden/);
      expect(r.stderr).toMatch(/"copy" operation, which reads the object it patches/);
      expect(patches()).toBe(before);
      const recorded = (await statementsOf('patcher')).filter((st) =>
        st.text.startsWith(`PATCH ${SECRET_PATH}`),
      );
      expect(recorded.at(-1)?.ruleId).toBe('kubernetes-masked-patch-reads');
      const after = await gw.kubectl(patcher, ['get', 'secret', 'db-creds', '-o', 'json']);
      expect(after.code).toBe(0);
      expect(after.stdout).not.toContain(SECRET_B64);
    },
  );

  it('refuses move, test, an escaped op name and what is not a list of operations', async () => {
    const before = patches();
    for (const body of [
      JSON.stringify([
        { op: 'add', path: '/metadata/annotations', value: {} },
        { op: 'move', from: '/data/password', path: '/metadata/annotations/leak' },
      ]),
      JSON.stringify([{ op: 'test', path: '/data/password', value: SECRET_B64 }]),
      '[{"op":"add","path":"/metadata/annotations","value":{}},{"op":"co\\u0070y","from":"/data/password","path":"/metadata/annotations/leak"}]',
      '{"op":"copy","from":"/data/password","path":"/metadata/annotations/leak"}',
      '[{"op":"add","op":"copy","from":"/data/password","path":"/metadata/annotations/leak"}]',
    ]) {
      const r = await send(gw.server, {
        method: 'PATCH',
        target: SECRET_PATH,
        token: patcher,
        ca,
        body,
        type: PATCH_TYPE,
      });
      expect(r.status, body).toBeGreaterThanOrEqual(400);
      expect(r.body).not.toContain(SECRET_B64);
    }
    expect(patches()).toBe(before);
  });

  it('refuses it before holding it for a person when the patch is reviewed', async () => {
    const before = patches();
    const asked = gw.approver.seen.length;
    const r = await send(gw.server, {
      method: 'PATCH',
      target: SECRET_PATH,
      token: held,
      ca,
      body: COPY,
      type: PATCH_TYPE,
    });
    expect(r.status).toBe(403);
    expect(gw.approver.seen.length).toBe(asked);
    expect(patches()).toBe(before);
  });

  it.skipIf(!haveKubectl)('lets add, remove and replace through, and masks what comes back', async () => {
    const before = patches();
    const r = await gw.kubectl(patcher, [
      'patch',
      'secret',
      'db-creds',
      '--type=json',
      '-p',
      JSON.stringify([
        { op: 'add', path: '/metadata/labels', value: { team: 'db' } },
        { op: 'replace', path: '/data/user', value: Buffer.from('app2').toString('base64') },
      ]),
      '-o',
      'json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(patches()).toBe(before + 1);
    const s = JSON.parse(r.stdout) as {
      metadata: { labels: Record<string, string> };
      data: Record<string, string>;
    };
    expect(s.metadata.labels).toEqual({ team: 'db' });
    expect(Buffer.from(s.data.password!, 'base64').toString()).toBe('[REDACTED:secret]');
  });
});
