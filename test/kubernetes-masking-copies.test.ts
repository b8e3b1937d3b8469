// Masking of copies of an object the API server hands out besides the object itself: the
// `kubectl.kubernetes.io/last-applied-configuration` annotation (`kubectl apply` keeps the object as
// applied in it, Secret data and env values included), on the object and on the metadata-only forms
// the API server returns for it (`as=PartialObjectMetadata`, a Table row's default object, a watch
// of metadata). Real kubectl and raw requests through Gatehouse against the fake API server
// (test/testkit/kube-api.ts), by a principal whose reads are allowed masked (docs/security.md class 82).

import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { KUBERNETES_DISCOVERY_URLS } from '../src/policy/index.js';
import { hasCommand } from './testkit/commands.js';
import { ENV_SECRET, SECRET_VALUE, startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

const haveKubectl = hasCommand('kubectl');
const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
const SECRET_B64 = Buffer.from(SECRET_VALUE).toString('base64');

/** `reader` may read pods and Secrets, masked. */
const READER: PolicyConfig = {
  id: 'reader',
  subjects: { subjects: ['reader'] },
  connections: ['prod-k8s'],
  rules: [
    { id: 'reader-discovery', effect: 'allow', match: { nonResourceURLs: [...KUBERNETES_DISCOVERY_URLS] } },
    {
      id: 'reader-masked',
      effect: 'allow',
      match: { verbs: ['get', 'list', 'watch'], resources: ['pods', 'secrets'] },
      mask: true,
    },
  ],
};

/** What kubectl asks for when it prints a table (`kubectl get secrets`). */
const TABLE_ACCEPT =
  'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';

describe('copies of a masked object', { timeout: 60_000 }, () => {
  let api: FakeKubeApi;
  let gw: KubeTestGateway;
  let reader: string;
  let ca: string;

  beforeAll(async () => {
    api = await startFakeKubeApi();
    gw = await startKubeTestGateway({ api, policies: [READER] });
    reader = await gw.token({ subject: 'reader', agent: true });
    ca = readFileSync(path.join(gw.dir, 'listener-ca.crt'), 'utf8');
  });

  afterAll(async () => {
    await gw?.stop();
    await api?.close();
  });

  function get(target: string, accept: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        `${gw.server}${target}`,
        { ca, headers: { authorization: `Bearer ${reader}`, accept } },
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

  function expectNoSecret(text: string): void {
    expect(text).not.toContain(SECRET_VALUE);
    expect(text).not.toContain(SECRET_B64);
  }

  it('the fake API server hands the copies out as the API server does', async () => {
    // Straight from the fake (the cluster credential): the annotation holds the data and env values.
    const direct = (target: string, accept: string) =>
      new Promise<string>((resolve, reject) => {
        const req = https.request(
          `${api.url}${target}`,
          { ca: api.caPem, headers: { authorization: `Bearer ${api.token}`, accept } },
          (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () => resolve(body));
          },
        );
        req.once('error', reject);
        req.end();
      });
    const partial = JSON.parse(
      await direct(
        '/api/v1/namespaces/apps/secrets/applied-creds',
        'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1',
      ),
    ) as { kind: string; metadata: { annotations: Record<string, string> } };
    expect(partial.kind).toBe('PartialObjectMetadata');
    expect(partial.metadata.annotations[LAST_APPLIED]).toContain(SECRET_B64);
    const table = await direct('/api/v1/namespaces/apps/secrets', TABLE_ACCEPT);
    expect(JSON.parse(table)).toMatchObject({
      kind: 'Table',
      rows: [{ object: { kind: 'PartialObjectMetadata' } }],
    });
    expect(table).toContain(SECRET_B64);
    expect(await direct('/api/v1/namespaces/apps/pods/applied', 'application/json')).toContain(ENV_SECRET);
  });

  it.skipIf(!haveKubectl)(
    "kubectl get pod -o json: the env value masked in the spec is masked in the annotation's copy too",
    async () => {
      const r = await gw.kubectl(reader, ['get', 'pod', 'applied', '-n', 'apps', '-o', 'json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).not.toContain(ENV_SECRET);
      const pod = JSON.parse(r.stdout) as {
        metadata: { annotations: Record<string, string> };
        spec: { containers: { env: { name: string; value: string }[] }[] };
      };
      const copy = pod.metadata.annotations[LAST_APPLIED]!;
      // Still the object as applied, masked as the object is (kubectl apply can still read it).
      expect(copy.endsWith('\n')).toBe(true);
      const applied = JSON.parse(copy) as typeof pod;
      expect(applied.spec.containers[0]!.env).toEqual(pod.spec.containers[0]!.env);
      expect(applied.spec.containers[0]!.env).toContainEqual({
        name: 'DB_PASSWORD',
        value: '[REDACTED:env]',
      });
      expect(applied.spec.containers[0]!.env).toContainEqual({ name: 'LOG_LEVEL', value: 'debug' });
    },
  );

  it.skipIf(!haveKubectl)('kubectl get secret -o json and kubectl get secrets show no data', async () => {
    const one = await gw.kubectl(reader, ['get', 'secret', 'applied-creds', '-n', 'apps', '-o', 'json']);
    expect(one.code).toBe(0);
    expectNoSecret(one.stdout);
    const table = await gw.kubectl(reader, ['get', 'secrets', '-n', 'apps']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/applied-creds\s+Opaque\s+2/);
  });

  it("a Secret's metadata alone (as=PartialObjectMetadata) carries no copy of its data", async () => {
    const r = await get(
      '/api/v1/namespaces/apps/secrets/applied-creds',
      'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1',
    );
    expect(r.status).toBe(200);
    expectNoSecret(r.body);
    const o = JSON.parse(r.body) as { kind: string; metadata: { annotations: Record<string, string> } };
    expect(o.kind).toBe('PartialObjectMetadata');
    expect(o.metadata.annotations[LAST_APPLIED]).toBe('[REDACTED:secret]');
  });

  it("nor do a Table's rows (kubectl get secrets), a metadata list, or a metadata watch", async () => {
    for (const [target, accept] of [
      ['/api/v1/namespaces/apps/secrets', TABLE_ACCEPT],
      ['/api/v1/namespaces/apps/secrets?includeObject=Object', TABLE_ACCEPT],
      ['/api/v1/namespaces/apps/secrets', 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1'],
      [
        '/api/v1/namespaces/apps/secrets?watch=true',
        'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1',
      ],
    ] as const) {
      const r = await get(target, accept);
      expect(r.status, target).toBe(200);
      expect(r.body, `${target} ${accept}`).toContain('applied-creds');
      expectNoSecret(r.body);
    }
  });
});
