// A ConfigMap's values reach a masked principal masked (docs/kubernetes.md §Masking): entries under
// sensitive names whole, the files it holds by their field names, then the detectors. What a value holds
// only inside an encoding the masking cannot read — a Helm release kept by Helm's ConfigMap driver
// (base64 of gzip of its JSON: the chart's values and the rendered manifest, Secrets included), a gzip'd
// file or a DER private key in `binaryData` — went out as it came (docs/security.md class 357). Real
// kubectl and a raw request through Gatehouse against the fake API server.

import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyConfig } from '../src/config/policy-schema.js';
import { KUBERNETES_DISCOVERY_URLS } from '../src/policy/index.js';
import { hasCommand } from './testkit/commands.js';
import { DER_KEY, HELM_SECRETS, startFakeKubeApi, type FakeKubeApi } from './testkit/kube-api.js';
import { startKubeTestGateway, type KubeTestGateway } from './testkit/kube-gateway.js';

const haveKubectl = hasCommand('kubectl');

/** `reader` may read ConfigMaps, masked. */
const READER: PolicyConfig = {
  id: 'reader',
  subjects: { subjects: ['reader'] },
  connections: ['prod-k8s'],
  rules: [
    { id: 'reader-discovery', effect: 'allow', match: { nonResourceURLs: [...KUBERNETES_DISCOVERY_URLS] } },
    {
      id: 'reader-masked',
      effect: 'allow',
      match: { verbs: ['get', 'list', 'watch'], resources: ['configmaps'] },
      mask: true,
    },
  ],
};

/** Every form a ConfigMap's value can be read back in: as sent, base64-decoded, and gunzipped. */
function readings(v: string): Buffer[] {
  const out = [Buffer.from(v, 'utf8')];
  const bytes = Buffer.from(v, 'base64');
  out.push(bytes);
  try {
    out.push(gunzipSync(bytes));
  } catch {
    // not gzip
  }
  return out;
}

/** What of `secrets` (and the DER key) any value of the ConfigMaps in `doc` still gives away. */
function leaked(doc: unknown): string[] {
  const found: string[] = [];
  const visit = (x: unknown): void => {
    if (typeof x === 'string') {
      for (const b of readings(x)) {
        for (const s of HELM_SECRETS) if (b.includes(s)) found.push(s);
        if (b.includes(DER_KEY)) found.push('the DER private key');
        // The manifest's Secret holds its value base64-encoded, as a Secret's data does.
        const text = b.toString('latin1');
        for (const m of text.matchAll(/[A-Za-z0-9+/]{16,}={0,2}/g))
          for (const s of HELM_SECRETS)
            if (Buffer.from(m[0], 'base64').includes(s)) found.push(`${s} (base64)`);
      }
    } else if (Array.isArray(x)) x.forEach(visit);
    else if (typeof x === 'object' && x !== null) Object.values(x).forEach(visit);
  };
  visit(doc);
  return [...new Set(found)];
}

describe('ConfigMap values inside an encoding', { timeout: 60_000 }, () => {
  let api: FakeKubeApi;
  let gw: KubeTestGateway;
  let reader: string;

  beforeAll(async () => {
    api = await startFakeKubeApi();
    gw = await startKubeTestGateway({ api, policies: [READER] });
    reader = await gw.token({ subject: 'reader', agent: true });
  });

  afterAll(async () => {
    await gw?.stop();
    await api?.close();
  });

  it.skipIf(!haveKubectl)(
    "a Helm release kept in a ConfigMap reaches a masked principal without the chart's secrets",
    async () => {
      const r = await gw.kubectl(reader, [
        'get',
        'configmap',
        '-n',
        'helm',
        'sh.helm.release.v1.web.v1',
        '-o',
        'json',
      ]);
      expect(r.code, r.stderr).toBe(0);
      const doc = JSON.parse(r.stdout) as { metadata: { labels: Record<string, string> } };
      expect(leaked(doc), 'what kubectl get printed gives away').toEqual([]);
      // What it is stays readable: the release's name and owner.
      expect(doc.metadata.labels.owner).toBe('helm');
    },
  );

  it.skipIf(!haveKubectl)(
    'a gzip’d file and a DER private key in binaryData reach a masked principal masked, in a list too',
    async () => {
      const one = await gw.kubectl(reader, ['get', 'configmap', '-n', 'helm', 'bundle', '-o', 'json']);
      expect(one.code, one.stderr).toBe(0);
      const bundle = JSON.parse(one.stdout) as { data: Record<string, string> };
      expect(leaked(bundle), 'what kubectl get printed gives away').toEqual([]);
      expect(bundle.data['note.txt']).toBe('plain text');
      const list = await gw.send(reader, 'GET', '/api/v1/namespaces/helm/configmaps');
      expect(list.status).toBe(200);
      expect(leaked(JSON.parse(list.body)), 'what the list gave away').toEqual([]);
    },
  );
});
