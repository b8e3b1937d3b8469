// The Secrets an exec into a pod can read (docs/kubernetes.md, "exec into a pod that holds Secrets").
// A Secret read through the API is reviewed for agents and masked; the same value in a container's
// environment (`secretKeyRef`, `envFrom`) or in a mounted Secret volume is one `printenv` or `cat`
// away, and exec output is seen only by the detectors. So before an exec is decided, Gatehouse reads
// the pod (with its own credential) and names what of the container comes from Secrets; the exec then
// carries the category `secrets`. A pod that cannot be read is taken to hold some (fail closed).

import { request as undiciRequest } from 'undici';
import { sensitiveEntry } from './kube-masking.js';
import { upstreamUrl } from './kube-request.js';
import type { KubeConnectionSettings } from './kube-settings.js';

/** Largest pod object read (a pod is a few KiB; the API server's own limit is about 1.5 MiB). */
const MAX_POD_BYTES = 3 * 1024 * 1024;
const MAX_NAMED = 12;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);
const str = (v: unknown): string => (typeof v === 'string' ? v.slice(0, 100) : '?');

/**
 * What of the container (or of every container, when none is named) comes from Secrets, or is one:
 * Secrets in its env or mounted, a literal env value under a sensitive name (`envNames`, the names
 * pod reads mask), and a service account token mounted into it, the `default` account's included.
 */
export function secretSources(
  pod: unknown,
  container: string,
  envNames: (name: string) => boolean = () => false,
  configMapKeys: (name: string) => readonly string[] | 'unreadable' = () => [],
  configKeySensitive: (key: string) => boolean = envNames,
): string[] {
  if (!isObj(pod) || !isObj(pod.spec)) return ['the pod could not be read'];
  const spec = pod.spec;
  const all = [...list(spec.containers), ...list(spec.initContainers), ...list(spec.ephemeralContainers)];
  // With a shared process namespace, one container reads the others' environment through /proc.
  const shared = spec.shareProcessNamespace === true;
  const named = container === '' || shared ? all : all.filter((c) => c.name === container);
  if (named.length === 0) return [`container ${container.slice(0, 100)} is not in the pod`];
  // A debug container run in another's process namespace (`kubectl debug --target`) reads that
  // container's environment and files through /proc/<pid>/environ and /proc/<pid>/root.
  const targets = new Set(
    named.map((c) => c.targetContainerName).filter((t): t is string => typeof t === 'string' && t !== ''),
  );
  const chosen =
    targets.size === 0 ? named : all.filter((c) => named.includes(c) || targets.has(str(c.name)));
  const volumes = new Map(list(spec.volumes).map((v) => [str(v.name), v]));
  const account = typeof spec.serviceAccountName === 'string' ? spec.serviceAccountName : 'default';
  const found = new Set<string>();
  // The node's own processes: each container's environment (every pod's Secrets on the node) is one
  // `cat /proc/<pid>/environ` away, and the kubelet's files one `cat /proc/<pid>/root/…`.
  if (spec.hostPID === true)
    found.add(
      "the node's processes (hostPID): their environment, every pod's Secrets on the node among it, in /proc",
    );
  const containerSources = (c: Obj, found: Set<string>): void => {
    // A privileged container reads the node's devices (its disks) and can mount them.
    if (isObj(c.securityContext) && c.securityContext.privileged === true)
      found.add(`a privileged container (${str(c.name)}): the node's disks and devices`);
    for (const e of list(c.env)) {
      const ref = isObj(e.valueFrom) ? e.valueFrom.secretKeyRef : undefined;
      const cm = isObj(e.valueFrom) ? e.valueFrom.configMapKeyRef : undefined;
      if (isObj(ref)) found.add(`env ${str(e.name)} from Secret ${str(ref.name)} key ${str(ref.key)}`);
      // A ConfigMap's value under a sensitive name is masked in ConfigMap reads; `printenv` shows it whole.
      else if (
        isObj(cm) &&
        ((typeof e.name === 'string' && envNames(e.name)) || (typeof cm.key === 'string' && envNames(cm.key)))
      )
        found.add(
          `env ${str(e.name)} from ConfigMap ${str(cm.name)} key ${str(cm.key)} (a value under a sensitive name)`,
        );
      // Masked in pod reads by its name; printenv would show it whole.
      else if (typeof e.name === 'string' && typeof e.value === 'string' && envNames(e.name))
        found.add(`env ${str(e.name)} (a value under a sensitive name)`);
    }
    for (const e of list(c.envFrom)) {
      if (isObj(e.secretRef)) found.add(`env from Secret ${str(e.secretRef.name)}`);
      if (isObj(e.configMapRef) && typeof e.configMapRef.name === 'string') {
        const keys = configMapKeys(e.configMapRef.name);
        const prefix = typeof e.prefix === 'string' ? e.prefix : '';
        const name = str(e.configMapRef.name);
        if (keys === 'unreadable') found.add(`env from ConfigMap ${name} (it could not be read)`);
        else
          for (const k of keys)
            if (envNames(prefix + k))
              found.add(
                `env ${(prefix + k).slice(0, 100)} from ConfigMap ${name} (a value under a sensitive name)`,
              );
      }
    }
    for (const m of list(c.volumeMounts)) {
      const v = volumes.get(str(m.name));
      if (!v) continue;
      const at = str(m.mountPath);
      if (isObj(v.secret)) found.add(`Secret ${str(v.secret.secretName)} mounted at ${at}`);
      // A path of the node: under it the kubelet keeps every pod's Secret volumes and tokens
      // (/var/lib/kubelet/pods), its own credentials, and other containers' files.
      if (isObj(v.hostPath))
        found.add(
          `the node's path ${str(v.hostPath.path)} mounted at ${at} (the kubelet keeps every pod's Secrets on the node under /var/lib/kubelet)`,
        );
      // A CSI volume's files are what its driver puts there: the Secrets Store CSI driver's are a
      // cloud secret store's values (Vault, AWS Secrets Manager, Azure Key Vault), named by no Secret.
      if (isObj(v.csi))
        found.add(
          `a volume of CSI driver ${str(v.csi.driver)} mounted at ${at} (its files are what the driver puts there)`,
        );
      // A ConfigMap's entry under a sensitive name, mounted as a file: the file holds the value alone,
      // which a masked ConfigMap read hides and `cat` prints whole.
      const mountedConfigMap = (cm: Obj): void => {
        if (typeof cm.name !== 'string') return;
        const items = list(cm.items);
        const keys =
          items.length > 0
            ? items.map((i) => (typeof i.key === 'string' ? i.key : ''))
            : configMapKeys(cm.name);
        if (keys === 'unreadable')
          found.add(`ConfigMap ${str(cm.name)} mounted at ${at} (it could not be read)`);
        else
          for (const k of keys)
            if (configKeySensitive(k))
              found.add(
                `ConfigMap ${str(cm.name)} key ${k.slice(0, 100)} mounted at ${at} (a value under a sensitive name)`,
              );
      };
      if (isObj(v.configMap)) mountedConfigMap(v.configMap);
      const sources = isObj(v.projected) ? list(v.projected.sources) : [];
      for (const s of sources) {
        if (isObj(s.secret)) found.add(`Secret ${str(s.secret.name)} mounted at ${at}`);
        if (isObj(s.configMap)) mountedConfigMap(s.configMap);
        // The pod's service account token (the API server's admission mounts it into every container
        // unless automountServiceAccountToken is false): a credential for the cluster that acts as
        // that account, `default` included, outside Gatehouse.
        if (isObj(s.serviceAccountToken))
          found.add(`the token of service account ${account.slice(0, 100)} mounted at ${at}`);
      }
    }
  };
  for (const c of chosen) containerSources(c, found);
  // A volume the container shares with another container that holds Secrets: what that one writes
  // there (a Vault agent's rendered secrets in an emptyDir, a copied token) the container reads.
  const mounted = (c: Obj): Set<string> => new Set(list(c.volumeMounts).map((m) => str(m.name)));
  for (const c of chosen) {
    const mine = mounted(c);
    for (const other of all) {
      if (chosen.includes(other)) continue;
      const shared = [...mounted(other)].filter((v) => mine.has(v) && isObj(volumes.get(v)?.emptyDir));
      if (shared.length === 0) continue;
      const theirs = new Set<string>();
      containerSources(other, theirs);
      if (theirs.size > 0)
        for (const v of shared)
          found.add(
            `volume ${v} shared with container ${str(other.name)}, which holds Secrets (${[...theirs][0]!.slice(0, 120)}) and may write them there`,
          );
    }
  }
  const sources = [...found];
  return sources.length > MAX_NAMED
    ? [...sources.slice(0, MAX_NAMED), `… and ${sources.length - MAX_NAMED} more`]
    : sources;
}

/** At most this many ConfigMaps a pod loads by `envFrom` are read; the rest count as unreadable. */
const MAX_CONFIG_MAPS = 8;

/** The names of the ConfigMaps the pod loads by `envFrom` or mounts whole. */
function envFromConfigMaps(pod: unknown): string[] {
  if (!isObj(pod) || !isObj(pod.spec)) return [];
  const spec = pod.spec;
  const names = new Set<string>();
  for (const c of [...list(spec.containers), ...list(spec.initContainers), ...list(spec.ephemeralContainers)])
    for (const e of list(c.envFrom))
      if (isObj(e.configMapRef) && typeof e.configMapRef.name === 'string') names.add(e.configMapRef.name);
  // Mounted whole (no `items`): its keys are the files' names.
  for (const v of list(spec.volumes)) {
    const cms = [
      v.configMap,
      ...(isObj(v.projected) ? list(v.projected.sources).map((s) => s.configMap) : []),
    ];
    for (const cm of cms)
      if (isObj(cm) && typeof cm.name === 'string' && list(cm.items).length === 0) names.add(cm.name);
  }
  return [...names];
}

/**
 * An object of the API server read with the gateway's credential: its status and, for a 200, its
 * JSON; `too large` past MAX_POD_BYTES (the body is not read further). Throws on a failed request.
 */
async function readObject(
  settings: KubeConnectionSettings,
  path: string,
  signal: AbortSignal,
): Promise<{ status: number; json?: unknown } | 'too large'> {
  const up = await undiciRequest(upstreamUrl(settings.server, path, ''), {
    method: 'GET',
    headers: { accept: 'application/json', ...(await settings.authHeaders()) },
    dispatcher: settings.dispatcher,
    signal,
    headersTimeout: settings.upstreamTimeoutMs,
    bodyTimeout: settings.upstreamTimeoutMs,
  });
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of up.body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_POD_BYTES) {
      up.body.destroy();
      return 'too large';
    }
    parts.push(chunk);
  }
  if (up.statusCode !== 200) return { status: up.statusCode };
  return { status: 200, json: JSON.parse(Buffer.concat(parts).toString('utf8')) as unknown };
}

/** A ConfigMap's keys (`data` and `binaryData`), read with the gateway's credential; none when it does not exist. */
async function configMapKeys(
  settings: KubeConnectionSettings,
  namespace: string,
  name: string,
  signal: AbortSignal,
): Promise<readonly string[] | 'unreadable'> {
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/configmaps/${encodeURIComponent(name)}`;
  try {
    const r = await readObject(settings, path, signal);
    if (r === 'too large') return 'unreadable';
    // An optional ConfigMap that does not exist gives the container nothing.
    if (r.status === 404) return [];
    const cm = r.json;
    if (r.status !== 200 || !isObj(cm)) return 'unreadable';
    return [
      ...(isObj(cm.data) ? Object.keys(cm.data) : []),
      ...(isObj(cm.binaryData) ? Object.keys(cm.binaryData) : []),
    ];
  } catch {
    return 'unreadable';
  }
}

/** Reads the pod with the gateway's credential and names its Secrets (see secretSources). */
export async function podSecretSources(
  settings: KubeConnectionSettings,
  namespace: string,
  name: string,
  container: string,
  signal: AbortSignal,
): Promise<string[]> {
  const path = `/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}`;
  try {
    const r = await readObject(settings, path, signal);
    if (r === 'too large') return ['the pod could not be read (too large)'];
    if (r.status !== 200) return [`the pod could not be read (HTTP ${r.status})`];
    const pod = r.json;
    // The ConfigMaps the pod loads whole into an environment (`envFrom`): their keys are env names.
    const keys = new Map<string, readonly string[] | 'unreadable'>();
    for (const name of envFromConfigMaps(pod).slice(0, MAX_CONFIG_MAPS))
      keys.set(name, await configMapKeys(settings, namespace, name, signal));
    const m = settings.masking;
    return secretSources(
      pod,
      container,
      m.envNames,
      (name) => keys.get(name) ?? 'unreadable',
      (key) => sensitiveEntry(key, { envNames: m.envNames, fieldNames: m.fieldNames }),
    );
  } catch {
    return ['the pod could not be read'];
  }
}
