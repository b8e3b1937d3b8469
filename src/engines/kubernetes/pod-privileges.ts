// What a pod a request writes could do on its node or in the cluster (docs/kubernetes.md, "Pods that
// are privilege"). A privileged container, a hostPath volume, the host's PID, network or IPC
// namespace, added capabilities, root with privilege escalation, or another service account's token
// make a pod node root or give it that account's rights, whatever its command. Such a write is decided
// as `privilege`, with the fields named, not as an ordinary write.
//
// Read from the body as the API server reads it: JSON (kubectl sends JSON under every content type,
// server-side apply's YAML type included), keys case-sensitive, every key of every object looked at,
// so a pod spec inside a Deployment, a CronJob's job template, an ephemeral container, a patch of any
// kind or a custom resource's embedded template is read alike; so is a PersistentVolume, whose host
// path a pod reaches through its claim. A body Gatehouse cannot read this way
// is refused: it cannot say what the pod may do.

import { firstNamed, patchOperations, readBodyDocument } from './json-write-body.js';

/** Built-in API groups whose resources carry no pod template unless listed in POD_RESOURCES. */
const BUILTIN_GROUPS = new Set([
  '',
  'apps',
  'batch',
  'extensions',
  'admissionregistration.k8s.io',
  'apiextensions.k8s.io',
  'apiregistration.k8s.io',
  'authentication.k8s.io',
  'authorization.k8s.io',
  'autoscaling',
  'certificates.k8s.io',
  'coordination.k8s.io',
  'discovery.k8s.io',
  'events.k8s.io',
  'flowcontrol.apiserver.k8s.io',
  'internal.apiserver.k8s.io',
  'networking.k8s.io',
  'node.k8s.io',
  'policy',
  'rbac.authorization.k8s.io',
  'resource.k8s.io',
  'scheduling.k8s.io',
  'storage.k8s.io',
  'storagemigration.k8s.io',
]);

/**
 * Built-in resources whose objects hold a pod spec (by `group/resource`, a ControllerRevision's stored
 * template included: docs/security.md class 293), and PersistentVolumes: a
 * volume on a path of the node (`hostPath`, `local`) gives any pod that mounts a claim bound to it
 * that path, with no field of the pod's own saying so (docs/security.md class 138).
 */
const POD_RESOURCES = new Set([
  '/pods',
  // A Binding places a pod on the node it names (class 362).
  '/bindings',
  '/persistentvolumes',
  // A claim that names the volume it binds to, or another namespace's data source (class 317).
  '/persistentvolumeclaims',
  '/podtemplates',
  '/replicationcontrollers',
  'apps/deployments',
  'apps/replicasets',
  'apps/statefulsets',
  'apps/daemonsets',
  // A StatefulSet's or DaemonSet's stored template: the StatefulSet controller builds the pods of the
  // set's current revision from its `data` (ApplyRevision), whatever the set's own template says.
  'apps/controllerrevisions',
  'extensions/deployments',
  'extensions/replicasets',
  'extensions/daemonsets',
  'batch/jobs',
  'batch/cronjobs',
  // A RuntimeClass's handler names a runtime configured on the nodes (docs/security.md class 314).
  'node.k8s.io/runtimeclasses',
  // Dynamic Resource Allocation: a claim with `adminAccess` reaches devices other pods hold (class 315).
  'resource.k8s.io/resourceclaims',
  'resource.k8s.io/resourceclaimtemplates',
]);

/**
 * Status subresources read as their objects are: a StatefulSet's `status.currentRevision` and
 * `updateRevision` name the ControllerRevisions its pods are built from (class 313), and a
 * ResourceClaim's status is its allocation, `adminAccess` included (class 315). A custom resource's
 * status is read too: operators build pods from what it names as StatefulSets do.
 */
const STATUS_RESOURCES = new Set(['apps/statefulsets', 'resource.k8s.io/resourceclaims']);

const WRITES = new Set(['create', 'update', 'patch']);

/**
 * True for a write whose body may hold a pod spec: a built-in workload (pods, their ephemeral
 * containers, templates, Deployments, Jobs, CronJobs…) or any custom resource (operators embed pod
 * templates anywhere).
 */
export function writesPodSpec(a: {
  readonly verb: string;
  readonly apiGroup: string;
  readonly resource: string;
  readonly subresource: string;
}): boolean {
  if (!WRITES.has(a.verb)) return false;
  if (a.subresource === 'status')
    return STATUS_RESOURCES.has(`${a.apiGroup}/${a.resource}`) || !BUILTIN_GROUPS.has(a.apiGroup);
  if (a.subresource !== '')
    return (
      a.apiGroup === '' &&
      a.resource === 'pods' &&
      (a.subresource === 'ephemeralcontainers' || a.subresource === 'binding')
    );
  return POD_RESOURCES.has(`${a.apiGroup}/${a.resource}`) || !BUILTIN_GROUPS.has(a.apiGroup);
}

export type PodPrivilegeReading =
  | {
      readonly ok: true;
      readonly fields: readonly string[];
      /** The Secrets the pod spec hands to its containers (env, envFrom, volumes): docs/security.md class 243. */
      readonly secrets: readonly string[];
    }
  | { readonly ok: false; readonly reason: string };

/** At most this many fields are named (the rest is counted). */
const MAX_NAMED = 20;

/** Where the body goes: whether the API server takes its `status` (a status write, a custom resource). */
export interface PodSpecTarget {
  readonly apiGroup: string;
  readonly subresource: string;
}

/** Whether the API server stores what the body's `status` says (not so for a built-in object's main resource). */
function takesStatus(t: PodSpecTarget | undefined): boolean {
  return t === undefined || t.subresource === 'status' || !BUILTIN_GROUPS.has(t.apiGroup);
}

/** The privilege-bearing fields a body sets, or why it cannot be read. */
export function podPrivileges(
  contentType: string | string[] | undefined,
  body: Buffer,
  target?: PodSpecTarget,
): PodPrivilegeReading {
  const read = readBodyDocument(contentType, body);
  if (!read.ok) return read;
  const found = new Set<string>();
  const secrets = new Set<string>();
  const status = takesStatus(target);
  if (read.type === 'application/json-patch+json') {
    const patch = patchOperations(read.doc);
    if (!patch.ok) return patch;
    for (const { op, at, value, from } of patch.ops) {
      if (op === 'add' || op === 'replace') {
        if (at.length > 0) leaf(at, value, found, secrets, status);
        walk(value, at, found, secrets, status);
      } else if (op === 'copy' || op === 'move') {
        // The value comes from the object itself, which Gatehouse does not read: it may be anything.
        found.add(
          `${label(at)} (${op} from ${typeof from === 'string' ? from.slice(0, 200) : '?'}: a value Gatehouse cannot read)`,
        );
      } else if (op === 'remove' && at.includes('securityContext')) {
        found.add(`${label(at)} removed`);
      }
    }
  } else {
    walk(read.doc, [], found, secrets, status);
  }
  return {
    ok: true,
    fields: firstNamed([...found], MAX_NAMED),
    secrets: firstNamed([...secrets], MAX_NAMED),
  };
}

/** `spec.containers[0].securityContext.privileged`. */
function label(path: readonly string[]): string {
  let s = '';
  for (const t of path) s += /^(\d+|-)$/.test(t) ? `[${t}]` : s === '' ? t : `.${t}`;
  return s.slice(0, 300);
}

function walk(
  value: unknown,
  path: string[],
  found: Set<string>,
  secrets: Set<string>,
  status: boolean,
): void {
  // Iterative, so a deeply nested body cannot overflow the stack.
  const stack: [unknown, string[]][] = [[value, path]];
  while (stack.length > 0) {
    const [v, at] = stack.pop()!;
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        const next = [...at, String(i)];
        leaf(next, x, found, secrets, status);
        stack.push([x, next]);
      });
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        const next = [...at, k];
        leaf(next, x, found, secrets, status);
        stack.push([x, next]);
      }
    }
  }
}

const HOST_NAMESPACES = new Set(['hostPID', 'hostNetwork', 'hostIPC']);

/** What naming a node does. */
const PLACED =
  "the pod runs on that node without the scheduler: the node's taints, a control-plane node's included, are not checked";

/** Node labels and taints of control-plane nodes. */
const CONTROL_PLANE_LABEL = /^node-role\.kubernetes\.io\/(?:control-plane|master)$/;

/** A node selector expression that selects control-plane nodes (not one that keeps the pod off them). */
function controlPlaneExpression(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const e = value as Record<string, unknown>;
  return (
    typeof e.key === 'string' &&
    CONTROL_PLANE_LABEL.test(e.key) &&
    e.operator !== 'DoesNotExist' &&
    e.operator !== 'NotIn'
  );
}

/**
 * One toleration (or a list of them, or its removal): one with no key and `Exists` tolerates every
 * taint, and one of a control-plane taint lets the pod onto control-plane nodes (class 362).
 */
function toleration(at: string, value: unknown, found: Set<string>): void {
  if (Array.isArray(value)) {
    value.forEach((t, i) => toleration(`${at}[${i}]`, t, found));
    return;
  }
  if (typeof value !== 'object' || value === null) return;
  const t = value as Record<string, unknown>;
  const key = t.key;
  if ((key === undefined || key === null || key === '') && t.operator === 'Exists')
    found.add(`${at} tolerates every taint (the pod may run on any node, control-plane nodes included)`);
  else if (typeof key === 'string' && CONTROL_PLANE_LABEL.test(key))
    found.add(`${at} tolerates ${key.slice(0, 100)} (the pod may run on control-plane nodes)`);
}

/** Looks at one key (the last of `path`) and its value. */
function leaf(
  path: readonly string[],
  value: unknown,
  found: Set<string>,
  secrets: Set<string>,
  status: boolean,
): void {
  const key = path[path.length - 1]!;
  const parent = path[path.length - 2];
  const at = label(path);
  secretRef(path, value, secrets);
  if (storage(path, value, found)) return;
  if (key === 'privileged' && value === true) found.add(`${at}=true`);
  else if (HOST_NAMESPACES.has(key) && value === true) found.add(`${at}=true`);
  else if (key === 'hostUsers' && value === false) found.add(`${at}=false`);
  else if (key === 'hostPath' && value !== null && value !== undefined) {
    const p = typeof value === 'object' ? (value as { path?: unknown }).path : undefined;
    found.add(`${at}${typeof p === 'string' ? `=${p.slice(0, 200)}` : ''}`);
  } else if (parent === 'hostPath' && key === 'path' && typeof value === 'string') {
    // A patch that sets only the path of a hostPath volume.
    if (!named(found, path.slice(0, -1))) found.add(`${at}=${value.slice(0, 200)}`);
  } else if (key === 'local' && parent === 'spec' && value !== null && typeof value === 'object') {
    // A PersistentVolume's `spec.local`: a path of the node, as a hostPath is.
    const p = (value as { path?: unknown }).path;
    found.add(`${at}.path${typeof p === 'string' ? `=${p.slice(0, 200)}` : ''}`);
  } else if (parent === 'local' && path[path.length - 3] === 'spec' && key === 'path') {
    if (!named(found, path.slice(0, -1))) found.add(`${at}=${String(value).slice(0, 200)}`);
  } else if (key === 'add' && parent === 'capabilities' && value !== null) {
    const caps = Array.isArray(value) ? value : [value];
    if (caps.length > 0) found.add(`${at}=${caps.map((c) => String(c).slice(0, 40)).join(',')}`);
  } else if (parent === 'add' && path[path.length - 3] === 'capabilities') {
    if (!named(found, path.slice(0, -1)))
      found.add(`${label(path.slice(0, -1))}=${String(value).slice(0, 40)}`);
  } else if (key === 'allowPrivilegeEscalation' && value === true) found.add(`${at}=true`);
  else if ((key === 'runAsUser' || key === 'runAsGroup') && value === 0) found.add(`${at}=0`);
  // The root group by the pod's other group fields: a process in group 0 as `runAsGroup: 0` makes it
  // (docs/security.md class 312), and `fsGroup` is added to every container's processes as well.
  else if ((key === 'fsGroup' || key === 'supplementalGroups') && value === 0) found.add(`${at}=0`);
  else if (parent === 'supplementalGroups' && value === 0) found.add(`${at}=0`);
  else if (
    key === 'supplementalGroups' &&
    value !== null &&
    !Array.isArray(value) &&
    typeof value !== 'number'
  )
    found.add(`${at}=${shown(value, 60)} (groups Gatehouse cannot read)`);
  else if (key === 'runAsNonRoot' && value === false) found.add(`${at}=false`);
  else if (key === 'procMount' && typeof value === 'string' && value !== 'Default')
    found.add(`${at}=${value.slice(0, 40)}`);
  else if (
    key === 'type' &&
    (parent === 'seccompProfile' || parent === 'appArmorProfile') &&
    value === 'Unconfined'
  )
    found.add(`${at}=Unconfined`);
  else if (
    (key === 'serviceAccountName' || key === 'serviceAccount') &&
    typeof value === 'string' &&
    value !== '' &&
    value !== 'default'
  )
    found.add(`${at}=${value.slice(0, 100)}`);
  else if (key === 'automountServiceAccountToken' && value === true) found.add(`${at}=true`);
  // A runtime handler configured on the nodes, which Gatehouse does not see: it may confine the pod
  // (gVisor, Kata) or not at all (docs/security.md class 314). So is what a RuntimeClass names.
  else if (key === 'runtimeClassName' && value !== null && value !== '')
    found.add(
      `${at}=${shown(value, 100)} (a runtime handler configured on the nodes, which Gatehouse does not see)`,
    );
  else if (path.length === 1 && key === 'handler' && value !== null && value !== '')
    found.add(
      `${at}=${shown(value, 100)} (a RuntimeClass's runtime handler, configured on the nodes, which Gatehouse does not see)`,
    );
  // Dynamic Resource Allocation's admin access: the claim's devices even while other pods hold them (class 315).
  // A claim bound to the PersistentVolume it names (a pod's ephemeral claim, a StatefulSet's claim
  // templates, a claim of its own) mounts whatever that volume is, another team's disk included; a
  // data source in another namespace copies that namespace's volume (docs/security.md class 317).
  else if (key === 'volumeName' && parent === 'spec' && value !== null && value !== '')
    found.add(
      `${at}=${shown(value, 100)} (binds to that PersistentVolume, whoever's storage it is, which Gatehouse does not see)`,
    );
  else if (
    key === 'namespace' &&
    (parent === 'dataSourceRef' || parent === 'dataSource') &&
    value !== null &&
    value !== ''
  )
    found.add(`${at}=${shown(value, 100)} (a volume of another namespace copied into this claim)`);
  else if (key === 'adminAccess' && value !== null && value !== false)
    found.add(`${at}=${shown(value, 20)} (devices other pods hold)`);
  // A StatefulSet's pods are built from the ControllerRevision its status names (class 313): a
  // template this request does not show.
  else if (
    status &&
    (key === 'currentRevision' || key === 'updateRevision') &&
    path.includes('status') &&
    value !== null
  )
    found.add(
      `${at}=${shown(value, 100)} (pods are built from that ControllerRevision's template, which this request does not show)`,
    );
  else if (key === 'shareProcessNamespace' && value === true) found.add(`${at}=true`);
  // Where the pod runs (class 362): a node named past the scheduler (`nodeName`, a Binding's target),
  // a toleration of every taint or of a control-plane node's, a selector or affinity for control-plane
  // nodes, and a system priority class (it preempts other pods).
  else if (key === 'nodeName' && parent === 'spec' && value !== null && value !== '')
    found.add(`${at}=${shown(value, 100)} (${PLACED})`);
  else if (key === 'name' && parent === 'target' && path.length === 2 && value !== null && value !== '')
    found.add(`${at}=${shown(value, 100)} (a Binding: ${PLACED})`);
  else if (parent === 'tolerations') toleration(at, value, found);
  else if (
    parent === 'nodeSelector' &&
    path.includes('spec') &&
    CONTROL_PLANE_LABEL.test(key) &&
    value !== null
  )
    found.add(`${at}=${shown(value, 100)} (the pod asks for a control-plane node)`);
  else if (path.includes('affinity') && controlPlaneExpression(value))
    found.add(`${at} (the pod asks for a control-plane node)`);
  else if (key === 'priorityClassName' && typeof value === 'string' && value.startsWith('system-'))
    found.add(`${at}=${value.slice(0, 100)} (a system priority: the scheduler preempts other pods for it)`);
  // An ephemeral container in another container's process namespace reads its environment (Secrets
  // included) through /proc, and acts on its processes.
  else if (key === 'targetContainerName' && typeof value === 'string' && value !== '')
    found.add(`${at}=${value.slice(0, 100)}`);
  else if (parent === 'seLinuxOptions' && !selinuxConfined(key, value))
    found.add(`${at}=${shown(value, 60)}`);
  else if (parent === 'windowsOptions' && key === 'hostProcess' && value === true) found.add(`${at}=true`);
  else if (key === 'hostPort' && (typeof value === 'number' || typeof value === 'string') && value !== 0)
    found.add(`${at}=${shown(value, 20)}`);
  else if (
    key === 'name' &&
    path[path.length - 3] === 'sysctls' &&
    !(typeof value === 'string' && SAFE_SYSCTLS.has(value.replace(/\//g, '.')))
  )
    found.add(`${at}=${shown(value, 100)}`);
  else if (parent === 'annotations' && !profileAnnotationConfined(key, value))
    found.add(`${at}=${shown(value, 100)}`);
  // Strategic merge's directives ($patch, $retainKeys, $deleteFromPrimitiveList/…, $setElementOrder/…)
  // remove what they name or what they leave out: under a securityContext, a removal of what confined
  // the container (docs/security.md class 294), whichever directive it is.
  else if (key.startsWith('$') && path.includes('securityContext')) found.add(`${at}=${shown(value, 100)}`);
  else if (value === null && path.includes('securityContext')) found.add(`${at} removed`);
}

/**
 * Volume sources Pod Security's restricted profile admits: storage of the pod's own namespace (a
 * claim, a ConfigMap, a Secret, the downward API, scratch space, a claim made for the pod) and an
 * image. Every other source reaches the node or storage outside the namespace by its address (docs/security.md class 311):
 * `gitRepo` runs git on the node as root (CVE-2024-10220), `flexVolume` runs a node plugin with the
 * options given, `nfs`, `iscsi`, `rbd`, `awsElasticBlockStore`… mount whatever export or disk they
 * name, whoever's it is. An inline `csi` volume is what its driver makes of the attributes given
 * (a host path, for the hostpath driver), which Gatehouse does not see.
 */
const NAMESPACED_VOLUMES = new Set([
  'name',
  'configMap',
  'secret',
  'downwardAPI',
  'emptyDir',
  'persistentVolumeClaim',
  'projected',
  'ephemeral',
  'image',
]);
/** A PersistentVolume's sources (`spec.<source>`): each names storage by its address, as above. */
const PV_SOURCES = new Set([
  'awsElasticBlockStore',
  'azureDisk',
  'azureFile',
  'cephfs',
  'cinder',
  'csi',
  'fc',
  'flexVolume',
  'flocker',
  'gcePersistentDisk',
  'glusterfs',
  'iscsi',
  'nfs',
  'photonPersistentDisk',
  'portworxVolume',
  'quobyte',
  'rbd',
  'scaleIO',
  'storageos',
  'vsphereVolume',
]);

/**
 * A volume source outside the pod's namespace (a pod's `volumes[i].<source>`, a PersistentVolume's
 * `spec.<source>`), or a patch of a part of one: named once, at the source. True when named (or
 * already named), so the caller looks no further at the key.
 */
function storage(path: readonly string[], value: unknown, found: Set<string>): boolean {
  let source: readonly string[] | undefined;
  for (let i = path.length - 3; i >= 0; i--)
    if (path[i] === 'volumes' && /^(\d+|-)$/.test(path[i + 1]!)) {
      if (!NAMESPACED_VOLUMES.has(path[i + 2]!) && path[i + 2] !== 'hostPath') source = path.slice(0, i + 3);
      break;
    }
  if (source === undefined && path.length >= 2 && path[0] === 'spec' && PV_SOURCES.has(path[1]!))
    source = path.slice(0, 2);
  if (source === undefined) return false;
  if (source.length === path.length && (value === null || value === undefined)) return false;
  if (named(found, source)) return true;
  const v = source.length === path.length ? value : undefined;
  const o = typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : {};
  const what = [
    'driver',
    'server',
    'path',
    'repository',
    'volumeID',
    'pdName',
    'volumeHandle',
    'targetPortal',
    'monitors',
  ]
    .filter((k) => o[k] !== undefined)
    .map((k) => `${k} ${shown(o[k], 100)}`)
    .join(', ');
  found.add(
    `${label(source)}${what === '' ? '' : ` (${what})`} (storage outside the namespace, or what a node plugin makes of it, which Gatehouse does not see)`,
  );
  return true;
}

/**
 * Pod Security's baseline profile (https://kubernetes.io/docs/concepts/security/pod-security-standards/)
 * read whole: besides the fields above, an SELinux type outside the container types or any SELinux
 * user or role (`spc_t` is not confined at all), a Windows host process, a port of the node, a sysctl
 * outside the safe set, and the AppArmor and seccomp annotations kubelets still honour, unless they
 * name the runtime's default or a profile on the node. A value outside what baseline allows is
 * privilege, whatever it is: Gatehouse does not guess which others are harmless.
 */
const CONFINED_SELINUX_TYPES = new Set([
  '',
  'container_t',
  'container_init_t',
  'container_kvm_t',
  'container_engine_t',
]);
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);
const APPARMOR_ANNOTATION = 'container.apparmor.security.beta.kubernetes.io/';
const SECCOMP_POD_ANNOTATION = 'seccomp.security.alpha.kubernetes.io/pod';
const SECCOMP_CONTAINER_ANNOTATION = 'container.seccomp.security.alpha.kubernetes.io/';

/** One key of `seLinuxOptions`: `level` is free; `type` only a container type; `user` and `role` unset. */
function selinuxConfined(key: string, value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (key === 'level') return true;
  if (key === 'type') return typeof value === 'string' && CONFINED_SELINUX_TYPES.has(value);
  return value === '';
}

/** An annotation that sets a container's AppArmor or seccomp profile names the default or a node's profile. */
function profileAnnotationConfined(key: string, value: unknown): boolean {
  const apparmor = key.startsWith(APPARMOR_ANNOTATION);
  const seccomp = key === SECCOMP_POD_ANNOTATION || key.startsWith(SECCOMP_CONTAINER_ANNOTATION);
  if (!apparmor && !seccomp) return true;
  if (value === null || value === undefined) return true;
  if (typeof value !== 'string') return false;
  return (
    value === 'runtime/default' || value.startsWith('localhost/') || (seccomp && value === 'docker/default')
  );
}

/** A value as the approver is shown it, capped. */
const shown = (v: unknown, n: number): string =>
  (typeof v === 'string' ? v : (JSON.stringify(v) ?? '')).slice(0, n);

/** Whether a field at `path` is named already. */
function named(found: ReadonlySet<string>, path: readonly string[]): boolean {
  const at = label(path);
  for (const f of found) if (f.startsWith(at)) return true;
  return false;
}

const secretName = (v: unknown, field: string): string => {
  const n = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[field] : undefined;
  return typeof n === 'string' ? n.slice(0, 100) : '?';
};

/**
 * A Secret handed to the pod's containers (docs/security.md, class 243): `env[].valueFrom.secretKeyRef`,
 * `envFrom[].secretRef`, a `secret` volume or projected source, or a patch setting one's name. The
 * container reads its values, and its command prints them where the writer reads (logs, exec, files):
 * the write reads the Secret. Volume drivers' own `secretRef`s (CSI, Ceph, iSCSI…) are named too.
 */
function secretRef(path: readonly string[], value: unknown, out: Set<string>): void {
  if (value === null || value === undefined) return;
  const key = path[path.length - 1]!;
  const parent = path[path.length - 2];
  const at = label(path);
  if (key === 'secretKeyRef' || key === 'secretRef' || key === 'nodePublishSecretRef')
    out.add(
      `${at}=${secretName(value, 'name')}${key === 'secretKeyRef' ? ` key ${secretName(value, 'key')}` : ''}`,
    );
  else if (key === 'secret' && typeof value === 'object' && !Array.isArray(value)) {
    // A volume names it `secretName`, a projected source `name`.
    const name = secretName(value, 'secretName');
    out.add(`${at}=${name !== '?' ? name : secretName(value, 'name')}`);
  } else if (
    ((key === 'secretName' && parent === 'secret') ||
      ((key === 'name' || key === 'key') && (parent === 'secretKeyRef' || parent === 'secretRef'))) &&
    !named(out, path.slice(0, -1))
  )
    // A patch that sets only the name (a JSON patch's `replace` of `/…/secretKeyRef/name`).
    out.add(`${at}=${typeof value === 'string' ? value.slice(0, 100) : '?'}`);
}
