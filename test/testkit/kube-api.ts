// A small, faithful fake Kubernetes API server for tests with real kubectl (no cluster needed): HTTPS
// with a certificate from a test CA, bearer-token auth with the cluster credential only Gatehouse holds,
// legacy discovery, pods / namespaces / secrets get, list, watch and delete (pod lists narrowed by a
// fieldSelector read as the API server reads it), logs with follow, and exec over the v5/v4 WebSocket
// channel protocol with exit codes on the status channel. Every request it receives is kept, and every
// message an exec session receives, so tests can assert what never reached it.

import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { generate } from 'selfsigned';
import { WebSocketServer, type WebSocket } from 'ws';

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly authorization: string | undefined;
  readonly headers: Record<string, string | string[] | undefined>;
}

/** An exec into this pod is declined by a webhook whose message quotes DECLINED_EXEC_SECRET. */
export const DECLINED_EXEC_POD = 'webhook-guarded';
export const DECLINED_EXEC_SECRET = 'db_password=Hunter2-declined-Zq81 key AKIAQWERTYUIOPASDF12';

/**
 * An exec of this command fails in the runtime: the API server's status message quotes
 * STATUS_SECRET (as a runtime error can quote a file or the command's output), and it closes the
 * WebSocket with a reason that quotes it too.
 */
/** A private key a pod's log prints (`kubectl logs --tail=40`), one line per write. */
export const LOGGED_KEY = [
  '-----BEGIN RSA PRIVATE KEY-----',
  'MIICXgIBAAKBgQDvJRimdZenfajYSkS+rqvLPHlAhB428O/IrNGH20RlLsMw0lRG',
  '0/CHFOLTkwG/L1ci5CPlYYEhrBNhI87cTxIug+OiY2TotRH4aBHNSgp50WVCrCT4',
  'y2nBaIDLm7oEs0qng+JZgL2vr8QbkPEI4vHbNG7guuEg3/goabaxaHDrGQIDAQAB',
  'AoGAfOT/2beiS2waKVOoUXnB6POdU69sZD8yy7hN+cjvEHT6pd3C+/amMLYcvGiT',
  '-----END RSA PRIVATE KEY-----',
].join('\n');

export const STATUS_SECRET_COMMAND = 'cat /etc/app/status-failure';
export const STATUS_SECRET = 'open /etc/app/creds: db_password=Hunter2-status-Kq55 key AKIAZXCVBNMASDFGH123';

export interface FakeKubeApi {
  readonly url: string;
  readonly caPem: string;
  /** The cluster credential (what Gatehouse holds; never an agent). */
  readonly token: string;
  readonly seen: SeenRequest[];
  /** Exec sessions: argv, options and subprotocol as received, every message received, and whether it closed. */
  readonly execs: {
    command: string[];
    container: string;
    protocol: string;
    tty: boolean;
    stdin: boolean;
    received: Buffer[];
    closed: boolean;
  }[];
  /** Sends the next log line to followers and ends their streams. */
  finishLogs(): void;
  /** Log streams of container `flood` (lines as fast as they are read): opened, closed, bytes sent. */
  floods(): { opened: number; closed: number; bytes: number };
  close(): Promise<void>;
}

export async function makeTestCa(cn = 'Gatehouse Test CA') {
  return generate([{ name: 'commonName', value: cn }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
}

export async function makeLeaf(ca: { private: string; cert: string }, cn: string) {
  return generate([{ name: 'commonName', value: cn }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
}

const CREATED = '2026-01-01T00:00:00Z';

export const SECRET_VALUE = 'S3cr3t-P@ssw0rd-for-db-2026';
/** What the ConfigMap `app-config` holds in its files and entries (no detector finds these values). */
export const CONFIG_SECRETS = ['cm-env-pw-31', 'cm-props-pw-32', 'cm-yaml-key-33'] as const;

function appConfig(namespace: string) {
  return {
    kind: 'ConfigMap',
    apiVersion: 'v1',
    metadata: { name: 'app-config', namespace, resourceVersion: '7', creationTimestamp: CREATED },
    data: {
      DB_PASSWORD: CONFIG_SECRETS[0],
      LOG_LEVEL: 'debug',
      'application.properties': `db.url=jdbc:postgresql://db/app\ndb.password=${CONFIG_SECRETS[1]}\n`,
      'config.yaml': `server:\n  port: 8080\n  api_key: ${CONFIG_SECRETS[2]}\n`,
    },
  };
}
/**
 * What the ConfigMaps of namespace `helm` hold only inside an encoding: a Helm release kept by Helm's
 * ConfigMap driver (`data.release`: base64 of gzip of the release's JSON, whose chart values and rendered
 * manifest hold HELM_SECRETS[0] and a Secret's base64 data of HELM_SECRETS[1]), a gzip'd `.env` file in
 * `binaryData`, and a DER private key in `binaryData` (no detector reads any of them as they are sent).
 */
export const HELM_SECRETS = ['helm-values-pw-71', 'helm-manifest-pw-72', 'gz-env-pw-73'] as const;
export const DER_KEY = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
  format: 'der',
  type: 'pkcs8',
});

function encodedConfigMaps(): Map<string, object> {
  const release = {
    name: 'web',
    namespace: 'helm',
    version: 1,
    info: { status: 'deployed' },
    config: { db: { host: 'db', password: HELM_SECRETS[0] } },
    manifest: `---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: web-db\ntype: Opaque\ndata:\n  uri: ${Buffer.from(`postgres://app:${HELM_SECRETS[1]}@db/app`).toString('base64')}\n`,
  };
  const meta = (name: string, labels?: Record<string, string>) => ({
    name,
    namespace: 'helm',
    resourceVersion: '9',
    creationTimestamp: CREATED,
    ...(labels ? { labels } : {}),
  });
  return new Map<string, object>([
    [
      'sh.helm.release.v1.web.v1',
      {
        kind: 'ConfigMap',
        apiVersion: 'v1',
        metadata: meta('sh.helm.release.v1.web.v1', {
          name: 'web',
          owner: 'helm',
          status: 'deployed',
          version: '1',
        }),
        data: { release: gzipSync(JSON.stringify(release)).toString('base64') },
      },
    ],
    [
      'bundle',
      {
        kind: 'ConfigMap',
        apiVersion: 'v1',
        metadata: meta('bundle'),
        data: { 'note.txt': 'plain text' },
        binaryData: {
          'settings.env.gz': gzipSync(`LOG_LEVEL=debug\nDB_PASSWORD=${HELM_SECRETS[2]}\n`).toString('base64'),
          'client.key.der': DER_KEY.toString('base64'),
        },
      },
    ],
  ]);
}

export const ENV_SECRET = 'hunter2-super-secret-value';
/** An AWS access key id the masking detectors recognise, printed by `cat /etc/app/config`. */
export const EXEC_SECRET = 'AKIAIOSFODNN7EXAMPLE';
/** What the fake pod's `env` prints under DB_PASSWORD and GITHUB_TOKEN: no detector recognises either. */
export const ENV_PASSWORD = 'correct-horse-battery';
export const ENV_TOKEN = 'plain0ld7okenText';

function pod(name: string, namespace: string) {
  return {
    kind: 'Pod',
    apiVersion: 'v1',
    metadata: { name, namespace, uid: `uid-${name}`, resourceVersion: '10', creationTimestamp: CREATED },
    spec: {
      // The API server's defaulting always sets it (kubectl 1.34's `debug` reads it without a nil check).
      securityContext: {},
      containers: [
        {
          name: 'app',
          image: 'example/app:1.0',
          env: [
            { name: 'DB_PASSWORD', value: ENV_SECRET },
            { name: 'LOG_LEVEL', value: 'debug' },
          ],
        },
      ],
    },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True' }],
      containerStatuses: [
        { name: 'app', ready: true, restartCount: 0, state: { running: { startedAt: CREATED } } },
      ],
    },
  };
}

/**
 * What a pod holds under sensitive field names elsewhere than its env (an annotation's name, a text an
 * annotation holds, a container argument): no detector recognises it (docs/security.md, class 158).
 */
export const FIELD_SECRET = 'hunter2plain-field';

/**
 * What a service reached through the API server's proxy (`services/<name>/proxy/…`) puts in its answer's
 * headers: an echoed key, a token in a redirect, an address, and a webhook-style Warning quoting a value.
 */
export const PROXY_HEADER_SECRET = 'prx-hunter2plain-91';
export const PROXY_TOKEN = 'prx0tokenvalue77';

/**
 * A pod with FIELD_SECRET under field names, and the structure clients decode into types beside it: a
 * `secret` volume (its `defaultMode` a number), the token volume's `expirationSeconds`.
 */
function configuredPod(name: string, namespace: string) {
  const p = pod(name, namespace);
  (p.metadata as Record<string, unknown>).annotations = {
    'example.com/db-password': FIELD_SECRET,
    'example.com/config': `mode: fast\npassword: ${FIELD_SECRET}\n`,
  };
  const spec = p.spec as Record<string, unknown>;
  spec.automountServiceAccountToken = true;
  spec.containers = [
    {
      name: 'app',
      image: 'example/app:1.0',
      args: ['--port=8080', `--db-password=${FIELD_SECRET}`],
      env: [{ name: 'LOG_LEVEL', value: 'debug' }],
    },
  ];
  spec.volumes = [
    { name: 'tls', secret: { secretName: 'api-tls', defaultMode: 420 } },
    {
      name: 'kube-api-access-c1',
      projected: { sources: [{ serviceAccountToken: { expirationSeconds: 3607, path: 'token' } }] },
    },
  ];
  return p;
}

function podWithSecrets(name: string, namespace: string) {
  const p = pod(name, namespace);
  const spec = p.spec as Record<string, unknown>;
  spec.containers = [
    {
      name: 'app',
      image: 'example/app:1.0',
      env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db-creds', key: 'password' } } }],
      volumeMounts: [
        { name: 'tls', mountPath: '/etc/tls', readOnly: true },
        { name: 'kube-api-access-x1', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' },
      ],
    },
  ];
  spec.volumes = [
    { name: 'tls', secret: { secretName: 'api-tls' } },
    { name: 'kube-api-access-x1', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } },
  ];
  return p;
}

function podWithDefaultToken(name: string, namespace: string) {
  const p = pod(name, namespace);
  const spec = p.spec as Record<string, unknown>;
  spec.serviceAccountName = 'default';
  spec.containers = [
    {
      name: 'app',
      image: 'example/app:1.0',
      env: [{ name: 'LOG_LEVEL', value: 'debug' }],
      volumeMounts: [
        {
          name: 'kube-api-access-d1',
          mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
          readOnly: true,
        },
      ],
    },
  ];
  spec.volumes = [
    {
      name: 'kube-api-access-d1',
      projected: {
        sources: [
          { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
          { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
        ],
      },
    },
  ];
  return p;
}

function plainPod(name: string, namespace: string) {
  const p = pod(name, namespace);
  const spec = p.spec as Record<string, unknown>;
  spec.automountServiceAccountToken = false;
  spec.containers = [{ name: 'app', image: 'example/app:1.0', env: [{ name: 'LOG_LEVEL', value: 'debug' }] }];
  return p;
}

/**
 * What a node agent reads from the node: a file under the kubelet's directory of another pod's Secret
 * volume, or a file a CSI secrets-store volume mounts (docs/security.md, class 250).
 */
export const NODE_SECRET = 'node-k3y-from-kubelet-dir-77';
export const NODE_SECRET_FILE =
  '/host/root/var/lib/kubelet/pods/uid-api/volumes/kubernetes.io~secret/tls/password';
export const CSI_SECRET_FILE = '/mnt/secrets-store/db-password';

/**
 * A node agent as monitoring charts run one (prometheus-node-exporter's defaults): the host's PID
 * namespace, the node's `/` mounted read-only, and no service account token.
 */
function nodeAgentPod(name: string, namespace: string) {
  const p = plainPod(name, namespace);
  const spec = p.spec as Record<string, unknown>;
  spec.hostPID = true;
  spec.containers = [
    {
      name: 'agent',
      image: 'example/node-exporter:1.8',
      volumeMounts: [{ name: 'root', mountPath: '/host/root', readOnly: true }],
    },
  ];
  spec.volumes = [{ name: 'root', hostPath: { path: '/' } }];
  return p;
}

/** A pod given a cloud secret store's values as files by the Secrets Store CSI driver (no token). */
function csiSecretsPod(name: string, namespace: string) {
  const p = plainPod(name, namespace);
  const spec = p.spec as Record<string, unknown>;
  spec.containers = [
    {
      name: 'app',
      image: 'example/app:1.0',
      volumeMounts: [{ name: 'secrets-store', mountPath: '/mnt/secrets-store', readOnly: true }],
    },
  ];
  spec.volumes = [
    {
      name: 'secrets-store',
      csi: {
        driver: 'secrets-store.csi.k8s.io',
        readOnly: true,
        volumeAttributes: { secretProviderClass: 'db-creds-aws' },
      },
    },
  ];
  return p;
}

/**
 * A pod that takes the ConfigMap `app-config` (whose DB_PASSWORD a masked ConfigMap read hides) into
 * its environment: whole (`envFrom`), or one key under a sensitive name (class 253).
 */
function configEnvPod(name: string, namespace: string, whole: boolean) {
  const p = plainPod(name, namespace);
  const spec = p.spec as Record<string, unknown>;
  spec.containers = [
    {
      name: 'app',
      image: 'example/app:1.0',
      ...(whole
        ? {
            envFrom: [
              { configMapRef: { name: 'app-config' } },
              { configMapRef: { name: 'absent', optional: true } },
            ],
          }
        : {
            env: [
              {
                name: 'DB_PASSWORD',
                valueFrom: { configMapKeyRef: { name: 'app-config', key: 'DB_PASSWORD' } },
              },
            ],
          }),
    },
  ];
  return p;
}

/** A pod that mounts the ConfigMap `app-config` whole at /etc/app: its DB_PASSWORD entry is a file. */
function configFilesPod(name: string, namespace: string) {
  const p = plainPod(name, namespace);
  const spec = p.spec as Record<string, unknown>;
  spec.containers = [
    {
      name: 'app',
      image: 'example/app:1.0',
      volumeMounts: [{ name: 'config', mountPath: '/etc/app', readOnly: true }],
    },
  ];
  spec.volumes = [{ name: 'config', configMap: { name: 'app-config' } }];
  return p;
}

/**
 * The Vault Agent Injector's shape: a `vault-agent` sidecar with its own token renders secrets into an
 * emptyDir the app container mounts at /vault/secrets; the app container names no Secret and holds no
 * token (class 250).
 */
export const VAULT_FILE = '/vault/secrets/db';
function vaultAgentPod(name: string, namespace: string) {
  const p = plainPod(name, namespace);
  const spec = p.spec as Record<string, unknown>;
  spec.containers = [
    {
      name: 'app',
      image: 'example/app:1.0',
      volumeMounts: [{ name: 'vault-secrets', mountPath: '/vault/secrets' }],
    },
    {
      name: 'vault-agent',
      image: 'hashicorp/vault:1.17',
      volumeMounts: [
        { name: 'vault-secrets', mountPath: '/vault/secrets' },
        { name: 'vault-token', mountPath: '/var/run/secrets/vault' },
      ],
    },
  ];
  spec.volumes = [
    { name: 'vault-secrets', emptyDir: { medium: 'Memory' } },
    {
      name: 'vault-token',
      projected: { sources: [{ serviceAccountToken: { path: 'token', audience: 'vault' } }] },
    },
  ];
  return p;
}

/** A pod whose app container has no Secrets, and a debug container in its process namespace. */
function debuggedPod(name: string, namespace: string) {
  const p = plainPod(name, namespace);
  const spec = p.spec as Record<string, unknown>;
  spec.containers = [
    {
      name: 'app',
      image: 'example/app:1.0',
      env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db-creds', key: 'password' } } }],
    },
  ];
  spec.ephemeralContainers = [
    { name: 'debugger', image: 'busybox:1.36', targetContainerName: 'app', stdin: true, tty: true },
  ];
  return p;
}

function namespaceObj(name: string) {
  return {
    kind: 'Namespace',
    apiVersion: 'v1',
    metadata: { name, uid: `uid-ns-${name}`, resourceVersion: '5', creationTimestamp: CREATED },
    status: { phase: 'Active' },
  };
}

function secret(name: string, namespace: string) {
  return {
    kind: 'Secret',
    apiVersion: 'v1',
    metadata: { name, namespace, uid: `uid-s-${name}`, resourceVersion: '7', creationTimestamp: CREATED },
    type: 'Opaque',
    data: {
      password: Buffer.from(SECRET_VALUE).toString('base64'),
      user: Buffer.from('app').toString('base64'),
    },
  };
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * An object as `kubectl apply` leaves it: with the last-applied annotation, the object as applied
 * (what kubectl sent, without status or server-set metadata) in JSON with a trailing newline.
 */
function applied<
  T extends { kind: string; apiVersion: string; metadata: { name: string; namespace: string } },
>(x: T): T {
  const { status: _status, ...sent } = x as T & { status?: unknown };
  const copy = { ...sent, metadata: { name: x.metadata.name, namespace: x.metadata.namespace } };
  return {
    ...x,
    metadata: { ...x.metadata, annotations: { [LAST_APPLIED]: `${JSON.stringify(copy)}\n` } },
  };
}

type Meta = { name: string; namespace?: string; creationTimestamp?: string };

/**
 * The representation an `Accept` header asks for, as the API server negotiates it: the first media
 * range it serves, where `application/json;as=Table;g=meta.k8s.io;v=v1` (or v1beta1) is a Table,
 * `as=PartialObjectMetadata` a single object's metadata and `as=PartialObjectMetadataList` a list's.
 */
function asRequested(
  accept: string | undefined,
): 'Table' | 'PartialObjectMetadata' | 'PartialObjectMetadataList' | 'plain' {
  for (const range of (accept ?? '').split(',')) {
    const [type, ...params] = range.split(';').map((p) => p.trim());
    if (type !== 'application/json' && type !== '*/*' && type !== 'application/*') continue;
    const p = new Map(params.map((kv) => kv.split('=') as [string, string]));
    const as = p.get('as');
    if (as === undefined) return 'plain';
    if (p.get('g') !== 'meta.k8s.io' || !['v1', 'v1beta1'].includes(p.get('v') ?? '')) continue;
    if (as === 'Table' || as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') return as;
  }
  return 'plain';
}

function partialMetadata(x: { metadata: Meta }) {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: x.metadata };
}

/**
 * A Secret, or a list of them, in the representation the request asks for (asRequested): a Table's
 * rows carry the object as `includeObject` says (default `Metadata`: its PartialObjectMetadata).
 * Undefined when the request asks for a form the API server would refuse for it (406).
 */
function secretsAs(
  u: URL,
  accept: string | undefined,
  items: readonly ReturnType<typeof secret>[],
  single: boolean,
): unknown {
  const as = asRequested(accept);
  if (as === 'PartialObjectMetadata') return single ? partialMetadata(items[0]!) : undefined;
  if (as === 'PartialObjectMetadataList')
    return single
      ? undefined
      : {
          kind: 'PartialObjectMetadataList',
          apiVersion: 'meta.k8s.io/v1',
          metadata: { resourceVersion: '7' },
          items: items.map(partialMetadata),
        };
  if (as === 'Table') {
    const include = u.searchParams.get('includeObject') ?? 'Metadata';
    return {
      kind: 'Table',
      apiVersion: 'meta.k8s.io/v1',
      metadata: { resourceVersion: '7' },
      columnDefinitions: [
        { name: 'Name', type: 'string', format: 'name', description: 'Name', priority: 0 },
        { name: 'Type', type: 'string', format: '', description: 'Secret type', priority: 0 },
        { name: 'Data', type: 'string', format: '', description: 'Data entries', priority: 0 },
        { name: 'Age', type: 'string', format: '', description: 'Age', priority: 0 },
      ],
      rows: items.map((x) => ({
        cells: [x.metadata.name, x.type, Object.keys(x.data).length, '1d'],
        ...(include === 'None' ? {} : { object: include === 'Object' ? x : partialMetadata(x) }),
      })),
    };
  }
  return single
    ? items[0]
    : {
        kind: 'SecretList',
        apiVersion: 'v1',
        metadata: { resourceVersion: '7' },
        items: items.map(listItem),
      };
}

const RESOURCES = {
  kind: 'APIResourceList',
  groupVersion: 'v1',
  resources: [
    {
      name: 'pods',
      singularName: 'pod',
      namespaced: true,
      kind: 'Pod',
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: ['po'],
    },
    {
      name: 'pods/exec',
      singularName: '',
      namespaced: true,
      kind: 'PodExecOptions',
      verbs: ['create', 'get'],
    },
    { name: 'pods/log', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] },
    {
      name: 'pods/ephemeralcontainers',
      singularName: '',
      namespaced: true,
      kind: 'Pod',
      verbs: ['get', 'patch', 'update'],
    },
    {
      name: 'nodes',
      singularName: 'node',
      namespaced: false,
      kind: 'Node',
      verbs: ['get', 'list', 'watch'],
      shortNames: ['no'],
    },
    {
      name: 'namespaces',
      singularName: 'namespace',
      namespaced: false,
      kind: 'Namespace',
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: ['ns'],
    },
    {
      name: 'persistentvolumes',
      singularName: 'persistentvolume',
      namespaced: false,
      kind: 'PersistentVolume',
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: ['pv'],
    },
    {
      name: 'secrets',
      singularName: 'secret',
      namespaced: true,
      kind: 'Secret',
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    },
    {
      name: 'services',
      singularName: 'service',
      namespaced: true,
      kind: 'Service',
      verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: ['svc'],
    },
    {
      name: 'services/status',
      singularName: '',
      namespaced: true,
      kind: 'Service',
      verbs: ['get', 'patch', 'update'],
    },
    {
      name: 'endpoints',
      singularName: 'endpoints',
      namespaced: true,
      kind: 'Endpoints',
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: ['ep'],
    },
    {
      name: 'configmaps',
      singularName: 'configmap',
      namespaced: true,
      kind: 'ConfigMap',
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: ['cm'],
    },
  ],
};

/** RBAC's group in discovery (so `kubectl create -f` of a Role or binding maps its kind); no objects. */
const RBAC_GROUP = {
  name: 'rbac.authorization.k8s.io',
  versions: [{ groupVersion: 'rbac.authorization.k8s.io/v1', version: 'v1' }],
  preferredVersion: { groupVersion: 'rbac.authorization.k8s.io/v1', version: 'v1' },
};
const RBAC_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
const RBAC_RESOURCES = {
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion: 'rbac.authorization.k8s.io/v1',
  resources: [
    ['roles', 'Role', true],
    ['rolebindings', 'RoleBinding', true],
    ['clusterroles', 'ClusterRole', false],
    ['clusterrolebindings', 'ClusterRoleBinding', false],
  ].map(([name, kind, namespaced]) => ({
    name,
    singularName: String(kind).toLowerCase(),
    namespaced,
    kind,
    verbs: RBAC_VERBS,
  })),
};

/**
 * More API groups in discovery, for `startFakeKubeApi({ moreGroups: true })`: so kubectl maps the kinds
 * of workloads, runtime classes, DRA claims, Ingresses and Gateway API routes (no objects of them).
 */
const MORE_GROUPS: [group: string, version: string, resources: [string, string, boolean][]][] = [
  [
    'apps',
    'v1',
    [
      ['statefulsets', 'StatefulSet', true],
      ['statefulsets/status', 'StatefulSet', true],
      ['deployments', 'Deployment', true],
    ],
  ],
  ['node.k8s.io', 'v1', [['runtimeclasses', 'RuntimeClass', false]]],
  [
    'resource.k8s.io',
    'v1beta1',
    [
      ['resourceclaims', 'ResourceClaim', true],
      ['resourceclaims/status', 'ResourceClaim', true],
      ['resourceclaimtemplates', 'ResourceClaimTemplate', true],
    ],
  ],
  [
    'networking.k8s.io',
    'v1',
    [
      ['ingresses', 'Ingress', true],
      ['ingresses/status', 'Ingress', true],
    ],
  ],
  [
    'gateway.networking.k8s.io',
    'v1',
    [
      ['httproutes', 'HTTPRoute', true],
      ['gateways', 'Gateway', true],
    ],
  ],
];
const moreGroup = ([name, version]: (typeof MORE_GROUPS)[number]) => ({
  name,
  versions: [{ groupVersion: `${name}/${version}`, version }],
  preferredVersion: { groupVersion: `${name}/${version}`, version },
});
const moreResources = ([name, version, resources]: (typeof MORE_GROUPS)[number]) => ({
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion: `${name}/${version}`,
  resources: resources.map(([r, kind, namespaced]) => ({
    name: r,
    singularName: r.includes('/') ? '' : kind.toLowerCase(),
    namespaced,
    kind,
    verbs: r.includes('/') ? ['get', 'patch', 'update'] : RBAC_VERBS,
  })),
});

/**
 * An object as a list response carries it: without `kind` and `apiVersion`, which the API server sets
 * on the list alone (kubernetes/kubernetes#3030; watch events and single objects carry them).
 */
function listItem<T extends { kind?: string; apiVersion?: string }>(x: T): Omit<T, 'kind' | 'apiVersion'> {
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = x;
  return rest;
}

function notFound(res: ServerResponse, what: string): void {
  json(res, 404, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: `${what} not found`,
    reason: 'NotFound',
    code: 404,
  });
}

function notAcceptable(res: ServerResponse): void {
  json(res, 406, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: 'the server was unable to respond with a content type that the client supports',
    reason: 'NotAcceptable',
    code: 406,
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * A boolean query parameter as the API server reads it (runtime.Convert_Slice_string_To_bool): absent
 * is false, the first value "0" or "false" (any case) is false, anything else — "f", "no", "" — true.
 */
export function goBool(values: readonly string[]): boolean {
  const v = values[0];
  if (v === undefined) return false;
  return !(v === '0' || v.toLowerCase() === 'false');
}

/**
 * A pod list's fieldSelector as the API server reads it (fields.ParseSelector: split on unescaped
 * commas, terms sorted, empty ones skipped, each split at its first `!=`, `==` or `=` with nothing
 * trimmed, `\\` `\,` `\=` the only escapes), then the pod field labels it supports. An error is the
 * API server's 400.
 */
export function podSelector(
  selector: string | null,
):
  | { ok: true; matches: (pod: { metadata: { name: string; namespace: string } }) => boolean }
  | { ok: false; error: string } {
  if (selector === null || selector === '') return { ok: true, matches: () => true };
  const terms = selector
    .split(/(?<!(?:^|[^\\])(?:\\\\)*\\),/)
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  const checks: ((pod: { metadata: { name: string; namespace: string } }) => boolean)[] = [];
  for (const term of terms) {
    if (term === '') continue;
    const m = /^(.*?)(!=|==|=)(.*)$/s.exec(term);
    if (!m) return { ok: false, error: `invalid selector: '${selector}'; can't understand '${term}'` };
    const [, field, op, raw] = m as unknown as [string, string, string, string];
    if (/(?:^|[^\\])(?:\\\\)*\\(?![\\,=])|(?:^|[^\\])(?:\\\\)*[,=]/.test(raw))
      return { ok: false, error: `invalid field selector: bad value in '${term}'` };
    const value = raw.replace(/\\([\\,=])/g, '$1');
    const get =
      field === 'metadata.name'
        ? (p: { metadata: { name: string } }) => p.metadata.name
        : field === 'metadata.namespace'
          ? (p: { metadata: { namespace: string } }) => p.metadata.namespace
          : undefined;
    if (!get) return { ok: false, error: `field label not supported: ${field}` };
    checks.push((p) => (get(p) === value) === (op !== '!='));
  }
  return { ok: true, matches: (p) => checks.every((c) => c(p)) };
}

/**
 * A JSON body decoded as the API server decodes it into a built-in (typed) object: sigs.k8s.io/json,
 * encoding/json's decoder made case-sensitive. A key given twice is decoded again into what the first
 * left: objects (structs, pointers to structs, maps) merge key by key, arrays reuse their elements by
 * position (then take the later length), scalars and null are replaced. Checked against Go's
 * encoding/json (a Pod's `spec` given twice keeps `hostPID` and a container's `securityContext` from
 * the first). What JSON.parse keeps is only the last value of each key.
 */
export function goTypedDecode(text: string): unknown {
  let i = 0;
  const ws = (): void => {
    while (/\s/.test(text[i] ?? '')) i++;
  };
  const into = (prev: unknown): unknown => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const obj: Record<string, unknown> =
        prev !== null && typeof prev === 'object' && !Array.isArray(prev)
          ? (prev as Record<string, unknown>)
          : {};
      ws();
      if (text[i] === '}') {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        const key = into(undefined) as string;
        ws();
        if (text[i++] !== ':') throw new Error(`invalid JSON at ${i}`);
        obj[key] = into(Object.hasOwn(obj, key) ? obj[key] : undefined);
        ws();
        const n = text[i++];
        if (n === '}') return obj;
        if (n !== ',') throw new Error(`invalid JSON at ${i}`);
      }
    }
    if (c === '[') {
      i++;
      const old = Array.isArray(prev) ? (prev as unknown[]) : [];
      const arr: unknown[] = [];
      ws();
      if (text[i] === ']') {
        i++;
        return arr;
      }
      for (;;) {
        arr.push(into(old[arr.length]));
        ws();
        const n = text[i++];
        if (n === ']') return arr;
        if (n !== ',') throw new Error(`invalid JSON at ${i}`);
      }
    }
    // A scalar: the JSON text of one string, number, true, false or null.
    const m = /^(?:"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i));
    if (!m) throw new Error(`invalid JSON at ${i}`);
    i += m[0].length;
    return JSON.parse(m[0]) as unknown;
  };
  const v = into(undefined);
  ws();
  if (i !== text.length) throw new Error('invalid JSON: trailing data');
  return v;
}

/**
 * A JSON patch (RFC 6902) applied as the API server applies one (evanphx/json-patch): a JSON array of
 * operations, each an object whose `op` is add, remove, replace, move, copy or test; paths are JSON
 * pointers (`~1` is `/`, `~0` is `~`); `add` needs the parent to exist, `remove` and `replace` the
 * target, `move` and `copy` their `from`; a failed `test` fails the whole patch. Throws what the API
 * server answers 422 for. Works on a copy; returns the patched document.
 */
export function applyJsonPatch(doc: unknown, patchText: string): unknown {
  const patch = JSON.parse(patchText) as unknown;
  if (!Array.isArray(patch))
    throw new Error('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  let out = structuredClone(doc);
  const tokens = (path: unknown): string[] => {
    if (typeof path !== 'string' || (path !== '' && !path.startsWith('/')))
      throw new Error(`invalid JSON pointer ${String(path)}`);
    return path === ''
      ? []
      : path
          .slice(1)
          .split('/')
          .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
  };
  const parentOf = (path: unknown): { parent: Record<string, unknown> | unknown[]; key: string } => {
    const t = tokens(path);
    if (t.length === 0) throw new Error('the document root cannot be patched');
    let at: unknown = out;
    for (const k of t.slice(0, -1)) {
      at = Array.isArray(at)
        ? at[Number(k)]
        : at !== null && typeof at === 'object'
          ? (at as Record<string, unknown>)[k]
          : undefined;
      if (at === undefined || at === null || typeof at !== 'object')
        throw new Error(`doc is missing path: ${String(path)}`);
    }
    return { parent: at as Record<string, unknown> | unknown[], key: t.at(-1)! };
  };
  const getAt = (path: unknown): unknown => {
    const { parent, key } = parentOf(path);
    const v = Array.isArray(parent) ? parent[Number(key)] : parent[key];
    if (v === undefined) throw new Error(`doc is missing path: ${String(path)}`);
    return v;
  };
  const remove = (path: unknown): void => {
    getAt(path);
    const { parent, key } = parentOf(path);
    if (Array.isArray(parent)) parent.splice(Number(key), 1);
    else delete parent[key];
  };
  const add = (path: unknown, value: unknown): void => {
    if (tokens(path).length === 0) {
      out = value;
      return;
    }
    const { parent, key } = parentOf(path);
    if (Array.isArray(parent)) parent.splice(key === '-' ? parent.length : Number(key), 0, value);
    else parent[key] = value;
  };
  for (const op of patch as Record<string, unknown>[]) {
    switch (op.op) {
      case 'add':
        add(op.path, structuredClone(op.value));
        break;
      case 'remove':
        remove(op.path);
        break;
      case 'replace':
        remove(op.path);
        add(op.path, structuredClone(op.value));
        break;
      case 'move': {
        const v = getAt(op.from);
        remove(op.from);
        add(op.path, v);
        break;
      }
      case 'copy':
        add(op.path, structuredClone(getAt(op.from)));
        break;
      case 'test':
        if (JSON.stringify(getAt(op.path)) !== JSON.stringify(op.value))
          throw new Error(`testing value ${String(op.path)} failed: test failed`);
        break;
      default:
        throw new Error(`Unexpected kind: ${String(op.op)}`);
    }
  }
  return out;
}

/** What the fake pod's shell does with a command: output and exit code. */
function runCommand(argv: string[]): { stdout: string; stderr: string; code: number } {
  const line = argv.join(' ');
  if (line === 'ls /') return { stdout: 'bin\netc\nusr\nvar\n', stderr: '', code: 0 };
  if (line === 'cat /etc/app/config')
    return { stdout: `region=eu-west-1\naws_access_key_id=${EXEC_SECRET}\n`, stderr: '', code: 0 };
  if (line === `cat ${NODE_SECRET_FILE}` || line === `cat ${CSI_SECRET_FILE}`)
    return { stdout: `${NODE_SECRET}\n`, stderr: '', code: 0 };
  if (line === 'cat /proc/1/environ')
    return {
      stdout: `HOME=/root\0DB_PASSWORD=${ENV_PASSWORD}\0GITHUB_TOKEN=${ENV_TOKEN}\0`,
      stderr: '',
      code: 0,
    };
  if (line === 'env')
    return {
      stdout: `HOME=/root\nDB_PASSWORD=${ENV_PASSWORD}\nGITHUB_TOKEN=${ENV_TOKEN}\nLOG_LEVEL=info\n`,
      stderr: '',
      code: 0,
    };
  if (argv[0] === 'echo') return { stdout: `${argv.slice(1).join(' ')}\n`, stderr: '', code: 0 };
  if (line === `cat ${VAULT_FILE}`) return { stdout: `${NODE_SECRET}\n`, stderr: '', code: 0 };
  if (line === 'cat /etc/app/DB_PASSWORD') return { stdout: `${SECRET_VALUE}\n`, stderr: '', code: 0 };
  if (line === 'printenv DB_PASSWORD') return { stdout: `${SECRET_VALUE}\n`, stderr: '', code: 0 };
  if (line === 'false') return { stdout: '', stderr: '', code: 1 };
  if (argv[0] === 'sh' && argv[1] === '-c' && /^exit \d+$/.test(argv[2] ?? ''))
    return { stdout: '', stderr: '', code: Number((argv[2] ?? '').slice(5)) };
  return { stdout: '', stderr: `sh: ${argv[0] ?? ''}: not found\n`, code: 127 };
}

export async function startFakeKubeApi(
  options: { readonly clientCa?: string; readonly moreGroups?: boolean } = {},
): Promise<FakeKubeApi> {
  const ca = await makeTestCa('Fake Kubernetes CA');
  const leaf = await makeLeaf(ca, 'kube-apiserver');
  const token = `cluster-token-${randomBytes(16).toString('hex')}`;
  const seen: SeenRequest[] = [];
  const execs: FakeKubeApi['execs'] = [];
  const followers = new Set<ServerResponse>();
  const floodBytes = { value: 0 };
  const floods = { opened: 0, closed: 0 };
  const namespaces = new Map([
    ['default', namespaceObj('default')],
    ['prod', namespaceObj('prod')],
  ]);
  const pods = new Map([
    ['default/web', pod('web', 'default')],
    ['default/worker', pod('worker', 'default')],
  ]);
  const secrets = new Map([
    ['default/db-creds', secret('db-creds', 'default')],
    // Made with `kubectl apply`: the last-applied annotation copies the Secret, data and all.
    ['apps/applied-creds', applied(secret('applied-creds', 'apps'))],
  ]);
  // A pod made with `kubectl apply` (its annotation copies the spec, env values and all).
  pods.set('apps/applied', applied(pod('applied', 'apps')));
  // A pod whose container takes a Secret into its environment and mounts another (as the API server
  // keeps it: the service account token's projected volume added).
  pods.set('prod/api', podWithSecrets('api', 'prod'));
  // A pod as the API server keeps one that names no service account: the `default` account's token
  // mounted by admission, and no value under a sensitive name.
  pods.set('default/sa', podWithDefaultToken('sa', 'default'));
  // A pod that holds nothing secret: no token (automountServiceAccountToken: false), no such env.
  pods.set('default/plain', plainPod('plain', 'default'));
  pods.set(`default/${DECLINED_EXEC_POD}`, plainPod(DECLINED_EXEC_POD, 'default'));
  // Pods that reach Secrets without naming one (class 250): a node agent on the node's processes and
  // files, a CSI secrets-store volume, and a debug container in the process namespace of one that does.
  pods.set('monitoring/node-exporter', nodeAgentPod('node-exporter', 'monitoring'));
  pods.set('monitoring/csi-app', csiSecretsPod('csi-app', 'monitoring'));
  pods.set('monitoring/debugged', debuggedPod('debugged', 'monitoring'));
  pods.set('monitoring/cm-env', configEnvPod('cm-env', 'monitoring', true));
  pods.set('monitoring/cm-key', configEnvPod('cm-key', 'monitoring', false));
  pods.set('monitoring/cm-files', configFilesPod('cm-files', 'monitoring'));
  pods.set('monitoring/vault-app', vaultAgentPod('vault-app', 'monitoring'));
  // Pods with a secret under field names that are not env names (two: a list of them comes in pages).
  pods.set('conf/conf-a', configuredPod('conf-a', 'conf'));
  pods.set('conf/conf-b', configuredPod('conf-b', 'conf'));
  /** The list of the `big` namespace, made once. */
  let bigList: Buffer | undefined;

  // A bearer token, or (when a client CA is given) a client certificate it issued.
  const authorized = (req: IncomingMessage) =>
    req.headers.authorization === `Bearer ${token}` ||
    (options.clientCa !== undefined && (req.socket as TLSSocket).authorized);
  const server = https.createServer({
    cert: leaf.cert,
    key: leaf.private,
    ...(options.clientCa ? { ca: options.clientCa, requestCert: true, rejectUnauthorized: false } : {}),
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      authorization: req.headers.authorization,
      headers: { ...req.headers },
    });
    if (!authorized(req)) {
      json(res, 401, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'Unauthorized',
        reason: 'Unauthorized',
        code: 401,
      });
      return;
    }
    const u = new URL(req.url ?? '/', 'https://x');
    const p = u.pathname;
    const m = req.method ?? 'GET';
    if (p === '/api')
      return json(res, 200, {
        kind: 'APIVersions',
        versions: ['v1'],
        serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }],
      });
    if (p === '/apis')
      return json(res, 200, {
        kind: 'APIGroupList',
        apiVersion: 'v1',
        groups: [RBAC_GROUP, ...(options.moreGroups ? MORE_GROUPS.map(moreGroup) : [])],
      });
    if (p === '/apis/rbac.authorization.k8s.io/v1') return json(res, 200, RBAC_RESOURCES);
    const more = options.moreGroups
      ? MORE_GROUPS.find(([name, version]) => p === `/apis/${name}/${version}`)
      : undefined;
    if (more) return json(res, 200, moreResources(more));
    // Any named object of those groups exists, as a bare one (so `kubectl patch` finds what it patches).
    const named = options.moreGroups
      ? /^\/apis\/([^/]+)\/([^/]+)\/(?:namespaces\/([^/]+)\/)?([^/]+)\/([^/]+)(?:\/status)?$/.exec(p)
      : null;
    const kind = named
      ? MORE_GROUPS.find(([g, v]) => g === named[1] && v === named[2])?.[2].find(([r]) => r === named[4])?.[1]
      : undefined;
    if (named && kind && m === 'GET')
      return json(res, 200, {
        apiVersion: `${named[1]}/${named[2]}`,
        kind,
        metadata: {
          name: named[5],
          ...(named[3] ? { namespace: named[3] } : {}),
          resourceVersion: '1',
        },
        spec: {},
        status: {},
      });
    if (p === '/api/v1') return json(res, 200, RESOURCES);
    if (p === '/version')
      return json(res, 200, { major: '1', minor: '32', gitVersion: 'v1.32.0-fake', platform: 'linux/amd64' });
    let r: RegExpExecArray | null;
    if (
      /^\/api\/v1\/namespaces\/[^/]+\/services\/[^/]+\/proxy(?:\/|$)/.test(p) &&
      (m === 'GET' || m === 'HEAD')
    ) {
      // As the API server relays a proxied service's answer: its headers as the service sent them.
      const text = JSON.stringify({ status: 'ok' });
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
        etag: '"v1-abc"',
        'x-api-key': PROXY_HEADER_SECRET,
        'x-owner': 'ann.lee@example.com',
        location: `/login?next=%2F&access_token=${PROXY_TOKEN}`,
        warning: `299 - "spec.env[0]: password=${PROXY_HEADER_SECRET} is stored in plain text"`,
      });
      res.end(m === 'HEAD' ? undefined : text);
      return;
    }
    if (p === '/api/v1/namespaces/big/pods' && m === 'GET') {
      // A large namespace: about 16 MB of pods in one list (items without kind, as the API server sends).
      bigList ??= Buffer.from(
        JSON.stringify({
          kind: 'PodList',
          apiVersion: 'v1',
          metadata: { resourceVersion: '10' },
          items: Array.from({ length: 30_000 }, (_, i) => listItem(pod(`big-${i}`, 'big'))),
        }),
      );
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': bigList.length });
      res.end(bigList);
      return;
    }
    if ((r = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(p)) && m === 'GET') {
      const selected = podSelector(u.searchParams.get('fieldSelector'));
      if (!selected.ok)
        return json(res, 400, {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: selected.error,
          reason: 'BadRequest',
          code: 400,
        });
      const items = [...pods.values()].filter((x) => x.metadata.namespace === r![1] && selected.matches(x));
      if (goBool(u.searchParams.getAll('watch'))) {
        res.writeHead(200, { 'content-type': 'application/json' });
        for (const item of items) res.write(`${JSON.stringify({ type: 'ADDED', object: item })}\n`);
        res.end();
        return;
      }
      // Pages as the API server makes them: `limit`, and an opaque `continue` token (base64url JSON)
      // that names where the next page starts. A token it did not make is refused (410, as an expired one).
      const limit = Number(u.searchParams.get('limit') ?? '0');
      const token = u.searchParams.get('continue');
      let start = 0;
      if (token) {
        let at: unknown;
        try {
          at = (JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { start?: unknown }).start;
        } catch {
          at = undefined;
        }
        if (typeof at !== 'number')
          return json(res, 410, {
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Failure',
            message: 'The provided continue parameter is too old or malformed',
            reason: 'Expired',
            code: 410,
          });
        start = at;
      }
      const page = limit > 0 ? items.slice(start, start + limit) : items.slice(start);
      const next = limit > 0 && start + limit < items.length ? start + limit : undefined;
      const cont =
        next === undefined
          ? {}
          : {
              continue: Buffer.from(
                JSON.stringify({ v: 'meta.k8s.io/v1', rv: 10, start: next, token: 'next' }),
              ).toString('base64url'),
              remainingItemCount: items.length - next,
            };
      return json(res, 200, {
        kind: 'PodList',
        apiVersion: 'v1',
        metadata: { resourceVersion: '10', ...cont },
        items: page.map(listItem),
      });
    }
    if ((r = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(p)) && m === 'POST') {
      // Create: the body decoded as the API server decodes a typed object (goTypedDecode), then kept.
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let obj: ReturnType<typeof pod>;
        try {
          obj = goTypedDecode(Buffer.concat(chunks).toString('utf8')) as ReturnType<typeof pod>;
        } catch (e) {
          return json(res, 400, {
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Failure',
            message: String(e),
            reason: 'BadRequest',
            code: 400,
          });
        }
        obj.metadata = { ...obj.metadata, namespace: r![1]!, uid: `uid-${obj.metadata.name}` };
        pods.set(`${r![1]}/${obj.metadata.name}`, obj);
        json(res, 201, obj);
      });
      return;
    }
    if ((r = /^\/api\/v1\/nodes\/([^/]+)$/.exec(p)) && m === 'GET')
      return json(res, 200, {
        kind: 'Node',
        apiVersion: 'v1',
        metadata: { name: r[1], uid: `uid-node-${r[1]}`, resourceVersion: '3', creationTimestamp: CREATED },
        status: { conditions: [{ type: 'Ready', status: 'True' }] },
      });
    if (
      (r = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/ephemeralcontainers$/.exec(p)) &&
      m === 'PATCH'
    ) {
      // kubectl debug: a strategic merge patch adding an ephemeral container; kept as sent.
      const key = `${r[1]}/${r[2]}`;
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const x = pods.get(key);
        if (!x) return notFound(res, `pods "${r![2]}"`);
        const patch = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          spec?: { ephemeralContainers?: unknown[] };
        };
        const spec = x.spec as { ephemeralContainers?: unknown[] };
        spec.ephemeralContainers = [
          ...(spec.ephemeralContainers ?? []),
          ...(patch.spec?.ephemeralContainers ?? []),
        ];
        json(res, 200, x);
      });
      return;
    }
    if ((r = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(p)) && m === 'GET') {
      const x = pods.get(`${r[1]}/${r[2]}`);
      return x ? json(res, 200, x) : notFound(res, `pods "${r[2]}"`);
    }
    if ((r = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/.exec(p)) && m === 'GET') {
      if (!pods.has(`${r[1]}/${r[2]}`)) return notFound(res, `pods "${r[2]}"`);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('log line 1: started\n');
      if (u.searchParams.get('tailLines') === '7') {
        // (`kubectl logs --tail=7`) An application that logs its configuration: values under sensitive
        // names no detector knows.
        res.end(
          `config loaded: host=db user=app password=${ENV_PASSWORD}\nGITHUB_TOKEN: ${ENV_TOKEN}\nlog line 2: done\n`,
        );
        return;
      }
      if (u.searchParams.get('tailLines') === '40') {
        // (`kubectl logs --tail=40`) An application that prints a private key it generated, a line
        // per write, as loggers do.
        const lines = LOGGED_KEY.split('\n');
        let i = 0;
        const next = (): void => {
          if (res.destroyed) return;
          if (i < lines.length) {
            res.write(`${lines[i++]}\n`);
            setTimeout(next, 5);
          } else res.end('log line 2: done\n');
        };
        next();
        return;
      }
      if (u.searchParams.get('container') === 'flood') {
        // A container that logs without pause: lines as fast as the reader takes them, until it goes.
        const line = `${'flood '.repeat(170)}\n`;
        const pump = (): void => {
          while (!res.destroyed && res.write(line)) floodBytes.value += line.length;
        };
        res.on('drain', pump);
        res.once('close', () => floods.closed++);
        floods.opened++;
        pump();
        return;
      }
      if (u.searchParams.get('follow') === 'true') {
        res.flushHeaders();
        followers.add(res);
        res.once('close', () => followers.delete(res));
      } else res.end('log line 2: done\n');
      return;
    }
    if ((r = /^\/api\/v1\/namespaces\/([^/]+)\/secrets\/([^/]+)$/.exec(p)) && m === 'GET') {
      const x = secrets.get(`${r[1]}/${r[2]}`);
      if (!x) return notFound(res, `secrets "${r[2]}"`);
      const out = secretsAs(u, req.headers.accept, [x], true);
      return out === undefined ? notAcceptable(res) : json(res, 200, out);
    }
    if ((r = /^\/api\/v1\/namespaces\/([^/]+)\/secrets$/.exec(p)) && m === 'POST') {
      // Create: the body decoded as a typed object (goTypedDecode), kept, and returned as created.
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let obj: ReturnType<typeof secret>;
        try {
          obj = goTypedDecode(Buffer.concat(chunks).toString('utf8')) as ReturnType<typeof secret>;
        } catch (e) {
          return json(res, 400, {
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Failure',
            message: String(e),
            reason: 'BadRequest',
            code: 400,
          });
        }
        obj.metadata = { ...obj.metadata, namespace: r![1]!, uid: `uid-s-${obj.metadata.name}` };
        secrets.set(`${r![1]}/${obj.metadata.name}`, obj);
        json(res, 201, obj);
      });
      return;
    }
    if ((r = /^\/api\/v1\/namespaces\/([^/]+)\/secrets\/([^/]+)$/.exec(p)) && m === 'PATCH') {
      // A JSON patch (the patch type from Content-Type, as the API server reads it: up to a ";",
      // case and spaces kept), applied to the stored Secret; the patched Secret is kept and returned.
      const key = `${r[1]}/${r[2]}`;
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const x = secrets.get(key);
        if (!x) return notFound(res, `secrets "${r![2]}"`);
        const type = (req.headers['content-type'] ?? '').split(';')[0];
        if (type !== 'application/json-patch+json')
          return json(res, 415, {
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Failure',
            message: `the body of the request was in an unknown format - accepted media types include: application/json-patch+json`,
            reason: 'UnsupportedMediaType',
            code: 415,
          });
        let patched: ReturnType<typeof secret>;
        try {
          patched = applyJsonPatch(x, Buffer.concat(chunks).toString('utf8')) as ReturnType<typeof secret>;
        } catch (e) {
          return json(res, 422, {
            kind: 'Status',
            apiVersion: 'v1',
            metadata: {},
            status: 'Failure',
            message: `the server rejected our request due to an error in our request: ${(e as Error).message}`,
            reason: 'Invalid',
            code: 422,
          });
        }
        secrets.set(key, patched);
        json(res, 200, patched);
      });
      return;
    }
    if ((r = /^\/api\/v1\/namespaces\/([^/]+)\/secrets$/.exec(p)) && m === 'GET') {
      const items = [...secrets.values()].filter((x) => x.metadata.namespace === r![1]);
      if (goBool(u.searchParams.getAll('watch'))) {
        // Watch events carry the object in the representation asked for (a Secret, or its metadata).
        const as = asRequested(req.headers.accept);
        res.writeHead(200, { 'content-type': 'application/json' });
        for (const item of items)
          res.write(
            `${JSON.stringify({ type: 'ADDED', object: as === 'PartialObjectMetadata' ? partialMetadata(item) : item })}\n`,
          );
        res.end();
        return;
      }
      const out = secretsAs(u, req.headers.accept, items, false);
      return out === undefined ? notAcceptable(res) : json(res, 200, out);
    }
    if ((r = /^\/api\/v1\/namespaces\/helm\/configmaps(?:\/([^/]+))?$/.exec(p)) && m === 'GET') {
      const cms = encodedConfigMaps();
      if (r[1] === undefined)
        return json(res, 200, {
          kind: 'ConfigMapList',
          apiVersion: 'v1',
          metadata: { resourceVersion: '9' },
          items: [...cms.values()].map((x) => listItem(x as { kind?: string; apiVersion?: string })),
        });
      const x = cms.get(r[1]);
      return x ? json(res, 200, x) : notFound(res, `configmaps "${r[1]}"`);
    }
    if ((r = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps\/app-config$/.exec(p)) && m === 'GET')
      return json(res, 200, appConfig(r[1]!));
    if ((r = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps$/.exec(p)) && m === 'GET')
      // As the API server lists: the items carry no kind.
      return json(res, 200, {
        kind: 'ConfigMapList',
        apiVersion: 'v1',
        metadata: { resourceVersion: '7' },
        items: [{ ...appConfig(r[1]!), kind: undefined, apiVersion: undefined }],
      });
    if ((r = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps$/.exec(p)) && m === 'POST') {
      // Read whole before answering, as the API server does; says what it got.
      let size = 0;
      const digest = createHash('sha256');
      req.on('data', (c: Buffer) => {
        size += c.length;
        digest.update(c);
      });
      req.on('end', () =>
        json(res, 201, {
          kind: 'ConfigMap',
          apiVersion: 'v1',
          metadata: { name: 'created', namespace: r![1] },
          data: { receivedBytes: String(size), receivedSha256: digest.digest('hex') },
        }),
      );
      return;
    }
    if (p === '/api/v1/namespaces' && m === 'GET')
      return json(res, 200, {
        kind: 'NamespaceList',
        apiVersion: 'v1',
        metadata: { resourceVersion: '5' },
        items: [...namespaces.values()].map(listItem),
      });
    if ((r = /^\/api\/v1\/namespaces\/([^/]+)$/.exec(p))) {
      const x = namespaces.get(r[1]!);
      if (!x) return notFound(res, `namespaces "${r[1]}"`);
      if (m === 'GET') return json(res, 200, x);
      if (m === 'DELETE') {
        namespaces.delete(r[1]!);
        return json(res, 200, { ...x, status: { phase: 'Terminating' } });
      }
    }
    notFound(res, `the server could not find the requested resource (${m} ${p})`);
  });

  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) =>
      protocols.has('v5.channel.k8s.io')
        ? 'v5.channel.k8s.io'
        : protocols.has('v4.channel.k8s.io')
          ? 'v4.channel.k8s.io'
          : false,
  });
  server.on('upgrade', (req: IncomingMessage, socket, head) => {
    seen.push({
      method: req.method ?? '',
      url: req.url ?? '',
      authorization: req.headers.authorization,
      headers: { ...req.headers },
    });
    const u = new URL(req.url ?? '/', 'https://x');
    const r = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/(exec|attach)$/.exec(u.pathname);
    if (!authorized(req) || !r) {
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      return;
    }
    if (r[2] === DECLINED_EXEC_POD) {
      // An admission webhook that refuses the exec, quoting what it was configured with (class 218's
      // sibling: the declined upgrade's answer).
      const body = JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `admission webhook "exec-guard.example.com" denied the request: ${DECLINED_EXEC_SECRET}`,
        reason: 'Forbidden',
        code: 403,
      });
      socket.end(
        `HTTP/1.1 403 Forbidden ${DECLINED_EXEC_SECRET}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
      return;
    }
    if (!pods.has(`${r[1]}/${r[2]}`)) {
      const body = JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `pods "${r[2]}" not found`,
        reason: 'NotFound',
        code: 404,
      });
      socket.end(
        `HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const tty = goBool(u.searchParams.getAll('tty'));
      const stdin = goBool(u.searchParams.getAll('stdin'));
      // attach joins the container's main process: here a `cat` when attached with stdin, else a sleep.
      const command =
        r[3] === 'attach' ? (stdin ? ['cat'] : ['sleep', '1']) : u.searchParams.getAll('command');
      const exec = {
        command,
        container: u.searchParams.get('container') ?? '',
        protocol: ws.protocol,
        tty,
        stdin,
        received: [] as Buffer[],
        closed: false,
      };
      execs.push(exec);
      const finish = (out: { stdout: string; stderr: string; code: number }): void => {
        if (ws.readyState !== ws.OPEN) return;
        if (out.stdout) ws.send(Buffer.concat([Buffer.from([1]), Buffer.from(out.stdout)]));
        if (out.stderr) ws.send(Buffer.concat([Buffer.from([2]), Buffer.from(out.stderr)]));
        const status =
          out.code === 0
            ? { metadata: {}, status: 'Success' }
            : {
                metadata: {},
                status: 'Failure',
                message: `command terminated with non-zero exit code: exit status ${out.code}`,
                reason: 'NonZeroExitCode',
                details: { causes: [{ reason: 'ExitCode', message: String(out.code) }] },
              };
        ws.send(Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify(status))]), () => ws.close(1000));
      };
      ws.on('close', () => (exec.closed = true));
      // `cat` echoes stdin until its v5 close signal; `sleep <s>` runs that long. Both keep every
      // message they receive (the API server would read stdin and resizes only when asked for them).
      ws.on('message', (data: Buffer) => {
        exec.received.push(Buffer.from(data));
        if (command[0] !== 'cat' || !stdin) return;
        if (data[0] === 0) ws.send(Buffer.concat([Buffer.from([1]), data.subarray(1)]));
        else if (data[0] === 255 && data[1] === 0) finish({ stdout: '', stderr: '', code: 0 });
      });
      if (command[0] === 'cat' && stdin) return;
      // Files the pod writes out in two pieces: a pause mid-line, or a line longer than 4096 characters.
      const pieces =
        command.join(' ') === 'cat /etc/app/slow-config'
          ? [`aws_access_key_id=${EXEC_SECRET.slice(0, 10)}`, `${EXEC_SECRET.slice(10)}\n`]
          : command.join(' ') === 'cat /etc/app/long-line'
            ? [`${'x'.repeat(4089)} ${EXEC_SECRET.slice(0, 10)}`, `${EXEC_SECRET.slice(10)}\n`]
            : undefined;
      if (pieces) {
        ws.send(Buffer.concat([Buffer.from([1]), Buffer.from(pieces[0]!)]));
        setTimeout(() => {
          if (ws.readyState !== ws.OPEN) return;
          ws.send(Buffer.concat([Buffer.from([1]), Buffer.from(pieces[1]!)]));
          finish({ stdout: '', stderr: '', code: 0 });
        }, 200);
        return;
      }
      if (command.join(' ') === STATUS_SECRET_COMMAND) {
        // The runtime's own failure (not an exit code), written by the API server on the status
        // channel as its text came, and the close reason after it: both free text the container's
        // files or output can reach (docs/security.md class 230).
        const status = {
          metadata: {},
          status: 'Failure',
          message: `error executing command in container: ${STATUS_SECRET}`,
          reason: 'InternalError',
          details: { causes: [{ message: STATUS_SECRET }] },
          code: 500,
        };
        ws.send(Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify(status))]), () =>
          ws.close(1011, `password=${STATUS_SECRET.slice(-20)}`),
        );
        return;
      }
      if (command[0] === 'sleep' && /^\d+(\.\d+)?$/.test(command[1] ?? '')) {
        setTimeout(() => finish({ stdout: '', stderr: '', code: 0 }), Number(command[1]) * 1000);
        return;
      }
      finish(runCommand(command));
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    caPem: ca.cert,
    token,
    seen,
    execs,
    floods: () => ({ ...floods, bytes: floodBytes.value }),
    finishLogs() {
      for (const f of followers) f.end('log line 2: done\n');
      followers.clear();
    },
    async close() {
      for (const f of followers) f.destroy();
      for (const c of wss.clients) c.terminate();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
